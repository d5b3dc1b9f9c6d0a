"""``exp`` in plain arithmetic for the compiled kernels (private).

libm's ``exp`` is a scalar call, so no compiled loop that contains it is
vectorized. :func:`exp` is written in multiplies, adds, compares and bit
casts only, without a branch, so LLVM inlines it into the loop and turns the
loop into SIMD instructions (:mod:`benchmarks.test_bench_exp` shows the
speed, :mod:`tests.test_exp` the vector instructions and the accuracy).

Method, for ``x`` clamped to ``[-746, 710]`` (beyond, the result is 0 or inf):

1. ``n = round(x / ln2)``, by adding and subtracting ``1.5 * 2**52`` (the sum's
   last bits hold ``n``);
2. ``r = x - n * ln2_hi - n * ln2_lo``, ``|r| <= ln2 / 2`` (Cody-Waite: ``ln2_hi``
   has 32 significant bits, so ``n * ln2_hi`` and the first difference are exact);
3. ``exp(r) = 1 + (r + r**2 q(r))``, ``q`` of degree 10 evaluated by Estrin's
   scheme (coefficients: a Chebyshev fit of ``(exp(r) - 1 - r) / r**2`` on
   ``|r| <= ln2 / 2``; relative error of the polynomial under 0.01 ulp);
4. ``exp(x) = exp(r) * 2**n1 * 2**n2`` with ``n1 = floor(n / 2)``, ``n2 = n - n1``,
   both powers built from bits and both normal, so a subnormal result is
   rounded once, and a result near the overflow threshold is formed without
   overflowing on the way.

Accuracy (``tests/test_exp.py``): at most 2 ulp from ``np.exp`` on the whole
range, normal and subnormal results alike (ulps counted as distance between
the bit patterns; measured at most 1, and 90% equal); under 1 ulp from the
exact value (measured 0.92), about 90% correctly rounded. Subnormal results
are rounded once from the 53-bit ``exp(r) * 2**n1``: under 1 ulp (of the
subnormal grid) from the exact value, and for ``x < -725`` (at most 28
significant bits) within half an ulp plus ``2**-24``, i.e. correctly rounded
but for exact values that close to a midpoint. ``exp(-inf) = 0``,
``exp(inf) = inf``, ``exp(nan) = nan``, inf above ``log(DBL_MAX)`` and 0 below
``log(2**-1075)``, exactly where ``np.exp`` gives them.

float32: the argument is converted to float64 and the float64 result is
returned; a float32 kernel rounds it once when storing, which gives the
float32 ``exp`` within about half an ulp.

Floating point as in the kernels: no fastmath (so no FMA contraction), and
nothing that differs between compiled code and Python: the same function
runs under ``NUMBA_DISABLE_JIT=1`` and gives bit-identical results. Python
ints stand in for int64 there, and every integer stays far from 2**63.

Note on Numba's on-disk cache: a kernel that inlines :func:`exp` is cached
under its own file's time stamp only; after editing this file alone, clear
the cache (``NUMBA_CACHE_DIR``, or the ``__pycache__`` folders).
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit


def _probe():
    """Nothing: decorated once by :func:`_disk_cache`, to ask Numba where it would cache."""


def _disk_cache():
    """True when Numba can keep the kernels of this folder on disk; else a warning, and False.

    Numba caches in ``NUMBA_CACHE_DIR``, else beside the source (``__pycache__``), else in
    the user's cache folder, and only in one it can write to; a function declared
    ``cache=True`` where none is writable (a read-only file system, a cache built in advance
    and mounted read-only) fails to compile at all. The kernels all live in this folder, so
    one probe answers for all of them.
    """
    try:
        njit(cache=True)(_probe)
    except RuntimeError as exc:   # "cannot cache function '_probe': no locator available for file ..."
        warnings.warn(f"Numba cannot keep vecnet's compiled kernels on disk ({exc}): they are compiled again "
                      "in every process, seconds each. Set NUMBA_CACHE_DIR to a writable folder to keep them.",
                      UserWarning, stacklevel=2)
        return False
    return True


DISK_CACHE = _disk_cache()
"""Whether the kernels are cached on disk (``cache=`` of every kernel and piece)."""

EXP_OPTIONS = {"cache": DISK_CACHE, "nogil": True, "error_model": "numpy", "_nrt": False}
"""The compile flags of the kernels' hot helpers (``vecnet.engines._kernel_pieces.HOT_OPTIONS``,
which imports this module and so cannot be imported here; a test holds the two equal) but for
Numba's inlining: :func:`exp` is scalar arithmetic without a branch, which LLVM inlines into
each loop by itself and vectorizes there (the same machine code for the article's kernel).
Numba's own inlining copied it into a batch kernel some 26 times while compiling, for 30% of
the compile time."""

_LOWEST, _HIGHEST = -746.0, 710.0
"""Clamp bounds: ``exp(-746)`` rounds to 0 and ``exp(710)`` overflows, both as for any
argument beyond them, and ``n`` stays small (``|n| <= 1077``)."""
_SHIFT = 6755399441055744.0
"""``1.5 * 2**52``: ``v + _SHIFT`` rounds ``v`` (``|v| < 2**51``) to an integer held in the low bits."""
_SHIFT_BITS = 0x4338000000000000
"""The bits of ``_SHIFT``: ``bits(v + _SHIFT) - _SHIFT_BITS = round(v)``."""
_INV_LN2 = 1.4426950408889634           # 0x1.71547652b82fep+0
_LN2_HI = 0.6931471803691238            # 0x1.62e42fee00000p-1 (32 significant bits)
_LN2_LO = 1.9082149292705877e-10        # 0x1.a39ef35793c76p-33, ln2 - _LN2_HI
_C2 = 0.5                               # 0x1.0000000000000p-1
_C3 = 0.1666666666666667                # 0x1.5555555555557p-3
_C4 = 0.04166666666666667               # 0x1.5555555555556p-5
_C5 = 0.008333333333326141              # 0x1.11111111100dfp-7
_C6 = 0.0013888888888883752             # 0x1.6c16c16c162d6p-10
_C7 = 0.00019841269874800493            # 0x1.a01a01abe62ddp-13
_C8 = 2.4801587325533363e-05            # 0x1.a01a01a6d7808p-16
_C9 = 2.7557255425746435e-06            # 0x1.71de02375656cp-19
_C10 = 2.7557273661348637e-07           # 0x1.27e4db67b4303p-22
_C11 = 2.510520637395701e-08            # 0x1.af4ddd84882fep-26
_C12 = 2.0914679376583935e-09           # 0x1.1f72fc730b4ffp-29


@njit(**EXP_OPTIONS)
def _pow2(k):
    """``2.0**k`` for an integer ``-1022 <= k <= 1023``, from its bits."""
    return float(np.int64((k + 1023) << 52).view(np.float64))


@njit(**EXP_OPTIONS)
def exp(x):
    """``e**x`` for a float64 (or float32, computed in float64), within 2 ulp of ``np.exp``; no branch."""
    x = float(x)
    v = x if x > _LOWEST else _LOWEST          # also nan -> _LOWEST; restored below
    v = v if v < _HIGHEST else _HIGHEST
    shifted = v * _INV_LN2 + _SHIFT
    n = shifted - _SHIFT
    k = int(np.float64(shifted).view(np.int64)) - _SHIFT_BITS
    r = (v - n * _LN2_HI) - n * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    q = (((_C2 + _C3 * r) + (_C4 + _C5 * r) * r2)
         + ((_C6 + _C7 * r) + (_C8 + _C9 * r) * r2) * r4
         + ((_C10 + _C11 * r) + _C12 * r2) * (r4 * r4))
    p = 1.0 + (r + r2 * q)
    k1 = k >> 1
    y = (p * _pow2(k1)) * _pow2(k - k1)
    return y if x == x else x
