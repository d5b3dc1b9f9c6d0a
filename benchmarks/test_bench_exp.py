"""exp over 1,000,000 float64 in a compiled loop: libm's ``math.exp`` against vecnet's own.

The loop over libm's exp stays scalar (a call per element); the loop over
:func:`vecnet.engines._exp.exp` is plain arithmetic, which LLVM vectorizes
(``tests/test_exp.py`` checks the vector instructions). With 10**6 elements,
a round of 1 ms is 1 ns per element.
"""

import math

import numpy as np
import pytest
from numba import njit

from vecnet.engines._exp import exp

N = 1_000_000


@njit(error_model="numpy")
def _libm_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i])


@njit(error_model="numpy")
def _vecnet_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@pytest.mark.parametrize("loop", [_libm_loop, _vecnet_loop], ids=["math.exp", "vecnet"])
def test_exp_loop(benchmark, loop):
    benchmark.group = "exp over 1e6 float64 in [-20, 20]: time / 1e6 per element (1 ms = 1 ns)"
    x = np.random.default_rng(0).uniform(-20.0, 20.0, N)
    out = np.empty_like(x)
    loop(x, out)                                    # compile before any timed round
    benchmark.pedantic(loop, args=(x, out), rounds=30, iterations=1, warmup_rounds=2)
    if not benchmark.disabled:
        benchmark.extra_info["ns_per_element"] = benchmark.stats.stats.min / N * 1e9
    np.testing.assert_allclose(out, np.exp(x), rtol=3e-16, atol=0)
