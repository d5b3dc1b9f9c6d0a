"""Dask: dask arrays streamed by fit, vecnet.dask.predict, and local SGD on a real LocalCluster.

Every comparison is against an independent computation: the same data in memory
trained by Network.fit, or the averaging rule done here by hand with numpy.
"""

import os
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import vecnet

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import vecnet.dask as vd  # noqa: E402
from vecnet.data.rows import as_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def client():
    """Two worker processes, one thread each, no dashboard; vecnet importable in them."""
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)   # the worker processes inherit it
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster, set_as_default=False) as c:
            yield c


def _data(n=200, n_in=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in))
    y = (X @ np.arange(1.0, n_in + 1) > 0).astype(np.float64)
    return X, y


def _net(n_in=3, dtype=np.float64, n_out=1):
    out, loss = ("sigmoid", "bce") if n_out == 1 else ("softmax", "cce")
    return vecnet.Network([n_in, 5, n_out], activation="tanh", output_activation=out, loss=loss,
                          seed=1, dtype=dtype)


# -- fit streams dask arrays (one process) ------------------------------------------------
@pytest.mark.parametrize("chunks", [50, (60, 7, 100, 33), ((120, 80), (1, 2)), 200])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_on_dask_equals_in_memory(chunks, dtype):
    X, y = _data()
    net = _net(dtype=dtype)
    ref = net.copy()
    chunks = chunks if isinstance(chunks, tuple) and isinstance(chunks[0], tuple) else (chunks, 3)
    history = net.fit(da.from_array(X, chunks=chunks), da.from_array(y, chunks=70),
                      epochs=3, batch_size=16, engine="numpy")
    expected = ref.fit(X, y, epochs=3, batch_size=16, engine="numpy")
    assert history.streamed and not expected.streamed
    np.testing.assert_array_equal(net.theta, ref.theta)
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_dask_blocks_follow_chunks_moved_to_batch_multiples():
    X, y = _data(100)
    rows = as_rows(da.from_array(X, chunks=((30, 5, 40, 25), 3)), y, 3, 1, np.float64)
    # chunk ends 30, 35, 75, 100 moved back to multiples of 16: 16, 32, 64 (and the end)
    assert rows.blocks(10**6, 16) == [(0, 16), (16, 32), (32, 64), (64, 100)]
    assert rows.blocks(10**6, 40) == [(0, 40), (40, 100)]   # 30 and 35 -> 0: joined with the next
    assert rows.blocks(10**6) == [(0, 30), (30, 35), (35, 75), (75, 100)]


def test_shuffled_dask_equals_memmap_with_the_same_blocks(tmp_path):
    X, y = _data(300)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    kw = dict(epochs=3, batch_size=16, engine="numpy", shuffle=True, seed=5)
    a, b = _net(), _net()
    a.fit(da.from_array(X, chunks=(96, 3)), da.from_array(y, chunks=96), **kw)
    # 4 columns x 8 bytes a row: 96 rows a block, like the chunks
    b.fit(vecnet.open_npy(tmp_path / "X.npy"), vecnet.open_npy(tmp_path / "y.npy"),
          chunk_bytes=96 * 32, **kw)
    np.testing.assert_array_equal(a.theta, b.theta)


class _Recorder:
    """An array-like that records which rows dask reads from it."""

    def __init__(self, X):
        self.X, self.shape, self.dtype, self.ndim = X, X.shape, X.dtype, X.ndim
        self.reads = []

    def __getitem__(self, key):
        rows = key[0] if isinstance(key, tuple) else key
        self.reads.append(rows.stop - rows.start)
        return self.X[key]


def test_each_chunk_computed_once_per_pass_and_nothing_larger():
    X, y = _data(200)
    source = _Recorder(X)
    chunks = (50, 30, 70, 50)
    net = _net()
    with __import__("dask").config.set(scheduler="synchronous"):
        net.fit(da.from_array(source, chunks=(chunks, 3), asarray=True), y, epochs=2, batch_size=16,
                engine="numpy")
    reads = [r for r in source.reads if r]   # dask reads 0 rows once to learn the type
    assert max(reads) <= max(chunks)
    assert len(reads) == 3 * len(chunks)   # the check pass, then two epochs


