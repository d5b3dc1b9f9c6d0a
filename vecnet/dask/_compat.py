"""dask and distributed, imported when first needed, and the vecnet internals this package uses (all here)."""

from __future__ import annotations

import numpy as np

from ..data.lazy import DaskRows, is_dask_array  # noqa: F401  (re-exported)
from ..data.options import check_positive_int  # noqa: F401
from ..data.rows import DEFAULT_CHUNK_BYTES, as_rows  # noqa: F401  (re-exported)
from ..data.validation import _check_object_numbers, check_real_dtype, missing_as_nan  # noqa: F401
from ..engines import choose_engine, engine_names  # noqa: F401
from ..optimizers import make_optimizer, starting_state  # noqa: F401
from ..training import DivergenceWarning, History  # noqa: F401
from ..training import fit as local_fit  # noqa: F401
from ..training.history import warn_too_large  # noqa: F401
from ..training.loop import _stops as stops  # noqa: F401
from ..training.loop import _target_loss as target_loss  # noqa: F401
from ..training.loop import attach_histories  # noqa: F401
from ..training.metrics import evaluate, metric_name  # noqa: F401
from ..weights import check_writable  # noqa: F401

INSTALL = 'pip install "vecnet[dask]"'


def require_dask():
    """``dask.array``, or ``ImportError`` saying how to install it."""
    try:
        import dask.array as da
    except ImportError as exc:
        raise ImportError(f"vecnet.dask needs dask: {INSTALL}") from exc
    return da


def get_client(client=None):
    """``client``, else the current ``distributed`` client; clear errors when there is none."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(f"vecnet.dask.fit needs distributed: {INSTALL}") from exc
    if client is not None:
        return client
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError("vecnet.dask.fit needs a distributed cluster: start one, e.g. "
                         "client = distributed.Client(distributed.LocalCluster()), or pass "
                         "client=") from None


def as_dask(a, name, row_chunks=None):
    """``a`` as a dask array of whole rows (column chunks joined); numpy input in ``row_chunks``.

    With ``row_chunks`` (those of ``X``), ``a`` must have as many rows: ``ValueError`` otherwise,
    before any rechunking (whose own error names no array).
    """
    da = require_dask()
    if hasattr(a, "dask") and hasattr(a, "npartitions") and not hasattr(a, "chunks"):
        raise TypeError(f"{name} is a dask DataFrame or Series; pass a dask array: "
                        f"{name}.to_dask_array(lengths=True)")
    if not is_dask_array(a):
        arr = np.asarray(a)
        if arr.dtype.kind == "O":   # pandas' nullable columns: numbers and pd.NA (as NaN) become float64
            try:
                _check_object_numbers(arr, name)
            except (TypeError, ValueError):
                pass   # labels, or values the checks downstream refuse in their own words
            else:
                arr = missing_as_nan(arr).astype(np.float64)
        if arr.ndim == 0:
            raise ValueError(f"{name} must be 1-D or 2-D, got a scalar")
        _check_rows(arr.shape[0], row_chunks, name)
        a = da.from_array(arr, chunks=(row_chunks or arr.shape[0],) + arr.shape[1:])
    if a.ndim == 0:
        raise ValueError(f"{name} must be 1-D or 2-D, got a scalar")
    _check_rows(a.shape[0], row_chunks, name)
    if any(np.isnan(c) for c in a.chunks[0]):
        raise ValueError(f"{name} is a dask array with unknown chunk sizes; call "
                         f"{name}.compute_chunk_sizes() first (or to_dask_array(lengths=True))")
    if any(len(c) > 1 for c in a.chunks[1:]):
        a = a.rechunk({k: -1 for k in range(1, a.ndim)})
    if row_chunks is not None and a.chunks[0] != tuple(row_chunks):
        a = a.rechunk({0: tuple(row_chunks)})
    return a


def _check_rows(n, row_chunks, name):
    """``ValueError`` unless ``n`` rows fill ``row_chunks`` (those of ``X``; None: nothing to match)."""
    if row_chunks is not None and not np.isnan(n) and n != sum(row_chunks):
        raise ValueError(f"X and {name} have different numbers of samples: {sum(row_chunks)} and {n}")


def check_features(X):
    """``X`` (a dask array) holds real numbers: ``ValueError`` for complex values, ``TypeError`` for
    anything else that is not a number (strings), as :func:`vecnet.fit` says; the workers would
    convert both (dropping the imaginary part, parsing the strings)."""
    check_real_dtype(X.dtype, "X")
    return X
