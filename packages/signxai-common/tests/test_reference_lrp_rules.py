"""LRP rules of the reference on a tiny Dense layer, every expected number worked out by hand from spec §3.

Layer: x = (1, -0.5, 2), W = [[1, -1], [2, 0.5], [-1, 1]], b = (0.5, -0.25), target 1.
z_1 = 1*(-1) + (-0.5)*0.5 + 2*1 - 0.25 = 0.5, so the seed is R_1 = z_t = 0.5 (and R_0 = 0).
Column 1: w = (-1, 0.5, 1), w+ = (0, 0.5, 1), w- = (-1, 0, 0), b+ = 0, b- = -0.25.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from signxai.common.reference import explain
from signxai.common.reference import layers as L

W = np.array([[1.0, -1.0], [2.0, 0.5], [-1.0, 1.0]])
B = np.array([0.5, -0.25])
X = np.array([[1.0, -0.5, 2.0]])


def dense_model(bias: np.ndarray = B) -> L.Model:
    return L.Model((L.Dense(W, bias),), input_shape=(3,))


def _std_x() -> float:
    mean = (1.0 - 0.5 + 2.0) / 3
    return math.sqrt(((1 - mean) ** 2 + (-0.5 - mean) ** 2 + (2 - mean) ** 2) / 3)


HAND = {
    # Z: s = 0.5 / 0.5 = 1; R = x * w
    "lrp_z": [-1.0, -0.25, 2.0],
    # Epsilon(1): den = 0.5 + 1 = 1.5, s = 1/3
    "lrp_epsilon_1": [-1 / 3, -1 / 12, 2 / 3],
    # alpha 2 beta 1: den+ = 2*1 - 0.25 = 1.75, s+ = 2/7, R+ = (0, 0, 4/7);
    # den- = 1*(-1) + (-0.5)*0.5 - 0.25 = -1.5, s- = -1/3, R- = (1/3, 1/12, 0); R = 2 R+ - R-
    "lrp_alpha_2_beta_1": [-1 / 3, -1 / 12, 8 / 7],
    "lrp_alpha_1_beta_0": [0.0, 0.0, 4 / 7],
    # gamma 0.25: w' = (-1, 0.625, 1.25), b' = -0.25, z' = 0.9375, s = 8/15
    "lrp_gamma_0_25": [-8 / 15, -0.5 * 0.625 * 8 / 15, 2 * 1.25 * 8 / 15],
    # Flat: 0.5 / 3 each
    "lrp_flat": [1 / 6, 1 / 6, 1 / 6],
    # W^2: w^2 = (1, 0.25, 1), sum 2.25
    "lrp_w_square": [0.5 / 2.25, 0.125 / 2.25, 0.5 / 2.25],
    # SIGN: den = z = 0.5, s = 1, R = sign(x) * w
    "lrpsign_z": [-1.0, -0.5, 1.0],
    # SIGN ignores the body's epsilon on the input layer
    "lrpsign_epsilon_100": [-1.0, -0.5, 1.0],
    # SIGN-mu(0.5): sign_mu(x) = (+1, -1, +1)
    "lrpsign_epsilon_100_mu_0_5": [-1.0, -0.5, 1.0],
    # SIGN-mu(-0.5): x = -0.5 >= -0.5 -> +1
    "lrpsign_epsilon_100_mu_neg_0_5": [-1.0, 0.5, 1.0],
    # Deep Taylor (Z+, bias ignored): den = 2, s = 0.25
    "deep_taylor": [0.0, 0.0, 0.5],
    # Epsilon std_x(1): E = population std of x, s = 0.5 / (0.5 + E)
    "lrp_epsilon_1_std_x": [v * 0.5 / (0.5 + _std_x()) for v in (-1.0, -0.25, 2.0)],
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_rule_on_a_dense_layer_matches_the_hand_computation(name):
    np.testing.assert_allclose(explain(dense_model(), X, name, target=1)[0], HAND[name], rtol=1e-12, atol=1e-15)


def test_sign_mu_above_every_input():
    # mu = 1.5: sign_mu(x) = (-1, -1, +1) -> R = (1, -0.5, 1)
    np.testing.assert_allclose(explain(dense_model(), X, "lrpsign_z_mu_1_5", target=1)[0], [1.0, -0.5, 1.0])


def test_sign_of_zero_is_plus_one():
    x = np.array([[0.0, -0.5, 2.0]])  # z_1 = 0 - 0.25 + 2 - 0.25 = 1.5 = R_1, so s = 1
    np.testing.assert_allclose(explain(dense_model(), x, "lrpsign_z", target=1)[0], [-1.0, -0.5, 1.0])
    np.testing.assert_allclose(explain(dense_model(), x, "lrp_z", target=1)[0], [0.0, -0.25, 2.0])


def test_zb_rule_hand_computed():
    # low = -1, high = 2: terms x w - low w+ - high w- = (-1 + 2, -0.25 + 0.5, 2 + 1) = (1, 0.25, 3), den = 4.25
    r = explain(dense_model(), X, "zblrp_z", target=1, low=-1.0, high=2.0)[0]
    np.testing.assert_allclose(r, [0.5 / 4.25, 0.125 / 4.25, 1.5 / 4.25], rtol=1e-12)


def test_vgg_bounds_of_zb():
    low, high = -123.68, 151.061
    terms = [1 * -1 - low * 0 - high * -1, -0.5 * 0.5 - low * 0.5, 2 * 1 - low * 1]
    r = explain(dense_model(), X, "zblrp_z_VGG16ILSVRC", target=1)[0]
    np.testing.assert_allclose(r, [0.5 * t / sum(terms) for t in terms], rtol=1e-12)


def test_safe_division_when_z_is_exactly_zero():
    bias = np.array([0.5, -0.75])  # z_1 = 0 exactly
    x = X
    r = explain(dense_model(bias), x, "lrp_z", target=1)[0]
    # seed z_t = 0, so R = 0 * ... = 0 (no NaN)
    np.testing.assert_array_equal(r, [0.0, 0.0, 0.0])


def two_layer_model() -> L.Model:
    """Dense(3 -> 2) + ReLU + Dense(2 -> 1): the input rule applies to the first layer only."""
    w2 = np.array([[2.0], [-1.0]])
    return L.Model((L.Dense(W, B), L.ReLU(), L.Dense(w2, np.array([0.1]))), input_shape=(3,))


def test_prefix_rule_applies_to_the_first_layer_and_body_rule_to_the_rest():
    # forward: z = (-1.5, 0.5), a = (0, 0.5), out = 2*0 - 0.5 + 0.1 = -0.4 = R_out
    # epsilon(1) on layer 2: den = -0.4 - 1 = -1.4, s = -0.4 / -1.4 = 2/7; R_a = a * w2 * s = (0, -1/7)
    # W^2 on layer 1: R_i = w_i1^2 / 2.25 * (-1/7)  (column 0 carries no relevance)
    r = explain(two_layer_model(), X, "w2lrp_epsilon_1", target=0)[0]
    np.testing.assert_allclose(r, [-1 / 7 * v / 2.25 for v in (1.0, 0.25, 1.0)], rtol=1e-12)
    # Flat on the input layer: R_i = (-1/7) / 3
    np.testing.assert_allclose(explain(two_layer_model(), X, "flatlrp_epsilon_1", target=0)[0], [-1 / 21] * 3)
    # lrpz_epsilon_1: Z on the input layer: R_i = x_i w_i1 (-1/7) / z_1 with z_1 = 0.5
    np.testing.assert_allclose(
        explain(two_layer_model(), X, "lrpz_epsilon_1", target=0)[0], [v * (-1 / 7) / 0.5 for v in (-1.0, -0.25, 2.0)]
    )


def test_sequential_composites_use_epsilon_on_dense_layers():
    # both layers Dense -> epsilon(0.1) everywhere, identical to lrp_epsilon_0_1 (and the same for b)
    for name in ("lrp_sequential_composite_a", "lrp_sequential_composite_b"):
        np.testing.assert_allclose(
            explain(two_layer_model(), X, name, target=0), explain(two_layer_model(), X, "lrp_epsilon_0_1", target=0)
        )


def test_sequential_composites_use_alpha_beta_on_convolutions():
    # a 1x1 Conv1D over one position is the Dense layer W; then Flatten + Dense w2
    conv = L.Conv1D(W[None], B, name="c")
    w2 = np.array([[2.0], [-1.0]])
    model = L.Model((conv, L.ReLU(), L.Flatten(), L.Dense(w2, np.array([0.1]))), input_shape=(1, 3))
    # layer 2 epsilon(0.1): den = -0.4 - 0.1 = -0.5, s = 0.8, R_a = (0, -1 * 0.5 * 0.8) = (0, -0.4)
    # layer 1 alpha 1 beta 0 on column 1 (see module docstring): den+ = 1.75, R = (0, 0, 2 * (-0.4) / 1.75)
    r = explain(model, X[:, None, :], "lrp_sequential_composite_a", target=0)[0, 0]
    np.testing.assert_allclose(r, [0.0, 0.0, -0.8 / 1.75], rtol=1e-12)
    # composite b: alpha 2 beta 1: 2 * R+ - R- with R- = -0.4 * (1*(-1), (-0.5)*0.5, 0) / (-1.5)
    r = explain(model, X[:, None, :], "lrp_sequential_composite_b", target=0)[0, 0]
    expected = [2 * 0 - (-0.4 * -1 / -1.5), 2 * 0 - (-0.4 * -0.25 / -1.5), 2 * (-0.8 / 1.75)]
    np.testing.assert_allclose(r, expected, rtol=1e-12)


def test_std_x_uses_the_input_of_each_layer():
    # layer 2 input a = (0, 0.5): population std 0.25, E = 1 * 0.25; den = -0.4 - 0.25, s = -0.4 / -0.65
    # layer 1 (lrpz: Z): R_i = x_i w_i1 * R_a1 / z_1 with R_a1 = 0.5 * (-1) * s and z_1 = 0.5
    r_a1 = 0.5 * -1.0 * (-0.4 / -0.65)
    r = explain(two_layer_model(), X, "lrpz_epsilon_1_std_x", target=0)[0]
    np.testing.assert_allclose(r, [v * r_a1 / 0.5 for v in (-1.0, -0.25, 2.0)], rtol=1e-12)
