"""Weights to and from scikit-learn's ``MLPClassifier`` and ``MLPRegressor``.

Layout: scikit-learn's ``coefs_[k]`` has shape ``(n_in, n_out)`` like vecnet's
``W`` and ``intercepts_[k]`` is ``b``: the arrays are copied, never transposed.
scikit-learn's output activation fixes the loss:

===================  ======================  ===========================================
``out_activation_``  vecnet                  scikit-learn model
===================  ======================  ===========================================
``identity``         identity + ``mse``      ``MLPRegressor`` (squared error)
``logistic``         sigmoid + ``bce``       binary (1 output) or multi-label classifier
``softmax``          softmax + ``cce``       multi-class classifier
``exp``              refused                 ``MLPRegressor(loss="poisson")``
===================  ======================  ===========================================

Gradient scale. For a batch of ``n`` samples and ``k`` outputs scikit-learn's
SGD step starts back-propagation from ``dL/dZ = (A - Y) / n`` whatever the loss
(and adds ``alpha * W / n`` to each weight gradient). vecnet's ``mse`` starts
from ``2 (A - Y) / (n k)``, ``bce`` from ``(A - Y) / (n k)`` and ``cce`` from
``(A - Y) / n``. So vecnet's gradient over scikit-learn's is

- squared error: ``2 / k``; multi-label log-loss: ``1 / k``;
  binary (k = 1) and multi-class log-loss: ``1``,

and a vecnet SGD step with ``lr = learning_rate_init / factor`` and
``l2 = alpha * factor / n`` is scikit-learn's step: the new weights agree to
rounding (tests/test_interop_sklearn.py checks 1e-12), with momentum and
Nesterov momentum too, since both libraries update ``v = momentum * v - lr * g``
and then ``theta += v`` (Nesterov: ``theta += momentum * v - lr * g``). vecnet's
estimators apply these factors themselves (:mod:`vecnet.estimators._mlp`), so the same
parameters mean the same steps. Two limits: scikit-learn divides ``alpha`` by
each batch's own size, so a smaller last batch of an epoch gets a larger
penalty than vecnet's fixed ``l2``; and Adam, invariant to the gradient's scale
but for ``epsilon``, takes the same steps only where the factor is 1.

Hidden activations: scikit-learn's ``logistic`` is vecnet's ``sigmoid``;
``identity``, ``tanh`` and ``relu`` keep their names.
"""

from __future__ import annotations

import copy

import numpy as np

from vecnet.estimators import MLPClassifier, MLPRegressor
from vecnet.estimators._mlp import ACTIVATION_ALIASES
from vecnet.network import Network

from ._common import network_of, require

OUTPUTS = {"identity": ("identity", "mse"), "logistic": ("sigmoid", "bce"), "softmax": ("softmax", "cce")}
"""scikit-learn's ``out_activation_`` -> vecnet's (output activation, loss)."""

SKLEARN_ACTIVATIONS = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu", "identity": "identity"}
"""vecnet hidden activation -> scikit-learn's name."""

ARCHITECTURE = ("hidden_layer_sizes", "activation", "dtype")
"""Parameters the weights fix; ``**params`` may not override them."""


def _sklearn_nn(what):
    return require("sklearn.neural_network", "sklearn", what)


def _training_params():
    """Parameter names vecnet's estimators share with scikit-learn's MLPs."""
    return [name for name in MLPClassifier._param_names()
            if name not in ("engine", "n_estimators", *ARCHITECTURE)]


def _check_overrides(params, valid, where):
    """Refuse unknown names and the parameters the weights fix."""
    fixed = sorted(set(params) & set(ARCHITECTURE))
    if fixed:
        raise ValueError(f"{', '.join(fixed)}: fixed by the model's weights, cannot be overridden")
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for {where}; valid ones are {sorted(valid)}")


def _check_sklearn_mlp(est, what):
    """``est`` is a fitted scikit-learn MLP: return whether it is a classifier."""
    nn = _sklearn_nn(what)
    if not isinstance(est, (nn.MLPClassifier, nn.MLPRegressor)):
        raise TypeError(f"{what} takes a scikit-learn MLPClassifier or MLPRegressor, got {type(est).__name__}")
    if not hasattr(est, "coefs_"):
        raise ValueError(f"{what}: this {type(est).__name__} is not fitted yet; call fit first")
    return isinstance(est, nn.MLPClassifier)


