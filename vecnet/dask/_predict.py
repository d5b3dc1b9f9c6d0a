"""Predictions on a dask array, as a dask array."""

from __future__ import annotations

import copy

import numpy as np

from ._compat import as_dask, require_dask

METHODS = ("predict", "predict_proba")


def _apply(block, model, method):
    """``model.method(block)`` for one chunk of rows."""
    return getattr(model, method)(block)


def _without_names(model):
    """``model``, or a shallow copy of an estimator without ``feature_names_in_``.

    A dask array has no column names: an estimator fitted with names warns so
    once, at :func:`predict`'s probe; the chunks go to a copy that knows no
    names, so they do not warn again (a filter set around each chunk's call
    would not do: dask's threads would change the process's filters at once).
    """
    if getattr(model, "feature_names_in_", None) is None:
        return model
    unnamed = copy.copy(model)
    del unnamed.feature_names_in_
    return unnamed


def _n_features(model):
    """The number of input features ``model`` (a Network or a fitted estimator) expects."""
    if hasattr(model, "sizes"):
        return model.sizes[0]
    if hasattr(model, "n_features_in_"):
        return model.n_features_in_
    if hasattr(model, "_check_fitted"):   # an estimator before fit: NotFittedError, as its own predict
        model._check_fitted()
    raise TypeError(f"expected a vecnet Network or a fitted vecnet estimator, got {type(model).__name__}")


def predict(model, X, method="predict"):
    """``model``'s predictions for a dask array ``X``, as a dask array, chunk by chunk.

    Parameters
    ----------
    model : vecnet.Network, vecnet.MLPClassifier or vecnet.MLPRegressor
        Fitted. It is put in the graph once (one task), so each worker receives
        it once, whatever the number of chunks.
    X : dask.array.Array or array-like, shape (n_samples, n_features)
        Column chunks are joined first (``X.rechunk({1: -1})``).
    method : {"predict", "predict_proba"}, default "predict"

    Returns
    -------
    dask.array.Array
        Shape (n_samples,) or (n_samples, n_outputs), with the row chunks of
        ``X``: what ``getattr(model, method)`` returns for the same rows in
        memory, exactly (each chunk is computed by that very method).

    Raises
    ------
    vecnet.NotFittedError
        ``model`` is an estimator not fitted yet.
    TypeError
        ``model`` is no vecnet network or estimator, or has no ``method``.
    ValueError
        An unknown ``method``, or ``X`` of the wrong number of features.
    """
    require_dask()
    import dask

    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if not hasattr(model, method):
        raise TypeError(f"{type(model).__name__} has no method {method!r}")
    n_features = _n_features(model)
    X = as_dask(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but the model expects {n_features}")
    probe = getattr(model, method)(np.zeros((1, n_features)))   # the output's shape and dtype
    meta = np.empty((0,) + probe.shape[1:], dtype=probe.dtype)
    held = dask.delayed(_without_names(model), pure=True)
    if probe.ndim == 1:
        return X.map_blocks(_apply, held, method, drop_axis=1, chunks=(X.chunks[0],),
                            dtype=probe.dtype, meta=meta)
    return X.map_blocks(_apply, held, method, chunks=(X.chunks[0], probe.shape[1:]),
                        dtype=probe.dtype, meta=meta)
