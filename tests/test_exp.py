"""vecnet's own exp (``vecnet.engines._exp.exp``) against ``np.exp`` and against exact values.

Ulps are counted as the distance between bit patterns (``int64`` views of
non-negative doubles), which is the number of representable doubles between two
results: the same measure for normal and subnormal results, 0 and inf included.
``np.exp`` itself may differ by an ulp between CPUs (it picks a SIMD path per
CPU), so the tests hold our exp within 2 ulp of it, never equal to it.
"""

import os
import platform
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit

import vecnet
from vecnet.engines import _exp, _kernel_pieces
from vecnet.engines._exp import exp

TINY = np.finfo(np.float64).tiny
LOG_MAX = 709.782712893384           # the double nearest log(DBL_MAX); exp of it is finite
LOG_HALF_MIN = -745.1332191019411    # the double nearest log(2**-1075); exp rounds to 0 below


@njit(error_model="numpy")
def _apply(x, out):
    """``out[i] = exp(x[i])``, compiled as the kernels are (it converts to ``out``'s dtype on store)."""
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


def _exp_array(x, dtype=np.float64):
    out = np.empty(x.shape, dtype=dtype)
    _apply(x, out)
    return out


def _ulps(a, b):
    """Bit-pattern distance of two arrays of non-negative doubles (or floats)."""
    view = np.int64 if a.dtype == np.float64 else np.int32
    return np.abs(a.view(view).astype(np.int64) - b.view(view).astype(np.int64))


def _points():
    rng = np.random.default_rng(2024)
    return np.concatenate([
        rng.uniform(-745.2, 709.79, 1_000_000),
        np.linspace(-745.2, 709.79, 1_000_001),
        rng.uniform(-1.0, 1.0, 200_000),                # where the training kernels live
        rng.uniform(-745.2, -708.3, 200_000),           # subnormal results
        rng.uniform(700.0, 709.78, 100_000),            # near overflow
    ])


def test_within_2_ulp_of_numpy_over_the_whole_range(record_property):
    x = _points()
    with np.errstate(over="ignore", under="ignore"):
        want = np.exp(x)
    got = _exp_array(x)
    ulps = _ulps(got, want)
    subnormal = want < TINY
    assert subnormal.sum() > 200_000 and (got[~subnormal] >= TINY).all()
    assert ulps.max() <= 2, f"{ulps.max()} ulp at x = {x[np.argmax(ulps)]!r}"
    assert ulps[subnormal].max() <= 2
    record_property("max_ulp_vs_np_exp", int(ulps.max()))
    record_property("share_equal_to_np_exp", float(np.mean(ulps == 0)))
    record_property("share_equal_to_np_exp_subnormal", float(np.mean(ulps[subnormal] == 0)))


def test_most_results_are_correctly_rounded(record_property):
    # An independent check: exact values from mpmath (40 digits) rounded to the nearest double.
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-745.2, 709.79, 6000), rng.uniform(-1.0, 1.0, 3000),
                        rng.uniform(-745.2, -708.4, 3000)])
    got = _exp_array(x)
    exact = [mp.exp(mp.mpf(float(v))) for v in x]
    # the nearest double; below the normal range on the grid of 2**-1074 (mpmath's float() is
    # not correctly rounded there)
    step = [mp.mpf(2) ** -1074 if t < TINY else mp.mpf(np.spacing(float(t))) for t in exact]
    rounded = np.array([float(mp.nint(t / s) * s) if t < TINY else float(t)
                        for t, s in zip(exact, step)])
    error = np.array([float(abs(mp.mpf(float(g)) - t) / s) for g, t, s in zip(got, exact, step)])
    share = float(np.mean(got == rounded))
    record_property("share_correctly_rounded", share)
    record_property("max_error_ulp", float(error.max()))
    assert error.max() < 1.0          # measured 0.92
    assert share > 0.85               # measured 0.92 (0.90 over the whole range alone)
    # Subnormal results: exp(r) * 2**n1 (53 bits, error under an ulp) is rounded once more, to
    # the grid of 2**-1074. Below x = -725 the result has at most 28 significant bits, so the
    # first error is under 2**-24 of that grid: the result is within half a step plus that.
    subnormal, deep = rounded < TINY, x < -725.0
    record_property("share_correctly_rounded_subnormal", float(np.mean((got == rounded)[subnormal])))
    assert subnormal.sum() > 2500 and deep.sum() > 1000
    assert error[subnormal].max() < 1.0      # measured 0.74, just below the normal range
    assert error[deep].max() <= 0.5 + 2.0**-24


def test_polynomial_error_is_far_below_an_ulp():
    # 1 + r + r**2 q(r) with the stored double coefficients, evaluated exactly, against e**r.
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    coefs = [_exp._C2, _exp._C3, _exp._C4, _exp._C5, _exp._C6, _exp._C7, _exp._C8, _exp._C9,
             _exp._C10, _exp._C11, _exp._C12]
    half = mp.log(2) / 2
    worst = 0
    for r in mp.linspace(-half, half, 2001):
        q = sum(mp.mpf(c) * r**k for k, c in enumerate(coefs))
        worst = max(worst, abs((1 + r + r * r * q) / mp.exp(r) - 1))
    assert worst < 0.01 * 2.0**-53
    # and Cody-Waite: n * ln2_hi is exact in doubles for every n the clamp allows, hi + lo is ln2
    hi = mp.mpf(_exp._LN2_HI)
    assert all(mp.mpf(n * _exp._LN2_HI) == n * hi for n in range(-1077, 1078))
    # hi + lo misses ln2 by 1.2e-26: times |n| <= 1077, under 1e-6 ulp of r
    assert 1077 * abs(hi + mp.mpf(_exp._LN2_LO) - mp.log(2)) < 1e-6 * 2.0**-53