def network_from_sklearn(est):
    """The :class:`~vecnet.Network` holding a fitted scikit-learn MLP's weights.

    Parameters
    ----------
    est : sklearn.neural_network.MLPClassifier or MLPRegressor
        Fitted, with any solver.

    Returns
    -------
    Network
        ``sizes = [n_features_in_, *hidden, n_outputs_]``, weights copied
        (``W = coefs_[k]``, ``b = intercepts_[k]``), dtype that of ``coefs_``;
        its ``predict`` is scikit-learn's ``predict`` (regressor) or the
        positive-class / class probabilities (classifier). The output and
        loss follow the table in the module docstring.

    Raises
    ------
    ValueError
        ``est`` is not fitted, or has an output vecnet does not have (the
        Poisson regressor's ``exp``).
    TypeError
        ``est`` is not a scikit-learn MLP.
    ImportError
        scikit-learn is not installed (``pip install "vecnet[sklearn]"``).
    """
    _check_sklearn_mlp(est, "network_from_sklearn")
    out = est.out_activation_
    if out not in OUTPUTS:
        raise ValueError(f"scikit-learn's {out!r} output (MLPRegressor(loss='poisson')) has no vecnet "
                         f"equivalent; vecnet has {sorted(OUTPUTS)} outputs")
    hidden = ACTIVATION_ALIASES.get(est.activation)
    if hidden is None:
        raise ValueError(f"scikit-learn's hidden activation {est.activation!r} has no vecnet equivalent")
    dtype = np.result_type(*est.coefs_, *est.intercepts_)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"the weights have dtype {dtype}; vecnet holds float32 or float64")
    sizes = [est.coefs_[0].shape[0], *(W.shape[1] for W in est.coefs_)]
    output_activation, loss = OUTPUTS[out]
    net = Network(sizes, activation=hidden, output_activation=output_activation, loss=loss, seed=0,
                  dtype=dtype)
    return net.set_params(list(zip(est.coefs_, est.intercepts_)))


def _fitted_state(source, early_stopping):
    """vecnet's / scikit-learn's fitted bookkeeping attributes, copied from ``source``."""
    curve = [float(v) for v in (getattr(source, "loss_curve_", None) or [])]
    state = {"n_iter_": int(getattr(source, "n_iter_", 0) or 0), "loss_curve_": curve}
    if early_stopping:
        scores = getattr(source, "validation_scores_", None)
        best = getattr(source, "best_validation_score_", None)
        state.update(best_loss_=None, validation_scores_=[float(v) for v in scores or []],
                     best_validation_score_=-np.inf if best is None else float(best))
    else:
        best = getattr(source, "best_loss_", None)
        state.update(best_loss_=np.inf if best is None else float(best), validation_scores_=None,
                     best_validation_score_=None)
    return state


