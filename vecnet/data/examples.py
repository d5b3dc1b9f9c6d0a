"""Data: the article's four samples and synthetic sets of any size."""

from __future__ import annotations

import numpy as np


def article_data():
    """The article's data: weight and height deviations, and 1 for female.

    Returns
    -------
    X : ndarray, shape (4, 2)
    y : ndarray, shape (4,)
    """
    X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=np.float64)
    y = np.array([1, 0, 0, 1], dtype=np.float64)
    return X, y


def synthetic(n_samples, n_features=2, n_outputs=1, seed=0, dtype=np.float64, scale=1.0):
    """A synthetic set like the article's: ``X`` ~ N(0, scale**2), targets in [0, 1].

    For one output and two features the target is the article's rule (1 when
    the deviations sum below zero); otherwise each output is the sigmoid of a
    fixed random linear map of the standardised inputs.

    Parameters
    ----------
    n_samples, n_features, n_outputs : int
    seed : int, default 0
    dtype : numpy dtype, default float64
    scale : float, default 1.0
        Standard deviation of the inputs. The article's raw deviations are of
        order 10; at that scale per-sample SGD with lr 0.1 saturates the
        sigmoids and amplifies last-bit rounding differences between engines
        chaotically, so standardised inputs are the default.

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,) when ``n_outputs == 1``, else (n_samples, n_outputs)
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, scale, (n_samples, n_features))
    if n_features == 2 and n_outputs == 1:
        y = (X.sum(axis=1) < 0).astype(np.float64)
    else:
        M = rng.normal(size=(n_features, n_outputs)) / np.sqrt(n_features)
        y = 1.0 / (1.0 + np.exp(-(X / scale) @ M))
        if n_outputs == 1:
            y = y[:, 0]
    return X.astype(dtype), y.astype(dtype)
