"""The role of every layer call in LRP, guided backprop and deconvnet (spec section 8), and the support check.

:func:`make_plan` walks a model's node graph once and gives every node a :class:`Step`: its role in the
reverse pass and what the private clone must do with it (fold a BatchNormalization into the layer before it,
merge an explicit zero padding into the convolution after it, strip a final softmax, recognise a gate). All
parts the methods cannot handle are collected and reported in one ``ValueError``, grouped by type.

Roles: ``weighted`` (Dense, Conv1D/2D incl. groups, DepthwiseConv1D/2D), ``affine`` (a BatchNormalization
that is not folded, Rescaling, Normalization), ``activation`` (element-wise), ``softmax``, ``gate`` (x * g,
g from a sigmoid / hard sigmoid / softmax), ``multiply`` (any other product: guided backprop / deconvnet
only), ``add``, ``avgpool``, ``maxpool``, ``route`` (shape layers, concatenation, padding, upsampling,
dropout: the gradient) and ``skip`` (a folded BatchNormalization, a merged ZeroPadding, a stripped softmax, an
affine map composed into the affine map after it: the node's output is its input's in the clone).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import tensorflow as tf

from .activations import ActivationInfo, activation_of, is_activation_layer
from .canonical import ModelInfo
from .clone_layers import same_pads
from .structure import INPUT_KEY, Node, consumers_of

keras = tf.keras
layers = tf.keras.layers

CONV_TYPES = (layers.Conv1D, layers.Conv2D, layers.DepthwiseConv1D, layers.DepthwiseConv2D)
WEIGHTED_TYPES = (layers.Dense, *CONV_TYPES)
AFFINE_TYPES = (layers.BatchNormalization, layers.Rescaling, layers.Normalization)
#: Identity at inference: the signal passes unchanged (every method).
DROPOUT_TYPES = (
    layers.Dropout,
    layers.SpatialDropout1D,
    layers.SpatialDropout2D,
    layers.GaussianDropout,
    layers.GaussianNoise,
    layers.AlphaDropout,
)
ROUTE_TYPES = (
    layers.Flatten,
    layers.Reshape,
    layers.Permute,
    layers.Concatenate,
    layers.UpSampling1D,
    layers.UpSampling2D,
    layers.ZeroPadding1D,
    layers.ZeroPadding2D,
    layers.Cropping1D,
    layers.Cropping2D,
    *DROPOUT_TYPES,
)
AVG_TYPES = (
    layers.AveragePooling1D,
    layers.AveragePooling2D,
    layers.GlobalAveragePooling1D,
    layers.GlobalAveragePooling2D,
)
MAX_TYPES = (layers.MaxPooling1D, layers.MaxPooling2D)
SUPPORTED = (
    "Dense, Conv1D/Conv2D (groups), DepthwiseConv1D/2D, BatchNormalization, Rescaling, Normalization, "
    "max/average pooling, Add, Concatenate, gate Multiply (x * sigmoid/hard_sigmoid/softmax), element-wise "
    "activations, Flatten/Reshape/Permute/padding/cropping/upsampling/dropout"
)


@dataclass
class Step:
    """One node of the model and what the clone / the reverse pass does with it."""

    key: str
    layer_name: str
    role: str
    inputs: tuple[str, ...]
    call: int = 0
    act: ActivationInfo | None = None
    pads: tuple[tuple[int, int], ...] | None = None
    fold: str | None = None
    #: affine layers composed into this one, applied first, in order (consecutive affine maps are one layer)
    merged: tuple[tuple[str, int], ...] = ()
    gate_signal: int | None = None
    is_input: bool = False


@dataclass
class Plan:
    """Steps in topological order, the output node's key, and the layers whose weights the clone reads."""

    steps: list[Step]
    output_key: str
    owners: list[str] = field(default_factory=list)


def _exact(layer: layers.Layer, types: tuple) -> bool:
    return type(layer) in types


