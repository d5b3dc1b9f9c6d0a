"""Issue 10, class 6: the estimators behave like scikit-learn's where users rely on it.

Complex targets are refused; ``shuffle`` takes booleans only; ``score`` checks
that ``y`` has one entry per sample; DataFrame column names are recorded at fit
(``feature_names_in_``) and checked at predict as scikit-learn checks them;
two threads fitting one estimator take turns.
"""

import threading
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecnet
from vecnet import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::vecnet.ConvergenceWarning")


def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


def _est(cls, **kw):
    return cls(**{"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0, "engine": "numpy", **kw})


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("make", [
    lambda y: y + 1j * y,                                    # complex dtype
    lambda y: (y + 0j).astype(np.complex64),
    lambda y: np.array([complex(v, 1) for v in y], dtype=object),
    lambda y: [complex(v, 0) for v in y],                    # a list, imaginary part zero
])
def test_complex_targets_are_refused(cls, make):
    X, y = _data()
    with pytest.raises(ValueError, match="Complex data not supported in y"):
        _est(cls).fit(X, make(y))
    fitted = _est(cls).fit(X, y)
    with pytest.raises(ValueError, match="Complex data not supported in y"):
        fitted.partial_fit(X, make(y))
    with pytest.raises(ValueError, match="Complex data not supported in y"):
        fitted.score(X, make(y))


@pytest.mark.parametrize("value", ["no", "yes", "False", 0, 1, None, np.array([True])])
def test_shuffle_takes_booleans_only(value):
    X, y = _data()
    with pytest.raises(ValueError, match="shuffle must be True or False"):
        _est(MLPClassifier, shuffle=value).fit(X, y)


@settings(max_examples=40, deadline=None)
@given(n_y=st.integers(1, 60).filter(lambda k: k != 30), cls=st.sampled_from([MLPClassifier, MLPRegressor]))
def test_score_refuses_a_y_of_another_length(n_y, cls):
    X, y = _data()
    est = _est(cls).fit(X, y)
    y_other = np.resize(y, n_y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.score(X, y_other)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.score(X, y_other.reshape(-1, 1))


def test_score_refuses_a_y_with_other_columns():
    X, y = _data()
    with pytest.raises(ValueError, match="one label per sample"):
        _est(MLPClassifier).fit(X, y).score(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="outputs"):
        _est(MLPRegressor).fit(X, y).score(X, np.column_stack([y, y]))


# -- feature names, held against scikit-learn's own estimator ------------------------------------
@pytest.fixture
def frames():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    return pd, df, y


def _sklearn_outcome(sk_est, df, X_new):
    """What scikit-learn does with ``X_new`` at predict after fitting on ``df``: "ok", "warn" or "error"."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            sk_est.predict(X_new)
        except ValueError:
            return "error"
    return "warn" if any(issubclass(w.category, UserWarning) and "feature names" in str(w.message)
                         for w in caught) else "ok"


def _vecnet_outcome(est, X_new):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.predict(X_new)
        except ValueError as exc:
            assert "feature names" in str(exc).lower() or "features" in str(exc), exc
            return "error"
    return "warn" if any(issubclass(w.category, UserWarning) and "feature names" in str(w.message)
                         for w in caught) else "ok"


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_feature_names_are_checked_like_scikit_learn(frames, cls):
    pd, df, y = frames
    neural = pytest.importorskip("sklearn.neural_network")
    sk_cls = getattr(neural, cls.__name__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # scikit-learn's ConvergenceWarning after 3 epochs
        sk = sk_cls(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(df, y)
    est = _est(cls).fit(df, y)
    np.testing.assert_array_equal(est.feature_names_in_, sk.feature_names_in_)
    cases = {
        "same": df,
        "reordered": df[["c", "a", "b"]],
        "renamed": df.rename(columns={"a": "z"}),
        "array": df.to_numpy(),
        "int names": pd.DataFrame(df.to_numpy()),
    }
    for label, X_new in cases.items():
        assert _vecnet_outcome(est, X_new) == _sklearn_outcome(sk, df, X_new), label
    with pytest.raises(ValueError, match="same order as they were in fit"):
        est.predict(df[["b", "a", "c"]])


def test_feature_names_follow_the_last_fit_and_are_saved(frames, tmp_path):
    pd, df, y = frames
    est = _est(MLPClassifier).fit(df, y)
    est.save(tmp_path / "m.npz")
    back = vecnet.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(ValueError, match="same order"):
        back.predict(df[["c", "b", "a"]])
    est.fit(df.to_numpy(), y)                        # refit without names: none recorded
    assert not hasattr(est, "feature_names_in_")
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        _est(MLPClassifier).fit(df, y).partial_fit(df.rename(columns={"a": "q"}), y)


# -- threads ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_two_threads_fitting_one_estimator_take_turns(method):
    X, y = _data(50)
    est = _est(MLPClassifier, max_iter=20, tol=0.0, n_iter_no_change=1000)
    est.partial_fit(X, y, classes=[0, 1])
    state = {"inside": set(), "overlap": False}
    guard = threading.Lock()

    def slow(epoch, logs):   # sleeps, releasing the GIL, and notes fits running at once
        me = threading.get_ident()
        with guard:
            state["inside"].add(me)
            state["overlap"] |= len(state["inside"]) > 1
        time.sleep(0.002)
        with guard:
            state["inside"].discard(me)
        return False

    def work():
        if method == "fit":
            est.fit(X, y, callbacks=[slow])
        else:
            for _ in range(5):
                est.partial_fit(X, y)

    if method == "partial_fit":   # no callbacks in partial_fit: slow the network's training instead
        est_module = __import__("vecnet.estimators._mlp", fromlist=["train"])
        original = est_module.train   # the training loop the estimators call

        def slow_train(*args, **kw):
            slow(0, {})
            return original(*args, **kw)
        saved, est_module.train = original, slow_train
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        if method == "partial_fit":
            est_module.train = saved
    assert not state["overlap"]
    if method == "fit":
        assert est.n_iter_ == 20 and len(est.loss_curve_) == 20
    else:
        assert est.n_iter_ == 1 + 4 * 5 and len(est.loss_curve_) == est.n_iter_
