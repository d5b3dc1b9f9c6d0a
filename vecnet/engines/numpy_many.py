"""The NumPy engine's :meth:`~vecnet.engines.base.Engine.run_many`: ``K`` models, one Python step.

The loop of :func:`vecnet.engines.numpy_engine.run_numpy` over stacks of models
(:mod:`vecnet.engines._stacked`): the same batches, the same in-order slicing
or gathering with ``np.take``, the same L2 term, update and divergence rule, per
model. The active models' weights, memory and update counts are copied into
working stacks; a model that diverges (checked at the end of each epoch: see
the loop) gets its failing epoch's start put back and leaves the stacks, the
others go on; at the end the stacks are copied back.
"""

from __future__ import annotations

import numpy as np

from ._stacked import Passes, StackedOptimizer, StackedWorkspace, stacked_views, supported


def check_many(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active):
    """Raise ``ValueError`` saying which argument of ``run_many`` has the wrong type or shape."""
    P, dt = net.n_params, net.dtype

    def need(ok, what):
        if not ok:
            raise ValueError(f"run_many: {what}")

    need(isinstance(thetas, np.ndarray) and thetas.ndim == 2 and thetas.shape[1] == P and thetas.shape[0] >= 1,
         f"thetas must be an array (K, {P}), got shape {getattr(thetas, 'shape', None)}")
    K = thetas.shape[0]
    need(thetas.dtype == dt and thetas.flags.c_contiguous and thetas.flags.writeable,
         f"thetas must be a writable C-contiguous {dt.name} array, got {thetas.dtype.name}")
    for name, arr, cols in (("X", X, net.sizes[0]), ("Y", Y, net.sizes[-1])):
        need(isinstance(arr, np.ndarray) and arr.ndim == 2 and arr.shape[1] == cols and arr.dtype == dt
             and arr.flags.c_contiguous, f"{name} must be a C-contiguous {dt.name} array (n_samples, "
             f"{cols}), got {getattr(arr, 'dtype', None)} {getattr(arr, 'shape', None)}")
    n = X.shape[0]
    need(n >= 1 and Y.shape[0] == n, f"X and Y must have the same number (>= 1) of rows, got {n} and {Y.shape[0]}")
    need(isinstance(orders, np.ndarray) and orders.dtype == np.int64 and orders.ndim == 3
         and orders.shape[0] in (1, K) and orders.shape[1] >= 1 and orders.shape[2] == n,
         f"orders must be an int64 array (1 or {K}, n_orders, {n}), got "
         f"{getattr(orders, 'dtype', None)} {getattr(orders, 'shape', None)}")
    for name, value, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
        need(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low,
             f"{name} must be an int >= {low}, got {value!r}")
    need(len(optimizers) == K, f"optimizers must hold one optimizer per model ({K}), got {len(optimizers)}")
    need(isinstance(memory, np.ndarray) and memory.shape == (K, 2, P) and memory.dtype == dt
         and memory.flags.writeable, f"memory must be a writable {dt.name} array ({K}, 2, {P}), got "
                                     f"{getattr(memory, 'dtype', None)} {getattr(memory, 'shape', None)}")
    need(isinstance(steps, np.ndarray) and steps.shape == (K, 1) and steps.dtype == np.int64
         and steps.flags.writeable, f"steps must be a writable int64 array ({K}, 1), got "
                                    f"{getattr(steps, 'dtype', None)} {getattr(steps, 'shape', None)}")
    need(isinstance(active, np.ndarray) and active.shape == (K,) and active.dtype == np.bool_,
         f"active must be a bool array ({K},), got {getattr(active, 'dtype', None)} "
         f"{getattr(active, 'shape', None)}")


