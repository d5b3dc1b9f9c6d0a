"""Estimators with n_estimators > 1: a seed ensemble trained side by side (issue 11, item 4)."""

import numpy as np
import pytest

import vecnet
from vecnet import ConvergenceWarning, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    labels = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 1)
    return X, labels, X @ [0.5, -1.0, 0.25, 2.0] + np.sin(X[:, 0])


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_the_classifier_averages_the_probabilities_of_its_members(engine):
    X, labels, _ = _data()
    est = MLPClassifier((6,), max_iter=15, n_estimators=4, random_state=0, engine=engine,
                        learning_rate_init=0.01).fit(X, labels)
    assert len(est.estimators_) == 4 and est.net_ is est.estimators_[0]
    thetas = [net.theta for net in est.estimators_]
    assert all(not np.array_equal(thetas[0], t) for t in thetas[1:])   # own draws, own training
    mean = np.mean([net.forward(X) for net in est.estimators_], axis=0)   # softmax rows, 3 classes
    np.testing.assert_allclose(est.predict_proba(X), mean, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(est.predict(X), est.classes_[mean.argmax(axis=1)])
    assert est.n_iter_ == len(est.loss_curve_) == 15


def test_the_regressor_averages_the_predictions_of_its_members():
    X, _, y = _data()
    est = MLPRegressor((5,), max_iter=10, n_estimators=3, random_state=1, solver="sgd",
                       learning_rate_init=0.01).fit(X, y)
    mean = np.mean([net.forward(X)[:, 0] for net in est.estimators_], axis=0)
    np.testing.assert_allclose(est.predict(X), mean, rtol=1e-15, atol=0)


def test_one_estimator_is_the_plain_estimator():
    X, labels, _ = _data()
    one = MLPClassifier((5,), max_iter=5, random_state=0, n_estimators=1).fit(X, labels)
    default = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(one.net_.theta, default.net_.theta)
    assert one.estimators_ == [one.net_] and one.loss_curve_ == default.loss_curve_


def test_the_loss_curve_is_the_members_mean_loss_per_epoch():
    X, labels, _ = _data()
    est = MLPClassifier((5,), max_iter=8, n_estimators=3, random_state=2, engine="numpy")
    est.fit(X, labels)
    # each member's loss after training, evaluated independently, is close to the curve's end
    # (the curve holds losses taken during the epoch, before each update)
    Y = np.eye(3)[np.searchsorted(est.classes_, labels)]
    final = np.mean([-np.mean(np.sum(Y * np.log(net.forward(X)), axis=1)) for net in est.estimators_])
    assert abs(est.loss_curve_[-1] - final) < 0.1 * final
    assert est.best_loss_ == min(est.loss_curve_)


def test_members_stop_alone_and_the_ensemble_reports_the_longest():
    X, labels, _ = _data(80)
    est = MLPClassifier((8,), max_iter=300, n_estimators=3, random_state=0, tol=1e-2,
                        n_iter_no_change=3, learning_rate_init=0.05).fit(X, labels)
    assert est.n_iter_ < 300   # every member converged by scikit-learn's rule
    assert est.n_iter_ == len(est.loss_curve_)


def test_warm_start_and_partial_fit_continue_every_member():
    X, labels, _ = _data()
    est = MLPClassifier((5,), max_iter=3, n_estimators=2, random_state=0, warm_start=True).fit(X, labels)
    before = [net.theta.copy() for net in est.estimators_]
    members = list(est.estimators_)
    est.fit(X, labels)
    assert est.estimators_ == members and est.n_iter_ == 6
    assert all(not np.array_equal(b, net.theta) for b, net in zip(before, members))
    est.partial_fit(X, labels)
    assert est.n_iter_ == 7 and len(est.loss_curve_) == 7
    est.set_params(n_estimators=3, warm_start=False).fit(X, labels)
    assert len(est.estimators_) == 3 and est.n_iter_ == 3


def test_an_ensemble_is_not_saved_or_converted_as_one_network(tmp_path):
    X, labels, _ = _data()
    est = MLPClassifier((5,), max_iter=2, n_estimators=2, random_state=0).fit(X, labels)
    with pytest.raises(ValueError, match="ensemble"):
        est.save(tmp_path / "e.npz")
    assert not (tmp_path / "e.npz").exists()
    with pytest.raises(ValueError, match="ensemble"):
        vecnet.interop.to_sklearn(est)
    est.estimators_[1].save(tmp_path / "member.npz")   # a member is a plain network
    np.testing.assert_array_equal(vecnet.load(tmp_path / "member.npz").theta, est.estimators_[1].theta)


@pytest.mark.parametrize("value", [0, -1, 1.5, "3", True])
def test_bad_n_estimators_is_refused(value):
    X, labels, _ = _data()
    with pytest.raises(ValueError, match="n_estimators"):
        MLPClassifier(n_estimators=value).fit(X, labels)


def test_more_members_than_memory_can_hold_are_refused_before_any_is_built():
    # one at a time, 10**9 small networks were built for ever (no error)
    X, labels, _ = _data()
    clf = MLPClassifier((5,), n_estimators=10**9, engine="numpy")
    with pytest.raises(ValueError, match=r"n_estimators=1000000000 networks of \d+ parameters need .* GB"):
        clf.fit(X, labels)
    assert not hasattr(clf, "estimators_")
