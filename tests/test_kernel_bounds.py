"""The compiled kernels on irregular shapes, held against the NumPy engine.

Meant to run a second time with ``NUMBA_BOUNDSCHECK=1`` (and a fresh
``NUMBA_CACHE_DIR``), as ``.ci/run`` does: every index the kernels take is then
checked, and one out of range raises ``IndexError`` instead of reading or
writing past an array. The shapes below are the ones where an off-by-one would
live: a last batch shorter than the others, batches of one and of all samples,
one sample, layers narrower and wider than their neighbours (the kernel's
scratch arrays are as wide as the widest layer), one unit, several outputs,
and more epochs than sample orders.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vecnet import Network

CASES = [
    # sizes, n_samples, batch_size
    ([1, 1], 1, 1),
    ([3, 1], 7, 7),
    ([2, 9, 1], 10, 3),       # last batch of 1
    ([9, 2, 4], 10, 4),       # narrow hidden layer between wide ones
    ([2, 3, 17, 2], 5, 2),    # widest layer last but one
    ([17, 1, 17], 6, 5),      # one unit in the middle, last batch of 1
    ([4, 8, 8, 3], 33, 32),   # a batch of 32 and one left over
]


def _problem(sizes, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.uniform(size=(n, sizes[-1]))
    return X, y


@pytest.mark.parametrize("sizes, n, batch_size", CASES, ids=[f"{s}-n{n}-b{b}" for s, n, b in CASES])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_kernel_on_irregular_shapes_matches_the_numpy_engine(sizes, n, batch_size, shuffle, optimizer):
    X, y = _problem(sizes, n)
    net = Network(sizes, activation="tanh", output_activation="sigmoid", init="glorot", seed=1)
    a, b = net.copy(), net.copy()
    kwargs = dict(epochs=3, batch_size=batch_size, shuffle=shuffle, seed=2, optimizer=optimizer)
    ha = a.fit(X, y, engine="numpy", **kwargs)
    hb = b.fit(X, y, engine="numba", **kwargs)
    # Same updates, sums taken in another order: equal to rounding.
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hb.loss, ha.loss, rtol=1e-10)


@pytest.mark.parametrize("loss, out, k", [("cce", "softmax", 5), ("bce", "sigmoid", 3), ("mse", "relu", 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_with_several_outputs_and_both_dtypes(loss, out, k, dtype):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(11, 4))
    y = np.eye(k)[rng.integers(0, k, 11)] if loss == "cce" else rng.uniform(size=(11, k))
    net = Network([4, 6, k], activation="relu", output_activation=out, loss=loss, seed=4, dtype=dtype)
    a, b = net.copy(), net.copy()
    a.fit(X, y, epochs=4, batch_size=3, engine="numpy", shuffle=True, seed=5)
    b.fit(X, y, epochs=4, batch_size=3, engine="numba", shuffle=True, seed=5)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(b.theta, a.theta, rtol=tol, atol=tol)


@pytest.mark.parametrize("shuffle", [False, True])
def test_kernel_with_more_epochs_than_orders(shuffle):
    # The kernel visits epoch e in the order orders[e % len(orders)]; in-order
    # training hands it a single order for all 25 epochs.
    X, y = _problem([2, 3, 1], 4)
    net = Network([2, 3, 1], seed=0)
    a, b = net.copy(), net.copy()
    a.fit(X, y, epochs=25, batch_size=3, engine="numpy", shuffle=shuffle, seed=9)
    b.fit(X, y, epochs=25, batch_size=3, engine="numba", shuffle=shuffle, seed=9)
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-10, atol=1e-12)


def test_python_twin_of_the_kernel_handles_logits_of_minus_1000():
    # Pure Python's math.exp(1000) raises OverflowError where compiled code gives inf
    # (and the sigmoid 0): the kernel must give 0 in both.
    code = textwrap.dedent("""
        import numpy as np
        from vecnet import Network
        net = Network([1, 1], seed=0)
        net.set_params([(np.array([[1000.0]]), np.array([0.0]))])
        history = net.fit(np.array([[-1.0]]), np.array([0.0]), epochs=1, engine="numba")
        assert history.loss == [0.0], history.loss
    """)
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr[-400:]
