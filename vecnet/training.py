"""The training loop: validate, choose an engine, run epochs, keep a history."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ._validation import check_fit_data, check_fit_params
from .engines import ENGINES, RUNNERS, EngineState, check_reference, choose_engine
from .optimizers import make_optimizer


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the loss or a weight stopped being finite."""


@dataclass
class History:
    """What :func:`fit` did, epoch by epoch.

    Attributes
    ----------
    engine : str
        The engine that ran (``engine="auto"`` records its choice here).
    loss : list of float
        Training loss of each epoch: the mean of the per-sample losses taken
        before each update.
    epoch_time : list of float
        Seconds per epoch (epochs run in one compiled call share its time).
    compile_time : float
        Seconds spent compiling (or loading cached) kernels, kept out of
        ``epoch_time``.
    stopped : str or None
        ``None`` when every epoch ran; ``"diverged"`` or ``"callback"`` otherwise.
    """

    engine: str
    loss: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    compile_time: float = 0.0
    stopped: Optional[str] = None

    @property
    def epochs(self):
        """Number of epochs completed."""
        return len(self.loss)


def _orders(n, count, rng):
    """``count`` sample orders: in order without ``rng``, else fresh permutations."""
    if rng is None:
        return np.arange(n, dtype=np.int64)[None, :]
    return np.stack([rng.permutation(n) for _ in range(count)]).astype(np.int64, copy=False)


def _warm_up(net, X, Y, batch_size, optimizer, state):
    """Compile (or load from cache) the kernel for these types; return the seconds it took."""
    t0 = time.perf_counter()
    from .engines import run_numba

    run_numba(net, X[:1], Y[:1], np.zeros((1, 1), dtype=np.int64), 0, 1, optimizer, state)
    return time.perf_counter() - t0


def fit(net, X, y, *, epochs=1000, lr=None, batch_size=1, engine="auto", optimizer="sgd",
        shuffle=False, seed=None, callbacks=(), verbose=False):
    """Train ``net`` in place on ``X`` and ``y``.

    Parameters
    ----------
    net : Network
    X : array-like, shape (n_samples, n_features)
    y : array-like, shape (n_samples,) or (n_samples, n_outputs)
    epochs : int, default 1000
    lr : float, optional
        Learning rate; defaults to the optimizer's (0.1 for SGD, as the original).
    batch_size : int or None, default 1
        ``1`` is per-sample SGD exactly as the original; ``None`` is full-batch
        gradient descent; any other ``k`` is mini-batch. A ``k`` larger than
        the data is clipped to it with a warning.
    engine : {"auto", "numpy", "numba", "reference"}, default "auto"
        ``"auto"`` chooses from the workload; see :func:`vecnet.engines.choose_engine`.
    optimizer : {"sgd", "adam"} or vecnet.optimizers.Optimizer, default "sgd"
    shuffle : bool, default False
        Visit the samples in a fresh random order each epoch, drawn from ``seed``.
    seed : int or numpy.random.Generator, optional
        Seed of the shuffling.
    callbacks : sequence of callables, optional
        Each is called as ``callback(epoch, logs)`` after every epoch, ``logs`` a
        dict with ``loss`` and ``time``; one returning True stops training.
    verbose : bool, default False
        Print one line per epoch.

    Returns
    -------
    History
    """
    epochs, batch_size = check_fit_params(epochs, batch_size, engine, ENGINES, shuffle, seed, verbose)
    optimizer = make_optimizer(optimizer, lr)
    X, Y = check_fit_data(net, X, y)
    n = X.shape[0]
    if batch_size is None:
        batch_size = n
    if batch_size > n:
        warnings.warn(f"batch_size={batch_size} is larger than the {n} samples; using {n}",
                      UserWarning, stacklevel=3)
        batch_size = n
    rng = np.random.default_rng(seed) if shuffle else None
    if engine == "auto":
        engine = choose_engine(net, n, batch_size)
    state = getattr(net, "_engine_state", None)
    if state is None or state.memory.shape[1] != net.n_params or state.memory.dtype != net.dtype:
        state = EngineState(net)
    net._engine_state = state
    if engine == "reference":
        check_reference(net, X, batch_size, optimizer, _orders(n, 1, rng))
    history = History(engine=engine)
    if engine == "numba":
        history.compile_time = _warm_up(net, X, Y, batch_size, optimizer, EngineState(net))
    per_epoch = bool(callbacks) or verbose
    chunk = 1 if per_epoch else epochs
    if rng is not None:
        chunk = max(1, min(chunk, (1 << 22) // n))
    run = RUNNERS[engine]
    done = 0
    while done < epochs:
        count = min(chunk, epochs - done)
        t0 = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
            # overflow is caught by the engines' finiteness checks (DivergenceWarning)
            losses = run(net, X, Y, _orders(n, count, rng), count, batch_size, optimizer, state)
        elapsed = time.perf_counter() - t0
        history.loss.extend(losses)
        history.epoch_time.extend([elapsed / max(len(losses), 1)] * len(losses))
        done += len(losses)
        if len(losses) < count:
            history.stopped = "diverged"
            warnings.warn(f"training diverged in epoch {done + 1}: the loss or a weight stopped "
                          f"being finite; the weights are those after epoch {done}. "
                          f"Try a smaller learning rate.", DivergenceWarning, stacklevel=3)
            break
        if verbose:
            print(f"epoch {done}/{epochs}  loss {history.loss[-1]:.6g}  "
                  f"{history.epoch_time[-1] * 1e3:.3g} ms")
        logs = {"loss": history.loss[-1], "time": history.epoch_time[-1]}
        if any([bool(cb(done - 1, logs)) for cb in callbacks]):
            history.stopped = "callback"
            break
    return history

