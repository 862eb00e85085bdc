"""ONNX import: ``from_onnx(model_or_path)`` -> a ``torch.nn.Module`` that LRP can explain exactly.

onnx2torch converts an ONNX graph into a ``torch.fx.GraphModule`` whose weights do not all sit in modules that
carry a rule: tf2onnx writes a Keras ``Dense`` (dynamic batch) as ``MatMul`` + ``Add`` (onnx2torch: ``OnnxMatMul``
on a constant and a separate addition), and a Keras ``Conv1D`` as ``Unsqueeze -> Conv (1 x k, no bias) -> Squeeze ->
Add(bias)``. LRP through such a graph silently treats the matrix product and the bias as plain gradients. This
module rewrites the graph so that

- ``MatMul(x, W)`` with a constant 2-D ``W`` (and a following ``Add`` of a constant bias) becomes ``nn.Linear``;
- a constant ``Mul`` / ``Add`` that scales / shifts each output channel of a convolution, possibly after shape-only
  operations (Squeeze, Unsqueeze, Transpose, Reshape, Flatten), is folded into the convolution's weights and bias
  (a convolution's bias, and a BatchNorm tf2onnx could not fuse, e.g. after a Keras ``Conv1D``);
- a 2-D convolution over a height-1 axis that a Keras ``Conv1D`` became (``1 x k`` kernel, no padding on that axis)
  becomes ``nn.Conv1d`` (same module name), with the axis squeezed before it and restored after it; an
  ``Unsqueeze``/``Squeeze`` pair of one axis that then meet cancel, so ``Conv1D -> ReLU`` reads as ``nn.Conv1d ->
  ReLU`` again (the LRP rules are the same either way; Grad-CAM for time series needs the 1-D activations); a
  BatchNorm2d after such a convolution (a 1 x 1 convolution over a 1 x 1 map) becomes a BatchNorm1d before the
  restoring unsqueeze, and a Reshape / Flatten to the shape it already has is removed, so that every BatchNorm that
  follows a convolution is folded into it;
- a ``Transpose`` followed by arithmetic with a constant is moved after that arithmetic (the constant permuted to
  match), and two ``Transpose`` that then meet and undo each other cancel: tf2onnx writes a Keras ``Normalization``
  between channels-last and channels-first as ``Sub -> Transpose -> Div -> Transpose``; without the move the affine
  map is split in two by the transposes, and LRP would treat its two halves as two layers (spec section 8:
  consecutive affine maps are one affine layer);
- ``x * Sigmoid(x)`` (or ``x * Sigmoid(1 * x)``), ONNX's spelling of swish / SiLU (tf2onnx writes a Keras ``swish``
  so), becomes ``nn.SiLU``: one activation, so guided backprop and deconvnet apply their rule to swish as a whole,
  as signxai-tf does to the Keras activation, instead of differentiating the product (spec section 8);

and then refuses, naming the node, any remaining operation with a weight-like constant (a MatMul/Gemm, or an
Add/Sub/Mul/Div with a non-scalar floating constant on the output of a convolution or linear layer that could not be
folded into it) or a module with parameters that no rule covers. A per-channel ``Mul`` / ``Add`` elsewhere (a
BatchNorm tf2onnx writes unfused, e.g. in float64 or before a convolution: BN-ReLU-Conv) is a per-element affine map,
which LRP gives the body's Dense rule like any BatchNorm not after a layer with weights (spec section 8). Average
and global-average pooling need no rewrite: LRP applies the Z rule to every spelling of them
(:mod:`signxai.torch.functional`). ``onnx`` and ``onnx2torch`` are the optional extra ``signxai-torch[onnx]``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import fx

from .graph import BATCH_NORMS, CONVOLUTIONS
from .rules import WEIGHTED_LAYERS

#: onnx2torch module class names of shape-only operations a bias may pass through.
_SHAPE_OPS = {
    "OnnxSqueezeStaticAxes",
    "OnnxSqueezeDynamicAxes",
    "OnnxUnsqueezeStaticAxes",
    "OnnxUnsqueezeDynamicAxes",
    "OnnxTranspose",
    "OnnxReshape",
    "OnnxFlatten",
    "Flatten",
}
_ARITHMETIC = {torch.add: "Add", torch.sub: "Sub", torch.mul: "Mul"}


def _load_proto(onnx: Any, model_or_path: Any) -> Any:
    """The ModelProto of ``model_or_path``; ValueError naming the file when it is not an ONNX model."""
    from google.protobuf.message import DecodeError

    if isinstance(model_or_path, (str, os.PathLike)):
        path = os.fspath(model_or_path)
        try:
            proto = onnx.load(path)
        except DecodeError as err:
            raise ValueError(f"{path!r} is not an ONNX model (protobuf could not decode it: {err})") from None
        where = repr(path)
    elif isinstance(model_or_path, onnx.ModelProto):
        proto, where = model_or_path, "the ModelProto given"
    else:
        raise TypeError(
            f"model_or_path must be an onnx.ModelProto or the path of an .onnx file, got {type(model_or_path).__name__}"
        )
    if not proto.HasField("graph") or len(proto.graph.node) == 0:
        raise ValueError(f"{where} is not an ONNX model: it has no graph nodes (empty or not an .onnx file)")
    return proto


def from_onnx(model_or_path: Any) -> torch.nn.Module:
    """Convert an ONNX model into a PyTorch module ready for every SignXAI method.

    Parameters
    ----------
    model_or_path : onnx.ModelProto, str or os.PathLike
        The ONNX model or the path of an ``.onnx`` file. Its graph inputs must have static shapes apart from the
        batch axis (to locate the channel axis of convolution biases).

    Returns
    -------
    torch.nn.Module
        A ``torch.fx.GraphModule`` in eval mode, float32, whose layers with weights are ``nn.Linear`` /
        ``nn.ConvNd`` with their bias inside.

    Raises
    ------
    ImportError
        If ``onnx`` / ``onnx2torch`` are not installed (``pip install signxai-torch[onnx]``).
    ValueError
        For a file that is not an ONNX model (named in the message), or naming every node whose weights would get
        no LRP rule.
    TypeError
        For an argument that is neither a path nor an ``onnx.ModelProto``.
    """
    try:
        import onnx
        import onnx2torch
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError("from_onnx needs the optional extra: pip install 'signxai-torch[onnx]'") from err
    proto = _load_proto(onnx, model_or_path)
    module = onnx2torch.convert(proto).eval()  # eval before any forward: BatchNorm must not update its statistics
    examples = _example_inputs(proto)
    from torch.fx.passes.shape_prop import ShapeProp

    _sink_transposes(module)
    with torch.no_grad():
        ShapeProp(module).propagate(*examples)
    _drop_identity_reshapes(module)
    _matmul_to_linear(module)
    _fold_into_convolutions(module, "Mul")
    _fold_into_convolutions(module, "Add")
    _swish_to_silu(module)
    _height_one_to_conv1d(module)
    _cancel_unsqueeze_squeeze(module)
    _check_rules(module)
    module.graph.eliminate_dead_code()
    module.delete_all_unused_submodules()
    module.recompile()
    return module.eval()


# ------------------------------------------------------------------------------------------------- helpers
def _example_inputs(proto: Any) -> list[torch.Tensor]:
    import onnx

    initializers = {init.name for init in proto.graph.initializer}
    examples = []
    for value in proto.graph.input:
        if value.name in initializers:
            continue
        tensor_type = value.type.tensor_type
        dims = []
        for index, dim in enumerate(tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                dims.append(1 if index == 0 else dim.dim_value)
            elif index == 0:
                dims.append(1)
            else:
                raise ValueError(f"ONNX input {value.name!r} has a dynamic axis {index}; only the batch may be dynamic")
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        examples.append(torch.from_numpy(np.zeros(dims, dtype=dtype)))
    return examples


def _constant(module: fx.GraphModule, node: Any) -> torch.Tensor | None:
    """The tensor behind a ``get_attr`` node (an ONNX initializer), else None."""
    if not isinstance(node, fx.Node) or node.op != "get_attr":
        return None
    value: Any = module
    for part in node.target.split("."):
        value = getattr(value, part)
    return value if isinstance(value, torch.Tensor) else None


def _called(module: fx.GraphModule, node: fx.Node) -> torch.nn.Module | None:
    return module.get_submodule(node.target) if node.op == "call_module" else None


def _arithmetic(module: fx.GraphModule, node: fx.Node) -> str | None:
    """'Add' / 'Sub' / 'Mul' / 'Div' for an onnx2torch binary operation node, else None."""
    called = _called(module, node)
    if called is None or type(called).__name__ != "OnnxBinaryMathOperation":
        return None
    fn = called.math_op_function
    return _ARITHMETIC.get(fn, "Div" if getattr(fn, "__name__", "") == "_onnx_div" else type(fn).__name__)


def _fresh_name(module: fx.GraphModule, stem: str) -> str:
    names = dict(module.named_modules())
    index = 0
    while f"{stem}_{index}" in names or hasattr(module, f"{stem}_{index}"):
        index += 1
    return f"{stem}_{index}"


def _matmul_to_linear(module: fx.GraphModule) -> None:
    for node in list(module.graph.nodes):
        called = _called(module, node)
        if called is None or type(called).__name__ != "OnnxMatMul" or len(node.args) != 2:
            continue
        x, w_node = node.args
        weight = _constant(module, w_node)
        if weight is None or weight.ndim != 2 or not weight.is_floating_point():
            continue
        bias = None
        users = list(node.users)
        if len(users) == 1 and _arithmetic(module, users[0]) == "Add":
            add = users[0]
            other = add.args[1] if add.args[0] is node else add.args[0]
            constant = _constant(module, other)
            if constant is not None and constant.is_floating_point() and constant.numel() == weight.shape[1]:
                if constant.ndim <= 1 or all(d == 1 for d in constant.shape[:-1]):
                    bias = constant.reshape(-1)
                    add.replace_all_uses_with(node)
                    module.graph.erase_node(add)
        linear = torch.nn.Linear(weight.shape[0], weight.shape[1], bias=bias is not None, dtype=weight.dtype)
        with torch.no_grad():
            linear.weight.copy_(weight.t())
            if bias is not None:
                linear.bias.copy_(bias)
        name = _fresh_name(module, "Linear")
        module.add_submodule(name, linear)
        node.target = name
        node.args = (x,)
    module.graph.lint()


def _conv_of(called: torch.nn.Module | None) -> torch.nn.Module | None:
    if isinstance(called, CONVOLUTIONS):
        return called
    if isinstance(called, torch.nn.Sequential) and len(called) and isinstance(called[-1], CONVOLUTIONS):
        return called[-1]  # onnx2torch: asymmetric padding module, then the convolution
    return None


def _conv_before(module: fx.GraphModule, source: fx.Node) -> tuple[fx.Node, list[fx.Node]] | None:
    """The convolution node whose only path to ``source`` passes shape-only operations, and those operations."""
    chain = []
    current = source
    while True:
        called = _called(module, current)
        if len(current.users) != 1:
            break
        if _conv_of(called) is not None:
            break
        if called is None or type(called).__name__ not in _SHAPE_OPS:
            break
        chain.append(current)
        current = current.args[0]
    if _conv_of(_called(module, current)) is None or len(current.users) != 1:
        return None
    return current, chain


def _fold_into_convolutions(module: fx.GraphModule, operation: str) -> None:
    """Fold a per-channel constant ``Mul`` (scale: weights and bias) or ``Add`` (bias) into the convolution before it.

    tf2onnx writes a BatchNormalization it cannot fuse (after a Keras ``Conv1D``, which it spells as Unsqueeze ->
    Conv -> Squeeze) as ``Mul`` + ``Add`` of per-channel constants; folded, the convolution carries the BatchNorm
    exactly as signxai-tf folds it (spec section 8: BatchNorm after a layer with weights is part of that layer).
    """
    for node in list(module.graph.nodes):
        if _arithmetic(module, node) != operation or len(node.args) != 2:
            continue
        a, b = node.args
        constant, source = _constant(module, b), a
        if constant is None:
            constant, source = _constant(module, a), b
        if constant is None or not constant.is_floating_point() or not isinstance(source, fx.Node):
            continue
        found = _conv_before(module, source)
        if found is None:
            continue
        conv_node, chain = found
        conv = _conv_of(_called(module, conv_node))
        assert conv is not None
        values = _per_channel(module, conv_node, chain, constant)
        if values is None:
            continue
        with torch.no_grad():
            values = values.to(conv.weight.dtype)
            if operation == "Mul":
                # output channel c of a (grouped) convolution is weight[c]: scale it and the bias
                conv.weight.mul_(values.reshape((-1,) + (1,) * (conv.weight.dim() - 1)))
                if conv.bias is not None:
                    conv.bias.mul_(values)
            else:
                total = values + (conv.bias.detach() if conv.bias is not None else 0.0)
                conv.bias = torch.nn.Parameter(total)
        node.replace_all_uses_with(source)
        module.graph.erase_node(node)
    module.graph.lint()


def _swish_to_silu(module: fx.GraphModule) -> None:
    """Replace ``Mul(x, Sigmoid(x))`` / ``Mul(x, Sigmoid(Mul(1, x)))`` by an ``nn.SiLU`` of ``x``.

    Only a multiplier of exactly 1 (a scalar constant) is swish; any other ``beta`` stays a product of two branches.
    The sigmoid (and the inner multiplication) stay in the graph while something else uses them.
    """
    for node in list(module.graph.nodes):
        if _arithmetic(module, node) != "Mul" or len(node.args) != 2:
            continue
        for x, gate in (node.args, node.args[::-1]):
            if not isinstance(x, fx.Node) or not isinstance(gate, fx.Node):
                continue
            if not isinstance(_called(module, gate), torch.nn.Sigmoid) or len(gate.args) != 1:
                continue
            inner = gate.args[0]
            if inner is not x and not _is_unit_scaling(module, inner, x):
                continue
            name = _fresh_name(module, "SiLU")
            module.add_submodule(name, torch.nn.SiLU())
            with module.graph.inserting_after(node):
                silu = module.graph.call_module(name, (x,))
            silu.meta = dict(node.meta)
            node.replace_all_uses_with(silu)
            module.graph.erase_node(node)
            for unused in (gate, inner):
                if isinstance(unused, fx.Node) and unused is not x and not unused.users:
                    module.graph.erase_node(unused)
            break
    module.graph.lint()


def _is_unit_scaling(module: fx.GraphModule, node: Any, x: fx.Node) -> bool:
    """True when ``node`` is ``Mul(c, x)`` / ``Mul(x, c)`` with a scalar constant ``c`` equal to 1."""
    if not isinstance(node, fx.Node) or _arithmetic(module, node) != "Mul" or len(node.args) != 2:
        return False
    a, b = node.args
    constant = _constant(module, a) if b is x else _constant(module, b) if a is x else None
    return constant is not None and constant.numel() == 1 and float(constant.reshape(())) == 1.0


def _drop_identity_reshapes(module: fx.GraphModule) -> None:
    """Remove every Reshape / Flatten whose output has its input's shape (the identity: a reshape keeps the order
    of the elements). tf2onnx writes such reshapes between a convolution over a 1 x 1 map and its BatchNorm
    (EfficientNet's last stages at a small input); left in place, they would keep the BatchNorm from being folded
    into its convolution."""
    for node in list(module.graph.nodes):
        called = _called(module, node)
        if called is None or type(called).__name__ not in ("OnnxReshape", "OnnxFlatten", "Flatten") or not node.args:
            continue
        source = node.args[0]
        if not isinstance(source, fx.Node):
            continue
        before, after = source.meta.get("tensor_meta"), node.meta.get("tensor_meta")
        if before is None or after is None or tuple(before.shape) != tuple(after.shape):
            continue
        node.replace_all_uses_with(source)
        module.graph.erase_node(node)
    module.graph.eliminate_dead_code()
    module.graph.lint()
    module.recompile()


def _height_one_axis(module: fx.GraphModule, node: fx.Node, conv: torch.nn.Module) -> int | None:
    """The axis (2 or 3) of a 2-D convolution's input and output that has size 1 and no kernel extent, else None."""
    source = node.args[0] if node.args else None
    if not isinstance(conv, torch.nn.Conv2d) or len(node.args) != 1 or not isinstance(source, fx.Node):
        return None
    if conv.padding_mode != "zeros" or not isinstance(conv.padding, tuple):
        return None
    in_meta, out_meta = source.meta.get("tensor_meta"), node.meta.get("tensor_meta")
    if in_meta is None or out_meta is None:
        return None
    for axis in (2, 3):
        if in_meta.shape[axis] == 1 and out_meta.shape[axis] == 1 and conv.kernel_size[axis - 2] == 1:
            if conv.padding[axis - 2] == 0:
                return axis
    return None


def _conv1d_like(module: torch.nn.Module, conv: torch.nn.Conv2d, axis: int) -> torch.nn.Module:
    """``module`` (a Conv2d or onnx2torch's (padding, Conv2d) Sequential) as the same operation on 1-D signals."""
    keep = 5 - axis - 2  # index of the time axis among the two spatial axes
    conv1d = torch.nn.Conv1d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size[keep],
        stride=conv.stride[keep],
        padding=conv.padding[keep],
        dilation=conv.dilation[keep],
        groups=conv.groups,
        bias=conv.bias is not None,
        dtype=conv.weight.dtype,
        device=conv.weight.device,
    )
    with torch.no_grad():
        conv1d.weight.copy_(conv.weight.squeeze(axis))
        if conv.bias is not None:
            conv1d.bias.copy_(conv.bias)
    if module is conv:
        return conv1d
    pad = module[0]
    pads = list(getattr(pad, "pads", ()))
    # torch order: (last begin, last end, second-to-last begin, second-to-last end, ...); only the time axis padded
    time_pads, other = (pads[0:2], pads[2:]) if axis == 2 else (pads[2:4], pads[0:2] + pads[4:])
    if type(pad).__name__ != "OnnxPadStatic" or pad.mode != "constant" or len(time_pads) != 2 or any(other):
        return module
    return torch.nn.Sequential(torch.nn.ConstantPad1d(tuple(time_pads), float(pad.constant_value)), conv1d)


