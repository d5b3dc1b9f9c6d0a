"""A small network in mini-batches: 10-32-32-1, batch 32, one epoch of 50,000 samples.

Hidden layers with the default activation (sigmoid, the article's) and with tanh: the two
differ in what the NumPy engine pays for the activation (four array passes for the sigmoid,
one SIMD ``np.tanh``), so the compiled engine's lead differs too. ``numpy-hand`` is
:func:`vecnet.bench.handwritten_numpy`, the NumPy engine's arithmetic as a plain loop
(new arrays at every step): the engine should be at least as fast. One BLAS thread.

    python -m pytest benchmarks/test_bench_small.py --benchmark-enable
"""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.mark.parametrize("workload", [bench.SMALL, bench.SMALL_TANH], ids=lambda w: w.activation)
@pytest.mark.parametrize("engine", ["numpy", "numpy-hand", "numba"])
def test_small(train, benchmark, engine, workload):
    benchmark.group = f"small: 10-32-32-1 {workload.activation}, batch 32, 50,000 samples"
    net = train(workload, engine, small=replace(workload, n_samples=500))
    assert np.isfinite(net.theta).all()


@pytest.mark.parametrize("workload", [bench.SMALL, bench.SMALL_TANH], ids=lambda w: w.activation)
def test_handwritten_loop_is_the_engines_arithmetic(workload):
    """The plain loop computes what the engine computes (sigmoid/tanh hidden, sigmoid+bce output)."""
    w = replace(workload, n_samples=200, epochs=2)
    X, Y = w.data()
    a, b = w.network(), w.network()
    bench.handwritten_numpy(a, X, Y, w.batch_size, w.epochs, w.lr)
    b.fit(X, Y, epochs=w.epochs, lr=w.lr, batch_size=w.batch_size, engine="numpy")
    np.testing.assert_allclose(a.theta, b.theta, rtol=0, atol=1e-12)
