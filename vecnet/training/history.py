"""What a fit did: :class:`History`, and the :class:`DivergenceWarning` that ends a diverging one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


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
