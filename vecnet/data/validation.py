"""Checks at the public boundary: turn the arrays users pass into what the engines trust.

Every check raises before any work is done, with a message that names the
argument, what it got and what it needs. Data problems are ``ValueError``
(shape, NaN/inf, size, complex numbers) or ``TypeError`` (sparse matrices,
non-numeric values). The options (hyperparameters, seeds, sizes, file names)
are checked in :mod:`vecnet.data.options`.
"""

from __future__ import annotations

import decimal
import numbers

import numpy as np

FINITE_CHECK_ELEMENTS = 1 << 22
"""Elements checked per block, so that checking a large memmap needs no full-size temporary."""


def check_real_dtype(dtype, name):
    """``ValueError`` for a complex ``dtype``, ``TypeError`` for any other that holds no real numbers."""
    kind = np.dtype(dtype).kind
    if kind == "c":
        raise ValueError(f"{name} is complex; vecnet needs real numbers")
    if kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got dtype {np.dtype(dtype)}")


def _as_float_array(a, name, dtype):
    """``a`` as a float array of ``dtype``; clear errors for sparse, complex and non-numeric input."""
    if hasattr(a, "tocsr") or hasattr(a, "todense"):
        raise TypeError(f"sparse input is not supported for {name}; convert it with {name}.toarray()")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if arr.dtype.kind == "O":
        _check_object_numbers(arr, name)
        try:
            arr = missing_as_nan(arr).astype(np.float64)
        except OverflowError as exc:   # a Python int beyond float64
            raise ValueError(f"{name} holds a number too large for float64 ({exc})") from None
    check_real_dtype(arr.dtype, name)
    return as_dtype(arr, dtype, f"{name} has", f"the network's dtype: scale {name}", " or use a float64 network")


NETWORK_INTERFACE = ("theta", "layout", "gradients", "sizes", "activation", "output_activation", "loss", "dtype")
"""What tells a :class:`vecnet.Network` where its class cannot be imported (the layers below it)."""


def is_network(obj):
    """True for a :class:`vecnet.Network`, told by its interface (:data:`NETWORK_INTERFACE`)."""
    return all(hasattr(obj, name) for name in NETWORK_INTERFACE)


def check_batch(X, Y, n_in, n_out, dtype):
    """``ValueError`` unless ``X`` and ``Y`` are arrays (n, ``n_in``) and (n, ``n_out``) of ``dtype``:
    what :meth:`vecnet.Network.gradients` takes (a ``Y`` of shape (n,) against (n, 1) outputs would
    broadcast to (n, n): a wrong number, silently; a masked array or ``np.matrix`` computes otherwise)."""
    if not (isinstance(X, np.ndarray) and isinstance(Y, np.ndarray) and X.ndim == 2 and X.shape[1] == n_in
            and Y.shape == (X.shape[0], n_out)):
        got = [a.shape if isinstance(a, np.ndarray) else type(a).__name__ for a in (X, Y)]
        raise ValueError(f"X and Y must be arrays of shapes (n_samples, {n_in}) and (n_samples, {n_out}), "
                         f"got {got[0]} and {got[1]} (reshape a 1-D y with y.reshape(-1, 1))")
    subclass = (np.matrix, np.ma.MaskedArray)   # they compute otherwise
    odd = [a for a in (X, Y) if isinstance(a, subclass) or a.dtype != dtype]
    if odd:
        got = " and ".join(type(a).__name__ if isinstance(a, subclass) else str(a.dtype) for a in odd)
        raise ValueError(f"X and Y must be plain numpy arrays of the network's dtype {np.dtype(dtype)}, got "
                         f"{got}: convert them with np.asarray(a, dtype=net.dtype)")


def as_dtype(arr, dtype, subject, remedy, wider=""):
    """The numeric array ``arr`` in ``dtype``; ``ValueError`` when a finite value is beyond its range.

    The message is :func:`beyond_range`'s.
    """
    if arr.dtype.kind == "f" and arr.dtype.itemsize > np.dtype(dtype).itemsize:
        with np.errstate(over="ignore", under="ignore"):  # tiny values may round to 0: fine
            out = arr.astype(dtype)
        if not np.isfinite(out).all() and np.isfinite(arr).all():
            raise ValueError(beyond_range(subject, np.abs(arr).max(), dtype, remedy, wider))
        return out
    return arr.astype(dtype, copy=False)