def _role(layer: layers.Layer, purpose: str, problems: dict) -> tuple[str, ActivationInfo | None]:
    name, kind = layer.name, type(layer).__name__
    if isinstance(layer, keras.Model):
        problems["nested model (build the head on base.output instead)"].append(name)
        return "route", None
    if _exact(layer, WEIGHTED_TYPES):
        if _exact(layer, CONV_TYPES):
            if layer.data_format != "channels_last":
                problems[f"{kind} with data_format='channels_first'"].append(name)
            if layer.padding not in ("valid", "same", "causal"):
                problems[f"{kind} padding {layer.padding!r}"].append(name)
        act = activation_of(layer)
        if act is not None and not act.elementwise and act.name != "softmax":
            problems[f"activation {act.name!r}"].append(name)
        return "weighted", act
    if _exact(layer, AFFINE_TYPES):
        if isinstance(layer, layers.BatchNormalization):
            axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
            if len(axis) != 1 or axis[0] not in (-1, len(layer.input_shape) - 1):
                problems["BatchNormalization not on the last (channel) axis"].append(name)
        if isinstance(layer, layers.Normalization):
            if layer.invert or tuple(layer.axis) not in ((-1,), (len(layer.input_shape) - 1,)):
                problems["Normalization other than per channel (axis=-1, invert=False)"].append(name)
        return "affine", None
    if is_activation_layer(layer):
        act = activation_of(layer)
        if act.name == "softmax":
            return "softmax", act
        if not act.elementwise:
            problems[f"activation {act.name!r}"].append(name)
        return "activation", act
    if _exact(layer, (layers.Add,)):
        return "add", None
    if _exact(layer, (layers.Multiply,)):
        return "multiply", None
    if _exact(layer, AVG_TYPES):
        if getattr(layer, "padding", "valid") != "valid":
            problems[f"{kind} with padding 'same'"].append(name)
        return "avgpool", None
    if _exact(layer, MAX_TYPES):
        return "maxpool", None
    if _exact(layer, ROUTE_TYPES):
        if isinstance(layer, (layers.UpSampling2D,)) and layer.interpolation != "nearest":
            problems["UpSampling2D other than 'nearest'"].append(name)
        return "route", None
    problems[kind].append(name)
    return "route", None


def _shape(layer: layers.Layer, call: int, which: str) -> tuple:
    getter = layer.get_input_shape_at if which == "in" else layer.get_output_shape_at
    shape = getter(call)
    return tuple(shape)


def _conv_pads(layer: layers.Layer, in_shape: tuple) -> tuple[tuple[int, int], ...] | None:
    spatial = in_shape[1:-1]
    k = layer.kernel_size
    if layer.padding == "valid":
        return tuple((0, 0) for _ in spatial)
    if layer.padding == "causal":
        return (((k[0] - 1) * layer.dilation_rate[0], 0),)
    if any(s is None for s in spatial):
        return None
    return tuple(same_pads(s, kk, st, d) for s, kk, st, d in zip(spatial, k, layer.strides, layer.dilation_rate))


def _zero_pads(layer: layers.Layer) -> tuple[tuple[int, int], ...]:
    padding = layer.padding
    if isinstance(layer, layers.ZeroPadding1D):
        return (tuple(int(p) for p in padding),)
    return tuple(tuple(int(p) for p in axis) for axis in padding)


def describe_problems(problems: dict[str, list[str]], what: str) -> str:
    """One short message naming every unsupported part, grouped by type."""
    parts = []
    for kind, names in problems.items():
        shown = ", ".join(repr(n) for n in names[:3])
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        parts.append(f"{kind}: {shown}{more}")
    return (
        f"{what} cannot explain this model; unsupported parts: " + "; ".join(parts) + ". "
        "Gradient methods (gradient, integrated_gradients, smoothgrad, vargrad, ...) and Grad-CAM work on any "
        f"differentiable model. Supported here: {SUPPORTED} (spec section 8)."
    )


