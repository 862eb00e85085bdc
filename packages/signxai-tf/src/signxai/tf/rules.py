"""LRP rules (spec section 3) on any layer of the clone with a linear map: Dense, SpatialConv, ChannelAffine.

Every rule is written once against the layer's map ``f(x, kernel, bias)``
(:func:`signxai.tf.clone_layers.linear`): sums ``sum_j w_ij s_j`` are the gradient of ``f(t, w, None)`` at any
``t`` with ``s`` as seed (f is linear in t), and denominators that count only real taps (W², Flat, Z^B) are
``f`` applied to ones, so zero padding, groups and depthwise kernels are handled by ``f`` itself. Safe division
``a / (b + 1e-7 [b == 0])`` and sign(0) = +1 throughout.

:func:`apply_rule` computes the relevance at the layer input; :func:`rule_mapping` wraps it as an iNNvestigate
reverse mapping.
"""

from __future__ import annotations

import innvestigate.backend.graph as igraph
import tensorflow as tf

from signxai.common import RuleSpec

from .clone_layers import kernel_and_bias, linear
from .ops import safe_divide, sign_mu

keras = tf.keras


def _pos(t: tf.Tensor) -> tf.Tensor:
    return tf.nn.relu(t)


def _neg(t: tf.Tensor) -> tf.Tensor:
    return tf.minimum(t, tf.zeros_like(t))


def _sign(t: tf.Tensor) -> tf.Tensor:
    return tf.where(t >= 0, tf.ones_like(t), -tf.ones_like(t))


def _required(rule: RuleSpec, name: str) -> float:
    """A parameter of ``rule``; present and valid because :class:`RuleSpec` checks it on construction."""
    return float(getattr(rule, name))


def apply_rule(rule: RuleSpec, layer: keras.layers.Layer, x: tf.Tensor, r: tf.Tensor) -> tf.Tensor:
    """Relevance at the input ``x`` of ``layer`` under ``rule``, given the relevance ``r`` at its output."""
    w, b = kernel_and_bias(layer)

    def f(t: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | None = None) -> tf.Tensor:
        return linear(layer, t, kernel, bias)

    def back(kernel: tf.Tensor, s: tf.Tensor) -> tf.Tensor:
        """sum_j w_ij s_j (the transpose of the linear map applied to s)."""
        t = tf.zeros_like(x)
        return tf.gradients(f(t, kernel), t, grad_ys=s)[0]

    name = rule.name
    if name in ("z", "epsilon", "epsilon_std_x", "sign", "gamma"):
        kernel, bias = w, b
        if name == "gamma":
            gamma = _required(rule, "gamma")
            kernel = w + gamma * _pos(w)
            bias = None if b is None else b + gamma * _pos(b)
        z = f(x, kernel, bias)
        den = z
        if name == "epsilon":
            den = z + _required(rule, "epsilon") * _sign(z)
        elif name == "epsilon_std_x":
            axes = list(range(1, x.shape.rank))
            eps = _required(rule, "stdfactor") * tf.math.reduce_std(x, axis=axes)
            den = z + tf.reshape(eps, [-1] + [1] * (z.shape.rank - 1)) * _sign(z)
        grad = back(kernel, safe_divide(r, den))
        if name == "sign":
            return sign_mu(x, 0.0 if rule.mu is None else float(rule.mu)) * grad
        return x * grad
    if name in ("alpha_beta", "zplus"):
        alpha, beta = (1.0, 0.0) if name == "zplus" else (_required(rule, "alpha"), _required(rule, "beta"))
        bias = None if (name == "zplus" or b is None) else b
        a_pos, a_neg = _pos(x), _neg(x)
        w_pos, w_neg = _pos(w), _neg(w)

        def part(w_a: tf.Tensor, w_b: tf.Tensor) -> tf.Tensor:
            den = f(a_pos, w_a) + f(a_neg, w_b)
            if bias is not None:
                den = den + bias
            s = safe_divide(r, den)
            return a_pos * back(w_a, s) + a_neg * back(w_b, s)

        out = alpha * part(w_pos, w_neg)
        if beta != 0:
            out = out - beta * part(w_neg, w_pos)
        return out
    if name in ("w_square", "flat"):
        kernel = tf.square(w) if name == "w_square" else tf.ones_like(w)
        den = f(tf.ones_like(x), kernel)
        return back(kernel, safe_divide(r, den))
    if name == "zb":
        low, high = _required(rule, "low"), _required(rule, "high")
        w_pos, w_neg = _pos(w), _neg(w)
        ones = tf.ones_like(x)
        den = f(x, w) - low * f(ones, w_pos) - high * f(ones, w_neg)
        s = safe_divide(r, den)
        return x * back(w, s) - low * back(w_pos, s) - high * back(w_neg, s)
    raise ValueError(f"no TensorFlow implementation of LRP rule {name!r}")


def rule_mapping(rule: RuleSpec) -> type[igraph.ReverseMappingBase]:
    """An iNNvestigate reverse mapping applying ``rule`` to a one-input layer with a linear map."""

    class RuleMapping(igraph.ReverseMappingBase):
        def __init__(self, layer: keras.layers.Layer, _state: dict) -> None:
            self._layer = layer

        def apply(self, Xs: list, _Ys: list, Rs: list, _reverse_state: dict) -> list:
            return [apply_rule(rule, self._layer, x, r) for x, r in zip(Xs, Rs)]

    RuleMapping.__name__ = f"Rule_{rule.name}"
    return RuleMapping