def _height_one_to_conv1d(module: fx.GraphModule) -> None:
    for node in list(module.graph.nodes):
        called = _called(module, node)
        conv = _conv_of(called)
        axis = _height_one_axis(module, node, conv) if conv is not None else None
        if axis is None:
            continue
        replacement = _conv1d_like(called, conv, axis)
        if replacement is called:
            continue
        module.add_submodule(node.target, replacement)  # same name: users find the Keras layer name again
        source = node.args[0]
        graph = module.graph
        with graph.inserting_before(node):
            squeezed = graph.call_function(torch.squeeze, (source, axis))
            squeezed.meta["signxai_axis"] = axis
        with graph.inserting_after(node):
            restored = graph.call_function(torch.unsqueeze, (node, axis))
            restored.meta["signxai_axis"] = axis
        node.replace_all_uses_with(restored, delete_user_cb=lambda user, keep=restored: user is not keep)
        node.args = (squeezed,)
        _batch_norm_before_unsqueeze(module, node, restored)
    module.graph.lint()


def _batch_norm_before_unsqueeze(module: fx.GraphModule, conv: fx.Node, restored: fx.Node) -> None:
    """``conv -> unsqueeze -> BatchNorm2d`` (the unsqueeze the only way to the BatchNorm) becomes ``conv ->
    BatchNorm1d -> unsqueeze``: the same numbers, and the BatchNorm directly after its convolution again, so LRP folds
    it there (a 2-D convolution over a 1 x 1 feature map, e.g. EfficientNet's last stages at a small input, is
    rewritten to a Conv1d like a Keras Conv1D, and the BatchNorm2d after it would otherwise be an affine layer)."""
    users = list(restored.users)
    bn_node = users[0] if len(users) == 1 else None
    bn2d = _called(module, bn_node) if bn_node is not None else None
    if not isinstance(bn2d, torch.nn.BatchNorm2d) or len(bn_node.args) != 1:
        return
    bn1d = torch.nn.BatchNorm1d(
        bn2d.num_features,
        eps=bn2d.eps,
        momentum=bn2d.momentum,
        affine=bn2d.affine,
        track_running_stats=bn2d.track_running_stats,
        device=bn2d.weight.device if bn2d.weight is not None else None,
        dtype=bn2d.weight.dtype if bn2d.weight is not None else None,
    )
    bn1d.load_state_dict(bn2d.state_dict())
    module.add_submodule(bn_node.target, bn1d.train(bn2d.training))
    for user in list(bn_node.users):
        user.replace_input_with(bn_node, restored)
    bn_node.args = (conv,)
    restored.args = (bn_node, *restored.args[1:])
    bn_node.append(restored)  # the unsqueeze now follows the BatchNorm


