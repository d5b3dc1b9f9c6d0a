"""Issue 10, class 4: what a model file says must agree with itself, or it is refused at load.

A loaded estimator either is refused with ``ModelFormatError`` or is usable:
``predict`` and ``partial_fit`` work on it. Nothing wrong in a file is found
later, by the first ``partial_fit``.
"""

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecnet
from vecnet.estimators.mlp import FITTED_STATE
from vecnet.io import ModelFormatError


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Paths of a saved classifier and regressor, (5, 4) hidden tanh layers."""
    X, y = _data()
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for est, target in ((vecnet.MLPClassifier, y), (vecnet.MLPRegressor, X[:, 0])):
        model = est(hidden_layer_sizes=(5, 4), activation="tanh", max_iter=3, random_state=0,
                    engine="numpy")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", vecnet.ConvergenceWarning)
            model.fit(X, target)
        paths[est.__name__] = folder / f"{est.__name__}.npz"
        model.save(paths[est.__name__])
    return paths


def _rewrite(src, dst, edit_header=None, format_1=False, **replace):
    """Copy the model at ``src`` to ``dst``, editing its JSON header and replacing arrays.

    ``format_1``: laid out as format 1 wrote it, the loss curve and validation scores in the header.
    """
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["header"].tobytes())
    if format_1:
        header["format_version"] = 1
        header["fitted"]["loss_curve_"] = arrays.pop("loss_curve").tolist()
        scores = arrays.pop("validation_scores", None)
        header["fitted"]["validation_scores_"] = None if scores is None else scores.tolist()
    if edit_header:
        edit_header(header)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    arrays.update(replace)
    np.savez(dst, **arrays)
    return dst


def _set(section, key, value):
    def edit(h):
        h[section][key] = value
    return edit


@pytest.mark.parametrize("section, key, value, message", [
    ("params", "activation", "relu", "activation='relu' disagrees"),
    ("params", "activation", "logistic", "activation='logistic' disagrees"),
    ("params", "hidden_layer_sizes", [5], "hidden_layer_sizes=.* disagrees"),
    ("params", "hidden_layer_sizes", [4, 5], "hidden_layer_sizes=.* disagrees"),
    ("params", "dtype", "float32", "dtype='float32' disagrees"),
    ("fitted", "n_iter_", "3", "n_iter_ is invalid"),
    ("fitted", "n_iter_", -1, "n_iter_ is invalid"),
    ("fitted", "n_iter_", 7, "loss_curve_ is invalid"),      # 3 losses for 7 epochs
    ("fitted", "loss_curve_", "abc", "loss_curve_ is invalid"),
    ("fitted", "loss_curve_", [1, "x", 2], "loss_curve_ is invalid"),
    ("fitted", "best_loss_", [0.5], "best_loss_ is invalid"),
    ("fitted", "best_loss_", True, "best_loss_ is invalid"),
    ("fitted", "validation_scores_", {"a": 1}, "validation_scores_ is invalid"),
    ("fitted", "best_validation_score_", "high", "best_validation_score_ is invalid"),
    ("fitted", "n_features_in_", 3.0, "n_features_in_"),
    ("fitted", "n_features_in_", True, "n_features_in_"),
    ("fitted", "engine_", "auto", "engine_ is invalid"),
    ("fitted", "engine_", 1, "engine_ is invalid"),
])
@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_disagreeing_fields_are_refused_at_load(saved, tmp_path, kind, section, key, value, message):
    # the curves sit in the header in format 1 (and as arrays since format 2: next tests)
    path = _rewrite(saved[kind], tmp_path / "bad.npz", _set(section, key, value),
                    format_1=key in ("loss_curve_", "validation_scores_"))
    with pytest.raises(ModelFormatError, match=message):
        vecnet.load(path)


@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_a_format_1_file_with_the_curves_in_its_header_loads(saved, tmp_path, kind):
    path = _rewrite(saved[kind], tmp_path / "old.npz", format_1=True)
    old, new = vecnet.load(path), vecnet.load(saved[kind])
    assert old.loss_curve_ == new.loss_curve_ and len(old.loss_curve_) == old.n_iter_ == 3
    assert old.validation_scores_ is None and new.validation_scores_ is None


@pytest.mark.parametrize("edit, replace, message", [
    (None, dict(loss_curve=np.array([1, 2, 3])), "loss_curve must be a float64 vector"),
    (None, dict(loss_curve=np.ones((3, 1))), "loss_curve must be a float64 vector"),
    (None, dict(loss_curve=np.ones(2)), "loss_curve_ is invalid"),           # 2 losses for 3 epochs
    (_set("fitted", "loss_curve_", [1.0, 2.0, 3.0]), {}, "fitted attributes are missing"),   # both places
])
def test_curves_stored_as_arrays_are_checked(saved, tmp_path, edit, replace, message):
    path = _rewrite(saved["MLPRegressor"], tmp_path / "bad.npz", edit, **replace)
    with pytest.raises(ModelFormatError, match=message):
        vecnet.load(path)


@pytest.mark.parametrize("classes, message", [
    (np.array([0.0, np.nan, 2.0]), "finite numbers or strings"),
    (np.array([0.0, 1.0, np.inf]), "finite numbers or strings"),
    (np.array([2, 1, 0]), "distinct sorted"),
    (np.array(["b", "a", "c"]), "distinct sorted"),
    (np.array([1, 1, 2]), "distinct sorted"),
])
def test_classes_that_are_not_sorted_finite_labels_are_refused(saved, tmp_path, classes, message):
    path = _rewrite(saved["MLPClassifier"], tmp_path / "c.npz", classes=classes)
    with pytest.raises(ModelFormatError, match=message):
        vecnet.load(path)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 10) | st.floats(allow_nan=False)
                    | st.text(max_size=3),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=2),
                    max_leaves=6)
FIELDS = [("fitted", name) for name in FITTED_STATE] + [
    ("params", name) for name in ("activation", "hidden_layer_sizes", "dtype", "early_stopping",
                                  "solver", "batch_size", "shuffle", "random_state")]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["MLPClassifier", "MLPRegressor"]), field=st.sampled_from(FIELDS),
       value=JSON)
def test_a_loaded_estimator_is_refused_or_usable(saved, tmp_path, kind, field, value):
    path = _rewrite(saved[kind], tmp_path / "fuzz.npz", _set(*field, value),
                    format_1=field[1] in ("loss_curve_", "validation_scores_"))
    try:
        model = vecnet.load(path)
    except ModelFormatError:
        return
    X, y = _data(12, seed=1)
    model.predict(X)
    # a file may carry no loss curve (converted from a solver that records none): one
    # epoch adds one iteration and one loss either way
    iterations, losses = model.n_iter_, len(model.loss_curve_)
    assert losses in (0, iterations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.partial_fit(X, y if kind == "MLPClassifier" else X[:, 0])
    assert (model.n_iter_ - iterations, len(model.loss_curve_) - losses) == (1, 1)


@pytest.mark.parametrize("classes", [[np.nan, 0, 1], [[0, 1], [2, 3]], 5, np.array([0, "a"], dtype=object), [0j, 1]])
def test_partial_fit_refuses_classes_no_file_could_hold(classes):
    """The other way to NaN classes: partial_fit(classes=...) refuses them, so none is ever saved."""
    X, y = _data()
    est = vecnet.MLPClassifier(hidden_layer_sizes=(3,), engine="numpy", random_state=0)
    with pytest.raises(ValueError, match="classes must be"):
        est.partial_fit(X, y, classes=classes)
    assert not hasattr(est, "classes_")
