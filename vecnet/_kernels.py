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
Inner loops run over contiguous memory (``z[j] += a * W[i, j]``) so that the
compiler can vectorize them without reassociating any sum.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

JIT_OPTIONS = {"cache": True, "nogil": True}
"""The one place the kernels' compile flags live: cached, no fastmath."""

IDENTITY, SIGMOID, TANH, RELU, SOFTMAX = 0, 1, 2, 3, 4
MSE, BCE, CCE = 0, 1, 2
SGD, ADAM = 0, 1
CONSTANT, INVSCALING = 0, 1
EXP_MAX = 709.782712893384
"""``log`` of the largest float64: ``math.exp`` overflows above it (and raises, in pure Python)."""


@njit(**JIT_OPTIONS)
def _activate(code, A, s, n):
    """``A[s, :n] = f(A[s, :n])`` in place, for activation ``code``."""
    if code == SIGMOID:
        for j in range(n):
            z = A[s, j]
            # exactly 0 where exp(-z) overflows, as compiled code gives, without
            # the OverflowError that pure Python (NUMBA_DISABLE_JIT=1) raises
            A[s, j] = 0.0 if -z > EXP_MAX else 1.0 / (1.0 + math.exp(-z))
    elif code == TANH:
        for j in range(n):
            A[s, j] = math.tanh(A[s, j])
    elif code == RELU:
        for j in range(n):
            if A[s, j] < 0.0:
                A[s, j] = 0.0
    elif code == SOFTMAX:
        zmax = A[s, 0]
        for j in range(1, n):
            zmax = max(zmax, A[s, j])
        total = 0.0
        for j in range(n):
            A[s, j] = math.exp(A[s, j] - zmax)
            total += A[s, j]
        for j in range(n):
            A[s, j] = A[s, j] / total


@njit(**JIT_OPTIONS)
def _backprop(code, A, D, s, n):
    """``D[s, :n] *= f'`` from the output ``A[s, :n]`` (the Jacobian product for softmax)."""
    if code == SIGMOID:
        for j in range(n):
            D[s, j] *= A[s, j] * (1.0 - A[s, j])
    elif code == TANH:
        for j in range(n):
            D[s, j] *= 1.0 - A[s, j] ** 2
    elif code == RELU:
        for j in range(n):
            if A[s, j] <= 0.0:
                D[s, j] = 0.0
    elif code == SOFTMAX:
        dot = 0.0
        for j in range(n):
            dot += D[s, j] * A[s, j]
        for j in range(n):
            D[s, j] = (D[s, j] - dot) * A[s, j]


@njit(**JIT_OPTIONS)
def _forward(theta, layout, A, Z, m):
    """``A[l + 1] = f(A[l] @ W_l + b_l)`` for the first ``m`` rows; output pre-activation into ``Z``."""
    n_layers = layout.shape[0]
    for k in range(n_layers):
        n_in, n_out, wo, bo, act = layout[k, 0], layout[k, 1], layout[k, 2], layout[k, 3], layout[k, 4]
        src = A[k]
        dst = A[k + 1]
        for s in range(m):
            for j in range(n_out):
                dst[s, j] = theta[bo + j]
            for i in range(n_in):
                a = src[s, i]
                row = wo + i * n_out
                for j in range(n_out):
                    dst[s, j] += a * theta[row + j]
            if k == n_layers - 1:
                for j in range(n_out):
                    Z[s, j] = dst[s, j]
            _activate(act, dst, s, n_out)


@njit(**JIT_OPTIONS)
def _output_delta(loss, act, A, Z, Y, rows, D, m):
    """Sum over the batch of the per-sample loss; ``D = dL/dZ`` of the batch-mean loss."""
    k = A.shape[1]
    total = 0.0
    if loss == CCE:
        scale = 1.0 / m
        for s in range(m):
            y = Y[rows[s]]
            zmax = Z[s, 0]
            for j in range(1, k):
                zmax = max(zmax, Z[s, j])
            acc = 0.0
            for j in range(k):
                acc += math.exp(Z[s, j] - zmax)
            value = zmax + math.log(acc)
            for j in range(k):
                value -= y[j] * Z[s, j]
                D[s, j] = (A[s, j] - y[j]) * scale
            total += value
        return total
    scale = (2.0 if loss == MSE else 1.0) / (m * k)
    for s in range(m):
        y = Y[rows[s]]
        value = 0.0
        for j in range(k):
            a = A[s, j]
            if loss == MSE:
                value += (y[j] - a) ** 2
            else:
                z = Z[s, j]
                value += max(z, 0.0) - z * y[j] + math.log1p(math.exp(-abs(z)))
            D[s, j] = (a - y[j]) * scale
        total += value / k
        if loss == MSE:
            _backprop(act, A, D, s, k)
    return total


