"""LRP rules as iNNvestigate rule classes (spec section 3), for the private graph.

iNNvestigate's own rules are used where they implement the spec exactly (checked against the float64
reference in the tests):

- ``ZRule`` (Z: den = z with bias, safe division ``a / (b + 1e-7 [b == 0])``);
- ``EpsilonRule`` (den = z + E sign(z) with sign(0) = +1);
- ``AlphaBetaRule`` (den+ = sum a+w+ + a-w- + b+ + b-, den- = sum a+w- + a-w+ + b- + b+, inhibitor skipped for
  beta = 0);
- ``WSquareRule`` / ``FlatRule`` (denominators from a forward pass of ones through the zero-padded layer, so
  padded positions count nothing);
- ``BoundedRule`` (Z^B: den = sum x w - low w+ - high w-, bounds passed through the zero-padded layer);
- ``ZPlusRule`` (alpha 1, beta 0, bias ignored: deep Taylor).

The rules iNNvestigate lacks are written here against its public ``ReverseMappingBase`` interface:
:class:`SignRule` (SIGN / SIGN-mu), :class:`EpsilonStdXRule` (epsilon = F * std of the layer input, per
sample) and :class:`GammaRule`. :func:`rule_class` turns a :class:`signxai.common.RuleSpec` into a rule class
with its parameters bound, as iNNvestigate's ``rule=[(condition, rule), ...]`` lists expect.
"""

from __future__ import annotations

import innvestigate.analyzer.relevance_based.relevance_rule as rrule
import innvestigate.backend.graph as igraph
import tensorflow as tf

from signxai.common import RuleSpec

from .ops import linear, safe_divide, sign_mu

keras = tf.keras


class _KernelRule(igraph.ReverseMappingBase):
    """Base of the rules below: keeps the (clone's) layer; weights are read live from its variables."""

    def __init__(self, layer: keras.layers.Layer, _state: dict) -> None:
        self._layer = layer

    @property
    def _bias(self) -> tf.Tensor | None:
        return self._layer.bias if getattr(self._layer, "use_bias", False) else None

    def _propagate(self, x: tf.Tensor, z: tf.Tensor, r: tf.Tensor, den: tf.Tensor) -> tf.Tensor:
        """sum_j w_ij r_j / den_j, as the gradient of ``z`` (linear in ``x``) with ``r / den`` as seed."""
        return tf.gradients(z, x, grad_ys=safe_divide(r, den))[0]


class SignRule(_KernelRule):
    """SIGN / SIGN-mu input rule: den = z (bias, no epsilon); R_i = sign_mu(x_i) sum_j w_ij R_j / z_j."""

    mu = 0.0

    def apply(self, Xs: list, _Ys: list, Rs: list, _reverse_state: dict) -> list:
        out = []
        for x, r in zip(Xs, Rs):
            z = linear(self._layer, x, self._layer.kernel, self._bias)
            out.append(sign_mu(x, self.mu) * self._propagate(x, z, r, z))
        return out


class EpsilonStdXRule(_KernelRule):
    """Epsilon rule with E = F * std(a), the population std of each sample's layer input (spec section 3)."""

    stdfactor = 0.25

    def apply(self, Xs: list, _Ys: list, Rs: list, _reverse_state: dict) -> list:
        out = []
        for x, r in zip(Xs, Rs):
            z = linear(self._layer, x, self._layer.kernel, self._bias)
            axes = list(range(1, x.shape.rank))
            eps = self.stdfactor * tf.math.reduce_std(x, axis=axes)
            eps = tf.reshape(eps, [-1] + [1] * (z.shape.rank - 1))
            den = z + eps * tf.where(z >= 0, tf.ones_like(z), -tf.ones_like(z))
            out.append(x * self._propagate(x, z, r, den))
        return out


class GammaRule(_KernelRule):
    """Gamma rule: den = sum a (w + G w+) + b + G b+; R_i = a_i sum_j (w_ij + G w+_ij) R_j / den_j."""

    gamma = 0.25

    def apply(self, Xs: list, _Ys: list, Rs: list, _reverse_state: dict) -> list:
        kernel = self._layer.kernel
        kernel = kernel + self.gamma * tf.nn.relu(kernel)
        bias = self._bias
        if bias is not None:
            bias = bias + self.gamma * tf.nn.relu(bias)
        out = []
        for x, r in zip(Xs, Rs):
            z = linear(self._layer, x, kernel, bias)
            out.append(x * self._propagate(x, z, r, z))
        return out


def rule_class(rule: RuleSpec) -> type[igraph.ReverseMappingBase]:
    """An iNNvestigate rule class implementing ``rule`` with its parameters bound.

    Parameters
    ----------
    rule : signxai.common.RuleSpec
        The rule of a layer, from ``MethodSpec.rule_for``.

    Returns
    -------
    type
        A subclass of iNNvestigate's ``ReverseMappingBase`` taking ``(layer, state)``.
    """
    name = rule.name
    if name == "z":
        return rrule.ZRule
    if name == "epsilon":
        epsilon = float(rule.epsilon)

        class Epsilon(rrule.EpsilonRule):
            def __init__(self, layer, state) -> None:
                super().__init__(layer, state, epsilon=epsilon, bias=True)

        return Epsilon
    if name == "alpha_beta":
        alpha, beta = float(rule.alpha), float(rule.beta)

        class AlphaBeta(rrule.AlphaBetaRule):
            def __init__(self, layer, state) -> None:
                super().__init__(layer, state, alpha=alpha, beta=beta, bias=True)

        return AlphaBeta
    if name == "w_square":
        return rrule.WSquareRule
    if name == "flat":
        return rrule.FlatRule
    if name == "zplus":
        return rrule.ZPlusRule
    if name == "zb":
        low, high = float(rule.low), float(rule.high)

        class Bounded(rrule.BoundedRule):
            def __init__(self, layer, state) -> None:
                super().__init__(layer, state, low=low, high=high)

        return Bounded
    if name == "sign":
        return type("Sign", (SignRule,), {"mu": float(rule.mu or 0.0)})
    if name == "epsilon_std_x":
        return type("EpsilonStdX", (EpsilonStdXRule,), {"stdfactor": float(rule.stdfactor)})
    if name == "gamma":
        return type("Gamma", (GammaRule,), {"gamma": float(rule.gamma)})
    raise ValueError(f"no TensorFlow implementation of LRP rule {name!r}")