def make_plan(model: keras.Model, info: ModelInfo, purpose: str) -> Plan:
    """The steps of the clone for ``purpose`` ``"lrp"`` or ``"guided"`` (guided backprop / deconvnet).

    Raises
    ------
    ValueError
        Naming every unsupported part at once, grouped by type.
    """
    what = "LRP" if purpose == "lrp" else "guided backprop / deconvnet"
    if info.nodes is None:
        raise ValueError(f"{what} cannot read this model's layer graph ({info.graph_error})")
    nodes: list[Node] = info.nodes
    problems: dict[str, list[str]] = defaultdict(list)
    steps: dict[str, Step] = {}
    calls: dict[str, int] = defaultdict(int)
    for node in nodes:
        calls[node.layer_name] += 1
    for node in nodes:
        layer = model.get_layer(node.layer_name)
        role, act = _role(layer, purpose, problems)
        if not node.plain or any(node.indices):
            problems["call with keyword arguments or of a multi-output layer"].append(node.layer_name)
        if layer.weights and calls[node.layer_name] > 1 and node.call == 0:
            problems["layer with weights called more than once (weight sharing)"].append(node.layer_name)
        steps[node.key] = Step(node.key, node.layer_name, role, node.inputs, node.call, act)
    consumers = consumers_of(nodes)
    # a final softmax / sigmoid that the caller asked to strip
    out = steps[info.output_key]
    if info.softmax == "layer":
        out.role = "skip"
    elif info.softmax == "fused":
        out.act = None
    for step in steps.values():
        layer = model.get_layer(step.layer_name)
        if step.role == "weighted" and step.act is not None and step.act.name == "linear":
            step.act = None
        if step.role == "weighted" and _exact(layer, CONV_TYPES) and step.pads is None:
            step.pads = _conv_pads(layer, _shape(layer, step.call, "in"))
            if step.pads is None:
                problems["convolution with padding 'same' on an axis of unknown length (fix the Input shape)"].append(
                    step.layer_name
                )
    for step in steps.values():
        layer = model.get_layer(step.layer_name)
        # BatchNormalization directly after a layer with weights (its only consumer) is folded into it
        if isinstance(layer, layers.BatchNormalization) and len(step.inputs) == 1 and step.inputs[0] in steps:
            prev = steps[step.inputs[0]]
            if prev.role == "weighted" and prev.act is None and prev.fold is None and consumers[prev.key] == [step.key]:
                prev.fold = step.layer_name
                step.role = "skip"
        # explicit zero padding directly before a convolution: merged into the convolution's own padding
        if isinstance(layer, (layers.ZeroPadding1D, layers.ZeroPadding2D)) and len(consumers[step.key]) == 1:
            nxt = steps[consumers[step.key][0]]
            nxt_layer = model.get_layer(nxt.layer_name)
            in_shape = _shape(layer, step.call, "in")
            if nxt.role == "weighted" and _exact(nxt_layer, CONV_TYPES) and None not in in_shape[1:-1]:
                extra = _zero_pads(layer)
                padded = [s + a + b for s, (a, b) in zip(in_shape[1:-1], extra)]
                own = _conv_pads(nxt_layer, (None, *padded, None))
                nxt.pads = tuple((a + c, b + d) for (a, b), (c, d) in zip(extra, own))
                step.role = "skip"
    # an affine map whose input is another affine map (its only consumer) is composed with it into one affine
    # layer (Rescaling -> Normalization): the rules then do not depend on how the preprocessing is spelled
    for step in steps.values():
        if step.role != "affine" or len(step.inputs) != 1 or step.inputs[0] not in steps:
            continue
        prev = steps[step.inputs[0]]
        if prev.role == "affine" and consumers[prev.key] == [step.key]:
            step.merged = (*prev.merged, (prev.layer_name, prev.call))
            prev.role = "skip"
    acts_of = {k: s.act for k, s in steps.items() if s.role in ("activation", "softmax", "weighted")}
    for step in steps.values():
        if step.role != "multiply":
            continue
        gates = [i for i, k in enumerate(step.inputs) if acts_of.get(k) is not None and acts_of[k].is_gate]
        if len(step.inputs) == 2 and len(gates) == 1:
            step.role = "gate"
            step.gate_signal = 1 - gates[0]
        elif purpose == "lrp":
            problems["Multiply that is not a gate x * sigmoid/hard_sigmoid/softmax(...)"].append(step.layer_name)
    if purpose == "lrp":
        for step in steps.values():
            if step.role != "skip" and step.act is not None and step.act.name == "softmax":
                users = [steps[c] for c in consumers[step.key]]
                if not users or any(u.role != "gate" or u.inputs[1 - u.gate_signal] != step.key for u in users):
                    problems["softmax inside the network (only as a gate)"].append(step.layer_name)
    # LRP input layers: the first layers with weights on the paths from the input (affine maps never are)
    frontier, seen = [INPUT_KEY], set()
    while frontier:
        key = frontier.pop()
        for c in consumers[key]:
            if c in seen:
                continue
            seen.add(c)
            if steps[c].role == "weighted":
                steps[c].is_input = True
            else:
                frontier.append(c)
    if purpose == "lrp" and not any(s.is_input for s in steps.values()):
        problems["no Dense/Conv layer (LRP needs at least one)"].append(model.name)
    if problems:
        raise ValueError(describe_problems(problems, what))
    owners = []
    for step in steps.values():
        if step.role in ("weighted", "affine") and step.layer_name not in owners:
            owners.append(step.layer_name)
            if step.fold is not None:
                owners.append(step.fold)
            owners.extend(name for name, _ in step.merged if name not in owners)
    return Plan([steps[n.key] for n in nodes], info.output_key, owners)
