"""The NumPy engine with reused buffers computes exactly what it computed allocating per step.

``naive_fit`` below is the engine's arithmetic written the plain way, every
intermediate a fresh array, from the formulas in the docstrings of
:mod:`vecnet.activations`, :mod:`vecnet.losses` and :mod:`vecnet.optimizers`
(it uses none of vecnet's code). The buffered engine must match it bit for bit:
same operations, same order, same layouts.
"""

import numpy as np
import pytest

import vecnet
from vecnet.engines._workspace import Workspace

FORWARD = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "softmax": lambda z: (lambda e: e / e.sum(axis=1, keepdims=True))(np.exp(z - z.max(axis=1, keepdims=True))),
}
"""``a = f(z)``."""

BACKWARD = {
    "identity": lambda a, d: d,
    "sigmoid": lambda a, d: d * (a * (1 - a)),
    "tanh": lambda a, d: d * (1 - a**2),
    "relu": lambda a, d: d * (a > 0),
    "softmax": lambda a, d: (d - (d * a).sum(axis=1, keepdims=True)) * a,
}
"""``dL/dz`` from ``dL/da`` and the output ``a``."""


def _cce(Y, Z):
    zmax = Z.max(axis=1, keepdims=True)
    return np.mean(zmax[:, 0] + np.log(np.exp(Z - zmax).sum(axis=1)) - (Y * Z).sum(axis=1))


VALUE = {
    "mse": lambda Y, A, Z: np.mean((Y - A) ** 2),
    "bce": lambda Y, A, Z: np.mean(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))),
    "cce": lambda Y, A, Z: _cce(Y, Z),
}

DELTA = {
    "mse": lambda Y, A, out: BACKWARD[out](A, (A - Y) * (2.0 / Y.size)),
    "bce": lambda Y, A, out: (A - Y) * (1.0 / Y.size),
    "cce": lambda Y, A, out: (A - Y) * (1.0 / Y.shape[0]),
}


def naive_step(params, names, loss, X, Y):
    """Loss and ``[(dW, db), ...]`` of one batch, every array fresh."""
    acts, A = [X], X
    for (W, b), name in zip(params, names):
        Z = A @ W + b
        A = FORWARD[name](Z)
        acts.append(A)
    value = float(VALUE[loss](Y, A, Z))
    delta = DELTA[loss](Y, A, names[-1])
    grads = [None] * len(params)
    for k in range(len(params) - 1, -1, -1):
        grads[k] = (acts[k].T @ delta, delta.sum(axis=0))
        if k:
            delta = BACKWARD[names[k - 1]](acts[k], delta @ params[k][0].T)
    return value, grads


def naive_fit(net, X, Y, epochs, batch_size, lr, orders, momentum=0.0, l2=0.0):
    """SGD (``v = momentum * v - lr * g``; ``theta += v``) on copies of ``net``'s weights."""
    params = [(W.copy(), b.copy()) for W, b in net.params]
    velocity = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    names = net.layer_activations()
    n, losses = len(X), []
    for e in range(epochs):
        order, total = orders[e], 0.0
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            value, grads = naive_step(params, names, net.loss, X[rows], Y[rows])
            total += value * len(rows)
            for (W, b), (dW, db), (vW, vb) in zip(params, grads, velocity):
                dW = dW + l2 * W if l2 else dW
                if momentum:
                    vW *= momentum
                    vW -= lr * dW
                    vb *= momentum
                    vb -= lr * db
                    W += vW
                    b += vb
                else:
                    W -= lr * dW
                    b -= lr * db
        losses.append(total / n)
    return params, losses


CONFIGS = [("sigmoid", "sigmoid", "mse"), ("tanh", "identity", "mse"), ("relu", "softmax", "mse"),
           ("sigmoid", "sigmoid", "bce"), ("tanh", "sigmoid", "bce"), ("relu", "softmax", "cce"),
           ("identity", "softmax", "cce"), ("relu", "relu", "mse")]


