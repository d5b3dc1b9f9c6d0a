"""Full-batch gradient descent: the article's network, and a small one on 50,000 samples."""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench


@pytest.mark.benchmark(group="full batch: 2-2-1, 1,000 samples x 50 epochs")
@pytest.mark.parametrize("engine", ["reference", "numpy", "numba"])
def test_full_batch_article_network(train, engine):
    net = train(bench.FULL, engine, small=replace(bench.FULL, n_samples=50, epochs=5))
    assert np.isfinite(net.theta).all()


@pytest.mark.benchmark(group="full batch: 10-32-32-1, 50,000 samples x 5 epochs")
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_full_batch_small_network(train, engine):
    w = replace(bench.SMALL, batch_size=None, epochs=5)
    net = train(w, engine, small=replace(w, n_samples=300, epochs=2))
    assert np.isfinite(net.theta).all()
