"""Checks at the public boundary: turn what users pass into what the engines trust."""

from __future__ import annotations

import numpy as np


def _as_float_array(a, name, dtype):
    """``a`` as a float array of ``dtype``; clear errors for sparse, complex and non-numeric input."""
    if hasattr(a, "tocsr") or hasattr(a, "todense"):
        raise TypeError(f"sparse input is not supported for {name}; convert it with {name}.toarray()")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} is complex; vecnet needs real numbers")
    if arr.dtype.kind not in "fiub":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}") from None
    return arr.astype(dtype, copy=False)


def _check_finite(arr, name):
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")


def check_X(X, n_features, dtype, name="X"):
    """``X`` as a 2-D float array (n_samples, n_features) of ``dtype``, finite and non-empty."""
    arr = _as_float_array(X, name, dtype)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}; "
                         f"reshape a single sample with {name}.reshape(1, -1) "
                         f"or a single feature with {name}.reshape(-1, 1)")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples; at least 1 is needed")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 features; at least 1 is needed")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but the network expects {n_features}")
    _check_finite(arr, name)
    return arr


def check_y(y, n_samples, n_outputs, dtype, name="y"):
    """``y`` as a 2-D float array (n_samples, n_outputs) of ``dtype``; 1-D means one output."""
    arr = _as_float_array(y, name, dtype)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"X and {name} have different numbers of samples: "
                         f"X has {n_samples}, {name} has shape {arr.shape}")
    if arr.shape[1] != n_outputs:
        raise ValueError(f"{name} has shape {arr.shape}, but the network has {n_outputs} outputs "
                         f"(expected shape ({n_samples}, {n_outputs}))")
    _check_finite(arr, name)
    return arr


def check_positive_int(value, name, minimum=1):
    """``value`` as an int >= ``minimum``, or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
