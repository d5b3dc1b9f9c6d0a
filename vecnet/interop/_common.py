"""What the interop modules share: importing an optional extra, reading a model, writing a file atomically."""

from __future__ import annotations

import importlib

from vecnet.estimators import MLPClassifier, MLPRegressor
from vecnet.io import atomic_write as write_atomically
from vecnet.network import Network


def require(module, extra, what):
    """Import ``module`` (a dotted name), or raise ``ImportError`` naming the extra to install.

    Parameters
    ----------
    module : str
        e.g. ``"sklearn.neural_network"``.
    extra : str
        The vecnet extra that installs it, e.g. ``"sklearn"``.
    what : str
        The function that needs it, for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise ImportError(f"{what} needs {top}, which is not installed ({exc}); "
                          f'install it with: pip install "vecnet[{extra}]"') from None


def network_of(model, what):
    """The :class:`~vecnet.Network` of a network or a fitted vecnet estimator (``TypeError`` otherwise)."""
    if isinstance(model, Network):
        return model
    if isinstance(model, (MLPClassifier, MLPRegressor)):
        return model.single_network(what)
    raise TypeError(f"{what} takes a vecnet Network, MLPClassifier or MLPRegressor, "
                    f"got {type(model).__name__}")


def atomic_write(path, data):
    """Write the bytes ``data`` to ``path`` atomically (see :func:`vecnet.io.atomic_write`)."""
    write_atomically(path, lambda f: f.write(data))
