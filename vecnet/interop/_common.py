"""What the interop modules share: importing an optional extra, reading a model, writing a file atomically."""

from __future__ import annotations

import importlib
import os
import tempfile

from vecnet.estimators import MLPClassifier, MLPRegressor
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
        model._check_fitted()
        return model.net_
    raise TypeError(f"{what} takes a vecnet Network, MLPClassifier or MLPRegressor, "
                    f"got {type(model).__name__}")


def atomic_write(path, data):
    """Write the bytes ``data`` to ``path`` through a temporary file in its folder and ``os.replace``.

    A failure leaves any previous file at ``path`` untouched and no temporary file behind.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the directory {folder} does not exist")
    umask = os.umask(0)
    os.umask(umask)
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
