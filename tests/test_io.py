"""vecnet.save / vecnet.load: round trips, refusal of bad files, atomic writes."""

import json
import os
import warnings

import numpy as np
import pytest

import vecnet
from vecnet import MLPClassifier, MLPRegressor, Network
from vecnet.io import FORMAT_VERSION, MAGIC, ModelFormatError, read_header
from vecnet.optimizers import OptimizerState


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


def fitted(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vecnet.ConvergenceWarning)
        return est.fit(X, y)


# -- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_network_round_trip_is_exact(tmp_path, dtype):
    net = Network([3, 5, 2], activation="tanh", output_activation="softmax", loss="cce", seed=1,
                  dtype=dtype)
    path = tmp_path / "net.npz"
    net.save(path)
    back = vecnet.load(path)
    assert isinstance(back, Network) and back.sizes == [3, 5, 2] and back.dtype == dtype
    assert (back.activation, back.output_activation, back.loss) == ("tanh", "softmax", "cce")
    np.testing.assert_array_equal(back.theta, net.theta)
    X, _ = data()
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


@pytest.mark.parametrize("labels", [None, ["no", "yes", "maybe"]])
def test_classifier_round_trip_gives_identical_predictions(tmp_path, labels):
    X, y = data()
    y = y if labels is None else np.array(labels)[y]
    clf = fitted(MLPClassifier(hidden_layer_sizes=(8, 4), max_iter=20, random_state=0), X, y)
    path = tmp_path / "clf.npz"
    vecnet.save(clf, path)
    back = vecnet.load(path)
    assert type(back) is MLPClassifier and back.get_params() == clf.get_params()
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.loss_curve_ == clf.loss_curve_ and back.n_iter_ == clf.n_iter_
    assert back.n_features_in_ == 3 and back.best_loss_ == clf.best_loss_


def test_regressor_round_trip_and_training_continues(tmp_path):
    X, _ = data()
    Y = np.column_stack([X[:, 0] * 2, X[:, 1] - X[:, 2]])
    reg = fitted(MLPRegressor(max_iter=10, random_state=0, dtype="float32"), X, Y)
    reg.save(tmp_path / "reg.npz")
    back = vecnet.load(tmp_path / "reg.npz")
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    assert back.net_.dtype == np.float32 and back.n_outputs_ == 2
    back.partial_fit(X, Y)
    assert back.n_iter_ == reg.n_iter_ + 1


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_training_resumed_after_loading_is_training_never_interrupted(tmp_path, solver):
    X, y = data()
    clf = fitted(MLPClassifier(hidden_layer_sizes=(6,), solver=solver, max_iter=4, random_state=0), X, y)
    clf.save(tmp_path / "m.npz")
    back = vecnet.load(tmp_path / "m.npz")
    for model in (clf, back):
        model.partial_fit(X, y)
        model.partial_fit(X, y)
    np.testing.assert_array_equal(back.net_.theta, clf.net_.theta)
    assert back.loss_curve_ == clf.loss_curve_


@pytest.mark.parametrize("family", ["sgd", "adam"])
def test_the_optimizer_family_survives_saving_and_loading(tmp_path, family):
    X, y = data()
    other = {"sgd": "adam", "adam": "sgd"}[family]
    net = Network([3, 4, 1], seed=0)
    net.fit(X, y, epochs=2, batch_size=10, optimizer=family, engine="numpy")
    net.save(tmp_path / "n.npz")
    assert read_header(tmp_path / "n.npz")["network"]["optimizer_family"] == family
    back = vecnet.load(tmp_path / "n.npz")
    assert back.optimizer_state.family == family
    fresh = back.copy()
    fresh.optimizer_state = None           # the independent baseline: a fresh optimizer
    for model in (back, fresh):
        model.fit(X, y, epochs=2, batch_size=10, optimizer=other, engine="numpy")
    np.testing.assert_array_equal(back.theta, fresh.theta)
    clf = fitted(MLPClassifier(hidden_layer_sizes=(4,), solver=family, max_iter=2, random_state=0), X, y)
    clf.save(tmp_path / "c.npz")
    assert vecnet.load(tmp_path / "c.npz").net_.optimizer_state.family == family


