"""The Numba engine's ``run_many``: every model bit-identical to its solo compiled run.

Each compiled kernel costs seconds to build, so only three many-model kernels are compiled
here (the ``[param, model]`` kernel and the ``prange`` kernel on one per-sample SGD case, the
``prange`` kernel on one batch momentum/softmax case); the broad cross-product of activations,
losses, optimizers and batch sizes runs in the kernels' Python twin (``NUMBA_DISABLE_JIT=1``,
bit-identical to the compiled kernels, as the first test here checks), in a subprocess.
"""

import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from _many_cases import fingerprint, make_case, many, mismatches

import vecnet
from vecnet.engines import ENGINES
from vecnet.engines._kernel_config import kernel_settings

ROOT = os.path.dirname(os.path.dirname(vecnet.__file__))
TESTS = os.path.dirname(__file__)


def side_case():
    """Per-sample plain SGD, 20 models with their own rates and orders; model 3 diverges, 5 rests."""
    lrs = np.random.default_rng(1).uniform(0.01, 0.2, size=20)
    lrs[3] = 1e9
    return make_case([2, 3, 1], "tanh", "identity", "mse", [vecnet.SGD(lr=float(v)) for v in lrs], n=15,
                     epochs=3, inactive=[5])


def batch_case():
    """Nesterov momentum with per-model l2, softmax/cce, batches of 5 over 23 rows (last one 3)."""
    return make_case([3, 4, 3], "relu", "softmax", "cce",
                     [vecnet.SGD(lr=0.05 * (i + 1), momentum=0.9, nesterov=True, l2=1e-3 * (i + 1))
                      for i in range(4)], n=23, n_orders=3, per_model_orders=False, batch_size=5)


TWIN_SCRIPT = """
import json, sys
import numpy as np
import vecnet
sys.path.insert(0, {tests!r})
from _many_cases import fingerprint, make_case, many, mismatches
from test_many_numba import side_case, TWIN_NETS, TWIN_OPTIMIZERS

case = side_case()
out = {{"side": fingerprint(many(case, side=True)), "generic": fingerprint(many(case, side=False)),
        "mismatches": []}}
i = 0
for sizes, act, output, loss in TWIN_NETS:
    for name, make in TWIN_OPTIMIZERS.items():
        for batch in (1, 4, 9):
            i += 1
            c = make_case(sizes, act, output, loss, [make(j) for j in range(3)], n=9, epochs=2,
                          batch_size=batch, per_model_orders=i % 2 == 0, inactive=[1] if i % 3 == 0 else [],
                          seed=i, dtype=np.float32 if i % 17 == 0 else np.float64)
            for side in (True, False):
                bad = mismatches(c, many(c, side=side))
                out["mismatches"] += [f"{{sizes}} {{act}}/{{output}}/{{loss}} {{name}} batch {{batch}} "
                                      f"side={{side}}: {{m}}" for m in bad]
            out["cases"] = i
print(json.dumps(out))
"""

TWIN_NETS = [([2, 3, 1], "sigmoid", "sigmoid", "mse"), ([2, 3, 2], "tanh", "identity", "mse"),
             ([2, 4, 1], "relu", "tanh", "mse"), ([2, 2, 1], "identity", "relu", "mse"),
             ([2, 3, 2], "tanh", "sigmoid", "bce"), ([2, 3, 3], "relu", "softmax", "cce"),
             ([2, 4, 3, 1], "sigmoid", "sigmoid", "mse")]
TWIN_OPTIMIZERS = {
    "sgd": lambda j: vecnet.SGD(lr=0.1 + 0.05 * j),
    "sgd, l2 on some": lambda j: vecnet.SGD(lr=0.1, l2=0.01 * (j % 2)),
    "momentum": lambda j: vecnet.SGD(lr=0.05 * (j + 1), momentum=0.9),
    "nesterov, l2": lambda j: vecnet.SGD(lr=0.05, momentum=0.5, nesterov=True, l2=1e-3 * (j + 1)),
    "adam, l2 on some": lambda j: vecnet.Adam(lr=0.01 * (j + 1), l2=1e-3 * (j % 2)),
    "invscaling": lambda j: vecnet.SGD(lr=0.2 + 0.1 * j, schedule="invscaling", power_t=0.5),
}


