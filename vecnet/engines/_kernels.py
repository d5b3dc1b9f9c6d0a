"""Compiled training kernels (private).

One kernel, :func:`train_epochs`, runs whole epochs of mini-batch SGD (batch
size 1 included) in compiled code: forward, loss, back-propagation and the
optimizer update of every batch, with no Python per step. The public code in
:mod:`vecnet.training` validates and converts everything first; the kernels
trust their inputs and only take arrays and scalars.

Layout of the arguments (see :meth:`vecnet.Network.layout`):

- ``theta``: all parameters, flat, ``W1, b1, W2, b2, ...`` (``W`` row-major,
  shape ``(n_in, n_out)``); updated in place.
- ``layout``: int64 ``(n_layers, 5)``, rows ``n_in, n_out, w_off, b_off, act``.
- ``cfg``: int64 ``[loss, batch_size, optimizer, nesterov, schedule]``.
- ``hyper``: float64 ``[lr, momentum, beta1, beta2, eps, l2, power_t]``.
- ``state``: ``(2, n_params)`` optimizer memory (velocity, or Adam's m and v);
  ``steps``: int64 ``[updates taken so far]``. Both persist across calls.

Floating point: no ``fastmath`` and no ``np.dot``; the loops are written out so
that every result is the same with or without JIT (``NUMBA_DISABLE_JIT=1``).
``exp`` is vecnet's own (:mod:`vecnet.engines._exp`, within 2 ulp of ``np.exp``), so that
loops over it vectorize; ``log`` and ``log1p`` are libm's.
Inner loops run over contiguous memory (``z[j] += a * W[i, j]``) so that the
compiler can vectorize them without reassociating any sum.

Speed: the workspace is flat and indexed by offsets, so no array view (and
no reference count) is made per sample; every index is ``uint64``
(``U``), because Numba wraps negative signed indices around, and that
select turns each contiguous vector load into a gather. Signed and unsigned
integers must not meet in one expression (Numba would make it a float):
integer constants in index arithmetic are written ``U(1)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..codes import ADAM, BCE, CCE, INVSCALING, RELU, SGD, SIGMOID, SOFTMAX, TANH  # noqa: F401
from ._exp import exp

JIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}
"""The one place the kernels' compile flags live: cached, no fastmath; division by
zero gives inf/nan as in NumPy instead of raising (no exception paths in the loops)."""
HOT_OPTIONS = dict(JIT_OPTIONS, _nrt=False, inline="always")
"""The helpers of the epoch loop: no reference counting (they allocate nothing; with it,
each array passed to a helper cost two atomic operations per call, most of a per-sample
update), and inlined into the loop, so no call passes arrays field by field. Profiled:
without the inlining a per-sample update costs about twice as much; with it, compiling
from an empty cache takes 25-30 s instead of 10-15 s."""

U = np.uint64
NARROW = U(4)
"""Below this many outputs, a one-sample layer is computed one output at a time (see :func:`_forward`)."""


@njit(**HOT_OPTIONS)
def _tanh(v):
    """``tanh(v) = sign(v) (1 - e) / (1 + e)``, ``e = exp(-2|v|)``; its odd series below ``|v| = 0.01``.

    Within 3e-15 (relative) of ``math.tanh``; with vecnet's own :func:`exp`, no libm call.
    """
    x = abs(v)
    if x < 0.01:
        x2 = x * x
        t = x + x * x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0)))
    else:
        e = exp(-2.0 * x)
        t = (1.0 - e) / (1.0 + e)
    return t if v >= 0.0 else -t


@njit(**HOT_OPTIONS)
def _activate(code, A, o, n):
    """``A[o:o + n] = f(A[o:o + n])`` in place, for activation ``code``."""
    if code == SIGMOID:
        for j in range(o, o + n):
            A[j] = 1.0 / (1.0 + exp(-A[j]))   # exactly 0 where exp(-z) overflows
    elif code == TANH:
        for j in range(o, o + n):
            A[j] = _tanh(A[j])
    elif code == RELU:
        for j in range(o, o + n):
            if A[j] < 0.0:
                A[j] = 0.0
    elif code == SOFTMAX:
        zmax = A[o]
        for j in range(o + U(1), o + n):
            zmax = max(zmax, A[j])
        total = 0.0
        for j in range(o, o + n):
            A[j] = exp(A[j] - zmax)
            total += A[j]
        for j in range(o, o + n):
            A[j] = A[j] / total


@njit(**HOT_OPTIONS)
def _backprop(code, A, D, o, n):
    """``D[o:o + n] *= f'`` from the output ``A[o:o + n]`` (the Jacobian product for softmax)."""
    if code == SIGMOID:
        for j in range(o, o + n):
            D[j] *= A[j] * (1.0 - A[j])
    elif code == TANH:
        for j in range(o, o + n):
            D[j] *= 1.0 - A[j] * A[j]
    elif code == RELU:
        for j in range(o, o + n):
            if A[j] <= 0.0:
                D[j] = 0.0
    elif code == SOFTMAX:
        dot = 0.0
        for j in range(o, o + n):
            dot += D[j] * A[j]
        for j in range(o, o + n):
            D[j] = (D[j] - dot) * A[j]


