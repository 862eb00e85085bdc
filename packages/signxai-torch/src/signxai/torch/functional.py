"""Backward behaviour of element-wise activations and average pooling, wherever they are called.

A model may apply ReLU/ELU or average pooling as modules or as functions inside ``forward`` (``F.relu``,
``torch.relu``, ``x.relu_()``, ``F.adaptive_avg_pool2d``, ``x.mean((2, 3))`` ...). Module hooks only see the first
kind, so the methods that change how these operations propagate a signal (LRP, guided backprop, deconvnet) do it with
a :class:`torch.overrides.TorchFunctionMode` that is active while the model's forward runs: every call is computed as
usual, only its backward is replaced (in-place spellings such as ``relu_`` are then computed out of place: the
model must use the returned tensor, as ``nn.ReLU(inplace=True)`` inside ``nn.Sequential`` does). The same mode
records, for Grad-CAM, the activation applied to a chosen tensor, for validation, whether the model ends with a
softmax, and, for the border-aware rules, which tensors are zero-padded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from signxai.common.signs import SAFE_DIVISION_EPS

ActivationBackward = Literal["gradient", "pass", "guided", "deconvnet"]

#: Element-wise activations: LRP passes relevance through them unchanged (spec section 1).
_ACTIVATIONS: frozenset[Callable[..., Any]] = frozenset(
    {
        F.relu,
        F.relu_,
        torch.relu,
        torch.relu_,
        torch.Tensor.relu,
        torch.Tensor.relu_,
        F.relu6,
        F.elu,
        F.elu_,
        torch.nn.functional.selu,
        torch.nn.functional.celu,
        F.leaky_relu,
        F.leaky_relu_,
        F.gelu,
        F.silu,
        F.softplus,
        F.hardtanh,
        F.hardtanh_,
    }
)
#: The ReLU spellings (guided backprop and deconvnet change only these).
_RELUS: frozenset[Callable[..., Any]] = frozenset(
    {F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
)
#: Average pooling in every spelling: LRP applies the Z rule to it as to a linear layer (spec section 1).
_AVERAGES: frozenset[Callable[..., Any]] = frozenset(
    {
        F.avg_pool1d,
        F.avg_pool2d,
        F.avg_pool3d,
        F.adaptive_avg_pool1d,
        F.adaptive_avg_pool2d,
        F.adaptive_avg_pool3d,
        torch.mean,
        torch.Tensor.mean,
    }
)
_SOFTMAXES: frozenset[Callable[..., Any]] = frozenset(
    {F.softmax, F.log_softmax, torch.softmax, torch.log_softmax, torch.Tensor.softmax, torch.Tensor.log_softmax}
)


class _PassThrough(torch.autograd.Function):
    """Forward: the value ``y`` already computed; backward: the incoming signal unchanged (LRP)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class _GuidedReLU(torch.autograd.Function):
    """ReLU whose backward is max(signal, 0) * [x > 0] (guided) or max(signal, 0) (deconvnet)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, guided: bool) -> torch.Tensor:
        ctx.guided = guided
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        out = grad.clamp(min=0)
        if ctx.guided:
            out = out * (x > 0).to(out.dtype)
        return out, None


class _ZRule(torch.autograd.Function):
    """A linear operation without bias (average pooling) whose backward is the LRP Z rule.

    R_i = a_i * sum_j d z_j / d a_i * R_j / z_j with the safe division of spec section 1.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, op: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        ctx.op = op
        ctx.save_for_backward(x)
        return op(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            a = x.detach().requires_grad_()
            z = ctx.op(a)
            s = grad / (z + SAFE_DIVISION_EPS * (z == 0).to(z.dtype))
            (g,) = torch.autograd.grad(z, a, s)
        return a.detach() * g, None


_LOCAL = threading.local()  # torch function modes are per thread, and so is the stack of active SignalModes


def _active() -> list[SignalMode]:
    if not hasattr(_LOCAL, "stack"):
        _LOCAL.stack = []
    return _LOCAL.stack


def current_mode() -> SignalMode | None:
    """The innermost active :class:`SignalMode` of this thread (hooks inside a forward pass use it), or None."""
    stack = _active()
    return stack[-1] if stack else None


def _is_zero_pad(args: tuple, kwargs: dict) -> bool:
    mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
    value = kwargs.get("value", args[3] if len(args) > 3 else None)
    return mode == "constant" and (value is None or value == 0)


class SignalMode(TorchFunctionMode):
    """Replace the backward of activations / average pooling and record softmax and activation outputs.

    Parameters
    ----------
    activations : {"gradient", "pass", "guided", "deconvnet"}
        Backward of element-wise activations: the ordinary derivative, pass-through (LRP), guided backprop or
        deconvnet (ReLU only; other activations keep their derivative for the gradient methods).
    z_average : bool
        Whether average pooling (and ``mean``) propagates with the Z rule (LRP) instead of its derivative.

    Attributes
    ----------
    watch : torch.Tensor or None
        Set by a forward hook to a convolution output: the output of the activation applied directly to it is
        recorded in ``activated`` (Grad-CAM's A).
    softmax_io : dict
        ``id(output) -> (output, input)`` of every softmax / log-softmax call, to strip a final softmax.
    zero_padded : dict
        ``id(output) -> (output, input, pad)`` of every zero padding (``F.pad``, ``nn.ZeroPad2d``): a layer fed by
        a padded tensor treats the padded positions as absent (W², Flat, Z^B, std_x; spec section 3).
    activated : torch.Tensor or None
        The output of the activation applied to ``watch``.
    """

    def __init__(self, activations: ActivationBackward = "gradient", z_average: bool = False) -> None:
        super().__init__()
        self.activations = activations
        self.z_average = z_average
        self.watch: torch.Tensor | None = None
        self.activated: torch.Tensor | None = None
        self.softmax_io: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.zero_padded: dict[int, tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]] = {}

    def __enter__(self) -> SignalMode:
        _active().append(self)
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        _active().remove(self)
        super().__exit__(*exc)

    def padding_of(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]] | None:
        """(unpadded input, pad) if ``x`` is the output of a zero padding recorded in this pass, else None."""
        entry = self.zero_padded.get(id(x))
        if entry is None or entry[0] is not x:
            return None
        return entry[1], entry[2]

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _ACTIVATIONS and args and isinstance(args[0], torch.Tensor):
            return self._activation(func, args, kwargs)
        if self.z_average and func in _AVERAGES and args and isinstance(args[0], torch.Tensor):
            x = args[0]
            if x.requires_grad and x.is_floating_point():
                return _ZRule.apply(x, lambda a: func(a, *args[1:], **kwargs))
        out = func(*args, **kwargs)
        if func in _SOFTMAXES and isinstance(out, torch.Tensor):
            self.softmax_io[id(out)] = (out, args[0])
        elif func is F.pad and isinstance(out, torch.Tensor) and _is_zero_pad(args, kwargs):
            pad = tuple(int(p) for p in kwargs.get("pad", args[1] if len(args) > 1 else ()))
            self.zero_padded[id(out)] = (out, args[0], pad)
        return out

    def _activation(self, func, args, kwargs):
        x = args[0]
        watched = self.watch is not None and x is self.watch
        mode = self.activations
        if mode in ("guided", "deconvnet") and func not in _RELUS:
            mode = "gradient"
        if mode == "gradient" or not x.requires_grad:
            out = func(*args, **kwargs)
        elif mode == "pass":
            # computed on a copy: an in-place spelling must not modify a tensor autograd still needs
            out = _PassThrough.apply(x, func(x.detach().clone(), *args[1:], **kwargs))
        else:
            out = _GuidedReLU.apply(x, mode == "guided")
        if watched:
            self.activated = out
        return out
