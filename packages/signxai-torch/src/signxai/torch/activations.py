"""Element-wise activations in every spelling, and how each method propagates a signal through them.

Spec section 8: inside the network, LRP passes relevance through every element-wise activation unchanged; guided
backprop sends back max(signal, 0) * f'(x); deconvnet max(signal, 0); the gradient methods use f'(x). Modules are
covered too: ``nn.ReLU`` calls ``F.relu``, ``nn.ReLU6`` ``F.hardtanh``, ``nn.SiLU`` ``F.silu``, ``nn.Sigmoid``
``torch.sigmoid`` ..., and :class:`signxai.torch.functional.SignalMode` sees those calls.

A call is computed exactly as the model computes it: an in-place spelling (``x.relu_()``, ``F.relu(x,
inplace=True)``, ``nn.ReLU(inplace=True)``) modifies ``x`` in place (a custom autograd function marks it dirty), so
a model that relies on the side effect gets the same forward pass. f'(x) is the derivative of the out-of-place
function at the input as it was before the call (PyTorch's derivative, the kinks of the float64 reference).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

Tensor = torch.Tensor

#: In-place builtins -> their out-of-place function (same positional arguments after the input).
_IN_PLACE: dict[Callable[..., Any], Callable[..., Any]] = {
    torch.relu_: torch.relu,
    torch.Tensor.relu_: torch.relu,
    F.elu_: F.elu,
    F.leaky_relu_: F.leaky_relu,
    F.hardtanh_: F.hardtanh,
    torch.selu_: torch.selu,
    torch.celu_: torch.celu,
    torch.sigmoid_: torch.sigmoid,
    torch.Tensor.sigmoid_: torch.sigmoid,
    torch.tanh_: torch.tanh,
    torch.Tensor.tanh_: torch.tanh,
    torch.clamp_: torch.clamp,
    torch.Tensor.clamp_: torch.clamp,
    torch.Tensor.clip_: torch.clamp,
}

#: Python functions of ``torch.nn.functional`` with an ``inplace`` parameter.
_WITH_INPLACE: tuple[Callable[..., Any], ...] = (
    F.relu,
    F.relu6,
    F.elu,
    F.selu,
    F.celu,
    F.leaky_relu,
    F.hardtanh,
    F.silu,
    F.hardswish,
    F.hardsigmoid,
    F.mish,
)

#: Out-of-place builtins without an ``inplace`` parameter.
_PLAIN: tuple[Callable[..., Any], ...] = (
    torch.relu,
    torch.Tensor.relu,
    torch.selu,
    torch.celu,
    F.gelu,
    F.softplus,
    torch.sigmoid,
    torch.Tensor.sigmoid,
    torch.tanh,
    torch.Tensor.tanh,
    F.tanh,
    F.sigmoid,
    torch.special.expit,
    # clamp / clip with constant bounds: ReLU (min 0), ReLU6 (0, 6) as ONNX Clip and hand-written models spell them
    torch.clamp,
    torch.Tensor.clamp,
    torch.clip,
    torch.Tensor.clip,
)

#: Every element-wise activation spelling (spec section 8).
ACTIVATIONS: frozenset[Callable[..., Any]] = frozenset((*_IN_PLACE, *_WITH_INPLACE, *_PLAIN))

#: Activations whose output may gate another tensor (x * g, spec section 8), softmax included.
GATES: frozenset[Callable[..., Any]] = frozenset(
    {
        torch.sigmoid,
        torch.sigmoid_,
        torch.Tensor.sigmoid,
        torch.Tensor.sigmoid_,
        F.sigmoid,
        torch.special.expit,
        F.hardsigmoid,
        F.softmax,
        torch.softmax,
        torch.Tensor.softmax,
        torch.special.softmax,
    }
)

#: Functions whose output, when it is the model output, is not logits (spec section 1 / 8).
OUTPUT_SQUASHERS: frozenset[Callable[..., Any]] = frozenset(
    {
        F.softmax,
        F.log_softmax,
        torch.softmax,
        torch.log_softmax,
        torch.Tensor.softmax,
        torch.Tensor.log_softmax,
        torch.sigmoid,
        torch.sigmoid_,
        torch.Tensor.sigmoid,
        torch.Tensor.sigmoid_,
        F.sigmoid,
        torch.special.expit,
        torch.special.softmax,
        torch.special.log_softmax,
        F.logsigmoid,
    }
)


def _bind_inplace(func: Callable[..., Any], args: tuple, kwargs: dict) -> inspect.BoundArguments:
    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound


def is_in_place(func: Callable[..., Any], args: tuple, kwargs: dict) -> bool:
    """Whether this activation call modifies its input in place."""
    if func in _IN_PLACE:
        return True
    if func in _WITH_INPLACE:
        return bool(_bind_inplace(func, args, kwargs).arguments.get("inplace", False))
    return False


def out_of_place(func: Callable[..., Any], args: tuple, kwargs: dict) -> Callable[[Tensor], Tensor]:
    """``f`` such that ``f(t)`` computes this activation call on ``t`` out of place (same other arguments)."""
    if func in _IN_PLACE:
        plain = _IN_PLACE[func]
        rest = args[1:]
        return lambda t: plain(t, *rest, **kwargs)
    if func in _WITH_INPLACE:
        bound = _bind_inplace(func, args, kwargs)
        bound.arguments["inplace"] = False
        others = {k: v for k, v in bound.arguments.items() if k != "input"}
        return lambda t: func(t, **others)
    rest = args[1:]
    return lambda t: func(t, *rest, **kwargs)


class ActivationFunction(torch.autograd.Function):
    """The model's activation call, unchanged in the forward pass; backward by ``kind``.

    ``kind``: ``"pass"`` (LRP: the signal unchanged), ``"guided"`` (max(signal, 0) * f'(x)) or ``"deconvnet"``
    (max(signal, 0)). ``call`` runs the model's own call (in place when ``in_place``, then the input is marked
    dirty and returned), ``plain`` is the out-of-place function used for f'(x).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, call: Callable[[], Any], plain: Callable, kind: str, in_place: bool) -> Tensor:
        ctx.kind = kind
        ctx.plain = plain
        ctx.x = x.detach().clone() if kind == "guided" else None
        out = call()
        if in_place:
            ctx.mark_dirty(x)
            return x
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        if ctx.kind == "pass":
            return grad, None, None, None, None
        positive = grad.clamp(min=0)
        if ctx.kind == "deconvnet":
            return positive, None, None, None, None
        with torch.enable_grad():
            a = ctx.x.requires_grad_()
            y = ctx.plain(a)
            (out,) = torch.autograd.grad(y, a, positive)
        return out, None, None, None, None


def activation_call(func: Callable[..., Any], args: tuple, kwargs: dict, kind: str) -> Any:
    """Run an activation call with the backward of ``kind`` ("gradient": the call unchanged)."""
    x = args[0]
    if kind == "gradient" or not x.requires_grad:
        return func(*args, **kwargs)
    in_place = is_in_place(func, args, kwargs)
    plain = out_of_place(func, args, kwargs)
    return ActivationFunction.apply(x, lambda: func(*args, **kwargs), plain, kind, in_place)
