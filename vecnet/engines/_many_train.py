"""K models of one architecture through the many-model kernels (private; imports Numba).

:func:`train_many` implements :meth:`vecnet.engines.base.Engine.run_many` for the
Numba engine, on inputs :func:`vecnet.engines.numba_engine.check_many_inputs` has
checked. The models are grouped by kernel configuration (only ``l2 != 0`` may
differ between them); a group runs through the ``[param, model]`` kernel when it
covers the configuration (:func:`vecnet.engines._many_kernels.side_by_side`),
else through the kernel that runs each model's solo arithmetic. Each kernel call
runs on ``numba.get_num_threads()`` threads, each on its own range of models
(:func:`_on_threads`). The kernels run a few epochs per call (about
``SLICE_SECONDS``), so Ctrl-C is noticed between two calls, with every model at
an epoch's end.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor, wait

import numba
import numpy as np

from . import _many_kernels
from ._kernel_config import kernel_settings
from ._kernels import FIRST_SLICE_WORK, SLICE_SECONDS, U, _read_only, aligned_zeros, quiet_compile, workspace

BLOCK = 8
"""Models per block of the ``[param, model]`` kernel are a multiple of this (SIMD width and more)."""


def _slices(epochs, work_per_epoch, run, kernel):
    """Call ``run(e_from, e_to)`` over ``0 .. epochs``, each call lasting about ``SLICE_SECONDS``.

    ``epochs=0`` makes one call that runs nothing (it compiles, or loads, the kernel).
    """
    e, per_call, first = 0, max(1, FIRST_SLICE_WORK // max(1, work_per_epoch)), True
    while e < epochs or first:
        stop = min(epochs, e + per_call)
        t0 = time.perf_counter()
        if first:  # ``kernel`` may compile (see vecnet.engines._kernels.quiet_compile)
            with quiet_compile(kernel):
                run(e, stop)
            first = False
        else:
            run(e, stop)
        elapsed = time.perf_counter() - t0
        per_call = max(1, int((stop - e) * SLICE_SECONDS / max(elapsed, 1e-6)))
        e = stop


_pool = None      # (process id, ThreadPoolExecutor): started once per process, reused by every call


def _threads():
    """This process's pool of ``NUMBA_NUM_THREADS`` worker threads (a forked child starts its own)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(numba.config.NUMBA_NUM_THREADS, "vecnet-many"))
    return _pool[1]


