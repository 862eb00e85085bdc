"""The spec section 6 assertions on hand-made pairs of maps."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.parity.metrics import compare, pearson


def _map(seed=0, shape=(2, 5, 4, 3)):
    return np.random.default_rng(seed).normal(size=shape)


def test_identical_maps_pass_both_tiers():
    a = _map()
    for tier in ("float64", "float32"):
        c = compare(a, a.copy(), tier)
        assert c.passed and c.max_abs_diff == 0.0 and c.rel_max_abs_diff == 0.0
        assert c.pearson_r == pytest.approx(1.0)


def test_float64_threshold_is_relative_to_tf_max():
    a = _map()
    scale = np.abs(a).max()
    b = a.copy()
    b.flat[7] += 0.9e-6 * scale
    assert compare(a, b, "float64").passed
    b.flat[7] += 0.2e-6 * scale
    c = compare(a, b, "float64")
    assert not c.passed and c.rel_max_abs_diff == pytest.approx(1.1e-6, rel=1e-6)


def test_float32_uses_pearson():
    a = _map()
    noisy = a + 0.01 * _map(1)
    assert compare(a, noisy, "float32").passed
    assert not compare(a, noisy, "float64").passed
    assert not compare(a, a + 0.2 * _map(2), "float32").passed
    assert not compare(a, -a, "float32").passed  # signed maps: no absolute values


def test_zero_maps_pass_and_one_sided_zero_fails():
    z = np.zeros((1, 4, 3))
    assert compare(z, z, "float64").passed and compare(z, z, "float32").passed
    other = z.copy()
    other[0, 0, 0] = 1e-3
    assert not compare(z, other, "float64").passed
    assert not compare(z, other, "float32").passed


def test_constant_maps_in_float32_are_judged_by_max_diff():
    c = np.full((1, 6, 2), 0.5)
    assert compare(c, c.copy(), "float32").passed
    assert not compare(c, c + 1e-3, "float32").passed


def test_shape_mismatch_and_nan_fail():
    a = _map()
    assert not compare(a, a[:1], "float64").passed
    bad = a.copy()
    bad.flat[0] = np.nan
    assert not compare(a, bad, "float32").passed


def test_pearson_constant_is_none_and_bad_tier_raises():
    assert pearson(np.ones(5), np.arange(5.0)) is None
    with pytest.raises(ValueError, match="tier"):
        compare(_map(), _map(), "float16")