@njit(**HOT_OPTIONS)
def _accumulate(Y, yo, X, xo, xstep, C, co, cstep, count, n):
    """``Y[yo + j] += C[co + t*cstep] * X[xo + t*xstep + j]`` for ``t = 0, 1, ..., count - 1``, ``j < n``.

    Four terms per pass over ``Y``, added in the same order as one at a time, so
    each element of ``Y`` is loaded and stored once per four products.
    """
    one, four = U(1), U(4)
    t = U(0)
    while t + four <= count:
        x0 = xo + t * xstep
        x1 = x0 + xstep
        x2 = x1 + xstep
        x3 = x2 + xstep
        c = co + t * cstep
        c0, c1, c2, c3 = C[c], C[c + cstep], C[c + cstep + cstep], C[c + cstep + cstep + cstep]
        for j in range(n):
            v = Y[yo + j]
            v += c0 * X[x0 + j]
            v += c1 * X[x1 + j]
            v += c2 * X[x2 + j]
            v += c3 * X[x3 + j]
            Y[yo + j] = v
        t += four
    while t < count:
        x0 = xo + t * xstep
        c0 = C[co + t * cstep]
        for j in range(n):
            Y[yo + j] += c0 * X[x0 + j]
        t += one


@njit(**HOT_OPTIONS)
def _forward(theta, lay, offs, A, Z, m, one):
    """``A_{k+1}[s] = f(A_k[s] @ W_k + b_k)`` for the first ``m`` rows; the output's pre-activation into ``Z``.

    One sample into fewer than ``NARROW`` outputs: one dot product per output (the
    same sum, in the same order), as a loop over so few columns only costs its
    vectorization checks.
    """
    n_layers = lay.shape[0]
    for k in range(n_layers):
        n_in, n_out, wo, bo = lay[k, 0], lay[k, 1], lay[k, 2], lay[k, 3]
        for s in range(m):
            x = offs[k] + s * n_in
            y = offs[k + 1] + s * n_out
            if one and n_out < NARROW:
                for j in range(n_out):
                    acc = theta[bo + j]
                    for i in range(n_in):
                        acc += A[x + i] * theta[wo + i * n_out + j]
                    A[y + j] = acc
            else:
                for j in range(n_out):
                    A[y + j] = theta[bo + j]
                _accumulate(A, y, theta, wo, n_out, A, x, U(1), n_in, n_out)
            if k == n_layers - 1:
                for j in range(n_out):
                    Z[s * n_out + j] = A[y + j]
            _activate(lay[k, 4], A, y, n_out)


@njit(**HOT_OPTIONS)
def _output_delta(loss, act, A, o, Z, Y, orders, oi, start, D, m, k):
    """Sum over the batch of the per-sample loss; ``D = dL/dZ`` of the batch-mean loss.

    The batch's outputs are ``A[o + s*k + j]``, its targets ``Y[orders[oi, start + s], j]``.
    """
    total = 0.0
    if loss == CCE:
        scale = 1.0 / m
        for s in range(m):
            r = orders[oi, start + s]
            z = s * k
            zmax = Z[z]
            for j in range(U(1), k):
                zmax = max(zmax, Z[z + j])
            acc = 0.0
            for j in range(k):
                acc += exp(Z[z + j] - zmax)
            value = zmax + math.log(acc)
            for j in range(k):
                value -= Y[r, j] * Z[z + j]
                D[o + z + j] = (A[o + z + j] - Y[r, j]) * scale
            total += value
        return total
    if loss == BCE:
        scale = 1.0 / (m * k)
        for s in range(m):
            r = orders[oi, start + s]
            z = s * k
            value = 0.0
            for j in range(k):
                zj = Z[z + j]
                value += max(zj, 0.0) - zj * Y[r, j] + math.log1p(exp(-abs(zj)))
                D[o + z + j] = (A[o + z + j] - Y[r, j]) * scale
            total += value / k
        return total
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
        _backprop(act, A, D, o + z, k)
    return total