def test_the_file_is_an_npz_readable_without_pickle_with_a_json_header(tmp_path):
    X, y = data()
    clf = fitted(MLPClassifier(max_iter=2, random_state=0), X, y)
    vecnet.save(clf, tmp_path / "m.npz", metadata={"note": "hello"})
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert sorted(z.files) == ["classes", "header", "loss_curve", "optimizer_memory", "optimizer_steps",
                                   "theta"]
        np.testing.assert_array_equal(z["loss_curve"], clf.loss_curve_)
        assert z["optimizer_steps"][0] == 2 * 1  # two epochs of one batch (60 samples <= 200)
        header = json.loads(z["header"].tobytes().decode("utf-8"))
    assert header["magic"] == MAGIC and header["format_version"] == FORMAT_VERSION
    assert header["kind"] == "MLPClassifier" and header["network"]["sizes"] == [3, 100, 3]
    assert read_header(tmp_path / "m.npz")["metadata"] == {"note": "hello"}


def test_a_long_training_saves_and_loads_with_every_epoch_of_its_curves(tmp_path):
    """52,000 epochs of curves made a 1.4 MB JSON header: saved, then refused by load (over 1 MB)."""
    X, y = data()
    clf = fitted(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, early_stopping=True, random_state=0,
                               engine="numpy"), X, y)
    rng = np.random.default_rng(0)
    clf.loss_curve_ = list(rng.uniform(0, 1, 60_000))   # as if trained that long: 17 digits each
    clf.validation_scores_ = list(rng.uniform(0, 1, 60_000))
    clf.n_iter_ = 60_000
    clf.save(tmp_path / "long.npz")
    back = vecnet.load(tmp_path / "long.npz")
    assert back.loss_curve_ == clf.loss_curve_ and back.validation_scores_ == clf.validation_scores_
    assert back.n_iter_ == 60_000
    assert os.path.getsize(tmp_path / "long.npz") < 2_000_000


def test_a_header_load_would_refuse_is_refused_by_save_and_the_old_file_kept(tmp_path):
    net = Network([2, 3, 1], seed=0)
    net.save(tmp_path / "m.npz")
    before = (tmp_path / "m.npz").read_bytes()
    with pytest.raises(ValueError, match="more than the 1048576 a model header may have"):
        vecnet.save(Network([2, 3, 1], seed=1), tmp_path / "m.npz", metadata={"note": "x" * 2_000_000})
    assert (tmp_path / "m.npz").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_saving_through_a_symbolic_link_replaces_the_file_it_points_to(tmp_path):
    (tmp_path / "real").mkdir()
    Network([2, 3, 1], seed=0).save(tmp_path / "real" / "m.npz")
    os.symlink(tmp_path / "real" / "m.npz", tmp_path / "link.npz")
    net = Network([2, 3, 1], seed=1)
    net.save(tmp_path / "link.npz")
    assert os.path.islink(tmp_path / "link.npz")   # the link stays, and leads to the new weights
    np.testing.assert_array_equal(vecnet.load(tmp_path / "real" / "m.npz").theta, net.theta)
    assert sorted(os.listdir(tmp_path / "real")) == ["m.npz"]


# -- refusals -------------------------------------------------------------------------------
def write_npz(path, header, **arrays):
    """An .npz laid out like a model, with a header we choose."""
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8) if isinstance(header, dict) else header
    np.savez(path, header=raw, **arrays)


def good_parts():
    net = Network([2, 3, 1], seed=0)
    header = {"magic": MAGIC, "format_version": FORMAT_VERSION, "kind": "Network",
              "network": {"sizes": [2, 3, 1], "activation": "sigmoid", "output_activation": "sigmoid",
                          "loss": "mse", "dtype": "float64"}}
    return header, net.theta.copy()


