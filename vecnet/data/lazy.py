"""Lazy row sources: a ``.npy`` file read on demand, and a dask array computed a chunk at a time.

Both have ``shape``, ``dtype`` and row slicing (``rows[lo:hi]``), which is all
:class:`vecnet.data.rows.Rows` asks of a lazy array; neither holds the whole
array in memory. Dask is never imported here: a dask array is recognised by its
attributes (:func:`is_dask_array`).
"""

from __future__ import annotations

import os

import numpy as np

from .options import check_path


class NpyRows:
    """The rows of a C-ordered ``.npy`` file, read on demand; nothing is mapped or cached.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file written by :func:`numpy.save` (C order, numeric dtype).

    Attributes
    ----------
    shape : tuple of int
    dtype : numpy.dtype
    ndim : int

    Examples
    --------
    >>> X = vecnet.open_npy("features.npy")          # doctest: +SKIP
    >>> X[1000:2000]                                  # doctest: +SKIP
    """

    def __init__(self, path):
        check_path(path)
        self.path = path
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            try:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
            except Exception as exc:   # whatever a damaged header makes numpy's parser raise
                raise ValueError(f"{path}: not a readable .npy file ({type(exc).__name__}: "
                                 f"{exc})") from None
            self._offset = f.tell()
        if fortran and len(shape) > 1:
            raise ValueError(f"{path}: the array is stored in Fortran order; NpyRows reads "
                             f"C-ordered files only (use numpy.load(path, mmap_mode='r') instead)")
        if dtype.hasobject or dtype.kind not in "fiub":
            raise TypeError(f"{path}: dtype {dtype} is not a real numeric type")
        if len(shape) == 0:
            raise ValueError(f"{path}: the file holds a single number (shape ()), not rows")
        count = 1
        for d in shape:
            count *= d
        declared = self._offset + count * dtype.itemsize
        if declared > size:
            raise ValueError(f"{path}: the header declares shape {tuple(shape)} of {dtype} "
                             f"({declared} bytes with the header), but the file has only {size} "
                             f"bytes: it is truncated or its header is wrong")
        self.shape = tuple(shape)
        self.dtype = dtype
        self.ndim = len(shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        """Rows ``key`` (a slice with step 1) as a new array, read from the file."""
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("NpyRows supports row slices with step 1 only, e.g. rows[10:20]")
        start, stop, _ = key.indices(self.shape[0])
        stop = max(stop, start)
        row = int(np.prod(self.shape[1:], dtype=np.int64))
        with open(self.path, "rb") as f:
            f.seek(self._offset + start * row * self.dtype.itemsize)
            out = np.fromfile(f, dtype=self.dtype, count=(stop - start) * row)
        if out.size != (stop - start) * row:
            raise ValueError(f"{self.path}: the file is truncated")
        return out.reshape((stop - start,) + self.shape[1:])

    def __repr__(self):
        return f"NpyRows({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"


def is_dask_array(a):
    """True for a dask array: it has a task graph (``dask``) and ``chunks`` (dask is not imported)."""
    return hasattr(a, "dask") and hasattr(a, "chunks") and hasattr(a, "blocks")


class DaskRows:
    """The rows of a dask array, computed one chunk at a time.

    ``rows[lo:hi]`` computes the chunks holding those rows. A chunk whose first
    rows are asked for is computed whole and kept until the next one, so that
    reading the rows in order computes each chunk once; the tail of a chunk
    that is no longer kept is computed on its own (dask reads only that slice
    of an array made with ``from_array``, ``from_zarr`` and the like).

    Parameters
    ----------
    array : dask.array.Array, shape (n_samples,) or (n_samples, n_features)
        Column chunks are joined (``array.rechunk({1: -1})``).
    name : str
        Used in error messages.

    Attributes
    ----------
    bounds : ndarray of int64, shape (n_chunks + 1,)
        Where the row chunks start and end: ``0, ..., n_samples``.
    """

    def __init__(self, array, name="X"):
        sizes = array.chunks[0]
        if any(np.isnan(c) for c in sizes):
            raise ValueError(f"{name} is a dask array with unknown chunk sizes; call "
                             f"{name}.compute_chunk_sizes() first (or to_dask_array(lengths=True))")
        if any(len(c) > 1 for c in array.chunks[1:]):
            array = array.rechunk({k: -1 for k in range(1, array.ndim)})   # chunks of whole rows
        self.array = array
        self.shape = tuple(int(s) for s in array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.bounds = np.cumsum([0, *sizes]).astype(np.int64)
        self._kept = (-1, None)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        """Rows ``key`` (a slice with step 1) as a new ndarray."""
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("DaskRows supports row slices with step 1 only, e.g. rows[10:20]")
        start, stop, _ = key.indices(self.shape[0])
        parts = []
        i = int(np.searchsorted(self.bounds, start, side="right")) - 1
        while start < stop:
            lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
            end = min(stop, hi)
            if self._kept[0] != i and start == lo:
                self._kept = (i, np.asarray(self.array.blocks[i].compute()))
            if self._kept[0] == i:
                parts.append(self._kept[1][start - lo:end - lo])
            else:
                parts.append(np.asarray(self.array[start:end].compute()))
            start, i = end, i + 1
        if not parts:
            return np.empty((0,) + self.shape[1:], dtype=self.dtype)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def __repr__(self):
        return f"DaskRows(shape={self.shape}, dtype={self.dtype}, chunks={len(self.bounds) - 1})"


def open_npy(path):
    """Open a ``.npy`` file for training without loading or mapping it; see :class:`NpyRows`."""
    return NpyRows(path)
