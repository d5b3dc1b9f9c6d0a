"""Many models at once on the NumPy engine: ``run_many``'s stacked passes against a loop of fits.

K = 16 networks 10-32-32-1 (sigmoid or tanh hidden, sigmoid + bce output), batch 32, 3 epochs of
4,096 synthetic samples, each model with its own start weights and its own shuffles: the stacked
engine (one Python step per batch for all 16) against a Python loop of 16 ``net.fit(...,
engine="numpy")``. Both train the same thing: the body checks that every model's weights come
out bit-identical. One BLAS thread. The ratio is the loop's time over the stacked one's
(the issue's target: >= 5x).

    python -m pytest benchmarks/test_bench_many_numpy.py --benchmark-enable
"""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench
from vecnet.engines import ENGINES
from vecnet.optimizers import SGD

pytestmark = pytest.mark.usefixtures("one_blas_thread")

K, EPOCHS, N = 16, 3, 4096


def job(workload, small):
    """Start weights (K, n_params), data, each model's epoch orders (as ``fit(seed=k)`` draws them)."""
    w = replace(workload, n_samples=256 if small else N, epochs=EPOCHS)
    X, Y = w.data()
    nets = [w.network(seed=k) for k in range(K)]
    orders = np.stack([[rng.permutation(len(X)) for _ in range(EPOCHS)]
                       for rng in (np.random.default_rng(k) for k in range(K))]).astype(np.int64)
    return w, nets, X, Y, orders


def stacked(w, nets, X, Y, orders):
    """All K models through ``run_many``; their weights (K, n_params)."""
    thetas = np.stack([net.theta for net in nets])
    memory = np.zeros((K, 2, thetas.shape[1]))
    steps = np.zeros((K, 1), np.int64)
    losses, done = ENGINES["numpy"].run_many(nets[0], thetas, X, Y, orders, EPOCHS, w.batch_size,
                                             [SGD(lr=w.lr)] * K, memory, steps, np.ones(K, bool))
    assert (done == EPOCHS).all()
    return thetas


def loop(w, nets, X, Y, orders):
    """Each model alone, ``net.fit(..., engine="numpy", shuffle=True, seed=k)``; their weights (K, n_params)."""
    out = []
    for k, net in enumerate(nets):
        net = net.copy()
        net.fit(X, Y, epochs=EPOCHS, batch_size=w.batch_size, lr=w.lr, engine="numpy", shuffle=True,
                seed=k)
        out.append(net.theta)
    return np.stack(out)


@pytest.mark.parametrize("workload", [bench.SMALL, bench.SMALL_TANH], ids=lambda w: w.activation)
@pytest.mark.parametrize("how", ["stacked", "loop"])
def test_many_numpy(benchmark, workload, how):
    benchmark.group = f"many: K={K} x 10-32-32-1 {workload.activation}, batch 32, {EPOCHS} epochs of {N:,}"
    args = job(workload, small=benchmark.disabled)
    run = stacked if how == "stacked" else loop
    other = loop if how == "stacked" else stacked
    expected = other(*args)   # untimed: also the warm-up
    rounds = 1 if benchmark.disabled else 5
    thetas = benchmark.pedantic(run, args=args, rounds=rounds, iterations=1)
    assert np.array_equal(thetas, expected)   # the same training, bit for bit
    benchmark.extra_info.update(models=K, epochs=EPOCHS, samples=len(args[2]))
