"""MLPClassifier and MLPRegressor: conventions, the step they take, stopping, errors.

scikit-learn's own estimator checks run in test_estimator_checks.py; these tests
need only numpy.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import vecnet
from vecnet import MLPClassifier, MLPRegressor, NotFittedError


def blobs(n=200, n_classes=3, n_features=4, seed=0):
    """Well separated Gaussian blobs: X (n, n_features) and integer labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(n_classes, n_features))
    y = rng.integers(n_classes, size=n)
    return centers[y] + rng.normal(size=(n, n_features)), y


def quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vecnet.ConvergenceWarning)
        return est.fit(X, y)


# -- parameters --------------------------------------------------------------------
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_init_stores_parameters_and_get_params_returns_them(cls):
    est = cls(hidden_layer_sizes=(7, 3), alpha=0.5, random_state=3)
    params = est.get_params()
    assert params["hidden_layer_sizes"] == (7, 3) and params["alpha"] == 0.5
    assert params["random_state"] == 3 and params["solver"] == "adam"
    assert set(params) == set(vars(est))          # __init__ stores the parameters and nothing else
    assert repr(est) == f"{cls.__name__}(alpha=0.5, hidden_layer_sizes=(7, 3), random_state=3)"


def test_set_params_sets_and_refuses_unknown_names():
    est = MLPClassifier().set_params(max_iter=5, solver="sgd")
    assert (est.max_iter, est.solver) == (5, "sgd")
    with pytest.raises(ValueError, match="Invalid parameter 'max_epochs'"):
        est.set_params(max_epochs=3)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_using_an_unfitted_estimator_raises_not_fitted_error(method):
    args = (np.zeros((2, 3)),) + ((np.zeros(2),) if method == "score" else ())
    with pytest.raises(NotFittedError, match="not fitted yet") as info:
        getattr(MLPClassifier(), method)(*args)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)


def test_vecnet_does_not_import_scikit_learn():
    # Warning and raising included: they look for scikit-learn's classes in sys.modules only.
    code = ("import sys, warnings, numpy as np, vecnet\n"
            "X = np.random.default_rng(0).normal(size=(20, 3))\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    clf = vecnet.MLPClassifier(max_iter=2).fit(X, (X[:, :1] > 0))\n"
            "clf.predict(X)\n"
            "try:\n"
            "    vecnet.MLPRegressor().predict(X)\n"
            "except vecnet.NotFittedError as e:\n"
            "    raised = type(e)\n"
            "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n"
            "kinds = sorted(w.category.__name__ for w in caught)\n"
            "assert kinds == ['ConvergenceWarning', 'DataConversionWarning'], kinds\n"
            "assert all(w.category.__mro__[1] is UserWarning for w in caught), caught\n"
            "assert raised is vecnet.NotFittedError, raised\n")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("loaded", [False, True])
def test_warnings_are_vecnets_classes_and_scikit_learns_when_it_is_loaded(loaded, monkeypatch):
    if loaded:
        sklearn_exceptions = pytest.importorskip("sklearn.exceptions")
    else:
        monkeypatch.delitem(sys.modules, "sklearn.exceptions", raising=False)
    X, y = blobs(n=40)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPRegressor(max_iter=2, random_state=0).fit(X, y)
        MLPClassifier(max_iter=2, random_state=0).fit(X, y[:, None])
    expected = [vecnet.ConvergenceWarning, vecnet.DataConversionWarning, vecnet.ConvergenceWarning]
    assert [w.category.__name__ for w in caught] == [c.__name__ for c in expected]
    for w, vecnet_class in zip(caught, expected):
        assert issubclass(w.category, vecnet_class)
        if loaded:
            assert issubclass(w.category, getattr(sklearn_exceptions, vecnet_class.__name__))
        else:
            assert w.category is vecnet_class
    with pytest.raises(NotFittedError) as info:
        MLPClassifier().predict(X)
    assert isinstance(info.value, sklearn_exceptions.NotFittedError) if loaded else (
        type(info.value) is NotFittedError)


