"""What a model does, read from one forward pass on one sample (spec section 8).

:func:`analyse` runs the model once on ``x[:1]`` with forward hooks on every module and a recording
:class:`~signxai.torch.functional.SignalMode` that sees every call of ``forward``. It records, in call order (which
need not be the order in which modules were assigned in ``__init__``):

- the layers with weights (``nn.Linear`` / ``nn.ConvNd``, groups included); the LRP input layers are those whose
  input comes from the model input without passing another layer with weights (an affine map or BatchNorm is never
  the input layer);
- for every BatchNorm, the layer with weights it is folded into (its input is that layer's output and that output
  has no other consumer) or None (then it is an affine layer, spec section 8);
- every part LRP cannot explain exactly, grouped by kind: modules with parameters no rule covers, layers with
  weights called more than once, products of input-dependent tensors that are not gates, divisions by them, and
  operations on input-dependent tensors that spec section 8 does not list;
- Grad-CAM's default layer: walking back from the output over the head (Linear, reshapes, pooling, dropout, and
  element-wise operations whose output has no spatial axes), the call where the walk stops; its output is A.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils._pytree import tree_leaves

from .activations import ACTIVATIONS, GATES, OUTPUT_SQUASHERS
from .arithmetic import ARITHMETIC, DIVS, MULS, operands
from .functional import GATE_VIEWS, SignalMode
from .pooling import AVERAGES, MAX_POOLS
from .rules import WEIGHTED_LAYERS

BATCH_NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
CONVOLUTIONS = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)

#: Calls of layers with weights (their weights must belong to a module of WEIGHTED_LAYERS).
WEIGHTED_CALLS = frozenset({F.linear, F.conv1d, F.conv2d, F.conv3d})
#: Routing: shape-only operations, concatenation, split, padding, upsampling by repetition (spec section 8).
ROUTING = GATE_VIEWS | frozenset(
    {
        torch.Tensor.unflatten,
        torch.Tensor.t,
        torch.Tensor.clone,
        torch.clone,
        torch.Tensor.narrow,
        torch.narrow,
        torch.Tensor.split,
        torch.split,
        torch.Tensor.chunk,
        torch.chunk,
        torch.Tensor.unbind,
        torch.unbind,
        torch.cat,
        torch.concat,
        torch.concatenate,
        torch.stack,
        torch.Tensor.movedim,
        torch.movedim,
        torch.Tensor.to,
        torch.Tensor.type_as,
        torch.Tensor.float,
        torch.Tensor.double,
        torch.Tensor.repeat,
        torch.Tensor.repeat_interleave,
        torch.repeat_interleave,
        torch.Tensor.detach,
        F.pad,
        F.dropout,
        F.dropout1d,
        F.dropout2d,
        F.dropout3d,
        F.alpha_dropout,
        F.feature_alpha_dropout,
        torch.zeros_like,
        torch.ones_like,
        torch.empty_like,
        torch.full_like,
    }
)
_SOFTMAXES = frozenset(
    {
        F.softmax,
        torch.softmax,
        torch.Tensor.softmax,
        torch.special.softmax,
        F.log_softmax,
        torch.log_softmax,
        torch.Tensor.log_softmax,
        torch.special.log_softmax,
        F.logsigmoid,  # as a final output only, like log-softmax
    }
)
_HEAD = ROUTING | MAX_POOLS | AVERAGES | OUTPUT_SQUASHERS | {F.linear, torch.amax, torch.Tensor.amax}
_ELEMENTWISE = ACTIVATIONS | ARITHMETIC | {F.batch_norm}
#: Calls whose spatial output can be Grad-CAM's default A (convolutions and what completes their block).
_FEATURE_MAPS = _ELEMENTWISE | {F.conv1d, F.conv2d, F.conv3d, torch.cat, torch.concat, torch.concatenate}

#: What to do about each kind of unsupported part (the groups of the LRP error).
ADVICE = {
    "modules with parameters that no LRP rule covers": "LRP supports nn.Linear, nn.Conv1d/2d/3d and BatchNorm",
    "layers with weights called more than once (weight sharing)": "give each call its own layer",
    "BatchNorms without running statistics": "use track_running_stats=True",
    "BatchNorms directly after another BatchNorm that is not folded": (
        "merge the two into one BatchNorm (scale s2*s1, shift s2*t1 + t2): consecutive affine layers are one layer"
    ),
    "products of two input-dependent tensors that are not gates": "only x * sigmoid/hardsigmoid/softmax(...) is a gate",
    "divisions by an input-dependent tensor": "divide by constants only",
    "weights used outside nn.Linear / nn.ConvNd modules": "compute them in an nn.Linear / nn.ConvNd module",
    "softmaxes used other than as a gate or the final output": "softmax passes relevance only as a gate x * g",
    "operations on input-dependent tensors that spec section 8 does not cover": "see spec section 8",
}
_OTHER = "operations on input-dependent tensors that spec section 8 does not cover"


@dataclass
class ModelGraph:
    """Result of :func:`analyse`.

    Attributes
    ----------
    called : list of str
        Names of the leaf modules in call order (first call).
    weighted : list of str
        Names of the layers with weights in call order.
    input_layers : set of str
        The layers with weights that get the LRP input-layer rule.
    batch_norms : dict of str to str or None
        BatchNorm name -> the layer with weights it is folded into, or None (an affine layer for LRP).
    unsupported : dict of str to list of str
        What LRP cannot explain, kind (a key of :data:`ADVICE`) -> the parts (module names, calls).
    convolutions : list of str
        Names of the called convolutions in call order.
    cam_call : (callable, int) or None
        Grad-CAM's default A: the output of the ``index``-th call (1-based) of the function.
    cam_where : str
        That call in words (for messages), or why there is none.
    """

    called: list[str] = field(default_factory=list)
    weighted: list[str] = field(default_factory=list)
    input_layers: set[str] = field(default_factory=set)
    batch_norms: dict[str, str | None] = field(default_factory=dict)
    unsupported: dict[str, list[str]] = field(default_factory=dict)
    convolutions: list[str] = field(default_factory=list)
    cam_call: tuple[Callable[..., Any], int] | None = None
    cam_where: str = ""

    def lrp_problems(self) -> str | None:
        """One message naming every part LRP cannot explain, grouped by kind with advice, or None."""
        if not self.unsupported:
            return None
        parts = []
        for kind, names in self.unsupported.items():
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            parts.append(f"{kind} ({len(names)}): {shown} [{ADVICE[kind]}]")
        return (
            "LRP cannot explain this model exactly (spec section 8): "
            + "; ".join(parts)
            + ". Gradient methods and Grad-CAM work on any differentiable model."
        )


@contextmanager
def eval_mode(model: torch.nn.Module):
    """Put ``model`` in eval mode for the duration; restore every submodule's own ``training`` flag after."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.train(False)
        yield model
    finally:
        for module, flag in flags:
            module.training = flag


