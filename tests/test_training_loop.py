"""The training loop: shuffling, validation, early stopping, history, callbacks, progress."""

import sys

import numpy as np
import pytest

import vecnet
from helpers import assert_params_close, spy_engine
from vecnet.training.metrics import R2, Accuracy


def _net(**kw):
    return vecnet.Network([3, 5, 1], **{"activation": "tanh", "output_activation": "sigmoid",
                                         "seed": 11, **kw})


def _data(n=60, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X @ np.array([1.0, -1.0, 0.5]) > 0).astype(float)
    return X, y


# -- shuffling ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_shuffling_is_reproducible_from_the_seed(engine):
    X, y = _data()
    runs = []
    for seed in (1, 1, 2):
        net = _net()
        h = net.fit(X, y, epochs=4, batch_size=4, shuffle=True, seed=seed, engine=engine)
        runs.append((net.theta.copy(), h.loss))
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_shuffling_draws_a_fresh_permutation_each_epoch():
    # independent twin: permute by hand with the same generator, train in order
    X, y = _data()
    net = _net()
    net.fit(X, y, epochs=3, batch_size=5, shuffle=True, seed=9, engine="numpy")
    twin = _net()
    rng = np.random.default_rng(9)
    for _ in range(3):
        p = rng.permutation(len(X))
        twin.fit(X[p], y[p], epochs=1, batch_size=5, engine="numpy")
    assert np.array_equal(net.theta, twin.theta)


def test_a_lazy_array_streamed_shuffled_permutes_blocks_then_rows(tmp_path):
    X, y = _data(n=50)
    X = X.astype(np.float32)                 # needs a conversion to float64: streamed
    np.save(tmp_path / "X.npy", X)
    net = _net()
    h = net.fit(vecnet.open_npy(tmp_path / "X.npy"), y, epochs=2, shuffle=True, seed=4, engine="numpy",
                chunk_bytes=320)
    assert h.streamed
    block = 320 // (4 * 8)                                   # 10 rows per block
    twin = _net()
    rng = np.random.default_rng(4)
    for _ in range(2):
        for b in rng.permutation(5):
            p = b * block + rng.permutation(block)
            twin.fit(X[p], y[p], epochs=1, engine="numpy")
    assert np.array_equal(net.theta, twin.theta)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("layout", ["fortran", "float32", "strided", "float32 memmap"])
def test_a_numpy_array_streamed_shuffled_trains_as_the_same_data_in_memory(tmp_path, engine, batch_size, layout):
    """Data that needs a conversion larger than chunk_bytes is streamed; a numpy array (a memmap too) is
    shuffled as in memory, so its weights are those of a C-ordered float64 copy, bit for bit (it got a
    two-level shuffle: other weights for a Fortran-ordered X, e.g. an estimator's DataFrame)."""
    X, y = _data(n=50)
    if layout == "fortran":
        given = np.asfortranarray(X)
    elif layout == "strided":
        given = np.repeat(X, 2, axis=0)[::2]
    else:
        X = X.astype(np.float32)
        given = X
        if layout == "float32 memmap":
            np.save(tmp_path / "X.npy", X)
            given = np.load(tmp_path / "X.npy", mmap_mode="r")
    kw = dict(epochs=3, batch_size=batch_size, shuffle=True, seed=4, engine=engine)
    net, twin = _net(), _net()
    assert net.fit(given, y, chunk_bytes=320, **kw).streamed   # 10 rows a block
    assert not twin.fit(np.ascontiguousarray(X, dtype=np.float64), y, **kw).streamed
    np.testing.assert_array_equal(net.theta, twin.theta)


def test_an_estimator_given_fortran_ordered_data_trains_as_on_c_ordered_data():
    X, y = _data(n=80)
    kw = dict(hidden_layer_sizes=(4,), max_iter=3, batch_size=8, random_state=0, engine="numpy")
    with pytest.warns(Warning, match="Maximum iterations"):
        a = vecnet.MLPRegressor(**kw).fit(X, y, chunk_bytes=16 * 8 * 4)   # C order: used in place
    with pytest.warns(Warning, match="Maximum iterations"):
        b = vecnet.MLPRegressor(**kw).fit(np.asfortranarray(X), y, chunk_bytes=16 * 8 * 4)   # streamed
    np.testing.assert_array_equal(a.net_.theta, b.net_.theta)


