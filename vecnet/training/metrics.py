"""Evaluation: the loss and a metric of a network on data, block by block.

The metric follows the loss: ``accuracy`` for ``bce`` (each output thresholded
at 0.5 against targets thresholded at 0.5) and ``cce`` (arg-max of the outputs
against arg-max of the targets); ``r2``, the coefficient of determination
averaged over the outputs as scikit-learn's ``r2_score`` does, for ``mse``.
Each metric is a small accumulator, so a data set is evaluated in row blocks
without holding it whole.
"""

from __future__ import annotations

import math

import numpy as np

from ..losses import get_loss


class Accuracy:
    """Fraction of correct predictions; binary per output, or arg-max for one-hot targets."""

    name = "accuracy"

    def __init__(self, argmax):
        self.argmax = argmax
        self.correct = 0
        self.count = 0

    def update(self, Y, A):
        """Add a block of targets ``Y`` and outputs ``A``, both (n_samples, n_outputs)."""
        if self.argmax:
            self.correct += int((A.argmax(axis=1) == Y.argmax(axis=1)).sum())
            self.count += Y.shape[0]
        else:
            self.correct += int(((A > 0.5) == (Y > 0.5)).sum())
            self.count += Y.size

    def result(self):
        """The accuracy in [0, 1]."""
        return self.correct / self.count


class R2:
    """``1 - SS_res / SS_tot`` per output, averaged; merged across blocks with Chan's formulas."""

    name = "r2"

    def __init__(self):
        self.n = 0
        self.mean = self.m2 = self.ss_res = 0.0

    def update(self, Y, A, weight=None):
        """Add a block of targets ``Y`` and outputs ``A``, both (n_samples, n_outputs).

        ``weight``: optional non-negative sample weights, shape (n_samples,), as in
        scikit-learn's weighted ``r2_score`` (the weighted mean and sums of squares).
        """
        Y = Y.astype(np.float64)
        if weight is None:
            nb = Y.shape[0]
            mean_b = Y.mean(axis=0)
            m2_b = ((Y - mean_b) ** 2).sum(axis=0)
            res_b = ((Y - A) ** 2).sum(axis=0)
        else:
            w = np.asarray(weight, dtype=np.float64).reshape(-1, 1)
            nb = float(w.sum())
            mean_b = (w * Y).sum(axis=0) / nb
            m2_b = (w * (Y - mean_b) ** 2).sum(axis=0)
            res_b = (w * (Y - A) ** 2).sum(axis=0)
        total = self.n + nb
        delta = mean_b - self.mean
        self.m2 = self.m2 + m2_b + delta**2 * self.n * nb / total
        self.mean = self.mean + delta * nb / total
        self.n = total
        self.ss_res = self.ss_res + res_b

    def result(self):
        """The averaged R^2; an output with constant targets scores 1 if fitted exactly, else 0."""
        ss_tot = np.atleast_1d(self.m2)
        ss_res = np.atleast_1d(self.ss_res)
        safe = np.where(ss_tot > 0, ss_tot, 1.0)
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
        return float(r2.mean())


def metric_for(loss):
    """A fresh accumulator of the metric that goes with ``loss``."""
    if loss == "cce":
        return Accuracy(argmax=True)
    if loss == "bce":
        return Accuracy(argmax=False)
    return R2()


def metric_name(loss):
    """Name of the metric reported with ``loss``: ``"accuracy"`` or ``"r2"``."""
    return metric_for(loss).name


def score(loss, Y, A):
    """The metric of ``loss`` for targets ``Y`` and outputs ``A``, both (n_samples, n_outputs)."""
    metric = metric_for(loss)
    metric.update(Y, A)
    return metric.result()


def r2_score(Y, P, sample_weight=None):
    """R^2 of predictions ``P`` for targets ``Y`` (1-D or 2-D), averaged over outputs (see :class:`R2`).

    ``sample_weight``: optional non-negative weights, shape (n_samples,), not all zero.
    ``ValueError`` for empty, mismatched or non-finite input and for such weights.
    """
    Y, P = np.asarray(Y, dtype=np.float64), np.asarray(P, dtype=np.float64)
    if P.ndim not in (1, 2) or Y.ndim not in (1, 2) or P.shape[0] == 0 or Y.shape[0] != P.shape[0] \
            or Y.size != P.size:   # (n,) and (n, 1) are one shape
        raise ValueError(f"r2_score: Y and P must be 1-D or 2-D arrays of one shape with at least one row, "
                         f"got {Y.shape} and {P.shape}")
    if not (np.isfinite(Y).all() and np.isfinite(P).all()):
        raise ValueError("r2_score: Y and P must be finite (NaN or inf given)")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != P.shape[:1] or not np.isfinite(sample_weight).all() \
                or (sample_weight < 0).any() or not sample_weight.sum() > 0:
            raise ValueError(f"r2_score: sample_weight must be finite, non-negative, not all zero, of shape "
                             f"{P.shape[:1]}")
    P = P.reshape(P.shape[0], -1)
    metric = R2()
    metric.update(Y.reshape(P.shape), P, sample_weight)
    return metric.result()


def evaluate(net, rows, block_rows):
    """Loss and metric of ``net`` on :class:`vecnet.data.rows.Rows` ``rows``; ``(inf, nan)`` if its outputs overflow.

    The rows are checked data, so outputs that are not finite come from the weights
    (training that blew up): the training loop counts that as divergence.

    Returns
    -------
    loss : float
        The mean per-sample loss (without any L2 penalty), as in training.
    metric : float
        See :func:`metric_for`.
    """
    loss = get_loss(net.loss)
    metric = metric_for(net.loss)
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        for lo, hi in rows.blocks(block_rows):
            X, Y = rows.take(lo, hi)
            try:
                acts, Z = net.forward(X, keep=True)
            except ValueError:   # a layer overflowed (forward refuses outputs that are not finite)
                return math.inf, math.nan
            total += loss.value(Y, acts[-1], Z) * len(X)
            metric.update(Y, acts[-1])
        return total / len(rows), metric.result()
