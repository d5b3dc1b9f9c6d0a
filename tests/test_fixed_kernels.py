"""Kernels built for one network shape against the kernels that read the shape at run time.

A per-sample kernel for a small network (``KernelConfig.shape``) has its layout
as constants, its scratch on the stack and its layers written out one by one;
the arithmetic must stay the same, in the same order: bit for bit the weights,
losses, optimizer memory and update count of the run-time-shape kernel (which
``FIXED_MAX_PARAMS = 0`` selects), also when an epoch diverges.
"""

import warnings

import numpy as np
import pytest

import vecnet
from vecnet.engines import _kernel_config
from vecnet.engines._kernel_config import fixed_shape, kernel_settings

pytestmark = pytest.mark.fixed_shapes


def _fit(monkeypatch, fixed, sizes, dtype, optimizer, epochs, **network):
    if not fixed:
        monkeypatch.setattr(_kernel_config, "FIXED_MAX_PARAMS", 0)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(29, sizes[0])).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], 29)]
    net = vecnet.Network(sizes, init="glorot", seed=2, dtype=dtype, **network)
    assert bool(kernel_settings(net, optimizer, 1)[0].shape) == fixed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vecnet.DivergenceWarning)
        history = net.fit(X, Y, epochs=epochs, batch_size=1, engine="numba", optimizer=optimizer,
                          shuffle=True, seed=3)
    monkeypatch.undo()
    state = net.optimizer_state
    return net.theta.copy(), list(history.loss), state.memory.copy(), state.steps.copy()


CASES = {
    "article": ((2, 2, 1), "float64", lambda: vecnet.SGD(lr=0.5), 30, {}),
    "three layers, float32": ((3, 5, 4, 2), "float32",
                              lambda: vecnet.SGD(lr=0.05, momentum=0.9, nesterov=True, l2=1e-3,
                                                 schedule="invscaling", power_t=0.3), 6,
                              dict(activation="tanh", output_activation="softmax", loss="cce")),
    "three layers, diverging": ((3, 5, 4, 2), "float32",
                                lambda: vecnet.SGD(lr=1e30, momentum=0.9, nesterov=True, l2=1e-3,
                                                   schedule="invscaling", power_t=0.3), 6,
                                dict(activation="tanh", output_activation="softmax", loss="cce")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_kernel_built_for_the_shape_is_bit_identical_to_the_general_one(monkeypatch, case):
    sizes, dtype, optimizer, epochs, network = CASES[case]
    fixed = _fit(monkeypatch, True, sizes, dtype, optimizer(), epochs, **network)
    general = _fit(monkeypatch, False, sizes, dtype, optimizer(), epochs, **network)
    assert fixed[0].dtype == general[0].dtype == np.dtype(dtype)
    assert fixed[0].tobytes() == general[0].tobytes()
    assert fixed[1] == general[1]
    assert fixed[2].tobytes() == general[2].tobytes()
    assert fixed[3].tolist() == general[3].tolist()
    if "diverging" in case:
        assert len(fixed[1]) < epochs and np.isfinite(fixed[0]).all()
    else:
        assert len(fixed[1]) == epochs and fixed[3][0] == 29 * epochs


def test_only_small_per_sample_networks_get_a_kernel_of_their_own():
    assert fixed_shape([2, 2, 1], per_sample=True) == (2, 2, 1)
    assert fixed_shape(np.array([3, 5, 4, 2]), per_sample=True) == (3, 5, 4, 2)
    assert fixed_shape([2, 2, 1], per_sample=False) == ()
    assert fixed_shape([10, 32, 32, 1], per_sample=True) == ()                     # 1,441 parameters
    assert fixed_shape([1, 1, 1, 1, 1, 1], per_sample=True) == ()                  # five layers
    big = _kernel_config.FIXED_MAX_PARAMS + 1
    assert fixed_shape([1, big - 2, 1], per_sample=True) == ()
    assert fixed_shape([1, (big - 2) // 3, 1], per_sample=True) != ()
