"""The Numba engine: every sample and every update in one compiled kernel.

The kernel is built for the configuration (:func:`vecnet.engines._kernels.build_kernel`)
and imported, with Numba, when it first runs, not when :mod:`vecnet` is imported.
"""

from __future__ import annotations

import time

import numpy as np

from ..optimizers import OptimizerState
from ._kernel_config import kernel_settings
from .base import Engine


def run_numba(net, X, Y, orders, epochs, batch_size, optimizer, state):
    """Train with the compiled kernel of this configuration; see :mod:`vecnet.engines.base`."""
    from . import _kernels  # imports numba: only when the numba engine runs

    return _kernels.train(net, X, Y, orders, epochs, batch_size, optimizer, state)


class NumbaEngine(Engine):
    """``"numba"``: the compiled kernel; fastest per sample and for narrow layers."""

    name = "numba"
    rank = 1
    multi_epoch = True   # the kernel rolls a failing epoch back itself

    def __init__(self):
        self._warmed = set()   # argument types compiled (or loaded) for in this process

    def run_epochs(self, net, X, Y, orders, epochs, batch_size, optimizer, state):
        return run_numba(net, X, Y, orders, epochs, batch_size, optimizer, state)

    def warm_up(self, net, X, Y, optimizer, batch_size):
        """Compile (or load from cache) the kernel for this configuration and these types.

        Returns the seconds it took. Only the first call for a configuration and
        combination of types does any work (about 50 us otherwise, which short
        jobs would feel).
        """
        key = (kernel_settings(net, optimizer, batch_size)[0],
               *((type(a), a.dtype, a.flags.writeable, a.flags.c_contiguous, a.flags.aligned)
                 for a in (X, Y)))
        if key in self._warmed:
            return 0.0
        t0 = time.perf_counter()
        run_numba(net.copy(), X[:1], Y[:1], np.zeros((1, 1), dtype=np.int64), 0, batch_size, optimizer,
                  OptimizerState.zeros(net.n_params, net.dtype))
        self._warmed.add(key)
        return time.perf_counter() - t0

    def cost(self, net, n_samples, batch_size):
        """1: about the same time per multiply-add at any batch size."""
        return 1.0


ENGINE = NumbaEngine()