def test_the_hand_made_good_file_loads(tmp_path):
    header, theta = good_parts()
    write_npz(tmp_path / "ok.npz", header, theta=theta)
    np.testing.assert_array_equal(vecnet.load(tmp_path / "ok.npz").theta, theta)


@pytest.mark.filterwarnings("ignore::vecnet.ConvergenceWarning")   # 5 epochs: enough here
def test_a_file_in_the_other_byte_order_loads_the_same_values(tmp_path):
    # as a big-endian machine would write it: every number array byte-swapped (its dtype says so)
    X, y = vecnet.article_data()
    est = vecnet.MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, y.astype(int))
    est.save(tmp_path / "native.npz")
    with np.load(tmp_path / "native.npz") as f:
        arrays = {name: f[name] for name in f.files}
    swapped = {name: a if a.dtype.itemsize == 1 else a.astype(a.dtype.newbyteorder(">" if a.dtype.isnative
                                                                                 and np.little_endian else "<"))
               for name, a in arrays.items()}
    assert any(not a.dtype.isnative for a in swapped.values())
    np.savez(tmp_path / "swapped.npz", **swapped)
    back = vecnet.load(tmp_path / "swapped.npz")
    assert back.net_.theta.dtype.isnative and back.net_.theta.tobytes() == est.net_.theta.tobytes()
    np.testing.assert_array_equal(back.classes_, est.classes_)
    assert back.loss_curve_ == est.loss_curve_
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    state, saved = back.net_.optimizer_state, est.net_.optimizer_state
    assert state.memory.tobytes() == saved.memory.tobytes() and state.steps.tobytes() == saved.steps.tobytes()


@pytest.mark.parametrize("change, message", [
    (lambda h, t: ({**h, "magic": "other"}, t), "wrong magic"),
    (lambda h, t: ({**h, "format_version": FORMAT_VERSION + 1}, t), "newer than this vecnet"),
    (lambda h, t: ({**h, "format_version": "1"}, t), "invalid format_version"),
    (lambda h, t: (h, t[:-1]), "do not match the architecture"),
    (lambda h, t: (h, t.astype(np.float32)), "do not match the architecture"),
    (lambda h, t: (h, np.where(np.arange(t.size) == 3, np.nan, t)), "NaN or inf"),
    (lambda h, t: ({**h, "network": {**h["network"], "sizes": [2, 0, 1]}}, t), "invalid layer sizes"),
    (lambda h, t: ({**h, "network": {**h["network"], "activation": "swish"}}, t), "unknown activation"),
    (lambda h, t: ({**h, "network": {**h["network"], "activation": ["x"]}}, t), "unknown activation"),
    (lambda h, t: ({**h, "network": {**h["network"], "loss": {"a": 1}}}, t), "unknown loss"),
    (lambda h, t: ({**h, "network": {**h["network"], "loss": "cce"}}, t), "invalid architecture"),
    (lambda h, t: ({**h, "kind": "Pipeline"}, t), "unknown model kind"),
    (lambda h, t: ({**h, "kind": "MLPRegressor"}, t), "parameters or fitted attributes are missing"),
])
def test_malformed_headers_and_weights_are_refused(tmp_path, change, message):
    header, theta = change(*good_parts())
    write_npz(tmp_path / "bad.npz", header, theta=theta)
    with pytest.raises(ModelFormatError, match=message):
        vecnet.load(tmp_path / "bad.npz")


def test_model_format_error_is_a_value_error():
    assert issubclass(ModelFormatError, ValueError) and vecnet.ModelFormatError is ModelFormatError


@pytest.mark.parametrize("content, message", [
    (b"", "not an .npz archive"),
    (b"x,y\n1,2\n", "not an .npz archive"),
    (b"PK\x03\x04garbage", "not a vecnet model file"),
])
def test_files_that_are_not_archives_are_refused(tmp_path, content, message):
    (tmp_path / "m.npz").write_bytes(content)
    with pytest.raises(ModelFormatError, match=message):
        vecnet.load(tmp_path / "m.npz")


