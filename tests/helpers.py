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
