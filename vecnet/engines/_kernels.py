"""The compiled kernels: one per configuration, built on demand (private; imports Numba).

:func:`build_kernel` writes the kernel for one
:class:`~vecnet.engines._kernel_config.KernelConfig` out of the pieces in
:mod:`vecnet.engines._kernel_pieces` and :mod:`vecnet.engines._kernel_layers`:
the configuration's codes are constants of the kernel (a closure over plain
values), so Numba compiles only the code that configuration uses, and caches
the result on disk (a closure that captures only ints, bools and strings is
cached across processes) and in memory.

:func:`train` runs a fit's epochs through the kernel in slices of about
``SLICE_SECONDS`` each: between two slices, Python gets to handle Ctrl-C, and
then the weights and optimizer state of the last completed epoch are put back.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import math
import threading
import time
import warnings

import numpy as np
from numba import njit
from numba.core.errors import NumbaIRAssumptionWarning, NumbaPerformanceWarning

from ..codes import INVSCALING, SGD
from ._exp import __file__ as _EXP_FILE
from ._kernel_config import DIVERGED, FINISHED, RUNNING, kernel_settings
from ._kernel_layers import __file__ as _LAYERS_FILE
from ._kernel_layers import backward_batch, backward_one, backward_sample, forward_batch, forward_one, forward_sample
from ._kernel_pieces import JIT_OPTIONS, all_finite, copy, copy_rows, output_delta, update
from ._kernel_pieces import __file__ as _PIECES_FILE
from ._stack import __file__ as _STACK_FILE
from ._stack import fixed, scratch

U = np.uint64
SLICE_SECONDS = 0.1
"""Longest stretch of compiled work between two chances to notice Ctrl-C (aimed at, not exact)."""
FIRST_SLICE_WORK = 10_000_000
"""Rows x parameters in the first slice of a call, before the kernel's speed is known (~10-50 ms)."""
_NO_CONTEXT = contextlib.nullcontext()
_COMPILE_LOCK = threading.RLock()


@contextlib.contextmanager
def quiet_compile(kernel):
    """Numba's warnings about its own passes silenced while a first call of ``kernel`` may compile.

    ``NumbaIRAssumptionWarning``: Numba 0.68's SSA pass checks that each variable it renames was
    declared in the function's scope; the variables of an inlined overload's loops (the pieces)
    are declared in the overload's own scope, so the check warns "variable ... is not in scope"
    and then goes on correctly (tests/test_kernels.py holds every piece, compiled and as its
    Python twin, against the NumPy engine). ``NumbaPerformanceWarning``: likewise noise here.

    ``warnings.catch_warnings`` saves and restores the process's whole filter list, so two
    threads inside it at once can leave each other's "ignore" in place for good: vecnet's
    blocks take one lock and never overlap. A kernel that has compiled (or loaded) already,
    or the Python twin (``NUMBA_DISABLE_JIT=1``), runs without any of this.
    """
    if getattr(kernel, "overloads", True):   # a dict of the compiled ones (``signatures`` builds a list)
        yield
        return
    with _COMPILE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        yield


def _source_digest():
    """A number that changes with the pieces' source: part of each kernel's on-disk cache key.

    Numba checks only the time stamp of the file that holds the cached function;
    the kernels inline code from other files as well.
    """
    digest = hashlib.sha256()
    for path in (_PIECES_FILE, _LAYERS_FILE, _EXP_FILE, _STACK_FILE):
        with open(path, "rb") as f:
            digest.update(f.read())
    return int.from_bytes(digest.digest()[:7], "little")


@njit(**dict(JIT_OPTIONS, _nrt=False, inline="always"))
def _put_back(theta, saved, state, saved_state, steps, saved_steps, memory):
    """Weights, optimizer memory (when the optimizer keeps any) and update count of the epoch's start."""
    copy(theta, saved)
    if memory:
        copy_rows(state, saved_state)
    steps[0] = saved_steps[0]


def built_once(build):
    """``functools.cache`` for the kernel builders, whose first call per configuration runs once even
    when several threads ask at the same time: each kernel object built would compile on its own
    first call (seconds) and write the disk cache again."""
    cached, lock = functools.cache(build), threading.Lock()

    @functools.wraps(build)
    def get(config):
        with lock:
            return cached(config)
    return get


