"""Compiled kernels that train many models of one architecture in one call (private; imports Numba).

Two kernels, each built per :class:`~vecnet.engines._kernel_config.KernelConfig`
(cached in memory and on disk, like :func:`vecnet.engines._kernels.build_kernel`):

- :func:`build_many_kernel`, for any configuration: a loop over a range of models,
  each model running the solo kernel's arithmetic (the solo epoch loop made of the
  same pieces) on its own row of ``thetas`` and its own rows of the workspaces.
- :func:`build_side_kernel`, for per-sample plain SGD of small networks
  (:func:`side_by_side`): the weights laid out ``[param, model]`` (flat,
  ``T[p * K + k]``), the model loop innermost, so one SIMD instruction updates
  several models; a loop over a range of blocks of models. Each model's sums keep the
  solo per-sample kernel's order (forward: ``b + a_0 w_0 + a_1 w_1 + ...``;
  the loss of :func:`vecnet.engines._kernel_pieces.output_delta`; backward:
  the gradient, ``l2``, then the fused ``theta -= lr * g``), and the
  element-wise activations are the solo pieces applied to a run of models.

Threads: both kernels release the GIL (``nogil``), and
:mod:`vecnet.engines._many_train` runs one call per thread on its own range of
models (blocks). That compiles about like a solo kernel: measured on an idle
2-core machine (AVX2), a batch tanh/momentum configuration compiled in 17.1 s
(solo kernel 17.2 s) and a per-sample tanh/Adam one in 8.9 s (solo 9.3 s); with
``parallel=True`` and ``prange`` they took about 1.5 times as long. Before the
epoch loop moved into the kernel itself (it sat in an inlined function taking the
configuration as arguments, so both the per-sample and the batch path were
compiled), the same two took 29.0 s and 24.2 s.

No model's arithmetic depends on another model or on the thread count: the
models only share the read-only data. The divergence rule is the solo kernel's
(a non-finite batch loss, epoch mean or weight): the model is put back to the
failing epoch's start and stops alone (the side-by-side kernel decides at the
epoch end: a non-finite loss stays non-finite in the epoch's sum).
"""

from __future__ import annotations

import hashlib
import math

from numba import njit

from ..codes import BCE, CONSTANT, IDENTITY, INVSCALING, MSE, RELU, SGD, SIGMOID, TANH
from . import _kernels
from ._exp import exp as vexp
from ._kernel_layers import backward_batch, backward_sample, forward_batch, forward_sample
from ._kernel_pieces import (
    HOT_OPTIONS,
    JIT_OPTIONS,
    U,
    activate,
    all_finite,
    backprop,
    copy,
    copy_rows,
    output_delta,
    update,
)

_SIDE_ACTIVATIONS = (SIGMOID, TANH, RELU, IDENTITY)
_SIDE_LOSSES = (MSE, BCE)


def _digest():
    """The pieces' digest (:func:`vecnet.engines._kernels._source_digest`) and that of ``_kernels.py``."""
    digest = hashlib.sha256(_kernels._source_digest().to_bytes(8, "little"))
    with open(_kernels.__file__, "rb") as f:
        digest.update(f.read())
    return int.from_bytes(digest.digest()[:7], "little")


def side_by_side(config):
    """True when :func:`build_side_kernel` covers ``config``: per-sample, constant-rate plain SGD, float64,
    element-wise activations (sigmoid, tanh, relu, identity), mse or bce."""
    return (config.per_sample and config.optimizer == SGD and not config.momentum
            and config.schedule == CONSTANT and config.dtype == "float64"
            and config.hidden in _SIDE_ACTIVATIONS and config.output in _SIDE_ACTIVATIONS
            and config.loss in _SIDE_LOSSES)


