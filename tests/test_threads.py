"""Threads: fits running side by side leave the process's warnings filters as they found them.

``warnings.catch_warnings`` saves and restores the whole filter list; two threads inside it at
once used to leave each other's temporary "ignore" entries in place for good, which silenced
every later ``DivergenceWarning`` (or Numba's warnings) of the process.
"""

import contextlib
import sys
import threading
import warnings

import numpy as np
import pytest

import vecnet


@contextlib.contextmanager
def _switching_often():
    """Threads switch every microsecond (5 ms by default), so that their calls interleave."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _in_two_threads(work):
    errors = []

    def run():
        try:
            work()
        except BaseException as exc:   # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    with _switching_often():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors


def _article_nets(k):
    return [vecnet.Network([2, 2, 1], seed=s) for s in range(k)]


@pytest.mark.parametrize("engine", ["reference", "numba"])
def test_fits_in_two_threads_leave_the_warnings_filters_as_they_were(engine):
    X, y = vecnet.article_data()
    vecnet.fit_many(_article_nets(2), X, y, epochs=2, engine=engine)   # compiled (or loaded) before
    before = list(warnings.filters)

    def work():
        for _ in range(30):
            vecnet.fit_many(_article_nets(2), X, y, epochs=20, engine=engine)   # reference: one by one
            _article_nets(1)[0].fit(X, y, epochs=20, engine=engine)

    _in_two_threads(work)
    assert warnings.filters == before
    net = vecnet.Network([2, 2, 1], activation="identity", seed=0)
    with pytest.warns(vecnet.DivergenceWarning):   # still heard
        net.fit(X, y, epochs=50, lr=10.0, engine="numpy")


def test_fit_many_can_leave_divergence_to_the_histories():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = X @ [0.5, -0.25]
    nets = [vecnet.Network([2, 2, 1], activation="identity", seed=s) for s in range(3)]
    lrs = [0.1, 10.0, 0.1]   # the second diverges
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        histories = vecnet.fit_many(nets, X, y, epochs=50, lr=lrs, engine="numpy", warn_diverged=False)
    assert [h.stopped for h in histories] == [None, "diverged", None]
    with pytest.warns(vecnet.DivergenceWarning, match=r"1 of 3 networks \(indexes \[1\]\)"):
        vecnet.fit_many([vecnet.Network([2, 2, 1], activation="identity", seed=s) for s in range(3)], X, y,
                        epochs=50, lr=lrs, engine="numpy")
    with pytest.raises(ValueError, match="warn_diverged must be True or False"):
        vecnet.fit_many(nets, X, y, epochs=1, warn_diverged="no")


def test_dask_predict_warns_once_about_names_and_leaves_the_filters_alone():
    da = pytest.importorskip("dask.array")
    import vecnet.dask as vd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    labels = (X[:, 0] > 0).astype(int)
    with pytest.warns(vecnet.ConvergenceWarning):
        est = vecnet.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, labels)
    est.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)   # as fitted on a DataFrame
    before = list(warnings.filters)
    with pytest.warns(UserWarning, match="X does not have valid feature names") as caught:
        with _switching_often():
            out = vd.predict(est, da.from_array(X, chunks=(2, 3))).compute(scheduler="threads")   # 40 chunks
    assert len([w for w in caught if "feature names" in str(w.message)]) == 1
    assert warnings.filters == before
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    with pytest.warns(UserWarning, match="valid feature names"):
        np.testing.assert_array_equal(out, est.predict(X))


def test_threads_asking_for_one_new_kernel_at_once_get_one_kernel(monkeypatch):
    # one kernel object per configuration: a second would compile (seconds) on its own first call
    from vecnet.engines import _kernels

    made = []
    slow = threading.Barrier(2, timeout=1)

    def build(config):
        made.append(config)
        try:
            slow.wait()   # both threads are inside at once if nothing keeps them apart
        except threading.BrokenBarrierError:
            pass
        return object()

    builder = _kernels.built_once(build)
    got = []
    _in_two_threads(lambda: got.append(builder(("a configuration",))))
    assert len(made) == 1 and len(got) == 2 and got[0] is got[1]
