"""The NumPy engine: whole batches through matrix products; Python loops over batches only."""

from __future__ import annotations

import inspect
import math

import numpy as np

from ._workspace import Workspace
from .base import Engine
from .numpy_many import run_stacked

# engine="auto": the compiled kernel costs about the same per multiply-add at
# any batch size, while the NumPy engine pays ~20-50 us of Python per batch and
# then runs BLAS, which gets faster per multiply-add as the matrices grow. So
# NumPy wins once batch x layer size is large enough. Measured one epoch each,
# numpy against numba, on [w, w, w, 1] tanh/sigmoid/bce networks (2-core Xeon
# 2.5 GHz, benchmarks/test_bench_crossover.py and `vecnet bench`), numba stays
# faster up to a batch of ~1024 at width 4, ~256 at width 16, ~32 at width 64
# and ~3 at width 256: everywhere batch * width**1.5 = 8,000 to 16,000 at the
# crossover. The 784-256-128-10 network (width 448) goes to numpy even per
# sample; 10-32-32-1 in batches of 32 (5,800) to numba; a full batch of 10,000
# samples on 2-2-1 (28,000) to numpy.
AUTO_CROSSOVER = 12_000
"""``batch_size * width**1.5`` above which the NumPy engine costs less per multiply-add than Numba."""


def layer_width(net):
    """``sqrt(max(n_in * n_out))`` over the layers: the side of the biggest weight matrix made square."""
    return max(i * o for i, o in zip(net.sizes[:-1], net.sizes[1:])) ** 0.5


def run_numpy(net, X, Y, orders, epochs, batch_size, optimizer, state):
    """Train with batch matrix products; see :mod:`vecnet.engines.base`.

    Every batch-sized array lives in one :class:`~vecnet.engines._workspace.Workspace`,
    reused from step to step. On divergence it returns at once; the training loop
    puts the weights back.
    """
    n = X.shape[0]
    shuffled = len(orders) > 1 or not np.array_equal(orders[0], np.arange(n))
    ws = Workspace(net, min(batch_size, n), gather=shuffled)
    grad, grad_views = ws.grad, ws.grad_views
    # the built-in optimizers take a scratch vector; a subclass's own step may not
    scratch = {"scratch": ws.spare} if "scratch" in inspect.signature(optimizer.step).parameters else {}
    losses = []
    for e in range(epochs):
        order = orders[e % len(orders)]
        in_order = np.array_equal(order, np.arange(n))
        total = 0.0
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            bws = ws if m == ws.rows else ws.view(m)  # the last batch: views of the first m rows
            if in_order:
                Xb, Yb = X[start:start + batch_size], Y[start:start + batch_size]
            else:
                rows = order[start:start + batch_size]
                Xb = np.take(X, rows, axis=0, out=bws.X, mode="clip")  # rows are valid: no copy
                Yb = np.take(Y, rows, axis=0, out=bws.Y, mode="clip")
            value, _ = net.gradients(Xb, Yb, workspace=bws)
            if not math.isfinite(value):
                return losses
            total += value * m
            if optimizer.l2:
                for (dW, _), (W, _), (tmp, _) in zip(grad_views, net.params, ws.spare_views):
                    dW += np.multiply(optimizer.l2, W, out=tmp)
            optimizer.step(net.theta, grad, state.memory, int(state.steps[0]), **scratch)
            state.steps[0] += 1
        if not (math.isfinite(total / n) and np.isfinite(net.theta).all()):  # diverged
            return losses
        losses.append(total / n)
    return losses


class NumpyEngine(Engine):
    """``"numpy"``: whole batches through matrix products; fastest for big batches of wide layers."""

    name = "numpy"
    rank = 0
    multi_epoch = False   # called once per epoch: the loop rolls a failing epoch back

    def run_epochs(self, net, X, Y, orders, epochs, batch_size, optimizer, state):
        return run_numpy(net, X, Y, orders, epochs, batch_size, optimizer, state)

    def run_many(self, net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active):
        """Stacked passes, one Python step for all models (:mod:`vecnet.engines.numpy_many`)."""
        return run_stacked(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active)

    def cost(self, net, n_samples, batch_size):
        """``AUTO_CROSSOVER / (batch_size * layer_width(net) ** 1.5)``: BLAS pays off on big matrices."""
        return AUTO_CROSSOVER / (batch_size * layer_width(net) ** 1.5)


ENGINE = NumpyEngine()
