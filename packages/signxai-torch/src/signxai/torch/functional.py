"""The signal of every method through the calls of a model's ``forward``, wherever and however they are written.

A model may apply activations, pooling and arithmetic as modules or as functions inside ``forward`` (``F.relu``,
``x.relu_()``, ``F.adaptive_avg_pool2d``, ``x.mean((2, 3))``, ``out += identity``, ``scale * x`` ...). Module hooks
only see modules, so :class:`SignalMode`, a :class:`torch.overrides.TorchFunctionMode` active while the model's
forward runs, sees every call (the ``F.*`` calls inside activation modules included; a stateless module may then be
called any number of times). Every call is computed exactly as the model computes it, in place where the model
writes it in place; only its backward is replaced:

- element-wise activations by the method's rule (:mod:`signxai.torch.activations`);
- max-pooling by the tie rule of spec section 1, for every method (:mod:`signxai.torch.pooling`);
- under LRP, average pooling / means / sums by the Z rule, and arithmetic by the rules of spec section 8
  (:mod:`signxai.torch.arithmetic`: residual split, gates, constant affine maps).

The mode also records, for Grad-CAM, a chosen call's output; for validation, softmax / sigmoid outputs; for the gate
rule, gate outputs; and, for the border-aware rules, which tensors are zero-padded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .activations import ACTIVATIONS, GATES, OUTPUT_SQUASHERS, activation_call
from .arithmetic import ARITHMETIC, AffineChain, AffineRule, lrp_arithmetic
from .pooling import AVERAGES, MAX_POOLS, max_pool_call, z_rule_call

ActivationBackward = Literal["gradient", "pass", "guided", "deconvnet"]

#: Shape-only operations through which a gate stays a gate (``sigmoid(s).view(n, c, 1, 1)``).
GATE_VIEWS: frozenset[Callable[..., Any]] = frozenset(
    {
        torch.Tensor.view,
        torch.Tensor.reshape,
        torch.reshape,
        torch.Tensor.unsqueeze,
        torch.unsqueeze,
        torch.Tensor.squeeze,
        torch.squeeze,
        torch.Tensor.expand,
        torch.Tensor.expand_as,
        torch.Tensor.flatten,
        torch.flatten,
        torch.Tensor.permute,
        torch.permute,
        torch.Tensor.transpose,
        torch.transpose,
        torch.Tensor.contiguous,
        torch.Tensor.__getitem__,
        torch.Tensor.view_as,
        torch.Tensor.reshape_as,
    }
)

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
    """Replace the backward of activations, pooling and (LRP) arithmetic; record softmax, gate and padding outputs.

    Parameters
    ----------
    activations : {"gradient", "pass", "guided", "deconvnet"}
        Backward of element-wise activations (:mod:`signxai.torch.activations`): the ordinary derivative,
        pass-through (LRP), guided backprop (max(signal, 0) * f'(x)) or deconvnet (max(signal, 0)).
    source : torch.Tensor or None
        The model input (requiring grad). With ``affine_rule``, LRP mode: average pooling, means and sums get the Z
        rule, and arithmetic on tensors that depend on ``source`` the rules of :mod:`signxai.torch.arithmetic`.
    affine_rule : callable or None
        ``affine_rule(a, scale, shift, relevance)``: relevance of the input of a per-element affine map (the body's
        Dense rule), for arithmetic with constants under LRP.
    capture : (callable, int) or None
        Record in ``captured`` the output of the ``index``-th call (1-based) of ``func`` (Grad-CAM's default A).

    Attributes
    ----------
    watch : torch.Tensor or None
        Set by a forward hook to a convolution output: the output of the activation applied directly to it is
        recorded in ``activated`` (Grad-CAM's A for a named convolution).
    softmax_io : dict
        ``id(output) -> (output, input)`` of every softmax / log-softmax / sigmoid call, to strip a final one.
    zero_padded : dict
        ``id(output) -> (output, input, pad)`` of every zero padding (``F.pad``, ``nn.ZeroPad2d``): a layer fed by
        a padded tensor treats the padded positions as absent (W², Flat, Z^B, std_x; spec section 3).
    gates : dict
        ``id(output) -> output`` of every sigmoid / hard sigmoid / softmax call (and shape-only views of them).
    activated, captured : torch.Tensor or None
        See ``watch`` and ``capture``.
    """

    def __init__(
        self,
        activations: ActivationBackward = "gradient",
        source: torch.Tensor | None = None,
        affine_rule: AffineRule | None = None,
        capture: tuple[Callable[..., Any], int] | None = None,
    ) -> None:
        super().__init__()
        self.activations = activations
        self.source = source
        self.affine_rule = affine_rule
        self.capture = capture
        self.captured: torch.Tensor | None = None
        self._capture_count = 0
        self.watch: torch.Tensor | None = None
        self.activated: torch.Tensor | None = None
        self.softmax_io: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.zero_padded: dict[int, tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]] = {}
        self.gates: dict[int, torch.Tensor] = {}
        self._reaches: dict[Any, bool] = {}
        self._chains: dict[int, AffineChain] = {}

    def __enter__(self) -> SignalMode:
        _active().append(self)
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        _active().remove(self)
        super().__exit__(*exc)

    # ------------------------------------------------------------------------------------------- queries
    def padding_of(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]] | None:
        """(unpadded input, pad) if ``x`` is the output of a zero padding recorded in this pass, else None."""
        entry = self.zero_padded.get(id(x))
        if entry is None or entry[0] is not x:
            return None
        return entry[1], entry[2]

    def is_gate(self, x: object) -> bool:
        """Whether ``x`` is the output of a gate activation (or a view of one) recorded in this pass."""
        return isinstance(x, torch.Tensor) and self.gates.get(id(x)) is x

    def depends(self, x: object) -> bool:
        """Whether ``x`` is a tensor computed from ``source`` (walks the autograd graph once, memoised)."""
        if not isinstance(x, torch.Tensor) or self.source is None:
            return False
        if x is self.source:
            return True
        if x.grad_fn is None:
            return False
        return self._node_reaches(x.grad_fn)

    def _node_reaches(self, root: Any) -> bool:
        memo = self._reaches
        if root in memo:
            return memo[root]
        stack = [root]
        while stack:
            node = stack[-1]
            if node in memo:
                stack.pop()
                continue
            if getattr(node, "variable", None) is not None:
                memo[node] = node.variable is self.source
                stack.pop()
                continue
            pending = [n for n, _ in node.next_functions if n is not None and n not in memo]
            if pending:
                stack.extend(pending)
                continue
            memo[node] = any(memo[n] for n, _ in node.next_functions if n is not None)
            stack.pop()
        return memo[root]

    # ------------------------------------------------------------------------------------------- dispatch
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = self._compute(func, args, kwargs)
        if self.capture is not None and func is self.capture[0]:
            self._capture_count += 1
            if self._capture_count == self.capture[1]:
                self.captured = out
        if not isinstance(out, torch.Tensor):
            return out
        if func in OUTPUT_SQUASHERS:
            self.softmax_io[id(out)] = (out, args[0])
        if func in GATES or (func in GATE_VIEWS and args and self.is_gate(args[0])):
            self.gates[id(out)] = out
        elif func is F.pad and _is_zero_pad(args, kwargs):
            pad = tuple(int(p) for p in kwargs.get("pad", args[1] if len(args) > 1 else ()))
            self.zero_padded[id(out)] = (out, args[0], pad)
        return out

    def _compute(self, func, args, kwargs):
        first = args[0] if args else None
        if isinstance(first, torch.Tensor) and first.is_floating_point():
            if func in ACTIVATIONS:
                watched = self.watch is not None and first is self.watch
                out = activation_call(func, args, kwargs, self.activations)
                if watched:
                    self.activated = out
                return out
            if func in MAX_POOLS:
                return max_pool_call(func, args, kwargs)
        if self.affine_rule is not None:
            if func in AVERAGES and self.depends(first):
                return z_rule_call(func, args, kwargs)
            if func in ARITHMETIC:
                return lrp_arithmetic(func, args, kwargs, self.depends, self.is_gate, self.affine_rule, self._chains)
        return func(*args, **kwargs)
