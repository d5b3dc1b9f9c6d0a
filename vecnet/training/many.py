"""Many models at once: :func:`fit_many` trains K networks of one architecture together.

Each model comes out bit for bit as ``net.fit(...)`` of that model alone with
its own settings would leave it, on the same engine: the engines' ``run_many``
(:meth:`vecnet.engines.base.Engine.run_many`) keep every model's arithmetic
as in its solo run, and this loop draws each model's sample orders from its
own seed, epoch by epoch, as :func:`vecnet.training.loop.train` does. An
engine without ``run_many``, and data streamed from disk, fall back to one
solo :func:`~vecnet.training.loop.train` per model (the same result, one model
after the other).

A model that diverges stops alone (its weights and optimizer state are those
after its last completed epoch), and so does one whose early stopping fires;
the others go on. A ``KeyboardInterrupt`` leaves every model at the end of an
epoch it completed, its history up to that epoch.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np

from ..data.options import check_bool, check_seed
from ..data.rows import DEFAULT_CHUNK_BYTES, as_rows
from ..data.validation import is_network
from ..engines import resolve
from ..optimizers import starting_state
from ..weights import check_writable
from .callbacks import Progress, _Stopper
from .history import DivergenceWarning, History, warn_too_large
from .loop import (
    _drop_last_epoch,
    _end_of_epoch,
    _target_loss,
    _validation_rows,
    attach_histories,
    train,
)
from .metrics import metric_name
from .settings import Settings, clip_batch_size

_ARCHITECTURE = ("sizes", "activation", "output_activation", "loss", "dtype")
ORDER_BUDGET = 1 << 22
"""Most sample indexes (models x epochs x samples) of shuffled orders drawn at once."""
CALL_SECONDS = 0.2
"""About how long one engine call runs (between two chances to notice Ctrl-C)."""


def _per_model(value, k, name):
    """``value`` as a list of ``k``: a sequence must have ``k`` items; anything else (a 0-d array
    too, which ``fit`` then judges as it would for one network) is repeated."""
    if isinstance(value, (list, tuple)) or isinstance(value, np.ndarray) and value.ndim > 0:
        if len(value) != k:
            raise ValueError(f"{name} has {len(value)} values for {k} networks; pass one per network "
                             f"or a single value for all")
        return list(value.tolist() if isinstance(value, np.ndarray) else value)
    return [value] * k


def _hashable(value):
    """True when ``value`` can be a dict key."""
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _check_nets(nets):
    """``nets`` as a list of distinct networks of one architecture, else ``ValueError``."""
    if is_network(nets) or not hasattr(nets, "__iter__"):
        raise ValueError("nets must be a sequence of vecnet.Network (use net.fit for one network)")
    nets = list(nets)
    if not nets:
        raise ValueError("nets is empty: pass at least one vecnet.Network")
    for i, net in enumerate(nets):
        if not is_network(net):
            raise ValueError(f"nets[{i}] must be a vecnet.Network, got {type(net).__name__}")
    if len({id(net) for net in nets}) != len(nets):
        raise ValueError("nets holds the same network more than once; pass copies (net.copy())")
    # distinct networks whose weights are one buffer (copy.copy shares theta): each would overwrite
    # the other's; sorted by address, any two that overlap include two neighbours that do
    spans = sorted((net.theta.__array_interface__["data"][0], net.theta.nbytes, i) for i, net in enumerate(nets))
    for (start, size, i), (start_next, _, j) in zip(spans, spans[1:]):
        if start_next < start + size:
            raise ValueError(f"nets[{min(i, j)}] and nets[{max(i, j)}] share their weights (copy.copy "
                             f"shares theta); pass independent copies (net.copy())")
    first = nets[0]
    for i, net in enumerate(nets[1:], 1):
        for attr in _ARCHITECTURE:
            if getattr(net, attr) != getattr(first, attr):
                raise ValueError(f"nets must share one architecture: nets[{i}].{attr} is "
                                 f"{getattr(net, attr)!r}, nets[0].{attr} is {getattr(first, attr)!r}")
    return nets


def fit_many(nets, X, y, *, epochs=1000, lr=None, l2=None, batch_size=1, engine="auto", optimizer="sgd",
             shuffle=False, seed=None, validation_data=None, early_stopping=None, verbose=False,
             chunk_bytes=DEFAULT_CHUNK_BYTES, warn_diverged=True):
    """Train the networks ``nets`` in place, together, each as :func:`vecnet.fit` would alone.

    The options are :func:`vecnet.fit`'s, but for ``callbacks`` and
    ``validation_fraction``, which it does not take (give ``validation_data``).

    Parameters
    ----------
    nets : sequence of K Network
        Distinct networks of one architecture (sizes, activations, loss, dtype);
        their weights may differ (e.g. ``Network(sizes, seed=k)``).
    X : array-like, shape (n_samples, n_features)
        Shared by every network; the kinds :func:`vecnet.fit` takes.
    y : array-like, shape (n_samples,) or (n_samples, n_outputs)
    epochs : int, default 1000
    lr : float or sequence of K floats, optional
        Learning rate, one for all or one per network; defaults to the optimizer's.
    l2 : float or sequence of K floats, optional
        L2 penalty (see :mod:`vecnet.optimizers`), one for all or one per network;
        defaults to the optimizer's (0).
    batch_size : int or None, default 1
    engine : {"auto", "numpy", "numba", "reference"}, default "auto"
        ``"auto"`` makes the choice :func:`vecnet.fit` makes for one of the networks.
    optimizer : {"sgd", "adam"} or vecnet.optimizers.Optimizer, default "sgd"
        Shared; ``lr`` and ``l2`` replace its own per network.
    shuffle : bool, default False
    seed : int or sequence of K ints or Generators, optional
        Seed of each network's shuffling: one int for all (every network then
        visits the samples in the same orders) or one per network.
    validation_data : (X_val, y_val), optional
        Evaluated for every network after each of its epochs.
    early_stopping : EarlyStopping, bool or None, optional
        One rule, applied to each network on its own (it stops alone).
    verbose : bool, default False
        One progress report for all networks, per epoch (one per network when they
        train one after the other: data streamed from disk).
    chunk_bytes : int, default 64 MB
        As in :func:`vecnet.fit`; data that would be streamed is trained one
        network after the other.
    warn_diverged : bool, default True
        One ``DivergenceWarning`` naming the networks that diverged; ``False`` for
        none (a sweep that expects some to: ``histories[k].stopped == "diverged"``
        says which), without changing the process's warnings filters.

    Returns
    -------
    list of K History
        ``histories[k]`` is what ``nets[k].fit(...)`` would have returned.

    Examples
    --------
    >>> import vecnet
    >>> X, y = vecnet.article_data()
    >>> nets = [vecnet.Network([2, 2, 1], seed=k) for k in range(8)]
    >>> histories = vecnet.fit_many(nets, X, y, epochs=100, lr=[0.1, 0.5] * 4)
    >>> len(histories), histories[0].epochs
    (8, 100)
    """
    nets = _check_nets(nets)
    warn_diverged = check_bool(warn_diverged, "warn_diverged")
    k = len(nets)
    lrs, l2s, seeds = _per_model(lr, k, "lr"), _per_model(l2, k, "l2"), _per_model(seed, k, "seed")
    for s in seeds:
        check_seed(s)
    stateful = [s for s in seeds if isinstance(s, (np.random.Generator, np.random.BitGenerator))]
    if shuffle and len({id(s) for s in stateful}) < len(stateful):   # each network would draw from it in turn
        raise ValueError("one Generator (or BitGenerator) cannot drive the shuffling of several networks; "
                         "pass an int (the same orders for all) or one seed per network")
    # checked once; each network's copy differs in its seed and its optimizer's lr and l2
    # (the optimizer and the early-stopping rule are frozen: the copies may share them)
    shared = Settings.check(epochs, None, batch_size, engine, optimizer, shuffle, seeds[0], early_stopping, (),
                            verbose, chunk_bytes)
    settings = [shared] + [dataclasses.replace(shared, seed=s) for s in seeds[1:]]
    made = {}   # one optimizer per distinct (lr, l2): a sweep has a few
    for s, lr_i, l2_i in zip(settings, lrs, l2s):
        changes = {name: value for name, value in (("lr", lr_i), ("l2", l2_i)) if value is not None}
        if changes:
            key = (type(lr_i), lr_i, type(l2_i), l2_i)   # the types: True and 1 are equal keys
            known = _hashable(key)
            optimizer = made.get(key) if known else None
            if optimizer is None:
                optimizer = dataclasses.replace(shared.optimizer, **changes)   # checks them again
                if known:
                    made[key] = optimizer
            s.optimizer = optimizer
    if validation_data is not None and not (isinstance(validation_data, (tuple, list))
                                            and len(validation_data) == 2):
        raise ValueError(f"validation_data must be a pair (X_val, y_val), got {type(validation_data).__name__}")
    net = nets[0]
    rows = as_rows(X, y, net.sizes[0], net.sizes[-1], net.dtype, chunk_bytes, target_loss=_target_loss(net))
    rows, val = _validation_rows(rows, net, validation_data, None, chunk_bytes)
    return train_many(nets, rows, settings, val, stacklevel=3, warn_diverged=warn_diverged)


def train_many(nets, rows, settings, val=None, stacklevel=2, warn_diverged=True):
    """Train ``nets`` in place on checked rows, network ``k`` with ``settings[k]``; see :func:`fit_many`.

    The settings may differ in ``optimizer`` (the ``lr`` and ``l2`` of one
    class and otherwise equal settings), ``seed`` and ``stopping``; the rest
    is taken from ``settings[0]``; ``warn_diverged`` as in :func:`fit_many`.

    Returns
    -------
    list of History
    """
    first, net, k = settings[0], nets[0], len(nets)
    for net_ in nets:   # before any network trains
        check_writable(net_.theta)
    n = len(rows)
    batch_size = clip_batch_size(first.batch_size, n, stacklevel + 1)
    data = rows.whole(first.chunk_bytes)
    engine = resolve(first.engine, net, n, batch_size, first.optimizer, shuffled=first.shuffle,
                     streamed=data is None)
    checked = {id(first.optimizer)}
    for s in settings[1:]:   # the others' lr and l2 too (the reference engine refuses l2), before any training
        if id(s.optimizer) not in checked:
            checked.add(id(s.optimizer))
            engine.check(net, n, batch_size, s.optimizer, first.shuffle, data is None)
    stopping = [s.stopping for s in settings]
    if any(r is not None and r.monitor.startswith("val_") for r in stopping) and val is None:
        raise ValueError("early stopping on a validation loss needs validation_data; or use "
                         "EarlyStopping(monitor='loss')")
    if data is None or first.callbacks:
        return _one_by_one(nets, rows, settings, val, stacklevel + 1, warn_diverged)
    P = net.n_params
    thetas = np.stack([n_.theta for n_ in nets])
    states = [starting_state(None if first.fresh_optimizer else n_.optimizer_state, s.optimizer, P, net.dtype)
              for n_, s in zip(nets, settings)]
    memory = np.stack([s.memory for s in states])
    steps = np.stack([s.steps for s in states])
    optimizers = [s.optimizer for s in settings]
    active = np.ones(k, dtype=bool)
    t0 = time.perf_counter()
    warm = engine.run_many(net, thetas, *data, np.arange(n, dtype=np.int64)[None, None, :], 0, batch_size,
                           optimizers, memory, steps, active)
    if warm is None:   # this engine trains one network at a time
        return _one_by_one(nets, rows, settings, val, stacklevel + 1, warn_diverged)
    compile_time = time.perf_counter() - t0
    histories = [History(engine=engine.name, metric=metric_name(net.loss), compile_time=compile_time)
                 for _ in nets]
    stoppers = [None if r is None else _Stopper(r, n_) for r, n_ in zip(stopping, nets)]
    run = _Run(nets, engine, data, val, batch_size, first, optimizers, thetas, memory, steps, active,
               histories, stoppers, [np.random.default_rng(s.seed) if first.shuffle else None
                                     for s in settings])
    progress = Progress(first.epochs) if first.verbose else None
    try:
        run.epochs(progress, stacklevel + 1, warn_diverged)
    except BaseException as exc:   # every network at the end of the epochs its history holds
        attach_histories(exc, histories)
        raise
    finally:
        if progress is not None:
            progress.close()
        run.write_back(states)
    for history, stopper in zip(histories, stoppers):
        if stopper is not None:
            history.best_epoch = stopper.best_epoch
            history.restored = stopper.restore()
    return histories


def _one_by_one(nets, rows, settings, val, stacklevel, warn_diverged=True):
    """One solo :func:`~vecnet.training.loop.train` per network; one warning for those that diverged."""
    histories = []
    try:   # no DivergenceWarning each (one for all, below), no second batch_size warning (train_many's)
        for net, s in zip(nets, settings):
            histories.append(train(net, rows, s, val, stacklevel + 1, quiet=True))
    except BaseException as exc:   # those before, the one stopped, and none of those after
        stopped = getattr(exc, "vecnet_histories", None) or []
        rest = [History(engine=(histories + stopped)[0].engine if histories or stopped else "",
                        metric=metric_name(nets[0].loss)) for _ in nets[len(histories) + len(stopped):]]
        attach_histories(exc, histories + stopped + rest, replace=True)
        raise
    if warn_diverged:
        _warn_diverged([net.theta for net in nets], [i for i, h in enumerate(histories) if h.stopped == "diverged"],
                       stacklevel + 1)
    return histories


def _warn_diverged(thetas, diverged, stacklevel):
    """One :class:`DivergenceWarning` naming the networks (indexes) that diverged, if any, and one naming
    those that ended with weights too large to use (:func:`warn_too_large`); ``thetas``: every network's
    weights after the roll-back."""
    warn_too_large(thetas, set(diverged), stacklevel + 1)
    if diverged:
        # weights not finite after the roll-back were so before training (see vecnet.training.loop)
        broken = [i for i in diverged if not np.isfinite(thetas[i]).all()]
        hint = ("Try a smaller learning rate." if not broken else
                f"The weights of {len(broken)} of them (indexes {sorted(map(int, broken))[:10]}"
                f"{' ...' if len(broken) > 10 else ''}) were not finite when training started: give "
                f"them finite weights first; for the others, try a smaller learning rate.")
        warnings.warn(f"training diverged for {len(diverged)} of {len(thetas)} networks (indexes "
                      f"{sorted(map(int, diverged))[:10]}{' ...' if len(diverged) > 10 else ''}): the loss "
                      "or a weight stopped being finite; each keeps the weights of its last "
                      f"completed epoch. {hint}", DivergenceWarning, stacklevel=stacklevel + 1)


@dataclasses.dataclass
class _Run:
    """The state of one :func:`train_many`: the stacked weights and what each model has done."""

    nets: list
    engine: object
    data: tuple
    val: object
    batch_size: int
    settings: Settings
    optimizers: list
    thetas: np.ndarray
    memory: np.ndarray
    steps: np.ndarray
    active: np.ndarray
    histories: list
    stoppers: list
    rngs: list

    def orders(self, count):
        """Sample orders for the next ``count`` epochs: shared, or drawn from each active model's seed."""
        n = self.data[0].shape[0]
        if self.rngs[0] is None:
            return np.arange(n, dtype=np.int64)[None, None, :]
        orders = np.empty((len(self.nets), count, n), dtype=np.int64)
        orders[...] = np.arange(n)
        for i in np.flatnonzero(self.active):
            for e in range(count):
                orders[i, e] = self.rngs[i].permutation(n)
        return orders

    def epochs(self, progress, stacklevel, warn_diverged=True):
        """Run every model's epochs, as many per engine call as the per-epoch work allows."""
        s, k = self.settings, len(self.nets)
        n = self.data[0].shape[0]
        per_epoch = self.val is not None or any(st is not None for st in self.stoppers)
        limit = 1 if per_epoch else s.epochs
        if s.shuffle:
            limit = max(1, min(limit, ORDER_BUDGET // (n * k)))
        count, done = 1, 0
        diverged = []
        while done < s.epochs and self.active.any():
            count = min(count, limit, s.epochs - done)
            checkpoint = self.thetas.copy(), self.memory.copy(), self.steps.copy()
            orders = self.orders(count)
            t0 = time.perf_counter()
            try:
                with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
                    losses, completed = self.engine.run_many(
                        self.nets[0], self.thetas, *self.data, orders, count, self.batch_size,
                        self.optimizers, self.memory, self.steps, self.active.copy())
            except BaseException:   # Ctrl-C, an error: back to the last completed epoch
                self.thetas[...], self.memory[...], self.steps[...] = checkpoint
                raise
            elapsed = time.perf_counter() - t0
            for i in np.flatnonzero(self.active):
                got = int(completed[i])
                self.histories[i].loss.extend(losses[i, :got].tolist())
                self.histories[i].epoch_time.extend([elapsed / count] * got)
                if got < count:
                    self.active[i] = False
                    self.histories[i].stopped = "diverged"
                    diverged.append(i)
            done += count
            if per_epoch:
                diverged += self._end_of_epoch(checkpoint)
            if progress is not None:
                for e in range(done - count, done):
                    progress.update(e, {"training": int(self.active.sum()), "time": elapsed / count})
            count = max(1, int(count * CALL_SECONDS / max(elapsed, 1e-6)))
        if warn_diverged:
            _warn_diverged(self.thetas, diverged, stacklevel)

    def _end_of_epoch(self, checkpoint):
        """Validation and early stopping of each model still training, as the solo loop does it.

        Returns the models whose validation outputs overflowed: put back to ``checkpoint``
        (the epoch's start) and stopped as diverged, as the solo loop does.
        """
        diverged = []
        for i in np.flatnonzero(self.active):
            net, history = self.nets[i], self.histories[i]
            net.theta[...] = self.thetas[i]
            reason = _end_of_epoch(net, history, self.val, self.settings.chunk_bytes, None,
                                   self.stoppers[i], ())
            if reason == "diverged":
                self.thetas[i], self.memory[i], self.steps[i] = (c[i] for c in checkpoint)
                _drop_last_epoch(history)
                diverged.append(i)
            if reason is not None:
                history.stopped = reason
                self.active[i] = False
        return diverged

    def write_back(self, states):
        """Each network's weights and optimizer state from the stacks."""
        for i, (net, state) in enumerate(zip(self.nets, states)):
            net.theta[...] = self.thetas[i]
            state.memory[...], state.steps[...] = self.memory[i], self.steps[i]
            net.optimizer_state = state
