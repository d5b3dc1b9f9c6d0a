"""The training loop: validate, choose an engine, run epochs, keep a history.

:func:`fit` checks its options into a :class:`Settings`, the data into
:class:`vecnet.data.rows.Rows`, then hands both to :func:`train`, which the
estimators also call with rows and settings they prepared (so nothing is
checked twice). :func:`train` picks the engine from the registry
(:mod:`vecnet.engines`) and runs the epochs.

Without per-epoch work (no validation, early stopping, callbacks or
``verbose``) and with data in memory, an engine that can (``multi_epoch``)
runs all epochs in one call: for the Numba engine, one compiled call for the
whole training. Otherwise the loop calls the engine once per epoch and does
the rest in Python. Data that would need a conversion copy larger than
``chunk_bytes`` is streamed: each epoch calls the engine once per row block
(see :mod:`vecnet.data.rows`).

Divergence: an engine stops at the first epoch in which the loss or a weight
stops being finite and reports only the epochs it completed. When a call
completed none, the loop puts back the weights and optimizer state it had
before the call, which are then those of the failing epoch's start; an engine
running several epochs per call puts them back itself. Either way training ends with
a :class:`DivergenceWarning` and the weights of the last completed epoch.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..data.options import check_validation_fraction
from ..data.rows import DEFAULT_CHUNK_BYTES, as_rows
from ..data.validation import is_network
from ..engines import resolve
from ..losses import get_loss
from ..optimizers import starting_state
from ..weights import check_writable
from .callbacks import Progress, _Stopper
from .history import DivergenceWarning, History, warn_too_large
from .metrics import evaluate, metric_name
from .settings import Settings, clip_batch_size


def _orders(n, count, rng):
    """``count`` sample orders: in order without ``rng``, else fresh permutations."""
    if rng is None:
        return np.arange(n, dtype=np.int64)[None, :]
    return np.stack([rng.permutation(n) for _ in range(count)]).astype(np.int64, copy=False)


def _checkpoint(net, state):
    """Copies of the weights and the optimizer state, to put back after an interruption."""
    return net.theta.copy(), state.memory.copy(), state.steps.copy()


def _restore(net, state, checkpoint):
    """Put back what :func:`_checkpoint` copied."""
    net.theta[...], state.memory[...], state.steps[...] = checkpoint


def _streamed_epoch(engine, net, rows, block_rows, batch_size, optimizer, state, rng):
    """One epoch over ``rows`` block by block, shuffled with ``rng`` (if not None).

    Numpy arrays (a memmap included) are shuffled as in memory: one permutation of all
    the rows, gathered block by block, so that the batches are those of the same data in
    memory. Lazy arrays are read in contiguous blocks, visited in a random order, and the
    rows within each block permuted.

    Returns ``[loss]``, or ``[]`` when training diverged (the loop rolls back).
    """
    blocks = rows.blocks(block_rows, batch_size)   # lazy (a list only for dask's chunks)
    gathered = rng is not None and rows.random_access
    order = rng.permutation(len(rows)) if gathered else None
    visit = rng.permutation(len(blocks)) if rng is not None and not gathered else range(len(blocks))
    total = 0.0
    for i in visit:
        lo, hi = blocks[i]
        X, Y = rows.gather(order[lo:hi]) if gathered else rows.take(lo, hi)
        losses = engine.run_epochs(net, X, Y, _orders(hi - lo, 1, None if gathered else rng), 1, batch_size,
                                   optimizer, state)
        if not losses:
            return []
        total += losses[0] * (hi - lo)
    if not np.isfinite(total / len(rows)):  # diverged, as the engines decide for a whole epoch
        return []
    return [total / len(rows)]


def _end_of_epoch(net, history, val, chunk_bytes, progress, stopper, callbacks):
    """Validate, report, and ask early stopping and the callbacks; the reason to stop, or None."""
    epoch = history.epochs - 1
    logs = {"loss": history.loss[-1]}
    if val is not None:
        val_loss, val_metric = evaluate(net, val, val.block_rows(chunk_bytes))
        if not np.isfinite(val_loss):   # the epoch's weights blow up on the validation rows
            return "diverged"
        history.val_loss.append(val_loss)
        history.val_metric.append(val_metric)
        logs.update({"val_loss": val_loss, f"val_{history.metric}": val_metric})
    logs["time"] = history.epoch_time[-1]
    if progress is not None:
        progress.update(epoch, logs)
    early = stopper is not None and stopper.update(epoch, logs)
    asked = any([_stops(cb(epoch, dict(logs))) for cb in callbacks])   # every callback sees every epoch
    return "early_stopping" if early else "callback" if asked else None


def _drop_last_epoch(history):
    """Forget the last epoch's training loss and time: it diverged on the validation data."""
    del history.loss[-1:], history.epoch_time[-1:]


