"""Per-epoch hooks of :func:`vecnet.fit`: early stopping and progress reporting.

A user callback is any callable ``callback(epoch, logs)``; ``epoch`` counts
from 0 and ``logs`` is a dict with ``loss``, ``time`` and, with validation
data, ``val_loss`` and ``val_<metric>``. Returning ``True`` stops training; any other
return value is ignored.

Early stopping is a *rule* (:class:`EarlyStopping`, or the estimators'
scikit-learn rule) run by one :class:`_Stopper`: a rule has ``monitor``,
``patience`` and ``restore_best`` and says, for each epoch's value, whether it
is a new best (whose weights are kept) and whether it counts as an improvement
(which resets the wait); training stops after ``patience`` epochs in a row
without improvement.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..data.options import check_bool, check_choice, check_real

MONITORS = ("val_loss", "loss")


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when the monitored loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    patience : int, default 10
        Epochs without improvement to wait before stopping.
    min_delta : float, default 0.0
        An epoch improves only if its loss is below the best so far minus
        ``min_delta``; only such an epoch becomes the best one (whose weights
        ``restore_best`` puts back), as in Keras.
    restore_best : bool, default True
        Put back the weights of the best epoch when training ends (stopped
        early or not): the weights at that epoch's end.
    monitor : {"val_loss", "loss"}, default "val_loss"
        ``"val_loss"`` needs ``validation_data`` or ``validation_fraction``; it is
        measured after the epoch, on the weights kept. ``"loss"`` is the epoch's
        training loss, the mean of the per-sample losses taken before each update
        (as Keras's ``loss``): the weights kept for it are those at the end of that
        epoch, whose own loss can differ (much, when training is unstable).
    """

    patience: int = 10
    min_delta: float = 0.0
    restore_best: bool = True
    monitor: str = "val_loss"

    def __post_init__(self):
        if isinstance(self.patience, bool) or not isinstance(self.patience, (int, np.integer)) \
                or self.patience < 1:
            raise ValueError(f"patience must be an integer >= 1, got {self.patience!r}")
        object.__setattr__(self, "min_delta", check_real(self.min_delta, "min_delta", low=0))
        object.__setattr__(self, "restore_best", check_bool(self.restore_best, "restore_best"))
        check_choice(self.monitor, "monitor", MONITORS)

    def initial_best(self):
        """The best value before the first epoch."""
        return np.inf

    def measure(self, logs):
        """The monitored value of an epoch's logs."""
        return logs[self.monitor]

    def judge(self, value, best):
        """``(new_best, improved)``: both when ``value`` is below ``best - min_delta``."""
        improved = value < best - self.min_delta
        return improved, improved


class _Stopper:
    """The running state of one stopping rule (e.g. :class:`EarlyStopping`) during one fit."""

    def __init__(self, rule, net):
        self.rule = rule
        self.net = net
        self.best = rule.initial_best()
        self.best_epoch = None
        # a finite best to beat is that of the weights the fit starts from (an estimator's earlier fit,
        # see vecnet.estimators): kept, so that a fit in which no epoch beats them ends with them
        self.best_theta = net.theta.copy() if rule.restore_best and np.isfinite(self.best) else None
        self.wait = 0

    def update(self, epoch, logs):
        """Record epoch ``epoch``; True when training should stop."""
        value = self.rule.measure(logs)
        new_best, improved = self.rule.judge(value, self.best)
        if new_best:
            self.best, self.best_epoch = value, epoch
            if self.rule.restore_best:
                self.best_theta = self.net.theta.copy()
        self.wait = 0 if improved else self.wait + 1
        return self.wait >= self.rule.patience

    def restore(self):
        """Put the best weights back if asked to; True if it did."""
        if self.best_theta is None:
            return False
        self.net.theta[...] = self.best_theta
        return True


def _format(epoch, epochs, logs):
    """One line: ``epoch 3/10  loss 0.123  val_loss 0.134  val_accuracy 0.96  12.3 ms``."""
    parts = [f"epoch {epoch + 1}/{epochs}"]
    parts += [f"{k} {v:.6g}" for k, v in logs.items() if k != "time"]
    parts.append(f"{logs['time'] * 1e3:.3g} ms")
    return "  ".join(parts)


class Progress:
    """Per-epoch report: a tqdm bar when tqdm is installed, else one printed line per epoch.

    Parameters
    ----------
    epochs : int
        Epochs to come (the bar's total).
    stream : file-like, optional
        Where the report goes: by default the bar to ``sys.stderr``, the lines to ``sys.stdout``.
    """

    def __init__(self, epochs, stream=None):
        self.epochs = epochs
        self.stream = sys.stdout if stream is None else stream
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=epochs, unit="epoch", file=sys.stderr if stream is None else stream)

    def update(self, epoch, logs):
        """Report epoch ``epoch`` (0-based)."""
        if self.bar is None:
            print(_format(epoch, self.epochs, logs), file=self.stream)
        else:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k != "time"},
                                 refresh=False)
            self.bar.update(1)

    def close(self):
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()