# -- architecture ----------------------------------------------------------------------
def test_binary_classifier_has_one_sigmoid_output_with_bce():
    X, y = blobs(n_classes=2)
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), activation="logistic", max_iter=3,
                                  random_state=0), X, y)
    net = clf.net_
    assert net.sizes == [4, 5, 1] and (net.activation, net.output_activation, net.loss) == (
        "sigmoid", "sigmoid", "bce")
    proba = clf.predict_proba(X)
    p = net.forward(X)[:, 0]
    np.testing.assert_allclose(proba, np.column_stack([1 - p, p]), rtol=0, atol=0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(p > 0.5).astype(int)])


def test_multiclass_classifier_has_softmax_output_with_cce():
    X, y = blobs(n_classes=4)
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(6, 5), max_iter=3, random_state=0), X, y)
    assert clf.net_.sizes == [4, 6, 5, 4] and (clf.net_.output_activation, clf.net_.loss) == ("softmax", "cce")
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_regressor_has_identity_output_with_mse_and_any_number_of_outputs():
    X, _ = blobs()
    Y = np.column_stack([X @ [1.0, -2.0, 0.5, 0.0], X[:, 0] - X[:, 1]])
    reg = quiet_fit(MLPRegressor(max_iter=3, random_state=0), X, Y)
    assert (reg.net_.output_activation, reg.net_.loss, reg.n_outputs_) == ("identity", "mse", 2)
    assert reg.predict(X).shape == (200, 2)
    reg1 = quiet_fit(MLPRegressor(max_iter=3, random_state=0), X, Y[:, 0])
    assert reg1.predict(X).shape == (200,)


def test_labels_of_any_sortable_type_come_back_from_predict():
    X, y = blobs(n_classes=3)
    names = np.array(["cat", "dog", "emu"])[y]
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(20,), max_iter=300, random_state=0, tol=0), X, names)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    assert clf.predict(X).dtype.kind == "U"
    assert clf.score(X, names) > 0.95


# -- what training does ---------------------------------------------------------------
def sklearn_step(X, Y, params, lr, alpha, output):
    """One full-batch SGD step with scikit-learn's formulas, written out for one hidden relu layer.

    scikit-learn's MLP: output error ``P - Y`` (identity + squared loss / 2, sigmoid +
    log loss), ``dW = (A.T @ delta + alpha * W) / n``, ``db = mean(delta)``.
    """
    (W1, b1), (W2, b2) = params
    n = X.shape[0]
    A1 = np.maximum(X @ W1 + b1, 0)
    Z = A1 @ W2 + b2
    P = Z if output == "identity" else 1 / (1 + np.exp(-Z))
    delta = P - Y
    dW2 = (A1.T @ delta + alpha * W2) / n
    db2 = delta.sum(axis=0) / n
    d1 = (delta @ W2.T) * (A1 > 0)
    dW1 = (X.T @ d1 + alpha * W1) / n
    db1 = d1.sum(axis=0) / n
    return [(W1 - lr * dW1, b1 - lr * db1), (W2 - lr * dW2, b2 - lr * db2)]


@pytest.mark.parametrize("cls, output", [(MLPRegressor, "identity"), (MLPClassifier, "sigmoid")])
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_an_sgd_step_is_scikit_learns_step(cls, output, engine):
    X, y = blobs(n=30, n_classes=2, seed=1)
    y = y if cls is MLPClassifier else X[:, 0] * 0.3 - X[:, 1] * 0.1
    est = cls(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, batch_size=30, max_iter=1,
              shuffle=False, alpha=0.3, learning_rate_init=0.05, warm_start=True, random_state=0,
              engine=engine)
    quiet_fit(est, X, y)                        # initialise (and take a first step)
    before = est.net_.get_params()
    quiet_fit(est, X, y)                        # warm start: exactly one more full-batch step
    expected = sklearn_step(X, y.reshape(-1, 1).astype(float), before, 0.05, 0.3, output)
    for (W, b), (W_exp, b_exp) in zip(est.net_.params, expected):
        np.testing.assert_allclose(W, W_exp, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b, b_exp, rtol=0, atol=1e-12)


