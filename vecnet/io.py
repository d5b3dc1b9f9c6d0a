"""Saving and loading models: one ``.npz`` file, no pickle.

The file is a NumPy ``.npz`` archive holding

- ``header``: a uint8 array, the UTF-8 bytes of a JSON object with the magic
  string ``"vecnet-model"``, ``format_version``, the ``kind`` of object
  (``"Network"``, ``"MLPClassifier"`` or ``"MLPRegressor"``), the architecture
  (``sizes``, ``activation``, ``output_activation``, ``loss``, ``dtype``, and
  ``optimizer_family`` with a saved optimizer state: ``"sgd"`` or ``"adam"``,
  absent from older files), for an estimator its parameters and plain fitted
  attributes, and optional user ``metadata``; a ``random_state`` given as a
  generator object (``Generator``, ``RandomState``, ``SeedSequence``,
  ``BitGenerator``) is stored as ``None``. At most ``MAX_HEADER_BYTES`` (1 MB):
  :func:`save` refuses a larger one (a huge ``metadata``), which :func:`load` would;
- ``theta``: the flat parameter vector :attr:`vecnet.Network.theta`;
- ``classes``: the classifier's ``classes_`` (numbers or strings);
- ``loss_curve`` and, with early stopping, ``validation_scores``: an estimator's
  ``loss_curve_`` and ``validation_scores_``, one float64 per epoch (format 2;
  format 1 kept them in the header, which a long training outgrew);
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
untouched. A save killed outright (SIGKILL, power loss) cannot clean up: its
temporary ``.{name}.XXXXXXXX.tmp`` stays until the next save to the same target
removes it (see :func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from .atomic import STALE_AFTER, atomic_write, remove_stale_temporaries  # noqa: F401 (vecnet.io's API)
from .data.options import check_path

MAGIC = "vecnet-model"
FORMAT_VERSION = 2
"""The version this vecnet writes; files of a higher version are refused."""


class ModelFormatError(ValueError):
    """The file is not a vecnet model this version can read (a ``ValueError``)."""


KINDS = {}
"""The savable classes by the ``kind`` their files carry; filled by :func:`savable`."""


def savable(cls):
    """Class decorator: files of kind ``cls.__name__`` are written and read by ``cls``.

    ``cls`` provides ``_to_file(self) -> (fields, arrays)`` (header fields and
    named arrays), the classmethod ``_check_declared(path, header, shapes)``,
    which checks the header and the arrays' declared ``(dtype, shape)`` against
    each other before anything is read or allocated, and the classmethod
    ``_from_file(path, header, arrays)``, which checks what it reads; both raise
    :class:`ModelFormatError`. Its ``_file_arrays`` is ``(required, optional)``,
    the array names besides ``header``.
    """
    KINDS[cls.__name__] = cls
    return cls


def plain(value):
    """``value`` as JSON-ready Python: tuples to lists, numpy scalars to numbers, non-finite to None."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (np.random.Generator, np.random.RandomState, np.random.SeedSequence,
                          np.random.BitGenerator)):
        return None   # a random_state given as an object: its state is not a plain value
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
        The weights are not finite; ``obj`` is an ensemble (``n_estimators > 1``)
        or an estimator whose parameters changed since it was fitted;
        ``metadata`` is not a dict; or the header (with ``metadata``) would be
        larger than ``MAX_HEADER_BYTES``.
    TypeError
        ``obj`` is not one of the kinds above, ``metadata`` holds a value that is
        not JSON-ready, or ``path`` is not a file name.
    FileNotFoundError, IsADirectoryError
        ``path``'s directory does not exist, or ``path`` is a directory.
    vecnet.NotFittedError
        ``obj`` is an estimator that was never fitted.
    """
    path = check_path(path)
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict of JSON-ready values or None, got {metadata!r}")
    kind = type(obj).__name__
    if KINDS.get(kind) is not type(obj):
        raise TypeError(f"save takes a {', '.join(sorted(KINDS))}, got {kind}")
    fields, arrays = obj._to_file()
    header = {"magic": MAGIC, "format_version": FORMAT_VERSION, "kind": kind, **fields}
    if metadata is not None:
        try:
            header["metadata"] = plain(metadata)
        except TypeError as exc:
            raise TypeError(f"metadata: {exc}") from None
    raw = json.dumps(header, allow_nan=False, sort_keys=True).encode("utf-8")
    if len(raw) > MAX_HEADER_BYTES:   # load would refuse the file: refused before anything is written
        raise ValueError(f"the model header would have {len(raw)} bytes, more than the {MAX_HEADER_BYTES} "
                         f"a model header may have; store large metadata in a file of its own")
    arrays["header"] = np.frombuffer(raw, dtype=np.uint8)
    _atomic_write(path, arrays)


def _atomic_write(path, arrays):
    """Write ``arrays`` as an ``.npz`` to ``path`` through a temporary file and ``os.replace``."""
    atomic_write(path, lambda f: np.savez(f, **arrays))


MAX_HEADER_BYTES = 1 << 20
"""Largest JSON header a model file may have: 1 MB."""

STORED_NOTE = "vecnet writes every member stored (uncompressed), as numpy.savez does"


READ_NPY_HEADER = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


class _Archive:
    """A model archive opened for checking: its members' ``.npy`` headers read, no array data yet.

    Everything that can be known without reading array data is checked at
    :meth:`open`, in constant memory: the zip directory (names, no duplicates,
    no encryption, stored members whose sizes add up to no more than the
    file's), and each member's ``.npy`` header (a plain dtype, C order, and a
    data size that is exactly what the member holds). ``shapes`` maps array
    names to ``(dtype, shape)``.
    """

    def __init__(self, path, f, zf, infos, shapes):
        self.path, self._f, self._zf, self._infos, self.shapes = path, f, zf, infos, shapes

    @classmethod
    def open(cls, path, allowed):
        path = os.fspath(path)
        f = open(path, "rb")   # FileNotFoundError, IsADirectoryError, PermissionError propagate
        try:
            if f.read(4) != b"PK\x03\x04":
                raise ModelFormatError(f"{path} is not a vecnet model file (not an .npz archive)")
            size = os.fstat(f.fileno()).st_size
            f.seek(0)
            try:
                zf = zipfile.ZipFile(f)
                infos, shapes = cls._check_members(path, zf, size, allowed)
            except ModelFormatError:
                raise
            except Exception as exc:   # whatever damaged bytes make zipfile or numpy raise
                raise ModelFormatError(f"{path} is not a vecnet model file or is damaged: "
                                       f"{type(exc).__name__}: {exc}") from None
        except BaseException:
            f.close()
            raise
        return cls(path, f, zf, infos, shapes)

    @staticmethod
    def _check_members(path, zf, size, allowed):
        infos, shapes, total = {}, {}, 0
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else None
            if name not in allowed or name in infos:
                raise ModelFormatError(f"{path}: unexpected member {info.filename!r} in the archive "
                                       f"(expected the arrays among {sorted(allowed)}, once each)")
            if info.flag_bits & 0x1:
                raise ModelFormatError(f"{path}: member {info.filename!r} is encrypted")
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                raise ModelFormatError(f"{path}: member {info.filename!r} is compressed; {STORED_NOTE}")
            total += info.compress_size
            if total > size:
                raise ModelFormatError(f"{path}: the archive declares {total} bytes of members, more "
                                       f"than the file's {size} bytes: it is truncated or damaged")
            infos[name] = info
        for name, info in infos.items():
            with zf.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version not in READ_NPY_HEADER:
                    raise ModelFormatError(f"{path}: array {name!r} has .npy version {version}")
                shape, fortran, dtype = READ_NPY_HEADER[version](member)
                start = member.tell()
            if dtype.hasobject or dtype.kind not in "biufU":
                raise ModelFormatError(f"{path}: array {name!r} has dtype {dtype}; model files hold "
                                       "numbers and strings only (no pickle, no object arrays)")
            if fortran and len(shape) > 1:
                raise ModelFormatError(f"{path}: array {name!r} is stored in Fortran order")
            count = 1
            for d in shape:
                count *= d
            if start + count * dtype.itemsize != info.file_size:
                raise ModelFormatError(f"{path}: array {name!r} declares shape {shape} of {dtype} "
                                       f"({count * dtype.itemsize} bytes), but its member holds "
                                       f"{info.file_size - start}: it is truncated or damaged")
            shapes[name] = (dtype.newbyteorder("="), tuple(shape))   # read in the machine's byte order
        return infos, shapes

    def read(self, name):
        """Array ``name``, read from the archive (its size already checked), in the machine's byte order
        (a file written elsewhere may hold the other one: the same values)."""
        try:
            with self._zf.open(self._infos[name]) as member:
                arr = np.lib.format.read_array(member, allow_pickle=False)
        except Exception as exc:
            raise ModelFormatError(f"{self.path} is damaged or truncated: {type(exc).__name__}: "
                                   f"{exc}") from None
        return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))

    def close(self):
        self._zf.close()
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _allowed_arrays():
    """Every array name some savable kind may have, ``header`` included."""
    names = {"header"}
    for cls in KINDS.values():
        names.update(*cls._file_arrays)
    return names


def _read_header(archive):
    """The checked JSON header of an opened :class:`_Archive`."""
    path = archive.path
    dtype, shape = archive.shapes.get("header", (None, None))
    if dtype != np.uint8 or len(shape) != 1:
        raise ModelFormatError(f"{path} is not a vecnet model file: it has no header")
    if shape[0] > MAX_HEADER_BYTES:
        raise ModelFormatError(f"{path}: the model header has {shape[0]} bytes, more than the "
                               f"{MAX_HEADER_BYTES} a model header may have")
    return _header(path, {"header": archive.read("header")})


def _header(path, arrays):
    """The checked JSON header of a model archive."""
    raw = arrays.get("header")
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFormatError(f"{path} is not a vecnet model file: it has no header")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
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
    with _Archive.open(check_path(path), _allowed_arrays()) as archive:
        return _read_header(archive)


def load(path):
    """Load a model saved by :func:`save`.

    Every size the file declares is checked against the file's real size and
    against the header before any array is read or any model is built, so a
    small damaged or hostile file is refused in milliseconds and constant memory.

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
    path = check_path(path)
    with _Archive.open(path, _allowed_arrays()) as archive:
        header = _read_header(archive)
        kind = header.get("kind")
        cls = KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise ModelFormatError(f"{path}: unknown model kind {kind!r}")
        required, optional = cls._file_arrays
        expected = {"header", *required}
        found = set(archive.shapes)
        if not expected <= found <= expected | set(optional):
            raise ModelFormatError(f"{path}: expected the arrays {sorted(expected)} (and optionally "
                                   f"{sorted(optional)}), found {sorted(found)}")
        shapes = {name: archive.shapes[name] for name in found - {"header"}}
        cls._check_declared(path, header, shapes)   # sizes agree, before anything is allocated
        arrays = {name: archive.read(name) for name in shapes}
    return cls._from_file(path, header, arrays)