@_kernels.built_once
def build_many_kernel(config):
    """The kernel that trains models ``lo .. hi - 1`` one after the other, for ``config``.

    ``kernel(thetas, lay, offs, hyper, lrs, l2s, X, Y, orders, e_from, e_to, batch, active, memory,
    steps, losses, done, A, D, Z, WT, grad, saved, saved_state, saved_steps, lo, hi)`` runs epochs
    ``e_from .. e_to - 1`` of every model ``lo <= k < hi`` with ``active[k]`` and ``done[k] == e_from`` (row
    ``k`` of every array but ``orders``, which has 1 or K rows), and sets ``done[k]`` to the epoch
    it stopped at: ``e_to``, or the epoch that diverged (then put back).

    Each model runs the solo kernel's epochs (:func:`vecnet.engines._kernels.build_kernel`, the same
    pieces in the same order) with its own rate ``lrs[k]`` and ``l2s[k]``. The configuration is
    captured as constants, so Numba compiles only the path it takes (per sample or batch), as in
    the solo kernel; the epoch loop sits in the kernel itself for that reason (in an inlined
    function taking the configuration as arguments, both paths were compiled).
    """
    hidden, output, loss, optimizer = config.hidden, config.output, config.loss, config.optimizer
    momentum, nesterov, use_l2, per_sample = config.momentum, config.nesterov, config.l2, config.per_sample
    invscaling = config.schedule == INVSCALING
    fused = optimizer == SGD and not momentum
    source = _digest()

    @njit(**JIT_OPTIONS)
    def kernel(thetas, lay, offs, hyper, lrs, l2s, X, Y, orders, e_from, e_to, batch, active, memory,
               steps, losses, done, A, D, Z, WT, grad, saved, saved_state, saved_steps, lo, hi):
        if source == 0:  # never: the sources' digest is only part of the cache key
            return
        n_layers = lay.shape[0]
        n = U(X.shape[0])
        n_in, k_out, o_out = lay[0, 0], lay[n_layers - 1, 1], offs[n_layers]
        n_orders = orders.shape[1]
        shared = orders.shape[0] == 1
        for k in range(lo, hi):
            if not (active[k] and done[k] == e_from):
                continue
            ko = k - k if shared else k  # (k - k: one integer type with k)
            theta, state, step, loss_k = thetas[k], memory[k], steps[k], losses[k]
            A_k, D_k, Z_k, WT_k, grad_k = A[k], D[k], Z[k], WT[k], grad[k]
            saved_k, saved_state_k, saved_steps_k = saved[k], saved_state[k], saved_steps[k]
            # float(): the rates are Python floats in the twin, as the solo kernel's hyper.lr, hyper.l2
            lr0, l2 = float(lrs[k]), float(l2s[k])
            e = e_from
            while e < e_to:
                copy(saved_k, theta)
                if not fused:
                    copy_rows(saved_state_k, state)
                saved_steps_k[0] = step[0]
                o = e % n_orders if n_orders > 1 else 0
                total = 0.0
                start = U(0)
                diverged = False
                while start < n:
                    if per_sample:  # a constant: Numba compiles only the branch taken
                        m = U(1)
                    else:
                        m = min(batch, n - start)
                    for s in range(m):
                        r = orders[ko, o, start + s]
                        for i in range(n_in):
                            A_k[s * n_in + i] = X[r, i]
                    if per_sample:
                        forward_sample(theta, lay, offs, A_k, Z_k, hidden, output)
                    else:
                        forward_batch(theta, lay, offs, A_k, Z_k, m, hidden, output)
                    value = output_delta(loss, output, A_k, o_out, Z_k, Y, orders[ko], o, start, D_k, m, k_out)
                    if not math.isfinite(value):
                        diverged = True
                        break
                    lr = lr0
                    if invscaling:
                        lr = lr / (step[0] + 1.0) ** hyper.power_t
                    if per_sample:
                        backward_sample(theta, lay, offs, A_k, D_k, grad_k, hidden, use_l2, l2, lr, fused)
                    else:
                        backward_batch(theta, lay, offs, A_k, D_k, WT_k, grad_k, m, hidden, use_l2, l2, lr, fused)
                    update(optimizer, momentum, nesterov, theta, grad_k, hyper, state, step, lr)
                    total += value
                    start += m
                mean = total / n
                if diverged or not (math.isfinite(mean) and all_finite(theta)):
                    _kernels._put_back(theta, saved_k, state, saved_state_k, step, saved_steps_k, not fused)
                    break
                loss_k[e] = mean
                e += 1
            done[k] = e

    return kernel