def test_dask_input_errors():
    X, y = _data(20)
    bad = X.copy()
    bad[13, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*\[13, 1\]"):
        _net().fit(da.from_array(bad, chunks=(5, 3)), y, epochs=1, engine="numpy")
    unknown = da.from_array(X, chunks=(5, 3))
    unknown = unknown[unknown[:, 0] > -10]   # boolean mask: chunk sizes unknown
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        _net().fit(unknown, y, epochs=1, engine="numpy")
    with pytest.raises(TypeError, match="must be numeric"):
        _net().fit(da.from_array(X.astype(str), chunks=5), y, epochs=1, engine="numpy")


def test_estimators_compute_dask_input_and_match_in_memory():
    X, y = _data(120)
    labels = np.where(y > 0, "pos", "neg")
    kw = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0, engine="numpy")
    dX = da.from_array(X, chunks=((50, 70), (2, 1)))
    with pytest.warns(vecnet.ConvergenceWarning):
        a = vecnet.MLPClassifier(**kw).fit(dX, da.from_array(labels, chunks=40))
    with pytest.warns(vecnet.ConvergenceWarning):
        b = vecnet.MLPClassifier(**kw).fit(X, labels)
    np.testing.assert_array_equal(a.net_.theta, b.net_.theta)
    np.testing.assert_array_equal(a.predict(dX), b.predict(X))


def test_partial_fit_keeps_the_engine_auto_chose_first():
    X, y = _data(201, n_in=64)
    clf = vecnet.MLPClassifier((64,), random_state=0)
    clf.partial_fit(X[:200], y[:200], classes=[0, 1])
    assert clf.engine_ == "numpy"   # 200 x 64**1.5 is past the crossover
    clf.partial_fit(X[200:], y[200:])   # one row alone would choose numba (and compile it)
    assert clf.engine_ == "numpy"


# -- vecnet.dask.predict ----------------------------------------------------------------------
def test_predict_equals_local_predict(client):
    X, y = _data(150)
    labels = np.where(y > 0, "pos", "neg")
    with pytest.warns(vecnet.ConvergenceWarning):
        clf = vecnet.MLPClassifier((4,), max_iter=2, random_state=0, engine="numpy").fit(X, labels)
    with pytest.warns(vecnet.ConvergenceWarning):
        reg = vecnet.MLPRegressor((4,), max_iter=2, random_state=0, engine="numpy").fit(X, X[:, :2])
    net = _net(n_out=3)
    dX = da.from_array(X, chunks=((40, 60, 50), (2, 1)))
    cases = [(clf, "predict"), (clf, "predict_proba"), (reg, "predict"), (net, "predict")]
    for model, method in cases:
        out = vd.predict(model, dX, method=method)
        assert out.chunks[0] == dX.chunks[0]
        got = client.compute(out).result()
        expected = getattr(model, method)(X)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    # a one-row chunk: BLAS takes its matrix-vector path, as local predict does for one row
    bounds = [0, 40, 41, 150]
    got = client.compute(vd.predict(net, da.from_array(X, chunks=(tuple(np.diff(bounds)), 3)))).result()
    expected = np.concatenate([net.predict(X[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])])
    np.testing.assert_array_equal(got, expected)
    graph = dict(vd.predict(clf, dX).__dask_graph__())
    assert sum(1 for v in graph.values() if v is clf or getattr(v, "value", None) is clf) == 1   # one task
    with pytest.raises(ValueError, match="features"):
        vd.predict(clf, da.ones((4, 2), chunks=2))
    with pytest.raises(vecnet.NotFittedError):   # as the estimator's own predict (was a TypeError)
        vd.predict(vecnet.MLPClassifier(), dX)


# -- local SGD on the cluster ----------------------------------------------------------------
def _by_hand(net, X, y, chunks, rounds, seed, **kw):
    """The local-SGD rule computed here: Network.fit per partition, then the row-weighted sum."""
    net = net.copy()
    bounds = np.cumsum([0, *chunks])
    for r in range(rounds):
        copies = []
        for p, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            part = net.copy()
            rng = np.random.default_rng(np.random.SeedSequence([seed, r, p]))
            part.fit(X[lo:hi], y[lo:hi], epochs=1, seed=rng, **{**kw, "batch_size": min(kw["batch_size"], hi - lo)})
            copies.append((hi - lo, part))
        theta = np.zeros_like(net.theta)
        memory = np.zeros_like(net.optimizer_state.memory) if net.optimizer_state is not None else 0
        for rows, part in copies:
            theta += rows / len(X) * part.theta
            memory = memory + rows / len(X) * part.optimizer_state.memory
        net.theta[...] = theta
        state = copies[0][1].optimizer_state
        state.memory[...] = memory
        state.steps[0] = max(part.optimizer_state.steps[0] for _, part in copies)
        net.optimizer_state = state
    return net


