"""What a scikit-learn style estimator needs, without scikit-learn.

- :class:`EstimatorBase`: ``get_params`` / ``set_params`` read from the
  ``__init__`` signature, a ``repr`` showing the non-default parameters, and
  ``__sklearn_tags__`` (which imports scikit-learn only when scikit-learn itself
  asks for the tags).
- :func:`check_features` and :func:`check_target`: input checks whose messages
  follow scikit-learn's wording, so tools written for scikit-learn recognise them.
- :class:`NotFittedError`, :class:`ConvergenceWarning`, :class:`DataConversionWarning`, raised
  and warned through :func:`not_fitted_error`, :func:`convergence_warning` and
  :func:`data_conversion_warning`, which make them scikit-learn's classes too when scikit-learn
  is loaded.
"""

from __future__ import annotations

import inspect
import sys
import threading
import warnings
import weakref
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..data.validation import as_dtype, check_values, is_missing, missing_as_nan


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before :meth:`fit`; a ``ValueError`` and an ``AttributeError``."""


class ConvergenceWarning(UserWarning):
    """Training stopped at ``max_iter`` before the loss stopped improving."""


class DataConversionWarning(UserWarning):
    """The input was converted: a column vector ``y`` of shape (n, 1) was raveled."""


# When scikit-learn is loaded, the estimators raise and warn with classes that are both vecnet's
# and scikit-learn's (same name in sklearn.exceptions), so that `except sklearn.exceptions.X`,
# `warnings.simplefilter("ignore", sklearn.exceptions.X)` and scikit-learn's estimator checks
# treat vecnet's estimators as its own, while `except vecnet.X` keeps working. vecnet never
# imports scikit-learn for this: it only looks in sys.modules, at the moment it raises or warns.
# That loses nothing, since code can only name scikit-learn's class (in a filter, an except
# clause or a check) once sklearn.exceptions has been imported; and importing it ourselves would
# make scikit-learn (and SciPy) a dependency, or a cost on every fit, for users who never asked
# for it.
_SKLEARN_TWINS = (NotFittedError, ConvergenceWarning, DataConversionWarning)


@cache
def _with_sklearn_class(vecnet_class, sklearn_class):
    """A subclass of ``vecnet_class`` and of scikit-learn's ``sklearn_class``."""
    return type(vecnet_class.__name__, (vecnet_class, sklearn_class),
                {"__module__": __name__, "__doc__": vecnet_class.__doc__, "__reduce__": _reduce_twin})


def _reduce_twin(self):
    """Pickle as vecnet's class name and args; unpickled as a twin again where scikit-learn is loaded."""
    return _sklearn_twin_instance, (type(self).__name__, self.args)


def _sklearn_twin_instance(name, args):
    """An instance of the twin of vecnet's class ``name`` (vecnet's own class without scikit-learn)."""
    return _sklearn_twin({c.__name__: c for c in _SKLEARN_TWINS}[name])(*args)


def _sklearn_twin(vecnet_class):
    """``vecnet_class``, also scikit-learn's class of that name when scikit-learn is loaded."""
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")   # never imported from here
    sklearn_class = getattr(sklearn_exceptions, vecnet_class.__name__, None)
    if sklearn_class is None:
        return vecnet_class
    return _with_sklearn_class(vecnet_class, sklearn_class)


def not_fitted_error(message):
    """:class:`NotFittedError` with ``message``; also scikit-learn's when scikit-learn is loaded."""
    return _sklearn_twin(NotFittedError)(message)


def convergence_warning(max_iter):
    """:class:`ConvergenceWarning` (also scikit-learn's when scikit-learn is loaded) for a fit that
    reached ``max_iter`` unconverged, in scikit-learn's words (so its filters match)."""
    return _sklearn_twin(ConvergenceWarning)(
        f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the optimization hasn't "
        "converged yet.")


def data_conversion_warning():
    """:class:`DataConversionWarning` (also scikit-learn's when it is loaded) for a column-vector ``y``
    given to a classifier, in scikit-learn's words."""
    return _sklearn_twin(DataConversionWarning)(
        "A column-vector y was passed when a 1d array was expected. Please change the shape of y to "
        "(n_samples, ), for example using ravel().")


