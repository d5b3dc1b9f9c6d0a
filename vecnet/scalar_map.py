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

The functions here read and write a network's ``params`` and never build one:
:func:`vecnet.article.from_reference` does.
"""

from __future__ import annotations

from .data.validation import is_network
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


def is_article_network(net):
    """True for the article's network: ``[2, 2, 1]``, sigmoid, mse; ``TypeError`` for what is no network."""
    if not is_network(net):
        raise TypeError(f"net must be a vecnet.Network, got {type(net).__name__}")
    return (net.sizes == [2, 2, 1] and net.activation == "sigmoid"
            and net.output_activation == "sigmoid" and net.loss == "mse")


def locate(net, name):
    """The array and index holding the original's scalar ``name`` in ``net``'s parameters."""
    layer, kind, index = SCALAR_MAP[name]
    W, b = net.params[layer]
    return (W if kind == "W" else b), index


def set_from_reference(net, ref):
    """Copy ``ref``'s nine parameters into the 2-2-1 ``net``'s matrices, in place; return ``net``."""
    if not isinstance(ref, ReferenceNetwork):
        raise TypeError(f"ref must be a vecnet.reference.ReferenceNetwork, got {type(ref).__name__}")
    for name, value in ref.params().items():
        arr, index = locate(net, name)
        arr[index] = value
    return net


def to_reference(net):
    """A :class:`ReferenceNetwork` with the nine parameters of the 2-2-1 ``net``."""
    if not is_article_network(net):
        raise ValueError(f"only the article's network ([2, 2, 1], sigmoid, mse) maps to the "
                         f"nine scalars; got {net!r}")
    params = {}
    for name in PARAM_NAMES:
        arr, index = locate(net, name)
        params[name] = float(arr[index])
    return ReferenceNetwork(params)
