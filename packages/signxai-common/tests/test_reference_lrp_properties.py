"""Properties of the reference LRP on the zoo models: conservation, borders, signs, limits, batch independence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from signxai.common.reference import explain, forward, zoo
from signxai.common.reference import layers as L
from signxai.common.reference.linear import conv_map
from signxai.common.reference.lrp import flat_rule, w_square_rule, zb_rule


def bias_free(model: L.Model) -> L.Model:
    """The model with every bias (and every BatchNorm shift) set to zero."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, (L.Dense, L.Conv1D, L.Conv2D)):
            layer = dataclasses.replace(layer, bias=np.zeros_like(layer.bias))
        elif isinstance(layer, L.BatchNorm):
            layer = dataclasses.replace(layer, beta=np.zeros_like(layer.beta), mean=np.zeros_like(layer.mean))
        layers.append(layer)
    return dataclasses.replace(model, layers=tuple(layers))


CONSERVING = [
    "lrp_z",
    "lrp_alpha_1_beta_0",
    "lrp_gamma_0_25",
    "lrp_flat",
    "lrp_w_square",
    "w2lrp_z",
    "flatlrp_alpha_1_beta_0",
    "zblrp_z_VGG16ILSVRC",
    "deep_taylor",
]


@pytest.mark.parametrize("model_name", sorted(zoo.MODELS))
@pytest.mark.parametrize("method", CONSERVING)
def test_bias_free_rules_conserve_the_target_logit(model_name, method):
    model = bias_free(zoo.MODELS[model_name]())
    x = zoo.sample_inputs(model, 2)
    logits = forward(model, x)
    targets = np.argmax(np.abs(logits), axis=1)
    r = explain(model, x, method, target=targets)
    z_t = logits[np.arange(2), targets]
    np.testing.assert_allclose(r.reshape(2, -1).sum(axis=1), z_t, rtol=1e-9)


def test_alpha2_beta1_conserves_where_both_denominators_are_non_zero():
    rng = np.random.default_rng(6)
    model = L.Model((L.Dense(rng.normal(size=(6, 3)), np.zeros(3)),), input_shape=(6,))
    x = rng.normal(size=(4, 6))
    logits = forward(model, x)
    r = explain(model, x, "lrp_alpha_2_beta_1", target=0)
    np.testing.assert_allclose(r.sum(axis=1), logits[:, 0], rtol=1e-10)
    # with no negative contribution at all (x >= 0, w >= 0) the inhibitor is 0 and the sum is alpha * z_t
    model = L.Model((L.Dense(np.abs(rng.normal(size=(6, 3))), np.zeros(3)),), input_shape=(6,))
    x = np.abs(x)
    np.testing.assert_allclose(
        explain(model, x, "lrp_alpha_2_beta_1", target=0).sum(axis=1), 2 * forward(model, x)[:, 0]
    )


def test_epsilon_and_bias_break_conservation():
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 1)
    z_t = forward(model, x).max()
    assert abs(explain(model, x, "lrp_epsilon_1").sum() - z_t) > 1e-3 * abs(z_t)


def test_flat_and_w_square_count_only_real_taps_at_padded_borders():
    rng = np.random.default_rng(5)
    kernel = rng.normal(size=(3, 3, 1, 1))
    lin = conv_map(L.Conv2D(kernel, np.zeros(1), padding="same"), (4, 4, 1))
    r = np.zeros((1, 16))
    r[0, 0] = 1.0  # relevance on the top-left output: its real taps are inputs (0..1, 0..1) = kernel[1:, 1:]
    flat = flat_rule(lin, r).reshape(4, 4)
    expected = np.zeros((4, 4))
    expected[:2, :2] = 0.25
    np.testing.assert_allclose(flat, expected, atol=1e-15)
    w2 = w_square_rule(lin, r).reshape(4, 4)
    taps = kernel[1:, 1:, 0, 0] ** 2
    expected[:2, :2] = taps / taps.sum()
    np.testing.assert_allclose(w2, expected, atol=1e-15)
    # an interior output has all 9 taps
    r = np.zeros((1, 16))
    r[0, 5] = 1.0  # output (1, 1)
    np.testing.assert_allclose(flat_rule(lin, r).reshape(4, 4)[:3, :3], np.full((3, 3), 1 / 9))


