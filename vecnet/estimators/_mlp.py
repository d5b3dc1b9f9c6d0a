"""The training shared by :class:`vecnet.MLPClassifier` and :class:`vecnet.MLPRegressor`.

They follow scikit-learn's conventions (``__init__`` stores parameters only;
``fit`` returns ``self``; fitted attributes end with ``_``) and its
``MLPClassifier`` / ``MLPRegressor`` parameter names and defaults, so the same
settings mean the same network, but they need only numpy and numba: training runs
through :func:`vecnet.fit` on a :class:`vecnet.Network` kept in ``net_``.

How scikit-learn's settings map onto vecnet's (per batch of ``n`` samples):

- ``alpha`` (scikit-learn adds ``alpha * W / n`` to the gradient) becomes the
  optimizer's ``l2 = alpha / n`` for the classifier (cross-entropy has the same
  scale in both). For the regressor vecnet's ``mse`` is ``mean((y - p)**2)``,
  whose gradient is ``2 / n_outputs`` times scikit-learn's squared loss
  ``mean((y - p)**2) / 2`` summed over outputs; ``l2`` and (for ``"sgd"``)
  the learning rate are scaled by that factor, so both solvers take the same
  steps as scikit-learn's; but for a last batch smaller than ``batch_size``, which
  gets ``alpha / batch_size`` too (scikit-learn divides by its own size).
- ``learning_rate="invscaling"`` uses vecnet's schedule, ``lr / (t + 1) ** power_t``
  with ``t`` counting updates; scikit-learn counts samples seen, updated once an
  epoch. ``"adaptive"`` is not offered.
- ``loss_curve_`` holds each epoch's training loss in scikit-learn's units
  (half the mse for the regressor), without the L2 term.
- Weights start from Glorot-uniform draws with zero biases (scikit-learn also
  draws its biases); ``random_state`` seeds those draws, the shuffling and the
  validation split.
- Convergence follows scikit-learn: training stops once the loss (or, with
  ``early_stopping``, the validation score) has not improved by ``tol`` for more
  than ``n_iter_no_change`` epochs; with ``early_stopping`` the best weights seen
  are restored. Reaching ``max_iter`` first warns with :class:`ConvergenceWarning`.
"""

from __future__ import annotations

import inspect
import os
import warnings
from dataclasses import replace

import numpy as np

from ..data.options import (
    MAX_EPOCHS,
    check_bool,
    check_callbacks,
    check_choice,
    check_float_dtype,
    check_positive_int,
    check_real,
    check_seed,
)
from ..data.rows import Rows
from ..engines import engine_names
from ..network import Network
from ..optimizers import SGD, Adam
from ..training.loop import train
from ..training.many import train_many
from ..training.metrics import metric_name
from ..training.settings import Settings, clip_batch_size
from ..weights import check_writable, count_params
from ._base import (
    EstimatorBase,
    ScikitLearnStopping,
    check_features,
    check_random_state,
    check_training_target,
    convergence_warning,
    feature_names,
    fit_lock,
)
from ._files import ACTIVATION_ALIASES, EstimatorFile
from ._sklearn_names import ScikitLearnNames

OWN_FIT_OPTIONS = frozenset({"epochs", "lr", "batch_size", "engine", "optimizer", "shuffle", "seed",
                             "verbose", "early_stopping", "validation_data", "validation_fraction",
                             "fresh_optimizer"})
"""Options of :func:`vecnet.fit` that the estimators' parameters set."""



def _check_ensemble_memory(k, sizes, dtype):
    """``ValueError`` when ``k`` networks of ``sizes`` need more memory than the machine has (their
    weights and an optimizer state, 4 vectors each), before any is built: one at a time, a huge
    ``n_estimators`` of small networks ran for ever instead."""
    if k == 1:
        return   # one network: Network itself says when its weights cannot be allocated
    n_params = count_params(sizes)
    need = 4 * k * n_params * np.dtype(dtype).itemsize
    try:
        have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):   # not a POSIX system: not checked
        return
    if need > have:
        raise ValueError(f"n_estimators={k} networks of {n_params:,} parameters need {need / 1e9:.3g} GB for "
                         f"their weights and optimizer state, more than this machine's {have / 1e9:.3g} GB")


