"""Saving and loading models: one ``.npz`` file, no pickle.

The file is a NumPy ``.npz`` archive holding

- ``header``: a uint8 array, the UTF-8 bytes of a JSON object with the magic
  string ``"vecnet-model"``, ``format_version``, the ``kind`` of object
  (``"Network"``, ``"MLPClassifier"`` or ``"MLPRegressor"``), the architecture
  (``sizes``, ``activation``, ``output_activation``, ``loss``, ``dtype``), for an
  estimator its parameters and plain fitted attributes, and optional user
  ``metadata``;
- ``theta``: the flat parameter vector :attr:`vecnet.Network.theta`;
- ``classes``: the classifier's ``classes_`` (numbers or strings);
- ``optimizer_memory`` and ``optimizer_steps``, when the model has been trained:
  the optimizer's state (momentum, or Adam's moments, and the update count), so
  that training resumed after loading takes the steps it would have taken.

It is read with ``numpy.load(..., allow_pickle=False)``: loading never runs code
from the file. Every field is checked before a model is built, and anything
wrong (not an archive, truncated, wrong magic, a newer format, shapes that do not
match the architecture, non-finite weights) raises :class:`ModelFormatError`.

Writing is atomic: the archive goes to a temporary file in the target's
directory, is flushed to disk, then renamed over the target with ``os.replace``;
a failure at any point removes the temporary file and leaves any previous file
untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from .activations import ACTIVATIONS
from .losses import LOSSES
from .network import Network

MAGIC = "vecnet-model"
FORMAT_VERSION = 1
"""The version this vecnet writes; files of a higher version are refused."""


class ModelFormatError(ValueError):
    """The file is not a vecnet model this version can read (a ``ValueError``)."""


def _estimator_classes():
    from .estimators import MLPClassifier, MLPRegressor

    return {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def _plain(value):
    """``value`` as JSON-ready Python: tuples to lists, numpy scalars to numbers, non-finite to None."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        return None
    if isinstance(value, np.dtype) or isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot save a value of type {type(value).__name__} ({value!r}) in a model header")


def _network_spec(net):
    return {"sizes": list(net.sizes), "activation": net.activation,
            "output_activation": net.output_activation, "loss": net.loss, "dtype": net.dtype.name}


def save(obj, path, *, metadata=None):
    """Save a :class:`~vecnet.Network` or a fitted estimator to ``path``, atomically.

    Parameters
    ----------
    obj : Network, MLPClassifier or MLPRegressor
    path : str or os.PathLike
        The file to write (conventionally ending in ``.npz``; the name is used as given).
    metadata : dict, optional
        JSON-ready information stored with the model; :func:`read_header` returns it.

    Raises
    ------
    ValueError
        The weights are not finite, or ``obj`` cannot be saved.
    vecnet.NotFittedError
        ``obj`` is an estimator that was never fitted.
    """
    kind = type(obj).__name__
    header = {"magic": MAGIC, "format_version": FORMAT_VERSION, "kind": kind}
    arrays = {}
    if isinstance(obj, Network):
        net = obj
    elif kind in _estimator_classes() and isinstance(obj, _estimator_classes()[kind]):
        from .estimators import FITTED_STATE

        obj._check_fitted()
        net = obj.net_
        header["params"] = _plain(obj.get_params())
        header["fitted"] = _plain({name: getattr(obj, name) for name in FITTED_STATE})
        if kind == "MLPClassifier":
            classes = np.asarray(obj.classes_)
            if classes.dtype.kind == "O":
                with contextlib.suppress(ValueError, TypeError):  # mixed labels: refused below
                    classes = np.asarray(classes.tolist())
            if classes.dtype.kind not in "biufU":
                raise ValueError(f"classes_ of dtype {classes.dtype} cannot be saved without pickle; "
                                 "use numbers or strings as labels")
            arrays["classes"] = classes
    else:
        raise TypeError(f"save takes a Network, MLPClassifier or MLPRegressor, got {kind}")
    if not np.isfinite(net.theta).all():
        raise ValueError("the network's weights contain NaN or inf; refusing to save them")
    header["network"] = _network_spec(net)
    if metadata is not None:
        header["metadata"] = _plain(metadata)
    text = json.dumps(header, allow_nan=False, sort_keys=True)
    arrays["header"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    arrays["theta"] = net.theta
    state = getattr(net, "_engine_state", None)
    if state is not None and state.memory.shape == (2, net.n_params) and np.isfinite(state.memory).all():
        arrays["optimizer_memory"] = state.memory
        arrays["optimizer_steps"] = state.steps
    _atomic_write(path, arrays)


def _atomic_write(path, arrays):
    """Write ``arrays`` as an ``.npz`` to ``path`` through a temporary file and ``os.replace``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: the directory {folder} does not exist")
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
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
    try:  # make the rename itself durable where the platform allows it
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _read_arrays(path):
    """Every array of the archive at ``path``, read without pickle; ``ModelFormatError`` if unreadable."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        start = f.read(4)
    if start != b"PK\x03\x04":
        raise ModelFormatError(f"{path} is not a vecnet model file (not an .npz archive)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFormatError(f"{path} is not a vecnet model file: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFormatError(f"{path} is not a vecnet model file: it holds a single array, "
                               "not an .npz archive")
    try:
        with archive:
            return {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError, KeyError) as exc:
        raise ModelFormatError(f"{path} is damaged or truncated: {exc}") from None


def _header(path, arrays):
    """The checked JSON header of a model archive."""
    raw = arrays.get("header")
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFormatError(f"{path} is not a vecnet model file: it has no header")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: the model header is not valid JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("magic") != MAGIC:
        raise ModelFormatError(f"{path} is not a vecnet model file (wrong magic string)")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFormatError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFormatError(f"{path} was written in model format {version}, newer than this vecnet "
                               f"reads (up to {FORMAT_VERSION}); upgrade vecnet to load it")
    return header


def read_header(path):
    """The JSON header of the model file at ``path``, checked (see the module docstring): a dict."""
    return _header(os.fspath(path), _read_arrays(path))


def _build_network(path, spec, theta):
    """The :class:`Network` of ``spec`` holding ``theta``, after checking both."""
    if not isinstance(spec, dict):
        raise ModelFormatError(f"{path}: the header has no network description")
    sizes = spec.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)):
        raise ModelFormatError(f"{path}: invalid layer sizes {sizes!r}")
    for key, registry in (("activation", ACTIVATIONS), ("output_activation", ACTIVATIONS), ("loss", LOSSES)):
        if spec.get(key) not in registry:
            raise ModelFormatError(f"{path}: unknown {key} {spec.get(key)!r}")
    if spec.get("dtype") not in ("float32", "float64"):
        raise ModelFormatError(f"{path}: invalid dtype {spec.get('dtype')!r}")
    try:
        net = Network(sizes, activation=spec["activation"], output_activation=spec["output_activation"],
                      loss=spec["loss"], dtype=spec["dtype"], seed=0)
    except ValueError as exc:
        raise ModelFormatError(f"{path}: invalid architecture: {exc}") from None
    if theta is None or theta.dtype != net.dtype or theta.shape != (net.n_params,):
        got = None if theta is None else f"{theta.dtype} {theta.shape}"
        raise ModelFormatError(f"{path}: the weights do not match the architecture {sizes}: expected "
                               f"{net.dtype} ({net.n_params},), got {got}")
    if not np.isfinite(theta).all():
        raise ModelFormatError(f"{path}: the weights contain NaN or inf")
    net.theta[...] = theta
    return net


