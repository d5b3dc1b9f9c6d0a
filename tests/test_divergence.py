"""Divergence is one rule for every engine and batch size (issue 10, item 5).

An epoch whose mean loss or any weight is not finite diverged: training stops
with a ``DivergenceWarning``, ``History.stopped == "diverged"``, and the weights
of the start of that epoch (the end of the last completed one).
"""

import warnings

import numpy as np
import pytest

from vecnet import DivergenceWarning, Network

ENGINES = ["numpy", "numba"]
BATCHES = [1, 2, None]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("batch_size", BATCHES)
def test_finite_per_sample_losses_whose_mean_overflows_are_divergence(engine, batch_size):
    # logits of +-1e308 on the wrong side: each per-sample bce loss is 1e308 (finite), their sum
    # is not; batch 1 used to report loss inf every epoch with stopped=None and no warning
    net = Network([1, 1], activation="sigmoid", loss="bce", seed=0)
    net.theta[...] = [1e308, 0.0]
    X = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    start = net.theta.copy()
    with pytest.warns(DivergenceWarning):
        history = net.fit(X, y, epochs=3, batch_size=batch_size, engine=engine)
    assert history.stopped == "diverged"
    assert history.loss == []
    np.testing.assert_array_equal(net.theta, start)


def _diverging_epoch(x, w, b, lr, batch):
    """Per-scalar SGD of ``z = w x + b`` with mse against 0: the 0-based epoch that diverges, and
    the weights at its start."""
    for epoch in range(100):
        start, total = (w, b), 0.0
        for lo in range(0, len(x), batch):
            rows = x[lo:lo + batch]
            gw = gb = 0.0
            for xi in rows:
                z = w * xi + b
                total += z * z
                gw += 2.0 * z * xi / len(rows)
                gb += 2.0 * z / len(rows)
            w, b = w - lr * gw, b - lr * gb
        if not all(np.isfinite([total / len(x), w, b])):
            return epoch, start
    raise AssertionError("never diverged")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("batch_size", BATCHES)
def test_overflowing_updates_stop_at_the_epoch_a_per_scalar_loop_finds(engine, batch_size):
    x = [2.0e20, -1.5e20, 1.0e20]
    lr = 0.1
    epoch, (w, b) = _diverging_epoch(x, 1.0, 0.5, lr, batch_size or len(x))
    assert epoch >= 1  # a later epoch, not the first
    net = Network([1, 1], activation="identity", loss="mse", seed=0)
    net.theta[...] = [1.0, 0.5]
    with pytest.warns(DivergenceWarning):
        history = net.fit(np.array(x)[:, None], np.zeros(len(x)), epochs=50, lr=lr,
                          batch_size=batch_size, engine=engine)
    assert history.stopped == "diverged"
    assert history.epochs == epoch
    np.testing.assert_allclose(net.theta, [w, b], rtol=1e-12)


@pytest.mark.parametrize("engine", ["reference", *ENGINES])
@pytest.mark.parametrize("batch_size", [1, None])
def test_a_weight_that_is_not_finite_is_divergence_in_every_engine(engine, batch_size):
    net = Network([2, 2, 1], activation="sigmoid", seed=0)
    net.theta[0] = np.inf
    start = net.theta.copy()
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -1.0]])
    # no learning rate helps here: the warning says what does
    with pytest.warns(DivergenceWarning, match="not finite when training started") as caught:
        history = net.fit(X, np.array([0.0, 1.0, 0.0]), epochs=5, batch_size=batch_size,
                          engine=engine)
    assert "smaller learning rate" not in str(caught[0].message)
    assert (history.stopped, history.epochs) == ("diverged", 0)
    np.testing.assert_array_equal(net.theta, start)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("batch_size", BATCHES)
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_divergence_puts_back_the_optimizer_state_of_the_epochs_start(engine, batch_size, optimizer):
    # the epoch that diverges leaves no trace: weights, optimizer memory and update count are those
    # after the last completed epoch, the same as a fit of exactly that many epochs
    from vecnet.optimizers import SGD, Adam

    x = [2.0e20, -1.5e20, 1.0e20]
    epoch, _ = _diverging_epoch(x, 1.0, 0.5, 0.1, batch_size or len(x))
    make = {"sgd": lambda: SGD(lr=0.1), "momentum": lambda: SGD(lr=0.1, momentum=0.5),
            "adam": lambda: Adam(lr=1e200)}[optimizer]

    def fresh():
        net = Network([1, 1], activation="identity", loss="mse", seed=0)
        net.theta[...] = [1.0, 0.5]
        return net

    X, y = np.array(x)[:, None], np.zeros(3)
    diverged = fresh()
    with pytest.warns(DivergenceWarning):
        history = diverged.fit(X, y, epochs=100, batch_size=batch_size, engine=engine, optimizer=make())
    done = history.epochs
    assert history.stopped == "diverged" and done < 100
    exact = fresh()
    if done:
        with warnings.catch_warnings():   # weights this large may warn "blew up": the state is what is compared
            warnings.simplefilter("ignore", DivergenceWarning)
            exact.fit(X, y, epochs=done, batch_size=batch_size, engine=engine, optimizer=make())
    np.testing.assert_array_equal(diverged.theta, exact.theta)
    if done:
        np.testing.assert_array_equal(diverged.optimizer_state.memory, exact.optimizer_state.memory)
        np.testing.assert_array_equal(diverged.optimizer_state.steps, exact.optimizer_state.steps)
    else:
        assert not diverged.optimizer_state.memory.any() and diverged.optimizer_state.steps[0] == 0


def _blowing_up():
    """Data and a network whose second epoch's weights make the outputs overflow (the losses stay finite)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)) * 10
    y = X.sum(axis=1) * 100
    return X, y, Network([3, 4, 1], activation="relu", output_activation="identity", seed=0)


def test_validation_outputs_that_overflow_are_divergence():
    """They raised ``ValueError: the network's outputs are not finite ... scale X`` from the validation."""
    X, y, net = _blowing_up()
    start = net.theta.copy()
    with pytest.warns(DivergenceWarning, match="epoch 1: the outputs on the validation data stopped being finite"):
        history = net.fit(X, y, epochs=5, lr=1e-3, batch_size=5, engine="numpy", validation_data=(X, y))
    assert history.stopped == "diverged"   # epoch 1's losses were finite, its weights 7.8e171
    assert history.loss == history.val_loss == history.epoch_time == []
    np.testing.assert_array_equal(net.theta, start)   # that epoch's start
    assert np.isfinite(net.predict(X)).all()


def test_fit_many_stops_a_network_whose_validation_overflows_as_its_solo_fit_does():
    import vecnet

    X, y, net = _blowing_up()
    calm = Network([3, 4, 1], activation="relu", output_activation="identity", seed=1)
    nets = [net.copy(), calm.copy()]
    with pytest.warns(DivergenceWarning):
        histories = vecnet.fit_many(nets, X, y, epochs=4, lr=[1e-3, 1e-9], batch_size=5, engine="numpy",
                                    validation_data=(X, y))
    for many, solo, lr, history in zip(nets, [net, calm], [1e-3, 1e-9], histories):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            expected = solo.fit(X, y, epochs=4, lr=lr, batch_size=5, engine="numpy", validation_data=(X, y))
        np.testing.assert_array_equal(many.theta, solo.theta)
        assert (history.stopped, history.loss, history.val_loss) == (expected.stopped, expected.loss,
                                                                    expected.val_loss)
    assert [h.stopped for h in histories] == ["diverged", None]
