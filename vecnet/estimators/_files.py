"""The estimators in model files: what is saved, and checks that a file's parameters, fitted state and
network agree."""

from __future__ import annotations

import numpy as np

from ..engines import engine_names
from ..io import ModelFormatError, plain
from ..io import save as save_model
from ..network import Network

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
    problem = disagreement(est, net, fitted)
    if problem:
        raise ModelFormatError(f"{path}: {problem}")


def disagreement(est, net, fitted):
    """What makes the parameters of ``est``, the ``fitted`` attributes and ``net`` disagree; None if nothing.

    :func:`vecnet.load` refuses such a file, so saving refuses such an estimator first.
    """
    if ACTIVATION_ALIASES[est.activation] != net.activation:
        return (f"the parameter activation={est.activation!r} disagrees with the network's hidden "
                f"activation {net.activation!r}")
    if est._hidden_sizes() != list(net.sizes[1:-1]):
        return (f"the parameter hidden_layer_sizes={est.hidden_layer_sizes!r} disagrees with the network's "
                f"layers {net.sizes}")
    if np.dtype(est.dtype) != net.dtype:
        return f"the parameter dtype={est.dtype!r} disagrees with the network's {net.dtype}"
    if est.n_estimators != 1:
        return f"an estimator file holds one network, but the parameters say n_estimators={est.n_estimators}"
    if fitted["n_features_in_"] != net.sizes[0] or fitted["n_outputs_"] != net.sizes[-1] \
            or not _is_int(fitted["n_features_in_"], 1) or not _is_int(fitted["n_outputs_"], 1):
        return f"n_features_in_ / n_outputs_ do not match the network {net.sizes}"
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
            return f"the fitted attribute {name} is invalid: {fitted[name]!r}"
    if "engine_" in fitted and fitted["engine_"] not in set(engine_names()) - {"auto"}:
        return f"the fitted attribute engine_ is invalid: {fitted['engine_']!r}"
    names = fitted.get("feature_names_in_")
    if names is not None and not (isinstance(names, list) and len(names) == net.sizes[0]
                                  and all(isinstance(n, str) for n in names)):
        return f"the fitted attribute feature_names_in_ is invalid: {names!r}"
    return None


FITTED_STATE = ("n_features_in_", "n_outputs_", "n_iter_", "loss_curve_", "best_loss_",
                "validation_scores_", "best_validation_score_")
"""The fitted attributes that :mod:`vecnet.io` saves with ``net_`` and ``classes_``."""

OPTIONAL_STATE = ("feature_names_in_", "engine_")
"""Fitted attributes a file has only when the estimator had them (older files have no ``engine_``)."""

CURVES = {"loss_curve_": "loss_curve", "validation_scores_": "validation_scores"}
"""The per-epoch fitted attributes, saved as float64 arrays of these names (one value per epoch:
in the JSON header, a long training made a header larger than a file may have); format 1
files kept them in the header, and still load."""


class EstimatorFile:
    """Saving and loading of the MLP estimators (see :mod:`vecnet.io`): the network plus parameters and fitted state."""

    def save(self, path):
        """Save the fitted estimator to ``path``; see :func:`vecnet.io.save`."""
        save_model(self, path)

    # -- files (see vecnet.io) ------------------------------------------------------
    _file_arrays = (Network._file_arrays[0], Network._file_arrays[1] + tuple(CURVES.values()))

    def _to_file(self):
        """Header fields and arrays for :func:`vecnet.io.save`: the network's, plus parameters and fitted state."""
        self._check_fitted()
        self.single_network("saving")
        params = self.get_params()
        if isinstance(params["hidden_layer_sizes"], np.ndarray):   # as fit takes it; a list in the file
            params["hidden_layer_sizes"] = params["hidden_layer_sizes"].tolist()
        fitted = {name: getattr(self, name) for name in FITTED_STATE if name not in CURVES}
        try:   # what load would refuse, refused before anything is written
            self._validate_params()
            problem = disagreement(self, self.net_, plain(dict(fitted, **{name: getattr(self, name)
                                                                          for name in CURVES})))
        except (ValueError, TypeError) as exc:
            problem = str(exc)
        if problem:
            raise ValueError(f"cannot save this {type(self).__name__}: {problem}. Its parameters changed "
                             f"since it was fitted (set_params): set them back, or fit it again")
        fields, arrays = self.net_._to_file()
        fields["params"] = plain(params)
        fields["fitted"] = plain(fitted)
        for name, array in CURVES.items():
            if getattr(self, name) is not None:
                arrays[array] = np.asarray(getattr(self, name), dtype=np.float64)
        if getattr(self, "feature_names_in_", None) is not None:
            fields["fitted"]["feature_names_in_"] = [str(n) for n in self.feature_names_in_]
        if getattr(self, "engine_", None) is not None:   # what partial_fit goes on with after a load
            fields["fitted"]["engine_"] = self.engine_
        return fields, arrays

    def _load_classes(self, path, net, classes):
        """Take the classifier's ``classes`` from a file (a no-op for the regressor)."""

    @classmethod
    def _check_declared(cls, path, header, shapes):
        """Refuse a header that disagrees with the arrays' declared ``(dtype, shape)``; see :mod:`vecnet.io`."""
        Network._check_declared(path, header, shapes)
        if "classes" in shapes and len(shapes["classes"][1]) != 1:
            raise ModelFormatError(f"{path}: the classifier's classes are missing or invalid")
        for name in CURVES.values():
            if name in shapes and (shapes[name][0] != np.float64 or len(shapes[name][1]) != 1):
                raise ModelFormatError(f"{path}: {name} must be a float64 vector, got {shapes[name][0]} "
                                       f"{shapes[name][1]}")

    @classmethod
    def _from_file(cls, path, header, arrays):
        """The fitted estimator a file describes, after checking it; see :func:`vecnet.io.load`."""
        net = Network._from_file(path, header, arrays)
        params, fitted = header.get("params"), header.get("fitted")
        if isinstance(fitted, dict) and "loss_curve" in arrays and not set(CURVES) & set(fitted):
            fitted = dict(fitted, **{name: arrays[array].tolist() if array in arrays else None
                                     for name, array in CURVES.items()})
        elif any(array in arrays for array in CURVES.values()):   # in the header and as arrays
            fitted = None
        if not isinstance(params, dict) or not isinstance(fitted, dict) \
                or set(fitted) - set(OPTIONAL_STATE) != set(FITTED_STATE):
            raise ModelFormatError(f"{path}: the estimator's parameters or fitted attributes are missing")
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        try:
            est = cls().set_params(**params)
            est._validate_params()
        except (ValueError, TypeError) as exc:
            raise ModelFormatError(f"{path}: invalid estimator parameters: {exc}") from None
        check_agreement(path, est, net, fitted)
        if (net.output_activation, net.loss) != cls._output(net.sizes[-1]):
            raise ModelFormatError(f"{path}: a {cls.__name__} cannot have a {net.output_activation} output "
                                   f"with {net.loss} loss")
        est._load_classes(path, net, arrays.get("classes"))
        for name in FITTED_STATE:
            setattr(est, name, fitted[name])
        if fitted.get("feature_names_in_") is not None:
            est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        if "engine_" in fitted:
            est.engine_ = fitted["engine_"]
        if est.best_loss_ is None and not est.early_stopping:
            est.best_loss_ = np.inf
        if est.best_validation_score_ is None and est.early_stopping:
            est.best_validation_score_ = -np.inf
        est.net_ = net
        est.estimators_ = [net]
        return est
