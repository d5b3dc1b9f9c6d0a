"""The article's network, from :class:`vecnet.ReferenceNetwork` to :class:`vecnet.Network`.

The other direction, :func:`vecnet.to_reference`, lives in :mod:`vecnet.scalar_map`,
below :mod:`vecnet.network` (which this module imports).
"""

from __future__ import annotations

import numpy as np

from .network import Network
from .scalar_map import set_from_reference


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
    net = Network([2, 2, 1], activation="sigmoid", loss="mse", dtype=np.float64 if dtype is None else dtype)
    return set_from_reference(net, ref)
