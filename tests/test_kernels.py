"""The compiled kernel against its own Python twin, and every kernel path once.

CI runs this file a second time with NUMBA_BOUNDSCHECK=1, so every path here is
also checked for out-of-bounds indexing.
"""

import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import vecnet
from vecnet.activations import ACTIVATIONS
from vecnet.engines import _kernels
from vecnet.losses import LOSSES
from vecnet.optimizers import OptimizerState

TWIN_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import vecnet
    from vecnet.reference import ReferenceNetwork

    def article():
        X, y = vecnet.article_data()
        np.random.seed(0)
        net = vecnet.from_reference(ReferenceNetwork())
        net.fit(X, y, epochs=200, batch_size=1, engine="numba")
        return net.theta

    def deep():
        rng = np.random.default_rng(5)
        X = rng.normal(size=(23, 3))
        Y = np.eye(2)[rng.integers(0, 2, 23)]
        net = vecnet.Network([3, 5, 4, 2], activation="tanh", output_activation="softmax",
                             loss="cce", init="glorot", seed=6)
        net.fit(X, Y, epochs=4, batch_size=5, engine="numba", shuffle=True, seed=1,
                optimizer=vecnet.Adam(lr=0.01, l2=1e-3))
        return net.theta

    def narrow():
        # one output: the batch kernels' one-column dW path; odd batch and input counts: the
        # paths for a last row and a last input left over from the pairs
        rng = np.random.default_rng(7)
        X = rng.normal(size=(31, 5))
        Y = rng.integers(0, 2, (31, 1)).astype(float)
        net = vecnet.Network([5, 7, 1], activation="tanh", output_activation="sigmoid", loss="bce",
                             init="glorot", seed=8)
        net.fit(X, Y, epochs=3, batch_size=9, engine="numba", shuffle=True, seed=2,
                optimizer=vecnet.SGD(lr=0.1, momentum=0.5))
        return net.theta

    print(json.dumps({"article": [float(v).hex() for v in article()],
                      "deep": [float(v).hex() for v in deep()],
                      "narrow": [float(v).hex() for v in narrow()]}))
""")


def _run_twin(disable_jit):
    env = dict(os.environ, NUMBA_DISABLE_JIT="1" if disable_jit else "0")
    out = subprocess.run([sys.executable, "-c", TWIN_SCRIPT], env=env, capture_output=True,
                         text=True, check=True, cwd=os.path.dirname(os.path.dirname(vecnet.__file__)))
    return json.loads(out.stdout)


def test_kernel_and_its_python_twin_give_bit_identical_parameters():
    jit = _run_twin(disable_jit=False)
    twin = _run_twin(disable_jit=True)
    assert jit["article"] == twin["article"]
    assert jit["deep"] == twin["deep"]
    assert jit["narrow"] == twin["narrow"]


PAIRS = [(loss, out) for loss in LOSSES for out in ACTIVATIONS
         if LOSSES[loss].requires_output in (None, out)]
HIDDEN = [n for n, a in ACTIVATIONS.items() if not a.output_only]
OPTIMIZERS = ["vecnet.SGD(lr=0.05)", "vecnet.SGD(lr=0.05, momentum=0.9)",
              "vecnet.SGD(lr=0.05, momentum=0.9, nesterov=True, l2=0.01)",
              "vecnet.SGD(lr=0.2, schedule='invscaling', power_t=0.3)", "vecnet.Adam(lr=0.01, l2=0.01)"]

PATH_SCRIPT = textwrap.dedent("""
    import numpy as np
    import vecnet

    def path_difference(hidden, loss, output, optimizer, batch_size):
        \"\"\"Largest parameter difference between the numba and numpy engines on one kernel path.\"\"\"
        rng = np.random.default_rng(2)
        X = rng.normal(size=(13, 4))
        Y = (np.eye(3)[rng.integers(0, 3, 13)] if loss == "cce"
             else rng.integers(0, 2, (13, 3)).astype(float))
        kwargs = dict(activation=hidden, output_activation=output, loss=loss, init="he", seed=3)
        a, b = vecnet.Network([4, 6, 3], **kwargs), vecnet.Network([4, 6, 3], **kwargs)
        fit = dict(epochs=3, batch_size=batch_size, optimizer=eval(optimizer))
        a.fit(X, Y, engine="numpy", **fit)
        b.fit(X, Y, engine="numba", **fit)
        return float(np.abs(a.theta - b.theta).max())