def from_sklearn(est, **params):
    """A fitted vecnet estimator (or network) from a fitted scikit-learn MLP.

    Parameters
    ----------
    est : sklearn.neural_network.MLPClassifier or MLPRegressor
        Fitted.
    **params
        vecnet estimator parameters to use instead of ``est``'s (e.g.
        ``engine="numba"``, ``solver="sgd"``). Needed for the settings vecnet
        does not have: ``solver="lbfgs"`` and ``learning_rate="adaptive"``.

    Returns
    -------
    vecnet.MLPClassifier, vecnet.MLPRegressor or Network
        An estimator with the same weights, ``classes_``, training parameters
        and ``n_iter_`` / ``loss_curve_``, predicting what ``est`` predicts
        (to rounding); ``partial_fit``, and ``fit`` after
        ``set_params(warm_start=True)``, go on from these weights, with fresh
        optimizer memory. A multi-label classifier
        (k logistic outputs), which vecnet's estimators do not model, becomes
        a :class:`Network` whose ``predict`` gives the k probabilities
        (see :func:`network_from_sklearn`).

    Raises
    ------
    ValueError
        What :func:`network_from_sklearn` refuses; a model without hidden
        layers (a vecnet estimator has at least one); a setting vecnet does not
        have and ``params`` does not replace; an unknown parameter, or one the
        weights fix (``hidden_layer_sizes``, ``activation``, ``dtype``).
    TypeError
        ``est`` is not a scikit-learn ``MLPClassifier`` or ``MLPRegressor``.
    ImportError
        scikit-learn is not installed (``pip install "vecnet[sklearn]"``).
    """
    classifier = _check_sklearn_mlp(est, "from_sklearn")
    net = network_from_sklearn(est)
    if classifier and net.output_activation == "sigmoid" and net.sizes[-1] > 1:
        return net   # multi-label
    cls = MLPClassifier if classifier else MLPRegressor
    if len(net.sizes) == 2:
        raise ValueError(f"a scikit-learn MLP without hidden layers (hidden_layer_sizes=()) has no vecnet "
                         f"{cls.__name__} equivalent (it needs at least one hidden layer); "
                         f"network_from_sklearn gives its weights as a vecnet.Network")
    _check_overrides(params, cls._param_names(), cls.__name__)
    theirs = est.get_params(deep=False)
    settings = {name: copy.deepcopy(theirs[name]) for name in _training_params() if name in theirs}
    settings.update(params)
    if settings.get("solver") not in ("sgd", "adam"):
        raise ValueError(f"solver={settings.get('solver')!r} has no vecnet equivalent; pass solver='adam' or "
                         "'sgd' to from_sklearn to choose how the vecnet estimator trains on "
                         "(or use network_from_sklearn for the weights alone)")
    if settings.get("learning_rate") not in ("constant", "invscaling"):
        raise ValueError(f"learning_rate={settings.get('learning_rate')!r} has no vecnet equivalent; pass "
                         "learning_rate='constant' or 'invscaling' to from_sklearn")
    model = cls(hidden_layer_sizes=tuple(net.sizes[1:-1]), activation=est.activation,
                dtype=net.dtype.name, **settings)
    model._validate_params()
    for name, value in _fitted_state(est, model.early_stopping).items():
        setattr(model, name, value)
    model.n_features_in_ = net.sizes[0]
    model.n_outputs_ = net.sizes[-1]
    if classifier:
        model.classes_ = np.array(est.classes_, copy=True)
    if getattr(est, "feature_names_in_", None) is not None:   # checked at predict, as by scikit-learn
        model.feature_names_in_ = np.array(est.feature_names_in_, dtype=object, copy=True)
    model.net_ = net
    model.estimators_ = [net]
    return model


def _target_kind(model, net):
    """``(classifier?, classes or None, multilabel?)`` of the scikit-learn MLP matching ``model``."""
    pair = (net.output_activation, net.loss)
    if pair not in OUTPUTS.values():
        raise ValueError(
            f"scikit-learn's MLPs pair identity outputs with squared error, logistic outputs with "
            f"log-loss and softmax outputs with log-loss; a {net.output_activation} output trained with "
            f"{net.loss} has no scikit-learn equivalent")
    if isinstance(model, MLPRegressor) or net.loss == "mse":
        return False, None, False
    if isinstance(model, MLPClassifier):
        return True, np.array(model.classes_, copy=True), False
    k = net.sizes[-1]
    if net.loss == "bce" and k > 1:
        return True, np.arange(k), True
    return True, np.arange(2 if k == 1 else k), False


def _one_logistic_output(est):
    """Make a 2-unit softmax output scikit-learn's one logistic unit, in place.

    scikit-learn gives two classes one output column (its ``partial_fit`` would
    train a 2-unit softmax against a 1-column target). ``softmax(z)[1] =
    sigmoid(z1 - z0)``, so the unit's weights are the difference of the two.
    """
    W, b = est.coefs_[-1], est.intercepts_[-1]
    est.coefs_[-1] = W[:, 1:] - W[:, :1]
    est.intercepts_[-1] = b[1:] - b[:1]
    est.n_outputs_ = 1
    est.out_activation_ = "logistic"