@pytest.mark.parametrize("chunks", [(100, 100), (90, 7, 103)])   # 7 rows: less than a batch
def test_fit_is_the_row_weighted_average_of_partition_fits(client, chunks):
    X, y = _data()
    kw = dict(batch_size=16, engine="numpy", shuffle=True, optimizer="adam", lr=0.01)
    net = _net()
    history = vd.fit(net, da.from_array(X, chunks=(chunks, 3)), da.from_array(y, chunks=50),
                     rounds=2, seed=3, client=client, **kw)
    expected = _by_hand(_net(), X, y, chunks, 2, 3, **kw)
    np.testing.assert_array_equal(net.theta, expected.theta)
    np.testing.assert_array_equal(net.optimizer_state.memory, expected.optimizer_state.memory)
    assert history.rounds == 2 and history.partition_rows == list(chunks) and history.engine == "numpy"


@pytest.mark.parametrize("returned, rounds", [(1, 4), (0.5, 4), ("no", 4), (np.ones(3), 4), (np.True_, 1), (True, 1)])
def test_a_callback_stops_the_rounds_by_returning_true_only(client, returned, rounds):
    X, y = _data()
    seen = []
    history = vd.fit(_net(), da.from_array(X, chunks=(100, 3)), y, rounds=4, engine="numpy", client=client,
                     callbacks=[lambda r, logs: seen.append(r) or returned])
    assert history.rounds == len(seen) == rounds   # as vecnet.fit: anything but True is ignored


def test_one_partition_equals_network_fit(client):
    X, y = _data()
    net, ref = _net(), _net()
    history = vd.fit(net, da.from_array(X, chunks=(200, 3)), y, rounds=3, batch_size=8, engine="numpy",
                     optimizer="sgd", lr=0.05, client=client)
    expected = ref.fit(X, y, epochs=3, batch_size=8, engine="numpy", optimizer="sgd", lr=0.05)
    np.testing.assert_array_equal(net.theta, ref.theta)
    assert history.loss == expected.loss


@pytest.mark.filterwarnings("ignore:Port .* is already in use")   # the second cluster's HTTP server
def test_one_and_two_workers_bit_identical_with_column_chunks_and_float32(client):
    X, y = _data(240)
    dX = da.from_array(X.astype(np.float32), chunks=((80, 80, 80), (2, 1)))
    kw = dict(rounds=2, batch_size=10, engine="numpy", shuffle=True, seed=11, sync_every=3)
    two = _net(dtype=np.float32)
    vd.fit(two, dX, da.from_array(y, chunks=60), client=client, **kw)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as single:
        one = _net(dtype=np.float32)
        vd.fit(one, da.from_array(X.astype(np.float32), chunks=(80, 3)), y, client=single, **kw)
    assert two.theta.dtype == np.float32
    np.testing.assert_array_equal(one.theta, two.theta)


def _stop_at(monkeypatch, sync, error):
    """Make the ``sync``-th average of a fit (counted from 1) raise ``error`` instead of running."""
    from vecnet.dask import _fit

    real, calls = _fit._run_sync, []

    def stopping(*args):
        calls.append(args[3])
        if len(calls) == sync:
            raise error("stopped")
        return real(*args)

    monkeypatch.setattr(_fit, "_run_sync", stopping)


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_a_round_stopped_in_its_middle_leaves_the_network_as_the_last_completed_round(client, monkeypatch,
                                                                                       error):
    """Ctrl-C (or an error) between two averages of round 2: the network is put back as round 1 left
    it (weights, optimizer memory and steps, sync count), and the exception carries round 1's history."""
    X, y = _data()
    kw = dict(batch_size=10, engine="numpy", optimizer=vecnet.SGD(0.1, momentum=0.9), shuffle=True, seed=2,
              sync_every=2, client=client)
    after_one = _net()
    h_one = vd.fit(after_one, da.from_array(X, chunks=(100, 3)), y, rounds=1, **kw)
    _stop_at(monkeypatch, h_one.syncs + 2, error)   # the second average of round 2
    net = _net()
    with pytest.raises(error) as info:
        vd.fit(net, da.from_array(X, chunks=(100, 3)), y, rounds=3, **kw)
    np.testing.assert_array_equal(net.theta, after_one.theta)
    np.testing.assert_array_equal(net.optimizer_state.memory, after_one.optimizer_state.memory)
    np.testing.assert_array_equal(net.optimizer_state.steps, after_one.optimizer_state.steps)
    (history,) = info.value.vecnet_histories
    assert history.rounds == 1 and history.loss == h_one.loss and history.syncs == h_one.syncs