def _single_axis(module: fx.GraphModule, node: fx.Node, kind: str) -> int | None:
    """The one axis an Unsqueeze (``kind='Unsqueeze'``) inserts / a Squeeze removes, non-negative, else None."""
    if node.op == "call_function":
        expected = torch.unsqueeze if kind == "Unsqueeze" else torch.squeeze
        return node.meta.get("signxai_axis") if node.target is expected else None
    called = _called(module, node)
    name = type(called).__name__ if called is not None else ""
    if name == f"Onnx{kind}StaticAxes":
        axes = list(getattr(called, "_axes", getattr(called, "axes", None)) or [])
    elif name == f"Onnx{kind}DynamicAxes" and len(node.args) == 2:
        constant = _constant(module, node.args[1])
        axes = [] if constant is None else [int(a) for a in constant.reshape(-1).tolist()]
    else:
        return None
    meta = node.meta.get("tensor_meta")
    if len(axes) != 1 or meta is None:
        return None
    rank = len(meta.shape) if kind == "Unsqueeze" else len(meta.shape) + 1
    return axes[0] % rank


def _perm(module: fx.GraphModule, node: Any) -> list[int] | None:
    """The permutation of an ``OnnxTranspose`` node with an explicit ``perm``, else None."""
    called = _called(module, node) if isinstance(node, fx.Node) else None
    if called is None or type(called).__name__ != "OnnxTranspose" or called.perm is None:
        return None
    return [int(axis) for axis in called.perm]


