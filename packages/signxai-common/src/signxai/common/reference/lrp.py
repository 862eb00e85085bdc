"""LRP rules (spec section 3) as matrix algebra on one linear layer, and the LRP backward pass.

Every rule function takes the layer's input activations ``a`` (batch, in_flat), the layer as a
:class:`~signxai.common.reference.linear.LinearMap` and the relevance ``r`` at its output (batch, out_flat),
and returns the relevance at its input (batch, in_flat). Rows are samples and never interact.
Notation: s = r / den (safe division), ``s @ W.T`` = sum_j w_ij s_j.
"""

from __future__ import annotations

import numpy as np

from ..signs import per_sample_std, safe_divide, sign, sign_mu
from ..spec import MethodSpec, RuleSpec
from .gradients import output_signal, propagate, route_maxpool, split_concat
from .graph import layers_by_id, resolved_inputs
from .layers import GATE_FUNCTIONS, INPUT, Activation, Model, Multiply
from .linear import LinearMap
from .ops import AddOp, ConcatOp, Graph, MaxPoolOp, MultiplyOp, Node, is_weighted, model_ops, run_ops


def _pos(v: np.ndarray) -> np.ndarray:
    return np.maximum(v, 0.0)


def _neg(v: np.ndarray) -> np.ndarray:
    return np.minimum(v, 0.0)


def z_rule(a: np.ndarray, lin: LinearMap, r: np.ndarray, use_bias: bool = True) -> np.ndarray:
    """Z: den = z; R_i = a_i sum_j w_ij s_j."""
    z = a @ lin.weight + (lin.bias if use_bias else 0.0)
    return a * (safe_divide(r, z) @ lin.weight.T)


def epsilon_rule(a: np.ndarray, lin: LinearMap, r: np.ndarray, epsilon: float | np.ndarray) -> np.ndarray:
    """Epsilon(E): den = z + E sign(z) (sign(0) = +1); R_i = a_i sum_j w_ij s_j."""
    z = a @ lin.weight + lin.bias
    return a * (safe_divide(r, z + epsilon * sign(z)) @ lin.weight.T)


def epsilon_std_x_rule(a: np.ndarray, lin: LinearMap, r: np.ndarray, stdfactor: float) -> np.ndarray:
    """Epsilon with E = F * (population std of this sample's layer input over all its elements)."""
    return epsilon_rule(a, lin, r, stdfactor * per_sample_std(a))


