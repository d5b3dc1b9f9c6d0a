"""Data: checks at the public boundary, row blocks for training, and example data sets.

- :mod:`vecnet.data.validation`: the arrays users pass, checked and converted.
- :mod:`vecnet.data.options`: the options users pass (hyperparameters, seeds, sizes, file names), checked.
- :mod:`vecnet.data.rows`: training data as row blocks (in memory, memory-mapped, ``.npy``).
- :mod:`vecnet.data.lazy`: lazy row sources: a ``.npy`` file read on demand, a dask array.
- :mod:`vecnet.data.examples`: the article's four samples and a synthetic generator.
"""

from .examples import article_data, synthetic
from .lazy import NpyRows, open_npy

__all__ = ["NpyRows", "article_data", "open_npy", "synthetic"]