""")


def _path_difference(*args):
    namespace = {}
    exec(PATH_SCRIPT, namespace)
    return namespace["path_difference"](*args)


def test_every_kernel_path_of_the_python_twin_matches_the_numpy_engine():
    """Every activation x loss/output x optimizer x (per-sample, batch), through the kernels' Python
    twin (``NUMBA_DISABLE_JIT=1``, bit-identical to the compiled kernels): compiling them all would
    take one kernel each."""
    cases = [(h, loss, out, opt, b) for h in HIDDEN for loss, out in PAIRS for opt in OPTIMIZERS
             for b in (1, 5)]
    script = PATH_SCRIPT + textwrap.dedent(f"""
        import json
        print(json.dumps([path_difference(*case) for case in {cases!r}]))
    """)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(vecnet.__file__)))
    differences = json.loads(out.stdout)
    assert len(differences) == len(cases) == len(HIDDEN) * len(PAIRS) * len(OPTIMIZERS) * 2
    worst = {case: d for case, d in zip(cases, differences) if not d <= 1e-10}
    assert not worst


COMPILED = [  # a representative set: every activation as hidden and as output, every loss,
    # every optimizer piece, per sample and in batches, each compiled at least once
    ("sigmoid", "mse", "identity", OPTIMIZERS[0], 5),
    ("tanh", "bce", "sigmoid", OPTIMIZERS[1], 5),
    ("relu", "cce", "softmax", OPTIMIZERS[4], 5),
    ("identity", "mse", "tanh", OPTIMIZERS[2], 1),
    ("sigmoid", "mse", "relu", OPTIMIZERS[3], 5),
    ("tanh", "mse", "softmax", OPTIMIZERS[4], 1),
    ("relu", "mse", "sigmoid", OPTIMIZERS[0], 1),
]


@pytest.mark.parametrize("hidden, loss, output, optimizer, batch_size", COMPILED)
def test_compiled_kernel_paths_match_the_numpy_engine(hidden, loss, output, optimizer, batch_size):
    assert _path_difference(hidden, loss, output, optimizer, batch_size) <= 1e-10


def test_the_representative_set_covers_every_piece():
    assert {c[0] for c in COMPILED} == set(HIDDEN)
    assert {c[2] for c in COMPILED} == set(ACTIVATIONS)
    assert {c[1] for c in COMPILED} == set(LOSSES)
    assert {c[3] for c in COMPILED} == set(OPTIMIZERS)
    assert {c[4] for c in COMPILED} == {1, 5}


CACHE_SCRIPT = textwrap.dedent("""
    import json
    import vecnet
    from vecnet.engines import _kernels
    from vecnet.engines._kernel_config import kernel_settings

    X, y = vecnet.article_data()
    net = vecnet.Network([2, 2, 1], seed=0)
    net.fit(X, y, epochs=2, batch_size=1, engine="numba")
    kernel = _kernels.build_kernel(kernel_settings(net, vecnet.SGD(), 1)[0])
    print(json.dumps([sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values())]))
""")


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled or cached")
def test_a_second_process_loads_the_kernel_from_the_disk_cache(tmp_path):
    def run():
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
        out = subprocess.run([sys.executable, "-c", CACHE_SCRIPT], env=env, capture_output=True,
                             text=True, check=True, cwd=os.path.dirname(os.path.dirname(vecnet.__file__)))
        return json.loads(out.stdout)

    assert run() == [0, 1]     # compiled and saved
    assert run() == [1, 0]     # loaded: no recompile


def test_importing_vecnet_or_training_with_numpy_does_not_import_numba():
    script = ("import sys, vecnet\n"
              "assert 'numba' not in sys.modules\n"
              "X, y = vecnet.article_data()\n"
              "vecnet.Network([2, 2, 1], seed=0).fit(X, y, epochs=2, engine='numpy')\n"
              "assert 'numba' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", script], check=True,
                   cwd=os.path.dirname(os.path.dirname(vecnet.__file__)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes, batch", [([2, 2, 1], 1), ([3, 5, 2], 7), ([10, 32, 32, 1], 32)])
def test_the_kernel_workspace_starts_on_cache_lines(sizes, batch, dtype):
    net = vecnet.Network(sizes, seed=0, dtype=dtype)
    state = OptimizerState.zeros(net.n_params, dtype)
    lay = net.layout().astype(np.uint64)
    offs, work = _kernels.workspace(lay, batch, net.theta, state)
    A, D, Z, WT, grad = work[:5]
    for a in (A, D, Z, WT, grad):
        assert a.ctypes.data % 64 == 0
        assert a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
        assert not a.any()
    assert A.size == D.size == int(offs[-1]) == batch * sum(sizes)
    assert Z.size == batch * sizes[-1] and grad.size == net.theta.size
    # views of one allocation: no two overlap, and the offsets are the layers' running sums
    for i, a in enumerate(work[:5]):
        assert not any(np.shares_memory(a, b) for b in work[i + 1:])
    assert offs.tolist() == [0] + np.cumsum([batch * s for s in sizes]).tolist()


@pytest.mark.fixed_shapes   # vecnet's own rule for kernels built per shape (see conftest.py)
def test_kernel_settings_follow_the_network_and_optimizer_of_each_call(monkeypatch):
    from vecnet.codes import ADAM, SGD
    from vecnet.engines import _kernel_config
    from vecnet.engines._kernel_config import Hyper, kernel_settings

    net = vecnet.Network([3, 4, 2], activation="tanh", output_activation="softmax", loss="cce", seed=0)
    optimizers = [vecnet.SGD(lr=0.1), vecnet.SGD(lr=0.2, momentum=0.5, nesterov=True), vecnet.SGD(lr=0.1, l2=1e-3),
                  vecnet.Adam(lr=0.01, beta1=0.8, power_t=0.25, schedule="invscaling")]
    for optimizer in optimizers * 2:   # the second round asks again: the same answers
        config, hyper = kernel_settings(net, optimizer, 1)
        s = optimizer.kernel_settings()
        assert hyper == tuple(float(s[name]) for name in Hyper._fields)
        assert config.optimizer == (ADAM if isinstance(optimizer, vecnet.Adam) else SGD)
        assert config.momentum == (s["momentum"] != 0.0 and config.optimizer == SGD)
        assert config.l2 == (s["l2"] != 0.0) and config.per_sample and config.dtype == "float64"
        assert config.hidden == ACTIVATIONS["tanh"].code and config.output == ACTIVATIONS["softmax"].code
    assert kernel_settings(net, optimizers[0], 7)[0].per_sample is False
    net.activation = "relu"   # a changed network gets its own settings, not the ones of before
    assert kernel_settings(net, optimizers[0], 1)[0].hidden == ACTIVATIONS["relu"].code
    assert kernel_settings(net, optimizers[0], 1)[0].shape == (3, 4, 2)
    monkeypatch.setattr(_kernel_config, "FIXED_MAX_PARAMS", 0)   # as test_fixed_kernels.py does
    assert kernel_settings(net, optimizers[0], 1)[0].shape == ()
