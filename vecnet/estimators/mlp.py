"""scikit-learn style estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

Their shared parameters, training and the mapping of scikit-learn's settings onto
vecnet's live in :mod:`vecnet.estimators._mlp`.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..data.validation import missing_as_nan
from ..io import ModelFormatError, savable
from ..training.metrics import r2_score
from ._base import check_sample_weight, check_target, data_conversion_warning
from ._files import FITTED_STATE
from ._mlp import _BaseMLP

__all__ = ["FITTED_STATE", "MLPClassifier", "MLPRegressor", "r2_score"]


@savable
class MLPClassifier(_BaseMLP):
    """A multi-layer perceptron classifier with scikit-learn's interface.

    Two classes train one sigmoid output with binary cross-entropy; more train a
    softmax output with categorical cross-entropy. Labels may be any sortable
    values (ints, strings); ``predict`` returns them.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
    activation : {"relu", "tanh", "logistic", "identity"}, default "relu"
        Hidden-layer activation (``"sigmoid"`` is accepted for ``"logistic"``).
    solver : {"adam", "sgd"}, default "adam"
    alpha : float, default 1e-4
        L2 penalty, as scikit-learn's: vecnet's ``l2`` is ``alpha / batch_size`` (see
        :mod:`vecnet.estimators._mlp` for the regressor's scale and the last batch).
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling"}, default "constant"
        Schedule of the ``"sgd"`` solver.
    learning_rate_init : float, default 0.001
    power_t : float, default 0.5
    max_iter : int, default 200
        Maximum number of epochs.
    shuffle : bool, default True
    random_state : int, numpy.random.Generator, RandomState, SeedSequence or None, default None
        Seeds the initial weights, the shuffling and the validation split. A
        saved estimator stores an int as it is and a generator object as
        ``None`` (a file holds plain values only).
    tol : float, default 1e-4
    verbose : bool, default False
        Report each epoch (a tqdm bar, or a printed line) as :func:`vecnet.fit`
        does, the loss in vecnet's units: for the regressor the mean squared
        error, twice ``loss_curve_`` (scikit-learn's half of it).
    warm_start : bool, default False
        ``fit`` continues from the current weights instead of starting anew
        (as does ``partial_fit``); a changed ``hidden_layer_sizes``,
        ``activation``, ``dtype`` or ``n_estimators`` is then refused with a
        ``ValueError``.
    momentum : float, default 0.9
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data, stop when its accuracy
        stops improving and keep the best weights.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's settings.
    n_iter_no_change : int, default 10
    engine : {"auto", "numpy", "numba"}, default "auto"
    dtype : {"float64", "float32"}, default "float64"
    n_estimators : int, default 1
        More than 1 trains a seed ensemble: that many networks, each from its own
        initial weights and shuffling (drawn from ``random_state``), on the same
        data, side by side (:func:`vecnet.fit_many`); predictions are the mean of
        their outputs (probabilities for the classifier). Each member trains as
        it would alone, with its own stopping; ``loss_curve_`` holds the members'
        mean loss per epoch. An ensemble cannot be saved or converted as one
        network; its members can.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    n_features_in_ : int
    n_outputs_ : int
        Units of the output layer (1 for two classes, else ``n_classes``).
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
    best_loss_ : float or None
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    net_ : vecnet.Network
        The network (the first member of an ensemble).
    estimators_ : list of vecnet.Network
        The ``n_estimators`` trained networks.
    engine_ : str
        The engine that ran last. With ``engine="auto"``, ``partial_fit`` keeps the
        engine its first call chose (a small last block does not switch engines).
    """

    _estimator_type = "classifier"
    _scan_targets = False   # one-hot rows made from the labels check_target scanned

    @staticmethod
    def _output(n_outputs):
        return ("sigmoid", "bce") if n_outputs == 1 else ("softmax", "cce")

    def _encode_target(self, y, n_samples, reset, classes=None):
        """``(Y, classes)``: labels as float targets (n_samples, 1) for two classes, one-hot otherwise,
        and the sorted classes (``classes_``, or those found when ``reset``; assigned by the caller)."""
        y = check_target(y, n_samples)
        if y.ndim == 2:
            if y.shape[1] != 1:
                raise ValueError(f"MLPClassifier takes one label per sample; y has shape {y.shape} "
                                 "(multilabel and multi-output targets are not supported)")
            warnings.warn(data_conversion_warning(), stacklevel=5)
            y = y.ravel()
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            raise ValueError("Unknown label type: continuous. MLPClassifier needs class labels; "
                             "use MLPRegressor for continuous targets.")
        if classes is not None:
            classes = _check_classes(classes)
        if reset:
            try:
                found = np.unique(y if classes is None else classes)
            except TypeError:
                raise ValueError("Unknown label type: labels of mixed types cannot be sorted") from None
            if found.size < 2 and classes is None:
                raise ValueError(f"MLPClassifier needs samples of at least 2 classes; got 1 class "
                                 f"({found.tolist()[0]!r})")
            if found.size < 2:
                raise ValueError(f"classes needs at least 2 classes, got {found.tolist()}")
        else:
            found = self.classes_
            if classes is not None and not np.array_equal(np.unique(classes), found):
                raise ValueError(f"classes={np.asarray(classes).tolist()} differs from the classes of the "
                                 f"first call, {found.tolist()}")
        unseen = np.setdiff1d(y, found)
        if unseen.size:
            raise ValueError(f"y contains labels not in classes_ {found.tolist()}: "
                             f"{unseen.tolist()}")
        index = np.searchsorted(found, y)
        if found.size == 2:
            return index.astype(np.float64).reshape(-1, 1), found
        Y = np.zeros((n_samples, found.size))
        Y[np.arange(n_samples), index] = 1.0
        return Y, found

    _file_arrays = (("theta", "classes"), _BaseMLP._file_arrays[1])

    def _to_file(self):
        """The estimator's header fields and arrays, plus ``classes_`` (numbers or strings, no pickle)."""
        fields, arrays = super()._to_file()
        classes = np.asarray(self.classes_)
        if classes.dtype.kind == "O":
            with contextlib.suppress(ValueError, TypeError):  # mixed labels: refused below
                classes = np.asarray(classes.tolist())
        if classes.dtype.kind not in "biufU":
            raise ValueError(f"classes_ of dtype {classes.dtype} cannot be saved without pickle; "
                             "use numbers or strings as labels")
        arrays["classes"] = classes
        return fields, arrays

    def _load_classes(self, path, net, classes):
        """Check and take ``classes`` read from a file."""
        if classes is None or classes.ndim != 1 or classes.size < 2:
            raise ModelFormatError(f"{path}: the classifier's classes are missing or invalid")
        if classes.dtype.kind not in "biufU" or (classes.dtype.kind == "f" and not np.isfinite(classes).all()):
            raise ModelFormatError(f"{path}: the classifier's classes must be finite numbers or "
                                   f"strings, got {classes.tolist()!r}")
        if not np.array_equal(np.unique(classes), classes):
            raise ModelFormatError(f"{path}: the classifier's classes are not distinct sorted labels")
        if net.sizes[-1] != (1 if classes.size == 2 else classes.size):
            raise ModelFormatError(f"{path}: {classes.size} classes do not match {net.sizes[-1]} outputs")
        self.classes_ = classes

    def partial_fit(self, X, y, classes=None):
        """One epoch of training on ``X`` and ``y``, continuing from the current weights.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        classes : array-like, shape (n_classes,)
            Every class that will ever appear; required on the first call.

        Returns
        -------
        self
        """
        if not self.__sklearn_is_fitted__() and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_classes)
        """
        out = self._forward(X)
        if out.shape[1] == 1:
            return np.hstack([1.0 - out, out])
        return out

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``: shape (n_samples, n_classes)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted labels: shape (n_samples,), values from ``classes_``."""
        out = self._forward(X)
        index = (out[:, 0] > 0.5).astype(np.intp) if out.shape[1] == 1 else out.argmax(axis=1)
        return self.classes_[index]

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)`` against ``y``: a float in [0, 1].

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        sample_weight : array-like, shape (n_samples,), or float, optional
            Non-negative weights, not all zero: the weighted share of correct labels.

        Returns
        -------
        float
        """
        pred = self.predict(X)
        y = check_target(y, pred.shape[0])
        if y.ndim == 2 and y.shape[1] != 1:
            raise ValueError(f"y must hold one label per sample, got shape {y.shape}")
        found, fitted = _label_kind(y), _label_kind(np.asarray(self.classes_))
        if found != fitted:   # else every comparison is False: a silent 0.0
            raise ValueError(f"Mix of label input types (string and number): y holds {found} labels, "
                             f"but classes_ holds {fitted} ones")
        weight = check_sample_weight(sample_weight, pred.shape[0])
        return float(np.average(pred == y.reshape(-1), weights=weight))


def _label_kind(labels):
    """``"string"`` or ``"number"``: what the labels of the array ``labels`` are (``"mixed"`` for both)."""
    if labels.dtype.kind in "US":
        return "string"
    if labels.dtype.kind != "O":
        return "number"
    kinds = {"string" if isinstance(v, str) else "number" for v in labels.flat}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _check_classes(classes):
    """``classes`` of :meth:`MLPClassifier.partial_fit` as a 1-D array of finite numbers or strings."""
    arr = np.asarray(classes)
    if arr.ndim != 1 or np.iscomplexobj(arr) or (arr.dtype.kind == "f" and not np.isfinite(arr).all()):
        raise ValueError(f"classes must be a 1-D sequence of class labels (finite numbers or strings), "
                         f"got {classes!r}")
    try:
        np.unique(arr)
    except TypeError:
        raise ValueError(f"classes must be labels of one sortable type, got {classes!r}") from None
    return arr


@savable
class MLPRegressor(_BaseMLP):
    """A multi-layer perceptron regressor with scikit-learn's interface.

    An identity output layer trained with ``mse``; ``y`` may have several columns.
    Parameters are those of :class:`MLPClassifier` (early stopping monitors R^2).

    Attributes
    ----------
    n_features_in_ : int
    n_outputs_ : int
    n_iter_ : int
    loss_curve_ : list of float
        Half the mean squared error of each epoch, as scikit-learn reports it.
    best_loss_ : float or None
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    net_ : vecnet.Network
        The network (the first member of an ensemble).
    estimators_ : list of vecnet.Network
        The ``n_estimators`` trained networks.
    engine_ : str
    """

    _estimator_type = "regressor"

    @staticmethod
    def _output(n_outputs):
        return "identity", "mse"

    def _loss_scale(self, n_outputs):
        return 2.0 / n_outputs

    def _encode_target(self, y, n_samples, reset, classes=None):
        """``(Y, None)``: numbers as float targets (n_samples, n_outputs), not yet scanned (see ``_fit``)."""
        y = check_target(y, n_samples, finite=False)
        if y.dtype.kind in "USVMm":   # text, bytes, records, dates
            raise ValueError(f"MLPRegressor needs numeric targets, got dtype {y.dtype}")
        if y.dtype.kind not in "fiub":
            try:
                y = missing_as_nan(y).astype(np.float64)   # pd.NA: NaN, refused by the scan
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"MLPRegressor needs numeric targets, got dtype {y.dtype}") from None
        Y = y.reshape(n_samples, -1).astype(np.float64)
        if Y.shape[1] == 0:
            raise ValueError(f"Found y with 0 output(s) (shape={y.shape}) while a minimum of 1 is required.")
        if not reset and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the model was fitted with {self.n_outputs_}")
        return Y, None

    def partial_fit(self, X, y):
        """One epoch of training on ``X`` (n_samples, n_features) and ``y``; returns ``self``."""
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        """Predictions: shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        out = self._forward(X)
        return out[:, 0].copy() if out.shape[1] == 1 else out

    def score(self, X, y, sample_weight=None):
        """R^2 of ``predict(X)`` against ``y``, averaged over outputs: a float <= 1.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like, shape (n_samples,), or float, optional
            Non-negative weights, not all zero, as in scikit-learn's weighted ``r2_score``.

        Returns
        -------
        float
        """
        out = self._forward(X)
        y = check_target(y, out.shape[0])
        if y.reshape(out.shape[0], -1).shape[1] != out.shape[1]:
            raise ValueError(f"y has shape {y.shape}, but the model has {out.shape[1]} outputs")
        return r2_score(y, out, check_sample_weight(sample_weight, out.shape[0]))
