"""vecnet.reference reproduces the original network: bit for bit on the same machine.

Two sources of truth:

- The original itself, ``original_network.py`` (in ``../shared/seed/`` beside the checkout, as
  in CI, or in the folder named by ``$VECNET_SEED_DIR``), run live and unchanged in this
  process: the reference must equal it bit for bit, on whatever CPU the tests run. Skipped
  when the original is not at hand.
- The golden files in ``tests/golden/``, recorded from the original by running

      python tests/golden/make_golden.py ../shared/seed/original_network.py

  (for numpy.random.seed 0, 1 and 2; floats stored with float.hex; each file names the numpy
  version and SIMD features it was made with). numpy's ``exp`` takes an AVX-512 path on CPUs
  that have it and the C library's ``exp`` elsewhere; the two differ in the last bit for some
  inputs, so on another machine training ends a few ulps away. Against the golden files the
  reference must be within ``GOLDEN_ULPS`` (see ``helpers.within_ulps``).
"""

import json
import os
import pathlib

import numpy
import pytest

from golden.make_golden import SEEDS, parse_log, recorded_with, run_original
from helpers import ulp_distance, within_ulps
from vecnet.reference import PARAM_NAMES, ReferenceNetwork

GOLDEN = pathlib.Path(__file__).parent / "golden"
DATA = numpy.array([[-2, -1], [25, 6], [17, 4], [-15, -6]])
Y = numpy.array([1, 0, 0, 1])
LIVE_SEEDS = [0, 1, 2, 3, 7, 42]

SEED_DIR_VAR = "VECNET_SEED_DIR"
SEED_DIR = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "seed"

# Across numpy's exp paths (AVX-512 against the C library's, both on this machine with
# NPY_DISABLE_CPU_FEATURES, seeds 0-9, 42, 123) the trained parameters differ by at most
# 2 ulps of 1.0 (8 ulps of a parameter below 0.5) and the logged losses by at most 0.5 ulp
# of 1.0. Parameters, outputs and targets are of order 1, so errors are counted in ulps of
# 1.0 below it; 4 leaves a factor 2 for other C libraries.
GOLDEN_ULPS = 4


def _original_path():
    """``original_network.py`` from ``$VECNET_SEED_DIR`` or ``../shared/seed/``; skip if absent."""
    chosen = os.environ.get(SEED_DIR_VAR)
    folder = pathlib.Path(chosen) if chosen else SEED_DIR
    path = folder / "original_network.py"
    if path.is_file():
        return path
    if chosen:  # asked for explicitly: a wrong folder is an error, not a reason to skip
        pytest.fail(f"{SEED_DIR_VAR}={chosen!r} holds no original_network.py")
    pytest.skip(f"the original is not at hand (no {path}); put the seed folder beside the checkout "
                f"or set {SEED_DIR_VAR} to run the reference against it live")


@pytest.fixture
def original():
    return _original_path()


def _golden(seed):
    return json.loads((GOLDEN / f"original_seed{seed}.json").read_text())


def _hex(params):
    return {n: float(params[n]).hex() for n in PARAM_NAMES}


def _pairs(values):
    """``{name: hex}`` or a log ``[[epoch, hex], ...]`` as ``[(label, float), ...]``."""
    if isinstance(values, dict):
        return [(k, float.fromhex(h)) for k, h in values.items()]
    return [(f"log[{i}] (epoch {epoch})", float.fromhex(h)) for i, (epoch, h) in enumerate(values)]


def _far_from(actual, expected, n=GOLDEN_ULPS):
    """The entries of ``actual`` more than ``n`` ulps (see within_ulps) from ``expected``."""
    actual, expected = _pairs(actual), _pairs(expected)
    assert [k for k, _ in actual] == [k for k, _ in expected]
    return [(k, a, e, f"{ulp_distance(a, e)} ulps") for (k, a), (_, e) in zip(actual, expected)
            if not within_ulps(a, e, n)]


# -- the original, live ------------------------------------------------------------------------

@pytest.mark.parametrize("seed", LIVE_SEEDS)
def test_training_matches_the_live_original_bit_for_bit(original, seed):
    ner, drawn, printed = run_original(original, seed)
    numpy.random.seed(seed)
    ref = ReferenceNetwork()
    assert _hex(ref.params()) == _hex(drawn)
    log = ref.train(DATA, Y)
    assert _hex(ref.params()) == _hex(vars(ner))
    assert [[e.epoch, float(e.loss).hex()] for e in log] == parse_log(printed)


def test_verbose_prints_what_the_live_original_prints(original, capsys):
    _, _, printed = run_original(original, 0)
    numpy.random.seed(0)
    ReferenceNetwork().train(DATA, Y, verbose=True)
    assert capsys.readouterr().out == printed


@pytest.mark.parametrize("seed", SEEDS)
def test_golden_data_is_what_the_original_records(original, seed):
    """Bit for bit where numpy and its SIMD dispatch are those the file was made with,
    within GOLDEN_ULPS elsewhere."""
    golden = _golden(seed)
    ner, drawn, printed = run_original(original, seed)
    live = {"initial": _hex(drawn), "final": _hex(vars(ner)), "logged": parse_log(printed)}
    here, there = recorded_with(), golden["recorded_with"]
    if (here["numpy"], here["simd"]) == (there["numpy"], there["simd"]):
        assert live == {k: golden[k] for k in live}
    else:
        assert live["initial"] == golden["initial"]
        assert _far_from(live["final"], golden["final"]) == []
        assert _far_from(live["logged"], golden["logged"]) == []


# -- the golden data, on any machine -----------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_golden_files_say_where_they_were_made(seed):
    golden = _golden(seed)
    assert golden["seed"] == seed
    made = golden["recorded_with"]
    assert set(made) == {"numpy", "simd", "machine", "python"}
    assert made["numpy"].split(".")[0].isdigit()
    assert set(made["simd"]) == {"baseline", "dispatched", "not_dispatched"}
    assert all(isinstance(f, str) for group in made["simd"].values() for f in group)
    assert len(golden["initial"]) == len(golden["final"]) == 9
    assert len(golden["logged"]) == 400  # every 10th of 1000 epochs, once per sample


@pytest.mark.parametrize("seed", SEEDS)
def test_initial_draws_match_the_golden_data(seed):
    # Exact on any machine: numpy's legacy global generator (RandomState) is a frozen stream.
    numpy.random.seed(seed)
    assert _hex(ReferenceNetwork().params()) == _golden(seed)["initial"]


@pytest.mark.parametrize("seed", SEEDS)
def test_training_matches_the_golden_data_within_a_few_ulps(seed):
    golden = _golden(seed)
    numpy.random.seed(seed)
    ref = ReferenceNetwork()
    log = ref.train(DATA, Y)
    logged = [[e.epoch, float(e.loss).hex()] for e in log]
    assert [e for e, _ in logged] == [e for e, _ in golden["logged"]]
    where = f"golden data made with {golden['recorded_with']}, here {recorded_with()}"
    assert _far_from(_hex(ref.params()), golden["final"]) == [], where
    assert _far_from(logged, golden["logged"]) == [], where


def test_verbose_prints_each_logged_loss_as_the_original_does(capsys):
    golden = _golden(0)
    numpy.random.seed(0)
    log = ReferenceNetwork().train(DATA, Y, epochs=11, verbose=True)
    printed = parse_log(capsys.readouterr().out)  # "epoch loss" lines, as print(i, loss) writes them
    assert printed == [[e.epoch, float(e.loss).hex()] for e in log]
    assert _far_from(printed, golden["logged"][:8]) == []  # epochs 0 and 10, four samples each


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
