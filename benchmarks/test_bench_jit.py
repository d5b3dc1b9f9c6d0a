"""The Numba kernel's compile time, from nothing: a fresh process and an empty cache.

Kept out of every other benchmark (they warm up first). With the benchmark
disabled, the same subprocess runs under ``NUMBA_DISABLE_JIT=1`` so the
measurement itself stays tested without spending the compile time.
"""

import pytest

from vecnet import bench


@pytest.mark.benchmark(group="numba JIT compile (fresh cache, fresh process)")
@pytest.mark.parametrize("dtype", ["float64"])
def test_jit_compile(benchmark, dtype):
    seconds = benchmark.pedantic(bench.compile_time, args=(dtype, benchmark.disabled),
                                 rounds=1, iterations=1)
    assert seconds >= 0.0