class EstimatorBase:
    """Parameters from the ``__init__`` signature, as scikit-learn's ``BaseEstimator``.

    ``__init__`` of a subclass stores each argument unchanged under its own name
    and does nothing else; validation happens in ``fit``.
    """

    _estimator_type = None

    @classmethod
    def _param_names(cls):
        """Names of the ``__init__`` parameters, sorted."""
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep=True):
        """The estimator's parameters.

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn compatibility; vecnet estimators hold no
            sub-estimators.

        Returns
        -------
        dict
            Parameter name -> value.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters by name; returns ``self``. Unknown names raise ``ValueError``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            same = value is default
            if not same:
                try:
                    same = bool(value == default) and type(value) is type(default)
                except (ValueError, TypeError):   # e.g. arrays, ambiguous truth value
                    same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_feature_names(self, X, reset, stacklevel=4):
        """Record (``reset``) or check ``X``'s string column names against ``feature_names_in_``.

        As scikit-learn: names in another order, or other names, are a
        ``ValueError``; names on one side only are a ``UserWarning``.
        """
        names = feature_names(X)
        if reset:
            self.__dict__.pop("feature_names_in_", None)
            if names is not None:
                self.feature_names_in_ = names
            return
        fitted = getattr(self, "feature_names_in_", None)
        who = type(self).__name__
        if fitted is None or names is None:
            if fitted is not None:
                warnings.warn(f"X does not have valid feature names, but {who} was fitted with "
                              "feature names", UserWarning, stacklevel=stacklevel)
            elif names is not None:
                warnings.warn(f"X has feature names, but {who} was fitted without feature names",
                              UserWarning, stacklevel=stacklevel)
            return
        if len(names) == len(fitted) and all(a == b for a, b in zip(names, fitted)):
            return
        unseen = [n for n in names if n not in set(fitted)]
        missing = [n for n in fitted if n not in set(names)]
        message = "The feature names should match those that were passed during fit.\n"
        if unseen:
            message += "Feature names unseen at fit time:\n" + "".join(f"- {n}\n" for n in unseen)
        if missing:
            message += ("Feature names seen at fit time, yet now missing:\n"
                        + "".join(f"- {n}\n" for n in missing))
        if not unseen and not missing:
            message += "Feature names must be in the same order as they were in fit.\n"
        raise ValueError(message)

    def __sklearn_is_fitted__(self):
        """Whether :meth:`fit` has run (scikit-learn's ``check_is_fitted`` asks this)."""
        return hasattr(self, "net_")

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise not_fitted_error(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                                 "with appropriate arguments before using this estimator.")

    def __sklearn_tags__(self):
        """scikit-learn's tags; only scikit-learn calls this, so it may import it."""
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        tags = Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=True),
                    input_tags=InputTags())
        if self._estimator_type == "classifier":
            tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=False)
        else:
            tags.regressor_tags = RegressorTags()
            tags.target_tags.multi_output = True
        return tags


def _as_float(a, name, dtype):
    """``a`` as a float array of ``dtype``, with scikit-learn's wording for what cannot be."""
    if a is None:
        raise ValueError(f"Expected array-like (array or non-string sequence), got None for {name}")
    if hasattr(a, "tocsr") or hasattr(a, "todense"):
        raise TypeError(f"Sparse data was passed for {name}, but vecnet needs dense data; "
                        f"convert it with {name}.toarray()")
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:   # ragged lists and the like
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported in {name}")
    if arr.dtype.kind in "USVMm":   # text, bytes, records, dates: converted, they would be wrong numbers
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind not in "fiub":
        try:
            arr = missing_as_nan(arr).astype(np.float64)   # pd.NA: NaN, refused as NaN by the caller
        except TypeError as exc:
            raise TypeError(f"{name} must be numeric: {exc}") from None
        except (ValueError, OverflowError) as exc:   # OverflowError: a Python int beyond float64
            raise ValueError(f"{name} must be numeric: {exc}") from None
    return as_dtype(arr, dtype, f"Input {name} has", f"the estimator's dtype: scale {name}",
                    " or use dtype=numpy.float64")


def check_features(X, dtype, n_features=None, estimator="estimator", training=False):
    """``X`` as a finite 2-D array (n_samples, n_features) of ``dtype``; scanned once.

    ``n_features`` given, a different width is refused in scikit-learn's words.
    ``training`` also refuses values too large to train on (as :func:`vecnet.fit`
    does), so the training loop can take the result without scanning it again.
    """
    arr = _as_float(X, "X", dtype)
    if arr.ndim != 2:
        raise ValueError(f"Expected 2D array, got {arr.ndim}D array instead (shape {arr.shape}). "
                         "Reshape your data with X.reshape(-1, 1) if it has a single feature or "
                         "X.reshape(1, -1) if it contains a single sample.")
    if arr.shape[0] < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 "
                         "is required.")
    if arr.shape[1] < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 "
                         "is required.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"X has {arr.shape[1]} features, but {estimator} is expecting "
                         f"{n_features} features as input.")
    check_values(arr, "X", dtype, nonfinite="Input X contains NaN or infinity.", magnitude=training)
    return arr


def check_training_target(Y, dtype):
    """Scan the float targets ``Y`` (n_samples, n_outputs) once, as :func:`vecnet.fit` does."""
    check_values(Y, "y", dtype, nonfinite="Input y contains NaN or infinity.")
    return Y