def test_zb_counts_only_real_taps_at_padded_borders():
    kernel = np.array([[[2.0]], [[-1.0]], [[3.0]]])  # Conv1D k=3, one channel in and out
    lin = conv_map(L.Conv1D(kernel, np.zeros(1), padding="same"), (3, 1))
    x = np.array([[0.5, -0.25, 1.0]])
    r = np.zeros((1, 3))
    r[0, 0] = 1.0  # output 0 sees x_0 with w = -1 and x_1 with w = 3 (the padded x_{-1} is no input)
    low, high = -1.0, 2.0
    t0 = 0.5 * -1.0 - low * 0.0 - high * -1.0  # 1.5
    t1 = -0.25 * 3.0 - low * 3.0 - high * 0.0  # 2.25
    np.testing.assert_allclose(zb_rule(x, lin, r, low, high), [[t0 / (t0 + t1), t1 / (t0 + t1), 0.0]])


@pytest.mark.parametrize("model_name", ["image_cnn", "timeseries_cnn"])
def test_alpha1_beta0_is_non_negative_for_non_negative_inputs(model_name):
    # (not pooling_cnn: its ELU outputs are negative and average pooling uses the Z rule, which may flip signs)
    model = bias_free(zoo.MODELS[model_name]())
    x = np.abs(zoo.sample_inputs(model, 2))
    logits = forward(model, x)
    targets = np.argmax(logits, axis=1)
    assert np.all(logits[np.arange(2), targets] > 0)
    assert np.all(explain(model, x, "lrp_alpha_1_beta_0", target=targets) >= 0)


@pytest.mark.parametrize("model_name", ["image_cnn", "timeseries_cnn"])
def test_deep_taylor_is_non_negative_on_relu_models_with_biases(model_name):
    model = zoo.MODELS[model_name]()
    x = zoo.sample_inputs(model, 2)
    logits = forward(model, x)
    targets = np.argmax(logits, axis=1)
    assert np.all(logits[np.arange(2), targets] > 0)
    r = explain(model, x, "deep_taylor", target=targets)
    assert np.all(r >= 0) and np.any(r > 0)


@pytest.mark.parametrize("model_name", sorted(zoo.MODELS))
def test_epsilon_to_zero_is_the_z_rule(model_name):
    model = zoo.MODELS[model_name]()
    x = zoo.sample_inputs(model, 2)
    z = explain(model, x, "lrp_z")
    eps = explain(model, x, "lrp_epsilon_1", epsilon=1e-10)
    np.testing.assert_allclose(eps, z, atol=1e-6 * np.abs(z).max())
    assert not np.allclose(explain(model, x, "lrp_epsilon_1"), z, atol=1e-3 * np.abs(z).max())


@pytest.mark.parametrize("body", ["epsilon_100", "epsilon_0_25_std_x"])
def test_sign_mu_zero_is_sign(body):
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 2)
    np.testing.assert_array_equal(explain(model, x, f"lrpsign_{body}_mu_0"), explain(model, x, f"lrpsign_{body}"))
    assert not np.array_equal(explain(model, x, f"lrpsign_{body}_mu_0_5"), explain(model, x, f"lrpsign_{body}"))


@pytest.mark.parametrize("method", ["lrp_epsilon_0_25_std_x", "lrpsign_epsilon_1_std_x", "w2lrp_epsilon_3_std_x"])
def test_std_x_is_per_sample(method):
    model = zoo.pooling_cnn()
    x = zoo.sample_inputs(model, 2)
    both = explain(model, x, method, target=[0, 1])
    # equal up to the rounding of batched matrix products
    np.testing.assert_allclose(both[:1], explain(model, x[:1], method, target=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(both[1:], explain(model, x[1:], method, target=1), rtol=1e-12, atol=1e-15)
    # the batch's other sample would change E if std_x were taken over the batch
    other = explain(model, np.concatenate([x[:1], 10 * x[1:]]), method, target=[0, 1])
    np.testing.assert_allclose(other[:1], both[:1], rtol=1e-12, atol=1e-15)


def test_sign_input_rule_differs_from_z_only_on_the_input_layer():
    model = zoo.timeseries_cnn()
    x = zoo.sample_inputs(model, 1)
    x_pos = np.abs(x) + 0.1  # sign(x) = 1 everywhere: SIGN on the input layer is R = sum_j w_ij s_j
    sign_map = explain(model, x_pos, "lrpsign_z")
    z_map = explain(model, x_pos, "lrp_z")
    np.testing.assert_allclose(sign_map * x_pos, z_map, rtol=1e-10, atol=1e-14)


def test_output_seed_is_the_target_logit():
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 1)
    # scaling the last layer scales z_t and every relevance by the same factor squared (seed and ratios)
    last = model.layers[-1]
    scaled = dataclasses.replace(
        model, layers=(*model.layers[:-1], dataclasses.replace(last, weight=2 * last.weight, bias=2 * last.bias))
    )
    np.testing.assert_allclose(explain(scaled, x, "lrp_z", target=1), 2 * explain(model, x, "lrp_z", target=1))
