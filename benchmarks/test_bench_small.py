"""A small network in mini-batches: 10-32-32-1, batch 32, one epoch of 50,000 samples.

Hidden layers with the default activation (sigmoid, the article's) and with tanh: the two
differ in what the NumPy engine pays for the activation (four array passes for the sigmoid,
one SIMD ``np.tanh``), so the compiled engine's lead differs too.
"""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench


@pytest.mark.parametrize("workload", [bench.SMALL, bench.SMALL_TANH], ids=lambda w: w.activation)
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_small(train, benchmark, engine, workload):
    benchmark.group = f"small: 10-32-32-1 {workload.activation}, batch 32, 50,000 samples"
    net = train(workload, engine, small=replace(workload, n_samples=500))
    assert np.isfinite(net.theta).all()