class _BaseMLP(ScikitLearnNames, EstimatorFile, EstimatorBase):
    """Shared parameters and training of the two estimators; see their docstrings."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, engine="auto", dtype="float64", n_estimators=1):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.engine = engine
        self.dtype = dtype
        self.n_estimators = n_estimators

    # -- subclass hooks -----------------------------------------------------------
    _output = None   # (output activation, loss) chosen from the number of outputs

    _scan_targets = True   # the regressor's targets are the user's numbers; the classifier makes its own

    def _loss_scale(self, n_outputs):
        """vecnet's loss gradient over scikit-learn's (1 for cross-entropy)."""
        return 1.0

    # -- checks -------------------------------------------------------------------
    def _hidden_sizes(self):
        """``hidden_layer_sizes`` as a list of ints >= 1, or ``ValueError`` naming it."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, (bool, np.bool_)):
            sizes = [sizes]
        ok = not isinstance(sizes, (str, bytes, dict, set)) and hasattr(sizes, "__iter__")
        sizes = list(sizes) if ok else []
        if not ok or not sizes or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) and s >= 1
                for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be an integer >= 1 or a non-empty sequence of "
                             f"them, such as (100,) or (64, 32); got {self.hidden_layer_sizes!r}")
        return [int(s) for s in sizes]

    def _validate_params(self):
        """Refuse a bad parameter with a message naming it and what is valid; return the dtype.

        Every parameter is checked, with scikit-learn's accepted ranges, before
        any data is read.
        """
        check_choice(self.activation, "activation", sorted(ACTIVATION_ALIASES))
        check_choice(self.solver, "solver", ["adam", "sgd"])
        check_choice(self.learning_rate, "learning_rate", ["constant", "invscaling"])
        check_choice(self.engine, "engine", engine_names(general=True))
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"
                or isinstance(self.batch_size, (int, np.integer))
                and not isinstance(self.batch_size, (bool, np.bool_)) and self.batch_size >= 1):
            raise ValueError(f"batch_size must be 'auto' or an integer >= 1, got {self.batch_size!r}")
        check_positive_int(self.max_iter, "max_iter")
        if self.max_iter > MAX_EPOCHS:
            raise ValueError(f"max_iter must be an integer in [1, {MAX_EPOCHS}], got {self.max_iter!r}")
        check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        check_positive_int(self.n_estimators, "n_estimators")
        for name in ("alpha", "tol", "power_t"):
            check_real(getattr(self, name), name, low=0)
        check_real(self.learning_rate_init, "learning_rate_init", low=0, low_open=True)
        check_real(self.epsilon, "epsilon", low=0, low_open=True)
        check_real(self.momentum, "momentum", low=0, high=1, high_open=True)
        for name in ("beta_1", "beta_2", "validation_fraction"):
            check_real(getattr(self, name), name, low=0, high=1, high_open=True)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            check_bool(getattr(self, name), name)
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError("validation_fraction must be in (0, 1) with early_stopping=True, got 0")
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_positive_int(self.verbose, "verbose", minimum=0)
        if not isinstance(self.random_state, np.random.RandomState):
            check_seed(self.random_state, "random_state")
        dtype = check_float_dtype(self.dtype)
        self._hidden_sizes()
        return dtype

    def _optimizer(self, batch, n_outputs):
        """The vecnet optimizer taking scikit-learn's steps for batches of ``batch`` samples."""
        scale = self._loss_scale(n_outputs)
        l2 = self.alpha * scale / batch
        for name, value in (("alpha", l2), ("learning_rate_init", self.learning_rate_init / scale)):
            if not np.isfinite(value):
                raise ValueError(f"{name}={getattr(self, name)!r} is too large: the step it sets "
                                 f"overflows to inf; use a finite number far below 1e308")
        if self.solver == "adam":
            return Adam(lr=self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                        eps=self.epsilon, l2=l2)
        return SGD(lr=self.learning_rate_init / scale, momentum=self.momentum,
                   nesterov=bool(self.nesterovs_momentum) and self.momentum > 0, l2=l2,
                   schedule=self.learning_rate, power_t=self.power_t)

    # -- training -----------------------------------------------------------------
    def _fit(self, X, y, *, incremental, classes=None, fit_params=None):
        """Train under this estimator's lock: two threads fitting one estimator take turns."""
        with fit_lock(self):
            return self._fit_unlocked(X, y, incremental, classes, fit_params)

    def _fit_unlocked(self, X, y, incremental, classes, fit_params):
        """Check, then configure and run :func:`vecnet.training.train`; see :meth:`fit`.

        Everything that can be refused (parameters, ``fit_params``, data, the
        validation split, the optimizer's step) is checked before the first
        change to the estimator: a refused call leaves a fitted estimator as it was.
        """
        fit_params = _check_fit_params(fit_params)
        dtype = self._validate_params()
        feature_names(X)   # refuses column names of mixed types before anything changes
        reset = not self.__sklearn_is_fitted__() or not (incremental or self.warm_start)
        if not reset:
            self._check_architecture(dtype)
        raw = X
        if not reset:
            self._check_feature_names(raw, reset=False, stacklevel=5)
        X = check_features(X, dtype, None if reset else self.n_features_in_, type(self).__name__,
                           training=True)
        Y, labels = self._encode_target(y, X.shape[0], reset, classes)
        if self._scan_targets:
            check_training_target(Y, dtype)
        rows = Rows(X, Y.astype(dtype, copy=False), dtype)   # checked: train() scans nothing again
        validating = self.early_stopping and not incremental
        n_val = self._n_validation(len(rows)) if validating else 0
        batch = min(200, len(rows) - n_val) if self.batch_size == "auto" else int(self.batch_size)
        self._optimizer(min(batch, len(rows) - n_val), Y.shape[1])   # refuses a step that overflows
        rng = check_random_state(self.random_state)
        if reset:
            self._start(X.shape[1], Y.shape[1], dtype, rng)
            self._check_feature_names(raw, reset=True)   # records them
            if labels is not None:   # the classifier's
                self.classes_ = labels
        rows, val = self._split(rows, n_val, rng) if validating else (rows, None)
        if validating and self.validation_scores_ is None:   # early_stopping set on since the last fit
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        batch = clip_batch_size(batch, len(rows), stacklevel=5)
        engine = self.engine
        if incremental and not reset and engine == "auto" and getattr(self, "engine_", None):
            engine = self.engine_   # chosen once: a small trailing block must not switch (and compile)
        settings = [self._settings(batch, Y.shape[1], val is not None, incremental, rng, fit_params,
                                   engine, start) for start in self._member_starts(val is not None)]
        try:
            if len(self.estimators_) == 1:
                histories = [train(self.net_, rows, settings[0], val, stacklevel=5)]
            else:   # an ensemble: every member trained side by side, each as it would be alone
                histories = train_many(self.estimators_, rows, settings, val, stacklevel=5)
        except BaseException as exc:   # Ctrl-C, a callback's error: count the epochs the weights hold
            done = getattr(exc, "vecnet_histories", None)
            if done and any(h.loss for h in done):
                self._record(done, Y.shape[1])
            raise
        self._record(histories, Y.shape[1])
        if not incremental and any(h.stopped is None and h.epochs == self.max_iter for h in histories):
            warnings.warn(convergence_warning(self.max_iter), stacklevel=4)
        return self

    def _check_architecture(self, dtype):
        """``ValueError`` if a parameter no longer describes the network a continued fit trains, or it is read-only."""
        net = self.net_
        for member in self.estimators_:
            check_writable(member.theta)
        for name, before, now in (("dtype", net.dtype.name, np.dtype(dtype).name),
                                  ("hidden_layer_sizes", tuple(net.sizes[1:-1]), tuple(self._hidden_sizes())),
                                  ("activation", net.activation, ACTIVATION_ALIASES[self.activation]),
                                  ("n_estimators", len(self.estimators_), self.n_estimators)):
            if before != now:
                raise ValueError(f"{name} changed from {before} to {now} since the last fit; warm_start "
                                 f"and partial_fit continue the network as it is: set warm_start=False "
                                 f"(or make a new estimator) to train a new one")

    def _member_starts(self, validating):
        """Where each member's stopping rule starts: its own best so far (``best_validation_score_`` or
        ``best_loss_`` for one network; an ensemble's are the means, each member keeps its own)."""
        if validating:
            own = self.best_validation_score_
        else:   # the training loss in scikit-learn's units; early_stopping leaves best_loss_ None
            own = np.inf if self.best_loss_ is None else self.best_loss_
        bests = self.__dict__.get("_member_best")
        if len(self.estimators_) == 1 or bests is None:
            return [own] * len(self.estimators_)
        return list(bests["val" if validating else "loss"])

    def _settings(self, batch, n_outputs, validating, incremental, rng, fit_params, engine, start):
        """The training loop's settings for scikit-learn's parameters (and ``fit_params``); the stopping
        rule starts from ``start`` (see :meth:`_member_starts`)."""
        if validating:
            rule = ScikitLearnStopping(f"val_{metric_name(self.net_.loss)}", self.n_iter_no_change + 1,
                                       self.tol, start, restore_best=True)
        else:
            rule = ScikitLearnStopping("loss", self.n_iter_no_change + 1, self.tol, start,
                                       scale=self._report_scale(n_outputs))
        options = dict(fit_params, epochs=1 if incremental else self.max_iter, batch_size=batch,
                       engine=engine, optimizer=self._optimizer(batch, n_outputs),
                       shuffle=bool(self.shuffle), seed=int(rng.integers(2**63)),
                       verbose=bool(self.verbose), fresh_optimizer=not incremental)
        return replace(Settings.check(**options), stopping=rule)

    def _report_scale(self, n_outputs):
        """scikit-learn's loss over vecnet's: half the mse for the regressor."""
        return 0.5 if self._output(n_outputs)[1] == "mse" else 1.0

    def _record(self, histories, n_outputs):
        """Update the fitted attributes from what the training loop did for each member.

        One member: its epochs and losses. An ensemble: each epoch's loss (and
        validation score) is the mean over the members that ran that epoch;
        ``n_iter_`` counts the epochs of the member that ran longest.
        """
        self.engine_ = histories[0].engine
        self._compile_time = max(h.compile_time for h in histories)   # for vecnet train's report
        scale = self._report_scale(n_outputs)
        curve = _mean_by_epoch([[float(v) * scale for v in h.loss] for h in histories])
        scores = _mean_by_epoch([h.val_metric for h in histories])
        self.n_iter_ += len(curve)
        self.loss_curve_.extend(curve)
        if scores:
            self.validation_scores_.extend(scores)
            self.best_validation_score_ = max(self.best_validation_score_, *scores)
        elif curve:
            self.best_loss_ = min(np.inf if self.best_loss_ is None else self.best_loss_, *curve)
        bests = self.__dict__.get("_member_best")
        for k, h in enumerate(histories if bests is not None and len(histories) > 1 else ()):
            if h.val_metric:
                bests["val"][k] = max(bests["val"][k], *h.val_metric)
            elif h.loss:
                bests["loss"][k] = min(bests["loss"][k], *(float(v) * scale for v in h.loss))

    def _start(self, n_features, n_outputs, dtype, rng):
        """Fresh network and fitted attributes."""
        out_act, loss = self._output(n_outputs)
        sizes = [n_features, *self._hidden_sizes(), n_outputs]
        _check_ensemble_memory(self.n_estimators, sizes, dtype)
        try:
            members = [Network(sizes, activation=ACTIVATION_ALIASES[self.activation],
                               output_activation=out_act, loss=loss, init="glorot", seed=rng, dtype=dtype)
                       for _ in range(self.n_estimators)]
        except ValueError as exc:   # e.g. layers too large for memory
            raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r}: {exc}") from None
        self.net_ = members[0]
        self.estimators_ = members
        self.n_features_in_ = n_features
        self.n_outputs_ = n_outputs
        self.n_iter_ = 0
        self.loss_curve_ = []
        self.best_loss_ = None if self.early_stopping else np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        k = self.n_estimators   # an ensemble's members' own bests (the attributes above are means)
        self._member_best = {"val": [-np.inf] * k, "loss": [np.inf] * k}

    def _n_validation(self, n):
        """How many of ``n`` rows ``early_stopping`` holds out: ``ceil(validation_fraction * n)``, at
        least one each side, else ``ValueError``."""
        n_val = int(np.ceil(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 1:
            raise ValueError(f"early_stopping needs at least 2 samples to hold out a validation set, "
                             f"got {n}")
        return n_val

    @staticmethod
    def _split(rows, n_val, rng):
        """Training and validation rows: ``n_val`` rows held out, drawn at random."""
        order = rng.permutation(len(rows))
        return rows.select(order[n_val:]), rows.select(order[:n_val])

    def _forward(self, X):
        """Network outputs (n_samples, n_outputs) for validated ``X``."""
        self._check_fitted()
        self._check_feature_names(X, reset=False)
        X = check_features(X, self.net_.dtype, self.n_features_in_, type(self).__name__)
        if len(self.estimators_) == 1:
            return self.net_.forward(X).astype(np.float64, copy=False)
        total = np.zeros((X.shape[0], self.n_outputs_))
        for net in self.estimators_:   # the ensemble's mean output, in float64
            total += net.forward(X)
        return total / len(self.estimators_)

    # -- public API -----------------------------------------------------------------
    def fit(self, X, y, **fit_params):
        """Train on ``X`` and ``y`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        **fit_params
            Further options of :func:`vecnet.fit`, passed on; ``callbacks`` run after
            the estimator's own stopping rule each epoch. The options the estimator's
            parameters set (epochs, batch size, optimizer, engine, shuffling, seed,
            verbosity, early stopping and validation) cannot be passed here.

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False, fit_params=fit_params)

    def single_network(self, what):
        """``net_``, the one network of a fitted estimator; ``ValueError`` for an ensemble."""
        self._check_fitted()
        if len(self.estimators_) > 1:
            raise ValueError(f"{what}: an ensemble (n_estimators={len(self.estimators_)}) is not supported, "
                             f"it would keep only one of its networks; use its members, "
                             f"estimators_[k] (vecnet.Network), one by one")
        return self.net_


def _check_fit_params(fit_params):
    """``fit``'s further options, checked by name and value before anything changes.

    ``TypeError`` for one the estimator's parameters set or one :func:`vecnet.fit`
    does not take; ``ValueError`` for a bad value (see ``Settings.check``).
    """
    fit_params = dict(fit_params or {})
    taken = sorted(set(fit_params) & OWN_FIT_OPTIONS)
    if taken:
        raise TypeError(f"{', '.join(taken)}: set by the estimator's parameters "
                        "(see get_params), not passed to fit")
    accepted = sorted(set(inspect.signature(Settings.check).parameters) - OWN_FIT_OPTIONS)
    unknown = sorted(set(fit_params) - set(accepted))
    if unknown:
        raise TypeError(f"fit() got an unexpected keyword argument {', '.join(map(repr, unknown))}; "
                        f"besides X and y it takes {', '.join(accepted)}")
    if "callbacks" in fit_params:   # a list from here on: a one-shot iterator is read once
        fit_params["callbacks"] = check_callbacks(fit_params["callbacks"])
    Settings.check(**fit_params)   # the values, by name
    return fit_params


def _mean_by_epoch(curves):
    """Element ``e``: the mean of ``curve[e]`` over the curves that long (the one curve itself for one)."""
    if len(curves) == 1:
        return list(curves[0])
    longest = max((len(c) for c in curves), default=0)
    return [float(np.mean([c[e] for c in curves if len(c) > e])) for e in range(longest)]
