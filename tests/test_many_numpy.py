"""The NumPy engine's ``run_many``: K models in stacks, each bit-identical to its solo run.

The reference is the solo NumPy engine (``ENGINES["numpy"].run_epochs``, one epoch per call
with the training loop's roll-back of a failing epoch), itself held to the per-scalar
reference elsewhere: :func:`solo` below trains one model alone on a copy of the network.
"""

import numpy as np
import pytest

from vecnet import Network
from vecnet.engines import ENGINES
from vecnet.optimizers import SGD, Adam, OptimizerState

ENGINE = ENGINES["numpy"]


def solo(net, theta, X, Y, orders, epochs, batch_size, optimizer, memory, steps):
    """One model alone: the solo engine epoch by epoch, a failing epoch put back (as ``vecnet.fit``)."""
    net = net.copy()
    net.theta[...] = theta
    state = OptimizerState(memory.copy(), steps.copy())
    losses = []
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        for e in range(epochs):
            keep = net.theta.copy(), state.memory.copy(), state.steps.copy()
            out = ENGINE.run_epochs(net, X, Y, orders[e % len(orders)][None], 1, batch_size, optimizer, state)
            if not out:
                net.theta[...], state.memory[...], state.steps[...] = keep
                break
            losses += out
    return net.theta, state.memory, state.steps, losses


def bits(a):
    """The bytes of ``a``: equal only when bit-identical (NaN and -0.0 included)."""
    return np.ascontiguousarray(a).view(np.uint8)


def setup(sizes=(3, 5, 4, 2), activation="sigmoid", output=None, loss="mse", dtype=np.float64,
          K=4, n=37, seed=0, scale=1.0):
    """A network, K start weights (each its own draw), data, fresh optimizer states."""
    net = Network(list(sizes), activation=activation, output_activation=output, loss=loss, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 100)
    thetas = np.stack([Network(list(sizes), activation=activation, output_activation=output, loss=loss,
                               dtype=dtype, seed=seed + 1 + k).theta for k in range(K)]) * scale
    thetas = np.ascontiguousarray(thetas, dtype=dtype)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    if loss == "cce":
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    elif loss == "bce":
        Y = rng.integers(0, 2, (n, sizes[-1])).astype(dtype)
    else:
        Y = rng.normal(size=(n, sizes[-1])).astype(dtype)
    memory = np.zeros((K, 2, net.n_params), dtype)
    steps = np.zeros((K, 1), np.int64)
    return net, thetas, X, Y, memory, steps


def orders_for(n, K, epochs, kind, seed=0):
    """``(1 or K, epochs, n)`` orders: in order, one shuffle shared, or each model its own."""
    rng = np.random.default_rng(seed)
    if kind == "in_order":
        return np.arange(n, dtype=np.int64)[None, None, :]
    count = 1 if kind == "shared" else K
    return np.stack([[rng.permutation(n) for _ in range(epochs)] for _ in range(count)]).astype(np.int64)


def check_many(net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active=None):
    """Run ``run_many`` on copies; every active model bit-identical to :func:`solo`, others untouched."""
    K = len(thetas)
    active = np.ones(K, bool) if active is None else active
    T, M, S = thetas.copy(), memory.copy(), steps.copy()
    out = ENGINE.run_many(net, T, X, Y, orders, epochs, batch_size, optimizers, M, S, active)
    assert out is not None
    losses, done = out
    assert losses.shape == (K, epochs) and losses.dtype == np.float64
    assert done.shape == (K,) and done.dtype == np.int64
    for k in range(K):
        if not active[k]:
            assert done[k] == 0
            for got, before in ((T, thetas), (M, memory), (S, steps)):
                assert np.array_equal(bits(got[k]), bits(before[k])), f"inactive model {k} changed"
            continue
        theta, mem, st, ref_losses = solo(net, thetas[k], X, Y, orders[k % len(orders)], epochs, batch_size,
                                          optimizers[k], memory[k], steps[k])
        assert done[k] == len(ref_losses), f"model {k}: {done[k]} epochs, solo {len(ref_losses)}"
        assert np.array_equal(bits(losses[k, :done[k]]), bits(np.array(ref_losses, np.float64))), f"model {k} losses"
        assert np.array_equal(bits(T[k]), bits(theta)), f"model {k}: weights differ from its solo run"
        assert np.array_equal(bits(M[k]), bits(mem)), f"model {k}: optimizer memory differs"
        assert np.array_equal(S[k], st), f"model {k}: update count differs"
    return losses, done


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
@pytest.mark.parametrize("batch_size", [1, 8, 37])
def test_activations_and_batch_sizes_match_solo(activation, batch_size, dtype):
    net, thetas, X, Y, memory, steps = setup(activation=activation, dtype=dtype, scale=0.5)
    orders = orders_for(len(X), 4, 3, "each")
    check_many(net, thetas, X, Y, orders, 3, batch_size, [SGD(lr=0.05)] * 4, memory, steps)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss, output, sizes", [
    ("mse", "sigmoid", (3, 5, 4, 2)), ("bce", "sigmoid", (3, 6, 1)), ("bce", "sigmoid", (4, 6, 3)),
    ("cce", "softmax", (3, 5, 4)), ("mse", "softmax", (3, 5, 3)), ("mse", "identity", (2, 4, 1))])