def _data(net, n, seed, dtype):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, net.sizes[0])).astype(dtype)
    if net.loss == "cce":
        Y = np.eye(net.sizes[-1], dtype=dtype)[rng.integers(0, net.sizes[-1], n)]
    else:
        Y = (rng.random((n, net.sizes[-1])) > 0.5).astype(dtype)
    return X, Y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [1, 7, 16, 50])
@pytest.mark.parametrize("act,out,loss", CONFIGS)
def test_buffered_engine_is_bit_identical_to_fresh_arrays(act, out, loss, batch_size, dtype):
    net = vecnet.Network([5, 6, 4, 3], activation=act, output_activation=out, loss=loss,
                         init="glorot", seed=3, dtype=dtype)
    X, Y = _data(net, 50, 1, dtype)  # 50 rows: batches of 7 leave a last batch of 1
    orders = [np.arange(50)] * 3
    params, losses = naive_fit(net, X, Y, 3, batch_size, 0.1, orders)
    history = net.fit(X, Y, epochs=3, lr=0.1, batch_size=batch_size, engine="numpy")
    for (W, b), (W0, b0) in zip(net.params, params):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    assert history.loss == losses


@pytest.mark.parametrize("act,out,loss", [CONFIGS[1], CONFIGS[4], CONFIGS[5]])
def test_shuffled_batches_momentum_and_l2_are_bit_identical(act, out, loss):
    net = vecnet.Network([5, 6, 4, 3], activation=act, output_activation=out, loss=loss,
                         init="glorot", seed=4)
    X, Y = _data(net, 45, 2, np.float64)
    rng = np.random.default_rng(11)  # fit(shuffle=True, seed=11) draws one permutation per epoch
    orders = [rng.permutation(45) for _ in range(3)]
    params, losses = naive_fit(net, X, Y, 3, 8, 0.05, orders, momentum=0.9, l2=1e-3)
    history = net.fit(X, Y, epochs=3, batch_size=8, engine="numpy", shuffle=True, seed=11,
                      optimizer=vecnet.SGD(lr=0.05, momentum=0.9, l2=1e-3))
    for (W, b), (W0, b0) in zip(net.params, params):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    assert history.loss == losses


@pytest.mark.parametrize("act,out,loss", CONFIGS)
def test_gradients_with_a_workspace_equal_gradients_without(act, out, loss):
    net = vecnet.Network([5, 6, 4, 3], activation=act, output_activation=out, loss=loss,
                         init="glorot", seed=5)
    X, Y = _data(net, 20, 3, np.float64)
    ws = Workspace(net, 32)
    for rows in (20, 13, 20):  # a view for fewer rows, then the full buffers again
        fresh_value, fresh = net.gradients(X[:rows], Y[:rows])
        value, grad = net.gradients(X[:rows], Y[:rows], workspace=ws.view(rows))
        assert value == fresh_value
        np.testing.assert_array_equal(grad, fresh)
        assert grad is ws.grad
        value, grad = naive_step(net.params, net.layer_activations(), loss, X[:rows], Y[:rows])
        assert value == fresh_value
        np.testing.assert_array_equal(np.concatenate([np.r_[dW.ravel(), db] for dW, db in grad]),
                                      fresh)


