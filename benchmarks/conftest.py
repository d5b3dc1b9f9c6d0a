"""Shared fixture of the benchmark suites.

``python -m pytest`` runs these files with ``--benchmark-disable`` (pyproject's
addopts): every body runs once, as a test, on the small version of its
workload. ``python -m pytest benchmarks --benchmark-enable`` times the full ones.
"""

import pytest

from vecnet import bench


@pytest.fixture
def train(benchmark):
    """``train(workload, engine, small)``: time ``engine`` on ``workload`` (``small`` when disabled).

    The JIT compile (or cache load) happens in a warm-up run on the first 64
    samples, before any timed round; each round starts from the same weights.
    Returns the trained network of the last round.
    """
    def run(workload, engine, small, rounds=3):
        w = small if benchmark.disabled else workload
        X, Y = w.data()
        start = w.network()
        fn = bench.runner(engine)
        fn(w, start.copy(), X, Y, epochs=1, n=min(len(X), 64))
        benchmark.extra_info.update(workload=w.label(), engine=engine, updates=w.updates,
                                    epochs=w.epochs)
        nets = []

        def setup():
            nets.append(start.copy())
            return (w, nets[-1], X, Y), {}

        benchmark.pedantic(fn, setup=setup, rounds=rounds, iterations=1)
        return nets[-1]
    return run
