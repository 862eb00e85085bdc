"""LRP conservation, output seeds, Explainer weight refresh (checks independent of the reference)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import small_cnn, small_input

from signxai.tf import Explainer, explain


def _logit(model: tf.keras.Model, x: np.ndarray, target: int) -> np.ndarray:
    return model(x).numpy()[:, target]


@pytest.mark.parametrize("method", ["lrp_z", "lrpz_epsilon_1e-9", "lrp_alpha_1_beta_0"])
def test_conservation_without_bias(method: str) -> None:
    """Bias-free ReLU network: Z, epsilon -> 0 and alpha 1 beta 0 conserve sum R = z_t."""
    method = method.replace("1e-9", "0_000000001")
    model = small_cnn(bias=False)
    x = small_input()
    for target in range(4):
        r = explain(model, x, method, target=target)
        z = _logit(model, x, target)
        np.testing.assert_allclose(r.reshape(len(x), -1).sum(axis=1), z, rtol=1e-6, atol=1e-9)


def test_lrp_seed_is_the_logit() -> None:
    """Seed z_t: a bias-free Z map scales with the target logit, and changes sign with it."""
    model = small_cnn(bias=False)
    x = small_input()
    logits = model(x).numpy()
    negative = int(np.argmin(logits[0]))
    r = explain(model, x[:1], "lrp_z", target=negative)
    assert logits[0, negative] < 0
    assert r.sum() == pytest.approx(logits[0, negative], rel=1e-9)
    # guided backprop / deconvnet: seed z_t. In a bias-free ReLU network, doubling x keeps every ReLU mask and
    # doubles z_t, so the map doubles; with seed 1 it would not change.
    for method in ["guided_backprop", "deconvnet"]:
        seeded = explain(model, x, method, target=1)
        twice = explain(model, 2 * x, method, target=1)
        assert np.abs(seeded).max() > 0
        np.testing.assert_allclose(twice, 2 * seeded, rtol=1e-9, atol=1e-12)
    # gradient-family maps are seeded with 1: doubling x leaves the gradient unchanged
    np.testing.assert_allclose(
        explain(model, 2 * x, "gradient", target=1), explain(model, x, "gradient", target=1), rtol=1e-9, atol=1e-12
    )


def test_gradient_seed_is_one(cnn: tf.keras.Model, x: np.ndarray) -> None:
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        z = cnn(xt)[:, 3]
    expected = tape.gradient(z, xt).numpy()
    np.testing.assert_allclose(explain(cnn, x, "gradient", target=3), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(explain(cnn, x, "gradient_x_input", target=3), expected * x, rtol=1e-12, atol=1e-15)


def test_explainer_follows_training(x: np.ndarray) -> None:
    model = small_cnn()
    e = Explainer(model, "lrp_epsilon_0_1")
    before = e.explain(x, target=0)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.5), loss="mse")
    model.fit(x, np.ones((len(x), 4)), epochs=2, verbose=0)
    after = e.explain(x, target=0)
    fresh = explain(model, x, "lrp_epsilon_0_1", target=0)
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, fresh)
    e.close()


def test_explainer_notices_one_changed_weight(x: np.ndarray) -> None:
    """The on-device weight watch sees a change of a single element (and of a bias) and reloads."""
    model = small_cnn()
    e = Explainer(model, "lrp_epsilon_0_1")
    e.explain(x, target=1)
    for variable in (model.get_layer("conv_a").kernel, model.layers[-1].bias):
        value = variable.numpy()
        value.reshape(-1)[0] += 0.25
        variable.assign(value)
        np.testing.assert_array_equal(e.explain(x, target=1), explain(model, x, "lrp_epsilon_0_1", target=1))
    e.close()