def to_sklearn(model, **params):
    """A fitted scikit-learn MLP with a vecnet model's weights.

    Parameters
    ----------
    model : Network, vecnet.MLPClassifier or vecnet.MLPRegressor
        A network or a fitted estimator. A network becomes an
        ``MLPRegressor`` (identity output, ``mse``), an ``MLPClassifier`` with
        classes ``[0, 1]`` (one sigmoid output, ``bce``), a multi-label one with
        classes ``0 .. k-1`` (k sigmoid outputs, ``bce``: ``y`` is then an
        indicator matrix) or a multi-class one (softmax, ``cce``). A softmax of
        2 units becomes scikit-learn's one logistic unit for two classes (its
        weights the difference of the two units'; the same probabilities to
        rounding), so that ``partial_fit`` trains it as scikit-learn trains any
        binary classifier.
    **params
        scikit-learn parameters to set (``solver``, ``learning_rate_init``,
        ...). By default an estimator's own parameters carry over (a
        ``numpy.random.Generator``, ``SeedSequence`` or ``BitGenerator``
        ``random_state`` becomes ``None``) and a network gets scikit-learn's defaults.

    Returns
    -------
    sklearn.neural_network.MLPClassifier or MLPRegressor
        Fitted: ``predict`` / ``predict_proba`` give vecnet's predictions (to
        rounding) and ``partial_fit`` trains on from these weights (scikit-learn's
        ``partial_fit`` refuses ``early_stopping=True``: pass ``early_stopping=False``
        in ``params`` for an estimator that had it). It holds
        the private fitted attributes of scikit-learn 1.6 to 1.9 (tested with
        the installed version). Not carried: the optimizer's memory (scikit-
        learn starts momentum or Adam afresh, as after ``fit`` with
        ``warm_start``) and the samples-seen count ``t_`` of the
        ``"invscaling"`` schedule (starts at 0).

    Raises
    ------
    ValueError
        An output/loss pair scikit-learn does not have (e.g. sigmoid + mse); an
        unknown parameter, or one the weights fix; an ensemble (``n_estimators > 1``).
    TypeError
        ``model`` is no vecnet network or estimator.
    vecnet.NotFittedError
        ``model`` is an estimator not fitted yet.
    ImportError
        scikit-learn is not installed (``pip install "vecnet[sklearn]"``).
    """
    nn = _sklearn_nn("to_sklearn")
    preprocessing = require("sklearn.preprocessing", "sklearn", "to_sklearn")
    net = network_of(model, "to_sklearn")
    classifier, classes, multilabel = _target_kind(model, net)
    cls = nn.MLPClassifier if classifier else nn.MLPRegressor
    _check_overrides(params, cls().get_params(deep=False), cls.__name__)
    settings = {}
    if not isinstance(model, Network):
        settings = {name: copy.deepcopy(value) for name, value in model.get_params().items()
                    if name in _training_params()}
        if isinstance(settings.get("random_state"), (np.random.Generator, np.random.SeedSequence,
                                                     np.random.BitGenerator)):
            settings["random_state"] = None   # scikit-learn takes an int or a RandomState only
    settings.update(params)
    settings.update(hidden_layer_sizes=tuple(net.sizes[1:-1]),
                    activation=SKLEARN_ACTIVATIONS[net.activation])
    est = cls(**settings)
    est.coefs_ = [W.copy() for W, _ in net.params]
    est.intercepts_ = [b.copy() for _, b in net.params]
    est.n_features_in_ = net.sizes[0]
    if getattr(model, "feature_names_in_", None) is not None:
        est.feature_names_in_ = np.array(model.feature_names_in_, dtype=object, copy=True)
    est.n_outputs_ = net.sizes[-1]
    est.n_layers_ = len(net.sizes)
    est.out_activation_ = {"identity": "identity", "sigmoid": "logistic",
                           "softmax": "softmax"}[net.output_activation]
    if net.output_activation == "softmax" and net.sizes[-1] == 2:
        _one_logistic_output(est)
    source = model if not isinstance(model, Network) else None
    for name, value in _fitted_state(source, est.early_stopping).items():
        setattr(est, name, value)
    if est.loss_curve_:
        est.loss_ = est.loss_curve_[-1]
    est.t_ = 0
    est._no_improvement_count = 0
    est._best_coefs = [W.copy() for W in est.coefs_]
    est._best_intercepts = [b.copy() for b in est.intercepts_]
    if classifier:
        binarizer = preprocessing.LabelBinarizer()
        binarizer.fit(np.eye(classes.size, dtype=int) if multilabel else classes)
        est._label_binarizer = binarizer
        est.classes_ = binarizer.classes_
    return est
