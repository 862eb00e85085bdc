"""Gradient-family methods of the reference: finite differences, hand cases, IG completeness, sampling."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.common.reference import explain, forward, zoo
from signxai.common.reference import layers as L
from signxai.common.sampling import random_uniform_map, smoothgrad_noise
from signxai.common.signs import sign, sign_mu


def finite_difference(model: L.Model, x: np.ndarray, target: int, h: float = 1e-6) -> np.ndarray:
    """Central differences of z_target for one sample ``x`` (with batch axis 1)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (forward(model, up)[0, target] - forward(model, down)[0, target]) / (2 * h)
    return grad


@pytest.mark.parametrize("model_name", sorted(zoo.MODELS))
def test_gradient_equals_finite_differences(model_name):
    model = zoo.MODELS[model_name]()
    x = zoo.sample_inputs(model, 1, seed=3)
    g = explain(model, x, "gradient", target=1)
    np.testing.assert_allclose(g, finite_difference(model, x, 1), atol=1e-7)
    assert np.abs(g).max() > 1e-3


def relu_pair_model() -> L.Model:
    """x = (1, 2): z = (3, -1) -> a = (3, 0) -> out = -3 (w2 = (-1, -2))."""
    w1 = np.array([[1.0, 1.0], [1.0, -1.0]])
    w2 = np.array([[-1.0], [-2.0]])
    return L.Model((L.Dense(w1, np.zeros(2)), L.ReLU(), L.Dense(w2, np.zeros(1))), input_shape=(2,))


X2 = np.array([[1.0, 2.0]])


def test_gradient_guided_backprop_and_deconvnet_by_hand():
    model = relu_pair_model()
    # gradient (seed 1): at a: (-1, -2); ReLU mask (1, 0) -> (-1, 0); W1 -> (-1, -1)
    np.testing.assert_allclose(explain(model, X2, "gradient", target=0), [[-1.0, -1.0]])
    # guided (seed z_t = -3): at a: (3, 6); max(., 0) * mask -> (3, 0); W1 -> (3, 3)
    np.testing.assert_allclose(explain(model, X2, "guided_backprop", target=0), [[3.0, 3.0]])
    # deconvnet: max(., 0) -> (3, 6); W1 -> (3 + 6, 3 - 6)
    np.testing.assert_allclose(explain(model, X2, "deconvnet", target=0), [[9.0, -3.0]])


def test_relu_derivative_at_zero_is_zero_and_elu_derivative_is_alpha_exp():
    relu = L.Model((L.ReLU(), L.Dense(np.ones((1, 1)), np.zeros(1))), input_shape=(1,))
    np.testing.assert_array_equal(explain(relu, np.array([[0.0]]), "gradient", target=0), [[0.0]])
    elu = L.Model((L.ELU(alpha=0.5), L.Dense(np.ones((1, 1)), np.zeros(1))), input_shape=(1,))
    np.testing.assert_allclose(explain(elu, np.array([[0.0]]), "gradient", target=0), [[0.5]])
    np.testing.assert_allclose(explain(elu, np.array([[-1.0]]), "gradient", target=0), [[0.5 * np.exp(-1.0)]])
    np.testing.assert_allclose(explain(elu, np.array([[2.0]]), "gradient", target=0), [[1.0]])
    # guided backprop (changed in spec section 8): max(signal, 0) * elu'(x); the seed z_t = elu(-1) < 0 -> 0
    np.testing.assert_array_equal(explain(elu, np.array([[-1.0]]), "guided_backprop", target=0), [[0.0]])
    shifted = L.Model((L.ELU(alpha=0.5), L.Dense(np.ones((1, 1)), np.full(1, 2.0))), input_shape=(1,))
    z_t = 0.5 * (np.exp(-1.0) - 1) + 2.0
    np.testing.assert_allclose(explain(shifted, np.array([[-1.0]]), "guided_backprop", target=0), [[z_t * 0.5 / np.e]])
    np.testing.assert_allclose(explain(shifted, np.array([[-1.0]]), "deconvnet", target=0), [[z_t]])


