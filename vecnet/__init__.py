"""vecnet: small feedforward networks, exact down to each weight and fast.

- :mod:`vecnet.reference`: the article's 2-2-1 network, per scalar, bit for bit.
- :class:`vecnet.Network`: the same algorithm on weight matrices, any sizes.
- engines ``"numpy"`` (batch matrix products), ``"numba"`` (compiled SGD
  kernels) and ``"reference"``, chosen by :func:`vecnet.fit`'s ``engine``.
"""

from .activations import ACTIVATIONS
from .article import from_reference
from .data import NpyRows, article_data, open_npy, synthetic
from .estimators import ConvergenceWarning, DataConversionWarning, MLPClassifier, MLPRegressor, NotFittedError
from .interop import export_onnx
from .io import ModelFormatError, load, save
from .losses import LOSSES
from .network import Network
from .optimizers import SGD, Adam
from .reference import ReferenceNetwork
from .scalar_map import SCALAR_MAP, to_reference
from .training import DivergenceWarning, EarlyStopping, History, fit, fit_many

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "LOSSES", "SCALAR_MAP", "Adam", "ConvergenceWarning", "DataConversionWarning",
    "DivergenceWarning", "EarlyStopping", "History", "MLPClassifier", "MLPRegressor",
    "ModelFormatError", "Network", "NotFittedError", "NpyRows", "ReferenceNetwork", "SGD",
    "article_data", "export_onnx", "fit", "fit_many", "from_reference", "load", "open_npy", "save",
    "synthetic", "to_reference",
]
