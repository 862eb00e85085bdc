"""The activation family of the reference (spec section 8): values by hand, derivatives by finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from signxai.common.reference.activations import ELEMENTWISE, activate, derivative, softmax_vjp

ALPHA = {"elu": 0.7, "leaky_relu": 0.2}


def test_values_by_hand():
    x = np.array([-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 7.0])
    np.testing.assert_allclose(activate("relu6", x), [0, 0, 0, 0, 1, 3, 6])
    np.testing.assert_allclose(activate("hard_sigmoid", x), [0, 0, 2 / 6, 0.5, 4 / 6, 1, 1])
    np.testing.assert_allclose(activate("hard_swish", x), [0, 0, -2 / 6, 0, 4 / 6, 3, 7])
    np.testing.assert_allclose(activate("leaky_relu", x, 0.2), [-0.8, -0.6, -0.2, 0, 1, 3, 7])
    np.testing.assert_allclose(activate("elu", x, 0.7), np.where(x > 0, x, 0.7 * (np.exp(x) - 1)))
    selu_neg = 1.0507009873554805 * 1.6732632423543772 * (math.exp(-1.0) - 1)
    np.testing.assert_allclose(activate("selu", np.array([-1.0, 2.0])), [selu_neg, 2 * 1.0507009873554805])
    np.testing.assert_allclose(activate("gelu", np.array([1.0, -1.0])), [0.8413447460685429, -0.15865525393145707])
    np.testing.assert_allclose(activate("silu", np.array([1.0])), [1 / (1 + math.exp(-1))])
    np.testing.assert_allclose(activate("softplus", np.array([0.0, 50.0])), [math.log(2), 50.0])
    np.testing.assert_allclose(activate("sigmoid", np.array([0.0, 2.0])), [0.5, 1 / (1 + math.exp(-2))])
    np.testing.assert_allclose(activate("tanh", np.array([0.5])), [math.tanh(0.5)])
    np.testing.assert_allclose(activate("softmax", np.array([[0.0, math.log(3.0)]])), [[0.25, 0.75]])


@pytest.mark.parametrize("fn", ELEMENTWISE)
def test_derivatives_equal_finite_differences_away_from_kinks(fn):
    x = np.linspace(-7.03, 7.01, 94)  # at least 0.04 away from the kinks 0, +-3 and 6
    h = 1e-6
    fd = (activate(fn, x + h, ALPHA.get(fn)) - activate(fn, x - h, ALPHA.get(fn))) / (2 * h)
    np.testing.assert_allclose(derivative(fn, x, ALPHA.get(fn)), fd, atol=1e-8)


def test_derivatives_at_the_kinks_follow_pytorch_and_tensorflow():
    np.testing.assert_array_equal(derivative("relu", np.array([0.0])), [0.0])
    np.testing.assert_array_equal(derivative("relu6", np.array([0.0, 6.0])), [0.0, 0.0])
    np.testing.assert_array_equal(derivative("leaky_relu", np.array([0.0]), 0.2), [0.2])
    np.testing.assert_array_equal(derivative("elu", np.array([0.0]), 0.7), [0.7])
    np.testing.assert_array_equal(derivative("hard_sigmoid", np.array([-3.0, 3.0])), [0.0, 0.0])
    np.testing.assert_array_equal(derivative("hard_swish", np.array([-3.0, 3.0])), [-0.5, 1.5])


def test_softmax_vjp_equals_the_jacobian():
    x = np.array([[0.3, -1.2, 2.0]])
    s = np.array([[1.0, -0.5, 0.25]])
    y = activate("softmax", x)[0]
    jacobian = np.diag(y) - np.outer(y, y)
    np.testing.assert_allclose(softmax_vjp(x, s)[0], jacobian.T @ s[0], atol=1e-15)