def test_per_sample_in_order_is_still_the_original():
    # the article's network through the full loop (callbacks and validation on) and streamed
    X, y = vecnet.article_data()
    np.random.seed(0)
    ref = vecnet.ReferenceNetwork()
    start = vecnet.from_reference(ref)
    ref_losses = []
    ref.train(X, y, epochs=200, learn_rate=0.1, log_every=None, epoch_losses=ref_losses)
    expected = vecnet.from_reference(ref).theta
    for kw in ({}, {"validation_data": (X, y), "callbacks": [lambda e, logs: None]},
               {"chunk_bytes": 48}):
        for engine in ("numpy", "numba"):
            net = start.copy()
            h = net.fit(X, y, epochs=200, lr=0.1, engine=engine, **kw)
            assert_params_close(net, expected, 1e-12, f"{engine} {kw}")
            np.testing.assert_allclose(h.loss, ref_losses, rtol=1e-11)


# -- validation -----------------------------------------------------------------


def _loss_by_hand(net, X, y):
    """Mean of the mse per sample, computed with a plain loop."""
    return float(np.mean([(yi - net.predict(xi[None])[0, 0]) ** 2 for xi, yi in zip(X, y)]))


def test_validation_fraction_holds_out_the_last_rows():
    X, y = _data(n=50)
    net = _net()
    h = net.fit(X, y, epochs=3, engine="numpy", validation_fraction=0.2)
    twin = _net()
    twin.fit(X[:40], y[:40], epochs=3, engine="numpy")
    assert np.array_equal(net.theta, twin.theta)
    assert len(h.val_loss) == 3 and h.metric == "r2"
    assert h.val_loss[-1] == pytest.approx(_loss_by_hand(net, X[40:], y[40:]), rel=1e-12)


def test_validation_data_is_evaluated_after_every_epoch():
    X, y = _data(n=50)
    Xv, yv = _data(n=30, seed=8)
    thetas = []
    net = _net(loss="bce")
    h = net.fit(X, y, epochs=4, engine="numba", validation_data=(Xv.tolist(), yv),
                callbacks=[lambda e, logs: thetas.append(net.theta.copy())])
    for theta, val_loss, acc in zip(thetas, h.val_loss, h.val_metric):
        twin = _net(loss="bce")
        twin.theta[...] = theta
        p = twin.predict(Xv)[:, 0]
        bce = -np.mean(yv * np.log(p) + (1 - yv) * np.log(1 - p))
        assert val_loss == pytest.approx(bce, rel=1e-10)
        assert acc == np.mean((p > 0.5) == (yv > 0.5))
    assert h.metric == "accuracy" and len(h.val_loss) == 4 and len(h.epoch_time) == 4


def test_validation_options_are_checked():
    X, y = _data()
    with pytest.raises(ValueError, match="not both"):
        _net().fit(X, y, validation_data=(X, y), validation_fraction=0.1)
    with pytest.raises(ValueError, match=r"validation_fraction must be a finite number in \(0, 1\)"):
        _net().fit(X, y, validation_fraction=1.5)
    with pytest.raises(ValueError, match="each needs at least 1"):
        _net().fit(X[:3], y[:3], validation_fraction=0.01)
    with pytest.raises(ValueError, match="validation X has 2 features"):
        _net().fit(X, y, validation_data=(X[:, :2], y))


def test_metrics_match_their_definitions_block_by_block():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(100, 2))
    A = Y + rng.normal(scale=0.5, size=Y.shape)
    r2 = R2()
    for lo in range(0, 100, 7):
        r2.update(Y[lo:lo + 7], A[lo:lo + 7])
    by_hand = np.mean([1 - ((Y[:, j] - A[:, j]) ** 2).sum() / ((Y[:, j] - Y[:, j].mean()) ** 2).sum()
                       for j in range(2)])
    assert r2.result() == pytest.approx(by_hand, rel=1e-12)
    onehot = np.eye(3)[[0, 1, 2, 1]]
    acc = Accuracy(argmax=True)
    acc.update(onehot, np.array([[.8, .1, .1], [.2, .7, .1], [.5, .3, .2], [.1, .6, .3]]))
    assert acc.result() == 0.75


# -- early stopping ------------------------------------------------------------------


