"""Losses with output activations: which pairs are allowed, and stability at logits of +/-1000."""

import warnings

import numpy as np
import pytest

import vecnet
from helpers import finite_difference
from vecnet import engines
from vecnet.activations import ACTIVATIONS
from vecnet.optimizers import SGD, OptimizerState

X2 = np.array([[1.0, 0.0], [-1.0, 0.0]])
Y2 = np.eye(3)[[1, 0]]          # sample 0 is class 1, sample 1 is class 0


def _saturated(output, loss, dtype=np.float64):
    """A [2, 2, 3] net whose output logits on X2 are +/-1000: [1000, -1000, 1000] and the negation."""
    net = vecnet.Network([2, 2, 3], activation="identity", output_activation=output, loss=loss,
                         seed=0, dtype=dtype)
    (W1, b1), (W2, b2) = net.params
    W1[...], b1[...], W2[...], b2[...] = np.eye(2), 0, 0, 0
    W2[0] = [1000, -1000, 1000]
    return net


# Worked by hand from the logits above (A is exactly 0 or 1 where sigmoid saturates;
# softmax of [1000, -1000, 1000] is [1/2, 0, 1/2]):
#   bce: sample 0 terms 1000, 1000, 1000; sample 1 terms 1000, 1000, 0 -> mean 5000/6;
#        dL/db2 = sum_s (A - Y) / (2 * 3) = ([1, -1, 1] + [-1, 1, 0]) / 6 = [0, 0, 1/6]
#   cce: sample 0: logsumexp = 1000 + log 2, y.z = -1000; sample 1: 1000 and -1000
#        -> mean 2000 + log(2) / 2;  dL/db2 = ([.5, -1, .5] + [-1, 1, 0]) / 2 = [-.25, 0, .25]
#   mse with a sigmoid: A = [1, 0, 1] and [0, 1, 0] against Y -> errors 3 and 2 of 6 -> 5/6;
#        dL/dZ = 2 (A - Y) / 6 * A (1 - A) = 0 everywhere
SATURATED = {
    ("sigmoid", "bce"): (5000 / 6, [0, 0, 1 / 6]),
    ("softmax", "cce"): (2000 + np.log(2) / 2, [-0.25, 0, 0.25]),
    ("sigmoid", "mse"): (5 / 6, [0, 0, 0]),
}


@pytest.mark.parametrize("output,loss", sorted(SATURATED))
def test_saturated_logits_numpy_engine(output, loss):
    value, db2 = SATURATED[output, loss]
    net = _saturated(output, loss)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        got, grad = net.gradients(X2, Y2)
    assert np.isfinite(grad).all()
    assert got == pytest.approx(value, rel=1e-15)
    np.testing.assert_allclose(net._views(grad)[1][1], db2, rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("output,loss", sorted(SATURATED))
def test_saturated_logits_numba_engine(output, loss, dtype):
    # One full-batch step with lr = 1 from b2 = 0 leaves b2 = -dL/db2.
    value, db2 = SATURATED[output, loss]
    net = _saturated(output, loss, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = engines.ENGINES["numba"].run_epochs(
            net, X2.astype(dtype), Y2.astype(dtype), np.arange(2)[None], 1, 2, SGD(lr=1.0),
            OptimizerState.zeros(net.n_params, net.dtype))
    assert losses == [pytest.approx(value, rel=1e-7 if dtype == np.float32 else 1e-15)]
    assert np.isfinite(net.theta).all()
    np.testing.assert_allclose(-net.params[1][1], db2, rtol=0, atol=1e-7)


@pytest.mark.parametrize("loss", ["bce", "cce"])
def test_cross_entropies_need_their_own_output(loss):
    need = {"bce": "sigmoid", "cce": "softmax"}[loss]
    for output in ACTIVATIONS:
        if output == need:
            continue
        with pytest.raises(ValueError, match=f"loss '{loss}' needs a '{need}' output activation"):
            vecnet.Network([2, 3, 2], activation="tanh", output_activation=output, loss=loss)


@pytest.mark.parametrize("output", sorted(ACTIVATIONS))
def test_mse_works_with_every_output_activation(output):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 3))
    Y = rng.uniform(size=(6, 2))
    net = vecnet.Network([3, 4, 2], activation="tanh", output_activation=output, loss="mse",
                         seed=3)
    net.params[-1][1][...] += 0.3          # keep relu units away from their kink
    _, grad = net.gradients(X, Y)
    np.testing.assert_allclose(grad, finite_difference(net, X, Y), rtol=1e-6, atol=1e-8)
    # the engines agree on every output with mse: test_engines.py
