"""What a fit did: :class:`History`, and the :class:`DivergenceWarning` that ends a diverging one."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the loss or a weight stopped being finite, or ended with weights
    too large to use (:func:`warn_too_large`)."""


def warn_too_large(thetas, skip, stacklevel):
    """One :class:`DivergenceWarning` if training left weights beyond ``sqrt(finfo.max)`` in any of
    ``thetas`` (one per network, but those indexed in ``skip``, which were warned about already).

    The loss of an epoch is taken before each update, so a run that blows up in its last epoch
    ends with finite losses and weights, and weights this large: the same magnitude as the data
    :func:`vecnet.fit` refuses, and a forward pass through two such layers overflows.
    """
    if not len(thetas):
        return
    limit = math.sqrt(float(np.finfo(thetas[0].dtype).max))
    largest = np.abs(np.asarray(thetas)).max(axis=1)   # one architecture: one (K, n_params) array
    big = {i: float(v) for i, v in enumerate(largest) if v > limit and i not in skip}   # NaN is not
    if not big:
        return
    which = ("the weights" if len(thetas) == 1 else f"the weights of {len(big)} of {len(thetas)} networks "
             f"(indexes {sorted(big)[:10]}{' ...' if len(big) > 10 else ''})")
    warnings.warn(f"training blew up: {which} grew as large as {max(big.values()):.3g}, beyond {limit:.3g}, "
                  "where a forward pass overflows, though every epoch's loss (taken before its updates) was "
                  "finite. Try a smaller learning rate.", DivergenceWarning, stacklevel=stacklevel + 1)


@dataclass
class History:
    """What :func:`fit` did, epoch by epoch.

    Attributes
    ----------
    engine : str
        The engine that ran (``engine="auto"`` records its choice here).
    loss : list of float
        Training loss of each epoch: the mean of the per-sample losses taken
        before each update (without the L2 penalty).
    val_loss : list of float
        Loss on the validation data after each epoch (empty without validation).
    metric : str
        Name of the validation metric: ``"accuracy"`` for ``bce`` and ``cce``,
        ``"r2"`` for ``mse`` (see :mod:`vecnet.training.metrics`).
    val_metric : list of float
        That metric on the validation data after each epoch.
    epoch_time : list of float
        Seconds of training per epoch, validation excluded (epochs run in one
        compiled call share its time).
    compile_time : float
        Seconds spent compiling (or loading cached) kernels, kept out of
        ``epoch_time``.
    stopped : str or None
        ``None`` when every epoch ran; ``"diverged"``, ``"early_stopping"`` or
        ``"callback"`` otherwise.
    best_epoch : int or None
        With early stopping, the 0-based epoch of the best monitored value: the last
        one that beat the best before it by more than the rule's ``min_delta`` (as in
        Keras; with ``min_delta > 0``, a later epoch may be a little lower).
    restored : bool
        True when early stopping put the best epoch's weights back.
    streamed : bool
        True when the training data was read in row blocks.
    """

    engine: str
    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    metric: str = ""
    val_metric: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    compile_time: float = 0.0
    stopped: Optional[str] = None
    best_epoch: Optional[int] = None
    restored: bool = False
    streamed: bool = False

    @property
    def epochs(self):
        """Number of epochs completed."""
        return len(self.loss)
