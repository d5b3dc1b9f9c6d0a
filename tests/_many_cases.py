"""Many-model problems and their solo runs, for tests/test_many_numba.py (also imported by its
``NUMBA_DISABLE_JIT=1`` subprocess).

A case is ``K`` models of one architecture with their own weights, optimizer (per-model ``lr``,
``l2``), optimizer state and (optionally) their own sample orders. :func:`mismatches` runs them
through the Numba engine's ``run_many`` and each model alone through ``run_epochs`` (the solo
compiled kernel, an independent computation of the same model), and lists every difference.
"""

import numpy as np

import vecnet
from vecnet.engines import ENGINES
from vecnet.optimizers import OptimizerState


def make_case(sizes, activation, output, loss, optimizers, n=23, n_orders=2, per_model_orders=True,
              batch_size=1, epochs=3, inactive=(), seed=0, dtype=np.float64):
    """The arguments of ``run_many`` for ``len(optimizers)`` models (random weights, state, data)."""
    rng = np.random.default_rng(seed)
    k = len(optimizers)
    net = vecnet.Network(sizes, activation=activation, output_activation=output, loss=loss, seed=seed, dtype=dtype)
    X = rng.normal(size=(n, sizes[0]))
    if loss == "cce":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=n)]
    elif loss == "bce":
        Y = (rng.random((n, sizes[-1])) < 0.5).astype(float)
    else:
        Y = rng.normal(size=(n, sizes[-1]))
    thetas = np.stack([vecnet.Network(sizes, activation=activation, output_activation=output, loss=loss,
                                      seed=seed + 1 + i, dtype=dtype).theta for i in range(k)])
    orders = np.stack([[rng.permutation(n) for _ in range(n_orders)]
                       for _ in range(k if per_model_orders else 1)]).astype(np.int64)
    X, Y = X.astype(dtype), Y.astype(dtype)
    memory = (np.abs(rng.normal(size=(k, 2, net.n_params))) * 0.01).astype(dtype)  # a state from before
    steps = (3 * np.arange(k, dtype=np.int64)).reshape(k, 1)
    active = np.ones(k, dtype=bool)
    active[list(inactive)] = False
    return dict(net=net, thetas=thetas, X=X, Y=Y, orders=orders, epochs=epochs, batch_size=batch_size,
                optimizers=list(optimizers), memory=memory, steps=steps, active=active)


def solo(case, k):
    """Model ``k`` trained alone by the solo kernel: ``(theta, memory, steps, losses)``."""
    net = case["net"].copy()
    net.theta[...] = case["thetas"][k]
    state = OptimizerState.zeros(net.n_params, net.dtype)
    state.memory[...], state.steps[...] = case["memory"][k], case["steps"][k]
    orders = case["orders"][k % len(case["orders"])]
    losses = ENGINES["numba"].run_epochs(net, case["X"], case["Y"], orders, case["epochs"], case["batch_size"],
                                         case["optimizers"][k], state)
    return net.theta, state.memory, state.steps, losses


def many(case, side=None):
    """All models through ``run_many`` (``side``: None the engine's own choice, else forced);
    ``(thetas, memory, steps, losses, done)`` on copies of the case's arrays."""
    thetas, memory, steps = case["thetas"].copy(), case["memory"].copy(), case["steps"].copy()
    args = (case["net"], thetas, case["X"], case["Y"], case["orders"], case["epochs"], case["batch_size"],
            case["optimizers"], memory, steps, case["active"])
    if side is None:
        losses, done = ENGINES["numba"].run_many(*args)
    else:
        from vecnet.engines import _many_train
        losses, done = _many_train.train_many(*args, side=side)
    return thetas, memory, steps, losses, done


def mismatches(case, result):
    """Every way the ``many`` ``result`` differs from the models' solo runs (bit for bit)."""
    thetas, memory, steps, losses, done = result
    out = []
    for k in range(len(thetas)):
        if not case["active"][k]:
            if not (np.array_equal(thetas[k], case["thetas"][k]) and np.array_equal(memory[k], case["memory"][k])
                    and np.array_equal(steps[k], case["steps"][k]) and done[k] == 0):
                out.append(f"model {k} (inactive) was changed")
            continue
        theta, mem, st, ls = solo(case, k)
        for name, a, b in (("theta", thetas[k], theta), ("memory", memory[k], mem), ("steps", steps[k], st)):
            if a.tobytes() != b.tobytes():
                out.append(f"model {k}: {name} differs from its solo run")
        if done[k] != len(ls) or losses[k, :done[k]].tobytes() != np.array(ls, dtype=np.float64).tobytes():
            out.append(f"model {k}: losses {losses[k, :done[k]].tolist()} vs solo {ls}")
    return out


def fingerprint(result):
    """The result's bits, as JSON-friendly hex strings."""
    return [a.tobytes().hex() for a in result]