@built_once
def build_kernel(config):
    """The compiled kernel for ``config`` (a :class:`~vecnet.engines._kernel_config.KernelConfig`).

    ``kernel(theta, lay, offs, hyper, X, Y, orders, epochs, budget, pos, running, state, steps,
    losses, A, D, Z, WT, grad, saved, saved_state, saved_steps)`` runs epochs
    ``pos[0], pos[0] + 1, ..., epochs - 1`` from row ``pos[1]`` of epoch ``pos[0]``
    (whose loss sum so far is ``running[0]``), and returns ``RUNNING`` once it has
    trained on ``budget`` rows (``pos`` and ``running`` then say where it stopped),
    ``FINISHED`` after the last epoch, or ``DIVERGED``.

    Epoch ``e`` visits the samples in the order ``orders[e % len(orders)]`` in
    batches of ``batch`` rows (the last may be smaller), and writes the
    mean of the per-sample losses (taken before each update) into ``losses[e]``.
    At the start of each epoch the kernel copies ``theta`` into ``saved`` (and the
    optimizer memory and update count into ``saved_state``, ``saved_steps``). An
    epoch whose mean loss or any weight is not finite diverged: ``theta`` is put
    back as it was at the start of that epoch (and so are the optimizer memory and update
    count), ``pos[0]`` is that epoch.
    """
    hidden, output, loss, optimizer = config.hidden, config.output, config.loss, config.optimizer
    momentum, nesterov, use_l2, per_sample = config.momentum, config.nesterov, config.l2, config.per_sample
    invscaling = config.schedule == INVSCALING
    fused = optimizer == SGD and not momentum
    memory = not fused
    source = _source_digest()
    # built for one shape: the layout as constants, the scratch on the stack (see _stack); else () and 0
    LAY, OFFS, N_WORK, N_OUT, N_PARAMS = _fixed_layout(config.shape)
    FIXED, LAYERS = bool(config.shape), len(config.shape) - 1
    N_STEPS = 1 if FIXED else 0

    @njit(**dict(JIT_OPTIONS, _nrt=False))  # allocates nothing; reference counts cost most of an update
    def kernel(theta, lay, offs, hyper, X, Y, orders, epochs, batch, budget, pos, running, state,
               steps, losses, A, D, Z, WT, grad, saved, saved_state, saved_steps):
        if source == 0:  # never: the sources' digest is only part of the cache key
            return DIVERGED
        lay, offs = fixed(lay, LAY), fixed(offs, OFFS)
        A, D, Z = scratch(A, theta, N_WORK), scratch(D, theta, N_WORK), scratch(Z, theta, N_OUT)
        grad = scratch(grad, theta, N_PARAMS)
        # the weights too (a shape's kernel): kept in registers from one update to the next instead
        # of a store and a reload on the chain of dependent updates; written back on return
        theta_out, theta = theta, scratch(theta, theta, N_PARAMS)
        steps_out, steps = steps, scratch(steps, steps, N_STEPS)  # the update count: written back on return
        if FIXED:
            copy(theta, theta_out)
        steps[0] = steps_out[0]
        n_layers = len(lay)
        n = U(X.shape[0])
        n_in, k_out, o_out = lay[0][0], lay[n_layers - 1][1], offs[n_layers]
        n_orders = orders.shape[0]
        e, start, done = pos[0], U(pos[1]), U(0)
        while e < epochs:
            if start == U(0):
                copy(saved, theta)
                if memory:
                    copy_rows(saved_state, state)
                saved_steps[0] = steps[0]
                running[0] = 0.0
            o = e % n_orders if n_orders > 1 else 0
            total = running[0]
            while start < n:
                if done >= budget:
                    pos[0], pos[1], running[0] = e, start, total
                    if FIXED:  # a constant: in other kernels, no copy is compiled at all
                        copy(theta_out, theta)
                    steps_out[0] = steps[0]
                    return RUNNING
                if per_sample:
                    m = U(1)
                    r = orders[o, start]
                    for i in range(n_in):
                        A[i] = X[r, i]
                else:
                    m = min(batch, n - start)
                    for s in range(m):
                        r = orders[o, start + s]
                        for i in range(n_in):
                            A[s * n_in + i] = X[r, i]
                if FIXED:  # one layer after the other, with constant indices (at most FIXED_MAX_LAYERS)
                    forward_one(theta, lay, offs, A, Z, hidden, output, 0, LAYERS == 1)
                    if LAYERS > 1:
                        forward_one(theta, lay, offs, A, Z, hidden, output, 1, LAYERS == 2)
                    if LAYERS > 2:
                        forward_one(theta, lay, offs, A, Z, hidden, output, 2, LAYERS == 3)
                    if LAYERS > 3:
                        forward_one(theta, lay, offs, A, Z, hidden, output, 3, LAYERS == 4)
                elif per_sample:  # a constant: Numba compiles only the branch taken
                    forward_sample(theta, lay, offs, A, Z, hidden, output)
                else:
                    forward_batch(theta, lay, offs, A, Z, m, hidden, output)
                value = output_delta(loss, output, A, o_out, Z, Y, orders, o, start, D, m, k_out)
                if not math.isfinite(value):
                    _put_back(theta, saved, state, saved_state, steps, saved_steps, memory)
                    pos[0], pos[1] = e, 0
                    if FIXED:
                        copy(theta_out, theta)
                    steps_out[0] = steps[0]
                    return DIVERGED
                lr = hyper.lr
                if invscaling:
                    lr = lr / (steps[0] + 1.0) ** hyper.power_t
                if FIXED:
                    if LAYERS > 3:
                        backward_one(theta, lay, offs, A, D, grad, hidden, use_l2, hyper.l2, lr, fused, 3)
                    if LAYERS > 2:
                        backward_one(theta, lay, offs, A, D, grad, hidden, use_l2, hyper.l2, lr, fused, 2)
                    if LAYERS > 1:
                        backward_one(theta, lay, offs, A, D, grad, hidden, use_l2, hyper.l2, lr, fused, 1)
                    backward_one(theta, lay, offs, A, D, grad, hidden, use_l2, hyper.l2, lr, fused, 0)
                elif per_sample:
                    backward_sample(theta, lay, offs, A, D, grad, hidden, use_l2, hyper.l2, lr, fused)
                else:
                    backward_batch(theta, lay, offs, A, D, WT, grad, m, hidden, use_l2, hyper.l2, lr, fused)
                update(optimizer, momentum, nesterov, theta, grad, hyper, state, steps, lr)
                total += value
                start += m
                done += m
            mean = total / n
            if not (math.isfinite(mean) and all_finite(theta)):
                _put_back(theta, saved, state, saved_state, steps, saved_steps, memory)
                pos[0], pos[1] = e, 0
                if FIXED:
                    copy(theta_out, theta)
                steps_out[0] = steps[0]
                return DIVERGED
            losses[e] = mean
            e += 1
            start = U(0)
        pos[0], pos[1] = e, 0
        if FIXED:
            copy(theta_out, theta)
        steps_out[0] = steps[0]
        return FINISHED

    return kernel


