"""Optimizers, L2, schedules and initialisations: both engines, and a hand-written update."""

import numpy as np
import pytest

import vecnet
from helpers import GENERAL_ENGINES
from vecnet import SGD, Adam
from vecnet.optimizers import OptimizerState

CONFIGS = {
    "sgd": SGD(lr=0.1),
    "momentum": SGD(lr=0.1, momentum=0.9),
    "nesterov": SGD(lr=0.1, momentum=0.9, nesterov=True),
    "sgd_l2_invscaling": SGD(lr=0.2, l2=0.01, schedule="invscaling", power_t=0.5),
    "adam": Adam(lr=0.01),
    "adam_l2_invscaling": Adam(lr=0.02, l2=0.01, schedule="invscaling", power_t=0.25),
}


def _net(loss="mse", seed=0):
    output = {"mse": "sigmoid", "bce": "sigmoid", "cce": "softmax"}[loss]
    return vecnet.Network([3, 5, 4, 2], activation="tanh", output_activation=output, loss=loss,
                          seed=seed)


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    Y = np.eye(2)[(X[:, 0] + X[:, 1] > 0).astype(int)]
    return X, Y


def _by_hand(net, X, Y, opt, steps):
    """``steps`` full-batch updates written out from the formulas, one step at a time.

    ``opt`` is one optimizer, or a list of ``steps`` of them (one per update, sharing the
    memory and the update count ``t``).
    """
    opts = list(opt) if isinstance(opt, (list, tuple)) else [opt] * steps
    theta = net.theta.copy()
    v = np.zeros_like(theta)      # SGD velocity, or Adam's second moment
    m = np.zeros_like(theta)      # Adam's first moment
    twin = net.copy()
    weights = np.zeros_like(theta, dtype=bool)
    for W, _ in twin._views(weights):
        W[...] = True             # L2 reaches the weight matrices, not the biases
    for t, opt in enumerate(opts):
        twin.theta[...] = theta
        _, g = twin.gradients(X, Y)
        g = g + opt.l2 * theta * weights
        lr = opt.lr / (t + 1) ** opt.power_t if opt.schedule == "invscaling" else opt.lr
        if isinstance(opt, Adam):
            m = opt.beta1 * m + (1 - opt.beta1) * g
            v = opt.beta2 * v + (1 - opt.beta2) * g**2
            m_hat = m / (1 - opt.beta1 ** (t + 1))
            # scikit-learn's form of the bias correction: eps is added to sqrt(v),
            # i.e. lr * m_hat / (sqrt(v_hat) + eps / sqrt(1 - beta2**t))
            theta = theta - lr * np.sqrt(1 - opt.beta2 ** (t + 1)) * m_hat / (np.sqrt(v) + opt.eps)
        elif opt.momentum:
            v_new = opt.momentum * v - lr * g
            # Nesterov looks ahead along the new velocity
            theta = theta + (opt.momentum * v_new - lr * g if opt.nesterov else v_new)
            v = v_new
        else:
            theta = theta - lr * g
    return theta


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_numpy_engine_matches_a_hand_written_update(name):
    X, Y = _data(n=8)
    net = _net()
    expected = _by_hand(net, X, Y, CONFIGS[name], steps=2)
    net.fit(X, Y, epochs=2, batch_size=None, optimizer=CONFIGS[name], engine="numpy")
    np.testing.assert_allclose(net.theta, expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("engine", GENERAL_ENGINES)
def test_one_sgd_step_worked_out(engine):
    # [1, 1] identity network, w = 2, b = 1, one sample x = 3, y = 10, mse:
    # y_pred = 2*3 + 1 = 7, dL/dy_pred = -2 (10 - 7) = -6, dL/dw = -6 * 3 = -18, dL/db = -6;
    # lr 0.01, l2 0.5 on w: w = 2 - 0.01 (-18 + 0.5 * 2) = 2.17, b = 1 - 0.01 (-6) = 1.06
    net = vecnet.Network([1, 1], activation="identity", seed=0)
    net.set_params([(np.array([[2.0]]), np.array([1.0]))])
    net.fit([[3.0]], [10.0], epochs=1, optimizer=SGD(lr=0.01, l2=0.5), engine=engine)
    np.testing.assert_allclose(net.theta, [2.17, 1.06], rtol=1e-14)


@pytest.mark.parametrize("engine", GENERAL_ENGINES)
@pytest.mark.parametrize("name", ["nesterov", "adam_l2_invscaling"])
def test_optimizer_state_carries_over_between_fits(name, engine):
    X, Y = _data()
    once, twice = _net(), _net()
    once.fit(X, Y, epochs=2, batch_size=4, optimizer=CONFIGS[name], engine=engine)
    twice.fit(X, Y, epochs=1, batch_size=4, optimizer=CONFIGS[name], engine=engine)
    twice.fit(X, Y, epochs=1, batch_size=4, optimizer=CONFIGS[name], engine=engine)
    np.testing.assert_array_equal(once.theta, twice.theta)


@pytest.mark.parametrize("engine", GENERAL_ENGINES)
@pytest.mark.parametrize("first, then", [("adam", "momentum"), ("adam_l2_invscaling", "nesterov"),
                                         ("adam", "sgd_l2_invscaling"), ("momentum", "adam"),
                                         ("sgd_l2_invscaling", "adam_l2_invscaling")])
def test_a_fit_with_the_other_family_starts_from_a_fresh_state(first, then, engine):
    # The independent baseline: the same fit on a copy whose optimizer state was dropped.
    X, Y = _data()
    net = _net()
    net.fit(X, Y, epochs=3, batch_size=4, optimizer=CONFIGS[first], engine=engine)
    fresh = net.copy()
    fresh.optimizer_state = None
    history = net.fit(X, Y, epochs=2, batch_size=4, optimizer=CONFIGS[then], engine=engine)
    expected = fresh.fit(X, Y, epochs=2, batch_size=4, optimizer=CONFIGS[then], engine=engine)
    assert history.loss == expected.loss
    np.testing.assert_array_equal(net.theta, fresh.theta)
    np.testing.assert_array_equal(net.optimizer_state.memory, fresh.optimizer_state.memory)
    assert net.optimizer_state.steps[0] == fresh.optimizer_state.steps[0] == 2 * 5
    assert net.optimizer_state.family == CONFIGS[then].family


@pytest.mark.parametrize("first, then", [
    ("sgd_l2_invscaling", SGD(lr=0.1, momentum=0.5, schedule="invscaling")),  # plain SGD, then momentum
    ("momentum", CONFIGS["nesterov"]),
    ("adam", CONFIGS["adam_l2_invscaling"]),
])
def test_a_fit_with_the_same_family_continues_memory_and_count(first, then):
    X, Y = _data(n=8)
    net = _net()
    expected = _by_hand(net, X, Y, [CONFIGS[first]] * 2 + [then] * 3, steps=5)
    net.fit(X, Y, epochs=2, batch_size=None, optimizer=CONFIGS[first], engine="numpy")
    net.fit(X, Y, epochs=3, batch_size=None, optimizer=then, engine="numpy")
    np.testing.assert_allclose(net.theta, expected, rtol=0, atol=1e-14)
    assert net.optimizer_state.steps[0] == 5 and net.optimizer_state.family == then.family
    assert net.copy().optimizer_state.family == then.family


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_a_state_of_unknown_family_continues_with_either(name):
    # A state made without a family (as loaded from an older file) is continued, as before.
    X, Y = _data(n=8)
    net = _net()
    net.fit(X, Y, epochs=2, batch_size=None, optimizer=CONFIGS["adam" if name == "momentum" else "momentum"],
            engine="numpy")
    state = net.optimizer_state
    net.optimizer_state = OptimizerState(state.memory, state.steps)
    assert net.optimizer_state.family is None
    twin = net.copy()
    net.fit(X, Y, epochs=1, batch_size=None, optimizer=CONFIGS[name], engine="numpy")
    # by hand: one update from the memory and count the state holds
    twin_state = twin.optimizer_state
    theta, g = twin.theta.copy(), twin.gradients(X, Y)[1]
    opt = CONFIGS[name]
    if name == "momentum":
        theta += opt.momentum * twin_state.memory[0] - opt.lr * g
    else:
        t = twin_state.steps[0]
        m = opt.beta1 * twin_state.memory[0] + (1 - opt.beta1) * g
        v = opt.beta2 * twin_state.memory[1] + (1 - opt.beta2) * g**2
        theta -= opt.lr * np.sqrt(1 - opt.beta2 ** (t + 1)) / (1 - opt.beta1 ** (t + 1)) * m / (np.sqrt(v) + opt.eps)
    np.testing.assert_allclose(net.theta, theta, rtol=0, atol=1e-14)
    assert net.optimizer_state.steps[0] == 3 and net.optimizer_state.family == opt.family


def test_optimizer_state_is_backward_compatible_and_copies_its_family():
    state = OptimizerState(np.zeros((2, 3)), np.zeros(1, dtype=np.int64))
    assert state.family is None
    state.family = "adam"
    copy = state.copy()
    assert copy.family == "adam" and copy.memory is not state.memory
    assert OptimizerState.zeros(3, np.float64, "sgd").family == "sgd"
    assert state.fits(3, np.float64) and state.fits(3, np.float64, Adam())
    assert not state.fits(3, np.float64, SGD()) and not state.fits(4, np.float64, Adam())


@pytest.mark.parametrize("name", sorted(set(CONFIGS) - {"sgd"}))
def test_the_reference_engine_refuses_what_it_cannot_run(name):
    X, y = vecnet.article_data()
    net = vecnet.Network([2, 2, 1], seed=0)
    with pytest.raises(ValueError, match="engine 'reference' runs only plain SGD"):
        net.fit(X, y, epochs=1, optimizer=CONFIGS[name], engine="reference")


def test_optimizer_settings_are_checked():
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 1\)"):
        SGD(momentum=1.0)
    with pytest.raises(ValueError, match="unknown schedule"):
        SGD(schedule="cosine")
    with pytest.raises(ValueError, match=r"beta1 must be a finite number in \[0, 1\)"):
        Adam(beta1=1.0)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        vecnet.Network([2, 1]).fit([[0, 0]], [0], optimizer="rmsprop")
    with pytest.raises(ValueError, match="not both"):
        vecnet.Network([2, 1]).fit([[0, 0]], [0], optimizer=SGD(lr=0.1), lr=0.2)


def test_initialisations():
    normal = vecnet.Network([3, 4, 2], init="normal", seed=5)
    rng = np.random.default_rng(5)
    for W, b in normal.params:                      # the original's N(0, 1), W then b
        assert np.array_equal(W, rng.standard_normal(W.shape))
        assert np.array_equal(b, rng.standard_normal(b.shape))
    glorot = vecnet.Network([300, 200, 100], init="glorot", seed=5)
    he = vecnet.Network([300, 200, 100], init="he", seed=5)
    for (Wg, bg), (Wh, bh), n_in, n_out in zip(glorot.params, he.params, [300, 200], [200, 100]):
        limit = np.sqrt(6 / (n_in + n_out))
        assert np.abs(Wg).max() <= limit and np.abs(Wg).max() > 0.99 * limit
        assert Wg.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)   # uniform(-l, l)
        assert Wh.std() == pytest.approx(np.sqrt(2 / n_in), rel=0.02)
        assert not bg.any() and not bh.any()