@njit(**HOT_OPTIONS)
def _side_epoch_end(T, saved, KK, P, m, e, n, rows, total, losses, done, steps, saved_steps):
    """Model ``m``'s epoch ``e`` ends: its loss, or (diverged, or stopped before) its weights put back."""
    if done[m] == e:
        mean = total[m] / n
        finite = math.isfinite(mean)
        for p in range(P):
            if not math.isfinite(T[p * KK + m]):
                finite = False
        if finite:
            losses[m, e] = mean
            done[m] = e + 1
            steps[m] += rows
            return
        steps[m] = saved_steps[m]
    for p in range(P):
        T[p * KK + m] = saved[p * KK + m]


@njit(**HOT_OPTIONS)
def _loss_term(bce, A, D, Z, val, oj, zj, m, t, k):
    """Model ``m``'s term of output ``j`` (target ``t``), as :func:`vecnet.engines._kernel_pieces.output_delta`
    writes it for one sample: into its loss sum ``val[m]`` and ``D = dL/dZ``."""
    if bce:
        z = Z[zj + m]
        val[m] += max(z, 0.0) - z * t + math.log1p(vexp(-abs(z)))
        D[oj + m] = (A[oj + m] - t) * (1.0 / (U(1) * k))
    else:
        a = A[oj + m]
        err = t - a
        val[m] += err * err
        D[oj + m] = (a - t) * (2.0 / (U(1) * k))


@njit(**HOT_OPTIONS)
def _side_block(T, lay, offs, lrs, l2s, X, Y, orders, e_from, e_to, steps, losses, done, A, D, Z, saved,
                saved_steps, total, val, hidden, output, bce, use_l2):
    """Epochs ``e_from .. e_to - 1`` of one block of ``K = len(lrs)`` models (the arguments of
    :func:`build_side_kernel`'s kernel, cut to the block: its models are ``0 .. K - 1`` here)."""
    n_layers = lay.shape[0]
    KK = U(lrs.shape[0])
    P = U(T.shape[0]) // KK
    n = U(X.shape[0])
    n_in, k_out, o_out = lay[0, 0], lay[n_layers - 1, 1], offs[n_layers]
    n_orders = U(orders.shape[1])
    shared = orders.shape[0] == 1
    for e in range(e_from, e_to):
        for m in range(KK):
            if done[m] == e:
                for p in range(P):
                    saved[p * KK + m] = T[p * KK + m]
                saved_steps[m] = steps[m]
            total[m] = 0.0
        o = U(e) % n_orders
        for s in range(n):
            if shared:
                r = orders[0, o, s]
                for i in range(n_in):
                    xv = X[r, i]
                    for m in range(KK):
                        A[i * KK + m] = xv
            else:
                for m in range(KK):
                    r = orders[m, o, s]
                    for i in range(n_in):
                        A[i * KK + m] = X[r, i]
            # forward: y_j = b_j + a_0 w_0j + a_1 w_1j + ..., then f (the solo order)
            for k in range(n_layers):
                li, lo, wo, bo = lay[k, 0], lay[k, 1], lay[k, 2], lay[k, 3]
                x, y = offs[k], offs[k + 1]
                for j in range(lo):
                    yj, bj = (y + j) * KK, (bo + j) * KK
                    for m in range(KK):
                        A[yj + m] = T[bj + m]
                    for i in range(li):
                        xi, wij = (x + i) * KK, (wo + i * lo + j) * KK
                        for m in range(KK):
                            A[yj + m] += A[xi + m] * T[wij + m]
                    if k == n_layers - 1:
                        if bce:
                            for m in range(KK):
                                Z[j * KK + m] = A[yj + m]
                        activate(output, A, yj, KK)
                    else:
                        activate(hidden, A, yj, KK)
            # the loss and D = dL/dZ of the output (output_delta's formulas, one sample)
            for m in range(KK):
                val[m] = 0.0
            for j in range(k_out):
                oj, zj = (o_out + j) * KK, j * KK
                if shared:
                    t = Y[orders[0, o, s], j]
                    for m in range(KK):
                        _loss_term(bce, A, D, Z, val, oj, zj, m, t, k_out)
                else:
                    for m in range(KK):
                        _loss_term(bce, A, D, Z, val, oj, zj, m, Y[orders[m, o, s], j], k_out)
            for m in range(KK):
                total[m] += 0.0 + val[m] / k_out
            if not bce:
                for j in range(k_out):
                    backprop(output, A, D, (o_out + j) * KK, KK)
            # backward: D of the layer below (before this layer's update), then the fused update
            for k in range(n_layers - 1, -1, -1):
                li, lo, wo, bo = lay[k, 0], lay[k, 1], lay[k, 2], lay[k, 3]
                src, dk = offs[k], offs[k + 1]
                if k > 0:
                    for i in range(li):
                        di = (src + i) * KK
                        for m in range(KK):
                            D[di + m] = 0.0
                        for j in range(lo):
                            dj, wij = (dk + j) * KK, (wo + i * lo + j) * KK
                            for m in range(KK):
                                D[di + m] += D[dj + m] * T[wij + m]
                        backprop(hidden, A, D, di, KK)
                for j in range(lo):
                    dj, bj = (dk + j) * KK, (bo + j) * KK
                    for m in range(KK):
                        T[bj + m] -= lrs[m] * D[dj + m]
                for i in range(li):
                    ai = (src + i) * KK
                    for j in range(lo):
                        dj, wij = (dk + j) * KK, (wo + i * lo + j) * KK
                        for m in range(KK):
                            g = A[ai + m] * D[dj + m]
                            if use_l2:
                                g += l2s[m] * T[wij + m]
                            T[wij + m] -= lrs[m] * g
        for m in range(KK):
            _side_epoch_end(T, saved, KK, P, m, e, n, X.shape[0], total, losses, done, steps, saved_steps)