_CONV_RANK = {torch.nn.Conv1d: 3, torch.nn.Conv2d: 4, torch.nn.Conv3d: 5}
_LAYOUT = {
    3: ("NCT", "(0, 2, 1)", "NTC"),
    4: ("NCHW", "(0, 3, 1, 2)", "NHWC"),
    5: ("NCDHW", "(0, 4, 1, 2, 3)", "NDHWC"),
}


def _layout_hint(x_shape: tuple[int, ...], channels: int) -> str:
    """Advice for a model input whose channel axis does not match the first layer's."""
    layout = _LAYOUT.get(len(x_shape))
    if layout is not None and x_shape[-1] == channels:
        first, perm, last = layout
        return (
            f": the input looks channels-last ({last}) and the model takes {first}; pass x.permute{perm} "
            f"(NumPy: x.transpose{perm})"
        )
    return ": give the input the channel count the model was built for"


def _shape_problem(
    module: torch.nn.Module, name: str, given: tuple[int, ...], x_shape: tuple[int, ...], first: bool
) -> str | None:
    """Why ``module`` cannot take an input of shape ``given`` (the model input has ``x_shape``), or None."""
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.nn.parameter.UninitializedParameter):
        return None  # a lazy module takes its shape from its first input
    where = f"{type(module).__name__} {name!r}"
    if isinstance(module, CONVOLUTIONS):
        rank = _CONV_RANK.get(type(module), module.weight.ndim)
        if len(given) != rank:
            return (
                f"{where} received an input of shape {given}; it needs a batched input of rank {rank}: is the "
                "batch axis of the input missing, or the rank wrong?"
            )
    base = next((b for b in (*CONVOLUTIONS, torch.nn.Linear) if isinstance(module, b)), None)
    if base is None or type(module).forward is not base.forward:
        return None  # a subclass with its own forward may rearrange its input first
    if isinstance(module, CONVOLUTIONS):
        expected, got, what = module.in_channels, given[1], "channels (axis 1)"
    elif isinstance(module, torch.nn.Linear):
        if not given:
            return None
        expected, got, what = module.in_features, given[-1], "features (last axis)"
    else:
        return None
    if got == expected:
        return None
    if first:
        if isinstance(module, CONVOLUTIONS):
            spatial = {3: "T", 4: "H, W", 5: "D, H, W"}.get(len(given), "...")
            shape = f"(batch, {expected}, {spatial})"
            hint = _layout_hint(x_shape, expected)
        else:
            shape = f"(batch, ..., {expected})"
            hint = ": give the input the size the model was built for"
        return (
            f"input has shape {x_shape}; the model's first layer {where} takes {expected} input {what}, so the "
            f"model expects {shape}, got {got}{hint}"
        )
    return (
        f"input has shape {x_shape}; {where} takes {expected} input {what} but receives {got} (input of shape "
        f"{given}): the input's size is not the one the model was built for"
    )


