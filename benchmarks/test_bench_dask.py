"""Local SGD on Dask: one round (an epoch of every partition) of 1M x 64 rows, 64-128-64-10.

Skipped unless benchmarks are enabled (``--benchmark-enable``): starting clusters
and generating a million rows is no test. The same comparison, with test
accuracy per round, is ``python benchmarks/dask_local_sgd.py``.
"""

import numpy as np
import pytest

ROWS = 1_000_000


def _skip_if_disabled(benchmark):
    if benchmark.disabled:
        pytest.skip("a benchmark: run with --benchmark-enable")


def test_one_process_epoch(benchmark):
    _skip_if_disabled(benchmark)
    import vecnet

    m, X, Y = _load()
    benchmark.group = "local SGD, 1M x 64, 64-128-64-10, one epoch"
    nets = []

    def setup():
        nets.append(m.network())
        return (nets[-1], X, Y), dict(epochs=1, shuffle=True, seed=0, **m.KW)

    benchmark.pedantic(vecnet.fit, setup=setup, rounds=2, iterations=1)
    assert np.isfinite(nets[-1].theta).all()


@pytest.mark.parametrize("workers", [1, 2])
def test_local_sgd_round(benchmark, workers):
    _skip_if_disabled(benchmark)
    distributed = pytest.importorskip("distributed")
    import vecnet.dask as vd

    m = _load(data=False)
    benchmark.group = "local SGD, 1M x 64, 64-128-64-10, one epoch"
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dX, dy = m.on_workers(0, ROWS)
        dY = dy.map_blocks(m.one_hot, new_axis=1, chunks=(dy.chunks[0], (m.N_OUT,)), dtype=np.float64)
        dX, dY = client.persist([dX, dY])
        distributed.wait([dX, dY])
        nets = []

        def setup():
            nets.append(m.network())
            return (nets[-1], dX, dY), dict(rounds=1, shuffle=True, seed=0, client=client, **m.KW)

        benchmark.extra_info.update(workers=workers, partitions=len(dX.chunks[0]))
        benchmark.pedantic(vd.fit, setup=setup, rounds=2, iterations=1)
    assert np.isfinite(nets[-1].theta).all()


def _load(data=True):
    """The script module, with ``X`` and one-hot ``Y`` in memory when ``data``."""
    import os
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    import dask_local_sgd as m

    if not data:
        return m
    X, y = m.in_memory(0, ROWS)
    return m, X, m.one_hot(y)
