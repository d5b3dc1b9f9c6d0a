"""The estimators trained by local SGD on a cluster: the local ones plus a client, as LightGBM's Dask models."""

from __future__ import annotations

import copy
import inspect
import warnings

import numpy as np

from ..estimators import MLPClassifier, MLPRegressor
from ..estimators._base import (
    ScikitLearnStopping,
    check_random_state,
    convergence_warning,
    data_conversion_warning,
    feature_names,
)
from ._compat import as_dask, check_features, is_dask_array
from ._fit import fit as dask_fit
from ._predict import predict as dask_predict


class _LabelTargets:
    """Labels -> the float targets :class:`vecnet.MLPClassifier` trains on (one column for two classes)."""

    def __init__(self, classes):
        self.classes = np.asarray(classes)

    def __call__(self, y):
        y = np.asarray(y).reshape(-1)
        index = np.searchsorted(self.classes, y)
        known = index < self.classes.size
        known[known] = self.classes[index[known]] == y[known]
        if not known.all():
            raise ValueError(f"y contains labels not in classes_ {self.classes.tolist()}: "
                             f"{np.unique(y[~known]).tolist()}")
        if self.classes.size == 2:
            return index.astype(np.float64).reshape(-1, 1)
        return np.eye(self.classes.size)[index]