def test_a_single_npy_array_and_a_header_that_is_not_json_are_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ModelFormatError, match="not an .npz archive"):
        vecnet.load(tmp_path / "a.npy")
    _, theta = good_parts()
    write_npz(tmp_path / "b.npz", np.frombuffer(b"{not json", dtype=np.uint8), theta=theta)
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        vecnet.load(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", theta=theta)
    with pytest.raises(ModelFormatError, match="no header"):
        vecnet.load(tmp_path / "c.npz")


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    header, theta = good_parts()
    write_npz(tmp_path / "p.npz", header, theta=theta, extra=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFormatError, match="unexpected member 'extra.npy'"):
        vecnet.load(tmp_path / "p.npz")
    write_npz(tmp_path / "q.npz", header, theta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFormatError, match="no pickle"):
        vecnet.load(tmp_path / "q.npz")


@pytest.mark.parametrize("memory, steps, message", [
    (np.zeros((2, 13)), np.array([3]), None),                        # valid: loads
    (np.zeros((2, 12)), np.array([3]), "optimizer state does not match"),
    (np.zeros((2, 13)), None, "optimizer state does not match"),
    (np.full((2, 13), np.nan), np.array([3]), "optimizer state contains NaN"),
])
def test_the_optional_optimizer_state_is_checked(tmp_path, memory, steps, message):
    header, theta = good_parts()                                     # 13 parameters
    extra = {"optimizer_memory": memory} | ({} if steps is None else {"optimizer_steps": steps})
    write_npz(tmp_path / "o.npz", header, theta=theta, **extra)
    if message is None:
        state = vecnet.load(tmp_path / "o.npz").optimizer_state
        assert state.steps[0] == 3 and state.memory.shape == (2, 13)
        return
    with pytest.raises(ModelFormatError, match=message):
        vecnet.load(tmp_path / "o.npz")


@pytest.mark.parametrize("family, loads", [("adam", False), ("sgd", True), (None, True)])
def test_negative_second_moments_are_refused_in_an_adam_state_only(tmp_path, family, loads):
    # Adam divides by the square root of the second moments: the first step was NaN, reported
    # as divergence ("try a smaller learning rate"); momentum (sgd) may be negative
    header, theta = good_parts()
    if family is not None:
        header["network"]["optimizer_family"] = family
    memory = np.zeros((2, 13))
    memory[1, 4] = -1e-3
    write_npz(tmp_path / "o.npz", header, theta=theta, optimizer_memory=memory, optimizer_steps=np.array([3]))
    if loads:
        assert vecnet.load(tmp_path / "o.npz").optimizer_state.memory[1, 4] == -1e-3
    else:
        with pytest.raises(ModelFormatError, match="negative second moments"):
            vecnet.load(tmp_path / "o.npz")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_file_without_the_optimizer_family_continues_with_either(tmp_path, optimizer):
    header, theta = good_parts()                                     # as older vecnets wrote it
    memory, steps = np.random.default_rng(1).uniform(0.1, 0.2, size=(2, 13)), np.array([3])
    write_npz(tmp_path / "o.npz", header, theta=theta, optimizer_memory=memory, optimizer_steps=steps)
    back = vecnet.load(tmp_path / "o.npz")
    assert back.optimizer_state.family is None
    twin = Network([2, 3, 1], seed=0)                                # the same state, set by hand
    twin.optimizer_state = OptimizerState(memory.copy(), steps.copy())
    X, y = vecnet.article_data()
    for model in (back, twin):
        model.fit(X, y, epochs=2, batch_size=2, optimizer=optimizer, engine="numpy")
    np.testing.assert_array_equal(back.theta, twin.theta)
    assert back.optimizer_state.steps[0] == 3 + 2 * 2 and back.optimizer_state.family == optimizer


@pytest.mark.parametrize("family", ["rmsprop", "SGD", 1, ["sgd"]])
def test_an_invalid_optimizer_family_is_refused(tmp_path, family):
    header, theta = good_parts()
    header["network"]["optimizer_family"] = family
    write_npz(tmp_path / "f.npz", header, theta=theta, optimizer_memory=np.zeros((2, 13)),
              optimizer_steps=np.array([3]))
    with pytest.raises(ModelFormatError, match="invalid optimizer_family"):
        vecnet.load(tmp_path / "f.npz")


def test_unexpected_arrays_are_refused(tmp_path):
    header, theta = good_parts()
    write_npz(tmp_path / "e.npz", header, theta=theta, extra=np.zeros(2))
    with pytest.raises(ModelFormatError, match="expected the arrays"):
        vecnet.load(tmp_path / "e.npz")


def test_every_truncation_of_a_model_file_is_refused(tmp_path):
    X, y = data()
    clf = fitted(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X, y)
    vecnet.save(clf, tmp_path / "full.npz")
    whole = (tmp_path / "full.npz").read_bytes()
    for cut in range(0, len(whole), max(1, len(whole) // 60)):
        (tmp_path / "cut.npz").write_bytes(whole[:cut])
        with pytest.raises(ModelFormatError):
            vecnet.load(tmp_path / "cut.npz")


def test_classifier_with_classes_that_do_not_fit_the_outputs_is_refused(tmp_path):
    X, y = data()
    clf = fitted(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X, y)
    vecnet.save(clf, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        parts = {k: z[k] for k in z.files}
    np.savez(tmp_path / "m.npz", **{**parts, "classes": np.arange(5)})
    with pytest.raises(ModelFormatError, match="5 classes do not match 3 outputs"):
        vecnet.load(tmp_path / "m.npz")


def test_saving_into_a_missing_directory_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="the directory .*nowhere does not exist"):
        Network([2, 2, 1], seed=0).save(tmp_path / "nowhere" / "m.npz")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        vecnet.load(tmp_path / "nothing.npz")


def test_saving_refuses_unfitted_estimators_and_non_finite_weights(tmp_path):
    with pytest.raises(vecnet.NotFittedError):
        vecnet.save(MLPRegressor(), tmp_path / "m.npz")
    net = Network([2, 2, 1], seed=0)
    net.theta[0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        net.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


# -- atomic writes ----------------------------------------------------------------------------
@pytest.fixture
def saved_before(tmp_path):
    """A directory holding one saved network; returns (path, its bytes)."""
    path = tmp_path / "model.npz"
    Network([2, 2, 1], seed=0).save(path)
    return path, path.read_bytes()


def test_a_save_failing_while_writing_keeps_the_old_file_and_leaves_no_temporary(saved_before, monkeypatch):
    path, before = saved_before

    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 half of an archive")
        raise OSError("disk full")

    monkeypatch.setattr(vecnet.io.np, "savez", half_written)
    with pytest.raises(OSError, match="disk full"):
        Network([2, 3, 1], seed=1).save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.npz"]


def test_a_save_failing_at_the_rename_keeps_the_old_file_and_leaves_no_temporary(saved_before, monkeypatch):
    path, before = saved_before

    def no_rename(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(vecnet.io.os, "replace", no_rename)
    with pytest.raises(OSError, match="rename failed"):
        Network([2, 3, 1], seed=1).save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.npz"]


def test_a_successful_save_replaces_the_old_file(saved_before):
    path, _ = saved_before
    Network([2, 3, 1], seed=1).save(path)
    assert vecnet.load(path).sizes == [2, 3, 1]
    assert os.listdir(path.parent) == ["model.npz"]


@pytest.mark.parametrize("make", [np.random.default_rng, np.random.RandomState, np.random.SeedSequence,
                                  np.random.PCG64])
def test_a_random_state_object_is_saved_as_none_and_the_rest_round_trips(tmp_path, make):
    X, y = data()
    clf = fitted(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=make(0)), X, y)
    clf.save(tmp_path / "m.npz")
    back = vecnet.load(tmp_path / "m.npz")
    expected = dict(clf.get_params(), random_state=None)
    assert back.get_params() == expected
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