@njit(**HOT_OPTIONS)
def _backward(theta, lay, offs, A, D, WT, grad, m, one, l2, lr, fused):
    """``dW_k = sum_s A_k[s]^T D_k[s]``, ``db_k = sum_s D_k[s]``, ``D_{k-1} = (D_k W_k^T) * f'``.

    ``D_k`` (dL/dZ of layer ``k``) sits where ``A_{k+1}`` sits in ``A``. For a
    batch, ``WT`` is scratch for ``W_k^T``, so that every inner loop runs over
    contiguous memory while each sum keeps the order of the row-by-row formula;
    for one sample (``one``: ``m == 1``, a constant to the compiler) each ``D_{k-1}[i]`` is a
    dot product with row ``i`` of ``W_k``, in the same order. When ``fused``
    (plain SGD), layer ``k`` is updated, ``theta -= lr * g``, as soon as
    ``D_{k-1}`` no longer needs ``W_k``.
    """
    for k in range(lay.shape[0] - 1, -1, -1):
        n_in, n_out, wo, bo = lay[k, 0], lay[k, 1], lay[k, 2], lay[k, 3]
        src, dk = offs[k], offs[k + 1]
        if one:
            for j in range(n_out):
                grad[bo + j] = D[dk + j]
            for i in range(n_in):
                a, row = A[src + i], wo + i * n_out
                for j in range(n_out):
                    grad[row + j] = a * D[dk + j]
        else:
            for p in range(wo, bo + n_out):
                grad[p] = 0.0
            for s in range(m):
                d = dk + s * n_out
                for j in range(n_out):
                    grad[bo + j] += D[d + j]
            for i in range(n_in):
                _accumulate(grad, wo + i * n_out, D, dk, n_out, A, src + i, n_in, m, n_out)
        if l2 != 0.0:
            for p in range(wo, bo):
                grad[p] += l2 * theta[p]
        if k > 0:
            if one:
                for i in range(n_in):
                    row = wo + i * n_out
                    acc = 0.0
                    for j in range(n_out):
                        acc += D[dk + j] * theta[row + j]
                    D[src + i] = acc
                _backprop(lay[k - 1, 4], A, D, src, n_in)
            else:
                for i in range(n_in):
                    row = wo + i * n_out
                    for j in range(n_out):
                        WT[j * n_in + i] = theta[row + j]
                for s in range(m):
                    b = src + s * n_in
                    d = dk + s * n_out
                    for i in range(n_in):
                        D[b + i] = 0.0
                    _accumulate(D, b, WT, U(0), n_in, D, d, U(1), n_out, n_in)
                    _backprop(lay[k - 1, 4], A, D, b, n_in)
        if fused:
            for p in range(wo, bo + n_out):
                theta[p] -= lr * grad[p]


@njit(**HOT_OPTIONS)
def _update(theta, grad, cfg, hyper, state, steps, lr):
    """One optimizer step at rate ``lr``: SGD with momentum (``v = mu v - lr g``, Nesterov optional) or Adam.

    Plain SGD (``mu = 0``) has already been applied by :func:`_backward`.
    """
    n = theta.shape[0]
    if cfg[2] == SGD:
        mu = hyper[1]
        if mu != 0.0:
            v = state[0]
            for p in range(n):
                v[p] = mu * v[p] - lr * grad[p]
                if cfg[3]:
                    theta[p] += mu * v[p] - lr * grad[p]
                else:
                    theta[p] += v[p]
    else:
        b1, b2, eps = hyper[2], hyper[3], hyper[4]
        t = steps[0] + 1.0
        lr_t = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        mom, vel = state[0], state[1]
        for p in range(n):
            g = grad[p]
            mom[p] = b1 * mom[p] + (1.0 - b1) * g
            vel[p] = b2 * vel[p] + (1.0 - b2) * g * g
            theta[p] -= lr_t * mom[p] / (math.sqrt(vel[p]) + eps)
    steps[0] += 1


@njit(**HOT_OPTIONS)
def _copy(dst, src):
    """``dst[:] = src`` for 1-D arrays of one length."""
    for p in range(src.shape[0]):
        dst[p] = src[p]


@njit(**HOT_OPTIONS)
def _all_finite(x):
    """True when every element of the 1-D ``x`` is finite."""
    for v in x:
        if not math.isfinite(v):
            return False
    return True