class _DaskMLPMixin:
    """``fit`` by :func:`vecnet.dask.fit`; ``predict`` on dask arrays by :func:`vecnet.dask.predict`."""

    _local_class = None

    def __getstate__(self):   # a client cannot be pickled; workers never need it
        state = dict(self.__dict__)
        state["client"] = None
        return state

    def fit(self, X, y):
        """Train by local SGD on the row chunks (partitions) of ``X`` and ``y``.

        Parameters
        ----------
        X : dask.array.Array, shape (n_samples, n_features)
        y : dask.array.Array or array-like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        dtype = self._validate_params()
        if self.early_stopping:
            raise ValueError(f"early_stopping=True is not supported by {type(self).__name__}: it holds "
                             f"out random rows; train with callbacks on vecnet.dask.fit instead")
        if self.n_estimators != 1:
            raise ValueError(f"n_estimators={self.n_estimators} is not supported by {type(self).__name__}: "
                             f"it trains one network on the cluster; use n_estimators=1")
        raw = X
        feature_names(raw)   # refuses column names of mixed types before anything changes
        X = check_features(as_dask(X, "X"))
        if X.ndim != 2 or 0 in X.shape:
            raise ValueError(f"Expected a 2D array with at least one sample and one feature, "
                             f"got shape {X.shape}")
        warm = self.warm_start and self.__sklearn_is_fitted__()
        if warm:
            self._check_architecture(dtype)
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {self.n_features_in_} features as input.")
            self._check_feature_names(raw, reset=False, stacklevel=3)
        encode, n_outputs, classes = self._dask_targets(y, X.shape[0], reset=not warm)
        if warm and n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} outputs, but the model was fitted with {self.n_outputs_}")
        n = X.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        optimizer = self._optimizer(batch, n_outputs)   # refused before anything changes
        rng = check_random_state(self.random_state)
        # some checks happen only in dask_fit or on the workers (sync_every, the client, NaN in a
        # chunk): an error there puts the estimator back as it was, as a refused local fit leaves it
        before = self._snapshot()
        try:
            if warm:
                self.net_.optimizer_state = None
            else:
                self._start(X.shape[1], n_outputs, dtype, rng)
                self._check_feature_names(raw, reset=True)   # records a DataFrame's column names
                if classes is not None:   # the classifier's, assigned once every check has passed
                    self.classes_ = classes
            history = dask_fit(self.net_, X, y, rounds=self.max_iter, sync_every=self.sync_every,
                               batch_size=batch, optimizer=optimizer,
                               engine=self.engine, shuffle=bool(self.shuffle), seed=int(rng.integers(2**63)),
                               callbacks=[self._round_monitor(n_outputs)], client=self.client,
                               _encode=encode)
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        self.engine_ = history.engine
        self.history_ = history
        if history.stopped is None and history.rounds == self.max_iter:
            warnings.warn(convergence_warning(self.max_iter), stacklevel=2)
        return self

    def _snapshot(self):
        """The estimator's attributes, with copies of what a fit changes in place (the network, the
        curve), for :meth:`fit` to put back."""
        state = {name: list(value) if isinstance(value, list) else value for name, value in self.__dict__.items()}
        if "net_" in state:
            state["net_"] = self.net_.copy()
            state["estimators_"] = [state["net_"]]
        return state

    def _round_monitor(self, n_outputs):
        """Per round: record the loss in scikit-learn's units and apply its stopping rule to it."""
        rule = ScikitLearnStopping("loss", self.n_iter_no_change + 1, self.tol,
                                   np.inf if self.best_loss_ is None else self.best_loss_,
                                   scale=self._report_scale(n_outputs))
        seen = {"best": rule.initial_best(), "stale": 0}

        def callback(round_, logs):
            value = rule.measure(logs)
            self.n_iter_ += 1
            self.loss_curve_.append(value)
            new_best, improved = rule.judge(value, seen["best"])
            if new_best:
                seen["best"] = value
            seen["stale"] = 0 if improved else seen["stale"] + 1
            self.best_loss_ = seen["best"]
            return seen["stale"] >= rule.patience

        return callback

    def partial_fit(self, *args, **kwargs):
        """Not supported: raises ``NotImplementedError``. A Dask estimator trains with :meth:`fit`; for
        ``partial_fit``, take :meth:`to_local` (or dask-ml's ``Incremental`` with the local estimator)."""
        raise NotImplementedError(f"{type(self).__name__} trains with fit; for partial_fit use "
                                  f"to_local() (or dask-ml's Incremental with the local estimator)")

    def to_local(self):
        """The plain local estimator with the same parameters and fitted state (a copy).

        Returns
        -------
        vecnet.MLPClassifier or vecnet.MLPRegressor
        """
        local = self._local_class
        names = set(local._param_names())
        model = local(**{k: v for k, v in self.get_params().items() if k in names})
        for name, value in vars(self).items():
            if name.endswith("_") and not name.startswith("_") and name != "history_":
                setattr(model, name, value.copy() if hasattr(value, "copy") else value)
        if hasattr(model, "net_"):   # its own network (the list's copy above held this one's)
            model.estimators_ = [model.net_]
        return model

    def __sklearn_clone__(self):
        """scikit-learn's ``clone``: the parameters deep-copied, but for ``client``, shared (a client
        cannot be copied; the clone trains on the same cluster)."""
        params = self.get_params(deep=False)
        return type(self)(**{name: value if name == "client" else copy.deepcopy(value)
                             for name, value in params.items()})

    def _predict_with(self, method, X):
        self._check_fitted()
        if is_dask_array(X):
            return dask_predict(self.to_local(), X, method)
        return getattr(self._local_class, method)(self, X)

    def predict(self, X):
        """Predictions for ``X``: a dask array for a dask ``X`` (see :func:`vecnet.dask.predict`)."""
        return self._predict_with("predict", X)


_LOCAL_PARAMS = [p for name, p in inspect.signature(MLPClassifier.__init__).parameters.items() if name != "self"]


def _init_signature(cls):
    """The local estimator's ``__init__`` parameters plus ``sync_every`` and ``client``."""
    extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None) for n in ("sync_every", "client")]
    return inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                              *_LOCAL_PARAMS, *extra])


