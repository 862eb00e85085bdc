"""signxai.common.metrics: per-sample Pearson / Spearman (average ranks), the bias measure and the randomisation
sanity check, against hand-computed values (and SciPy where it is installed)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from signxai.common.metrics import (
    BiasResult,
    RandomisationResult,
    average_ranks,
    input_bias,
    pearson,
    randomisation_similarity,
    spearman,
)


def test_average_ranks_hand_computed():
    np.testing.assert_array_equal(average_ranks([3, 1, 3, 3, 2]), [4, 1, 4, 4, 2])  # sorted 1 2 3 3 3
    np.testing.assert_array_equal(average_ranks([[0.5, 0.5], [2.0, 1.0]]), [[1.5, 1.5], [2, 1]])
    np.testing.assert_array_equal(average_ranks([7, 7, 7]), [2, 2, 2])
    np.testing.assert_array_equal(average_ranks([-1.0, 4.0, 2.0]), [1, 3, 2])


def test_pearson_hand_computed():
    # da = -1 0 1, db = -4/3 -1/3 5/3: r = 3 / sqrt(2 * 42 / 9) = 9 / sqrt(84)
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[1.0, 2.0, 4.0]])
    np.testing.assert_allclose(pearson(a, b), [9 / math.sqrt(84)])
    np.testing.assert_allclose(pearson(np.r_[a, a], np.r_[2 * a + 1, -a]), [1.0, -1.0])


def test_spearman_hand_computed_with_ties():
    # ranks 1 2.5 2.5 4 and 4 3 2 1: centred -1.5 0 0 1.5 and 1.5 .5 -.5 -1.5 -> -4.5 / sqrt(4.5 * 5)
    a = np.array([[1.0, 2.0, 2.0, 3.0]])
    b = np.array([[4.0, 3.0, 2.0, 1.0]])
    np.testing.assert_allclose(spearman(a, b), [-4.5 / math.sqrt(22.5)])
    # monotone but non-linear: Spearman 1, Pearson below 1
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert spearman(x, x**3)[0] == pytest.approx(1.0)
    assert pearson(x, x**3)[0] < 0.99


def test_multidimensional_samples_are_flattened():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4, 5, 2)), rng.normal(size=(3, 4, 5, 2))
    np.testing.assert_allclose(pearson(a, b), pearson(a.reshape(3, -1), b.reshape(3, -1)))
    for i in range(3):
        np.testing.assert_allclose(pearson(a, b)[i], np.corrcoef(a[i].ravel(), b[i].ravel())[0, 1])


def test_constant_or_non_finite_samples_give_nan_without_warning():
    a = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0], [1.0, 2.0, 3.0], [1.0, np.nan, 3.0], [0.1, 0.1, 0.1]])
    b = np.array([[1.0, 2.0, 4.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for result in (pearson(a, b), spearman(a, b)):
            assert np.isfinite(result[0])
            assert np.isnan(result[1:]).all()
        bias = input_bias(a, b)
        assert np.isnan(bias.pearson[1:]).all() and np.isnan(bias.spearman[1:]).all()
        assert math.isnan(input_bias(a[1:], b[1:]).pearson_mean)


def test_tiny_and_huge_values_do_not_overflow():
    a = np.array([[1e-200, 2e-200, 3e-200], [1e200, 2e200, 4e200]])
    b = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 4.0]])
    np.testing.assert_allclose(pearson(a, b), [1.0, 1.0])


@pytest.mark.parametrize("shape", [(4, 50), (3, 6, 7, 2), (5, 9)])
def test_against_scipy(shape):
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    a = rng.integers(0, 5, size=shape).astype(float)  # many ties
    b = rng.normal(size=shape) + a
    for i in range(shape[0]):
        np.testing.assert_allclose(spearman(a, b)[i], stats.spearmanr(a[i].ravel(), b[i].ravel())[0])
        np.testing.assert_allclose(pearson(a, b)[i], stats.pearsonr(a[i].ravel(), b[i].ravel())[0])
        np.testing.assert_array_equal(average_ranks(a.reshape(shape[0], -1))[i], stats.rankdata(a[i].ravel()))


def test_input_bias():
    x = np.array([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 0.0], [3.0, 9.0]]])
    res = input_bias(x, x * np.array([[2.0, 2.0], [2.0, 2.0]]))  # relevance proportional to the input
    assert isinstance(res, BiasResult)
    np.testing.assert_allclose(res.pearson, [1.0, 1.0])
    np.testing.assert_allclose(res.spearman, [1.0, 1.0])
    res = input_bias(x, -(x**2))
    np.testing.assert_allclose(res.spearman, [-1.0, -1.0])
    assert res.spearman_mean == pytest.approx(-1.0)
    np.testing.assert_allclose(res.pearson, pearson(x, -(x**2)))


@pytest.mark.parametrize(
    ("x", "relevance", "name"),
    [
        (np.ones((2, 3)), np.ones((2, 4)), "relevance"),
        (np.ones(3), np.ones(3), "x"),
        (np.ones((2, 0)), np.ones((2, 0)), "x"),
    ],
)
def test_input_bias_validation(x, relevance, name):
    with pytest.raises(ValueError, match=name):
        input_bias(x, relevance)


def test_randomisation_similarity():
    rng = np.random.default_rng(3)
    maps = rng.normal(size=(4, 6, 6))
    same = randomisation_similarity(maps, maps)
    assert isinstance(same, RandomisationResult)
    np.testing.assert_allclose(same.spearman_abs, 1.0)
    np.testing.assert_allclose(same.spearman_signed, 1.0)
    flipped = randomisation_similarity(maps, -maps)  # a sign flip: same structure
    np.testing.assert_allclose(flipped.spearman_abs, 1.0)
    np.testing.assert_allclose(flipped.spearman_signed, -1.0)
    assert flipped.spearman_abs_mean == pytest.approx(1.0) and flipped.spearman_signed_mean == pytest.approx(-1.0)


def test_randomisation_similarity_hand_computed():
    trained = np.array([[1.0, -3.0, 2.0, 0.0]])  # |.| ranks 2 4 3 1, signed ranks 3 1 4 2
    randomised = np.array([[-2.0, 1.0, 0.5, 3.0]])  # |.| ranks 3 2 1 4, signed ranks 1 3 2 4
    res = randomisation_similarity(trained, randomised)
    # abs: centred -.5 1.5 .5 -1.5 and .5 -.5 -1.5 1.5 -> (-.25 - .75 - .75 - 2.25) / 5 = -0.8
    np.testing.assert_allclose(res.spearman_abs, [-0.8])
    # signed: centred .5 -1.5 1.5 -.5 and -1.5 .5 -.5 1.5 -> (-.75 - .75 - .75 - .75) / 5 = -0.6
    np.testing.assert_allclose(res.spearman_signed, [-0.6])
    zero = randomisation_similarity(np.zeros((1, 4)), randomised)
    assert np.isnan(zero.spearman_abs[0]) and np.isnan(zero.spearman_signed[0])


def test_randomisation_similarity_validation():
    with pytest.raises(ValueError, match="trained and randomised"):
        randomisation_similarity(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="randomised"):
        randomisation_similarity(np.ones((2, 3)), np.array([["a", "b", "c"]] * 2))