def test_loss_curve_of_the_regressor_is_half_the_mse_before_each_full_batch_step():
    X, _ = blobs(n=40, seed=2)
    y = X[:, 0] - 0.5 * X[:, 2]
    reg = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", momentum=0.0, batch_size=40, max_iter=1,
                       shuffle=False, warm_start=True, random_state=0)
    quiet_fit(reg, X, y)
    before = reg.net_.forward(X)[:, 0]
    quiet_fit(reg, X, y)
    assert reg.loss_curve_[-1] == pytest.approx(0.5 * np.mean((y - before) ** 2), rel=1e-12)


def test_training_stops_when_the_loss_stops_improving_by_tol():
    X, y = blobs()
    # With tol larger than any improvement, the count of epochs without improvement
    # starts at the second epoch and stopping needs it to exceed n_iter_no_change.
    clf = MLPClassifier(tol=1e9, n_iter_no_change=4, max_iter=100, random_state=0).fit(X, y)
    assert clf.n_iter_ == 4 + 2 and len(clf.loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_reaching_max_iter_warns_convergence_warning():
    X, y = blobs()
    with pytest.warns(vecnet.ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        clf = MLPClassifier(max_iter=3, tol=0.0, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3


def test_early_stopping_keeps_the_best_validation_weights():
    X, y = blobs(n=300)
    clf = MLPClassifier(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, tol=0.0,
                        max_iter=200, random_state=0, learning_rate_init=0.01).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(scores)
    assert clf.best_loss_ is None
    # Rebuild the split (the permutation is the first draw after the weights') and score the
    # weights that were kept: they are the best epoch's, not the last one's.
    rng = np.random.default_rng(0)
    vecnet.Network([4, 100, 3], activation="relu", output_activation="softmax", loss="cce",
                   init="glorot", seed=rng)
    val = rng.permutation(300)[:60]
    assert clf.score(X[val], y[val]) == clf.best_validation_score_


def test_partial_fit_after_an_early_stopping_fit_trains_on_all_it_is_given():
    X, y = blobs(n=100)
    clf = MLPClassifier(early_stopping=True, max_iter=5, random_state=0)
    quiet_fit(clf, X, y)
    n_scores = len(clf.validation_scores_)
    clf.partial_fit(X, y)                     # no hold-out in partial_fit, as scikit-learn
    assert clf.n_iter_ == n_scores + 1 and len(clf.validation_scores_) == n_scores
    assert clf.best_loss_ == clf.loss_curve_[-1]


def test_fit_passes_callbacks_on_and_refuses_options_its_parameters_set():
    X, y = blobs()
    seen = []
    clf = quiet_fit(MLPClassifier(max_iter=4, tol=0.0, random_state=0), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vecnet.ConvergenceWarning)
        clf.fit(X, y, callbacks=[lambda epoch, logs: seen.append((epoch, logs["loss"]))])
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert [loss for _, loss in seen] == clf.loss_curve_       # cross-entropy: same units
    with pytest.raises(TypeError, match="batch_size, epochs: set by the estimator's parameters"):
        clf.fit(X, y, epochs=3, batch_size=5)


def test_same_random_state_same_model_and_another_one_differs():
    X, y = blobs()
    a = quiet_fit(MLPClassifier(max_iter=5, random_state=1), X, y)
    b = quiet_fit(MLPClassifier(max_iter=5, random_state=1), X, y)
    c = quiet_fit(MLPClassifier(max_iter=5, random_state=2), X, y)
    np.testing.assert_array_equal(a.net_.theta, b.net_.theta)
    assert not np.array_equal(a.net_.theta, c.net_.theta)


def test_warm_start_continues_and_cold_start_restarts():
    X, y = blobs()
    warm = quiet_fit(MLPClassifier(max_iter=5, warm_start=True, random_state=0), X, y)
    first = list(warm.loss_curve_)
    quiet_fit(warm, X, y)
    assert warm.n_iter_ == 10 and warm.loss_curve_[:5] == first
    assert warm.loss_curve_[5] < first[0]            # starts from trained weights
    cold = quiet_fit(MLPClassifier(max_iter=5, random_state=0), X, y)
    quiet_fit(cold, X, y)
    assert cold.n_iter_ == 5 and cold.loss_curve_ == first


def test_partial_fit_needs_classes_first_and_runs_one_epoch_per_call():
    X, y = blobs(n_classes=3)
    clf = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y != 2], y[y != 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (200, 3)
    for _ in range(2):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, y + 5)


def test_regressor_partial_fit_improves_the_fit():
    X, _ = blobs(n=100)
    y = X @ [0.5, -1.0, 0.2, 0.3]
    reg = MLPRegressor(random_state=0, learning_rate_init=0.01)
    for _ in range(30):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 30 and reg.loss_curve_[-1] < reg.loss_curve_[0] / 5


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_both_learn_simple_problems(engine):
    X, y = blobs(n=300)
    assert quiet_fit(MLPClassifier(random_state=0, engine=engine), X, y).score(X, y) > 0.95
    target = np.sin(X[:, 0] / 3) + 0.1 * X[:, 1]
    reg = quiet_fit(MLPRegressor(random_state=0, learning_rate_init=0.01, engine=engine), X, target)
    assert reg.score(X, target) > 0.9


def test_float32_keeps_the_network_in_float32():
    X, y = blobs()
    clf = quiet_fit(MLPClassifier(dtype="float32", max_iter=3, random_state=0), X, y)
    assert clf.net_.dtype == np.float32 and clf.net_.theta.dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float64


# -- scores ------------------------------------------------------------------------------
def test_regressor_score_is_r2():
    X, _ = blobs(n=50)
    y = X[:, 0]
    reg = quiet_fit(MLPRegressor(max_iter=5, random_state=0), X, y)
    pred = reg.predict(X)
    r2 = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert reg.score(X, y) == pytest.approx(r2, rel=1e-12)
    assert vecnet.training.metrics.r2_score(np.ones(4), np.ones(4)) == 1.0     # constant target, exact
    assert vecnet.training.metrics.r2_score(np.ones(4), np.zeros(4)) == 0.0


def test_classifier_score_is_accuracy():
    X, y = blobs()
    clf = quiet_fit(MLPClassifier(max_iter=2, random_state=0), X, y)
    assert clf.score(X, y) == np.count_nonzero(clf.predict(X) == y) / len(y)


def _weighted_r2_by_hand(Y, P, w):
    """Per output, per scalar: 1 - sum w (y - p)^2 / sum w (y - mean_w y)^2, averaged over outputs."""
    Y, P = np.asarray(Y, float).reshape(len(w), -1), np.asarray(P, float).reshape(len(w), -1)
    r2 = []
    for j in range(Y.shape[1]):
        total = sum(w)
        mean = sum(wi * yi for wi, yi in zip(w, Y[:, j])) / total
        res = sum(wi * (yi - pi) ** 2 for wi, yi, pi in zip(w, Y[:, j], P[:, j]))
        tot = sum(wi * (yi - mean) ** 2 for wi, yi in zip(w, Y[:, j]))
        r2.append(1 - res / tot)
    return sum(r2) / len(r2)


def test_a_target_of_no_columns_and_float32_overflow_are_clear_errors():
    X, _ = blobs(n=20)
    with pytest.raises(ValueError, match=r"Found y with 0 output\(s\) \(shape=\(20, 0\)\)"):
        MLPRegressor(engine="numpy").fit(X, np.empty((20, 0)))   # was ZeroDivisionError
    with pytest.raises(ValueError, match="beyond the range of float32, the estimator's dtype"):
        MLPRegressor(engine="numpy", dtype=np.float32).fit(X * 1e39, X[:, 0])   # finite: not "NaN or infinity"


def test_scores_take_sample_weight():
    X, labels = blobs(n=60)
    w = np.random.default_rng(1).uniform(0, 3, size=60)
    w[:5] = 0.0
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    reg = quiet_fit(MLPRegressor(max_iter=3, random_state=0), X, Y)
    assert reg.score(X, Y, sample_weight=w) == pytest.approx(_weighted_r2_by_hand(Y, reg.predict(X), w), rel=1e-12)
    assert reg.score(X, Y, sample_weight=2.5) == pytest.approx(reg.score(X, Y), rel=1e-12)   # one weight for all
    huge = reg.score(X, Y, sample_weight=w * 1e307)   # their sum overflows; only the ratios count
    assert huge == pytest.approx(reg.score(X, Y, sample_weight=w), rel=1e-12)
    clf = quiet_fit(MLPClassifier(max_iter=2, random_state=0), X, labels)
    right = clf.predict(X) == labels
    assert 0 < right.sum() < len(labels)   # some wrong: the weights matter
    assert clf.score(X, labels, sample_weight=w) == pytest.approx(
        sum(wi for wi, ok in zip(w, right) if ok) / sum(w), rel=1e-12)
    for bad, message in [(np.zeros(60), "all zeros"), (-w, "Negative"), (np.full(60, np.nan), "NaN"),
                         (np.ones(59), r"sample_weight.shape == \(59,\), expected \(60,\)"),
                         (["a"] * 60, "must hold numbers")]:
        for est, y in ((reg, Y), (clf, labels)):
            with pytest.raises(ValueError, match=message):
                est.score(X, y, sample_weight=bad)


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("X, message", [
    (np.zeros(5), "Expected 2D array"),
    (np.full((5, 2), np.nan), "NaN"),
    (np.zeros((0, 2)), "0 sample"),
    (np.array([["a", "b"]] * 5), "numeric"),
])
def test_bad_X_is_refused_clearly(X, message):
    with pytest.raises((ValueError, TypeError), match=message):
        MLPRegressor().fit(X, np.zeros(len(X)))


def test_predict_with_another_number_of_features_is_refused():
    X, y = blobs()
    clf = quiet_fit(MLPClassifier(max_iter=1), X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.predict(X[:, :3])


def test_classifier_refuses_continuous_targets_and_a_single_class():
    X, _ = blobs(n=10)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPClassifier().fit(X, np.linspace(0, 1, 10))
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(X, np.ones(10))


@pytest.mark.parametrize("param, value", [
    ("solver", "lbfgs"), ("activation", "softmax"), ("batch_size", 0), ("hidden_layer_sizes", (3, 0)),
    ("alpha", -1.0), ("learning_rate", "adaptive"), ("engine", "reference"), ("dtype", "float16"),
])
def test_bad_parameters_are_refused_at_fit(param, value):
    X, y = blobs(n=10)
    with pytest.raises(ValueError, match=param if param != "hidden_layer_sizes" else "hidden"):
        MLPClassifier(**{param: value}).fit(X, y)


# -- a refused fit changes nothing -------------------------------------------------
def _fitted_state(est):
    """Everything a fit may change, copied."""
    return {"theta": est.net_.theta.copy(), "sizes": list(est.net_.sizes), "n_iter_": est.n_iter_,
            "loss_curve_": list(est.loss_curve_), "classes_": getattr(est, "classes_", None),
            "feature_names_in_": getattr(est, "feature_names_in_", None),
            "members": len(est.estimators_)}


def _assert_same_state(est, before):
    after = _fitted_state(est)
    np.testing.assert_array_equal(after.pop("theta"), before["theta"])
    for name in ("classes_", "feature_names_in_"):
        a, b = after.pop(name), before[name]
        assert (a is None) == (b is None) and (a is None or np.array_equal(a, b)), name
    assert after == {k: v for k, v in before.items() if k not in ("theta", "classes_", "feature_names_in_")}


@pytest.mark.parametrize("case", ["option value", "unknown option", "early-stopping split", "step overflows"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_a_refused_fit_leaves_the_fitted_estimator_as_it_was(cls, case):
    if case == "step overflows" and cls is MLPClassifier:
        pytest.skip("the classifier's step is alpha itself (no scale): 1e308 is finite")
    X, y = blobs(n=60, n_classes=3)
    est = quiet_fit(cls((5,), max_iter=5, random_state=0, engine="numpy"), X, y)
    before = _fitted_state(est)
    X2, y2 = blobs(n=60, n_classes=4, seed=1)   # another label set: classes_ must not follow it
    error, words = {"option value": (ValueError, "chunk_bytes"),
                    "unknown option": (TypeError, "'sample_weight'"),
                    "early-stopping split": (ValueError, "at least 2 samples"),
                    "step overflows": (ValueError, "alpha")}[case]
    with pytest.raises(error, match=words):
        if case == "option value":
            est.fit(X2, y2, chunk_bytes=0)
        elif case == "unknown option":
            est.fit(X2, y2, sample_weight=np.ones(len(y2)))
        elif case == "early-stopping split":
            two = [0, int(np.argmax(y2 != y2[0]))]   # two samples of two classes, both held out
            est.set_params(early_stopping=True, validation_fraction=0.9).fit(X2[two], y2[two])
        else:
            est.set_params(alpha=1e308, batch_size=1).fit(X2, y2)
    _assert_same_state(est, before)
    np.testing.assert_array_equal(est.predict(X), quiet_fit(
        cls((5,), max_iter=5, random_state=0, engine="numpy"), X, y).predict(X))


def test_fit_names_an_option_it_does_not_take():
    X, y = blobs(n=40)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'sample_weight'.*callbacks, chunk_bytes"):
        MLPClassifier((3,), max_iter=2).fit(X, y, sample_weight=np.ones(len(y)))


def test_callbacks_given_as_an_iterator_all_run():
    X, y = blobs(n=40)
    seen = []
    quiet_fit_kw = dict(callbacks=(cb for cb in [lambda epoch, logs: seen.append(epoch)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vecnet.ConvergenceWarning)
        MLPClassifier((3,), max_iter=3, tol=0.0, random_state=0, engine="numpy").fit(X, y, **quiet_fit_kw)
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("name, value", [("hidden_layer_sizes", (7,)), ("activation", "tanh"),
                                         ("dtype", "float32"), ("n_estimators", 2)])
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_continuing_refuses_a_changed_architecture_and_a_cold_fit_takes_it(name, value, how):
    X, y = blobs(n=60)
    est = quiet_fit(MLPRegressor((5,), max_iter=3, random_state=0, engine="numpy", warm_start=True), X, y)
    before = _fitted_state(est)
    est.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"{name} changed from .* since the last fit.*warm_start=False"):
        est.partial_fit(X, y) if how == "partial_fit" else est.fit(X, y)
    _assert_same_state(est, before)
    quiet_fit(est.set_params(warm_start=False), X, y)
    net = est.net_
    assert (list(net.sizes[1:-1]), net.activation, net.dtype.name, len(est.estimators_)) == (
        [7] if name == "hidden_layer_sizes" else [5], "tanh" if name == "activation" else "relu",
        "float32" if name == "dtype" else "float64", 2 if name == "n_estimators" else 1)