@_kernels.built_once
def build_side_kernel(config):
    """The ``[param, model]`` kernel for ``config`` (one that :func:`side_by_side` accepts).

    ``kernel(T, lay, offs, lrs, l2s, X, Y, orders, e_from, e_to, steps, losses, done, A, D, Z, saved,
    saved_steps, total, val, starts, lo, hi)`` runs blocks ``lo .. hi - 1`` of models, ``starts`` their
    bounds (block ``b`` holds models ``starts[b] .. starts[b + 1] - 1``, ``w`` of them).
    ``T[b]`` holds block ``b``'s weights ``[param, model]`` (the first ``n_params * w``
    elements), ``saved[b]`` likewise; ``A[b]``, ``D[b]`` its ``[unit, model]``, ``Z[b]``
    ``[output, model]``, ``total[b]``, ``val[b]`` its per-model sums (each block in its own
    cache lines); ``offs`` the per-sample offsets of the layers' units; ``steps``,
    ``saved_steps`` (K,). Runs the epochs of the models with ``done[k] == e_from`` (the others
    are stopped: their weights stay put back).
    """
    hidden, output, loss, use_l2 = config.hidden, config.output, config.loss, config.l2
    bce = loss == BCE
    source = _digest()

    @njit(**JIT_OPTIONS)
    def kernel(T, lay, offs, lrs, l2s, X, Y, orders, e_from, e_to, steps, losses, done, A, D, Z, saved,
               saved_steps, total, val, starts, lo, hi):
        if source == 0:  # never: the sources' digest is only part of the cache key
            return
        n_layers = lay.shape[0]
        P = lay[n_layers - 1, 3] + lay[n_layers - 1, 1]          # parameters: up to the last bias
        units, k_out = offs[n_layers] + lay[n_layers - 1, 1], lay[n_layers - 1, 1]
        shared = orders.shape[0] == 1
        for b in range(lo, hi):
            k0, k1 = starts[b], starts[b + 1]
            w = k1 - k0
            ords = orders if shared else orders[k0:k1]
            _side_block(T[b, :P * w], lay, offs, lrs[k0:k1], l2s[k0:k1], X, Y, ords, e_from, e_to, steps[k0:k1],
                        losses[k0:k1], done[k0:k1], A[b, :units * w], D[b, :units * w], Z[b, :k_out * w],
                        saved[b, :P * w], saved_steps[k0:k1], total[b, :w], val[b, :w], hidden, output, bce,
                        use_l2)

    return kernel
