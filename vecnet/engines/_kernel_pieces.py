"""The pieces the compiled kernels are built from: activations, losses, optimizers (private; imports Numba).

:func:`vecnet.engines._kernels.build_kernel` writes one kernel per
:class:`~vecnet.engines._kernel_config.KernelConfig` out of these pieces. A
piece that depends on a setting (:func:`activate`, :func:`backprop`,
:func:`output_delta`, :func:`update`) is a plain Python function that
dispatches on the setting's code at run time (that is the kernel's Python twin,
under ``NUMBA_DISABLE_JIT=1``), and, compiled, an ``@overload`` that picks the
code for the setting when the kernel is built: the kernel passes the code as a
constant, so only the code of its own configuration is compiled.

Array conventions (see :meth:`vecnet.Network.layout`):

- ``theta``: all parameters, flat, ``W1, b1, W2, b2, ...`` (``W`` row-major,
  shape ``(n_in, n_out)``); updated in place.
- ``lay``: uint64 ``(n_layers, 5)``, rows ``n_in, n_out, w_off, b_off, act``
  (the kernels take the activations from their configuration, not ``act``).
- the workspace is flat: row ``s`` of layer ``k``'s batch of outputs (``X``
  for ``k = 0``) is ``A[offs[k] + s * n_k:][:n_k]``; its ``dL/dZ`` lies at the
  same place in ``D``.

The scalar function :func:`_exp` is an overload too (for one inlining mechanism
throughout: an ``@njit(inline="always")`` function with branches inlined into an
inlined overload trips Numba's SSA checks).

Floating point: no ``fastmath`` and no ``np.dot``; the loops are written out so
that every result is the same with or without JIT (``NUMBA_DISABLE_JIT=1``).
Inner loops run over contiguous memory (``z[j] += a * W[i, j]``) so that the
compiler can vectorize them without reassociating any sum.

Speed: no array view (and no reference count) is made per sample; every index
is ``uint64`` (``U``), because Numba wraps negative signed indices around, and
that select turns each contiguous vector load into a gather. Signed and
unsigned integers must not meet in one expression (Numba would make it a
float): integer constants in index arithmetic are written ``U(1)``. Every piece
is inlined by Numba itself (``inline="always"``): left to LLVM, the arrays are
passed field by field and a per-sample update costs about twice as much. The
exceptions are :func:`vecnet.engines._exp.exp` (branch-free arithmetic that
LLVM inlines by itself) and one loop over whole row blocks
(``vecnet.engines._kernel_layers.LOOP_OPTIONS``). The workspace the kernels
get starts on 64-byte boundaries (a cache line, an AVX-512 vector).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from ..codes import ADAM, BCE, CCE, IDENTITY, MSE, RELU, SIGMOID, SOFTMAX, TANH
from ._exp import DISK_CACHE
from ._exp import exp as vexp

JIT_OPTIONS = {"cache": DISK_CACHE, "nogil": True, "error_model": "numpy"}
"""The one place the kernels' compile flags live: cached on disk (when Numba can:
:data:`vecnet.engines._exp.DISK_CACHE`), no fastmath; division by
zero gives inf/nan as in NumPy instead of raising (no exception paths in the loops)."""
HOT_OPTIONS = dict(JIT_OPTIONS, _nrt=False, inline="always")
"""The pieces: no reference counting (they allocate nothing; with it, each array
passed to a piece cost two atomic operations per call), inlined into the kernel."""

U = np.uint64
NARROW = U(4)
"""Below this many outputs, a one-sample layer is computed one output at a time (see
:func:`vecnet.engines._kernel_layers.forward`)."""


def _literal(code, name):
    """The value of a constant code, as the kernel passes it; a ``TypeError`` for anything else."""
    if not isinstance(code, (types.IntegerLiteral, types.BooleanLiteral)):
        raise TypeError(f"{name} must be a constant when the kernel is built, got {code}")
    return code.literal_value


def _exp(x):
    """``exp(x)``: the one exponential of every kernel, :func:`vecnet.engines._exp.exp`.

    Plain arithmetic without a branch (so loops over it vectorize), within 2 ulp of
    ``np.exp``; the same function is the Python twin's (``NUMBA_DISABLE_JIT=1``).
    """
    return vexp(x)


@overload(_exp, inline="always")
def _exp_compiled(x):
    return lambda x: vexp(x)


# ---- activations: A[o:o + n] = f(A[o:o + n]) and D[o:o + n] *= f' (from the output A) ----

def _sigmoid(code, A, o, n):
    for j in range(o, o + n):
        A[j] = 1.0 / (1.0 + _exp(-A[j]))


def _tanh_layer(code, A, o, n):
    """``tanh(v) = sign(v) (1 - e) / (1 + e)``, ``e = exp(-2|v|)``; its odd series below ``|v| = 0.01``.

    Within 3e-15 (relative) of ``math.tanh`` and three times as fast, since
    ``exp`` is the fastest of the libm calls. Written into the loop rather than
    called: each function Numba inlines costs compile time (a deep copy of its IR
    and another run of the untyped passes), and left to LLVM this one is called,
    not inlined, and the loop is not vectorized.
    """
    for j in range(o, o + n):
        v = A[j]
        x = abs(v)
        x2 = x * x  # both forms, then a select: no branch, so that loops over it vectorize
        series = x + x * x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0)))
        e = _exp(-2.0 * x)
        t = series if x < 0.01 else (1.0 - e) / (1.0 + e)
        A[j] = t if v >= 0.0 else -t


def _relu(code, A, o, n):
    for j in range(o, o + n):
        if A[j] < 0.0:
            A[j] = 0.0


def _softmax(code, A, o, n):
    zmax = A[o]
    for j in range(o + U(1), o + n):
        zmax = max(zmax, A[j])
    total = 0.0
    for j in range(o, o + n):
        A[j] = _exp(A[j] - zmax)
        total += A[j]
    for j in range(o, o + n):
        A[j] = A[j] / total


def _identity(code, A, o, n):
    pass


def _sigmoid_back(code, A, D, o, n):
    for j in range(o, o + n):
        D[j] *= A[j] * (1.0 - A[j])


def _tanh_back(code, A, D, o, n):
    for j in range(o, o + n):
        D[j] *= 1.0 - A[j] * A[j]


def _relu_back(code, A, D, o, n):
    for j in range(o, o + n):
        if A[j] <= 0.0:
            D[j] = 0.0


def _softmax_back(code, A, D, o, n):
    dot = 0.0
    for j in range(o, o + n):
        dot += D[j] * A[j]
    for j in range(o, o + n):
        D[j] = (D[j] - dot) * A[j]


def _identity_back(code, A, D, o, n):
    pass


_ACTIVATE = {IDENTITY: _identity, SIGMOID: _sigmoid, TANH: _tanh_layer, RELU: _relu, SOFTMAX: _softmax}
_BACKPROP = {IDENTITY: _identity_back, SIGMOID: _sigmoid_back, TANH: _tanh_back, RELU: _relu_back,
             SOFTMAX: _softmax_back}


def activate(code, A, o, n):
    """``A[o:o + n] = f(A[o:o + n])`` in place, for activation ``code``."""
    _ACTIVATE[code](code, A, o, n)


def backprop(code, A, D, o, n):
    """``D[o:o + n] *= f'`` from the output ``A[o:o + n]`` (the Jacobian product for softmax)."""
    _BACKPROP[code](code, A, D, o, n)