def test_an_interrupted_dask_estimator_holds_its_completed_rounds(client, monkeypatch):
    """Ctrl-C inside round 2 of a Dask estimator's fit: n_iter_, the loss curve and the weights are
    those of round 1, as a fit of max_iter=1 leaves them."""
    X, y = _data()
    kw = dict(hidden_layer_sizes=(4,), batch_size=10, sync_every=2, random_state=0, client=client)
    one = vd.DaskMLPClassifier(max_iter=1, **kw)
    with pytest.warns(Warning, match="Maximum iterations"):
        one.fit(da.from_array(X, chunks=(100, 3)), y.astype(int))
    _stop_at(monkeypatch, one.history_.syncs + 2, KeyboardInterrupt)   # the second average of round 2
    est = vd.DaskMLPClassifier(max_iter=3, **kw)
    with pytest.raises(KeyboardInterrupt):
        est.fit(da.from_array(X, chunks=(100, 3)), y.astype(int))
    assert est.n_iter_ == 1 and est.loss_curve_ == one.loss_curve_
    np.testing.assert_array_equal(est.net_.theta, one.net_.theta)


def test_sync_every_averages_within_an_epoch(client):
    X, y = _data()
    kw = dict(batch_size=10, engine="numpy", shuffle=True, seed=2, client=client)
    once, often, huge = _net(), _net(), _net()
    h_once = vd.fit(once, da.from_array(X, chunks=(100, 3)), y, rounds=1, **kw)
    h_often = vd.fit(often, da.from_array(X, chunks=(100, 3)), y, rounds=1, sync_every=2, **kw)
    vd.fit(huge, da.from_array(X, chunks=(100, 3)), y, rounds=1, sync_every=10, **kw)
    assert h_once.syncs == 1 and h_often.syncs == 5
    np.testing.assert_array_equal(huge.theta, once.theta)   # 10 batches: one sync, the same orders
    assert not np.array_equal(often.theta, once.theta)


def test_numba_engine_warmed_on_workers_equals_network_fit(client):
    X, y = _data(64)
    net, ref = _net(), _net()
    history = vd.fit(net, da.from_array(X, chunks=(64, 3)), y, rounds=2, batch_size=1, engine="numba",
                     client=client)
    ref.fit(X, y, epochs=2, batch_size=1, engine="numba")
    assert history.engine == "numba" and history.compile_time > 0
    np.testing.assert_array_equal(net.theta, ref.theta)


def test_dask_estimators_string_labels_validation_and_to_local(client):
    X, y = _data(160)
    labels = np.where(y > 0, "pos", "neg")
    kw = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0, engine="numpy", shuffle=False)
    with pytest.warns(vecnet.ConvergenceWarning):
        est = vd.DaskMLPClassifier(client=client, **kw).fit(da.from_array(X, chunks=(160, 3)),
                                                            da.from_array(labels, chunks=50))
    with pytest.warns(vecnet.ConvergenceWarning):
        ref = vecnet.MLPClassifier(**kw).fit(X, labels)   # one partition, in order: the same steps
    np.testing.assert_array_equal(est.net_.theta, ref.net_.theta)
    assert est.get_params()["client"] is client and "sync_every" in est.get_params()
    local = est.to_local()
    assert type(local) is vecnet.MLPClassifier and list(local.classes_) == ["neg", "pos"]
    dX = da.from_array(X, chunks=(40, 3))
    np.testing.assert_array_equal(client.compute(est.predict(dX)).result(), ref.predict(X))
    np.testing.assert_array_equal(est.predict_proba(X), ref.predict_proba(X))
    with pytest.warns(vecnet.ConvergenceWarning):
        reg = vd.DaskMLPRegressor(client=client, **kw).fit(da.from_array(X, chunks=(80, 3)), X[:, :2])
    assert reg.predict(X).shape == (160, 2) and type(reg.to_local()) is vecnet.MLPRegressor
    before = reg.net_.theta.copy()
    with pytest.raises(ValueError, match=r"hidden_layer_sizes changed from \(4,\) to \(6,\)"):
        reg.set_params(warm_start=True, hidden_layer_sizes=(6,)).fit(da.from_array(X, chunks=(80, 3)), X[:, :2])
    np.testing.assert_array_equal(reg.net_.theta, before)   # refused before any weight changed
    with pytest.raises(ValueError, match="early_stopping"):
        vd.DaskMLPClassifier(client=client, early_stopping=True).fit(da.from_array(X), labels)


