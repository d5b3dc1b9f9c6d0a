"""Where each of the original's nine scalars lives in the matrices.

The article's network computes ``h1 = x0*w1 + x1*w2 + b1``,
``h2 = x0*w3 + x1*w4 + b2`` and ``o = h1f*w5 + h2f*w6 + b3``. With
``A_out = f(A_in @ W + b)`` and ``W`` of shape ``(n_in, n_out)``:

====  =============  ====  ===========
name  place          name  place
====  =============  ====  ===========
w1    ``W0[0, 0]``   w5    ``W1[0, 0]``
w2    ``W0[1, 0]``   w6    ``W1[1, 0]``
w3    ``W0[0, 1]``   b1    ``b0[0]``
w4    ``W0[1, 1]``   b2    ``b0[1]``
                     b3    ``b1[0]``
====  =============  ====  ===========
"""

from __future__ import annotations

from .network import Network
from .reference import PARAM_NAMES, ReferenceNetwork

SCALAR_MAP = {
    "w1": (0, "W", (0, 0)),
    "w2": (0, "W", (1, 0)),
    "w3": (0, "W", (0, 1)),
    "w4": (0, "W", (1, 1)),
    "w5": (1, "W", (0, 0)),
    "w6": (1, "W", (1, 0)),
    "b1": (0, "b", (0,)),
    "b2": (0, "b", (1,)),
    "b3": (1, "b", (0,)),
}
"""``name -> (layer, "W" or "b", index)`` for the original's nine parameters."""


def _is_article_network(net):
    return (net.sizes == [2, 2, 1] and net.activation == "sigmoid"
            and net.output_activation == "sigmoid" and net.loss == "mse")


def locate(net, name):
    """The array and index holding the original's scalar ``name`` in ``net``'s parameters."""
    layer, kind, index = SCALAR_MAP[name]
    W, b = net.params[layer]
    return (W if kind == "W" else b), index


def from_reference(ref, dtype=None):
    """A 2-2-1 sigmoid/mse :class:`Network` holding ``ref``'s nine parameters.

    Parameters
    ----------
    ref : ReferenceNetwork
    dtype : numpy dtype, optional
        Defaults to float64.

    Returns
    -------
    Network
    """
    import numpy as np

    net = Network([2, 2, 1], activation="sigmoid", loss="mse", dtype=dtype or np.float64)
    for name, value in ref.params().items():
        arr, index = locate(net, name)
        arr[index] = value
    return net


def to_reference(net):
    """A :class:`ReferenceNetwork` with the nine parameters of the 2-2-1 ``net``."""
    if not _is_article_network(net):
        raise ValueError(f"only the article's network ([2, 2, 1], sigmoid, mse) maps to the "
                         f"nine scalars; got {net!r}")
    params = {}
    for name in PARAM_NAMES:
        arr, index = locate(net, name)
        params[name] = float(arr[index])
    return ReferenceNetwork(params)
