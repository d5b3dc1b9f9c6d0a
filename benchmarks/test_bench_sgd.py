"""Per-sample SGD on the 2-2-1 network, one epoch over 10k, 100k and 1M samples.

Cost should grow linearly with the samples. The per-scalar reference runs up to
100k samples (15 s per million updates) and the NumPy engine, one Python step
per sample, only at 10k; the compiled engine runs at every size.
"""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench

CASES = [(n, e) for n in (10_000, 100_000, 1_000_000) for e in ("reference", "numpy", "numba")
         if e == "numba" or (e == "reference" and n <= 100_000) or (e == "numpy" and n <= 10_000)]


@pytest.mark.parametrize("n, engine", CASES)
def test_per_sample_sgd(train, benchmark, n, engine):
    benchmark.group = f"per-sample SGD, 2-2-1, one epoch of {n:,} samples"
    w = replace(bench.SGD_10K, name=f"sgd-{n}", n_samples=n)
    slow = n >= 100_000 and engine != "numba"
    net = train(w, engine, small=replace(w, n_samples=200), rounds=1 if slow else 3,
                max_rounds=1 if slow else 20)
    assert np.isfinite(net.theta).all()