@pytest.mark.parametrize("kind", ["in_order", "shared", "each"])
def test_losses_and_orders_match_solo(loss, output, sizes, kind, dtype):
    net, thetas, X, Y, memory, steps = setup(sizes=sizes, activation="tanh", output=output, loss=loss, dtype=dtype)
    orders = orders_for(len(X), 4, 2, kind, seed=3)
    check_many(net, thetas, X, Y, orders, 2, 10, [SGD(lr=0.1)] * 4, memory, steps)


OPTIMIZERS = {
    "sgd": lambda lr, l2: SGD(lr=lr, l2=l2),
    "momentum": lambda lr, l2: SGD(lr=lr, l2=l2, momentum=0.9),
    "nesterov": lambda lr, l2: SGD(lr=lr, l2=l2, momentum=0.8, nesterov=True),
    "adam": lambda lr, l2: Adam(lr=lr / 10, l2=l2),
    "sgd-invscaling": lambda lr, l2: SGD(lr=lr, l2=l2, schedule="invscaling", power_t=0.3),
    "adam-invscaling": lambda lr, l2: Adam(lr=lr / 10, l2=l2, schedule="invscaling"),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("l2s", [(0.0,) * 4, (1e-3, 0.0, 0.1, 0.0), (1e-2,) * 4])
def test_optimizers_with_per_model_lr_and_l2_match_solo(name, l2s, dtype):
    net, thetas, X, Y, memory, steps = setup(dtype=dtype, K=4)
    optimizers = [OPTIMIZERS[name](lr, l2) for lr, l2 in zip((0.3, 0.1, 0.05, 0.3), l2s)]
    check_many(net, thetas, X, Y, orders_for(len(X), 4, 3, "shared"), 3, 6, optimizers, memory, steps)


@pytest.mark.parametrize("name", ["momentum", "adam", "adam-invscaling", "sgd-invscaling"])
def test_carried_state_with_different_update_counts_matches_solo(name):
    """Models continuing from their own memory and update counts (not all equal)."""
    net, thetas, X, Y, memory, steps = setup(K=3)
    rng = np.random.default_rng(5)
    memory = rng.normal(size=memory.shape) * 0.01
    memory[:, 1] = np.abs(memory[:, 1])   # Adam's v is a running mean of squares
    steps = np.array([[0], [7], [120]], np.int64)
    optimizers = [OPTIMIZERS[name](lr, 0.0) for lr in (0.2, 0.1, 0.05)]
    check_many(net, thetas, X, Y, orders_for(len(X), 3, 2, "each"), 2, 5, optimizers, memory, steps)


def test_inactive_models_are_untouched():
    net, thetas, X, Y, memory, steps = setup(K=5)
    memory += 0.5
    steps += 3
    active = np.array([True, False, True, False, False])
    _, done = check_many(net, thetas, X, Y, orders_for(len(X), 5, 2, "each"), 2, 4,
                         [SGD(lr=0.1, momentum=0.5)] * 5, memory, steps, active)
    assert done.tolist() == [2, 0, 2, 0, 0]
    _, done = check_many(net, thetas, X, Y, orders_for(len(X), 5, 2, "each"), 2, 4,
                         [SGD(lr=0.1)] * 5, memory, steps, np.zeros(5, bool))
    assert done.tolist() == [0] * 5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch_size", [1, 5, 40])
def test_a_diverging_model_stops_alone(optimizer, batch_size, dtype):
    """Model 1's learning rate blows it up: it stops with its failing epoch's start put back."""
    net, thetas, X, Y, memory, steps = setup(sizes=(3, 8, 2), activation="identity", dtype=dtype, K=4, n=40)
    X *= 3
    lrs = (0.0005, 1e200 if optimizer == "adam" else 0.3, 0.001, 0.0005)
    optimizers = [OPTIMIZERS[optimizer](lr * (10 if optimizer == "adam" else 1), 0.0) for lr in lrs]
    losses, done = check_many(net, thetas, X, Y, orders_for(len(X), 4, 6, "each"), 6, batch_size,
                              optimizers, memory, steps)
    assert done[1] < 6 and list(done[[0, 2, 3]]) == [6, 6, 6]


def test_every_model_diverging_returns_at_once():
    net, thetas, X, Y, memory, steps = setup(sizes=(3, 8, 2), activation="identity", K=3, n=40)
    X *= 100
    _, done = check_many(net, thetas, X, Y, orders_for(len(X), 3, 5, "shared"), 5, 8,
                         [SGD(lr=50.0), SGD(lr=80.0), SGD(lr=200.0)], memory, steps)
    assert (done < 5).all()


def test_unsupported_optimizers_give_none():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class MySGD(SGD):
        def step(self, theta, grad, state, t, scratch=None):
            theta -= self.lr * grad

    net, thetas, X, Y, memory, steps = setup(K=2)
    out = ENGINE.run_many(net, thetas, X, Y, orders_for(len(X), 2, 1, "in_order"), 1, 4, [MySGD()] * 2,
                          memory, steps, np.ones(2, bool))
    assert out is None


def _args(**change):
    net, thetas, X, Y, memory, steps = setup(K=3)
    args = dict(net=net, thetas=thetas, X=X, Y=Y, orders=orders_for(len(X), 3, 1, "in_order"), epochs=1,
                batch_size=4, optimizers=[SGD()] * 3, memory=memory, steps=steps, active=np.ones(3, bool))
    args.update(change)
    return args


@pytest.mark.parametrize("change, match", [
    (dict(thetas=np.zeros((3, 5))), "thetas must be an array"),
    (dict(thetas=np.zeros((3, 54), np.float32)), "thetas must be a writable C-contiguous float64"),
    (dict(thetas=np.zeros((54, 3)).T), "C-contiguous"),
    (dict(X=np.zeros((37, 2))), "X must be"),
    (dict(Y=np.zeros((36, 2))), "same number"),
    (dict(orders=np.arange(37)[None, None, :].astype(np.int32)), "orders must be an int64"),
    (dict(orders=np.zeros((2, 1, 37), np.int64)), "orders must be"),
    (dict(orders=np.zeros((1, 1, 36), np.int64)), "orders must be"),
    (dict(epochs=-1), "epochs must be an int >= 0"),
    (dict(batch_size=2.0), "batch_size must be"),
    (dict(optimizers=[SGD()] * 2), "one optimizer per model"),
    (dict(optimizers=[SGD(), SGD(momentum=0.5), SGD()]), "same settings but lr and l2"),
    (dict(optimizers=[SGD(), Adam(), SGD()]), "one class"),
    (dict(memory=np.zeros((3, 1, 54))), "memory must be"),
    (dict(steps=np.zeros((3,), np.int64)), "steps must be"),
    (dict(steps=np.zeros((3, 1), np.int32)), "steps must be"),
    (dict(active=np.ones(3, int)), "active must be a bool"),
    (dict(active=np.ones(2, bool)), "active must be"),
])
def test_wrong_arguments_give_a_clear_error(change, match):
    args = _args(**change)
    assert args["net"].n_params == 54
    with pytest.raises(ValueError, match=match):
        ENGINE.run_many(**args)


def test_zero_epochs_change_nothing():
    """fit_many asks with epochs=0 whether the engine trains many models at once."""
    args = _args(epochs=0)
    before = [args[k].copy() for k in ("thetas", "memory", "steps")]
    losses, done = ENGINE.run_many(**args)
    assert losses.shape == (3, 0) and done.tolist() == [0, 0, 0]
    for k, b in zip(("thetas", "memory", "steps"), before):
        assert np.array_equal(args[k], b)


def test_other_engines_may_decline():
    """The protocol's default: an engine without stacked passes returns None (fit_many falls back)."""
    from vecnet.engines.base import Engine
    assert Engine().run_many(*_args().values()) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["nesterov", "adam"])
