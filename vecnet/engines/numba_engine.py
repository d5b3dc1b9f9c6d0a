"""The Numba engine: every sample and every update in one compiled kernel.

The kernel, :func:`vecnet.engines._kernels.train_epochs`, is imported when it
first runs, not when :mod:`vecnet` is imported.
"""

from __future__ import annotations

import time

import numpy as np

from ..losses import get_loss
from ..optimizers import OptimizerState
from .base import Engine


def run_numba(net, X, Y, orders, epochs, batch_size, optimizer, state):
    """Train with the compiled kernel; see :mod:`vecnet.engines.base`."""
    from . import _kernels

    (code, nesterov, schedule), hyper = optimizer.kernel_args()
    cfg = np.array([get_loss(net.loss).code, batch_size, code, nesterov, schedule], dtype=np.int64)
    losses = np.zeros(epochs, dtype=np.float64)
    done = _kernels.train_epochs(net.theta, net.layout(), cfg, hyper, X, Y, orders, epochs,
                                 state.memory, state.steps, losses)
    return losses[:done].tolist()


class NumbaEngine(Engine):
    """``"numba"``: the compiled kernel; fastest per sample and for narrow layers."""

    name = "numba"
    rank = 1
    multi_epoch = True   # the kernel rolls a failing epoch back itself

    def __init__(self):
        self._warmed = set()   # argument types compiled (or loaded) for in this process

    def run_epochs(self, net, X, Y, orders, epochs, batch_size, optimizer, state):
        return run_numba(net, X, Y, orders, epochs, batch_size, optimizer, state)

    def warm_up(self, net, X, Y, optimizer):
        """Compile (or load from cache) the kernel for these types; return the seconds it took.

        Only the first call for a combination of types does any work (about 50 us
        otherwise, which short jobs would feel).
        """
        key = (net.dtype, *((type(a), a.dtype, a.flags.writeable, a.flags.c_contiguous,
                             a.flags.aligned) for a in (X, Y)))
        if key in self._warmed:
            return 0.0
        t0 = time.perf_counter()
        run_numba(net.copy(), X[:1], Y[:1], np.zeros((1, 1), dtype=np.int64), 0, 1, optimizer,
                  OptimizerState.zeros(net.n_params, net.dtype))
        self._warmed.add(key)
        return time.perf_counter() - t0

    def cost(self, net, n_samples, batch_size):
        """1: about the same time per multiply-add at any batch size."""
        return 1.0


ENGINE = NumbaEngine()