@contextmanager
def rank_guard(model: torch.nn.Module, x_shape: tuple[int, ...] | None = None):
    """Check the input of every convolution and Linear against its weights while the model runs.

    A convolution given an unbatched input (which torch would accept silently) or the wrong channel count, or a
    Linear given the wrong number of features, raises ``ValueError`` naming the expected and the given shape
    (the model's input shape ``x_shape`` too, and for the first such layer called, the likely fix, e.g. permuting
    a channels-last input), where torch would raise a ``RuntimeError`` about a weight.
    """
    names = {id(m): name for name, m in model.named_modules()}
    state = {"first": True}

    def check(module: torch.nn.Module, inputs: tuple) -> None:
        first, state["first"] = state["first"], False
        if not inputs or not isinstance(inputs[0], torch.Tensor):
            return
        given = tuple(inputs[0].shape)
        problem = _shape_problem(module, names.get(id(module), ""), given, x_shape or given, first)
        if problem is not None:
            raise ValueError(problem)

    layers = (*CONVOLUTIONS, torch.nn.Linear)
    handles = [m.register_forward_pre_hook(check) for m in model.modules() if isinstance(m, layers)]
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()


def _func_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", repr(func))
    return f"{name}()"


@dataclass
class _Call:
    func: Callable[..., Any]
    index: int
    inputs: list[torch.Tensor]
    output: torch.Tensor
    where: str
    previous: dict[int, _Call | None]  # id(input) -> its producer when this call ran (in-place calls reuse ids)