def _on_threads(call, count):
    """``call(lo, hi)`` over ``0 .. count`` split into one contiguous range per thread (at most
    ``numba.get_num_threads()``); the kernels release the GIL, so the ranges run side by side.
    The first range runs on the calling thread, the others on the pool's."""
    threads = max(1, min(numba.get_num_threads(), count))
    bounds = [count * t // threads for t in range(threads + 1)]
    if threads == 1:
        call(0, count)
        return
    futures = [_threads().submit(call, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    try:
        call(0, bounds[1])
    finally:   # every range ends before the arrays are read or freed, also on an error
        wait(futures)
    for future in futures:
        future.result()


def _blocks(k):
    """Boundaries of the blocks of ``k`` models: about one block per thread, each a multiple of ``BLOCK``."""
    n_blocks = max(1, min(numba.get_num_threads(), math.ceil(k / BLOCK)))
    size = math.ceil(k / n_blocks / BLOCK) * BLOCK
    return np.minimum(np.arange(n_blocks + 1, dtype=np.uint64) * U(size), U(k))


def _padded(n_blocks, length):
    """Zeros ``(n_blocks, stride)``, each row 64-byte aligned with a cache line to spare after
    ``length``: the blocks' threads never write to one cache line (no false sharing)."""
    stride = math.ceil(length / 8) * 8 + 8
    return aligned_zeros(n_blocks * stride, np.float64).reshape(n_blocks, stride)


def _to_blocks(rows, starts):
    """``rows`` (K, P) as one padded row per block (:func:`_padded`), each block ``[param, model]``."""
    p = rows.shape[1]
    out = _padded(len(starts) - 1, p * int(np.max(np.diff(starts))))
    for b, (lo, hi) in enumerate(zip(starts[:-1], starts[1:])):
        out[b, :p * (hi - lo)] = rows[lo:hi].T.reshape(-1)
    return out


def _from_blocks(blocks, starts, p):
    """The rows (K, P) of :func:`_to_blocks`' layout."""
    return np.concatenate([blocks[b, :p * (hi - lo)].reshape(p, hi - lo).T
                           for b, (lo, hi) in enumerate(zip(starts[:-1], starts[1:]))])


def _run_side(config, net, thetas, X, Y, orders, epochs, lrs, l2s, steps, idx, losses, done):
    """The models ``idx`` through the ``[param, model]`` kernel; results written back into their rows."""
    kernel = _many_kernels.build_side_kernel(config)
    k, p = len(idx), net.n_params
    lay = net.layout().astype(U)
    sizes = [int(lay[0, 0])] + [int(v) for v in lay[:, 1]]
    offs = np.zeros(len(sizes), dtype=U)
    offs[1:] = np.cumsum(sizes[:-1])
    starts = _blocks(k)
    n_blocks, width = len(starts) - 1, int(np.max(np.diff(starts)))
    T = _to_blocks(thetas[idx], starts)
    saved = _padded(n_blocks, p * width)
    saved[...] = T
    st = np.ascontiguousarray(steps[idx, 0])
    ords = orders if orders.shape[0] == 1 else np.ascontiguousarray(orders[idx])
    done_k = np.zeros(k, dtype=np.int64)
    losses_k = np.zeros((k, epochs), dtype=np.float64)
    A, D = _padded(n_blocks, sum(sizes) * width), _padded(n_blocks, sum(sizes) * width)
    Z, total, val = _padded(n_blocks, sizes[-1] * width), _padded(n_blocks, width), _padded(n_blocks, width)
    saved_steps = st.copy()
    lr_k, l2_k = np.ascontiguousarray(lrs[idx]), np.ascontiguousarray(l2s[idx])

    def run(e_from, e_to):
        _on_threads(lambda lo, hi: kernel(T, lay, offs, lr_k, l2_k, X, Y, ords, e_from, e_to, st, losses_k,
                                          done_k, A, D, Z, saved, saved_steps, total, val, starts, lo, hi),
                    n_blocks)

    try:
        _slices(epochs, X.shape[0] * p * k, run, kernel)
    finally:  # also on Ctrl-C: every model is at an epoch's end
        thetas[idx] = _from_blocks(T, starts, p)
        steps[idx, 0] = st
        losses[idx] = losses_k
        done[idx] = done_k


def _run_generic(config, net, hyper, thetas, X, Y, orders, epochs, batch_size, lrs, l2s, memory, steps,
                 mask, losses, done):
    """The models of ``mask`` through the kernel of each model's solo arithmetic, in place."""
    kernel = _many_kernels.build_many_kernel(config)
    k = thetas.shape[0]
    n = X.shape[0]
    batch = min(batch_size, n)
    lay = net.layout().astype(U)
    offs, work = workspace(lay, batch, thetas[0], _State(memory[0], steps[0]))
    work = [np.zeros((k,) + a.shape, dtype=a.dtype) for a in work]

    def run(e_from, e_to):
        _on_threads(lambda lo, hi: kernel(thetas, lay, offs, hyper, lrs, l2s, X, Y, orders, e_from, e_to,
                                          U(batch), mask, memory, steps, losses, done, *work, lo, hi), k)

    _slices(epochs, n * net.n_params * int(mask.sum()), run, kernel)


class _State:
    """What :func:`vecnet.engines._kernels.workspace` reads of an optimizer state."""

    def __init__(self, memory, steps):
        self.memory, self.steps = memory, steps


def train_many(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active, side=True):
    """:meth:`vecnet.engines.base.Engine.run_many` on checked inputs: ``(losses (K, epochs), done (K,))``.

    ``side``: the ``[param, model]`` kernel for the configurations it covers (False, for tests: the
    other kernel throughout).
    """
    k = thetas.shape[0]
    losses = np.zeros((k, epochs), dtype=np.float64)
    done = np.zeros(k, dtype=np.int64)
    known, settings = {}, []   # once per distinct optimizer setting (the K models share a few)
    for o in optimizers:
        key = tuple(o.kernel_settings().items())
        if key not in known:
            known[key] = kernel_settings(net, o, batch_size)
        settings.append(known[key])
    hyper = settings[0][1]
    lrs = np.array([h.lr for _, h in settings], dtype=np.float64)
    l2s = np.array([h.l2 for _, h in settings], dtype=np.float64)
    X, Y = _read_only(X), _read_only(Y)  # one array type for writeable and read-only data: one compile
    groups = {}
    for i, (config, _) in enumerate(settings):
        if active[i]:
            groups.setdefault(config, []).append(i)
    for config, members in groups.items():
        if _many_kernels.side_by_side(config) and side:
            _run_side(config, net, thetas, X, Y, orders, epochs, lrs, l2s, steps, np.array(members), losses,
                      done)
        else:
            mask = np.zeros(k, dtype=np.bool_)
            mask[members] = True
            _run_generic(config, net, hyper, thetas, X, Y, orders, epochs, batch_size, lrs, l2s, memory,
                         steps, mask, losses, done)
    return losses, done
