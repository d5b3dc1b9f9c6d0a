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


def _sklearn_raises(cls, X, y, method="fit", **kw):
    """The exception type scikit-learn's own estimator raises for ``method`` on this input (None if none)."""
    neural = pytest.importorskip("sklearn.neural_network")
    sk = getattr(neural, cls.__name__)(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "fit":
                sk.fit(X, y)
            else:
                sk.fit(*kw["fit_on"]).score(X, y)
    except (ValueError, TypeError) as exc:
        return type(exc)
    return None


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_pandas_missing_values_are_refused_as_nan(frames, cls):
    pd, df, y = frames
    for dtype in ("Float64", "Int64"):
        X = (df * 10).round().astype(dtype)
        X.iloc[3, 1] = pd.NA
        assert _sklearn_raises(cls, X, y) is ValueError
        with pytest.raises(ValueError, match="Input X contains NaN"):
            _est(cls).fit(X, y)
        with pytest.raises(ValueError, match=r"X contains 1 NaN value \(the first at \[3, 1\]\)"):
            vecnet.Network([3, 2, 1]).fit(X, y, epochs=1, engine="numpy")
        fitted = _est(cls).fit(df, y)
        with pytest.raises(ValueError, match="Input X contains NaN"):
            fitted.predict(X)
    labels = pd.Series(np.where(y > 0, "pos", "neg"), dtype="string")
    labels.iloc[5] = pd.NA
    target = pd.Series(y, dtype="Int64")
    target.iloc[5] = pd.NA
    bad = labels if cls is MLPClassifier else target
    assert _sklearn_raises(cls, df, bad) is not None   # scikit-learn 1.9: a TypeError from inside numpy for labels
    with pytest.raises(ValueError, match="Input y contains NaN"):
        _est(cls).fit(df, bad)


def test_score_refuses_labels_of_another_type_like_scikit_learn(frames):
    pd, df, y = frames
    for fit_labels, score_labels in ((y, y.astype(str)), (y.astype(str), y),
                                     (y, pd.Series(y.astype(str), dtype="category"))):
        assert _sklearn_raises(MLPClassifier, df, score_labels, method="score",
                               fit_on=(df, fit_labels)) is ValueError
        est = _est(MLPClassifier).fit(df, fit_labels)
        with pytest.raises(ValueError, match=r"Mix of label input types \(string and number\)"):
            est.score(df, score_labels)   # was 0.0: every label compared unequal
    assert _est(MLPClassifier).fit(df, y.astype(str)).score(df, pd.Series(y.astype(str), dtype="string")) > 0


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_column_names_of_mixed_types_are_a_type_error_like_scikit_learn(frames, cls):
    pd, df, y = frames
    mixed = df.set_axis([0, "a", "b"], axis=1)
    assert _sklearn_raises(cls, mixed, y) is TypeError
    with pytest.raises(TypeError, match="Feature names are only supported if all input features have string names"):
        _est(cls).fit(mixed, y)
    est = _est(cls, warm_start=True).fit(df, y)
    before = est.net_.theta.copy()
    with pytest.raises(TypeError, match=r"has \['int', 'str'\] as feature name"):
        est.fit(mixed, y)
    with pytest.raises(TypeError, match="string names"):
        est.predict(mixed[["b", "a", 0]])   # was no error at all: the columns silently swapped
    np.testing.assert_array_equal(est.net_.theta, before)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])


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
