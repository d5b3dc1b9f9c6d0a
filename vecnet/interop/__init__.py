"""Interoperability: weights to and from scikit-learn and PyTorch, and ONNX export.

- :func:`from_sklearn`, :func:`network_from_sklearn`, :func:`to_sklearn`
  (:mod:`vecnet.interop.sklearn`, needs ``pip install "vecnet[sklearn]"``);
- :func:`to_torch`, :func:`from_torch` (:mod:`vecnet.interop.torch`,
  ``pip install "vecnet[torch]"``);
- :func:`export_onnx` (:mod:`vecnet.interop.onnx`, ``pip install "vecnet[onnx]"``),
  also :func:`vecnet.export_onnx`.

Importing this package needs numpy only: each function imports its library
when called, and says which extra to install when it is missing.
"""

from .onnx import export_onnx
from .sklearn import from_sklearn, network_from_sklearn, to_sklearn
from .torch import from_torch, to_torch

__all__ = ["export_onnx", "from_sklearn", "from_torch", "network_from_sklearn", "to_sklearn", "to_torch"]