@overload(activate, prefer_literal=True, inline="always")
def _activate_compiled(code, A, o, n):
    return _ACTIVATE[_literal(code, "activation")]


@overload(backprop, prefer_literal=True, inline="always")
def _backprop_compiled(code, A, D, o, n):
    return _BACKPROP[_literal(code, "activation")]


def _softmax_rows(code, A, o, m, n):
    for s in range(m):
        activate(code, A, o + s * n, n)


def _elementwise_rows(code, A, o, m, n):
    activate(code, A, o, m * n)


def _softmax_back_rows(code, A, D, o, m, n):
    for s in range(m):
        backprop(code, A, D, o + s * n, n)


def _elementwise_back_rows(code, A, D, o, m, n):
    backprop(code, A, D, o, m * n)


def activate_rows(code, A, o, m, n):
    """:func:`activate` on ``m`` contiguous rows of ``n``: an elementwise activation in one pass over
    all ``m * n`` (a long loop vectorizes better than ``m`` short ones), softmax row by row."""
    (_softmax_rows if code == SOFTMAX else _elementwise_rows)(code, A, o, m, n)


def backprop_rows(code, A, D, o, m, n):
    """:func:`backprop` on ``m`` contiguous rows of ``n``, in one pass but for softmax."""
    (_softmax_back_rows if code == SOFTMAX else _elementwise_back_rows)(code, A, D, o, m, n)


@overload(activate_rows, prefer_literal=True, inline="always")
def _activate_rows_compiled(code, A, o, m, n):
    return _softmax_rows if _literal(code, "activation") == SOFTMAX else _elementwise_rows


@overload(backprop_rows, prefer_literal=True, inline="always")
def _backprop_rows_compiled(code, A, D, o, m, n):
    return _softmax_back_rows if _literal(code, "activation") == SOFTMAX else _elementwise_back_rows


# ---- the losses: the batch's loss sum, and D = dL/dZ of the batch-mean loss ----

