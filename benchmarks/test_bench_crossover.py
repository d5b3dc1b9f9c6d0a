"""Where the NumPy engine overtakes the compiled one: [w, w, w, 1] networks, one epoch.

Each group is one (width, batch) point, numpy and numba side by side; the
crossovers found here are the rule of ``engine="auto"``
(:func:`vecnet.engines.choose_engine`). About 2**24 multiply-adds per epoch
per point (at most 16,384 samples).
"""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench
from vecnet.engines import choose_engine

POINTS = [(4, 256), (4, 1024), (16, 64), (16, 256), (64, 16), (64, 64), (256, 1), (256, 4)]


def _workload(width, batch):
    n = int(min(16384, max(4 * batch, 2 ** 24 // (width * width))))
    return bench.Workload(f"x{width}-{batch}", (width, width, width, 1), n, batch, activation="tanh",
                          output_activation="sigmoid", loss="bce", engines=("numpy", "numba"))


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("width, batch", POINTS)
def test_crossover(train, benchmark, width, batch, engine):
    benchmark.group = f"crossover: width {width}, batch {batch}"
    w = _workload(width, batch)
    benchmark.extra_info["auto"] = choose_engine(w.network(), w.n_samples, batch)
    net = train(w, engine, small=replace(w, n_samples=2 * batch, sizes=(4, 4, 4, 1)), rounds=2)
    assert np.isfinite(net.theta).all()