def beyond_range(subject, largest, dtype, remedy, wider):
    """``f"{subject} values as large as {largest}, beyond the range of {dtype}, {remedy}{wider}"``.

    ``largest`` (a NumPy scalar) is written to 3 digits, a longdouble beyond float64 too (not as
    "inf"); ``wider``, the advice to use float64, is left out where it would not help: for a
    float64 ``dtype``, or a value beyond float64.
    """
    if np.isfinite(float(largest)):
        text = f"{float(largest):.3g}"
        remedy += "" if np.dtype(dtype) == np.float64 else wider
    else:
        text = np.format_float_scientific(largest, precision=2, trim="-")
    return f"{subject} values as large as {text}, beyond the range of {np.dtype(dtype).name}, {remedy}"


def is_missing(value):
    """True for pandas' missing value ``pd.NA`` (recognised by its type's name: pandas is not imported)."""
    return type(value).__name__ == "NAType"


def missing_as_nan(arr):
    """An object array with every ``pd.NA`` replaced by NaN (a copy, if there is one); other arrays as they are.

    pandas' nullable columns (``Int64``, ``Float64``, ``boolean``, Arrow-backed) give
    object arrays holding ``pd.NA``, which ``astype(float)`` refuses with a
    ``TypeError``: as NaN, it meets the NaN checks and their ``ValueError``.
    """
    if arr.dtype.kind != "O":
        return arr
    mask = np.fromiter((is_missing(v) for v in arr.flat), dtype=bool, count=arr.size).reshape(arr.shape)
    if not mask.any():
        return arr
    out = arr.copy()
    out[mask] = np.nan
    return out


def _check_object_numbers(arr, name):
    """Refuse an object array holding anything but real numbers (``pd.NA`` counts as NaN; a
    ``Decimal`` is a real number, converted as ``float`` converts it)."""
    for value in arr.flat:
        if isinstance(value, (numbers.Real, np.bool_, decimal.Decimal)) or is_missing(value):
            continue
        if isinstance(value, numbers.Complex):
            raise ValueError(f"{name} is complex; vecnet needs real numbers")
        raise TypeError(f"{name} must be numeric, but it holds {value!r} "
                        f"of type {type(value).__name__}")