def _sink_transposes(module: fx.GraphModule) -> None:
    """Move every ``Transpose(p)`` (its only user an arithmetic call with a constant) after that call, then cancel
    the pairs ``Transpose(p) -> Transpose(q)`` that compose to the identity.

    ``permute(x, p) op c == permute(x op c', p)`` with ``c'`` the constant, brought to the rank of ``x`` (leading
    size-1 axes, as broadcasting does), permuted by the inverse of ``p``; the result is the same numbers in the same
    order (element-wise arithmetic commutes with a permutation of the axes).
    """
    graph = module.graph
    changed = True
    while changed:
        changed = False
        for node in list(graph.nodes):
            perm = _perm(module, node)
            if perm is None or len(node.users) != 1:
                continue
            (user,) = node.users
            if _arithmetic(module, user) is None or len(user.args) != 2:
                continue
            other = user.args[1] if user.args[0] is node else user.args[0]
            constant = _constant(module, other)
            if constant is None or constant.dim() > len(perm) or node not in user.args[:2]:
                continue
            moved = constant.reshape((1,) * (len(perm) - constant.dim()) + tuple(constant.shape))
            moved = moved.permute(np.argsort(perm).tolist()).contiguous()
            name = _fresh_name(module, "transposed_constant")
            module.register_buffer(name, moved)
            with graph.inserting_before(user):
                new_constant = graph.get_attr(name)
            user.args = tuple(node.args[0] if a is node else new_constant if a is other else a for a in user.args)
            with graph.inserting_after(user):
                moved_transpose = graph.call_module(node.target, (user,))
            user.replace_all_uses_with(moved_transpose, delete_user_cb=lambda n, keep=moved_transpose: n is not keep)
            graph.erase_node(node)
            changed = True
        for node in list(graph.nodes):
            second = _perm(module, node)
            first_node = node.args[0] if node.args else None
            first = _perm(module, first_node)
            if second is None or first is None or len(first_node.users) != 1 or len(first) != len(second):
                continue
            if all(first[second[i]] == i for i in range(len(second))):
                node.replace_all_uses_with(first_node.args[0])
                graph.erase_node(node)
                graph.erase_node(first_node)
                changed = True
    graph.eliminate_dead_code()
    graph.lint()
    module.recompile()