def test_modifiers_multiply_the_map():
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 2)
    g = explain(model, x, "gradient")
    np.testing.assert_array_equal(explain(model, x, "gradient_x_input"), g * x)
    np.testing.assert_array_equal(explain(model, x, "input_t_gradient"), g * x)
    np.testing.assert_array_equal(explain(model, x, "gradient_x_sign"), g * sign(x))
    np.testing.assert_array_equal(explain(model, x, "gradient_x_sign_mu_0_5"), g * sign_mu(x, 0.5))
    np.testing.assert_array_equal(explain(model, x, "gradient_x_sign_mu", mu=-0.5), g * sign_mu(x, -0.5))
    gb = explain(model, x, "guided_backprop")
    np.testing.assert_array_equal(explain(model, x, "guided_backprop_x_sign"), gb * np.where(x >= 0, 1.0, -1.0))


def test_integrated_gradients_of_a_linear_model_is_exact():
    w = np.array([[1.0, 0.0], [-2.0, 1.0], [0.5, 3.0]])
    model = L.Model((L.Dense(w, np.array([0.3, -0.1])),), input_shape=(3,))
    x = np.array([[1.0, 2.0, -1.0]])
    np.testing.assert_allclose(explain(model, x, "integrated_gradients", target=0), x * w[:, 0])
    baseline = np.array([[0.5, 0.5, 0.5]])
    np.testing.assert_allclose(
        explain(model, x, "integrated_gradients", target=1, baseline=baseline), (x - baseline) * w[:, 1]
    )
    np.testing.assert_allclose(explain(model, x, "integrated_gradients", target=1, baseline=0.25), (x - 0.25) * w[:, 1])


def test_integrated_gradients_uses_both_end_points_of_the_path():
    # f(x) = relu(x): gradient 0 at k = 0 (x = 0), 1 at the N - 1 others; N = 3 -> IG = x * 2/3
    model = L.Model((L.ReLU(), L.Dense(np.ones((1, 1)), np.zeros(1))), input_shape=(1,))
    np.testing.assert_allclose(explain(model, np.array([[1.5]]), "integrated_gradients", steps=3), [[1.0]])


@pytest.mark.parametrize("model_name", sorted(zoo.MODELS))
def test_integrated_gradients_completeness(model_name):
    model = zoo.MODELS[model_name]()
    x = zoo.sample_inputs(model, 2)
    logits = forward(model, x)
    targets = np.argmax(logits, axis=1)
    ig = explain(model, x, "integrated_gradients", target=targets, steps=500)
    diff = logits[np.arange(2), targets] - forward(model, np.zeros_like(x))[np.arange(2), targets]
    np.testing.assert_allclose(ig.reshape(2, -1).sum(axis=1), diff, rtol=1e-2, atol=1e-3)


def test_smoothgrad_and_vargrad_are_mean_and_population_variance_of_noisy_gradients():
    model = zoo.timeseries_cnn()
    x = zoo.sample_inputs(model, 2)
    targets = np.argmax(forward(model, x), axis=1)  # targets from the clean input
    eps = smoothgrad_noise(model.input_shape, 4, 0.3, 7)
    grads = np.stack([explain(model, x + e, "gradient", target=targets) for e in eps])
    kw = {"noise": 0.3, "samples": 4, "seed": 7}
    np.testing.assert_allclose(explain(model, x, "smoothgrad", **kw), grads.mean(axis=0), rtol=1e-12, atol=1e-15)
    expected_var = ((grads - grads.mean(axis=0)) ** 2).sum(axis=0) / 4
    np.testing.assert_allclose(explain(model, x, "vargrad", **kw), expected_var, rtol=1e-10, atol=1e-15)
    assert not np.allclose(explain(model, x, "smoothgrad", **{**kw, "seed": 8}), grads.mean(axis=0))
    np.testing.assert_allclose(
        explain(model, x, "smoothgrad_x_input", **kw), grads.mean(axis=0) * x, rtol=1e-12, atol=1e-15
    )


def test_smoothgrad_noise_defaults_from_the_spec():
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 1)
    eps = smoothgrad_noise(model.input_shape, 50, 0.2, 0)
    t = int(np.argmax(forward(model, x)))
    expected = np.mean([explain(model, x + e, "gradient", target=t) for e in eps], axis=0)
    np.testing.assert_allclose(explain(model, x, "smoothgrad"), expected, rtol=1e-12, atol=1e-15)


def test_random_uniform_is_the_shared_seeded_map():
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 2)
    r = explain(model, x, "random_uniform", seed=5)
    np.testing.assert_array_equal(r[0], random_uniform_map(model.input_shape, 5))
    np.testing.assert_array_equal(r[0], r[1])
    np.testing.assert_array_equal(r[..., 0], r[..., 2])
    assert np.all(np.abs(r) <= 1)