def _fixed_layout(shape):
    """``(lay, offs, n_work, n_out, n_params)`` of a one-sample kernel for layer sizes ``shape``, as
    constants (the rows of :meth:`vecnet.Network.layout` and the offsets of :func:`workspace`);
    ``((), (), 0, 0, 0)`` for ``shape = ()``."""
    if not shape:
        return (), (), 0, 0, 0
    rows, off = [], 0
    for i, o in zip(shape[:-1], shape[1:]):
        rows.append((U(i), U(o), U(off), U(off + i * o)))
        off += i * o + o
    offs = tuple(U(v) for v in np.cumsum((0, *shape)))
    return tuple(rows), offs, int(sum(shape)), int(shape[-1]), int(off)


def workspace(lay, batch, theta, state):
    """The kernel's scratch arrays for layers ``lay`` and batches of ``batch`` rows.

    Returns ``offs, (A, D, Z, WT, grad, saved, saved_state, saved_steps)``; the first five start on
    64-byte boundaries (NumPy aligns small arrays to 16 bytes only; aligned, the rows of a batch
    kernel's vector loops do not straddle cache lines: a 10-32-32-1 batch step 10-20% faster).
    """
    rows = lay.tolist()   # Python ints: a short fit feels NumPy's per-element indexing
    sizes = [rows[0][0]] + [row[1] for row in rows]
    ends = list(itertools.accumulate((batch * s for s in sizes), initial=0))
    offs = np.array(ends, dtype=U)
    wt_size = max([1] + [row[0] * row[1] for row in rows[1:]])
    A, D, Z, WT, grad = aligned_zeros_many((ends[-1], ends[-1], batch * sizes[-1], wt_size, theta.size),
                                           theta.dtype)
    return offs, (A, D, Z, WT, grad, theta.copy(), state.memory.copy(), state.steps.copy())


