"""What the training loop itself costs: per-epoch Python work, and streaming converted data.

- ``one call`` against ``per-epoch calls``: 500 epochs of per-sample SGD run in one
  compiled call, or one call per epoch (what a callback, validation or ``verbose``
  asks for).
- ``in place`` against ``streamed``: a float32 data set trained by a float64 network
  is converted in 64 MB row blocks (streamed) instead of used as it is.
"""

import numpy as np
import pytest

import vecnet


def _time(benchmark, fn, rounds=3):
    fn()  # warm-up: the JIT compile (or cache load) stays out of the timed rounds
    benchmark.pedantic(fn, rounds=1 if benchmark.disabled else rounds, iterations=1)


@pytest.mark.benchmark(group="loop: 2,000 x 10, [10, 16, 1], batch 1, 500 epochs")
@pytest.mark.parametrize("mode", ["one call", "per-epoch calls"])
def test_per_epoch_overhead(benchmark, mode):
    n, epochs = (200, 5) if benchmark.disabled else (2_000, 500)
    X, y = vecnet.synthetic(n, n_features=10, seed=1)
    net = vecnet.Network([10, 16, 1], activation="tanh", output_activation="sigmoid", seed=0)
    callbacks = [lambda epoch, logs: None] if mode == "per-epoch calls" else ()
    history = []
    _time(benchmark, lambda: history.append(
        net.copy().fit(X, y, epochs=epochs, engine="numba", callbacks=callbacks)))
    assert history[-1].epochs == epochs


@pytest.mark.benchmark(group="loop: 2,000,000 x 10 float32 data, float64 net, batch 32, 1 epoch")
@pytest.mark.parametrize("mode", ["in place", "streamed"])
def test_streaming_overhead(benchmark, mode):
    n = 20_000 if benchmark.disabled else 2_000_000
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 10)).astype(np.float32)
    y = (X @ rng.normal(size=10) > 0).astype(np.float32)
    if mode == "in place":
        X, y = X.astype(np.float64), y.astype(np.float64)
    chunk = 2**18 if benchmark.disabled else 64 * 2**20
    net = vecnet.Network([10, 16, 1], activation="tanh", output_activation="sigmoid", loss="bce",
                         init="glorot", seed=0)
    history = []
    _time(benchmark, lambda: history.append(
        net.copy().fit(X, y, epochs=1, batch_size=32, engine="numba", chunk_bytes=chunk)), rounds=2)
    assert history[-1].streamed == (mode == "streamed")