def _cancel_unsqueeze_squeeze(module: fx.GraphModule) -> None:
    """Remove every ``Unsqueeze(a) -> Squeeze(a)`` and ``Squeeze(a) -> Unsqueeze(a)`` (of a size-1 axis) pair."""
    changed = True
    while changed:
        changed = False
        for node in list(module.graph.nodes):
            for first, second in (("Unsqueeze", "Squeeze"), ("Squeeze", "Unsqueeze")):
                axis = _single_axis(module, node, second)
                if axis is None or not isinstance(node.args[0], fx.Node):
                    continue
                before = node.args[0]
                if len(before.users) != 1 or _single_axis(module, before, first) != axis:
                    continue
                node.replace_all_uses_with(before.args[0])
                module.graph.erase_node(node)
                module.graph.erase_node(before)
                changed = True
                break
            if changed:
                break
    module.graph.lint()


def _per_channel(
    module: fx.GraphModule, conv_node: fx.Node, chain: list[fx.Node], constant: torch.Tensor
) -> torch.Tensor | None:
    """The per-channel bias equal to adding ``constant`` after ``chain``, or None if it is not per channel.

    A probe tensor holding its channel index at every position of the convolution output is pushed through the
    shape-only ``chain``; the addition is a bias exactly when the broadcast constant is the same wherever the probe
    shows the same channel.
    """
    meta = conv_node.meta.get("tensor_meta")
    if meta is None:
        return None
    shape = tuple(meta.shape)
    channels = shape[1]
    probe = torch.arange(channels, dtype=torch.float64).reshape((1, channels) + (1,) * (len(shape) - 2))
    probe = probe.expand(shape).clone()
    with torch.no_grad():
        for node in reversed(chain):
            args = [probe] + [_constant(module, arg) if isinstance(arg, fx.Node) else arg for arg in node.args[1:]]
            probe = _called(module, node)(*args)
        try:
            full = torch.broadcast_to(constant.to(torch.float64), probe.shape)
        except RuntimeError:
            return None
    bias = torch.empty(channels, dtype=torch.float64)
    for channel in range(channels):
        values = full[probe == channel]
        if values.numel() == 0 or not bool((values == values[0]).all()):
            return None
        bias[channel] = values[0]
    return bias