def test_early_stopping_restores_the_best_weights():
    # validating on the flipped labels: the validation loss only grows, epoch 0 is best
    X, y = _data()
    net = _net()
    seen = []
    h = net.fit(X, y, epochs=50, engine="numba", validation_data=(X, 1 - y),
                early_stopping=vecnet.EarlyStopping(patience=3),
                callbacks=[lambda e, logs: seen.append(e)])
    assert h.stopped == "early_stopping" and h.epochs == 4 and h.best_epoch == 0
    assert seen == [0, 1, 2, 3]                 # callbacks see the stopping epoch too
    assert all(b > a for a, b in zip(h.val_loss, h.val_loss[1:]))
    twin = _net()
    twin.fit(X, y, epochs=1, engine="numba")
    assert h.restored and np.array_equal(net.theta, twin.theta)


def test_early_stopping_without_restore_keeps_the_last_weights():
    X, y = _data()
    net = _net()
    h = net.fit(X, y, epochs=50, engine="numpy", validation_data=(X, 1 - y),
                early_stopping=vecnet.EarlyStopping(patience=2, restore_best=False))
    twin = _net()
    twin.fit(X, y, epochs=3, engine="numpy")
    assert not h.restored and np.array_equal(net.theta, twin.theta)


def test_min_delta_and_monitor_loss():
    X, y = _data()
    h = _net().fit(X, y, epochs=50, engine="numpy",
                   early_stopping=vecnet.EarlyStopping(patience=5, min_delta=1e9, monitor="loss"))
    assert h.epochs == 6 and h.best_epoch == 0                # nothing beats inf by 1e9
    h = _net().fit(X, y, epochs=8, engine="numpy",
                   early_stopping=vecnet.EarlyStopping(patience=5, monitor="loss"))
    assert h.stopped is None and h.best_epoch == int(np.argmin(h.loss))


def test_early_stopping_settings_are_checked():
    with pytest.raises(ValueError, match="patience"):
        vecnet.EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="monitor"):
        vecnet.EarlyStopping(monitor="accuracy")
    X, y = _data()
    with pytest.raises(ValueError, match="needs validation_data"):
        _net().fit(X, y, early_stopping=True)


# -- callbacks, history, progress --------------------------------------------------


def test_callbacks_see_every_epoch_and_can_stop():
    X, y = _data()
    seen = []
    h = _net().fit(X, y, epochs=10, engine="numba", validation_fraction=0.25,
                   callbacks=[lambda e, logs: seen.append((e, dict(logs))) or e == 5])
    assert [e for e, _ in seen] == list(range(6)) and h.stopped == "callback"
    assert set(seen[0][1]) == {"loss", "val_loss", "val_r2", "time"}
    assert [logs["loss"] for _, logs in seen] == h.loss


@pytest.mark.parametrize("value", [1, 0.5, "no", {"a": 1}, np.array([1.0, 2.0]), np.float64(1.0)])
def test_only_true_from_a_callback_stops(value):
    X, y = _data()
    h = _net().fit(X, y, epochs=4, engine="numpy", callbacks=[lambda e, logs: value])
    assert h.epochs == 4 and h.stopped is None
    h = _net().fit(X, y, epochs=4, engine="numpy", callbacks=[lambda e, logs: np.bool_(e == 1)])
    assert h.epochs == 2 and h.stopped == "callback"


def test_without_per_epoch_work_the_engine_runs_all_epochs_in_one_call(monkeypatch):
    calls = []
    spy_engine(monkeypatch, "numba", lambda args: calls.append(args[4]))   # args[4]: epochs
    X, y = _data()
    h = _net().fit(X, y, epochs=30, engine="numba")
    assert calls == [30] and h.epochs == 30
    calls.clear()
    _net().fit(X, y, epochs=30, engine="numba", validation_fraction=0.1)
    assert calls == [1] * 30