@pytest.fixture(scope="module")
def twin():
    """The twin subprocess's results (run once for the module)."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", TWIN_SCRIPT.format(tests=TESTS)], env=env, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="compares the compiled kernels with their twin")
def test_both_compiled_kernels_and_their_python_twin_give_the_same_bits(twin):
    case = side_case()
    assert fingerprint(many(case, side=True)) == twin["side"]
    assert fingerprint(many(case, side=False)) == twin["generic"]


def test_twin_cross_product_every_model_matches_its_solo_run(twin):
    assert twin["cases"] == len(TWIN_NETS) * len(TWIN_OPTIMIZERS) * 3
    assert twin["mismatches"] == []


@pytest.mark.parametrize("side", [True, False], ids=["param-model kernel", "prange kernel"])
def test_per_sample_sgd_every_model_matches_its_solo_run(side):
    case = side_case()
    result = many(case, side=side)
    assert mismatches(case, result) == []
    done = result[-1]
    assert done[3] < case["epochs"]   # the diverging model stopped alone ...
    assert done[5] == 0               # ... the inactive one never ran ...
    assert (np.delete(done, [3, 5]) == case["epochs"]).all()   # ... and the others went on


def test_batch_momentum_softmax_every_model_matches_its_solo_run():
    case = batch_case()
    assert mismatches(case, many(case)) == []


@pytest.mark.skipif(numba.config.DISABLE_JIT or numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
@pytest.mark.parametrize("make, side", [(side_case, True), (side_case, False), (batch_case, None)])
def test_one_thread_and_two_give_the_same_bits(make, side):
    case = make()
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fingerprint(many(case, side=side))
        numba.set_num_threads(2)
        two = fingerprint(many(case, side=side))
    finally:
        numba.set_num_threads(before)
    assert one == two


def test_the_engine_picks_the_param_model_kernel_only_where_it_applies():
    from vecnet.engines._many_kernels import side_by_side

    def config(batch=1, dtype=np.float64, output="sigmoid", loss="mse", **opt):
        net = vecnet.Network([2, 2, 1], output_activation=output, loss=loss, dtype=dtype)
        return kernel_settings(net, vecnet.SGD(**opt), batch)[0]

    assert side_by_side(config())
    assert side_by_side(config(l2=0.1))
    assert side_by_side(config(loss="bce"))
    assert not side_by_side(config(batch=2))
    assert not side_by_side(config(momentum=0.9))
    assert not side_by_side(config(schedule="invscaling"))
    assert not side_by_side(config(dtype=np.float32))


def _bad(case, **changes):
    args = dict(case)
    args.update(changes)
    return args


@pytest.mark.parametrize("name, change, message", [
    ("thetas", lambda c: c["thetas"][:, :-1], "thetas must be"),
    ("thetas", lambda c: c["thetas"].astype(np.float32), "thetas must be"),
    ("thetas", lambda c: np.asfortranarray(c["thetas"]), "thetas must be"),
    ("memory", lambda c: c["memory"][:2], "optimizer memory must be"),
    ("steps", lambda c: c["steps"].astype(np.int32), "optimizer steps must be"),
    ("active", lambda c: c["active"].astype(np.int64), "active must be"),
    ("orders", lambda c: c["orders"][0], "orders must be"),
    ("orders", lambda c: c["orders"][:2], "orders must be"),
    ("orders", lambda c: c["orders"] + 1, "outside"),
    ("orders", lambda c: c["orders"].astype(np.int32), "orders must be"),
    ("epochs", lambda c: -1, "epochs must be"),
    ("batch_size", lambda c: 0, "batch_size must be"),
    ("optimizers", lambda c: c["optimizers"][:-1], "optimizers"),
    ("optimizers", lambda c: None, "optimizers"),
    ("optimizers", lambda c: c["optimizers"][:-1] + [vecnet.Adam()], "differ only in lr and l2"),
    ("optimizers", lambda c: c["optimizers"][:-1] + [vecnet.SGD(momentum=0.5)], "differ only in lr and l2"),
])
def test_bad_inputs_raise_a_clear_error_before_any_kernel_runs(name, change, message):
    case = make_case([2, 3, 1], "sigmoid", "sigmoid", "mse", [vecnet.SGD(lr=0.1)] * 3, n=6)
    with pytest.raises(ValueError, match=message):
        ENGINES["numba"].run_many(**_bad(case, **{name: change(case)}))


CACHE_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import vecnet
from _many_cases import make_case, many
from vecnet.engines import _many_kernels
from vecnet.engines._kernel_config import kernel_settings

case = make_case([2, 2, 1], "sigmoid", "sigmoid", "mse", [vecnet.SGD(lr=0.1)] * 3, n=8, epochs=1)
many(case)
kernel = _many_kernels.build_side_kernel(kernel_settings(case["net"], vecnet.SGD(), 1)[0])
print(json.dumps([sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values())]))
"""


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled or cached")
def test_a_second_process_loads_the_many_kernel_from_the_disk_cache(tmp_path):
    def run():
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
        out = subprocess.run([sys.executable, "-c", CACHE_SCRIPT.format(tests=TESTS)], env=env,
                             capture_output=True, text=True, check=True, cwd=ROOT)
        return json.loads(out.stdout)

    assert run() == [0, 1]     # compiled and saved
    assert run() == [1, 0]     # loaded: no recompile


def test_zero_epochs_changes_nothing_and_gets_the_kernel_ready():
    case = dict(side_case(), epochs=0)
    thetas, memory, steps, losses, done = many(case)
    assert losses.shape == (20, 0) and (done == 0).all()
    assert np.array_equal(thetas, case["thetas"]) and np.array_equal(steps, case["steps"])
    if not numba.config.DISABLE_JIT:   # the warm-up call of fit_many compiled (or loaded) the kernel
        from vecnet.engines._many_kernels import build_side_kernel
        assert build_side_kernel(kernel_settings(case["net"], case["optimizers"][0], 1)[0]).signatures
