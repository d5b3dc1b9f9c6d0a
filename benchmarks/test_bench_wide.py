"""Mini-batches on a wide network: 784-256-128-10, batch 128, one epoch of 60,000 samples.

The NumPy engine against :func:`vecnet.bench.handwritten_numpy`, the same
arithmetic written as a plain loop (the ceiling for that engine), against
:func:`vecnet.bench.blas_floor`, the matrix products of those steps alone (the
floor of any NumPy engine: a peer's time over it bounds what an engine of the
same arithmetic can gain on that peer), and against
the peers of :mod:`vecnet.bench.peers`: PyTorch on the CPU (the same network,
loss and plain SGD) and scikit-learn's ``MLPClassifier`` (softmax output and
log-loss: the same arithmetic; its own initial weights and input checks).
Everything runs on one thread: OpenBLAS through threadpoolctl (numpy and
scikit-learn), ``torch.set_num_threads(1)`` for PyTorch. (The compiled engine,
one sample at a time, is no match here; ``vecnet bench`` shows it.)

    python -m pytest benchmarks/test_bench_wide.py --benchmark-enable
"""

from dataclasses import replace

import numpy as np
import pytest

from vecnet import bench
from vecnet.bench import peers

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("engine", ["numpy", "numpy-hand", "blas-floor", "torch", "sklearn"])
def test_wide(train, benchmark, engine, dtype):
    if peers.missing(engine):
        pytest.skip(peers.missing(engine))
    if engine == "torch":
        import torch

        torch.set_num_threads(1)
    benchmark.group = f"wide: 784-256-128-10, batch 128, 60,000 samples, {dtype}, 1 thread"
    w = replace(bench.WIDE, n_samples=60_000, dtype=dtype)
    start = w.network().theta
    net = train(w, engine, small=replace(w, n_samples=300))
    assert net.theta.dtype == np.dtype(dtype) and np.isfinite(net.theta).all()
    if engine in ("numpy", "numpy-hand", "blas-floor"):   # (a peer trains a model of its own)
        assert (engine == "blas-floor") == np.array_equal(net.theta, start)   # the floor trains nothing


def test_handwritten_loop_is_the_engines_arithmetic():
    """The ceiling computes what the engine computes, so the comparison is fair."""
    w = replace(bench.WIDE, sizes=(20, 16, 8, 5), n_samples=200, batch_size=32, epochs=2)
    X, Y = w.data()
    a, b = w.network(), w.network()
    bench.handwritten_numpy(a, X, Y, w.batch_size, w.epochs, w.lr)
    b.fit(X, Y, epochs=w.epochs, lr=w.lr, batch_size=w.batch_size, engine="numpy")
    np.testing.assert_allclose(a.theta, b.theta, rtol=0, atol=1e-12)
