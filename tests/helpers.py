"""The one comparison helper the equivalence tests share."""

import numpy as np


def assert_params_close(net, expected_theta, atol, label=""):
    """Every parameter of ``net`` within ``atol`` of ``expected_theta`` (flat, same layout)."""
    diff = np.abs(net.theta.astype(np.float64) - np.asarray(expected_theta, dtype=np.float64))
    worst = int(np.argmax(diff))
    assert diff[worst] <= atol, (
        f"{label}: parameter {worst} differs by {diff[worst]:.3g} (> {atol:g}): "
        f"{net.theta[worst]!r} vs {expected_theta[worst]!r}")
    return float(diff.max())


def finite_difference(net, X, Y, h=1e-6):
    """Central differences of ``net``'s loss on ``X``, ``Y`` over every parameter (flat)."""
    grad = np.empty_like(net.theta)
    for p in range(net.n_params):
        keep = net.theta[p]
        net.theta[p] = keep + h
        up = net.loss_value(X, Y)
        net.theta[p] = keep - h
        down = net.loss_value(X, Y)
        net.theta[p] = keep
        grad[p] = (up - down) / (2 * h)
    return grad


def spy_engine(monkeypatch, name, record):
    """Replace registered engine ``name`` by a wrapper calling ``record(args)`` before each run.

    ``args`` are ``run_epochs``'s: ``(net, X, Y, orders, epochs, batch_size, optimizer, state)``.
    """
    from vecnet import engines

    real = engines.ENGINES[name]

    class Spy(type(real)):
        def run_epochs(self, *args):
            record(args)
            return real.run_epochs(*args)

    monkeypatch.setitem(engines.ENGINES, name, Spy())
