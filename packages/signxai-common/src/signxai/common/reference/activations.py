"""Element-wise activations (ReLU, ELU and the family of spec section 8) and their derivatives, float64.

Definitions are those of :data:`~signxai.common.reference.layers.ACTIVATION_FUNCTIONS`. Derivatives at the
kinks follow PyTorch and TensorFlow: relu'(0) = 0; relu6' = 1 on (0, 6) only; leaky_relu'(0) = alpha;
elu'(0) = alpha, selu'(0) = scale * alpha; hard_sigmoid' = 1/6 on (-3, 3) only; hard_swish' = x/3 + 1/2 on
[-3, 3], 0 below, 1 above. Softmax (over the last axis) is not element-wise: :func:`softmax_vjp`.
"""

from __future__ import annotations

import math

import numpy as np

from .layers import ACTIVATION_FUNCTIONS

SELU_SCALE = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772

#: Every element-wise activation name: ReLU / ELU layers plus the Activation functions except softmax.
ELEMENTWISE = ("relu", "elu", *(fn for fn in ACTIVATION_FUNCTIONS if fn != "softmax"))

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _phi_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def activate(fn: str, x: np.ndarray, alpha: float | None = None) -> np.ndarray:
    """``fn(x)`` element-wise (``alpha``: ELU's and leaky_relu's parameter); softmax over the last axis."""
    if fn == "relu":
        return np.maximum(x, 0.0)
    if fn == "elu":
        return np.where(x > 0, x, _alpha(fn, alpha) * np.expm1(np.minimum(x, 0.0)))
    if fn == "relu6":
        return np.clip(x, 0.0, 6.0)
    if fn == "leaky_relu":
        return np.where(x >= 0, x, _alpha(fn, alpha) * x)
    if fn == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    if fn == "gelu":
        return x * _phi_cdf(x)
    if fn == "silu":
        return x * _sigmoid(x)
    if fn == "hard_sigmoid":
        return _hard_sigmoid(x)
    if fn == "hard_swish":
        return x * _hard_sigmoid(x)
    if fn == "softplus":
        return np.logaddexp(0.0, x)
    if fn == "tanh":
        return np.tanh(x)
    if fn == "sigmoid":
        return _sigmoid(x)
    if fn == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(f"unknown activation {fn!r}")


def derivative(fn: str, x: np.ndarray, alpha: float | None = None) -> np.ndarray:
    """f'(x) element-wise for an element-wise ``fn`` (see the module docstring for the kinks)."""
    if fn == "relu":
        return (x > 0).astype(np.float64)
    if fn == "elu":
        return np.where(x > 0, 1.0, _alpha(fn, alpha) * np.exp(np.minimum(x, 0.0)))
    if fn == "relu6":
        return ((x > 0) & (x < 6)).astype(np.float64)
    if fn == "leaky_relu":
        return np.where(x > 0, 1.0, _alpha(fn, alpha))
    if fn == "selu":
        return SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0.0)))
    if fn == "gelu":
        return _phi_cdf(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    if fn == "silu":
        s = _sigmoid(x)
        return s * (1.0 + x * (1.0 - s))
    if fn == "hard_sigmoid":
        return ((x > -3) & (x < 3)) / 6.0
    if fn == "hard_swish":
        return np.where(x < -3, 0.0, np.where(x <= 3, x / 3.0 + 0.5, 1.0))
    if fn == "softplus":
        return _sigmoid(x)
    if fn == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if fn == "sigmoid":
        s = _sigmoid(x)
        return s * (1.0 - s)
    raise ValueError(f"no element-wise derivative for activation {fn!r}")


def softmax_vjp(x: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Signal at the input of a softmax over the last axis: J^T signal = y * (signal - sum(signal * y))."""
    y = activate("softmax", x)
    return y * (signal - (signal * y).sum(axis=-1, keepdims=True))


def _alpha(fn: str, alpha: float | None) -> float:
    if alpha is None:
        raise ValueError(f"activation {fn!r} needs alpha")
    return float(alpha)