def _restore_optimizer(path, net, memory, steps):
    """Give ``net`` the saved optimizer state, after checking it."""
    from .engines import EngineState

    if memory is None and steps is None:
        return
    if (memory is None or steps is None or memory.dtype != net.dtype or memory.shape != (2, net.n_params)
            or steps.dtype != np.int64 or steps.shape != (1,) or steps[0] < 0):
        raise ModelFormatError(f"{path}: the optimizer state does not match the network")
    if not np.isfinite(memory).all():
        raise ModelFormatError(f"{path}: the optimizer state contains NaN or inf")
    state = EngineState(net)
    state.memory[...] = memory
    state.steps[...] = steps
    net._engine_state = state


def _build_estimator(path, cls, header, net, classes):
    """The fitted estimator ``cls`` described by ``header``, around ``net``."""
    from .estimators import FITTED_STATE

    params, fitted = header.get("params"), header.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict) or set(fitted) != set(FITTED_STATE):
        raise ModelFormatError(f"{path}: the estimator's parameters or fitted attributes are missing")
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    try:
        est = cls().set_params(**params)
        est._validate_params()
    except (ValueError, TypeError) as exc:
        raise ModelFormatError(f"{path}: invalid estimator parameters: {exc}") from None
    if fitted["n_features_in_"] != net.sizes[0] or fitted["n_outputs_"] != net.sizes[-1]:
        raise ModelFormatError(f"{path}: n_features_in_ / n_outputs_ do not match the network {net.sizes}")
    if (net.output_activation, net.loss) != cls._output(net.sizes[-1]):
        raise ModelFormatError(f"{path}: a {cls.__name__} cannot have a {net.output_activation} output "
                               f"with {net.loss} loss")
    if cls.__name__ == "MLPClassifier":
        if classes is None or classes.ndim != 1 or classes.size < 2:
            raise ModelFormatError(f"{path}: the classifier's classes are missing or invalid")
        if classes.dtype.kind not in "biufU" or np.unique(classes).size != classes.size:
            raise ModelFormatError(f"{path}: the classifier's classes are not distinct labels")
        if net.sizes[-1] != (1 if classes.size == 2 else classes.size):
            raise ModelFormatError(f"{path}: {classes.size} classes do not match {net.sizes[-1]} outputs")
        est.classes_ = classes
    for name in FITTED_STATE:
        setattr(est, name, fitted[name])
    if est.best_loss_ is None and not est.early_stopping:
        est.best_loss_ = np.inf
    est.net_ = net
    return est


def load(path):
    """Load a model saved by :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Network, MLPClassifier or MLPRegressor
        Whatever was saved, predicting exactly as it did.

    Raises
    ------
    ModelFormatError
        The file is not a valid vecnet model (see the module docstring).
    FileNotFoundError
    """
    path = os.fspath(path)
    arrays = _read_arrays(path)
    header = _header(path, arrays)
    kind = header.get("kind")
    classes = _estimator_classes()
    if kind != "Network" and kind not in classes:
        raise ModelFormatError(f"{path}: unknown model kind {kind!r}")
    expected = {"header", "theta"} | ({"classes"} if kind == "MLPClassifier" else set())
    optional = {"optimizer_memory", "optimizer_steps"}
    if not expected <= set(arrays) <= expected | optional:
        raise ModelFormatError(f"{path}: expected the arrays {sorted(expected)} (and optionally "
                               f"{sorted(optional)}), found {sorted(arrays)}")
    net = _build_network(path, header.get("network"), arrays.get("theta"))
    _restore_optimizer(path, net, arrays.get("optimizer_memory"), arrays.get("optimizer_steps"))
    if kind == "Network":
        return net
    return _build_estimator(path, classes[kind], header, net, arrays.get("classes"))
