"""Checks of an estimator read from a model file: its parameters, fitted state and network agree."""

from __future__ import annotations

import numpy as np

from ..io import ModelFormatError

ACTIVATION_ALIASES = {"logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu",
                      "identity": "identity"}
"""Hidden activations by scikit-learn name (``"logistic"``) or vecnet name."""


def _is_int(value, low=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value):
    """A real number as JSON stores it; ``None`` stands for a non-finite one (see :func:`vecnet.io.plain`)."""
    return value is None or isinstance(value, (int, float)) and not isinstance(value, bool)


def check_agreement(path, est, net, fitted):
    """``ModelFormatError`` unless the parameters, the fitted attributes and the network agree."""
    if ACTIVATION_ALIASES[est.activation] != net.activation:
        raise ModelFormatError(f"{path}: the parameter activation={est.activation!r} disagrees with the "
                               f"stored network's hidden activation {net.activation!r}")
    if est._hidden_sizes() != list(net.sizes[1:-1]):
        raise ModelFormatError(f"{path}: the parameter hidden_layer_sizes={est.hidden_layer_sizes!r} "
                               f"disagrees with the stored network's layers {net.sizes}")
    if np.dtype(est.dtype) != net.dtype:
        raise ModelFormatError(f"{path}: the parameter dtype={est.dtype!r} disagrees with the stored "
                               f"network's {net.dtype}")
    if fitted["n_features_in_"] != net.sizes[0] or fitted["n_outputs_"] != net.sizes[-1] \
            or not _is_int(fitted["n_features_in_"], 1) or not _is_int(fitted["n_outputs_"], 1):
        raise ModelFormatError(f"{path}: n_features_in_ / n_outputs_ do not match the network {net.sizes}")
    curve, scores = fitted["loss_curve_"], fitted["validation_scores_"]
    checks = {
        "n_iter_": _is_int(fitted["n_iter_"]),
        # one loss per epoch; none at all for a model converted from a solver that records
        # no curve (scikit-learn's lbfgs, through vecnet.interop.from_sklearn)
        "loss_curve_": isinstance(curve, list) and all(_is_number(v) for v in curve)
        and len(curve) in (0, fitted["n_iter_"]),
        "best_loss_": _is_number(fitted["best_loss_"]),
        "validation_scores_": scores is None and not est.early_stopping
        or isinstance(scores, list) and all(_is_number(v) for v in scores),
        "best_validation_score_": _is_number(fitted["best_validation_score_"]),
    }
    for name, ok in checks.items():
        if not ok:
            raise ModelFormatError(f"{path}: the fitted attribute {name} is invalid: {fitted[name]!r}")
    names = fitted.get("feature_names_in_")
    if names is not None and not (isinstance(names, list) and len(names) == net.sizes[0]
                                  and all(isinstance(n, str) for n in names)):
        raise ModelFormatError(f"{path}: the fitted attribute feature_names_in_ is invalid: {names!r}")