def test_dask_classifier_warm_start_keeps_its_classes(client):
    """As MLPClassifier's: a continued fit takes labels of classes_ only, and a refused one changes nothing."""
    X, _ = _data(120)
    labels = np.array(["a", "b", "c"])[np.arange(120) % 3]
    dX = da.from_array(X, chunks=(120, 3))   # one partition: the same steps as the local estimator
    kw = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0, engine="numpy", shuffle=False)
    with pytest.warns(vecnet.ConvergenceWarning):
        est = vd.DaskMLPClassifier(client=client, warm_start=True, **kw).fit(dX, da.from_array(labels, chunks=60))
    before = est.net_.theta.copy()
    other = np.where(labels == "c", "d", labels)
    with pytest.raises(ValueError, match=r"y contains labels not in classes_ \['a', 'b', 'c'\]: \['d'\]"):
        est.fit(dX, da.from_array(other, chunks=60))
    with pytest.raises(ValueError, match=r"hidden_layer_sizes changed from \(4,\) to \(6,\)"):
        est.set_params(hidden_layer_sizes=(6,)).fit(dX, da.from_array(labels[:120] == "a", chunks=60))
    assert list(est.classes_) == ["a", "b", "c"]   # neither refused fit touched the fitted state
    np.testing.assert_array_equal(est.net_.theta, before)
    two = np.where(labels == "c", "a", labels)   # a subset of the classes: the same three outputs train on
    with pytest.warns(vecnet.ConvergenceWarning):
        est.set_params(hidden_layer_sizes=(4,)).fit(dX, da.from_array(two, chunks=60))
    with pytest.warns(vecnet.ConvergenceWarning):
        ref = vecnet.MLPClassifier(warm_start=True, **kw).fit(X, labels).fit(X, two)
    assert list(est.classes_) == ["a", "b", "c"] and est.net_.sizes == [3, 4, 3]
    np.testing.assert_array_equal(est.net_.theta, ref.net_.theta)


@pytest.mark.parametrize("sync_every", [None, 2])
def test_bad_rows_are_named_by_their_row_in_the_whole_array(client, sync_every):
    """Each partition trains on its own rows (shuffled, in segments with sync_every): errors still give X's row."""
    X, y = _data(100, n_in=2)
    X[73, 1] = np.nan
    net = _net(n_in=2)
    kw = dict(rounds=1, batch_size=5, engine="numpy", shuffle=True, sync_every=sync_every, client=client)
    with pytest.raises(ValueError, match=r"^partition 2 \(rows 60-89\): X contains 1 NaN value \(the first at "
                                         r"\[73, 1\]\)"):
        vd.fit(net, da.from_array(X, chunks=(30, 2)), da.from_array(y, chunks=30), **kw)
    X[73, 1] = 0.0
    Y = np.column_stack([y, 1 - y])
    Y[41] = [0.5, 0.2]
    with pytest.raises(ValueError, match=r"^partition 1 \(rows 30-59\): loss 'cce' needs each row of y to sum "
                                         r"to 1 .* but row 41 sums to 0\.7"):
        vd.fit(_net(n_in=2, n_out=2), da.from_array(X, chunks=(30, 2)), da.from_array(Y, chunks=(30, 2)), **kw)