@njit(**HOT_OPTIONS)
def _step(theta, lay, offs, cfg, hyper, X, Y, orders, o, start, m, one, state, steps,
          A, D, Z, WT, grad):
    """One batch: rows ``orders[o, start:start + m]`` forward, loss, backward, update; return the loss sum.

    ``one`` is ``m == 1`` as a constant at each call site, so that each of the two
    inlined copies keeps only its own code (one sample, or a batch).

    The update is skipped when the loss is not finite.
    """
    n_layers = lay.shape[0]
    n_in = lay[0, 0]
    for s in range(m):
        r = orders[o, start + s]
        for i in range(n_in):
            A[s * n_in + i] = X[r, i]
    _forward(theta, lay, offs, A, Z, m, one)
    value = _output_delta(cfg[0], lay[n_layers - 1, 4], A, offs[n_layers], Z, Y, orders, o, start, D,
                          m, lay[n_layers - 1, 1])
    if math.isfinite(value):
        lr = hyper[0]
        for _ in range(1 if cfg[4] == INVSCALING else 0):  # not an if: LLVM would run pow() every time
            lr = lr / (steps[0] + 1.0) ** hyper[6]
        fused = cfg[2] == SGD and hyper[1] == 0.0
        _backward(theta, lay, offs, A, D, WT, grad, m, one, hyper[5], lr, fused)
        _update(theta, grad, cfg, hyper, state, steps, lr)
    return value


@njit(**dict(HOT_OPTIONS, inline="never"))
def _train(theta, lay, offs, cfg, hyper, X, Y, orders, epochs, state, steps, losses,
           A, D, Z, WT, grad, saved):
    """The epoch loop of :func:`train_epochs`, given its workspace.

    :func:`_step` is inlined twice: once with ``m = 1`` known to the compiler,
    which folds every loop over the batch away (per-sample SGD), once for batches.
    """
    n = U(X.shape[0])
    batch = min(U(cfg[1]), n)
    n_orders = orders.shape[0]
    for e in range(epochs):
        _copy(saved, theta)
        o = e % n_orders if n_orders > 1 else 0
        total = 0.0
        for start in range(U(0), n, batch):
            if batch == U(1):
                value = _step(theta, lay, offs, cfg, hyper, X, Y, orders, o, start, U(1), True, state,
                              steps, A, D, Z, WT, grad)
            else:
                value = _step(theta, lay, offs, cfg, hyper, X, Y, orders, o, start,
                              min(batch, n - start), False, state, steps, A, D, Z, WT, grad)
            if not math.isfinite(value):
                _copy(theta, saved)
                return e
            total += value
        if not _all_finite(theta):
            _copy(theta, saved)
            return e
        losses[e] = total / n
    return epochs


@njit(**JIT_OPTIONS)
def train_epochs(theta, layout, cfg, hyper, X, Y, orders, epochs, state, steps, losses):
    """Run ``epochs`` epochs of mini-batch training; return how many completed.

    Epoch ``e`` visits the samples in the order ``orders[e % len(orders)]`` in
    batches of ``cfg[1]`` (the last one may be smaller), and writes the mean of
    the per-sample losses (taken before each update) into ``losses[e]``. If a
    loss or a parameter stops being finite, ``theta`` is put back as it was
    at the start of that epoch and the kernel returns early.

    The workspace is flat: row ``s`` of layer ``k``'s batch of outputs
    (``X`` for ``k = 0``) is ``A[offs[k] + s * n_k:][:n_k]``, and its
    ``dL/dZ`` lies at the same place in ``D``.
    """
    n_layers = layout.shape[0]
    lay = layout.astype(U)
    n, n_in, n_out = U(X.shape[0]), lay[0, 0], lay[n_layers - 1, 1]
    batch = min(U(cfg[1]), n)
    offs = np.zeros(n_layers + 2, dtype=U)
    offs[1] = batch * n_in
    wt_size = U(1)
    for k in range(n_layers):
        offs[k + 2] = offs[k + 1] + batch * lay[k, 1]
        if k > 0:
            wt_size = max(wt_size, lay[k, 0] * lay[k, 1])
    A = np.zeros(offs[n_layers + 1], dtype=theta.dtype)
    D = np.zeros(offs[n_layers + 1], dtype=theta.dtype)
    Z = np.zeros(batch * n_out, dtype=theta.dtype)
    WT = np.zeros(wt_size, dtype=theta.dtype)
    grad = np.zeros_like(theta)
    saved = theta.copy()
    return _train(theta, lay, offs, cfg, hyper, X, Y, orders, epochs, state, steps, losses,
                  A, D, Z, WT, grad, saved)