@njit(**JIT_OPTIONS)
def _backward(theta, layout, A, Dl, grad, m, l2):
    """Accumulate the batch gradient into ``grad``; ``Dl[l]`` holds ``dL/dZ`` of layer ``l``."""
    grad[:] = 0.0
    for k in range(layout.shape[0] - 1, -1, -1):
        n_in, n_out, wo, bo = layout[k, 0], layout[k, 1], layout[k, 2], layout[k, 3]
        src = A[k]
        D = Dl[k]
        for s in range(m):
            for j in range(n_out):
                grad[bo + j] += D[s, j]
            for i in range(n_in):
                a = src[s, i]
                row = wo + i * n_out
                for j in range(n_out):
                    grad[row + j] += a * D[s, j]
        if l2 != 0.0:
            for p in range(wo, bo):
                grad[p] += l2 * theta[p]
        if k > 0:
            below = Dl[k - 1]
            for s in range(m):
                for i in range(n_in):
                    row = wo + i * n_out
                    acc = 0.0
                    for j in range(n_out):
                        acc += D[s, j] * theta[row + j]
                    below[s, i] = acc
                _backprop(layout[k - 1, 4], src, below, s, n_in)


@njit(**JIT_OPTIONS)
def _update(theta, grad, cfg, hyper, state, steps):
    """One optimizer step: SGD (``v = mu v - lr g``, Nesterov optional) or Adam."""
    lr = hyper[0]
    if cfg[4] == INVSCALING:
        lr = lr / (steps[0] + 1.0) ** hyper[6]
    n = theta.shape[0]
    if cfg[2] == SGD:
        mu = hyper[1]
        if mu == 0.0:
            for p in range(n):
                theta[p] -= lr * grad[p]
        else:
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


@njit(**JIT_OPTIONS)
def _all_finite(x):
    """True when every element of the 1-D ``x`` is finite."""
    for v in x:
        if not math.isfinite(v):
            return False
    return True


@njit(**JIT_OPTIONS)
def train_epochs(theta, layout, cfg, hyper, X, Y, orders, epochs, state, steps, losses):
    """Run ``epochs`` epochs of mini-batch training; return how many completed.

    Epoch ``e`` visits the samples in the order ``orders[e % len(orders)]`` in
    batches of ``cfg[1]`` (the last one may be smaller), and writes the mean of
    the per-sample losses (taken before each update) into ``losses[e]``. If a
    loss or a parameter stops being finite, ``theta`` is put back as it was
    at the start of that epoch and the kernel returns early.
    """
    n_layers = layout.shape[0]
    n, n_out = X.shape[0], layout[n_layers - 1, 1]
    batch = min(cfg[1], n)
    width = 0
    for k in range(n_layers):
        width = max(width, layout[k, 0], layout[k, 1])
    A = np.zeros((n_layers + 1, batch, width), dtype=theta.dtype)
    D = np.zeros((n_layers, batch, width), dtype=theta.dtype)
    Z = np.zeros((batch, n_out), dtype=theta.dtype)
    grad = np.zeros_like(theta)
    saved = theta.copy()
    n_in = layout[0, 0]
    for e in range(epochs):
        saved[:] = theta
        order = orders[e % orders.shape[0]]
        total = 0.0
        for start in range(0, n, batch):
            m = min(batch, n - start)
            rows = order[start:start + m]
            inputs = A[0]
            for s in range(m):
                x = X[rows[s]]
                for i in range(n_in):
                    inputs[s, i] = x[i]
            _forward(theta, layout, A, Z, m)
            out = A[n_layers]
            value = _output_delta(cfg[0], layout[n_layers - 1, 4], out[:, :n_out], Z, Y, rows,
                                  D[n_layers - 1], m)
            if not math.isfinite(value):
                theta[:] = saved
                return e
            total += value
            _backward(theta, layout, A, D, grad, m, hyper[5])
            _update(theta, grad, cfg, hyper, state, steps)
        if not _all_finite(theta):
            theta[:] = saved
            return e
        losses[e] = total / n
    return epochs