@pytest.mark.parametrize("fn", [exp, exp.py_func], ids=["compiled", "python"])
def test_edges(fn):
    assert fn(0.0) == 1.0 and fn(-0.0) == 1.0 and fn(1e-300) == 1.0
    assert fn(-np.inf) == 0.0 and fn(np.inf) == np.inf
    assert np.isnan(fn(np.nan)) and np.isnan(fn(-np.nan))
    # overflow exactly where np.exp overflows
    assert np.isfinite(fn(LOG_MAX))
    above = np.nextafter(LOG_MAX, np.inf)
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(above))
    for x in (above, 709.79, 710.0, 710.5, 1000.0, 1e300, np.finfo(np.float64).max):
        assert fn(x) == np.inf
    # gradual underflow down to the smallest subnormal, then 0
    assert fn(LOG_HALF_MIN) == 2.0**-1074 == np.exp(LOG_HALF_MIN)
    below = np.nextafter(LOG_HALF_MIN, -np.inf)
    assert np.exp(below) == 0.0
    for x in (below, -745.2, -746.0, -746.5, -1000.0, -1e300, -np.finfo(np.float64).max):
        assert fn(x) == 0.0
    for x in (-708.40, -720.0, -730.0, -740.0, -744.44, -745.0):
        got, want = np.array([fn(x)]), np.exp(np.array([x]))
        assert 0 < got[0] < TINY and _ulps(got, want)[0] <= 2


def test_edges_as_arrays_give_no_warning():
    # pytest turns RuntimeWarnings into errors: overflow and underflow stay silent, as in np.exp
    x = np.array([np.nan, -np.inf, np.inf, 800.0, -800.0, LOG_MAX, LOG_HALF_MIN, 0.0])
    got = _exp_array(x)
    assert np.isnan(got[0])
    np.testing.assert_array_equal(got[1:], [0.0, np.inf, np.inf, 0.0, np.exp(LOG_MAX),
                                            2.0**-1074, 1.0])


def test_float32_inputs_rounded_by_the_caller(record_property):
    # In a float32 kernel exp gets a float32 and the float64 result is rounded when stored:
    # the float32 nearest e**x but for double rounding. numpy's own float32 exp is less
    # accurate (its accuracy tests allow 3 ulp for float32, 1 for float64).
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-104.0, 88.8, 1_000_000), np.linspace(-104.0, 88.8, 100_001),
                        rng.uniform(-1.0, 1.0, 100_000)]).astype(np.float32)
    got = _exp_array(x, np.float32)
    with np.errstate(over="ignore"):
        want = np.exp(x)
        nearest = np.exp(x.astype(np.float64)).astype(np.float32)
    assert _ulps(got, nearest).max() <= 1
    assert np.mean(got == nearest) > 0.9999
    assert _ulps(got, want).max() <= 3
    record_property("max_ulp_vs_np_exp_float32", int(_ulps(got, want).max()))
    assert got[x > 88.73].min() == np.inf and got[x < -103.98].max() == 0.0
    assert exp(np.float32(0.5)) == exp(0.5) == exp.py_func(np.float32(0.5))


def test_has_the_kernels_compile_flags():
    assert dict(_exp.EXP_OPTIONS, inline="always") == _kernel_pieces.HOT_OPTIONS
    assert "fastmath" not in _exp.EXP_OPTIONS


TWIN = textwrap.dedent("""
    import sys
    import numpy as np
    from vecnet.engines._exp import exp
    x = np.load(sys.argv[1])
    x32 = np.load(sys.argv[2])
    np.save(sys.argv[3], np.array([exp(v) for v in x.tolist()]))
    with np.errstate(over="ignore"):
        np.save(sys.argv[4], np.array([exp(v) for v in x32], dtype=np.float32))
""")


def test_bit_identical_without_jit(tmp_path):
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.uniform(-745.2, 709.79, 90_000), rng.uniform(-1.0, 1.0, 10_000),
                        rng.uniform(-746.0, -708.0, 10_000), rng.uniform(709.0, 711.0, 1000),
                        [np.nan, np.inf, -np.inf, 0.0, -0.0, LOG_MAX, LOG_HALF_MIN, 1e300, -1e300]])
    x32 = rng.uniform(-105.0, 90.0, 20_000).astype(np.float32)
    paths = [tmp_path / name for name in ("x.npy", "x32.npy", "y.npy", "y32.npy")]
    np.save(paths[0], x)
    np.save(paths[1], x32)
    root = os.path.dirname(os.path.dirname(os.path.abspath(vecnet.__file__)))
    env = dict(os.environ, NUMBA_DISABLE_JIT="1",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-W", "error", "-c", TWIN, *map(str, paths)], env=env,
                   check=True)
    twin, twin32 = np.load(paths[2]), np.load(paths[3])
    assert twin.tobytes() == _exp_array(x).tobytes()
    assert twin32.tobytes() == _exp_array(x32, np.float32).tobytes()


@njit(error_model="numpy")
def _sigmoid_loop(z, out):
    for i in range(z.shape[0]):
        out[i] = 1.0 / (1.0 + exp(-z[i]))


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="reads x86-64 assembly")
@pytest.mark.parametrize("loop", [_apply, _sigmoid_loop], ids=["exp", "sigmoid"])
def test_loops_over_it_are_vectorized(loop):
    z = np.linspace(-5.0, 5.0, 64)
    out = np.empty_like(z)
    loop(z, out)
    asm = loop.inspect_asm(loop.signatures[0])
    # packed double multiplies (mulpd on xmm, ymm or zmm registers), and no call into libm
    assert re.search(r"\bv?mulpd\b", asm), "no packed multiply: the loop was not vectorized"
    assert not re.search(r"call\w*\s+.*\bexp\b", asm)
