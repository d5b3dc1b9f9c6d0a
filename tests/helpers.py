"""What the tests share: the comparison helpers, ulp distances and the engines under test.

Tests that run "every engine" take their names from the registry
(:data:`vecnet.engines.ENGINES`), so an engine is tested the moment it is
registered: :data:`GENERAL_ENGINES` run any network; :data:`CHALLENGERS` are
those compared with the NumPy engine, :data:`BASELINE`.
"""

import itertools
import math
import struct

import numpy as np

from vecnet.engines import ENGINES

GENERAL_ENGINES = [name for name, engine in ENGINES.items() if engine.general]
"""Registered engines that run any network, optimizer and data."""
BASELINE = "numpy"
"""The engine the others are compared with: batch matrix products, no compiled code."""
CHALLENGERS = [name for name in GENERAL_ENGINES if name != BASELINE]


def assert_params_close(net, expected_theta, atol, label=""):
    """Every parameter of ``net`` within ``atol`` of ``expected_theta`` (flat, same layout)."""
    diff = np.abs(net.theta.astype(np.float64) - np.asarray(expected_theta, dtype=np.float64))
    worst = int(np.argmax(diff))
    assert diff[worst] <= atol, (
        f"{label}: parameter {worst} differs by {diff[worst]:.3g} (> {atol:g}): "
        f"{net.theta[worst]!r} vs {expected_theta[worst]!r}")
    return float(diff.max())


def assert_engines_agree(net, X, Y, engine, atol=1e-10, label="", **fit):
    """Train copies of ``net`` with :data:`BASELINE` and ``engine``; same weights and losses.

    Returns the two trained copies (baseline first).
    """
    a, b = net.copy(), net.copy()
    ha = a.fit(X, Y, engine=BASELINE, **fit)
    hb = b.fit(X, Y, engine=engine, **fit)
    assert_params_close(b, a.theta, atol, f"{engine} vs {BASELINE} {label}")
    np.testing.assert_allclose(hb.loss, ha.loss, rtol=atol, atol=atol * 1e-2)
    return a, b


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


def _ordered(x):
    """``x``'s bits as an integer that counts float64 values in order (-0.0 and +0.0 both 0)."""
    (bits,) = struct.unpack("<q", struct.pack("<d", float(x)))
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def ulp_distance(a, b):
    """How many float64 steps apart ``a`` and ``b`` are: 0 when equal, 1 for neighbours."""
    if math.isnan(a) or math.isnan(b):
        raise ValueError(f"ulp_distance of NaN: {a!r}, {b!r}")
    return abs(_ordered(a) - _ordered(b))


def within_ulps(actual, expected, n, floor=1.0):
    """``actual`` within ``n`` ulps of ``expected``, counting ulps of ``floor`` for smaller values.

    A quantity far below ``floor`` in magnitude that comes from terms of size ``floor``
    (a small loss from outputs and targets in [0, 1]) carries their rounding errors, not
    errors relative to itself; ``floor=0`` counts plain ulps.
    """
    return ulp_distance(actual, expected) <= n or abs(actual - expected) <= n * math.ulp(floor)


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


def engine_cases(*axes):
    """``(*values, engine)`` tuples for a test over ``axes`` and the engines.

    :data:`BASELINE` runs the whole cross-product of ``axes``; every other engine
    (:data:`CHALLENGERS`) a covering set, each value of each axis at least once: a
    compiled engine builds one kernel per configuration, seconds each.
    """
    axes = [list(axis) for axis in axes]
    product = list(itertools.product(*axes))
    covering = [tuple(axis[i % len(axis)] for axis in axes) for i in range(max(map(len, axes)))]
    return ([(*case, BASELINE) for case in product]
            + [(*case, engine) for engine in CHALLENGERS for case in covering])