class _Recorder(SignalMode):
    """A gradient-mode SignalMode that records every call producing a floating tensor (see :func:`analyse`)."""

    def __init__(self, source: torch.Tensor, stack: list[str], weights: set[int], bn_tensors: set[int]) -> None:
        super().__init__("gradient", source=source)
        self.stack = stack
        self.weights = weights
        self.bn_tensors = bn_tensors
        self.counts: dict[Any, int] = defaultdict(int)
        self.producer: dict[int, _Call] = {}
        self.consumers: dict[int, int] = defaultdict(int)
        self.raw: dict[int, torch.Tensor] = {id(source): source}
        self.problems: dict[str, list[str]] = defaultdict(list)
        self.skip_modules: set[str] = set()
        self.softmaxes: dict[int, torch.Tensor] = {}  # softmax outputs (and views of them) on input-dependent tensors

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = super().__torch_function__(func, types, args, kwargs)
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor) and t.is_floating_point()]
        if outs:
            self._record(func, args, kwargs, outs)
        return out

    def _record(self, func: Callable[..., Any], args: tuple, kwargs: dict, outs: list[torch.Tensor]) -> None:
        inputs = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        self.counts[func] += 1
        where = self.stack[-1] if self.stack else "<model>"
        previous = {id(t): self.producer.get(id(t)) for t in inputs}
        call = _Call(func, self.counts[func], inputs, outs[0], where, previous)
        for t in inputs:
            self.consumers[id(t)] += 1
        raw = func not in WEIGHTED_CALLS and any(self.raw.get(id(t)) is t for t in inputs)
        for o in outs:
            self.producer[id(o)] = call
            if raw:
                self.raw[id(o)] = o
        if any(self.depends(t) for t in inputs) and where not in self.skip_modules:
            self._check(func, args, kwargs, where)
            self._check_softmax(func, args, kwargs, inputs, outs, where)

    def _check_softmax(
        self, func: Callable[..., Any], args: tuple, kwargs: dict, inputs: list, outs: list, where: str
    ) -> None:
        """A softmax output may only gate (x * g, through views) or be the model output (spec section 8)."""
        if func in _SOFTMAXES:
            self.softmaxes.update((id(o), o) for o in outs)
        used = [t for t in inputs if self.softmaxes.get(id(t)) is t]
        if not used:
            return
        if func in GATE_VIEWS:
            self.softmaxes.update((id(o), o) for o in outs)
            return
        if func in MULS:
            first, second = operands(func, args, kwargs)
            gate = second if self.is_gate(second) else first
            if all(t is gate for t in used) and self.depends(first) and self.depends(second):
                return
        self.note_problem("softmaxes used other than as a gate or the final output", f"{_func_name(func)} in {where}")

    def note_problem(self, kind: str, part: str) -> None:
        """Add ``part`` to the unsupported parts of ``kind`` (a key of :data:`ADVICE`), once."""
        if part not in self.problems[kind]:
            self.problems[kind].append(part)

    def _check(self, func: Callable[..., Any], args: tuple, kwargs: dict, where: str) -> None:
        """Note what LRP cannot do with this call on an input-dependent tensor."""
        if func in ACTIVATIONS or func in MAX_POOLS or func in AVERAGES or func in OUTPUT_SQUASHERS or func in GATES:
            return
        if func in ROUTING or func in {torch.amax, torch.Tensor.amax}:
            if func is F.pad and kwargs.get("mode", args[2] if len(args) > 2 else "constant") != "constant":
                self.note_problem(_OTHER, f"non-zero pad in {where}")
            return
        if func is F.interpolate:
            mode = kwargs.get("mode", args[3] if len(args) > 3 else "nearest")
            if mode != "nearest":
                self.note_problem(_OTHER, f"interpolate(mode={mode!r}) in {where}")
            return
        if func in ARITHMETIC:
            first, second = operands(func, args, kwargs)
            if func in MULS and self.depends(first) and self.depends(second):
                if not (self.is_gate(first) or self.is_gate(second)):
                    self.note_problem(
                        "products of two input-dependent tensors that are not gates", f"{_func_name(func)} in {where}"
                    )
            elif func in DIVS and self.depends(second):
                self.note_problem("divisions by an input-dependent tensor", f"{_func_name(func)} in {where}")
            return
        if func in WEIGHTED_CALLS:
            weight = args[1] if len(args) > 1 else kwargs.get("weight")
            if id(weight) not in self.weights:
                kind = "weights used outside nn.Linear / nn.ConvNd modules"
                self.note_problem(kind, f"{_func_name(func)} in {where}")
            return
        if func is F.batch_norm:
            if not any(id(t) in self.bn_tensors for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)):
                kind = "modules with parameters that no LRP rule covers"
                self.note_problem(kind, f"functional batch_norm in {where}")
            return
        self.note_problem(_OTHER, f"{_func_name(func)} in {where}")

    def cam_walk(self, output: torch.Tensor) -> tuple[tuple[Callable[..., Any], int] | None, str]:
        """Grad-CAM's default A (see the module docstring): ((func, index), description) or (None, reason)."""
        call = self.producer.get(id(output))
        while call is not None:
            head = call.func in _HEAD or (call.func in _ELEMENTWISE and call.output.ndim <= 2)
            if not head:
                if call.output.ndim < 3 or call.func not in _FEATURE_MAPS:
                    return None, (
                        f"the walk back from the output over the head stops at {_func_name(call.func)} in "
                        f"{call.where}, which is not a feature map of a convolutional part"
                    )
                return (call.func, call.index), f"the output of {_func_name(call.func)} in {call.where}"
            following = [x for x in call.inputs if self.depends(x)]
            call = call.previous[id(following[0])] if following else None
        return None, "the walk back from the output over the head reached the input"


