"""signxai.tf.quantus_explain: the Quantus explain_func adapter (layout, targets, errors, end to end)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import L

from signxai.tf import explain, quantus_explain

METHODS = ["gradient_x_sign", "lrpsign_epsilon_0_25_std_x", "lrp_epsilon_0_1"]
H, W = 6, 8  # not square: a transposed map cannot pass for an aligned one


def small_cnn(channels: int, seed: int = 0) -> tf.keras.Model:
    """Conv(4, same, ReLU) -> MaxPool -> Flatten -> Dense(5) on channels-last (6, 8, channels), float32."""
    rng = np.random.default_rng(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((H, W, channels)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dense(5),
        ]
    )
    for layer in model.layers:
        layer.set_weights([rng.normal(0, 0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    return model


def batch(channels: int, n: int = 4, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(n, H, W, channels)).astype(np.float32), rng.integers(0, 5, size=n)


@pytest.fixture(scope="module")
def one() -> tf.keras.Model:
    return small_cnn(1)


@pytest.fixture(scope="module")
def two() -> tf.keras.Model:
    return small_cnn(2)


@pytest.mark.parametrize("method", METHODS)
def test_one_channel_is_the_explain_map_channels_first(one: tf.keras.Model, method: str) -> None:
    x, y = batch(1)
    a = quantus_explain(model=one, inputs=x, targets=y, method=method)
    expected = explain(one, x, method, target=y)
    assert a.shape == (4, 1, H, W)
    np.testing.assert_array_equal(a, np.moveaxis(expected, -1, 1))
    assert np.abs(a).max() > 0


@pytest.mark.parametrize("method", METHODS)
def test_several_channels_sum_over_channels(two: tf.keras.Model, method: str) -> None:
    x, y = batch(2)
    a = quantus_explain(model=two, inputs=x, targets=y, method=method, device="cpu")
    assert a.shape == (4, 1, H, W)
    np.testing.assert_array_equal(a[:, 0], explain(two, x, method, target=y).sum(axis=-1))


def test_channels_first_inputs_give_the_full_map_channels_first(two: tf.keras.Model) -> None:
    x, y = batch(2)
    a = quantus_explain(model=two, inputs=np.moveaxis(x, -1, 1), targets=y, method="lrp_z")
    assert a.shape == (4, 2, H, W)
    np.testing.assert_array_equal(a, np.moveaxis(explain(two, x, "lrp_z", target=y), -1, 1))


def test_time_series_sum_over_leads() -> None:
    rng = np.random.default_rng(2)
    model = tf.keras.Sequential(
        [tf.keras.Input((10, 3)), L.Conv1D(4, 3, padding="same", activation="relu"), L.Flatten(), L.Dense(2)]
    )
    for layer in model.layers:
        layer.set_weights([rng.normal(0, 0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    x = rng.normal(size=(3, 10, 3)).astype(np.float32)
    a = quantus_explain(model=model, inputs=x, targets=np.array([0, 1, 0]), method="lrpsign_epsilon_0_25_std_x")
    assert a.shape == (3, 1, 10)
    expected = explain(model, x, "lrpsign_epsilon_0_25_std_x", target=[0, 1, 0]).sum(axis=-1)
    np.testing.assert_array_equal(a[:, 0], expected)


def test_targets_and_parameters(two: tf.keras.Model) -> None:
    x, y = batch(2)
    a0 = quantus_explain(model=two, inputs=x, targets=np.zeros(4, dtype=np.int64), method="gradient")
    a1 = quantus_explain(model=two, inputs=x, targets=np.ones(4, dtype=np.int64), method="gradient")
    assert not np.allclose(a0, a1)
    np.testing.assert_array_equal(quantus_explain(model=two, inputs=x, targets=1, method="gradient"), a1)
    mu = quantus_explain(model=two, inputs=x, targets=y, method="gradient_x_sign_mu", mu=0.5)
    np.testing.assert_array_equal(mu, quantus_explain(model=two, inputs=x, targets=y, method="gradient_x_sign_mu_0_5"))


def test_model_is_not_modified(two: tf.keras.Model) -> None:
    before = [w.copy() for w in two.get_weights()]
    x, y = batch(2)
    quantus_explain(model=two, inputs=x, targets=y, method="lrpsign_epsilon_0_25_std_x")
    for w, b in zip(two.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, b)


def test_errors_name_the_problem(two: tf.keras.Model) -> None:
    x, y = batch(2)
    with pytest.raises(ValueError, match="explain_func_kwargs=\\{'method'"):
        quantus_explain(model=two, inputs=x, targets=y)
    with pytest.raises(ValueError, match="foo"):
        quantus_explain(model=two, inputs=x, targets=y, method="gradient", foo=1)
    with pytest.raises(ValueError, match="not_a_method"):
        quantus_explain(model=two, inputs=x, targets=y, method="not_a_method")
    with pytest.raises(ValueError, match="3 targets for a batch of 4"):
        quantus_explain(model=two, inputs=x, targets=y[:3], method="gradient")
    with pytest.raises(ValueError, match="neither channels-last nor channels-first"):
        quantus_explain(model=two, inputs=x[:, :, :6], targets=y, method="gradient")


@pytest.fixture(scope="module")
def quantus():
    return pytest.importorskip("quantus")


def pixel_flipping(quantus, model: tf.keras.Model, x: np.ndarray, y: np.ndarray, **given: object) -> np.ndarray:
    metric = quantus.PixelFlipping(features_in_step=8, perturb_baseline="black", disable_warnings=True)
    return np.asarray(metric(model=model, x_batch=x, y_batch=y, channel_first=False, **given), dtype=float)


@pytest.mark.parametrize("channels", [1, 2])
def test_pixel_flipping_end_to_end_matches_precomputed_maps(quantus, one, two, channels: int) -> None:
    """explain_func path == Quantus given the (N, H, W) map itself: the adapter's map is aligned as Quantus uses it."""
    model = one if channels == 1 else two
    x, y = batch(channels, n=3)
    method = "lrpsign_epsilon_0_25_std_x"
    curves = pixel_flipping(quantus, model, x, y, explain_func=quantus_explain, explain_func_kwargs={"method": method})
    assert curves.shape == (3, H * W * channels // 8) and np.isfinite(curves).all()
    pixel_map = explain(model, x, method, target=y).sum(axis=-1)
    np.testing.assert_allclose(curves, pixel_flipping(quantus, model, x, y, a_batch=pixel_map), rtol=1e-6)
    scrambled = np.ascontiguousarray(np.swapaxes(pixel_map, 1, 2)).reshape(pixel_map.shape)  # misaligned control
    assert not np.allclose(curves, pixel_flipping(quantus, model, x, y, a_batch=scrambled))


def test_quantus_rejects_the_other_layouts(quantus, two) -> None:
    """Why (N, 1, H, W): Quantus 0.6.0 fails on an NHWC model's full map in either layout and on (N, H, W)."""
    x, y = batch(2, n=2)
    full = explain(two, x, "gradient", target=y)
    for layout in (full, np.moveaxis(full, -1, 1), full.sum(axis=-1)):

        def given(model, inputs, targets, layout=layout, **kwargs):
            return layout

        with pytest.raises((AssertionError, ValueError)):
            pixel_flipping(quantus, two, x, y, explain_func=given)


def test_faithfulness_correlation_end_to_end(quantus, two) -> None:
    x, y = batch(2, n=3)
    np.random.seed(0)
    metric = quantus.FaithfulnessCorrelation(nr_runs=5, subset_size=8, return_aggregate=False, disable_warnings=True)
    scores = metric(
        model=two,
        x_batch=x,
        y_batch=y,
        channel_first=False,
        explain_func=quantus_explain,
        explain_func_kwargs={"method": "gradient_x_input"},
    )
    assert len(scores) == 3 and np.isfinite(scores).all()
