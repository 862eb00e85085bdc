"""signxai.common.metrics.pixel_flipping: hand-computed MoRF / LeRF curves and AOC, layouts, time series, seeds,
chunking, validation."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.common.metrics import FlippingResult, area_over_curve, pixel_flipping, random_uniform

W4 = np.array([1.0, 2.0, 3.0, 4.0])


def linear(weights: np.ndarray):
    """predict(x) = [sum(x * weights), 0] per sample: class 0 is the weighted sum, class 1 a constant 0."""
    weights = np.asarray(weights, dtype=np.float64)

    def predict(batch: np.ndarray) -> np.ndarray:
        score = (batch.reshape(len(batch), -1) * weights.reshape(-1)).sum(axis=1)
        return np.stack([score, np.zeros(len(batch))], axis=1)

    return predict


def image_1x4(relevance):
    """A (1, 1, 4, 1) image of ones and its relevance map in the same shape."""
    return np.ones((1, 1, 4, 1)), np.asarray(relevance, dtype=np.float64).reshape(1, 1, 4, 1)


# ------------------------------------------------------------------------------------------------ hand-computed
def test_morf_hand_computed_curve_and_aoc():
    # relevance 0.1 0.4 0.2 0.3: MoRF flips pixel 1 (w 2), 3 (w 4), 2 (w 3), 0 (w 1) to the constant 0
    x, r = image_1x4([0.1, 0.4, 0.2, 0.3])
    res = pixel_flipping(linear(W4), x, r, 0, order="morf", steps=4, value_range=(0.0, 0.0))
    assert isinstance(res, FlippingResult)
    np.testing.assert_array_equal(res.scores, [[10.0, 8.0, 4.0, 1.0, 0.0]])
    np.testing.assert_array_equal(res.curves, [[100.0, 80.0, 40.0, 10.0, 0.0]])
    np.testing.assert_array_equal(res.fractions, [0.0, 0.25, 0.5, 0.75, 1.0])
    # trapezoid: 0.25 * (90 + 60 + 25 + 5) = 45, AOC = 100 - 45
    np.testing.assert_allclose(res.aoc, [55.0])
    assert res.mean == pytest.approx(55.0) and res.std == 0.0 and res.order == "morf"


def test_lerf_hand_computed_curve_and_aoc():
    # LeRF flips pixel 0 (w 1), 2 (w 3), 3 (w 4), 1 (w 2)
    x, r = image_1x4([0.1, 0.4, 0.2, 0.3])
    res = pixel_flipping(linear(W4), x, r, 0, order="lerf", steps=4, value_range=(0.0, 0.0))
    np.testing.assert_array_equal(res.scores, [[10.0, 9.0, 6.0, 2.0, 0.0]])
    # 0.25 * (95 + 75 + 40 + 10) = 55
    np.testing.assert_allclose(res.aoc, [45.0])


def test_ties_broken_by_position_in_both_orders():
    x, r = image_1x4([0.5, 0.5, 0.1, 0.1])
    morf = pixel_flipping(linear(W4), x, r, 0, order="morf", steps=4, value_range=(0, 0))
    lerf = pixel_flipping(linear(W4), x, r, 0, order="lerf", steps=4, value_range=(0, 0))
    np.testing.assert_array_equal(morf.scores, [[10, 9, 7, 4, 0]])  # pixel 0, 1, 2, 3
    np.testing.assert_array_equal(lerf.scores, [[10, 7, 3, 2, 0]])  # pixel 2, 3, 0, 1


def test_constant_replacement_above_the_input_gives_negative_aoc():
    x, r = image_1x4([0.1, 0.4, 0.2, 0.3])
    res = pixel_flipping(linear(W4), x, r, 0, steps=4, value_range=(2.0, 2.0))
    np.testing.assert_array_equal(res.scores, [[10, 12, 16, 19, 20]])
    np.testing.assert_allclose(res.aoc, [100.0 - 0.25 * (110 + 140 + 175 + 195)])


@pytest.mark.parametrize(
    ("kwargs", "scores", "fractions"),
    [
        ({"steps": 2}, [10, 4, 0], [0, 0.5, 1]),
        ({"fraction_per_step": 0.5}, [10, 4, 0], [0, 0.5, 1]),
        ({"fraction_per_step": 0.3}, [10, 8, 4, 1, 0], [0, 0.25, 0.5, 0.75, 1]),  # round(1.2) = 1 unit per step
        ({"fraction_per_step": 0.75}, [10, 1, 0], [0, 0.75, 1]),  # 3 units, then the last one
        ({}, [10, 8, 4, 1, 0], [0, 0.25, 0.5, 0.75, 1]),  # default min(units, 100) = 4
    ],
)
def test_steps_and_fraction_per_step(kwargs, scores, fractions):
    x, r = image_1x4([0.1, 0.4, 0.2, 0.3])
    res = pixel_flipping(linear(W4), x, r, 0, value_range=(0, 0), **kwargs)
    np.testing.assert_array_equal(res.fractions, fractions)
    np.testing.assert_array_equal(res.scores, [scores])
    expected = 100 - np.sum((np.diff(fractions)) * (np.array(scores[1:]) + np.array(scores[:-1])) / 2 * 10)
    np.testing.assert_allclose(res.aoc, [expected])


def test_steps_3_group_boundaries():
    # i * 4 // 3 for i = 0..3: 0, 1, 2, 4
    x, r = image_1x4([0.1, 0.4, 0.2, 0.3])
    res = pixel_flipping(linear(W4), x, r, 0, steps=3, value_range=(0, 0))
    np.testing.assert_array_equal(res.fractions, [0, 0.25, 0.5, 1.0])
    np.testing.assert_array_equal(res.scores, [[10, 8, 4, 0]])


# ---------------------------------------------------------------------------------------------- normalisation
def test_normalise_probability_and_softmax():
    x, r = image_1x4([0.1, 0.4, 0.2, 0.3])
    x = x * 0.1  # weighted sum 1.0 -> 0.8 -> 0.4 -> 0.1 -> 0

    prob = pixel_flipping(linear(W4), x, r, 0, steps=4, value_range=(0, 0), normalise="probability")
    np.testing.assert_allclose(prob.curves, [[100, 80, 40, 10, 0]])
    soft = pixel_flipping(linear(W4), x, r, 0, steps=4, value_range=(0, 0), normalise="softmax")
    logits = np.array([1.0, 0.8, 0.4, 0.1, 0.0])
    np.testing.assert_allclose(soft.curves, [100 / (1 + np.exp(-logits))])  # softmax of [s, 0]
    np.testing.assert_allclose(soft.scores, [logits])
    np.testing.assert_allclose(soft.aoc, area_over_curve(soft.curves))


def test_initial_normalisation_with_non_positive_start_is_nan():
    x = np.ones((2, 1, 4, 1))
    x[1] = 0.0  # second sample: unperturbed score 0
    r = np.broadcast_to(np.array([0.1, 0.4, 0.2, 0.3]).reshape(1, 1, 4, 1), x.shape)
    res = pixel_flipping(linear(W4), x, r, 0, steps=4, value_range=(0, 0))
    assert np.isfinite(res.aoc[0]) and np.isnan(res.aoc[1])
    assert res.mean == pytest.approx(55.0) and res.std == 0.0


def test_area_over_curve():
    np.testing.assert_allclose(area_over_curve([[100, 100, 100], [0, 0, 0]]), [0.0, 100.0])
    for k in (2, 5, 11):
        drop = np.r_[100.0, np.zeros(k - 1)]
        assert area_over_curve(drop) == pytest.approx(100 - 50 / (k - 1))
    assert area_over_curve([100, 0, 0], [0, 0.9, 1.0]) == pytest.approx(55.0)
    with pytest.raises(ValueError, match="fractions"):
        area_over_curve([100, 0], [0, 0.5])
    with pytest.raises(ValueError, match="curves"):
        area_over_curve([100])


# ---------------------------------------------------------------------------------------------- time series
def ecg():
    """(1, T=3, leads=2) of ones, weights W[t, lead] = 1..6, and a relevance map where the lead matters."""
    x = np.ones((1, 3, 2))
    weights = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    relevance = np.array([[[0.9, -0.8], [0.3, 0.3], [0.2, 0.5]]])
    return x, weights, relevance


def test_time_series_flips_time_steps_across_all_leads():
    # summed over leads: t0 0.1, t1 0.6, t2 0.7 -> MoRF flips t2 (5 + 6), t1 (3 + 4), t0 (1 + 2)
    x, weights, relevance = ecg()
    res = pixel_flipping(linear(weights), x, relevance, 0, steps=3, value_range=(0, 0))
    np.testing.assert_array_equal(res.scores, [[21, 10, 3, 0]])
    # relevance already summed per time step gives the same
    summed = pixel_flipping(linear(weights), x, relevance.sum(-1), 0, steps=3, value_range=(0, 0))
    np.testing.assert_array_equal(summed.scores, res.scores)


def test_time_series_per_channel_flips_every_lead_separately():
    # elements 0.9 (w1), -0.8 (w2), 0.3 (w3), 0.3 (w4), 0.2 (w5), 0.5 (w6); MoRF: w1, w6, w3, w4 (tie: index), w5, w2
    x, weights, relevance = ecg()
    res = pixel_flipping(linear(weights), x, relevance, 0, steps=6, value_range=(0, 0), per_channel=True)
    np.testing.assert_array_equal(res.scores, [[21, 20, 14, 11, 7, 2, 0]])
    lerf = pixel_flipping(linear(weights), x, relevance, 0, steps=6, value_range=(0, 0), per_channel=True, order="lerf")
    np.testing.assert_array_equal(lerf.scores, [[21, 19, 14, 11, 7, 1, 0]])  # w2, w5, w3, w4, w6, w1


def test_per_channel_value_range():
    x, weights, relevance = ecg()
    res = pixel_flipping(linear(weights), x, relevance, 0, steps=3, value_range=([0.0, 10.0], [0.0, 10.0]))
    # t2: 21 - 11 + 6 * 10 = 70, t1: 70 - 7 + 4 * 10 = 103, t0: 103 - 3 + 2 * 10 = 120
    np.testing.assert_array_equal(res.scores, [[21, 70, 103, 120]])


def test_no_channel_axis():
    x = np.ones((1, 4))
    res = pixel_flipping(linear(W4), x, np.array([[0.1, 0.4, 0.2, 0.3]]), 0, channel_axis=None, value_range=(0, 0))
    np.testing.assert_array_equal(res.scores, [[10, 8, 4, 1, 0]])


# -------------------------------------------------------------------------------- random values, layout, seeds
def random_problem(seed=0, shape=(3, 5, 4, 3)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(np.float32)
    relevance = rng.normal(size=shape)
    weights = rng.normal(size=shape[1:])
    return x, relevance, weights


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("order", ["morf", "lerf"])
def test_channels_first_equals_channels_last(per_channel, order):
    x, relevance, weights = random_problem()
    last = pixel_flipping(linear(weights), x, relevance, 0, order=order, steps=7, per_channel=per_channel, seed=3)

    def predict_first(batch):
        assert batch.shape[1] == 3  # channels first reaches predict
        return linear(weights)(np.moveaxis(batch, 1, -1))

    first = pixel_flipping(
        predict_first,
        np.moveaxis(x, -1, 1),
        np.moveaxis(relevance, -1, 1),
        0,
        order=order,
        steps=7,
        per_channel=per_channel,
        channel_axis=1,
        seed=3,
    )
    np.testing.assert_array_equal(first.scores, last.scores)
    np.testing.assert_array_equal(first.aoc, last.aoc)


def test_seed_reproducibility():
    x, relevance, weights = random_problem()
    a = pixel_flipping(linear(weights), x, relevance, 0, steps=5, seed=11)
    b = pixel_flipping(linear(weights), x, relevance, 0, steps=5, seed=11)
    c = pixel_flipping(linear(weights), x, relevance, 0, steps=5, seed=12)
    np.testing.assert_array_equal(a.curves, b.curves)
    assert not np.array_equal(a.scores[:, 1:], c.scores[:, 1:])
    np.testing.assert_array_equal(a.scores[:, 0], c.scores[:, 0])  # unperturbed


def test_batch_size_does_not_change_the_result():
    x, relevance, weights = random_problem(shape=(5, 4, 4, 2))
    sizes = []

    def predict(batch):
        sizes.append(len(batch))
        return linear(weights)(batch)

    full = pixel_flipping(predict, x, relevance, [0, 1, 0, 1, 0], steps=4)
    assert sizes == [5] * 5
    for batch_size in (1, 2, 5, 9):
        sizes.clear()
        chunked = pixel_flipping(predict, x, relevance, [0, 1, 0, 1, 0], steps=4, batch_size=batch_size)
        assert max(sizes) <= batch_size and sum(sizes) == 5 * 5
        np.testing.assert_array_equal(chunked.curves, full.curves)


def test_default_range_is_per_channel_batch_min_max_and_everything_gets_flipped():
    rng = np.random.default_rng(1)
    x = np.stack([rng.uniform(0, 1, (2, 6, 6)), rng.uniform(-5, -3, (2, 6, 6))], axis=-1)  # (2, 6, 6, 2)
    seen = []

    def predict(batch):
        seen.append(batch.copy())
        return np.zeros((len(batch), 2)) + 1.0

    x_before = x.copy()
    pixel_flipping(predict, x, rng.normal(size=x.shape), 0, steps=3)
    np.testing.assert_array_equal(x, x_before)  # input untouched
    np.testing.assert_array_equal(seen[0], x)
    last = seen[-1]
    assert not np.any(last == x)  # every element replaced
    for c in range(2):
        assert last[..., c].min() >= x[..., c].min() and last[..., c].max() <= x[..., c].max()


def test_integer_input_is_flipped_as_float():
    x = np.full((1, 1, 4, 1), 2, dtype=np.uint8)
    seen = []

    def predict(batch):
        seen.append(batch.dtype)
        return linear(W4)(batch)

    res = pixel_flipping(predict, x, x.astype(float), 0, value_range=(0.5, 0.5))
    assert seen[0] == np.float64
    np.testing.assert_array_equal(res.scores[0, -1], 5.0)


def test_random_uniform_baseline():
    a = random_uniform((2, 3, 4), seed=5)
    np.testing.assert_array_equal(a, random_uniform(np.zeros((2, 3, 4)), seed=5))
    assert a.shape == (2, 3, 4) and a.min() >= 0 and a.max() < 1
    assert not np.array_equal(a, random_uniform((2, 3, 4), seed=6))


def test_faithful_relevance_beats_random_baseline():
    # for a linear model with positive inputs and weights, x * w is the exact contribution
    rng = np.random.default_rng(2)
    x = rng.uniform(0.1, 1.0, (8, 8, 8, 1))
    weights = rng.uniform(0.0, 1.0, (8, 8, 1)) ** 3
    exact = x * weights
    kwargs = {"steps": 16, "value_range": (0.0, 0.0)}
    good_morf = pixel_flipping(linear(weights), x, exact, 0, order="morf", **kwargs)
    good_lerf = pixel_flipping(linear(weights), x, exact, 0, order="lerf", **kwargs)
    rand = pixel_flipping(linear(weights), x, random_uniform(x, seed=0), 0, order="morf", **kwargs)
    assert good_morf.mean > rand.mean + 10 > good_lerf.mean + 20


# -------------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"order": "random"}, "order"),
        ({"steps": 0}, "steps"),
        ({"steps": 5}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"steps": 2, "fraction_per_step": 0.5}, "fraction_per_step"),
        ({"fraction_per_step": 0.0}, "fraction_per_step"),
        ({"fraction_per_step": 1.5}, "fraction_per_step"),
        ({"channel_axis": 2}, "channel_axis"),
        ({"value_range": (1.0, 0.0)}, "value_range"),
        ({"value_range": (0.0, [1.0, 2.0])}, "value_range"),
        ({"value_range": (0.0, np.inf)}, "value_range"),
        ({"value_range": 1.0}, "value_range"),
        ({"normalise": "max"}, "normalise"),
        ({"batch_size": 0}, "batch_size"),
        ({"target": 2}, "target"),
        ({"target": -1}, "target"),
        ({"target": [0, 0]}, "target"),
        ({"target": 0.5}, "target"),
        ({"relevance": np.ones((1, 1, 3, 1))}, "relevance"),
        ({"relevance": np.full((1, 1, 4, 1), np.nan)}, "relevance"),
        ({"x": np.full((1, 1, 4, 1), np.inf)}, "x"),
        ({"predict": lambda batch: np.zeros(len(batch))}, "predict"),
        ({"predict": lambda batch: np.zeros((len(batch) + 1, 2))}, "predict"),
    ],
)
def test_validation_errors_name_the_parameter(kwargs, name):
    x, r = image_1x4([0.1, 0.4, 0.2, 0.3])
    args = {"predict": linear(W4), "x": x, "relevance": r, "target": 0}
    for key in ("predict", "x", "relevance", "target"):
        if key in kwargs:
            args[key] = kwargs.pop(key)
    with pytest.raises(ValueError, match=name):
        pixel_flipping(args["predict"], args["x"], args["relevance"], args["target"], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"steps": "4"}, "steps"), ({"per_channel": 1}, "per_channel"), ({"predict": None}, "predict")],
)
def test_type_errors_name_the_parameter(kwargs, name):
    x, r = image_1x4([0.1, 0.4, 0.2, 0.3])
    predict = kwargs.pop("predict", linear(W4))
    with pytest.raises(TypeError, match=name):
        pixel_flipping(predict, x, r, 0, **kwargs)


def test_per_channel_needs_the_full_relevance_shape():
    x, weights, relevance = ecg()
    with pytest.raises(ValueError, match="relevance"):
        pixel_flipping(linear(weights), x, relevance.sum(-1), 0, per_channel=True)