def check_target(y, n_samples, finite=True):
    """``y`` as an array of ``n_samples`` rows (labels or numbers kept as given).

    ``finite``: refuse NaN and inf in float ``y`` here (``False`` when the
    caller scans the targets it makes from ``y`` with :func:`check_training_target`).
    """
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    if hasattr(y, "tocsr") or hasattr(y, "todense"):
        raise TypeError("Sparse data was passed for y, but vecnet needs a dense y")
    arr = np.asarray(y)
    if np.iscomplexobj(arr) or arr.dtype.kind == "O" and any(
            isinstance(v, (complex, np.complexfloating)) for v in arr.flat):
        raise ValueError("Complex data not supported in y")
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(f"y should be a 1d array or a 2d array of shape (n_samples, n_outputs), "
                         f"got an array of shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{n_samples}, {arr.shape[0]}]")
    if finite and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError("Input y contains NaN or infinity.")
    if arr.dtype.kind == "O" and any(v is None or is_missing(v) or isinstance(v, (float, np.floating)) and v != v
                                     for v in arr.flat):
        raise ValueError("Input y contains NaN (None, pd.NA or nan among the labels or targets).")
    return arr


def check_sample_weight(sample_weight, n_samples):
    """``sample_weight`` of ``score`` as float64 weights of shape (n_samples,), or None.

    A number weighs every sample alike. Weights must be finite and non-negative,
    and not all zero.
    """
    if sample_weight is None:
        return None
    if hasattr(sample_weight, "tocsr") or hasattr(sample_weight, "todense"):
        raise TypeError("Sparse data was passed for sample_weight, but vecnet needs a dense array")
    try:
        raw = np.asarray(sample_weight)
        if raw.dtype.kind in "cUSVMm":   # complex, text, bytes, records, dates: numbers only by accident
            raise ValueError
        w = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"sample_weight must hold numbers, got {sample_weight!r}") from None
    if w.ndim == 0:
        w = np.full(n_samples, float(w))
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n_samples},)")
    if not np.isfinite(w).all():
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if (w < 0).any():
        raise ValueError("Negative values in sample_weight are not allowed.")
    if not w.any():
        raise ValueError("sample_weight must not be all zeros: the weighted score would be 0/0")
    with np.errstate(over="ignore"):
        total = w.sum()
    if not np.isfinite(total):   # huge weights: only their ratios count
        w = w / w.max()
    return w


@dataclass(frozen=True)
class ScikitLearnStopping:
    """scikit-learn's MLP stopping rule, for the training loop's early stopping.

    Each epoch counts as no improvement unless the monitored value beats the
    best so far by ``tol`` (a validation score: ``score >= best + tol``; the
    training loss, times ``scale``: ``loss <= best - tol``); any value better
    than the best becomes the best (its weights kept with ``restore_best``).
    Training stops once the count exceeds ``n_iter_no_change``, so ``patience``
    is ``n_iter_no_change + 1``. ``start`` is the best of earlier fits.
    """

    monitor: str
    patience: int
    tol: float
    start: float
    restore_best: bool = False
    scale: float = 1.0

    def initial_best(self):
        return self.start

    def measure(self, logs):
        return float(logs[self.monitor]) * self.scale

    def judge(self, value, best):
        """``(new_best, improved)``."""
        if self.monitor == "loss":   # lower is better
            return value < best, not value > best - self.tol
        return value > best, not value < best + self.tol


def check_random_state(random_state):
    """An int seed or a :class:`numpy.random.Generator` from ``random_state``."""
    if random_state is None or isinstance(random_state, (np.random.Generator, np.random.SeedSequence,
                                                         np.random.BitGenerator)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) \
            and random_state >= 0:
        return np.random.default_rng(int(random_state))
    raise ValueError(f"random_state must be None, an int >= 0, a numpy.random.Generator or RandomState, "
                     f"got {random_state!r}")


def feature_names(X):
    """The column names of a DataFrame-like ``X`` as an object array when all are strings, else None.

    Names of which some are strings and some not are a ``TypeError``, as in scikit-learn.
    """
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = list(columns)
    strings = [isinstance(n, str) for n in names]
    if names and all(strings):
        return np.asarray(names, dtype=object)
    if any(strings):
        kinds = sorted({type(n).__name__ for n in names})
        raise TypeError(f"Feature names are only supported if all input features have string names, but "
                        f"your input has {kinds} as feature name / column name types. If you want feature "
                        f"names to be stored and validated, you must convert them all to strings, by using "
                        f"X.columns = X.columns.astype(str) for example. Otherwise you can remove feature / "
                        f"column names from your input data, or convert them all to a non-string data type.")
    return None


_LOCKS = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def fit_lock(estimator):
    """The lock ``estimator``'s training holds, so that two threads fitting it take turns."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(estimator)
        if lock is None:
            lock = _LOCKS[estimator] = threading.Lock()
        return lock