class DaskMLPClassifier(_DaskMLPMixin, MLPClassifier):
    """:class:`vecnet.MLPClassifier` trained by local SGD on a ``distributed`` cluster.

    Parameters are those of :class:`vecnet.MLPClassifier` (``max_iter`` counts
    rounds, one epoch of every partition each; ``early_stopping=True`` and
    ``n_estimators`` other than 1 are refused with a ``ValueError`` at ``fit``), plus:

    sync_every : int, optional
        Average the partitions every ``sync_every`` batches instead of once a
        round; see :func:`vecnet.dask.fit`.
    client : distributed.Client, optional
        Defaults to the current client.

    Attributes
    ----------
    classes_, n_features_in_, n_outputs_, n_iter_, loss_curve_, net_, engine_
        As :class:`vecnet.MLPClassifier`'s.
    history_ : vecnet.dask.DaskHistory
    """

    _local_class = MLPClassifier

    def __init__(self, *args, sync_every=None, client=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sync_every = sync_every
        self.client = client

    def _dask_targets(self, y, n_samples, reset):
        """The label encoder run on the workers, the number of outputs and the classes.

        With ``reset`` the classes are those found in ``y`` (assigned to ``classes_`` by
        the caller); otherwise ``classes_``, and ``y`` may hold no other label.
        """
        y = as_dask(y, "y")
        if y.shape[0] != n_samples or y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
            raise ValueError(f"y must have shape ({n_samples},), got {y.shape}")
        if y.ndim == 2:   # as the local estimator warns
            warnings.warn(data_conversion_warning(), stacklevel=3)
        try:
            found = np.unique(np.asarray(y.ravel().map_blocks(np.unique, dtype=y.dtype).compute()))
        except TypeError:   # numpy cannot sort labels of mixed types (1 and "a")
            raise ValueError("Unknown label type: labels of mixed types cannot be sorted") from None
        if found.dtype.kind == "f" and not np.isfinite(found).all():
            raise ValueError("Input y contains NaN or infinity.")
        if found.dtype.kind == "f" and np.any(found != np.round(found)):
            raise ValueError("Unknown label type: continuous. Use DaskMLPRegressor for continuous targets.")
        if not reset:
            unseen = np.setdiff1d(found, self.classes_)
            if unseen.size:
                raise ValueError(f"y contains labels not in classes_ {self.classes_.tolist()}: "
                                 f"{unseen.tolist()}")
            found = self.classes_
        elif found.size < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; got "
                             f"{found.tolist()}")
        return _LabelTargets(found), 1 if found.size == 2 else found.size, found

    def predict_proba(self, X):
        """Class probabilities: a dask array for a dask ``X``; shape (n_samples, n_classes)."""
        return self._predict_with("predict_proba", X)


class DaskMLPRegressor(_DaskMLPMixin, MLPRegressor):
    """:class:`vecnet.MLPRegressor` trained by local SGD on a ``distributed`` cluster.

    Parameters are those of :class:`vecnet.MLPRegressor` plus ``sync_every`` and
    ``client``, as :class:`DaskMLPClassifier`'s (and with its limits: ``early_stopping=True``
    and ``n_estimators`` other than 1 are refused at ``fit``).
    """

    _local_class = MLPRegressor

    def __init__(self, *args, sync_every=None, client=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sync_every = sync_every
        self.client = client

    def _dask_targets(self, y, n_samples, reset):
        """No encoding (numbers), the number of outputs, no classes."""
        y = as_dask(y, "y")
        if y.shape[0] != n_samples or y.ndim > 2:
            raise ValueError(f"y must have shape ({n_samples},) or ({n_samples}, n_outputs), got {y.shape}")
        if np.dtype(y.dtype).kind not in "fiub":
            raise ValueError(f"{type(self).__name__} needs numeric targets, got dtype {y.dtype}")
        if y.ndim == 2 and y.shape[1] == 0:   # as the local estimator says
            raise ValueError(f"Found y with 0 output(s) (shape={y.shape}) while a minimum of 1 is required.")
        return None, 1 if y.ndim == 1 else y.shape[1], None


for _cls in (DaskMLPClassifier, DaskMLPRegressor):
    _cls.__init__.__signature__ = _init_signature(_cls)
