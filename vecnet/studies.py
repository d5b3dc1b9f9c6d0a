"""The article's question at scale: how often does its 2-2-1 network converge?

:func:`seeds_study` trains the article's network (2-2-1, sigmoid, mean squared
error, per-sample SGD on :func:`~vecnet.article_data`) from many initial weight
draws with :func:`~vecnet.fit_many` and keeps, per draw, only what the summary
needs: the epoch its training loss first fell under each threshold, and its
final loss. Draw ``k`` starts from ``Network([2, 2, 1], seed=draw_seed(seed, k))``
(nine N(0, 1) draws, the original's initialisation), so any single draw can
be re-run alone, and the first ``n`` draws of a larger study are those of a
study of ``n`` draws.

The training loss of an epoch is :class:`~vecnet.History`'s: the mean of the
per-sample losses taken before each update.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from .data.examples import article_data
from .data.options import check_epochs, check_positive_int, check_real
from .network import Network
from .training import fit_many

SIZES = (2, 2, 1)
THRESHOLDS = (0.01, 0.001)
PERCENTILES = (10, 25, 50, 75, 90)
BINS_PER_DECADE = (2, 5, 10, 20, 50, 100, 200, 500, 1000)
MIN_BINS = 8
GROUP = 1000
"""Networks trained per :func:`~vecnet.fit_many` call (their histories are reduced before the next)."""


def draw_seed(seed, k):
    """The seed of draw ``k`` of a study seeded ``seed``: ``SeedSequence(seed).spawn(...)[k]``."""
    return np.random.SeedSequence(seed, spawn_key=(k,))


def percentiles(values, qs=PERCENTILES):
    """``{"p10": ..., ...}``: each the smallest of ``values`` with at least q % of them at or below it."""
    values = np.asarray(values)
    if values.size == 0:
        return None
    got = np.percentile(values, qs, method="inverted_cdf")
    return {f"p{q}": v.item() for q, v in zip(qs, got)}


def log_histogram(values, per_decade=None):
    """Counts of positive ``values`` in log-spaced bins, ``per_decade`` to a power of ten.

    Parameters
    ----------
    values : array-like of float, shape (n,)
        Finite and > 0.
    per_decade : int, optional
        Bins per power of ten; by default the first of :data:`BINS_PER_DECADE`
        that gives at least :data:`MIN_BINS` bins (a narrow spread gets finer bins).

    Returns
    -------
    edges : ndarray, shape (n_bins + 1,)
        ``10 ** (j / per_decade)`` for consecutive integers ``j``, from the
        smallest value's bin to the largest's; a bin holds ``lo <= v < hi``.
    counts : ndarray, shape (n_bins,), int64
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return np.array([]), np.zeros(0, dtype=np.int64)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError("log_histogram takes finite values > 0")
    logs = np.log10(values)
    for d in (BINS_PER_DECADE if per_decade is None else (check_positive_int(per_decade, "per_decade"),)):
        lo, hi = math.floor(logs.min() * d), math.floor(logs.max() * d) + 1
        if hi - lo >= MIN_BINS:
            break
    edges = 10.0 ** (np.arange(lo, hi + 1) / d)
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, hi - lo - 1)
    return edges, np.bincount(index, minlength=hi - lo).astype(np.int64)


@dataclasses.dataclass
class SeedsStudy:
    """What :func:`seeds_study` found, draw by draw (arrays of ``draws`` items).

    Attributes
    ----------
    draws, epochs, seed : int
    lr : float
    engine : str
        The engine that trained the networks.
    thresholds : tuple of float
    first : ndarray, shape (n_thresholds, draws), int64
        ``first[i, k]``: the number of epochs after which draw ``k``'s training
        loss was first below ``thresholds[i]`` (1 for the first epoch), or 0
        when it never was within ``epochs``.
    final : ndarray, shape (draws,), float64
        Training loss of each draw's last epoch (its last completed one if it diverged).
    diverged : ndarray, shape (draws,), bool
    curves : ndarray, shape (n_curves, epochs), float64
        The loss curves of the first draws (NaN after a divergence), for plots.
    seconds : float
        Wall time of the training, kernel compile (or cache load) included.
    compile_time : float
        Of which compiling or loading kernels.
    """

    draws: int
    epochs: int
    seed: int
    lr: float
    engine: str
    thresholds: tuple
    first: np.ndarray
    final: np.ndarray
    diverged: np.ndarray
    curves: np.ndarray
    seconds: float = 0.0
    compile_time: float = 0.0

    def reached(self, i):
        """Epochs to reach ``thresholds[i]`` of the draws that did, shape (n_reached,)."""
        return self.first[i][self.first[i] > 0]

    def share_by_epoch(self, i):
        """Share of all draws whose loss has been below ``thresholds[i]`` by each epoch, shape (epochs,)."""
        counts = np.bincount(self.reached(i), minlength=self.epochs + 1)[1:]
        return np.cumsum(counts) / self.draws

    def summary(self):
        """The figures as a JSON-ready dict (see ``vecnet seeds --json``)."""
        ok = self.final[~self.diverged]
        edges, counts = log_histogram(ok)
        return {
            "network": "2-2-1 sigmoid, mse, per-sample SGD, N(0, 1) initial weights (init='normal')",
            "data": "vecnet.article_data() (the article's 4 samples)",
            "draws": self.draws, "epochs": self.epochs, "seed": self.seed, "lr": self.lr,
            "engine": self.engine,
            "draw_seed": f"numpy.random.SeedSequence({self.seed}, spawn_key=(k,)) for draw k",
            "thresholds": [
                {"threshold": t, "reached": int(self.reached(i).size),
                 "share": self.reached(i).size / self.draws,
                 "epochs_to_reach": percentiles(self.reached(i))}
                for i, t in enumerate(self.thresholds)],
            "final_loss": {"percentiles": percentiles(ok),
                           "min": ok.min().item() if ok.size else None,
                           "max": ok.max().item() if ok.size else None,
                           "histogram": {"edges": edges.tolist(), "counts": counts.tolist()}},
            "diverged": int(self.diverged.sum()),
            "seconds": round(self.seconds, 3),
            "compile_seconds": round(self.compile_time, 3),
        }


