"""Training data as row blocks: in memory, memory-mapped, or read from a ``.npy`` file.

:func:`vecnet.fit` never copies a whole data set. What it receives is wrapped
in :class:`Rows`, which checks it block by block and then either hands the
engines the arrays themselves (when they already have the network's dtype and
C order: no copy at all) or, when a conversion would copy more than
``chunk_bytes`` (64 MB by default), serves them as contiguous row blocks
converted one at a time ("streaming").

Three kinds of input are accepted:

- anything :func:`numpy.asarray` reads (lists, integer arrays, Fortran order,
  read-only arrays): converted once, like before, when small;
- :class:`numpy.ndarray`, including :class:`numpy.memmap`: used as is, or
  streamed when it needs a conversion larger than ``chunk_bytes`` (shuffled rows
  are then gathered block by block: :meth:`Rows.gather`);
- a *lazy* array: any object with ``shape``, ``dtype`` and row slicing that is
  not an ndarray, such as :class:`~vecnet.data.lazy.NpyRows` (from
  :func:`~vecnet.data.lazy.open_npy`) or an h5py dataset. It is always
  streamed. :class:`~vecnet.data.lazy.NpyRows` reads rows with plain file
  reads and maps nothing, so it works for files larger than the address space
  the process may use (``RLIMIT_AS``), where even a ``numpy.memmap`` fails;
- a dask array (recognised by its ``dask`` graph and ``chunks``; dask is never
  imported here): always streamed, one chunk computed at a time (see
  :class:`~vecnet.data.lazy.DaskRows`). Its blocks follow its row chunks instead of
  ``chunk_bytes``: each block ends where a chunk ends, moved back to a multiple
  of the batch size, so that the batches are those of the same data in memory.
  Column chunks are joined (``rechunk({1: -1})``): a block holds whole rows.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..losses import get_loss
from .lazy import DaskRows, is_dask_array
from .validation import FirstBadRowSum, _as_float_array, check_values, read_rows

DEFAULT_CHUNK_BYTES = 64 * 2**20
"""Largest conversion copy :func:`vecnet.fit` makes at once: 64 MB."""


def _is_lazy(a, chunk_bytes=0):
    """True for a lazy array: ``shape``, ``dtype`` and slicing, but not an ndarray.

    One that numpy can also read whole (``__array__``, like a pandas Series) is
    read whole unless it is larger than ``chunk_bytes``.
    """
    if isinstance(a, np.ndarray) or not all(hasattr(a, k) for k in ("shape", "dtype", "__getitem__")):
        return False
    if is_dask_array(a) or not hasattr(a, "__array__"):
        return True
    try:
        return int(np.prod(a.shape)) * np.dtype(a.dtype).itemsize > chunk_bytes
    except TypeError:
        return False


def _raw(a, name, dtype, chunk_bytes):
    """``a`` kept as it is (ndarray, lazy array) when it is already numeric, else read into memory."""
    if hasattr(a, "tocsr") or hasattr(a, "todense"):
        raise TypeError(f"sparse input is not supported for {name}; convert it with {name}.toarray()")
    if hasattr(a, "dask") and hasattr(a, "npartitions") and not hasattr(a, "chunks"):
        raise TypeError(f"{name} is a dask DataFrame or Series; pass a dask array: "
                        f"{name}.to_dask_array(lengths=True)")
    if is_dask_array(a):
        a = DaskRows(a, name)
    if isinstance(a, np.ndarray) or _is_lazy(a, chunk_bytes):
        kind = np.dtype(a.dtype).kind
        if kind == "c":
            raise ValueError(f"{name} is complex; vecnet needs real numbers")
        if kind in "fiub":
            return a
        if _is_lazy(a, chunk_bytes):
            raise TypeError(f"{name} must be numeric, got dtype {a.dtype}")
    return _as_float_array(a, name, dtype)


def _in_dtype(a, dtype):
    """``a`` as a C-contiguous array of ``dtype`` (tiny values rounding to 0 in float32 are fine)."""
    with np.errstate(under="ignore"):
        return np.ascontiguousarray(a, dtype=dtype)


class Rows:
    """Rows ``start:stop`` of ``X`` (n, n_in) and ``Y`` (n, n_out) or (n,), served in ``dtype``.

    Build it with :func:`as_rows`, which checks shapes and finiteness.
    """

    def __init__(self, X, Y, dtype, start=0, stop=None):
        self.X, self.Y, self.dtype = X, Y, np.dtype(dtype)
        self.start = start
        self.stop = X.shape[0] if stop is None else stop
        self.width = (X.shape[1], 1 if len(Y.shape) == 1 else Y.shape[1])  # as checked at the start

    def __len__(self):
        return self.stop - self.start

    @property
    def row_bytes(self):
        """Bytes of one converted row of ``X`` and ``Y`` together."""
        return sum(self.width) * self.dtype.itemsize

    def take(self, lo, hi):
        """Rows ``lo:hi`` (relative to this view) of ``X`` and ``Y``, converted and C-contiguous.

        Every block is checked (:func:`check_block`): a lazy array whose slices
        return other rows than asked raises ``ValueError`` here, before an
        engine sees the block.
        """
        a, b = self.start + lo, self.start + hi
        X, Y = _in_dtype(read_rows(self.X, a, b, "X"), self.dtype), _in_dtype(read_rows(self.Y, a, b, "y"), self.dtype)
        return self._checked(X, Y.reshape(len(Y), -1), a, b)

    @property
    def random_access(self):
        """True when rows can be gathered in any order (:meth:`gather`): ``X`` and ``Y`` are numpy
        arrays (a ``numpy.memmap`` included), not lazy ones."""
        return isinstance(self.X, np.ndarray) and isinstance(self.Y, np.ndarray)

    def gather(self, index):
        """Rows ``index`` (an integer array, relative to this view) of ``X`` and ``Y``, in that order,
        converted and C-contiguous; for :attr:`random_access` rows only."""
        index = np.add(index, self.start, dtype=np.intp)
        X, Y = (_in_dtype(np.take(a, index, axis=0), self.dtype) for a in (self.X, self.Y))
        return X, Y.reshape(len(Y), -1)

    def _checked(self, X, Y, a, b):
        """``(X, Y)`` after :func:`check_block` against this view's shapes."""
        check_block(X, (b - a, self.width[0]), self.dtype, f"X rows {a}:{b}")
        check_block(Y, (b - a, self.width[1]), self.dtype, f"y rows {a}:{b}")
        return X, Y

    def chunk_bounds(self):
        """Where the row chunks of dask data end, relative to this view; ``None`` for other data."""
        for a in (self.X, self.Y):
            if isinstance(a, DaskRows):
                inside = a.bounds[(a.bounds > self.start) & (a.bounds < self.stop)]
                return [int(b) - self.start for b in inside] + [len(self)]
        return None

    def blocks(self, block_rows, multiple=1):
        """``(lo, hi)`` bounds of consecutive blocks of ``block_rows`` rows: a sequence.

        For dask data, the blocks follow the chunks instead: each ends where a
        chunk ends, moved back to a multiple of ``multiple`` (the batch size), so
        that no batch is cut; chunks smaller than that join the next block.
        Other data get a lazy :class:`BlockBounds` (two integers, never a list).
        """
        ends = self.chunk_bounds()
        if ends is None:
            return BlockBounds(len(self), block_rows)
        ends = sorted({e // multiple * multiple for e in ends[:-1]} - {0} | {len(self)})
        return list(zip([0, *ends[:-1]], ends))

    def select(self, index):
        """The rows ``index`` (an integer array, relative to this view), copied into memory."""
        X, Y = self.take(0, len(self)) if _is_lazy(self.X) or _is_lazy(self.Y) else (
            np.asarray(self.X)[self.start:self.stop], np.asarray(self.Y)[self.start:self.stop])
        return Rows(X[index], Y[index], self.dtype)

    def split(self, n_last):
        """The first ``len - n_last`` rows and the last ``n_last``, as two views."""
        cut = self.stop - n_last
        return (Rows(self.X, self.Y, self.dtype, self.start, cut),
                Rows(self.X, self.Y, self.dtype, cut, self.stop))

    def whole(self, chunk_bytes):
        """``(X, Y)`` as whole arrays of ``dtype``, C-contiguous, or ``None`` if that needs a big copy.

        No copy when the inputs already have the dtype and C order (a
        ``numpy.memmap`` is then read in place); a copy of at most
        ``chunk_bytes`` otherwise.
        """
        out = []
        for a in (self.X, self.Y):
            if _is_lazy(a):
                return None
            part = np.asarray(a)[self.start:self.stop]
            fits = part.dtype == self.dtype and part.flags.c_contiguous
            if not fits and part.size * self.dtype.itemsize > chunk_bytes:
                return None
            out.append(_in_dtype(part, self.dtype))
        X, Y = out
        return self._checked(X, Y.reshape(len(Y), -1), self.start, self.stop)

    def block_rows(self, chunk_bytes, multiple=1, warn=False, stacklevel=2):
        """Rows per block: as many as fit in ``chunk_bytes``, a multiple of ``multiple`` (the batch size),
        at least one; with ``warn``, a ``UserWarning`` when that is more than ``chunk_bytes`` (``stacklevel``
        as ``warnings.warn`` would count it in the caller)."""
        rows = max(1, chunk_bytes // self.row_bytes)
        rows = max(multiple, rows // multiple * multiple)
        if warn and rows * self.row_bytes > chunk_bytes:
            warnings.warn(f"a batch of {multiple:,} rows takes {multiple * self.row_bytes / 1e6:.3g} MB, more "
                          f"than chunk_bytes ({chunk_bytes / 1e6:.3g} MB): each block streamed holds one "
                          f"whole batch (batch_size=None reads all the data at once)", UserWarning,
                          stacklevel=stacklevel + 1)
        return rows


class BlockBounds:
    """The ``(lo, hi)`` bounds of ``n`` rows cut in blocks of ``size``, computed on demand.

    A sequence (``len``, indexing, iteration) that holds two integers, so that
    ``10**15`` rows never become a list of bounds.
    """

    def __init__(self, n, size):
        self.n, self.size = int(n), int(size)

    def __len__(self):
        return -(-self.n // self.size)

    def __getitem__(self, i):
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        lo = i * self.size
        return lo, min(lo + self.size, self.n)

    def __iter__(self):
        for lo in range(0, self.n, self.size):
            yield lo, min(lo + self.size, self.n)


def check_block(block, shape, dtype, name):
    """``ValueError`` unless ``block`` is a C-contiguous ndarray of ``shape`` and ``dtype``.

    The one check every block passes before an engine gets it: the compiled
    kernel reads as many rows as the arrays have, so a short block would make
    it read past its end.
    """
    if not isinstance(block, np.ndarray) or block.shape != tuple(shape):
        got = block.shape if isinstance(block, np.ndarray) else type(block).__name__
        raise ValueError(f"{name}: expected a block of shape {tuple(shape)}, got {got}")
    if block.dtype != dtype or not block.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous {np.dtype(dtype).name} block, got "
                         f"{block.dtype.name} (C-contiguous: {block.flags.c_contiguous})")


def as_rows(X, y, n_in, n_out, dtype, chunk_bytes=DEFAULT_CHUNK_BYTES, names=("X", "y"),
            target_loss=None, row_offset=0, magnitude=True):
    """Check ``X`` and ``y`` and wrap them in :class:`Rows`; reads them block by block once.

    Parameters
    ----------
    X : array-like, numpy.memmap or lazy array, shape (n_samples, n_in)
    y : array-like, numpy.memmap or lazy array, shape (n_samples,) or (n_samples, n_out)
    n_in, n_out : int
    dtype : numpy dtype
    chunk_bytes : int
        Rows read at once for the checks.
    target_loss : str, optional
        The name of a loss that needs ``y`` in [0, 1] (the cross-entropy losses);
        with ``cce``, each row of ``y`` must also sum to 1 (within
        :class:`~vecnet.data.validation.FirstBadRowSum`).
    row_offset : int
        Added to the row numbers the errors give (``X`` and ``y`` being rows
        ``row_offset:`` of larger arrays).
    magnitude : bool, default True
        Refuse values too large to train on (:func:`vecnet.data.validation.check_magnitude`);
        ``False`` for data that is only evaluated (validation data), which needs, as
        ``predict``'s input, only finite values within the range of ``dtype``.

    Returns
    -------
    Rows
    """
    xn, yn = names
    X = _raw(X, xn, dtype, chunk_bytes)
    Y = _raw(y, yn, dtype, chunk_bytes)
    if len(X.shape) == 1:
        raise ValueError(f"{xn} must be 2-D (n_samples, n_features), got a 1-D array of shape "
                         f"{X.shape}; reshape a single sample with {xn}.reshape(1, -1) "
                         f"or a single feature with {xn}.reshape(-1, 1)")
    if len(X.shape) != 2:
        raise ValueError(f"{xn} must be 2-D (n_samples, n_features), got shape {X.shape}")
    n = X.shape[0]
    if n == 0:
        raise ValueError(f"{xn} has 0 samples (shape {X.shape}); at least 1 is needed")
    if X.shape[1] == 0:
        raise ValueError(f"{xn} has 0 features (shape {X.shape}); at least 1 is needed")
    if X.shape[1] != n_in:
        raise ValueError(f"{xn} has {X.shape[1]} features, but the network expects {n_in}")
    if len(Y.shape) not in (1, 2):
        raise ValueError(f"{yn} must be 1-D or 2-D, got shape {Y.shape}")
    if Y.shape[0] != n:
        raise ValueError(f"{xn} and {yn} have different numbers of samples: "
                         f"{xn} has shape {X.shape}, {yn} has shape {Y.shape}")
    k = 1 if len(Y.shape) == 1 else Y.shape[1]
    if k != n_out:
        raise ValueError(f"{yn} has shape {Y.shape}, but the network has {n_out} outputs "
                         f"(expected shape ({n}, {n_out}))")
    if isinstance(X, DaskRows) and isinstance(Y, DaskRows):
        Y = DaskRows(Y.array.rechunk({0: X.array.chunks[0]}), yn)   # the same row chunks as X
    rows = Rows(X, Y, dtype)
    block_rows = rows.block_rows(chunk_bytes)
    check_values(X, xn, dtype, block_rows, row_offset=row_offset, magnitude=magnitude)
    sums = None
    if target_loss and get_loss(target_loss).rows_sum_to_one:
        sums = FirstBadRowSum(dtype, Y.dtype)
    low, high = check_values(Y, yn, dtype, block_rows, each_block=sums, row_offset=row_offset,
                             magnitude=magnitude)
    if target_loss and (low < 0 or high > 1):
        raise ValueError(f"loss {target_loss!r} needs targets in [0, 1] (probabilities or one-hot rows), "
                         f"but {yn} has values in [{low:g}, {high:g}]")
    if sums is not None and sums.found is not None:
        row, total = sums.found
        raise ValueError(f"loss {target_loss!r} needs each row of {yn} to sum to 1 (probabilities or "
                         f"one-hot rows), but row {row} sums to {total!r} (allowed: 1 +/- "
                         f"{sums.tol:.2g}, sqrt(eps) of {sums.dtype.name})")
    return rows