def test_dask_estimators_record_a_dataframes_column_names(client):
    pd = pytest.importorskip("pandas")
    X, y = _data(80)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    kw = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0, engine="numpy", shuffle=False)
    with pytest.warns(vecnet.ConvergenceWarning):
        est = vd.DaskMLPClassifier(client=client, **kw).fit(df, y)
    with pytest.warns(vecnet.ConvergenceWarning):
        ref = vecnet.MLPClassifier(**kw).fit(df, y)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(ValueError, match="same order as they were in fit"):
        est.predict(df[["c", "b", "a"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names") as caught:
        out = est.predict(da.from_array(X, chunks=(20, 3))).compute(scheduler="synchronous")   # 4 chunks, here
    assert len([w for w in caught if "feature names" in str(w.message)]) == 1   # once, not once per chunk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(out, ref.predict(X))
    with pytest.raises(TypeError, match="string names"):
        vd.DaskMLPClassifier(client=client, **kw).fit(df.set_axis([0, "b", "c"], axis=1), y)


def test_dask_estimators_take_pandas_nullable_columns(client):
    pd = pytest.importorskip("pandas")
    X, _ = _data(50)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    Y = df[["a", "b"]].round().astype("Int64")   # numbers, no NA: an object array through numpy
    kw = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0, engine="numpy", shuffle=False)
    with pytest.warns(vecnet.ConvergenceWarning):
        est = vd.DaskMLPRegressor(client=client, **kw).fit(df, Y)   # was: "needs numeric targets"
    with pytest.warns(vecnet.ConvergenceWarning):
        ref = vecnet.MLPRegressor(**kw).fit(df, Y)
    np.testing.assert_array_equal(est.net_.theta, ref.net_.theta)
    holed = df.astype("Float64")
    holed.iloc[7, 2] = pd.NA
    with pytest.raises(ValueError, match=r"X contains 1 NaN value \(the first at \[7, 2\]\)"):
        vd.DaskMLPRegressor(client=client, **kw).fit(holed, Y)   # was a TypeError from a worker


def test_history_has_validation_per_round(client):
    X, y = _data()
    history = vd.fit(_net(), da.from_array(X, chunks=(100, 3)), y, rounds=2, batch_size=8, engine="numpy",
                     validation_data=(da.from_array(X, chunks=(50, 3)), y), client=client)
    assert len(history.val_loss) == len(history.val_metric) == len(history.epoch_time) == 2
    assert history.metric == "accuracy" and 0 <= history.val_metric[-1] <= 1
    net = _net()
    before = net.theta.copy()
    with pytest.raises(ValueError, match=r"loss 'bce' needs targets in \[0, 1\].* validation y"):
        vd.fit(net, da.from_array(X, chunks=(100, 3)), y, rounds=1, batch_size=8, engine="numpy",
               validation_data=(X, 2 * y), client=client)   # checked as fit checks it, before any round
    np.testing.assert_array_equal(net.theta, before)
    # evaluated only, never trained on: values too large to train on are fine, as in predict
    history = vd.fit(net, da.from_array(X, chunks=(100, 3)), y, rounds=1, batch_size=8, engine="numpy",
                     validation_data=(X * 1e200, y), client=client)
    assert len(history.val_loss) == 1 and np.isfinite(history.val_loss[-1])


def test_rounds_that_blow_the_weights_up_warn_as_a_solo_fit_does(client):
    # every round's loss is finite (up to 2.7e266), the last round's updates leave weights of 7.5e199
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    net = vecnet.Network([2, 3, 1], activation="identity", seed=0)
    with pytest.warns(vecnet.DivergenceWarning, match=r"training blew up: the weights grew as large as 7.\d+e\+199"):
        history = vd.fit(net, da.from_array(X, chunks=(4, 2)), y, rounds=6, batch_size=None, engine="numpy",
                         optimizer=vecnet.SGD(lr=0.5), client=client)
    assert history.stopped is None and np.isfinite(history.loss).all()


def test_no_client_is_a_clear_error(monkeypatch):
    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    X, y = _data(20)
    with pytest.raises(ValueError, match="needs a distributed cluster"):
        vd.fit(_net(), da.from_array(X), y, rounds=1)


# -- dask-ml --------------------------------------------------------------------------------
def test_dask_ml_incremental_and_parallel_post_fit():
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _data(120)
    dX, dy = da.from_array(X, chunks=(40, 3)), da.from_array(y.astype(int), chunks=40)
    kw = dict(hidden_layer_sizes=(4,), random_state=0, engine="numpy")
    inc = wrappers.Incremental(vecnet.MLPClassifier(**kw), shuffle_blocks=False).fit(dX, dy, classes=[0, 1])
    ref = vecnet.MLPClassifier(**kw)
    for lo in range(0, 120, 40):   # Incremental: partial_fit on each chunk in order
        ref.partial_fit(X[lo:lo + 40], y[lo:lo + 40].astype(int), classes=[0, 1])
    np.testing.assert_array_equal(inc.estimator_.net_.theta, ref.net_.theta)
    post = wrappers.ParallelPostFit(ref)
    np.testing.assert_array_equal(post.predict(dX).compute(), ref.predict(X))
    np.testing.assert_array_equal(post.predict_proba(dX).compute(), ref.predict_proba(X))


# -- a worker lost mid-round (last: it restarts a worker of the shared cluster) --------------
def test_worker_killed_during_a_round_gives_the_same_weights(client):
    X, y = _data(6000)
    dX, dy = da.from_array(X, chunks=(3000, 3)), da.from_array(y, chunks=3000)
    kw = dict(rounds=1, batch_size=1, engine="numpy", client=client)
    calm = _net()
    vd.fit(calm, dX, dy, **kw)
    pids = client.run(os.getpid)
    killed = []

    def kill_when_busy():
        deadline = time.time() + 60
        while time.time() < deadline and not killed:
            busy = [w for w, keys in client.processing().items()
                    if any("_train_partition" in str(k) for k in keys)]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    hit = _net()
    vd.fit(hit, dX, dy, **kw)
    killer.join()
    assert killed, "no task was seen running"
    np.testing.assert_array_equal(hit.theta, calm.theta)


@pytest.mark.parametrize("batch_size, per_sample", [(1, True), (8, False), (None, False)])
def test_the_worker_warm_up_compiles_the_kernel_the_training_uses(batch_size, per_sample, monkeypatch):
    from vecnet.dask._fit import _warm
    from vecnet.engines import ENGINES
    from vecnet.optimizers import SGD

    numba_engine = ENGINES["numba"]
    monkeypatch.setattr(numba_engine, "_warmed", set())   # what this warm-up compiles or loads
    _warm(_net(), {"engine": "numba", "optimizer": SGD(lr=0.1), "batch_size": batch_size,
                   "shuffle": False, "local_epochs": 1})
    assert [key[0].per_sample for key in numba_engine._warmed] == [per_sample]


def test_a_fit_refused_on_the_workers_leaves_the_estimator_as_it_was(client):
    """NaN in a chunk, or a bad sync_every, is found in vecnet.dask.fit or on the workers, after the
    estimator restarted: it predicted from fresh random weights with classes_ of the refused y."""
    X, y = _data(120)
    dX, dy = da.from_array(X, chunks=(60, 3)), da.from_array(y.astype(int), chunks=60)
    kw = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0, engine="numpy", tol=0)
    with pytest.warns(vecnet.ConvergenceWarning):
        est = vd.DaskMLPClassifier(client=client, **kw).fit(dX, dy)
    theta, curve, classes = est.net_.theta.copy(), list(est.loss_curve_), est.classes_.copy()
    bad = X.copy()
    bad[100, 1] = np.nan
    with pytest.raises(ValueError, match=r"partition 1 \(rows 60-119\): X contains 1 NaN"):
        est.fit(da.from_array(bad, chunks=(60, 3)), np.where(y > 0, 7, 0))
    with pytest.raises(ValueError, match="sync_every"):
        est.set_params(sync_every=0).fit(dX, dy)
    est.set_params(sync_every=None, warm_start=True)
    with pytest.raises(ValueError, match=r"partition 1 \(rows 60-119\): X contains 1 NaN"):
        est.fit(da.from_array(bad, chunks=(60, 3)), dy)   # a continued fit: the network itself is put back
    np.testing.assert_array_equal(est.net_.theta, theta)
    assert est.loss_curve_ == curve and est.n_iter_ == 3 and list(est.classes_) == list(classes)
    assert est.estimators_ == [est.net_]
    fresh = vd.DaskMLPClassifier(client=client, **kw)
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        fresh.fit(da.from_array(bad, chunks=(60, 3)), dy)
    assert not fresh.__sklearn_is_fitted__()


def test_dask_inputs_refused_in_the_words_of_the_local_fit(client):
    X, y = _data(120)
    net = _net()
    kw = dict(rounds=1, engine="numpy", client=client)
    with pytest.raises(ValueError, match="X is complex; vecnet needs real numbers"):   # was cast, with a warning
        vd.fit(net, da.from_array(X + 1j, chunks=60), y, **kw)
    with pytest.raises(TypeError, match="X must be numeric"):   # was parsed
        vd.DaskMLPClassifier(client=client, max_iter=1).fit(da.from_array(X.astype(str), chunks=60), y)
    with pytest.raises(ValueError, match="X and y have different numbers of samples: 120 and 100"):
        vd.fit(net, da.from_array(X, chunks=60), da.from_array(y[:100], chunks=50), **kw)
    with pytest.raises(ValueError, match="X and y have different numbers of samples: 120 and 100"):
        vd.fit(net, da.from_array(X, chunks=60), y[:100], **kw)
    with pytest.raises(ValueError, match=r"Found y with 0 output\(s\)"):
        vd.DaskMLPRegressor(client=client, max_iter=1).fit(da.from_array(X, chunks=60), da.zeros((120, 0), chunks=60))


def test_clone_keeps_the_client_and_to_local_owns_its_network(client):
    from sklearn.base import clone

    est = vd.DaskMLPClassifier((4,), client=client, max_iter=2, random_state=0, engine="numpy")
    twin = clone(est)   # a client cannot be deep-copied: clone failed
    assert twin.client is client and twin.get_params()["hidden_layer_sizes"] == (4,) and twin is not est
    X, y = _data(120)
    with pytest.warns(vecnet.ConvergenceWarning):
        est.fit(da.from_array(X, chunks=60), y.astype(int))
    local = est.to_local()
    assert local.estimators_ == [local.net_] and local.net_ is not est.net_
    theta = est.net_.theta.copy()
    local.partial_fit(X, y.astype(int))
    np.testing.assert_array_equal(est.net_.theta, theta)


def test_a_retried_round_scatters_its_payload_again():
    """The payload's only holder may be the lost worker: each attempt scatters it anew (reusing the
    first scatter, every retry failed with "lost dependencies")."""
    from concurrent.futures import CancelledError

    from vecnet.dask import _fit

    class Client:
        scattered, gathers = [], 0

        def submit(self, fn, payload, *args, **kwargs):
            return payload

        def gather(self, futures):
            Client.gathers += 1
            if Client.gathers == 1:
                raise CancelledError("lost dependencies")   # distributed's FutureCancelledError is one
            return futures

    history = _fit.DaskHistory(engine="numpy")
    client = Client()

    def scatter():
        client.scattered.append(len(client.scattered))
        return f"payload {len(client.scattered)}"

    with pytest.warns(UserWarning, match="running it again"):
        got = _fit._run_sync(client, scatter, [(0, "x", "y", None), (1, "x", "y", None)], 0, 2, history, {})
    assert got == ["payload 2", "payload 2"] and client.scattered == [0, 1] and history.retried == 1


def test_a_stopped_round_cancels_its_tasks():
    """Ctrl-C while gathering a round's results: its tasks are cancelled (the others would go on
    running on the workers for nothing), and the interrupt goes on."""
    from vecnet.dask import _fit

    class Client:
        cancelled = None

        def submit(self, fn, payload, *args, **kwargs):
            return f"future {args[2]}"

        def gather(self, futures):
            raise KeyboardInterrupt

        def cancel(self, futures):
            Client.cancelled = list(futures)

    with pytest.raises(KeyboardInterrupt):
        _fit._run_sync(Client(), lambda: "payload", [(0, "x", "y", None), (1, "x", "y", None)], 0, 2,
                       _fit.DaskHistory(engine="numpy"), {})
    assert Client.cancelled == ["future 0", "future 1"]


def test_dask_labels_refused_and_warned_about_as_the_local_classifier_does(client):
    X, y = _data(120)
    dX = da.from_array(X, chunks=60)
    est = vd.DaskMLPClassifier((3,), client=client, max_iter=1, engine="numpy")
    with_nan = np.where(y > 0, 1.0, np.nan)
    with pytest.raises(ValueError, match=r"Input y contains NaN or infinity"):   # was "continuous"
        est.fit(dX, da.from_array(with_nan, chunks=60))
    mixed = np.array([1, "a"] * 60, dtype=object)
    with pytest.raises(ValueError, match="labels of mixed types cannot be sorted"):   # was numpy's TypeError
        est.fit(dX, da.from_array(mixed, chunks=60))
    with pytest.warns(vecnet.DataConversionWarning, match="A column-vector y was passed"):
        with pytest.warns(vecnet.ConvergenceWarning):
            est.fit(dX, da.from_array(y.astype(int)[:, None], chunks=60))


def test_read_only_weights_are_refused_before_any_round():
    X, y = _data()
    net = _net()
    net.theta.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        vd.fit(net, da.from_array(X, chunks=100), y, rounds=1)
    assert net.optimizer_state is None