def test_a_workspace_refuses_more_rows_than_it_holds():
    net = vecnet.Network([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="cannot hold"):
        Workspace(net, 8).view(9)


@pytest.mark.parametrize("act,out,loss", CONFIGS)
def test_predict_in_row_blocks_equals_one_pass(act, out, loss):
    from vecnet.engines._workspace import forward_blocks

    net = vecnet.Network([5, 6, 4, 3], activation=act, output_activation=out, loss=loss,
                         init="glorot", seed=6)
    X, _ = _data(net, 50, 4, np.float64)
    with np.errstate(over="ignore", under="ignore"):
        whole = net._forward(X)
        for block_rows in (7, 16, 50, 64):  # a last block of 1, exact blocks, one block
            np.testing.assert_allclose(forward_blocks(net, X, block_rows), whole, rtol=0, atol=1e-14)
    naive = X
    for (W, b), name in zip(net.params, net.layer_activations()):
        naive = FORWARD[name](naive @ W + b)
    np.testing.assert_allclose(net.predict(X), naive, rtol=0, atol=1e-14)


def test_predict_blocks_find_an_overflow_in_a_later_block(monkeypatch):
    from vecnet.engines import _workspace

    monkeypatch.setattr(_workspace, "PREDICT_BLOCK_ROWS", 8)
    net = vecnet.Network([2, 3, 1], activation="relu", output_activation="identity", seed=0)
    net.set_params([(np.full((2, 3), 10.0), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))])
    X = np.ones((20, 2))
    X[13] = 1e308
    with pytest.raises(ValueError, match="not finite for 1 row.*the first is row 13"):
        net.predict(X)


def test_the_fast_input_check_accepts_exactly_what_the_full_check_accepts():
    net = vecnet.Network([3, 2, 1], seed=0)
    X = np.arange(6.0).reshape(2, 3)
    with np.errstate(over="ignore"):
        assert net._check_input(X) is X
        big = np.full((2, 3), 1e200)  # finite, but its squares overflow: the full check decides
        assert net._check_input(big) is big
    for bad in (np.nan, np.inf, -np.inf):
        Xb = X.copy()
        Xb[1, 2] = bad
        with pytest.raises(ValueError, match=r"the first at \[1, 2\]"):
            net.predict(Xb)


def test_a_full_batch_in_order_copies_no_data():
    net = vecnet.Network([4, 3, 2], activation="tanh", output_activation="softmax", loss="cce", seed=0)
    assert Workspace(net, 10, gather=False).X is None
    assert Workspace(net, 10, gather=False).view(3).Y is None
    hidden, output = Workspace(net, 10).work
    assert hidden.tmp.shape == (10, 3) and hidden.tmp2 is None and output.row.shape == (10,)


@pytest.mark.parametrize("opt", [vecnet.SGD(lr=0.1), vecnet.SGD(lr=0.1, momentum=0.9),
                                 vecnet.SGD(lr=0.1, momentum=0.9, nesterov=True, schedule="invscaling"),
                                 vecnet.Adam(lr=0.01), vecnet.Adam(lr=0.01, schedule="invscaling")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_optimizer_step_with_scratch_equals_the_formulas(opt, dtype):
    """Three steps with a scratch vector, and with fresh arrays written from the formulas."""
    rng = np.random.default_rng(7)
    theta = rng.standard_normal(30).astype(dtype)
    grads = [rng.standard_normal(30).astype(dtype) for _ in range(3)]
    state = np.zeros((2, 30), dtype)
    mine, scratch = theta.copy(), np.empty(30, dtype)
    m, v = np.zeros(30, dtype), np.zeros(30, dtype)
    for t, g in enumerate(grads):
        opt.step(mine, g.copy(), state, t, scratch=scratch)
        lr = opt.learning_rate(t)
        if isinstance(opt, vecnet.Adam):
            m = opt.beta1 * m + (1 - opt.beta1) * g
            v = opt.beta2 * v + (1 - opt.beta2) * g * g
            lr_t = lr * np.sqrt(1.0 - opt.beta2 ** (t + 1.0)) / (1.0 - opt.beta1 ** (t + 1.0))
            theta = (theta - lr_t * m / (np.sqrt(v) + opt.eps)).astype(dtype)  # as theta -= ...
        elif opt.momentum:
            v = opt.momentum * v - lr * g
            theta = theta + (opt.momentum * v - lr * g if opt.nesterov else v)
        else:
            theta = theta - lr * g
        np.testing.assert_array_equal(mine, theta)