def _after_weighted_layer(module: fx.GraphModule, node: fx.Node) -> bool:
    """True when ``node``'s non-constant input comes from a convolution / linear / matrix product, possibly through
    shape-only operations and other arithmetic with constants, each used only there (then the constant is part of
    that layer: a bias or scale that could not be folded, which LRP must not treat as a separate affine map). An
    output that something else also uses (DenseNet's concatenation) is shared: an affine map on it is a layer of
    its own, like a BatchNorm there (spec section 8)."""
    current: Any = node
    while isinstance(current, fx.Node):
        if current is not node and len(current.users) != 1:
            return False
        called = _called(module, current)
        if called is not None and (
            _conv_of(called) is not None
            or isinstance(called, WEIGHTED_LAYERS)
            or type(called).__name__ in ("OnnxMatMul", "OnnxGemm")
        ):
            return True
        if current is not node and (called is None or type(called).__name__ not in _SHAPE_OPS):
            if _arithmetic(module, current) is None:
                return False
        inputs = [a for a in current.args if isinstance(a, fx.Node) and _constant(module, a) is None]
        if len(inputs) != 1:
            return False
        current = inputs[0]
    return False


def _check_rules(module: fx.GraphModule) -> None:
    problems = []
    for node in module.graph.nodes:
        called = _called(module, node)
        if called is None:
            continue
        kind = type(called).__name__
        if kind in ("OnnxMatMul", "OnnxGemm"):
            problems.append(f"{node.name} ({kind})")
            continue
        if _arithmetic(module, node) is not None:
            for arg in node.args:
                constant = _constant(module, arg)
                if constant is not None and constant.is_floating_point() and constant.numel() > 1:
                    if _after_weighted_layer(module, node):
                        kind = _arithmetic(module, node)
                        problems.append(f"{node.name} ({kind} of a constant {tuple(constant.shape)})")
                    break
            continue
        for sub_name, sub in called.named_modules():
            if isinstance(sub, (*WEIGHTED_LAYERS, *BATCH_NORMS)):
                continue
            if any(True for _ in sub.parameters(recurse=False)):
                problems.append(f"{node.name}{'.' + sub_name if sub_name else ''} ({type(sub).__name__})")
    if problems:
        raise ValueError(
            "after canonicalisation these ONNX nodes still hold weights no LRP rule covers: " + ", ".join(problems)
        )
