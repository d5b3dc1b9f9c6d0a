"""Checks at the public boundary: turn what users pass into what the engines trust.

Every check raises before any work is done, with a message that names the
argument, what it got and what it needs. Data problems are ``ValueError``
(shape, NaN/inf, size, complex numbers) or ``TypeError`` (sparse matrices,
non-numeric values); bad hyperparameters are always ``ValueError``.
"""

from __future__ import annotations

import numbers
import os

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
        arr = missing_as_nan(arr).astype(np.float64)
    check_real_dtype(arr.dtype, name)
    return as_dtype(arr, dtype, f"{name} has", f"the network's dtype: scale {name} or use a float64 network")


NETWORK_INTERFACE = ("theta", "layout", "gradients", "sizes", "activation", "output_activation", "loss", "dtype")
"""What tells a :class:`vecnet.Network` where its class cannot be imported (the layers below it)."""


def is_network(obj):
    """True for a :class:`vecnet.Network`, told by its interface (:data:`NETWORK_INTERFACE`)."""
    return all(hasattr(obj, name) for name in NETWORK_INTERFACE)


def check_batch(X, Y, n_in, n_out):
    """``ValueError`` unless ``X`` and ``Y`` are arrays (n, ``n_in``) and (n, ``n_out``): what
    :meth:`vecnet.Network.gradients` takes (a ``Y`` of shape (n,) against (n, 1) outputs would
    broadcast to (n, n): a wrong number, silently)."""
    if not (isinstance(X, np.ndarray) and isinstance(Y, np.ndarray) and X.ndim == 2 and X.shape[1] == n_in
            and Y.shape == (X.shape[0], n_out)):
        got = [a.shape if isinstance(a, np.ndarray) else type(a).__name__ for a in (X, Y)]
        raise ValueError(f"X and Y must be arrays of shapes (n_samples, {n_in}) and (n_samples, {n_out}), "
                         f"got {got[0]} and {got[1]} (reshape a 1-D y with y.reshape(-1, 1))")


def as_dtype(arr, dtype, subject, remedy):
    """The numeric array ``arr`` in ``dtype``; ``ValueError`` when a finite value is beyond its range.

    The message reads ``f"{subject} values as large as ..., beyond the range of
    {dtype}, {remedy}"``.
    """
    if arr.dtype.kind == "f" and arr.dtype.itemsize > np.dtype(dtype).itemsize:
        with np.errstate(over="ignore", under="ignore"):  # tiny values may round to 0: fine
            out = arr.astype(dtype)
        if not np.isfinite(out).all() and np.isfinite(arr).all():
            raise ValueError(f"{subject} values as large as {float(np.abs(arr).max()):.3g}, beyond "
                             f"the range of {np.dtype(dtype).name}, {remedy}")
        return out
    return arr.astype(dtype, copy=False)


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
    """Refuse an object array holding anything but real numbers (``pd.NA`` counts as NaN)."""
    for value in arr.flat:
        if isinstance(value, (numbers.Real, np.bool_)) or is_missing(value):
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
            raise ValueError(f"{name} has values as large as {biggest:.3g}, beyond the range "
                             f"of {np.dtype(dtype).name}, the network's dtype: "
                             f"scale {name} or use a float64 network")
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


# -- hyperparameters ------------------------------------------------------------
def check_positive_int(value, name, minimum=1):
    """``value`` as an int >= ``minimum``, or ``ValueError``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(value, name, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a finite float in the interval given, or ``ValueError``.

    ``low`` / ``high`` are bounds (``None``: unbounded); ``*_open`` excludes them.
    """
    lo = "(" if low_open else "["
    hi = ")" if high_open or high is None else "]"
    interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number in {interval}, got {value!r}")
    value = float(value)
    ok = np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return value


def check_bool(value, name):
    """``value`` as a bool; ``ValueError`` for anything but ``True``/``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value, name, choices):
    """``value`` when it is one of the strings ``choices``, else ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid ones are {list(choices)}")
    return value


def check_seed(seed, name="seed"):
    """``seed`` when ``numpy.random.default_rng`` takes it: None, an int >= 0, a Generator, SeedSequence
    or BitGenerator."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence,
                                         np.random.BitGenerator)):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be None, an integer >= 0, or a numpy.random.Generator, "
                         f"SeedSequence or BitGenerator, got {seed!r}")
    return int(seed)


def check_sizes(sizes):
    """Layer sizes as a list of at least two ints >= 1, or ``ValueError``."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise ValueError(f"sizes must be a sequence of layer sizes such as [2, 2, 1], got {sizes!r}")
    sizes = list(sizes)
    bad = [s for s in sizes if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer))]
    if bad:
        raise ValueError(f"sizes must hold integers, got {bad[0]!r} in {sizes!r}")
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes needs at least two layers of at least 1 unit each, got {sizes}")
    return sizes