def analyse(model: torch.nn.Module, x: torch.Tensor) -> ModelGraph:
    """Run ``model`` once on ``x[:1]`` and describe it (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        The model, already in eval mode.
    x : torch.Tensor
        An input batch on the model's device.

    Returns
    -------
    ModelGraph
    """
    graph = ModelGraph()
    names = {id(m): name for name, m in model.named_modules()}
    modules = dict(model.named_modules())
    weights = {id(m.weight) for m in model.modules() if isinstance(m, WEIGHTED_LAYERS)}
    bn_tensors = {
        id(t)
        for m in model.modules()
        if isinstance(m, BATCH_NORMS)
        for t in (m.weight, m.running_mean)
        if t is not None
    }
    stack: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    outputs: dict[int, tuple[str, torch.Tensor]] = {}  # id(weighted layer output) -> (name, output kept alive)
    bn_inputs: dict[str, torch.Tensor] = {}
    bn_outputs: dict[int, tuple[str, torch.Tensor]] = {}  # id(BatchNorm output) -> (name, output kept alive)
    bn_after_bn: list[tuple[str, str]] = []
    source = x[:1].detach().clone().requires_grad_()
    recorder = _Recorder(source, stack, weights, bn_tensors)

    unsupported = []
    for name, module in model.named_modules():
        if isinstance(module, (*WEIGHTED_LAYERS, *BATCH_NORMS)):
            if isinstance(module, BATCH_NORMS) and (module.running_mean is None or module.running_var is None):
                recorder.note_problem("BatchNorms without running statistics", name)
            continue
        if any(True for _ in module.parameters(recurse=False)):
            unsupported.append(f"{name or '<model>'} ({type(module).__name__})")
            recorder.skip_modules.update(n for n in modules if n == name or n.startswith(f"{name}.") or not name)

    def pre_hook(module: torch.nn.Module, inputs: tuple) -> None:
        stack.append(names[id(module)] or "<model>")

    def hook(module: torch.nn.Module, inputs: tuple, output: object) -> None:
        stack.pop()
        if list(module.children()):
            return
        name = names[id(module)]
        counts[name] += 1
        if counts[name] > 1:
            if isinstance(module, (*WEIGHTED_LAYERS, *BATCH_NORMS)):
                recorder.note_problem("layers with weights called more than once (weight sharing)", name)
            return
        graph.called.append(name)
        first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        if isinstance(module, WEIGHTED_LAYERS):
            graph.weighted.append(name)
            if isinstance(module, CONVOLUTIONS):
                graph.convolutions.append(name)
            if first is not None and recorder.raw.get(id(first)) is first:
                graph.input_layers.add(name)
            if isinstance(output, torch.Tensor):
                outputs[id(output)] = (name, output)
        elif isinstance(module, BATCH_NORMS) and first is not None:
            source_layer = outputs.get(id(first))
            graph.batch_norms[name] = source_layer[0] if source_layer is not None and source_layer[1] is first else None
            bn_inputs[name] = first
            previous = bn_outputs.get(id(first))
            if previous is not None and previous[1] is first:
                bn_after_bn.append((previous[0], name))
            if isinstance(output, torch.Tensor):
                bn_outputs[id(output)] = (name, output)

    handles = [m.register_forward_pre_hook(pre_hook) for m in model.modules()]
    handles += [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.enable_grad(), rank_guard(model, tuple(x.shape)), recorder:
            output = model(source)
    finally:
        for handle in handles:
            handle.remove()
    for bn, layer in graph.batch_norms.items():
        if layer is not None and recorder.consumers[id(bn_inputs[bn])] > 1:
            graph.batch_norms[bn] = None  # the layer's output has another consumer: the BatchNorm is an affine map
    for first_bn, second_bn in bn_after_bn:
        # two affine maps in a row are one affine layer for LRP (the reference and signxai-tf compose them); the
        # hooks here see one module each, so such a pair is refused rather than explained as two layers
        if graph.batch_norms[first_bn] is None and graph.batch_norms[second_bn] is None:
            if recorder.consumers[id(bn_inputs[second_bn])] == 1:
                recorder.note_problem("BatchNorms directly after another BatchNorm that is not folded", second_bn)
    if unsupported:
        recorder.problems["modules with parameters that no LRP rule covers"][:0] = unsupported
    graph.unsupported = {kind: parts for kind, parts in recorder.problems.items() if parts}
    if isinstance(output, torch.Tensor):
        graph.cam_call, graph.cam_where = recorder.cam_walk(output)
    return graph
