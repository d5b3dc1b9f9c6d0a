"""Training: the loop that :func:`vecnet.fit` runs, its callbacks and its metrics.

- :mod:`vecnet.training.loop`: :func:`fit`, the loop itself.
- :mod:`vecnet.training.history`: :class:`History`, what a fit did.
- :mod:`vecnet.training.settings`: :class:`Settings`, a fit's options once checked.
- :mod:`vecnet.training.many`: :func:`fit_many`, many networks of one architecture at once.
- :mod:`vecnet.training.callbacks`: early stopping and progress reporting.
- :mod:`vecnet.training.metrics`: losses and validation metrics over row blocks.
"""

from .callbacks import EarlyStopping
from .history import DivergenceWarning, History
from .loop import fit
from .many import fit_many

__all__ = ["DivergenceWarning", "EarlyStopping", "History", "fit", "fit_many"]