def _stops(value):
    """Whether a callback's return value asks to stop: ``True`` (a Python or NumPy bool) only."""
    return isinstance(value, (bool, np.bool_)) and bool(value)


def _target_loss(net):
    """The loss's name when it needs targets in [0, 1], else None."""
    return net.loss if get_loss(net.loss).requires_output is not None else None


def _validation_rows(rows, net, validation_data, validation_fraction, chunk_bytes):
    """Split off or build the validation rows; ``(train_rows, val_rows or None)``."""
    if validation_data is not None:
        val = as_rows(*validation_data, net.sizes[0], net.sizes[-1], net.dtype, chunk_bytes,
                      target_loss=_target_loss(net), names=("validation X", "validation y"),
                      magnitude=False)   # evaluated only, as predict's input: not trained on
        return rows, val
    if validation_fraction is None:
        return rows, None
    n_val = int(round(len(rows) * validation_fraction))
    if not 1 <= n_val < len(rows):
        raise ValueError(f"validation_fraction={validation_fraction} of {len(rows)} samples "
                         f"leaves {n_val} for validation and {len(rows) - n_val} for training; "
                         f"each needs at least 1")
    return rows.split(n_val)


def fit(net, X, y, *, epochs=1000, lr=None, batch_size=1, engine="auto", optimizer="sgd",
        shuffle=False, seed=None, validation_data=None, validation_fraction=None,
        early_stopping=None, callbacks=(), verbose=False, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Train ``net`` in place on ``X`` and ``y``.

    Parameters
    ----------
    net : Network
    X : array-like, numpy.memmap or lazy array, shape (n_samples, n_features)
        Lists, integer arrays, float32 or float64, any memory order, read-only
        arrays; a ``numpy.memmap``, a :class:`vecnet.data.lazy.NpyRows`
        (:func:`vecnet.open_npy`) or a dask array for data larger than memory.
        Nothing is copied whole: see ``chunk_bytes``. A dask array is always
        streamed, one chunk computed at a time, in blocks that follow its row
        chunks (see :mod:`vecnet.data.rows`); without shuffling it trains to
        the same weights as the same data in memory.
    y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        Same kinds as ``X``; 1-D means one output.
    epochs : int, default 1000
    lr : float, optional
        Learning rate; defaults to the optimizer's (0.1 for SGD, as the original).
    batch_size : int or None, default 1
        ``1`` is per-sample SGD exactly as the original; ``None`` is full-batch
        gradient descent; any other ``k`` is mini-batch. A ``k`` larger than
        the data is clipped to it with a warning.
    engine : {"auto", "numpy", "numba", "reference"}, default "auto"
        ``"auto"`` chooses from the workload; see :func:`vecnet.engines.choose_engine`.
    optimizer : {"sgd", "adam"}, vecnet.SGD or vecnet.Adam, default "sgd"
    shuffle : bool, default False
        Visit the samples in a fresh random order each epoch, drawn from
        ``seed``: the same seed gives the same orders, hence the same weights.
        A numpy array streamed (a conversion larger than ``chunk_bytes``) is
        shuffled as in memory; a lazy array in two levels: the order of the row
        blocks, then the rows within each block.
    seed : int >= 0, numpy.random.Generator, SeedSequence or BitGenerator, optional
        Seed of the shuffling.
    validation_data : (X_val, y_val), optional
        Evaluated after every epoch into ``History.val_loss`` and ``val_metric``.
    validation_fraction : float in (0, 1), optional
        Hold out this fraction of the samples, taken from the *end* of ``X``
        and ``y`` (not at random: it is a view, so it works on streamed data;
        shuffle ordered data beforehand), as validation data.
    early_stopping : EarlyStopping, bool or None, optional
        Stop when the monitored loss stops improving; ``True`` means
        ``EarlyStopping()`` (monitoring ``val_loss``), ``False`` as ``None``: none.
    callbacks : sequence of callables, optional
        Each is called as ``callback(epoch, logs)`` after every epoch, ``logs`` a
        dict with ``loss``, ``time`` and, with validation, ``val_loss`` and
        ``val_<metric>``; one returning True stops training (any other return value,
        a number or an array included, is ignored).
        A ``KeyboardInterrupt`` (or any other exception), raised in a callback or
        while an epoch runs, propagates with the network holding the weights (and
        optimizer state) of the last completed epoch: usable, saveable, and ready
        to train on.
    verbose : bool, default False
        Report every epoch: a tqdm progress bar when tqdm is installed
        (``pip install "vecnet[progress]"``), else one printed line per epoch.
    chunk_bytes : int, default 64 MB
        Largest conversion copy of the data made at once. Data already of the
        network's dtype and C-contiguous is used in place; data needing a
        larger conversion, and lazy arrays, are streamed in row blocks of about
        this size (a multiple of ``batch_size``).

    Returns
    -------
    History
    """
    if not is_network(net):
        raise TypeError(f"net must be a vecnet.Network, got {type(net).__name__}")
    settings = Settings.check(epochs, lr, batch_size, engine, optimizer, shuffle, seed, early_stopping,
                              callbacks, verbose, chunk_bytes)
    validation_fraction = check_validation_fraction(validation_fraction)
    if validation_data is not None and validation_fraction is not None:
        raise ValueError("pass validation_data or validation_fraction, not both")
    if validation_data is not None and not (isinstance(validation_data, (tuple, list))
                                            and len(validation_data) == 2):
        raise ValueError(f"validation_data must be a pair (X_val, y_val), got {type(validation_data).__name__}")
    rows = as_rows(X, y, net.sizes[0], net.sizes[-1], net.dtype, chunk_bytes,
                   target_loss=_target_loss(net))
    rows, val = _validation_rows(rows, net, validation_data, validation_fraction, chunk_bytes)
    return train(net, rows, settings, val, stacklevel=4)   # the caller of Network.fit


def attach_histories(exc, histories, replace=False):
    """Record on ``exc``, as ``exc.vecnet_histories``, the histories of the epochs completed before it
    (unless ``replace``, a first record stays: the innermost knows best)."""
    if replace or getattr(exc, "vecnet_histories", None) is None:
        try:
            exc.vecnet_histories = histories
        except AttributeError:   # an exception class with __slots__
            pass


def train(net, rows, settings, val=None, stacklevel=2, quiet=False):
    """Train ``net`` in place on checked rows; see :func:`fit`, which calls it.

    Parameters
    ----------
    net : Network
    rows : vecnet.data.rows.Rows
        Training data, already checked (:func:`vecnet.data.rows.as_rows`).
    settings : Settings
    val : vecnet.data.rows.Rows, optional
        Validation data, already checked.
    stacklevel : int
        Of the warnings, as ``warnings.warn`` would count it in ``train``.
    quiet : bool, default False
        No ``DivergenceWarning`` and no warning about a ``batch_size`` larger than
        the data: the caller gives them once for all its networks (a warnings filter
        would change the filters of the whole process, other threads' included).

    Returns
    -------
    History
    """
    check_writable(net.theta)
    stopping = settings.stopping
    if stopping is not None and stopping.monitor.startswith("val_") and val is None:
        raise ValueError(f"early stopping on {stopping.monitor!r} needs validation_data or "
                         "validation_fraction; or use EarlyStopping(monitor='loss')")
    n = len(rows)
    batch_size = clip_batch_size(settings.batch_size, n, stacklevel + 1, warn=not quiet)
    data = rows.whole(settings.chunk_bytes)
    streamed = data is None
    rng = np.random.default_rng(settings.seed) if settings.shuffle else None
    engine = resolve(settings.engine, net, n, batch_size, settings.optimizer,
                     shuffled=rng is not None, streamed=streamed)
    state = None if settings.fresh_optimizer else net.optimizer_state  # continue when it matches
    state = net.optimizer_state = starting_state(state, settings.optimizer, net.n_params, net.dtype)
    history = History(engine=engine.name, metric=metric_name(net.loss), streamed=streamed)
    history.compile_time = engine.warm_up(net, *(rows.take(0, 1) if streamed else data),
                                          settings.optimizer, batch_size)
    stopper = None if stopping is None else _Stopper(stopping, net)
    progress = Progress(settings.epochs) if settings.verbose else None
    try:
        _run_epochs(net, engine, rows, data, val, batch_size, settings, state, rng, history,
                    stopper, progress, stacklevel + 1, not quiet)
    except BaseException as exc:   # Ctrl-C, a callback's error: the weights are those of the epochs
        attach_histories(exc, [history])   # in the history, which a caller keeping count reads
        raise
    finally:
        if progress is not None:
            progress.close()
    if stopper is not None:
        history.best_epoch = stopper.best_epoch
        history.restored = stopper.restore()
    if not quiet:
        warn_too_large([net.theta], [0] if history.stopped == "diverged" else [], stacklevel)
    return history


def _run_epochs(net, engine, rows, data, val, batch_size, settings, state, rng, history, stopper,
                progress, stacklevel, warn=True):
    """The epochs of :func:`train`, as many per engine call as the per-epoch work allows."""
    epochs, optimizer, callbacks = settings.epochs, settings.optimizer, settings.callbacks
    n, streamed = len(rows), data is None
    per_epoch = bool(callbacks) or progress is not None or val is not None or stopper is not None
    chunk = 1 if per_epoch or streamed or not engine.multi_epoch else epochs
    if rng is not None and not streamed:
        chunk = max(1, min(chunk, (1 << 22) // n))
    block_rows = rows.block_rows(settings.chunk_bytes, batch_size, warn=streamed, stacklevel=stacklevel)
    done = 0
    while done < epochs:
        count = min(chunk, epochs - done)
        t0 = time.perf_counter()
        checkpoint = _checkpoint(net, state)
        try:
            # overflow is caught by the engines' finiteness checks (DivergenceWarning)
            with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
                if streamed:
                    losses = _streamed_epoch(engine, net, rows, block_rows, batch_size, optimizer,
                                             state, rng)
                else:
                    losses = engine.run_epochs(net, *data, _orders(n, count, rng), count, batch_size,
                                               optimizer, state)
        except BaseException as exc:   # Ctrl-C, an optimizer's own step failing, ...
            # the weights of the last completed epoch: the engine's own, when it kept
            # them in a call over whole epochs (a streamed call covers one block)
            if streamed or not getattr(exc, "vecnet_epoch_kept", False):
                _restore(net, state, checkpoint)
            raise
        elapsed = time.perf_counter() - t0
        history.loss.extend(losses)
        history.epoch_time.extend([elapsed / max(len(losses), 1)] * len(losses))
        done += len(losses)
        if len(losses) < count:
            if not losses:   # the one roll-back rule (see the module docstring)
                _restore(net, state, checkpoint)
            history.stopped = "diverged"
            # weights that are not finite after the roll-back were so before training
            # (each completed epoch ends with finite weights): no learning rate helps then
            hint = ("Try a smaller learning rate." if np.isfinite(net.theta).all() else
                    "The weights were not finite when training started: give the network "
                    "finite weights first (net.set_params or net.theta = ...).")
            if warn:
                warnings.warn(f"training diverged in epoch {done + 1}: the loss or a weight "
                              f"stopped being finite; the weights are those after epoch {done}. "
                              f"{hint}", DivergenceWarning, stacklevel=stacklevel)
            return
        if not per_epoch:
            continue
        reason = _end_of_epoch(net, history, val, settings.chunk_bytes, progress, stopper, callbacks)
        if reason == "diverged":   # on the validation rows: the epoch does not count, as above
            _restore(net, state, checkpoint)
            _drop_last_epoch(history)
            history.stopped = "diverged"
            if warn:
                warnings.warn(f"training diverged in epoch {done}: the outputs on the validation data "
                              f"stopped being finite; the weights are those after epoch {done - 1}. "
                              f"Try a smaller learning rate.", DivergenceWarning, stacklevel=stacklevel)
            return
        if reason is not None:
            history.stopped = reason
            return
