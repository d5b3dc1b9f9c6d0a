"""The Numba engine: every sample and every update in one compiled kernel.

The kernel is built for the configuration (:func:`vecnet.engines._kernels.build_kernel`)
and imported, with Numba, when it first runs, not when :mod:`vecnet` is imported; so are
the many-model kernels of :meth:`NumbaEngine.run_many` (:mod:`vecnet.engines._many_train`).
"""

from __future__ import annotations

import time

import numpy as np

from ..optimizers import SGD, Adam, OptimizerState
from ._kernel_config import kernel_settings
from .base import Engine


def check_kernel_inputs(net, X, Y, orders, epochs, batch_size, state):
    """``ValueError`` unless every array the compiled kernel indexes fits the sizes it reads.

    The kernel takes ``n`` from ``X.shape[0]`` and the layer widths from the
    network's layout, and indexes ``X``, ``Y``, ``orders``, ``theta`` and the
    optimizer state with them without bounds checks. So this checks, from the
    arrays themselves: ``X`` (n, n_in) and ``Y`` (n, n_out) C-contiguous of the
    network's dtype; ``orders`` a C-contiguous int64 (k >= 1, n) array of
    indexes in [0, n); ``theta`` and the state of the network's size; ``epochs
    >= 0`` and ``batch_size >= 1`` as integers.
    """
    n_in, n_out = net.sizes[0], net.sizes[-1]
    n = X.shape[0] if isinstance(X, np.ndarray) and X.ndim == 2 else -1
    _check_arrays(((X, "X", (n, n_in), net.dtype), (Y, "Y", (n, n_out), net.dtype),
                   (net.theta, "theta", (net.n_params,), net.dtype),
                   (state.memory, "optimizer memory", (2, net.n_params), net.dtype),
                   (state.steps, "optimizer steps", (1,), np.int64)))
    if n < 1:
        raise ValueError(f"compiled engine: X has no rows (shape {X.shape})")
    if not (isinstance(orders, np.ndarray) and orders.dtype == np.int64 and orders.ndim == 2
            and orders.shape[0] >= 1 and orders.shape[1] == n and orders.flags.c_contiguous):
        got = f"{orders.dtype} {orders.shape}" if isinstance(orders, np.ndarray) else type(orders).__name__
        raise ValueError(f"compiled engine: orders must be a C-contiguous int64 array of shape "
                         f"(k, {n}), got {got}")
    _check_rest(orders, n, epochs, batch_size)


def _check_arrays(arrays):
    """``ValueError`` unless each ``(array, name, shape, dtype)`` is such an array, C-contiguous,
    writeable unless it is data the kernel only reads (``X``, ``Y``, ``active``)."""
    for a, name, shape, dtype in arrays:
        if not (isinstance(a, np.ndarray) and a.shape == shape and a.dtype == dtype
                and a.flags.c_contiguous and a.flags.writeable | (name in ("X", "Y", "active"))):
            got = (f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__)
            raise ValueError(f"compiled engine: {name} must be a C-contiguous {np.dtype(dtype).name} "
                             f"array of shape {shape}, got {got}")


