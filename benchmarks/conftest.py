"""Shared fixture of the benchmark suites.

``python -m pytest`` runs these files with ``--benchmark-disable`` (pyproject's
addopts): every body runs once, as a test, on the small version of its
workload. ``python -m pytest benchmarks --benchmark-enable`` times the full ones.
"""

import time

import pytest

from vecnet import bench


@pytest.fixture
def train(benchmark):
    """``train(workload, engine, small)``: time ``engine`` on ``workload`` (``small`` when disabled).

    The JIT compile (or cache load) happens in a warm-up run on the first 64
    samples, before any timed round; each round starts from the same weights.
    Jobs shorter than a second get more rounds (up to ``max_rounds``), one
    untimed run deciding how many. Returns the trained network of the last round.
    """
    def run(workload, engine, small, rounds=3, max_rounds=20):
        w = small if benchmark.disabled else workload
        X, Y = w.data()
        start = w.network()
        fn = bench.runner(engine)
        fn(w, start.copy(), X, Y, epochs=1, n=min(len(X), 64))
        if not benchmark.disabled:
            # more rounds for quick jobs (about a second in all): a shared machine's noise
            t0 = time.perf_counter()
            fn(w, start.copy(), X, Y)
            once = time.perf_counter() - t0
            rounds = int(min(max_rounds, max(rounds, 1.0 / max(once, 1e-9))))
        benchmark.extra_info.update(workload=w.label(), engine=engine, updates=w.updates,
                                    epochs=w.epochs)
        nets = []

        def setup():
            nets.append(start.copy())
            return (w, nets[-1], X, Y), {}

        benchmark.pedantic(fn, setup=setup, rounds=rounds, iterations=1)
        return nets[-1]
    return run


@pytest.fixture(scope="module")
def one_blas_thread():
    """One BLAS thread for the NumPy comparisons (numpy, scikit-learn); peers with pools of their
    own (PyTorch, onnxruntime) are set to one thread where they run."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # not installed: BLAS keeps its own thread count (say so in results)
        yield
        return
    with threadpool_limits(1):
        yield
