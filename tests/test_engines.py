"""The engine registry, and every general engine against the NumPy engine.

Each registered engine is one object (:mod:`vecnet.engines.base`); the tests
here take the engines from the registry, so a new engine is checked the moment
its module is added. The NumPy engine (batch matrix products) is the
independent computation the others are compared with; the reference engine is
compared with the per-scalar reference in ``test_equivalence.py``.
"""

import numpy as np
import pytest

import vecnet
from helpers import BASELINE, CHALLENGERS, GENERAL_ENGINES, assert_engines_agree
from vecnet.activations import ACTIVATIONS
from vecnet.engines import ENGINES, choose_engine, engine_names, resolve
from vecnet.losses import LOSSES
from vecnet.optimizers import SGD, Adam

HIDDEN = [name for name, act in ACTIVATIONS.items() if not act.output_only]
# every loss with every output activation it is defined for
PAIRS = [(loss, out) for loss in LOSSES for out in ACTIVATIONS
         if LOSSES[loss].requires_output in (None, out)]
OPTIMIZERS = {
    "sgd": SGD(lr=0.1),
    "momentum": SGD(lr=0.1, momentum=0.9),
    "nesterov": SGD(lr=0.1, momentum=0.9, nesterov=True),
    "sgd_l2_invscaling": SGD(lr=0.2, l2=0.01, schedule="invscaling", power_t=0.5),
    "adam": Adam(lr=0.01),
    "adam_l2_invscaling": Adam(lr=0.02, l2=0.01, schedule="invscaling", power_t=0.25),
}


def _targets(loss, n, k, rng):
    if loss == "cce":
        return np.eye(k)[rng.integers(0, k, n)]
    if loss == "bce":
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.normal(size=(n, k))


# -- the registry ----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_registered_engine_is_one_object_under_its_name(name):
    engine = ENGINES[name]
    assert engine.name == name and name in engine_names()
    assert (name in engine_names(general=True)) == engine.general
    net = vecnet.Network([2, 2, 1], seed=0)
    assert resolve(name, net, 4, 1, SGD()) is engine   # the article's training: every engine runs it


def test_the_general_engines_are_offered_to_the_estimators_and_the_cli():
    assert engine_names(general=True) == ("auto", "numpy", "numba")
    assert BASELINE in GENERAL_ENGINES and "reference" not in GENERAL_ENGINES


@pytest.mark.parametrize("kwargs, reason", [
    (dict(streamed=True), "in-memory data only"),
    (dict(optimizer=SGD(momentum=0.5)), "only plain SGD"),
    (dict(batch_size=2), "per-sample"),
    (dict(shuffled=True), "cannot shuffle"),
    (dict(sizes=[2, 3, 1]), "only the article's network"),
])
def test_an_engine_refuses_what_it_cannot_run_with_the_reason(kwargs, reason):
    net = vecnet.Network(kwargs.pop("sizes", [2, 2, 1]), seed=0)
    args = dict(n_samples=4, batch_size=1, optimizer=SGD(), shuffled=False, streamed=False) | kwargs
    with pytest.raises(ValueError, match=reason):
        ENGINES["reference"].check(net, **args)
    for name in GENERAL_ENGINES:      # the general engines run all of it
        ENGINES[name].check(net, **args)


def test_auto_picks_the_cheapest_engine_and_never_the_reference():
    net = vecnet.Network([2, 2, 1], seed=0)
    assert choose_engine(net, 4, 1) == "numba"            # 1 * 2**1.5: the kernel
    assert choose_engine(net, 10_000, 10_000) == "numpy"  # 28,000 > 12,000: BLAS
    assert ENGINES["reference"].cost(net, 4, 1) is None
    wide = vecnet.Network([4, 4, 4, 1], seed=0)           # width 4: 4**1.5 = 8, a tie at 1,500
    assert choose_engine(wide, 10_000, 1_500) == "numba"
    assert choose_engine(wide, 10_000, 1_501) == "numpy"


def test_unknown_engines_are_refused_with_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown engine 'fast'; valid ones are \['auto', 'numpy'"):
        resolve("fast", vecnet.Network([2, 2, 1], seed=0), 4, 1, SGD())


# -- every general engine against the NumPy engine ------------------------------------
# Each challenger compiles one kernel per configuration (seconds each), so the tests below run a
# covering set: every (loss, output) pair and every hidden activation, every optimizer with each
# loss in turn. The whole cross-product runs through the kernels' Python twin in test_kernels.py.
COVERING = [(loss, output, HIDDEN[(i + 1) % len(HIDDEN)]) for i, (loss, output) in enumerate(PAIRS)]
OPTIMIZER_COVERING = [(name, loss) for i, name in enumerate(sorted(OPTIMIZERS))
                      for loss in [("mse", "bce", "cce")[i % 3]]]


def test_the_covering_sets_hold_every_piece():
    assert {c[2] for c in COVERING} == set(HIDDEN) and {c[:2] for c in COVERING} == set(PAIRS)
    assert {c[0] for c in OPTIMIZER_COVERING} == set(OPTIMIZERS)
    assert {c[1] for c in OPTIMIZER_COVERING} == {"mse", "bce", "cce"}


@pytest.mark.parametrize("engine", CHALLENGERS)
@pytest.mark.parametrize("loss,output,hidden", COVERING)
@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_engines_agree_on_deeper_networks(engine, hidden, loss, output, batch_size):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    Y = _targets(loss, 40, 2, rng)
    net = vecnet.Network([3, 5, 4, 2], activation=hidden, output_activation=output, loss=loss,
                         init="glorot", seed=6)
    assert_engines_agree(net, X, Y, engine, 1e-10, f"{hidden}/{output}/{loss}/{batch_size}",
                         epochs=5, lr=0.05, batch_size=batch_size)


@pytest.mark.parametrize("engine", CHALLENGERS)
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("name,loss", OPTIMIZER_COVERING)
def test_engines_agree_with_every_optimizer(engine, name, batch_size, loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    Y = np.eye(2)[(X[:, 0] + X[:, 1] > 0).astype(int)]
    output = {"mse": "sigmoid", "bce": "sigmoid", "cce": "softmax"}[loss]
    net = vecnet.Network([3, 5, 4, 2], activation="tanh", output_activation=output, loss=loss, seed=0)
    a, _ = assert_engines_agree(net, X, Y, engine, 1e-10, f"{name}/{loss}/{batch_size}",
                                epochs=3, batch_size=batch_size, optimizer=OPTIMIZERS[name])
    assert not np.array_equal(a.theta, net.theta)


@pytest.mark.parametrize("engine", CHALLENGERS)
def test_the_same_seed_shuffles_alike_in_every_engine(engine):
    X, y = vecnet.synthetic(200, seed=1)
    net = vecnet.Network([2, 3, 1], seed=0)
    a, _ = assert_engines_agree(net, X, y, engine, 1e-12, "same seed",
                                epochs=3, batch_size=10, shuffle=True, seed=42)
    in_order = net.copy()
    in_order.fit(X, y, epochs=3, batch_size=10, engine=BASELINE)
    assert np.abs(in_order.theta - a.theta).max() > 1e-6
