"""A small network in mini-batches: 10-32-32-1, batch 32, one epoch of 50,000 samples."""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench


@pytest.mark.benchmark(group="small: 10-32-32-1 tanh, batch 32, 50,000 samples")
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_small(train, engine):
    net = train(bench.SMALL, engine, small=replace(bench.SMALL, n_samples=500))
    assert np.isfinite(net.theta).all()