def _blocks(arr):
    """Row blocks of ``arr`` of about :data:`FINITE_CHECK_ELEMENTS` elements each."""
    rows = max(1, FINITE_CHECK_ELEMENTS // max(1, arr.size // max(1, arr.shape[0])))
    for start in range(0, arr.shape[0], rows):
        yield start, arr[start:start + rows]


def _check_finite(arr, name, offset=0):
    """``ValueError`` naming NaN or inf, how many, and where the first one is (rows from ``offset``)."""
    for start, block in _blocks(arr):
        if np.isfinite(block.min()) and np.isfinite(block.max()):  # NaN propagates; no temporary
            continue
        finite = np.isfinite(block)
        bad = np.argwhere(~finite)[0]
        where = ", ".join(str(int(i)) for i in (bad[0] + start + offset, *bad[1:]))
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        kinds = " and ".join(f"{k} {w}" for k, w in ((n_nan, "NaN"), (n_inf, "inf")) if k)
        raise ValueError(f"{name} contains {kinds} value{'s' if n_nan + n_inf > 1 else ''} "
                         f"(the first at [{where}]); vecnet needs finite numbers: "
                         f"drop or impute them first")


def check_magnitude(arr, name, dtype=None):
    """``ValueError`` when ``arr`` has values beyond ``sqrt(finfo(dtype).max)`` (default: its dtype).

    Training multiplies inputs by weights whose updates scale with the inputs,
    so values this large overflow to inf within one step.
    """
    dtype = np.dtype(arr.dtype if dtype is None else dtype)
    limit = np.sqrt(np.finfo(dtype).max)
    for _, block in _blocks(arr):
        largest = max(float(block.max()), -float(block.min())) if block.size else 0.0
        if largest > limit:
            raise ValueError(f"{name} has values as large as {largest:.3g}; training in "
                             f"{dtype} needs |{name}| <= {limit:.3g} (the updates scale with "
                             f"{name} squared and would overflow): scale {name} first")


def read_rows(a, lo, hi, name):
    """Rows ``lo:hi`` of ``a`` (an ndarray or a lazy array) as an ndarray, with its row count checked."""
    block = np.asarray(a[lo:hi])
    if block.ndim == 0 or block.shape[0] != hi - lo:
        got = "a scalar" if block.ndim == 0 else f"{block.shape[0]} rows (shape {block.shape})"
        raise ValueError(f"{name}[{lo}:{hi}] returned {got}, not the {hi - lo} rows asked for: "
                         f"the array's slicing does not agree with its shape {tuple(a.shape)}")
    if block.shape[1:] != tuple(a.shape[1:]):
        raise ValueError(f"{name}[{lo}:{hi}] returned rows of shape {block.shape[1:]}, but {name} "
                         f"has shape {tuple(a.shape)}")
    return block


def check_values(a, name, dtype, block_rows=None, nonfinite=None, magnitude=True, each_block=None,
                 row_offset=0):
    """Scan ``a`` once, ``block_rows`` rows at a time (default: about 4M values); return its ``(min, max)``.

    The one scan of user data: :func:`check_X`, :func:`vecnet.data.rows.as_rows`
    and the estimators' checks all read their arrays through it.

    Refuses NaN and inf (with ``nonfinite`` as the message when given, else one
    saying where the first is), values beyond the range of ``dtype`` and, with
    ``magnitude``, values too large to train on (see
    :func:`vecnet.data.validation.check_magnitude`). ``each_block(block, lo)``,
    when given, sees every checked block and the index of its first row.
    ``row_offset`` is added to every row index reported (``a`` being rows
    ``row_offset:`` of a larger array).
    """
    if block_rows is None:
        block_rows = max(1, FINITE_CHECK_ELEMENTS // max(1, int(np.prod(a.shape[1:]))))
    low, high = np.inf, -np.inf
    limit = float(np.finfo(dtype).max)
    n = a.shape[0]
    for lo in range(0, n, block_rows):
        block = read_rows(a, lo, min(lo + block_rows, n), name)  # refuses short or long blocks
        if block.size == 0:
            continue
        smallest, largest = float(block.min()), float(block.max())  # NaN propagates
        if not (np.isfinite(smallest) and np.isfinite(largest)):
            if nonfinite is not None:
                raise ValueError(nonfinite)
            _check_finite(block, name, offset=row_offset + lo)  # raises, saying where
        biggest = max(largest, -smallest)
        if biggest > limit:
            raise ValueError(beyond_range(f"{name} has", np.abs(block).max(), dtype,
                                          f"the network's dtype: scale {name}", " or use a float64 network"))
        if magnitude and biggest > np.sqrt(limit):
            check_magnitude(block, name, dtype)  # raises
        low, high = min(low, smallest), max(high, largest)
        if each_block is not None:
            each_block(block, row_offset + lo)
    return low, high


class FirstBadRowSum:
    """Given each block of a scan (``check_values(..., each_block=...)``), keeps the first row not summing to 1.

    A row may differ from 1 by ``tol``: ``sqrt(eps)`` of ``dtype``, or of the
    data's own ``data_dtype`` when that is a coarser float (the tolerance
    :meth:`numpy.random.Generator.choice` gives its ``p``): about 1.5e-8 in
    float64 and 3.5e-4 in float32, far above the rounding of probabilities
    stored in that type. ``found`` becomes ``(row, sum)`` of the first row beyond it.
    """

    def __init__(self, dtype, data_dtype=None):
        self.dtype = np.dtype(dtype)
        if data_dtype is not None and np.dtype(data_dtype).kind == "f" \
                and np.dtype(data_dtype).itemsize < self.dtype.itemsize:
            self.dtype = np.dtype(data_dtype)
        self.tol = float(np.sqrt(np.finfo(self.dtype).eps))
        self.found = None

    def __call__(self, block, lo):
        if self.found is not None:
            return
        sums = np.add.reduce(block.reshape(len(block), -1), axis=1, dtype=np.float64)
        bad = np.flatnonzero(np.abs(sums - 1.0) > self.tol)
        if bad.size:
            self.found = (lo + int(bad[0]), float(sums[bad[0]]))


def check_X(X, n_features, dtype, name="X"):
    """``X`` as a 2-D float array (n_samples, n_features) of ``dtype``, finite and non-empty."""
    arr = _as_float_array(X, name, dtype)
    if arr.ndim == 1:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got a 1-D array of shape "
                         f"{arr.shape}; reshape a single sample with {name}.reshape(1, -1) "
                         f"or a single feature with {name}.reshape(-1, 1)")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples (shape {arr.shape}); at least 1 is needed")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 features (shape {arr.shape}); at least 1 is needed")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but the network expects {n_features}")
    check_values(arr, name, dtype, magnitude=False)
    return arr
