"""vecnet.fit_many: every network comes out bit for bit as its own solo fit (issue 11).

The independent computation is the solo ``net.fit`` on a copy of each network,
with that network's own settings, on the same engine; the engines themselves
are held against the per-scalar reference elsewhere (tests/test_equivalence.py).
"""

import copy
import warnings

import numpy as np
import pytest

import vecnet
from vecnet import DivergenceWarning, EarlyStopping, Network, fit_many
from vecnet.optimizers import SGD, Adam

K = 5


def _data(n=23, n_in=3, n_out=1, kind="regression", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    if kind == "classes":
        labels = rng.integers(0, n_out, size=n)
        return X, np.eye(n_out)[labels]
    if kind == "binary":
        return X, (X[:, :1] + X[:, 1:2] > 0).astype(float)
    return X, np.tanh(X @ rng.normal(size=(n_in, n_out)))


CASES = {
    # name: (sizes, network kwargs, data kind, optimizer factory(lr, l2))
    "article": ([2, 2, 1], dict(activation="sigmoid", loss="mse"), "regression",
                lambda lr, l2: SGD(lr=lr, l2=l2)),
    "tanh-bce-momentum": ([3, 5, 1], dict(activation="tanh", output_activation="sigmoid", loss="bce"), "binary",
                          lambda lr, l2: SGD(lr=lr, l2=l2, momentum=0.9, nesterov=True)),
    "relu-softmax-adam": ([3, 6, 4, 3], dict(activation="relu", output_activation="softmax", loss="cce"), "classes",
                          lambda lr, l2: Adam(lr=lr * 0.1, l2=l2, schedule="invscaling", power_t=0.25)),
}


def _nets(sizes, kwargs, k=K):
    return [Network(sizes, seed=10 + i, **kwargs) for i in range(k)]


def _assert_same(net, solo, history, solo_history):
    np.testing.assert_array_equal(net.theta, solo.theta)
    np.testing.assert_array_equal(net.optimizer_state.memory, solo.optimizer_state.memory)
    np.testing.assert_array_equal(net.optimizer_state.steps, solo.optimizer_state.steps)
    assert history.loss == solo_history.loss
    assert history.stopped == solo_history.stopped
    assert history.engine == solo_history.engine
    assert history.val_loss == solo_history.val_loss


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("batch_size", [1, 4, None])
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_network_matches_its_solo_fit(engine, batch_size, case):
    sizes, kwargs, kind, make = CASES[case]
    X, y = _data(n_in=sizes[0], n_out=sizes[-1], kind=kind)
    lrs = [0.05, 0.1, 0.2, 0.4, 0.8]
    l2s = [0.0, 1e-3, 0.0, 1e-2, 1e-4]
    if engine == "numba" and case != "article":
        # no l2 is a kernel of its own (solo and many): the article's case mixes the two, the
        # others keep to one, a compile each fewer (the numpy engine mixes them in every case)
        l2s = [1e-5, 1e-3, 2e-5, 1e-2, 1e-4]
    seeds = [3, 1, 4, 1, 5]
    nets = _nets(sizes, kwargs)
    solos = [net.copy() for net in nets]
    optimizer = make(0.1, 0.0)   # lr and l2 given to fit_many replace the optimizer's own
    histories = fit_many(nets, X, y, epochs=7, lr=[make(lr, 0.0).lr for lr in lrs], l2=l2s,
                         batch_size=batch_size, engine=engine, optimizer=optimizer, shuffle=True,
                         seed=seeds)
    assert len(histories) == K
    for i, (net, solo) in enumerate(zip(nets, solos)):
        solo_history = solo.fit(X, y, epochs=7, batch_size=batch_size, engine=engine,
                                optimizer=make(lrs[i], l2s[i]),
                                shuffle=True, seed=seeds[i])
        _assert_same(net, solo, histories[i], solo_history)
        assert histories[i].epochs == 7


def test_repeated_rates_each_network_keeps_its_own_pair():
    """Networks that share an (lr, l2) pair share one optimizer: each still trains with its own pair."""
    X, y = _data(n_in=2)
    nets = _nets([2, 3, 1], dict(activation="tanh", loss="mse"))
    solos = [net.copy() for net in nets]
    lrs, l2s = [0.1, 0.2, 0.1, 0.2, 0.1], [0.0, 0.0, 0.0, 1e-3, 1e-3]
    histories = fit_many(nets, X, y, epochs=5, lr=lrs, l2=l2s, engine="numpy", shuffle=True, seed=list(range(K)))
    for i, (net, solo) in enumerate(zip(nets, solos)):
        solo_history = solo.fit(X, y, epochs=5, engine="numpy", optimizer=SGD(lr=lrs[i], l2=l2s[i]),
                                shuffle=True, seed=i)
        _assert_same(net, solo, histories[i], solo_history)
    assert not np.array_equal(nets[0].theta, nets[2].theta)   # the same pair, their own seeds


@pytest.mark.parametrize("engine", ["numpy", "numba", "reference"])
def test_the_article_network_in_order_matches_the_solo_fit(engine):
    X, y = vecnet.article_data()
    nets = [Network([2, 2, 1], seed=k) for k in range(6)]
    solos = [net.copy() for net in nets]
    histories = fit_many(nets, X, y, epochs=30, engine=engine)
    for net, solo, history in zip(nets, solos, histories):
        _assert_same(net, solo, history, solo.fit(X, y, epochs=30, engine=engine))


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_a_diverging_network_stops_alone(engine):
    X, y = _data(n_in=2)
    nets = _nets([2, 3, 1], dict(activation="identity", loss="mse"), k=3)
    solos = [net.copy() for net in nets]
    lrs = [0.01, 1e6, 0.02]
    with pytest.warns(DivergenceWarning, match="1 of 3 networks"):
        histories = fit_many(nets, X, y, epochs=20, lr=lrs, batch_size=4, engine=engine)
    assert histories[1].stopped == "diverged" and histories[1].epochs < 20
    assert histories[0].epochs == histories[2].epochs == 20
    for i, (net, solo) in enumerate(zip(nets, solos)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            solo_history = solo.fit(X, y, epochs=20, lr=lrs[i], batch_size=4, engine=engine)
        _assert_same(net, solo, histories[i], solo_history)
        assert np.isfinite(net.theta).all()


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_early_stopping_stops_each_network_alone(engine):
    X, y = _data(n=40, n_in=3, kind="binary", seed=1)
    Xv, yv = _data(n=15, n_in=3, kind="binary", seed=2)
    nets = _nets([3, 4, 1], dict(activation="tanh", output_activation="sigmoid", loss="bce"), k=4)
    solos = [net.copy() for net in nets]
    rule = EarlyStopping(patience=2, min_delta=1e-3)
    lrs = [0.01, 0.5, 2.0, 5.0]
    histories = fit_many(nets, X, y, epochs=60, lr=lrs, batch_size=8, engine=engine,
                         validation_data=(Xv, yv), early_stopping=rule)
    for i, (net, solo) in enumerate(zip(nets, solos)):
        solo_history = solo.fit(X, y, epochs=60, lr=lrs[i], batch_size=8, engine=engine,
                                validation_data=(Xv, yv), early_stopping=rule)
        _assert_same(net, solo, histories[i], solo_history)
        assert histories[i].best_epoch == solo_history.best_epoch
        assert histories[i].restored == solo_history.restored
    assert len({h.epochs for h in histories}) > 1   # they stopped at different epochs


def test_float32_networks_match_their_solo_fits():
    X, y = _data(n_in=3)
    nets = [Network([3, 4, 1], activation="tanh", loss="mse", seed=i, dtype="float32") for i in range(3)]
    solos = [net.copy() for net in nets]
    histories = fit_many(nets, X, y, epochs=5, batch_size=4, engine="numpy", lr=[0.1, 0.2, 0.3])
    for i, (net, solo, history) in enumerate(zip(nets, solos, histories)):
        _assert_same(net, solo, history, solo.fit(X, y, epochs=5, batch_size=4, engine="numpy",
                                                  lr=[0.1, 0.2, 0.3][i]))


def test_training_goes_on_from_the_state_each_network_carries():
    X, y = _data(n_in=2)
    nets = _nets([2, 3, 1], dict(activation="sigmoid", loss="mse"), k=2)
    solos = [net.copy() for net in nets]
    optimizer = SGD(lr=0.1, momentum=0.5)
    for _ in range(2):
        histories = fit_many(nets, X, y, epochs=3, batch_size=5, engine="numpy", optimizer=optimizer)
        solo_histories = [solo.fit(X, y, epochs=3, batch_size=5, engine="numpy", optimizer=optimizer)
                          for solo in solos]
    for net, solo, history, solo_history in zip(nets, solos, histories, solo_histories):
        _assert_same(net, solo, history, solo_history)
    assert nets[0].optimizer_state.steps[0] == 2 * 3 * 5


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("first, then", [(Adam(lr=0.01), SGD(lr=0.1, momentum=0.9)),
                                         (SGD(lr=0.1, momentum=0.9), Adam(lr=0.01))])
def test_a_switch_of_optimizer_family_starts_each_network_afresh(engine, first, then):
    X, y = _data(n_in=2)
    nets = _nets([2, 3, 1], dict(activation="tanh", loss="mse"), k=3)
    fit_many(nets, X, y, epochs=3, batch_size=5, engine=engine, optimizer=first)
    fresh = [net.copy() for net in nets]
    for net in fresh:
        net.optimizer_state = None        # the independent baseline: a fresh optimizer
    histories = fit_many(nets, X, y, epochs=2, batch_size=5, engine=engine, optimizer=then)
    for net, solo, history in zip(nets, fresh, histories):
        _assert_same(net, solo, history, solo.fit(X, y, epochs=2, batch_size=5, engine=engine, optimizer=then))
        assert net.optimizer_state.family == then.family and net.optimizer_state.steps[0] == 2 * 5


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_the_divergence_warning_names_the_networks_by_plain_index(engine):
    X, y = _data(n_in=2)
    nets = _nets([2, 3, 1], dict(activation="identity", loss="mse"), k=4)
    with pytest.warns(DivergenceWarning) as record:
        fit_many(nets, X, y, epochs=20, lr=[0.01, 1e6, 1e6, 0.02], batch_size=4, engine=engine)
    assert "2 of 4 networks (indexes [1, 2]): " in str(record[0].message)
    assert "not finite when training started" not in str(record[0].message)


@pytest.mark.parametrize("engine", ["numpy", "numba", "reference"])
def test_the_divergence_warning_names_networks_whose_weights_were_not_finite_at_the_start(engine):
    # no learning rate helps those: the warning says which, as net.fit does for one network
    X, y = vecnet.article_data()
    nets = [Network([2, 2, 1], seed=k) for k in range(3)]
    nets[2].theta[4] = np.nan   # in place: set_params and net.theta = ... refuse NaN
    start = nets[2].theta.copy()
    with pytest.warns(DivergenceWarning) as record:
        histories = fit_many(nets, X, y, epochs=3, engine=engine)
    message = str(record[0].message)
    assert "1 of 3 networks (indexes [2])" in message
    assert "The weights of 1 of them (indexes [2]) were not finite when training started" in message
    assert [h.stopped for h in histories] == [None, None, "diverged"]
    np.testing.assert_array_equal(nets[2].theta, start)


@pytest.mark.parametrize("bad, message", [
    (lambda nets: nets[0], "sequence of vecnet.Network"),
    (lambda nets: [], "empty"),
    (lambda nets: [nets[0], nets[0]], "more than once"),
    (lambda nets: [nets[0], Network([2, 3, 1], seed=0)], "one architecture"),
    (lambda nets: [nets[0], Network([2, 2, 1], activation="tanh", seed=0)], "one architecture"),
    (lambda nets: [nets[0], "net"], r"nets\[1\]"),
    # copy.copy shares the weights' buffer: the networks would overwrite each other
    (lambda nets: [nets[0], nets[1], copy.copy(nets[0])], r"nets\[0\] and nets\[2\] share their weights"),
])
def test_networks_that_cannot_train_together_are_refused(bad, message):
    X, y = vecnet.article_data()
    nets = [Network([2, 2, 1], seed=k) for k in range(2)]
    with pytest.raises(ValueError, match=message):
        fit_many(bad(nets), X, y, epochs=1)


@pytest.mark.parametrize("options, message", [
    (dict(lr=[0.1, 0.2, 0.3]), "lr has 3 values for 2 networks"),
    (dict(l2=[0.1]), "l2 has 1 values"),
    (dict(seed=[1, 2, 3], shuffle=True), "seed has 3 values"),
    (dict(lr=[0.1, -1.0]), "lr"),
    (dict(lr=[1, True]), "lr must be a real number"),     # equal to 1 as a key: checked on its own
    (dict(lr=[[0.1], [0.1]]), "lr must be a real number"),   # unhashable: checked each time
    (dict(l2=[0.0, float("nan")]), "l2"),
    (dict(lr=np.array(0.2)), r"lr must be a real number .* got array\(0\.2\)"),   # as net.fit says
    (dict(l2=np.array(0.0)), r"l2 must be a real number .* got array\(0\.\)"),
    (dict(seed=np.random.default_rng(0), shuffle=True), "one Generator"),
    (dict(epochs=0), "epochs"),
    # only the second network's l2, which the reference engine refuses: refused before the first trains
    (dict(engine="reference", l2=[0.0, 1e-3]), "engine 'reference' runs only plain SGD"),
])
def test_bad_settings_are_refused_with_the_reason(options, message):
    X, y = vecnet.article_data()
    nets = [Network([2, 2, 1], seed=k) for k in range(2)]
    before = [net.theta.copy() for net in nets]
    with pytest.raises(ValueError, match=message):
        fit_many(nets, X, y, **options)
    for net, theta in zip(nets, before):
        np.testing.assert_array_equal(net.theta, theta)


@pytest.mark.parametrize("seed", [lambda: np.random.PCG64(7), lambda: [np.random.default_rng(1)] * 2])
def test_one_generator_object_for_several_networks_is_refused(seed):
    """A BitGenerator, or one Generator listed twice, was shared: no network matched its solo fit."""
    X, y = vecnet.article_data()
    nets = [vecnet.Network([2, 2, 1], seed=0) for _ in range(2)]
    with pytest.raises(ValueError, match=r"one Generator \(or BitGenerator\) cannot drive"):
        vecnet.fit_many(nets, X, y, epochs=2, shuffle=True, seed=seed(), engine="numpy")


def test_networks_trained_one_after_the_other_warn_once_about_the_batch_size(tmp_path):
    # streamed data (a lazy array): each network's solo fit warned again, K + 1 warnings in all
    X, y = vecnet.article_data()
    np.save(tmp_path / "X.npy", X)
    nets = [Network([2, 2, 1], seed=k) for k in range(3)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        histories = fit_many(nets, vecnet.open_npy(tmp_path / "X.npy"), y, epochs=2, batch_size=10,
                             engine="numpy")
    about_batches = [w for w in caught if "batch_size=10 is larger than the 4 samples" in str(w.message)]
    assert len(about_batches) == 1 and all(h.streamed for h in histories)