class _Stacks:
    """The working copies of the models still training: weights, memory, counts, their views."""

    def __init__(self, net, idx, thetas, memory, steps, optimizers, rows, gather):
        self.net, self.rows, self.gather = net, rows, gather
        self.idx = idx                       # the models' numbers in the caller's arrays
        self.theta = thetas[idx]             # fancy indexing: C-contiguous copies
        self.memory = memory[idx]
        self.steps = steps[idx, 0]
        self.opt = StackedOptimizer([optimizers[i] for i in idx], net.dtype)
        self._views()

    def _views(self):
        self.params = stacked_views(self.net, self.theta, broadcast=True)
        self.passes = Passes(self.net, self.params)
        self.ws = StackedWorkspace(self.net, len(self.idx), self.rows, self.gather)

    def checkpoint(self):
        """Copies of what an epoch's failure puts back."""
        return self.theta.copy(), self.memory.copy(), self.steps.copy()

    def drop(self, failed, checkpoint, thetas, memory, steps):
        """Put back the ``failed`` (bool per working model) models' ``checkpoint`` in the caller's arrays; drop them."""
        bad = np.flatnonzero(failed)
        rows = self.idx[bad]
        thetas[rows], memory[rows], steps[rows, 0] = (c[bad] for c in checkpoint)
        keep = np.flatnonzero(~failed)
        self.idx = self.idx[keep]
        self.theta, self.memory, self.steps = self.theta[keep], self.memory[keep], self.steps[keep]
        self.opt.keep(keep)
        if len(keep):
            self._views()

    def write_back(self, thetas, memory, steps):
        """Copy the working stacks into the caller's arrays."""
        thetas[self.idx], memory[self.idx], steps[self.idx, 0] = self.theta, self.memory, self.steps


def run_stacked(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active):
    """:meth:`vecnet.engines.base.Engine.run_many` on stacked NumPy passes; None when it cannot."""
    check_many(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active)
    if not supported(net) or not StackedOptimizer.usable(optimizers):
        return None
    K, n = thetas.shape[0], X.shape[0]
    losses = np.full((K, epochs), np.nan)
    done = np.zeros(K, dtype=np.int64)
    idx = np.flatnonzero(active)
    if not len(idx):
        return losses, done
    StackedOptimizer(optimizers, net.dtype)   # one class and settings, or ValueError
    own_orders = orders.shape[0] > 1
    arange = np.arange(n)
    shuffled = own_orders or orders.shape[1] > 1 or not np.array_equal(orders[0, 0], arange)
    rows = min(batch_size, n)
    s = _Stacks(net, idx, thetas, memory, steps, optimizers, rows,
                None if not shuffled else "each" if own_orders else "shared")
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        for e in range(epochs):
            checkpoint = s.checkpoint()
            totals = np.zeros(len(s.idx))
            if own_orders:
                order = orders[s.idx % orders.shape[0], e % orders.shape[1]]   # (K, n)
                in_order = False
            else:
                order = orders[0, e % orders.shape[1]]
                in_order = np.array_equal(order, arange)
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                ws = s.ws if m == rows else s.ws.view(m)
                if in_order:
                    Xb, Yb = X[start:start + batch_size], Y[start:start + batch_size]
                else:   # rows are valid: "clip" makes no copy; (m,) or (K, m) rows -> (m, n) or (K, m, n)
                    taken = order[..., start:start + batch_size]
                    Xb = np.take(X, taken, axis=0, out=ws.X, mode="clip")
                    Yb = np.take(Y, taken, axis=0, out=ws.Y, mode="clip")
                # a non-finite batch loss, where the solo engine stops, makes the epoch's
                # total non-finite for good (inf and NaN absorb any sum): such a model
                # fails the check below and gets its epoch's start put back, as alone
                totals += s.passes.gradients(Xb, Yb, ws) * m
                s.opt.add_l2(s.params, ws)
                s.opt.step(s.theta, ws.grad, s.memory, s.steps, ws.spare)
                s.steps += 1
            mean = totals / n
            failed = ~(np.isfinite(mean) & np.isfinite(s.theta).all(axis=1))
            ok = ~failed
            losses[s.idx[ok], e] = mean[ok]
            done[s.idx[ok]] += 1
            if failed.any():
                s.drop(failed, checkpoint, thetas, memory, steps)
                if not len(s.idx):
                    return losses, done
    s.write_back(thetas, memory, steps)
    return losses, done
