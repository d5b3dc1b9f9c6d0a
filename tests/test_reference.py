"""vecnet.reference reproduces the original network bit for bit.

The golden files were recorded by running the original code unchanged:

    python tests/golden/make_golden.py ../shared/seed/original_network.py

(for numpy.random.seed 0, 1 and 2; floats stored with float.hex).
"""

import json
import pathlib

import numpy
import pytest

from vecnet.reference import PARAM_NAMES, ReferenceNetwork

GOLDEN = pathlib.Path(__file__).parent / "golden"
DATA = numpy.array([[-2, -1], [25, 6], [17, 4], [-15, -6]])
Y = numpy.array([1, 0, 0, 1])


def _golden(seed):
    return json.loads((GOLDEN / f"original_seed{seed}.json").read_text())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_initial_draws_match_the_original(seed):
    numpy.random.seed(seed)
    ref = ReferenceNetwork()
    assert {n: float(v).hex() for n, v in ref.params().items()} == _golden(seed)["initial"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_training_matches_the_original_bit_for_bit(seed):
    golden = _golden(seed)
    numpy.random.seed(seed)
    ref = ReferenceNetwork()
    log = ref.train(DATA, Y)
    assert {n: float(getattr(ref, n)).hex() for n in PARAM_NAMES} == golden["final"]
    assert [[e.epoch, float(e.loss).hex()] for e in log] == golden["logged"]


def test_verbose_prints_what_the_original_prints(capsys):
    golden = _golden(0)
    numpy.random.seed(0)
    ReferenceNetwork().train(DATA, Y, epochs=11, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    expected = golden["logged"][:8]  # epochs 0 and 10, four samples each
    assert [(int(a), float(b).hex()) for a, b in (ln.split() for ln in lines)] == [tuple(e) for e in expected]


def test_epoch_losses_are_the_mean_pre_update_squared_error():
    numpy.random.seed(3)
    ref = ReferenceNetwork()
    twin = ReferenceNetwork(ref.params())
    losses = []
    ref.train(DATA, Y, epochs=1, log_every=None, epoch_losses=losses)
    # the same epoch by hand: the loss of each sample before its own update
    total = 0.0
    for x, y in zip(DATA, Y):
        total += (y - twin.simulate(x)) ** 2
        twin.train(x[None, :], numpy.array([y]), epochs=1, log_every=None)
    assert losses == [total / 4]
    assert twin.params() == ref.params()


def test_full_batch_is_the_average_of_per_sample_gradients():
    """One full-batch step equals the mean of four single-sample steps' displacements."""
    numpy.random.seed(4)
    start = ReferenceNetwork().params()
    full = ReferenceNetwork(start)
    full.train_full_batch(DATA, Y, epochs=1, learn_rate=0.1)
    steps = []
    for x, y in zip(DATA, Y):
        one = ReferenceNetwork(start)
        one.train(x[None, :], numpy.array([y]), epochs=1, learn_rate=0.1, log_every=None)
        steps.append([one.params()[n] - start[n] for n in PARAM_NAMES])
    mean_step = numpy.mean(steps, axis=0)
    got = [full.params()[n] - start[n] for n in PARAM_NAMES]
    numpy.testing.assert_allclose(got, mean_step, rtol=1e-12, atol=1e-15)


def test_params_must_be_complete():
    with pytest.raises(ValueError, match="missing"):
        ReferenceNetwork({"w1": 1.0})
