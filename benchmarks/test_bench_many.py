"""Many models at once: 64 article networks (2-2-1 sigmoid/sigmoid/mse, plain SGD lr 0.1) trained
per sample on 10,000 samples for 3 epochs (1.92 M model-updates per round).

``solo fits``: a loop of 64 ``net.fit(..., engine="numba")`` calls (the solo compiled kernel);
``run_many``: the Numba engine's ``run_many`` (the ``[param, model]`` kernel, one SIMD
instruction updating several models), on 1 and on 2 threads; ``fit_many``: the same through
``vecnet.fit_many`` (checks, histories), as users call it. Every model comes out bit-identical
either way (tests/test_many_numba.py); divide the mean times for the ratio (target: ``run_many``
>= 10x the model-updates per second of the solo loop). The compile (or cache load) of both
kernels happens before the timed rounds.

    python -m pytest benchmarks/test_bench_many.py --benchmark-enable
"""

import numba
import numpy as np
import pytest

import vecnet
from vecnet.engines import ENGINES

K, N, EPOCHS = 64, 10_000, 3


def _problem(n):
    """The 64 networks (seeds 0..63) and ``n`` samples of the article's task (2 features, 1 target)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.float64).reshape(-1, 1)
    nets = [vecnet.Network([2, 2, 1], activation="sigmoid", loss="mse", seed=k) for k in range(K)]
    return nets, X, y


def _solo_fits(nets, X, y, epochs):
    for net in nets:
        net.fit(X, y, epochs=epochs, lr=0.1, batch_size=1, engine="numba")
    return nets


def _fit_many(nets, X, y, epochs):
    vecnet.fit_many(nets, X, y, epochs=epochs, lr=0.1, batch_size=1, engine="numba")
    return nets


def _run_many(nets, X, y, epochs):
    net = nets[0]
    thetas = np.stack([m.theta for m in nets])
    memory = np.zeros((len(nets), 2, net.n_params))
    steps = np.zeros((len(nets), 1), dtype=np.int64)
    orders = np.arange(len(X), dtype=np.int64).reshape(1, 1, -1)
    losses, done = ENGINES["numba"].run_many(net, thetas, X, y, orders, epochs, 1, [vecnet.SGD(lr=0.1)] * len(nets),
                                             memory, steps, np.ones(len(nets), dtype=bool))
    return thetas, done


@pytest.mark.parametrize("how, threads", [("solo fits", 1), ("run_many", 1), ("run_many", 2), ("fit_many", 2)],
                         ids=["solo fits", "run_many 1 thread", "run_many 2 threads", "fit_many 2 threads"])
def test_many_article_networks(benchmark, how, threads):
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip(f"{threads} threads, the machine has {numba.config.NUMBA_NUM_THREADS}")
    benchmark.group = f"{K} article networks, per-sample SGD, {EPOCHS} epochs of {N:,} samples"
    n = 200 if benchmark.disabled else N
    nets, X, y = _problem(n)
    fn = {"solo fits": _solo_fits, "run_many": _run_many, "fit_many": _fit_many}[how]
    fn([m.copy() for m in nets], X[:64], y[:64], 1)   # compile or load: not timed
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        result = benchmark.pedantic(fn, setup=lambda: (([m.copy() for m in nets], X, y, EPOCHS), {}),
                                    rounds=20, iterations=1)   # 10-100 ms each: many rounds, min is stable
    finally:
        numba.set_num_threads(before)
    benchmark.extra_info.update(models=K, samples=n, epochs=EPOCHS, model_updates=K * n * EPOCHS)
    if how == "run_many":
        assert (result[1] == EPOCHS).all()
    else:   # the solo loop and fit_many return the networks
        assert all(np.isfinite(m.theta).all() for m in result)
