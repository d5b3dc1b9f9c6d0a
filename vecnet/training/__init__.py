"""Training: the loop that :func:`vecnet.fit` runs, its callbacks and its metrics.

- :mod:`vecnet.training.loop`: :func:`fit` and :class:`History`.
- :mod:`vecnet.training.many`: :func:`fit_many`, many networks of one architecture at once.
- :mod:`vecnet.training.callbacks`: early stopping and progress reporting.
- :mod:`vecnet.training.metrics`: losses and validation metrics over row blocks.
"""

from .callbacks import EarlyStopping
from .loop import DivergenceWarning, History, fit
from .many import fit_many

__all__ = ["DivergenceWarning", "EarlyStopping", "History", "fit", "fit_many"]