def test_verbose_prints_one_line_per_epoch_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, y = _data()
    _net().fit(X, y, epochs=3, engine="numpy", verbose=True, validation_fraction=0.2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all("val_loss" in line and "val_r2" in line for line in lines)


def test_verbose_shows_a_tqdm_bar_when_installed(capsys):
    pytest.importorskip("tqdm")
    X, y = _data()
    _net().fit(X, y, epochs=3, engine="numpy", verbose=True)
    err = capsys.readouterr()
    assert "3/3" in err.err and "epoch" in err.err and err.out == ""


def test_quiet_by_default(capsys):
    X, y = _data()
    _net().fit(X, y, epochs=3, engine="numpy", validation_fraction=0.2)
    assert capsys.readouterr() == ("", "")


@pytest.mark.filterwarnings("ignore:overflow encountered")    # diverging overflows, by design
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_divergence_stops_with_a_warning_and_finite_weights(engine):
    X, y = _data()
    net = vecnet.Network([3, 5, 1], activation="relu", output_activation="identity", seed=1)
    with pytest.warns(vecnet.DivergenceWarning, match="smaller learning rate"):
        h = net.fit(X * 1e3, y * 1e3, epochs=20, lr=10.0, engine=engine)
    assert h.stopped == "diverged" and np.isfinite(net.theta).all()


def test_an_optimizer_with_its_own_step_is_run_by_numpy_never_by_the_kernel():
    """The compiled kernel runs SGD's or Adam's update: it silently ignored a subclass's own step."""
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Frozen(vecnet.SGD):
        def step(self, theta, grad, state, t, scratch=None):
            pass   # never updates: the weights must stay as they are

    X, y = vecnet.article_data()
    for engine in ("numpy", "auto"):
        net = vecnet.Network([2, 2, 1], seed=0)
        start = net.theta.copy()
        history = net.fit(X, y, epochs=2, optimizer=Frozen(), engine=engine)
        assert history.engine == "numpy"   # auto would pick numba for the article's network
        np.testing.assert_array_equal(net.theta, start)
    with pytest.raises(ValueError, match="engine 'numba' runs vecnet.SGD's and vecnet.Adam's updates.*Frozen"):
        vecnet.Network([2, 2, 1], seed=0).fit(X, y, epochs=1, optimizer=Frozen(), engine="numba")
    with pytest.raises(ValueError, match="optimizer must be a vecnet.SGD or vecnet.Adam"):
        vecnet.Network([2, 2, 1]).fit(X, y, epochs=1, optimizer=vecnet.optimizers.Optimizer(), engine="numpy")


def test_early_stopping_false_is_none():
    X, y = vecnet.article_data()
    a, b = vecnet.Network([2, 2, 1], seed=0), vecnet.Network([2, 2, 1], seed=0)
    a.fit(X, y, epochs=3, engine="numpy", early_stopping=False)
    b.fit(X, y, epochs=3, engine="numpy")
    np.testing.assert_array_equal(a.theta, b.theta)


def test_predict_of_overflowing_opposite_outputs_is_a_value_error_without_a_runtime_warning():
    net = vecnet.Network([1, 2], activation="identity", output_activation="identity", seed=0)
    net.set_params([(np.array([[1e300, -1e300]]), np.zeros(2))])
    with pytest.raises(ValueError, match="outputs are not finite"):   # was: RuntimeWarning under -W error
        net.predict([[1e10]])


def test_an_optimizer_subclass_of_the_base_with_its_own_step_is_run_by_the_numpy_engine():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Sign(vecnet.optimizers.Optimizer):
        family = "sgd"

        def step(self, theta, grad, state, t, scratch=None):
            theta -= self.lr * np.sign(grad)

    X, y = vecnet.article_data()
    net = vecnet.Network([2, 2, 1], seed=0)
    expected = net.theta.copy()
    for i in range(4):   # one epoch, per sample, in order: the sign step, worked out here
        _, grad = net.gradients(X[i:i + 1], y[i:i + 1, None])
        expected -= 0.05 * np.sign(grad)
        net.theta[...] = expected
    other = vecnet.Network([2, 2, 1], seed=0)
    history = other.fit(X, y, epochs=1, optimizer=Sign(lr=0.05))
    assert history.engine == "numpy"
    np.testing.assert_array_equal(other.theta, expected)
    with pytest.raises(ValueError, match="Sign has its own step: use engine='numpy'"):
        other.fit(X, y, epochs=1, optimizer=Sign(lr=0.05), engine="numba")


def test_an_error_inside_an_epoch_leaves_the_weights_of_the_last_completed_one():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Flaky(vecnet.SGD):
        def step(self, theta, grad, state, t, scratch=None):
            if t == 20:   # in the middle of the second epoch of 16 samples
                raise RuntimeError("step failed")
            super().step(theta, grad, state, t, scratch)

    X, y = vecnet.synthetic(16, n_features=2, seed=0)
    net = vecnet.Network([2, 2, 1], seed=0)
    one_epoch = net.copy()
    one_epoch.fit(X, y, epochs=1, engine="numpy")
    with pytest.raises(RuntimeError, match="step failed") as caught:
        net.fit(X, y, epochs=3, engine="numpy", optimizer=Flaky())
    assert caught.value.vecnet_histories[0].epochs == 1
    np.testing.assert_array_equal(net.theta, one_epoch.theta)
    assert net.optimizer_state.steps[0] == 16