def test_each_model_is_its_own_fit(name, dtype):
    """End to end: model k trained by ``net.fit(..., engine="numpy", shuffle=True, seed=k)``."""
    net, thetas, X, Y, memory, steps = setup(sizes=(4, 6, 5, 3), activation="relu", output="softmax",
                                             loss="cce", dtype=dtype, K=3, n=50)
    optimizers = [OPTIMIZERS[name](lr, l2) for lr, l2 in ((0.2, 0.0), (0.1, 1e-3), (0.05, 0.0))]
    orders = np.stack([[rng.permutation(len(X)) for _ in range(4)]
                       for rng in (np.random.default_rng(k) for k in range(3))]).astype(np.int64)
    losses, done = ENGINE.run_many(net, thetas, X, Y, orders, 4, 7, optimizers, memory, steps, np.ones(3, bool))
    assert done.tolist() == [4, 4, 4]
    for k in range(3):
        alone = net.copy()
        alone.theta[...] = setup(sizes=(4, 6, 5, 3), activation="relu", output="softmax", loss="cce",
                                 dtype=dtype, K=3, n=50)[1][k]
        history = alone.fit(X, Y, epochs=4, batch_size=7, optimizer=optimizers[k], engine="numpy",
                            shuffle=True, seed=k)
        assert np.array_equal(bits(thetas[k]), bits(alone.theta))
        assert np.array_equal(bits(memory[k]), bits(alone.optimizer_state.memory))
        assert steps[k, 0] == alone.optimizer_state.steps[0] == 4 * 8
        assert losses[k].tolist() == history.loss