def _check_thresholds(thresholds):
    if isinstance(thresholds, np.ndarray) and thresholds.ndim == 0:
        thresholds = thresholds[()]   # its one number
    if isinstance(thresholds, (str, bytes)) or not hasattr(thresholds, "__iter__"):
        thresholds = [thresholds]
    thresholds = [check_real(t, "each threshold", low=0, low_open=True) for t in thresholds]
    if not thresholds:
        raise ValueError("thresholds is empty: pass at least one loss threshold such as 0.01")
    return tuple(sorted(set(thresholds), reverse=True))


def _results(draws, epochs, n_thresholds, n_curves):
    """The study's result arrays (first crossings, final losses, divergence, curves), or
    ``ValueError`` when they cannot be allocated (instead of a ``MemoryError`` after a check or two)."""
    nbytes = (8 * n_thresholds + 8 + 1) * draws + 8 * n_curves * epochs
    if nbytes <= np.iinfo(np.intp).max:
        try:
            return (np.zeros((n_thresholds, draws), dtype=np.int64), np.empty(draws),
                    np.zeros(draws, dtype=bool), np.full((n_curves, epochs), np.nan))
        except MemoryError:
            pass
    raise ValueError(f"draws={draws:,} and epochs={epochs:,} need {nbytes / 1e9:.3g} GB for the results alone, "
                     f"more memory than this process can have")


def seeds_study(draws=10_000, epochs=1000, seed=0, lr=0.1, thresholds=THRESHOLDS, engine="auto",
                group=GROUP, n_curves=20, progress=None):
    """Train the article's 2-2-1 network from ``draws`` initial weight draws and record how each went.

    Parameters
    ----------
    draws : int, default 10000
        Number of initial weight draws; draw ``k`` uses :func:`draw_seed` ``(seed, k)``.
    epochs : int, default 1000
    seed : int, default 0
        Seed of the whole study (any integer >= 0).
    lr : float, default 0.1
        The article's learning rate.
    thresholds : sequence of float, default (0.01, 0.001)
        Loss levels whose first crossing is recorded (kept in decreasing order).
    engine : {"auto", "numpy", "numba", "reference"}, default "auto"
    group : int, default 1000
        Networks per :func:`~vecnet.fit_many` call; each group's histories are
        reduced to arrays before the next group is trained.
    n_curves : int, default 20
        Loss curves kept (of the first draws) for plots.
    progress : callable, optional
        ``progress(done, draws)`` after each group.

    Returns
    -------
    SeedsStudy
    """
    draws = check_positive_int(draws, "draws")
    epochs = check_epochs(epochs)   # as fit_many would, but before the results are allocated
    group = check_positive_int(group, "group")
    n_curves = check_positive_int(n_curves, "n_curves", minimum=0)
    lr = check_real(lr, "lr", low=0, low_open=True)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    seed = int(seed)
    thresholds = _check_thresholds(thresholds)
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable progress(done, draws) or None, got {progress!r}")
    X, y = article_data()
    # a group's losses (and its histories' lists) fit in about 1 GB however long the training
    group = max(1, min(group, 2**27 // epochs))
    first, final, diverged, curves = _results(draws, epochs, len(thresholds), min(n_curves, draws))
    used, compile_time = None, 0.0
    t0 = time.perf_counter()
    for start in range(0, draws, group):
        stop = min(start + group, draws)
        nets = [Network(list(SIZES), seed=draw_seed(seed, k)) for k in range(start, stop)]
        histories = fit_many(nets, X, y, epochs=epochs, lr=lr, batch_size=1, engine=engine,
                             warn_diverged=False)   # counted in the study
        losses = np.full((stop - start, epochs), np.nan)
        for j, h in enumerate(histories):
            losses[j, :len(h.loss)] = h.loss
            final[start + j] = h.loss[-1] if h.loss else np.nan
            diverged[start + j] = h.stopped == "diverged"
        compile_time += max(h.compile_time for h in histories)   # one warm-up per call, shared when trained together
        used = histories[0].engine
        for i, t in enumerate(thresholds):
            below = losses < t   # NaN compares False
            first[i, start:stop] = np.where(below.any(axis=1), below.argmax(axis=1) + 1, 0)
        keep = min(curves.shape[0], stop) - start
        if keep > 0:
            curves[start:start + keep] = losses[:keep]
        if progress is not None:
            progress(stop, draws)
    return SeedsStudy(draws, epochs, seed, lr, used, thresholds, first, final, diverged, curves,
                      time.perf_counter() - t0, compile_time)