def aligned_zeros(n, dtype, align=64):
    """A zeroed 1-D array of ``n`` items of ``dtype`` whose data starts on an ``align``-byte boundary
    (a cache line and an AVX-512 vector for 64; NumPy aligns small arrays to 16 bytes only)."""
    return aligned_zeros_many((n,), dtype, align)[0]


def aligned_zeros_many(counts, dtype, align=64):
    """Zeroed 1-D arrays of ``counts[i]`` items of ``dtype``, each starting on an ``align``-byte
    boundary: views of one allocation (one call instead of one per array: short fits feel each)."""
    itemsize = np.dtype(dtype).itemsize
    step = align // itemsize   # NumPy's data start is a multiple of the itemsize: so is the padding
    starts = list(itertools.accumulate((-(-n // step) * step for n in counts), initial=0))
    raw = np.zeros(starts[-1] + step, dtype=dtype)
    first = -raw.ctypes.data % align // itemsize
    return [raw[first + lo:first + lo + n] for lo, n in zip(starts, counts)]


def _read_only(a):
    """A read-only view of ``a`` (``a`` itself when it is read-only already)."""
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view


def train(net, X, Y, orders, epochs, batch_size, optimizer, state):
    """Run ``epochs`` epochs through the kernel of this configuration; the losses of the completed ones.

    The kernel runs in slices of about ``SLICE_SECONDS`` (the row count per slice
    follows the measured speed). A ``KeyboardInterrupt`` between two slices puts
    back the weights, optimizer memory and update count of the last completed
    epoch, and propagates marked ``vecnet_epoch_kept = True`` (the training loop
    then keeps them). The kernel updates a 64-byte aligned copy of ``net.theta``,
    written back to ``net.theta`` however the call ends.
    """
    config, hyper = kernel_settings(net, optimizer, batch_size)
    kernel = build_kernel(config)
    X, Y = _read_only(X), _read_only(Y)  # one array type for writeable and read-only data: one compile
    n = X.shape[0]
    batch = min(batch_size, n)
    lay = net.layout().astype(U)
    theta = aligned_zeros(net.theta.size, net.theta.dtype)
    theta[...] = net.theta
    offs, work = workspace(lay, batch, net.theta, state)
    saved, saved_state, saved_steps = work[-3:]
    pos = np.zeros(2, dtype=np.int64)
    running = np.zeros(1, dtype=np.float64)
    losses = np.zeros(epochs, dtype=np.float64)
    budget = max(1, FIRST_SLICE_WORK // (net.n_params + 1))
    try:
        first = True
        while True:
            t0 = time.perf_counter()
            before = pos[0] * n + pos[1]
            with quiet_compile(kernel) if first else _NO_CONTEXT:
                status = kernel(theta, lay, offs, hyper, X, Y, orders, epochs, U(batch),
                                U(budget), pos, running, state.memory, state.steps, losses, *work)
            first = False
            if status != RUNNING:
                break
            elapsed = time.perf_counter() - t0
            rows = pos[0] * n + pos[1] - before
            budget = max(1, int(rows * SLICE_SECONDS / max(elapsed, 1e-6)))
    except KeyboardInterrupt as exc:
        if pos[1] != 0:  # stopped inside an epoch: back to its start
            theta[...], state.memory[...], state.steps[...] = saved, saved_state, saved_steps
        exc.vecnet_epoch_kept = True
        raise
    finally:
        net.theta[...] = theta
    return losses[:pos[0]].tolist()
