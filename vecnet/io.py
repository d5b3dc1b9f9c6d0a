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

This module knows the file format, not the classes: each savable class
registers itself with :func:`savable` and turns itself into header fields and
arrays (``_to_file``) and back (``_from_file``), so that :func:`load` can build
whatever kind a file names without this module importing it.

Writing is atomic: the archive goes to a temporary file in the target's
directory, is flushed to disk, then renamed over the target with ``os.replace``;
a failure at any point removes the temporary file and leaves any previous file
untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

MAGIC = "vecnet-model"
FORMAT_VERSION = 1
"""The version this vecnet writes; files of a higher version are refused."""


class ModelFormatError(ValueError):
    """The file is not a vecnet model this version can read (a ``ValueError``)."""


KINDS = {}
"""The savable classes by the ``kind`` their files carry; filled by :func:`savable`."""


def savable(cls):
    """Class decorator: files of kind ``cls.__name__`` are written and read by ``cls``.

    ``cls`` provides ``_to_file(self) -> (fields, arrays)`` (header fields and
    named arrays) and the classmethod ``_from_file(path, header, arrays)``,
    which checks what it reads and raises :class:`ModelFormatError`; its
    ``_file_arrays`` is ``(required, optional)``, the array names besides
    ``header``.
    """
    KINDS[cls.__name__] = cls
    return cls


def plain(value):
    """``value`` as JSON-ready Python: tuples to lists, numpy scalars to numbers, non-finite to None."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
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
    if KINDS.get(kind) is not type(obj):
        raise TypeError(f"save takes a {', '.join(sorted(KINDS))}, got {kind}")
    fields, arrays = obj._to_file()
    header = {"magic": MAGIC, "format_version": FORMAT_VERSION, "kind": kind, **fields}
    if metadata is not None:
        header["metadata"] = plain(metadata)
    text = json.dumps(header, allow_nan=False, sort_keys=True)
    arrays["header"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
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
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ModelFormatError(f"{path}: unknown model kind {kind!r}")
    required, optional = cls._file_arrays
    expected = {"header", *required}
    if not expected <= set(arrays) <= expected | set(optional):
        raise ModelFormatError(f"{path}: expected the arrays {sorted(expected)} (and optionally "
                               f"{sorted(optional)}), found {sorted(arrays)}")
    return cls._from_file(path, header, arrays)
