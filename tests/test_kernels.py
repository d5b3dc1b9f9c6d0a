"""The compiled kernel against its own Python twin, and every kernel path once.

CI runs this file a second time with NUMBA_BOUNDSCHECK=1, so every path here is
also checked for out-of-bounds indexing.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import vecnet
from helpers import assert_params_close
from vecnet.activations import ACTIVATIONS
from vecnet.losses import LOSSES

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

    print(json.dumps({"article": [float(v).hex() for v in article()],
                      "deep": [float(v).hex() for v in deep()]}))
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


PAIRS = [(loss, out) for loss in LOSSES for out in ACTIVATIONS
         if LOSSES[loss].requires_output in (None, out)]
OPTIMIZERS = [vecnet.SGD(lr=0.05), vecnet.SGD(lr=0.05, momentum=0.9),
              vecnet.SGD(lr=0.05, momentum=0.9, nesterov=True, l2=0.01),
              vecnet.SGD(lr=0.2, schedule="invscaling", power_t=0.3), vecnet.Adam(lr=0.01, l2=0.01)]


@pytest.mark.parametrize("hidden", [n for n, a in ACTIVATIONS.items() if not a.output_only])
@pytest.mark.parametrize("loss,output", PAIRS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
def test_every_kernel_path_matches_the_numpy_engine(hidden, loss, output, optimizer):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(13, 4))
    Y = (np.eye(3)[rng.integers(0, 3, 13)] if loss == "cce"
         else rng.integers(0, 2, (13, 3)).astype(float))
    kwargs = dict(activation=hidden, output_activation=output, loss=loss, init="he", seed=3)
    a, b = vecnet.Network([4, 6, 3], **kwargs), vecnet.Network([4, 6, 3], **kwargs)
    a.fit(X, Y, epochs=3, batch_size=5, optimizer=optimizer, engine="numpy")
    b.fit(X, Y, epochs=3, batch_size=5, optimizer=optimizer, engine="numba")
    assert_params_close(b, a.theta, 1e-10, f"{hidden}/{output}/{loss}/{optimizer}")
