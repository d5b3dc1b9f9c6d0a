"""The article's example: 2-2-1, its four samples, 1000 epochs of per-sample SGD."""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench


@pytest.mark.benchmark(group="article: 2-2-1, 4 samples x 1000 epochs, per-sample SGD")
@pytest.mark.parametrize("engine", ["reference", "numpy", "numba"])
def test_article(train, engine):
    net = train(bench.ARTICLE, engine, small=replace(bench.ARTICLE, epochs=20))
    assert np.isfinite(net.theta).all()