def _alpha_beta_part(
    a_pos: np.ndarray, a_neg: np.ndarray, w_a: np.ndarray, w_b: np.ndarray, bias: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """den = a+ w_a + a- w_b + bias; R_i = a+_i sum_j w_a_ij s_j + a-_i sum_j w_b_ij s_j."""
    s = safe_divide(r, a_pos @ w_a + a_neg @ w_b + bias)
    return a_pos * (s @ w_a.T) + a_neg * (s @ w_b.T)


def alpha_beta_rule(
    a: np.ndarray, lin: LinearMap, r: np.ndarray, alpha: float, beta: float, use_bias: bool = True
) -> np.ndarray:
    """Alpha-beta (spec section 3): both denominators include b+ + b- (when ``use_bias``); R = A R+ - B R-,
    the inhibitor skipped when B = 0."""
    w_pos, w_neg = _pos(lin.weight), _neg(lin.weight)
    bias = (_pos(lin.bias) + _neg(lin.bias)) if use_bias else np.zeros_like(lin.bias)
    a_pos, a_neg = _pos(a), _neg(a)
    out = alpha * _alpha_beta_part(a_pos, a_neg, w_pos, w_neg, bias, r)
    if beta != 0:
        out = out - beta * _alpha_beta_part(a_pos, a_neg, w_neg, w_pos, bias, r)
    return out


def gamma_rule(a: np.ndarray, lin: LinearMap, r: np.ndarray, gamma: float) -> np.ndarray:
    """Gamma(G): w -> w + G w+, b -> b + G b+; then the Z rule."""
    w = lin.weight + gamma * _pos(lin.weight)
    z = a @ w + lin.bias + gamma * _pos(lin.bias)
    return a * (safe_divide(r, z) @ w.T)


def _no_activation_rule(w: np.ndarray, r: np.ndarray) -> np.ndarray:
    """R_i = sum_j w_ij R_j / sum_i' w_i'j (the column sums run over real taps only)."""
    return safe_divide(r, w.sum(axis=0)) @ w.T


def flat_rule(lin: LinearMap, r: np.ndarray) -> np.ndarray:
    """Flat: W^2 with every (structural) weight = 1."""
    return _no_activation_rule(lin.mask.astype(np.float64), r)


def w_square_rule(lin: LinearMap, r: np.ndarray) -> np.ndarray:
    """W^2: R_i = sum_j w_ij^2 R_j / sum_i' w_i'j^2."""
    return _no_activation_rule(lin.weight**2, r)


def sign_rule(a: np.ndarray, lin: LinearMap, r: np.ndarray, mu: float) -> np.ndarray:
    """SIGN-mu: den = z (bias included, no epsilon); R_i = sign_mu(x_i) sum_j w_ij s_j (mu = 0: SIGN)."""
    z = a @ lin.weight + lin.bias
    return sign_mu(a, mu) * (safe_divide(r, z) @ lin.weight.T)


def zb_rule(a: np.ndarray, lin: LinearMap, r: np.ndarray, low: float, high: float) -> np.ndarray:
    """Z^B: den = sum_i (x_i w_ij - low w+_ij - high w-_ij) over real taps; R_i = sum_j (same) s_j."""
    w, w_pos, w_neg = lin.weight, _pos(lin.weight), _neg(lin.weight)
    ones = np.ones_like(a)
    den = a @ w - low * (ones @ w_pos) - high * (ones @ w_neg)
    s = safe_divide(r, den)
    return a * (s @ w.T) - low * (s @ w_pos.T) - high * (s @ w_neg.T)


def apply_rule(rule: RuleSpec, a: np.ndarray, lin: LinearMap, r: np.ndarray) -> np.ndarray:
    """Relevance at the input of a layer with weights under ``rule``."""
    name = rule.name
    if name == "z":
        return z_rule(a, lin, r)
    if name == "epsilon":
        return epsilon_rule(a, lin, r, _required(rule, "epsilon"))
    if name == "epsilon_std_x":
        return epsilon_std_x_rule(a, lin, r, _required(rule, "stdfactor"))
    if name == "alpha_beta":
        return alpha_beta_rule(a, lin, r, _required(rule, "alpha"), _required(rule, "beta"))
    if name == "zplus":
        return alpha_beta_rule(a, lin, r, 1.0, 0.0, use_bias=False)
    if name == "gamma":
        return gamma_rule(a, lin, r, _required(rule, "gamma"))
    if name == "flat":
        return flat_rule(lin, r)
    if name == "w_square":
        return w_square_rule(lin, r)
    if name == "sign":
        return sign_rule(a, lin, r, 0.0 if rule.mu is None else rule.mu)
    if name == "zb":
        return zb_rule(a, lin, r, _required(rule, "low"), _required(rule, "high"))
    raise ValueError(f"unknown LRP rule {name!r}")


def _required(rule: RuleSpec, field: str) -> float:
    value = getattr(rule, field)
    if value is None:
        raise ValueError(f"LRP rule {rule.name!r} needs {field}")
    return float(value)


def input_layers(graph: Graph) -> set[str]:
    """Names of the LRP input layers: the Dense/Conv nodes reached from the model input without passing another
    Dense/Conv (an Affine, pooling, padding or activation on the way does not count)."""
    users: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for i in node.inputs:
            users.setdefault(i, []).append(node)
    found: set[str] = set()
    frontier, seen = [INPUT], {INPUT}
    while frontier:
        for node in users.get(frontier.pop(), []):
            if node.name in seen:
                continue
            seen.add(node.name)
            if is_weighted(node.op):
                found.add(node.name)
            else:
                frontier.append(node.name)
    return found


def unsupported_parts(model: Model) -> list[str]:
    """Every part of ``model`` that LRP cannot explain (spec section 8), grouped by kind; empty when fine.

    A Multiply must be a gate ``x * g`` with ``g`` the output of an Activation in :data:`~.layers.GATE_FUNCTIONS`;
    a softmax Activation may only be such a gate.
    """
    by_id = layers_by_id(model)
    wiring = resolved_inputs(model)
    gates: set[str] = set()
    products = []
    for lid, layer in by_id.items():
        if isinstance(layer, Multiply):
            g = by_id.get(wiring[lid][-1])
            if isinstance(g, Activation) and g.fn in GATE_FUNCTIONS:
                gates.add(lid)
            else:
                what = "the model input" if g is None else f"{type(g).__name__} {g.name!r}"
                products.append(f"{layer.name!r} (second input: {what})")
    softmaxes = []
    for lid, layer in by_id.items():
        if isinstance(layer, Activation) and layer.fn == "softmax":
            uses = [n for n, ins in wiring.items() if lid in ins]
            if not uses or any(n not in gates or wiring[n][0] == lid for n in uses):
                softmaxes.append(repr(layer.name))
    problems = []
    if products:
        problems.append(
            f"Multiply layers that are not gates x * g (g a {'/'.join(GATE_FUNCTIONS)} Activation): "
            + ", ".join(products)
        )
    if softmaxes:
        problems.append("softmax Activations used other than as the gate of a Multiply: " + ", ".join(softmaxes))
    return problems


def add_rule(xs: list[np.ndarray], r: np.ndarray) -> list[np.ndarray]:
    """Addition: R_k = x_k / (sum_j x_j) * R with the safe division (the Z rule on the sum)."""
    s = safe_divide(r, np.sum(xs, axis=0))
    return [x * s for x in xs]


def lrp_node(node: Node, xs: list[np.ndarray], r: np.ndarray, spec: MethodSpec, inputs: set[str]) -> list[np.ndarray]:
    """Relevance at the inputs of ``node`` from the relevance ``r`` at its output (flat arrays)."""
    op = node.op
    if isinstance(op, LinearMap):
        if is_weighted(op):
            return [apply_rule(spec.rule_for(op.kind, node.name in inputs), xs[0], op, r)]
        if op.kind == "affine":
            return [apply_rule(spec.rule_for("dense", False), xs[0], op, r)]
        if op.kind == "pool":
            return [z_rule(xs[0], op, r)]
        return [op.transpose_apply(r)]  # routing: the ordinary gradient
    if isinstance(op, MaxPoolOp):
        return [route_maxpool(op, xs[0], r)]
    if isinstance(op, AddOp):
        return add_rule(xs, r)
    if isinstance(op, ConcatOp):
        return split_concat(node, r)
    if isinstance(op, MultiplyOp):
        return [r, np.zeros_like(xs[1])]  # a gate: all relevance to x
    return [r]  # activations, Flatten


def lrp(model: Model, x: np.ndarray, spec: MethodSpec, targets: np.ndarray) -> np.ndarray:
    """LRP / deep Taylor relevance at the input, an array of ``x``'s shape.

    BatchNorm directly after a Dense/Conv is folded into it and explicit zero padding into the next Dense/Conv;
    the input layers (:func:`input_layers`) get ``spec.rule_for(kind, is_input=True)``, every other Dense/Conv
    its body rule, every other BatchNorm and Affine the body rule of Dense layers; average pooling uses the Z
    rule; additions split relevance in proportion to the summands; max-pooling routes relevance to the first
    tied element, concatenation and routing layers with the ordinary gradient; gates pass all relevance to x;
    activations and Flatten pass it unchanged. The seed at the output is z_t (``spec.output_seed``) on the
    target.

    Raises
    ------
    ValueError
        Naming every part LRP cannot explain (:func:`unsupported_parts`), or for a model without Dense/Conv.
    """
    problems = unsupported_parts(model)
    if problems:
        raise ValueError(
            f"{spec.name}: LRP cannot explain this model: "
            + "; ".join(problems)
            + ". Gradient methods and Grad-CAM work on it; LRP needs every product to be such a gate"
        )
    graph = model_ops(model, lrp=True)
    inputs = input_layers(graph)
    if not inputs:
        raise ValueError("LRP needs a model with at least one Dense/Conv layer")
    acts = run_ops(graph, x)
    r = output_signal(acts[graph.output], targets, spec.output_seed)
    signals = propagate(graph.nodes, acts, {graph.output: r}, lambda n, xs, s: lrp_node(n, xs, s, spec, inputs))
    return signals.get(INPUT, np.zeros_like(acts[INPUT])).reshape(x.shape)