def _cce(loss, act, A, o, Z, Y, orders, oi, start, D, m, k):
    total = 0.0
    scale = 1.0 / m
    for s in range(m):
        r = orders[oi, start + s]
        z = s * k
        zmax = Z[z]
        for j in range(U(1), k):
            zmax = max(zmax, Z[z + j])
        acc = 0.0
        for j in range(k):
            acc += _exp(Z[z + j] - zmax)
        value = zmax + math.log(acc)
        for j in range(k):
            value -= Y[r, j] * Z[z + j]
            D[o + z + j] = (A[o + z + j] - Y[r, j]) * scale
        total += value
    return total


def _bce(loss, act, A, o, Z, Y, orders, oi, start, D, m, k):
    total = 0.0
    scale = 1.0 / (m * k)
    for s in range(m):
        r = orders[oi, start + s]
        z = s * k
        value = 0.0
        for j in range(k):
            zj = Z[z + j]
            value += max(zj, 0.0) - zj * Y[r, j] + math.log1p(_exp(-abs(zj)))
            D[o + z + j] = (A[o + z + j] - Y[r, j]) * scale
        total += value / k
    return total


def _mse(loss, act, A, o, Z, Y, orders, oi, start, D, m, k):
    total = 0.0
    scale = 2.0 / (m * k)
    for s in range(m):
        r = orders[oi, start + s]
        z = s * k
        value = 0.0
        for j in range(k):
            a = A[o + z + j]
            err = Y[r, j] - a
            value += err * err
            D[o + z + j] = (a - Y[r, j]) * scale
        total += value / k
        backprop(act, A, D, o + z, k)
    return total


_LOSSES = {MSE: _mse, BCE: _bce, CCE: _cce}


def output_delta(loss, act, A, o, Z, Y, orders, oi, start, D, m, k):
    """Sum over the batch of the per-sample loss; ``D = dL/dZ`` of the batch-mean loss.

    The batch's outputs are ``A[o + s*k + j]``, its targets ``Y[orders[oi, start + s], j]``.
    """
    return _LOSSES[loss](loss, act, A, o, Z, Y, orders, oi, start, D, m, k)


@overload(output_delta, prefer_literal=True, inline="always")
def _output_delta_compiled(loss, act, A, o, Z, Y, orders, oi, start, D, m, k):
    return _LOSSES[_literal(loss, "loss")]


# ---- the optimizers: one step at rate lr ----

def _plain_sgd(optimizer, momentum, nesterov, theta, grad, hyper, state, steps, lr):
    steps[0] += 1  # the update itself was applied by backward (fused)


def _momentum_sgd(optimizer, momentum, nesterov, theta, grad, hyper, state, steps, lr):
    mu = hyper.momentum
    v = state[0]
    for p in range(theta.shape[0]):
        v[p] = mu * v[p] - lr * grad[p]
        if nesterov:
            theta[p] += mu * v[p] - lr * grad[p]
        else:
            theta[p] += v[p]
    steps[0] += 1


def _adam(optimizer, momentum, nesterov, theta, grad, hyper, state, steps, lr):
    b1, b2, eps = hyper.beta1, hyper.beta2, hyper.eps
    t = steps[0] + 1.0
    lr_t = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
    mom, vel = state[0], state[1]
    for p in range(theta.shape[0]):
        g = grad[p]
        mom[p] = b1 * mom[p] + (1.0 - b1) * g
        vel[p] = b2 * vel[p] + (1.0 - b2) * g * g
        theta[p] -= lr_t * mom[p] / (math.sqrt(vel[p]) + eps)
    steps[0] += 1


def _optimizer_piece(optimizer, momentum):
    return _adam if optimizer == ADAM else _momentum_sgd if momentum else _plain_sgd


def update(optimizer, momentum, nesterov, theta, grad, hyper, state, steps, lr):
    """One optimizer step at rate ``lr``: SGD with momentum (``v = mu v - lr g``, Nesterov optional) or Adam.

    Plain SGD (no momentum) has already been applied by the backward pass; the
    step only counts it.
    """
    _optimizer_piece(optimizer, momentum)(optimizer, momentum, nesterov, theta, grad, hyper, state,
                                          steps, lr)


@overload(update, prefer_literal=True, inline="always")
def _update_compiled(optimizer, momentum, nesterov, theta, grad, hyper, state, steps, lr):
    _literal(nesterov, "nesterov")
    return _optimizer_piece(_literal(optimizer, "optimizer"), _literal(momentum, "momentum"))


@njit(**HOT_OPTIONS)
def copy(dst, src):
    """``dst[:] = src`` for 1-D arrays of one length."""
    for p in range(src.shape[0]):
        dst[p] = src[p]


@njit(**HOT_OPTIONS)
def copy_rows(dst, src):
    """``dst[:] = src`` for 2-D arrays of one shape."""
    for r in range(src.shape[0]):
        for p in range(src.shape[1]):
            dst[r, p] = src[r, p]


@njit(**HOT_OPTIONS)
def all_finite(x):
    """True when every element of the 1-D ``x`` is finite."""
    for v in x:
        if not math.isfinite(v):
            return False
    return True
