"""The test helpers themselves: ulp distances."""

import math

import pytest

from helpers import ulp_distance, within_ulps


def test_ulp_distance_counts_float64_steps():
    assert ulp_distance(1.0, 1.0) == 0
    assert ulp_distance(1.0, 1.0 + 2.0**-52) == 1
    assert ulp_distance(1.0 + 3 * 2.0**-52, 1.0) == 3
    # below 1.0 the steps are half as wide: 1 - 2**-53 is the neighbour of 1.0
    assert ulp_distance(1.0 - 2.0**-53, 1.0) == 1
    assert ulp_distance(1.0 - 2.0**-52, 1.0) == 2
    assert ulp_distance(-2.5, math.nextafter(math.nextafter(-2.5, 0), 0)) == 2


def test_ulp_distance_across_zero():
    tiny = 5e-324  # the smallest subnormal
    assert ulp_distance(0.0, -0.0) == 0
    assert ulp_distance(0.0, tiny) == 1
    assert ulp_distance(-tiny, tiny) == 2
    assert ulp_distance(-math.inf, math.inf) == 2 * ulp_distance(0.0, math.inf)


def test_ulp_distance_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        ulp_distance(math.nan, 1.0)


def test_within_ulps_counts_ulps_of_the_floor_below_it():
    small = 0.01
    # 0.01 lies in [2**-7, 2**-6), where a step is 2**-59: 4 ulps of 1.0 are 512 of its ulps
    assert ulp_distance(small + 4 * 2.0**-52, small) == 512
    assert within_ulps(small + 4 * 2.0**-52, small, 4)
    assert not within_ulps(small + 5 * 2.0**-52, small, 4)
    assert not within_ulps(small + 4 * 2.0**-52, small, 4, floor=0.0)
    assert within_ulps(math.nextafter(small, 1), small, 1, floor=0.0)
    # above the floor, plain ulps of the value
    assert within_ulps(3.0 + 4 * 2.0**-51, 3.0, 4)
    assert not within_ulps(3.0 + 5 * 2.0**-51, 3.0, 4)