def _check_rest(orders, n, epochs, batch_size):
    """``ValueError`` unless ``orders`` holds indexes in [0, n) and epochs, batch_size are integers >= 0, 1."""
    # one pass: a negative index read as uint64 is at least 2**63, so beyond n as well
    if orders.view(np.uint64).max() >= n:
        raise ValueError(f"compiled engine: orders holds indexes outside [0, {n}): "
                         f"[{orders.min()}, {orders.max()}]")
    for value, name, low in ((epochs, "epochs", 0), (batch_size, "batch_size", 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"compiled engine: {name} must be an integer >= {low}, got {value!r}")


def check_many_inputs(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active):
    """``ValueError`` unless the arguments of :meth:`NumbaEngine.run_many` fit the sizes the kernels read.

    As :func:`check_kernel_inputs`, for ``K`` models: ``thetas`` (K, n_params), ``memory``
    (K, 2, n_params), ``steps`` int64 (K, 1), ``active`` bool (K,), ``orders`` int64
    (1 or K, n_orders, n); ``K`` optimizers of one class whose settings differ only in
    ``lr`` and ``l2``.
    """
    n_in, n_out, p = net.sizes[0], net.sizes[-1], net.n_params
    n = X.shape[0] if isinstance(X, np.ndarray) and X.ndim == 2 else -1
    k = thetas.shape[0] if isinstance(thetas, np.ndarray) and thetas.ndim == 2 else -1
    _check_arrays(((X, "X", (n, n_in), net.dtype), (Y, "Y", (n, n_out), net.dtype),
                   (thetas, "thetas", (k, p), net.dtype), (memory, "optimizer memory", (k, 2, p), net.dtype),
                   (steps, "optimizer steps", (k, 1), np.int64), (active, "active", (k,), np.bool_)))
    if n < 1 or k < 1:
        raise ValueError(f"compiled engine: X and thetas need rows (shapes {X.shape}, {thetas.shape})")
    if not (isinstance(orders, np.ndarray) and orders.dtype == np.int64 and orders.ndim == 3
            and orders.shape[0] in (1, k) and orders.shape[1] >= 1 and orders.shape[2] == n
            and orders.flags.c_contiguous):
        got = f"{orders.dtype} {orders.shape}" if isinstance(orders, np.ndarray) else type(orders).__name__
        raise ValueError(f"compiled engine: orders must be a C-contiguous int64 array of shape "
                         f"(1 or {k}, n_orders, {n}), got {got}")
    _check_rest(orders, n, epochs, batch_size)
    if not isinstance(optimizers, (list, tuple)) or len(optimizers) != k:
        got = len(optimizers) if isinstance(optimizers, (list, tuple)) else type(optimizers).__name__
        raise ValueError(f"compiled engine: {k} models need a list of {k} optimizers, got {got}")
    first = optimizers[0]
    shared = {name: v for name, v in first.kernel_settings().items() if name not in ("lr", "l2")}
    for o in optimizers:
        if type(o) is not type(first) or {name: v for name, v in o.kernel_settings().items()
                                          if name not in ("lr", "l2")} != shared:
            raise ValueError(f"compiled engine: the models' optimizers may differ only in lr and l2; "
                             f"got {first!r} and {o!r}")


def run_numba(net, X, Y, orders, epochs, batch_size, optimizer, state):
    """Train with the compiled kernel of this configuration; see :mod:`vecnet.engines.base`.

    Every size the kernel indexes with is checked first (:func:`check_kernel_inputs`).
    """
    check_kernel_inputs(net, X, Y, orders, epochs, batch_size, state)
    from . import _kernels  # imports numba: only when the numba engine runs

    return _kernels.train(net, X, Y, orders, epochs, batch_size, optimizer, state)


class NumbaEngine(Engine):
    """``"numba"``: the compiled kernel; fastest per sample and for narrow layers."""

    name = "numba"
    rank = 1
    multi_epoch = True   # the kernel rolls a failing epoch back itself

    def __init__(self):
        self._warmed = set()   # argument types compiled (or loaded) for in this process

    def check(self, net, n_samples, batch_size, optimizer, shuffled, streamed):
        """Refuse an optimizer with its own ``step``: the kernel runs SGD's or Adam's update, compiled."""
        if type(optimizer).step not in (SGD.step, Adam.step):
            raise ValueError(f"engine 'numba' runs vecnet.SGD's and vecnet.Adam's updates in compiled code; "
                             f"{type(optimizer).__name__} has its own step: use engine='numpy'")

    def run_epochs(self, net, X, Y, orders, epochs, batch_size, optimizer, state):
        return run_numba(net, X, Y, orders, epochs, batch_size, optimizer, state)

    def run_many(self, net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active):
        """``K`` models side by side, each bit-identical to its solo run; see :meth:`Engine.run_many`.

        The inputs are checked first (:func:`check_many_inputs`); per-sample plain SGD of
        float64 networks with element-wise activations and mse or bce runs with the models
        side by side in SIMD registers, anything else with the models spread over the threads.
        """
        check_many_inputs(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active)
        from . import _many_train  # imports numba: only when the numba engine runs

        return _many_train.train_many(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory,
                                      steps, active)

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
