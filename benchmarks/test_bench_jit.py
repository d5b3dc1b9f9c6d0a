"""The Numba kernels' compile time, from nothing: a fresh process and an empty cache.

One kernel per configuration (activations, loss, optimizer, per-sample or
batch, dtype): each benchmark compiles the kernel of one workload of
:mod:`vecnet.bench.workloads` in a subprocess with an empty ``NUMBA_CACHE_DIR``
(targets: the article's configuration <= 5 s, any other <= 8 s). Kept out of
every other benchmark (they warm up first). With the benchmark disabled, the
subprocess runs under ``NUMBA_DISABLE_JIT=1`` so the measurement itself stays
tested without spending the compile time.
"""

import pytest

from vecnet import bench

CONFIGURATIONS = ["ARTICLE", "FULL", "SMALL", "SMALL_TANH", "WIDE"]
"""One workload per distinct kernel of the benchmarks (SGD_10K and SGD_100K share ARTICLE's)."""


@pytest.mark.benchmark(group="numba JIT compile (fresh cache, fresh process)")
@pytest.mark.parametrize("workload", CONFIGURATIONS)
def test_jit_compile(benchmark, workload):
    seconds = benchmark.pedantic(bench.compile_time, args=(workload, benchmark.disabled),
                                 rounds=1, iterations=1)
    assert seconds >= 0.0
