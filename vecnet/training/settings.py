"""What a fit does: :class:`Settings`, the training loop's options once checked.

:meth:`Settings.check` turns :func:`vecnet.training.loop.fit`'s keyword
arguments into settings (or raises ``ValueError``); the estimators build theirs
from scikit-learn's parameters. :func:`clip_batch_size` fits a batch size to the data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..data.options import check_callbacks, check_fit_params, check_positive_int
from ..data.rows import DEFAULT_CHUNK_BYTES
from ..engines import engine_names
from ..optimizers import Optimizer, make_optimizer
from .callbacks import EarlyStopping


@dataclass
class Settings:
    """What :func:`train` does, checked: :func:`fit`'s options once resolved.

    ``batch_size`` None means full batch; ``stopping`` is an early-stopping
    rule (:class:`EarlyStopping` or any object with its ``monitor``,
    ``patience``, ``restore_best``, ``initial_best``, ``measure`` and ``judge``);
    ``fresh_optimizer`` drops the optimizer state the network carries.
    """

    epochs: int = 1000
    batch_size: Optional[int] = 1
    optimizer: Optimizer = None
    engine: str = "auto"
    shuffle: bool = False
    seed: Any = None
    stopping: Any = None
    callbacks: tuple = ()
    verbose: bool = False
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    fresh_optimizer: bool = False

    @classmethod
    def check(cls, epochs=1000, lr=None, batch_size=1, engine="auto", optimizer="sgd", shuffle=False,
              seed=None, early_stopping=None, callbacks=(), verbose=False,
              chunk_bytes=DEFAULT_CHUNK_BYTES, fresh_optimizer=False):
        """:func:`fit`'s options, checked, as settings."""
        epochs, batch_size = check_fit_params(epochs, batch_size, engine, engine_names(), shuffle,
                                              seed, verbose)
        chunk_bytes = check_positive_int(chunk_bytes, "chunk_bytes")
        optimizer = make_optimizer(optimizer, lr)
        if isinstance(early_stopping, (bool, np.bool_)):   # False as None: no early stopping
            early_stopping = EarlyStopping() if early_stopping else None
        if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
            raise ValueError(f"early_stopping must be a vecnet.EarlyStopping, True, False or None, "
                             f"got {early_stopping!r}")
        callbacks = check_callbacks(callbacks)
        return cls(epochs, batch_size, optimizer, engine, bool(shuffle), seed, early_stopping,
                   tuple(callbacks), verbose, chunk_bytes, fresh_optimizer)


def clip_batch_size(batch_size, n, stacklevel=2, warn=True):
    """``batch_size`` for ``n`` samples: ``None`` is ``n``; more than ``n`` gives ``n`` (and warns with ``warn``)."""
    if batch_size is None:
        return n
    if batch_size > n:
        if not warn:
            return n
        warnings.warn(f"batch_size={batch_size} is larger than the {n} samples; using {n}",
                      UserWarning, stacklevel=stacklevel)
        return n
    return batch_size
