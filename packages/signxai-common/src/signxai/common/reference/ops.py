"""A model as a graph of operations on flat (batch, features) arrays: linear maps, max-pooling, activations,
additions, concatenations and products.

:func:`model_ops` turns each layer into one node (``lrp=False``: node name = layer id, see
:func:`~.graph.layers_by_id`, one node per layer). For LRP (``lrp=True``) it also

- folds a BatchNorm into the Dense/Conv that directly produces its input when that BatchNorm is the layer's only
  consumer (any other BatchNorm, and every Affine, stays a diagonal map of kind ``"affine"``);
- composes an affine map whose input is another affine map (its only consumer) with it: consecutive affine layers
  (Rescaling then Normalization, say) are one affine layer, however the preprocessing is spelled;
- folds an explicit ZeroPadding into every Dense/Conv that consumes it, so the padded positions are no inputs
  of that layer (the ZeroPadding node stays for any other consumer).

:func:`run_ops` is the forward pass over the nodes; it must agree with the loop forward of :mod:`.forward`
(tested).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .activations import ELEMENTWISE, activate
from .graph import consumers, layers_by_id, output_name, resolved_inputs
from .layers import (
    ELU,
    INPUT,
    Activation,
    Add,
    Affine,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Concatenate,
    Conv1D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool1D,
    MaxPool2D,
    Model,
    Multiply,
    ReLU,
    UpSampling,
    ZeroPadding,
)
from .linear import (
    LinearMap,
    affine_map,
    avgpool_map,
    compose_affine,
    compose_padding,
    conv_map,
    dense_map,
    fold_batchnorm,
    global_avgpool_map,
    maxpool_windows,
    upsampling_map,
    zero_padding_map,
)


@dataclass(frozen=True)
class MaxPoolOp:
    """Max over each row of ``windows`` (flat input indices, row-major window order)."""

    windows: np.ndarray


@dataclass(frozen=True)
class ActivationOp:
    """An activation: ``fn`` in :data:`~.activations.ELEMENTWISE` or ``"softmax"`` (last axis)."""

    fn: str
    alpha: float | None


@dataclass(frozen=True)
class ReshapeOp:
    """Flatten: the identity on flat samples."""


@dataclass(frozen=True)
class AddOp:
    """Element-wise sum of the inputs."""


@dataclass(frozen=True)
class ConcatOp:
    """Concatenation of the inputs along the channel (last) axis."""


@dataclass(frozen=True)
class MultiplyOp:
    """``x * y`` with ``y`` broadcast against ``x`` (NumPy rules on the unflattened shapes)."""


Op = LinearMap | MaxPoolOp | ActivationOp | ReshapeOp | AddOp | ConcatOp | MultiplyOp


@dataclass(frozen=True)
class Node:
    """One op of the graph: its output is called ``name``; it consumes the outputs named in ``inputs``."""

    name: str
    op: Op
    inputs: tuple[str, ...]
    in_shapes: tuple[tuple[int, ...], ...]
    out_shape: tuple[int, ...]
    layer_type: str


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order; ``output`` names the logits; ``input_shape`` is one sample's shape."""

    nodes: tuple[Node, ...]
    output: str
    input_shape: tuple[int, ...]

    def node(self, name: str) -> Node:
        """The node called ``name``."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


def _single_op(layer, shape: tuple[int, ...]) -> tuple[Op, tuple[int, ...]]:
    """Op and output shape of a single-input layer on inputs of ``shape``."""
    if isinstance(layer, Dense):
        op = dense_map(layer, shape)
    elif isinstance(layer, (Conv1D, Conv2D)):
        op = conv_map(layer, shape)
    elif isinstance(layer, (AvgPool1D, AvgPool2D)):
        op = avgpool_map(layer, shape)
    elif isinstance(layer, GlobalAvgPool):
        op = global_avgpool_map(layer, shape)
    elif isinstance(layer, (BatchNorm, Affine)):
        op = affine_map(layer, shape)
    elif isinstance(layer, ZeroPadding):
        op = zero_padding_map(layer, shape)
    elif isinstance(layer, UpSampling):
        op = upsampling_map(layer, shape)
    elif isinstance(layer, (MaxPool1D, MaxPool2D)):
        windows, out_shape = maxpool_windows(layer, shape)
        return MaxPoolOp(windows), out_shape
    elif isinstance(layer, ReLU):
        return ActivationOp("relu", None), shape
    elif isinstance(layer, ELU):
        return ActivationOp("elu", float(layer.alpha)), shape
    elif isinstance(layer, Activation):
        if layer.fn not in ELEMENTWISE and layer.fn != "softmax":
            raise ValueError(f"layer {layer.name!r}: unknown activation {layer.fn!r}")
        return ActivationOp(layer.fn, None if layer.alpha is None else float(layer.alpha)), shape
    elif isinstance(layer, Flatten):
        return ReshapeOp(), (int(np.prod(shape)),)
    else:
        raise ValueError(f"unsupported layer type {type(layer).__name__} ({getattr(layer, 'name', '?')!r})")
    return op, op.out_shape


def _multi_op(layer, shapes: list[tuple[int, ...]]) -> tuple[Op, tuple[int, ...]]:
    """Op and output shape of an Add / Concatenate / Multiply on inputs of ``shapes``."""
    if isinstance(layer, Add):
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"Add {layer.name!r}: inputs of different shapes {shapes}")
        return AddOp(), shapes[0]
    if isinstance(layer, Concatenate):
        if any(s[:-1] != shapes[0][:-1] for s in shapes):
            raise ValueError(f"Concatenate {layer.name!r}: inputs differ outside the channel axis: {shapes}")
        return ConcatOp(), (*shapes[0][:-1], sum(s[-1] for s in shapes))
    out_shape = tuple(np.broadcast_shapes(*shapes))
    if out_shape != shapes[0]:
        raise ValueError(f"Multiply {layer.name!r}: the second input {shapes[1]} must broadcast to {shapes[0]}")
    return MultiplyOp(), out_shape


def model_ops(model: Model, lrp: bool = False) -> Graph:
    """The op graph of ``model``.

    Parameters
    ----------
    model : Model
        The model description.
    lrp : bool
        Fold BatchNorms and explicit ZeroPaddings for LRP (see the module docstring). Without it, there is one
        node per layer, named by the layer's id (:func:`~.graph.layers_by_id`: its name when unique).

    Raises
    ------
    ValueError
        For an unsupported layer, an invalid graph or shapes that do not fit.
    """
    wiring = resolved_inputs(model)
    users = consumers(wiring)
    shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(model.input_shape)}
    nodes: dict[str, Node] = {}
    for lid, layer in layers_by_id(model).items():
        ins = wiring[lid]
        in_shapes = [shapes[i] for i in ins]
        if isinstance(layer, (Add, Concatenate, Multiply)):
            op, out_shape = _multi_op(layer, in_shapes)
        else:
            op, out_shape = _single_op(layer, in_shapes[0])
        node = Node(lid, op, ins, tuple(in_shapes), out_shape, type(layer).__name__)
        if lrp:
            node = _fold(node, layer, nodes, users)
        nodes[lid] = node
        shapes[lid] = out_shape
    return Graph(tuple(nodes.values()), output_name(model), tuple(model.input_shape))


def _fold(node: Node, layer, nodes: dict[str, Node], users: dict[str, list[str]]) -> Node:
    """``node`` with a preceding ZeroPadding (into a Dense/Conv) or Dense/Conv (into a BatchNorm) folded in."""
    op = node.op
    if isinstance(op, LinearMap) and op.kind in ("dense", "conv"):
        while node.inputs[0] in nodes and nodes[node.inputs[0]].layer_type == "ZeroPadding":
            pad = nodes[node.inputs[0]]
            assert isinstance(pad.op, LinearMap)
            node = replace(node, op=compose_padding(pad.op, node.op), inputs=pad.inputs, in_shapes=pad.in_shapes)
        return node
    if isinstance(layer, BatchNorm) and node.inputs[0] in nodes:
        prev = nodes[node.inputs[0]]
        if isinstance(prev.op, LinearMap) and prev.op.kind in ("dense", "conv") and users[prev.name] == [node.name]:
            del nodes[prev.name]
            op = fold_batchnorm(prev.op, layer)
            return Node(node.name, op, prev.inputs, prev.in_shapes, node.out_shape, prev.layer_type)
    if isinstance(op, LinearMap) and op.kind == "affine" and node.inputs[0] in nodes:
        prev = nodes[node.inputs[0]]
        if isinstance(prev.op, LinearMap) and prev.op.kind == "affine" and users[prev.name] == [node.name]:
            del nodes[prev.name]  # consecutive affine maps are one affine layer
            op = compose_affine(prev.op, op)
            return Node(node.name, op, prev.inputs, prev.in_shapes, node.out_shape, node.layer_type)
    return node


def apply_op(node: Node, xs: list[np.ndarray]) -> np.ndarray:
    """Apply one node to its flat inputs ``xs`` (each (batch, in_flat)); returns (batch, out_flat)."""
    op, a = node.op, xs[0]
    batch = a.shape[0]
    if isinstance(op, LinearMap):
        return op.apply(a)
    if isinstance(op, MaxPoolOp):
        return a[:, op.windows].max(axis=2)
    if isinstance(op, ActivationOp):
        return activate(op.fn, a.reshape(batch, *node.in_shapes[0]), op.alpha).reshape(batch, -1)
    if isinstance(op, AddOp):
        return np.sum(xs, axis=0)
    if isinstance(op, ConcatOp):
        parts = [x.reshape(batch, -1, s[-1]) for x, s in zip(xs, node.in_shapes)]
        return np.concatenate(parts, axis=-1).reshape(batch, -1)
    if isinstance(op, MultiplyOp):
        x = a.reshape(batch, *node.in_shapes[0])
        g = xs[1].reshape(batch, *_batch_broadcastable(node.in_shapes[1], node.in_shapes[0]))
        return (x * g).reshape(batch, -1)
    return a


def _batch_broadcastable(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` left-padded with ones to the rank of ``target`` (so a leading batch axis broadcasts right)."""
    return (1,) * (len(target) - len(shape)) + tuple(shape)


def run_ops(graph: Graph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Flat activations by node name (and :data:`~.layers.INPUT`), each (batch, features)."""
    acts = {INPUT: np.asarray(x, dtype=np.float64).reshape(x.shape[0], -1)}
    for node in graph.nodes:
        acts[node.name] = apply_op(node, [acts[i] for i in node.inputs])
    return acts


def is_weighted(op: Op) -> bool:
    """Whether ``op`` is a layer with weights (Dense/Conv, possibly with a folded BatchNorm)."""
    return isinstance(op, LinearMap) and op.kind in ("dense", "conv")