MAX_EPOCHS = 10**8
"""Most epochs one fit may run: the history keeps a loss per epoch (about 3 GB at this count)."""


def check_epochs(epochs):
    """``epochs`` as an int in ``[1, MAX_EPOCHS]``, else ``ValueError``."""
    epochs = check_positive_int(epochs, "epochs")
    if epochs > MAX_EPOCHS:
        raise ValueError(f"epochs must be an integer in [1, {MAX_EPOCHS}] (the history keeps one "
                         f"loss per epoch), got {epochs!r}")
    return epochs


def check_fit_params(epochs, batch_size, engine, engines, shuffle, seed, verbose):
    """Validate :func:`vecnet.fit`'s scalar options; return ``epochs`` and ``batch_size`` as ints (or None)."""
    check_choice(engine, "engine", engines)
    epochs = check_epochs(epochs)
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    check_bool(shuffle, "shuffle")
    if not isinstance(verbose, (bool, np.bool_)):
        check_positive_int(verbose, "verbose", minimum=0)
    check_seed(seed)
    return epochs, batch_size


def check_callbacks(callbacks):
    """``callbacks`` as a list of callables; ``ValueError`` naming the first that is not one."""
    if callable(callbacks) or isinstance(callbacks, (str, bytes, dict)) or not hasattr(callbacks, "__iter__"):
        raise ValueError(f"callbacks must be a sequence of callables callback(epoch, logs), "
                         f"got {callbacks!r}")
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if not callable(cb):
            raise ValueError(f"callbacks[{i}] must be a callable callback(epoch, logs), got {cb!r}")
    return callbacks


def check_validation_fraction(value, name="validation_fraction"):
    """``None`` or a float in (0, 1), else ``ValueError`` naming ``name``."""
    if value is None:
        return None
    return check_real(value, name, low=0, high=1, low_open=True, high_open=True)


def check_path(path, name="path"):
    """``path`` as a ``str`` (or ``bytes``) file name; ``TypeError`` or ``ValueError`` naming ``name`` otherwise.

    A NUL byte is refused here (the operating system would refuse it with "embedded null
    byte", which names neither the parameter nor the path).
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{name} must be a file name (str or os.PathLike), got {path!r}") from None
    if ("\0" if isinstance(path, str) else b"\0") in path:
        raise ValueError(f"{name} must be a file name without NUL bytes, got {path!r}")
    return path


def check_float_dtype(value, name="dtype", note=""):
    """``numpy.dtype('float32')`` or ``numpy.dtype('float64')`` from ``value``; ``ValueError`` naming ``name``.

    Anything numpy cannot read as a dtype (it parses strings such as ``"0:"`` as record
    formats, with its own parser's errors) is refused with the same message.
    """
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError, SyntaxError):
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be 'float32' or 'float64'{note}, got {value!r}")
    return dtype


def check_output_path(path, option, what="file", example="out"):
    """``ValueError`` unless a ``what`` can be written at ``path`` (given as ``option``).

    Checked before any work, so that a long run does not end in an error: the
    path is not a folder, and its folder exists and is writable.
    """
    if os.path.isdir(path):
        raise ValueError(f"{option} {path}: is a folder; name the {what} to write, "
                         f"e.g. {os.path.join(path, example)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {path}: the folder {folder} is not writable")


def check_figure_path(path, option="--plot"):
    """:func:`check_output_path` for a matplotlib figure, and a file type matplotlib writes.

    Imports matplotlib (the ``plot`` extra): ``OSError`` saying how to install it when it is missing.
    """
    try:
        import matplotlib
    except ImportError:
        raise OSError(f'{option} needs matplotlib: pip install "vecnet[plot]"') from None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    check_output_path(path, option, "figure", "figure.png")
    kind = os.path.splitext(path)[1][1:].lower()
    types = Figure().canvas.get_supported_filetypes()
    if kind and kind not in types:   # no extension: matplotlib's default, png
        raise ValueError(f"{option} {path}: matplotlib cannot write .{kind} files; use one of "
                         f"{', '.join('.' + t for t in sorted(types))}")

