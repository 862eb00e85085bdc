"""Element-wise arithmetic under LRP (spec section 8), in every spelling: ``a + b``, ``torch.add``, ``out +=
identity`` (``Tensor.add_``), ``a - b``, ``x * g``, ``x / c`` ...

- Addition (subtraction) of two input-dependent tensors, a residual connection: R_k = c_k / (sum_j c_j) * R for the
  summands c_k (c = a and ±alpha * b), the Z rule on the sum with the safe division of spec section 1.
- Addition / multiplication / division with a constant: the per-element affine map y = s * x + t, given the body's
  Dense rule (diagonal weight s, bias t) by ``affine_rule``.
- A gate ``x * g`` (``g`` the output of a sigmoid, hard sigmoid or softmax, see
  :data:`signxai.torch.activations.GATES`): all relevance to x, none to g.
- Any other product (or a division by an input-dependent tensor): ValueError (the model analysis names them first).

Every call is computed exactly as the model computes it (in place for ``add_`` / ``+=``: the modified tensor is
marked dirty); only the backward is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from signxai.common.signs import SAFE_DIVISION_EPS

Tensor = torch.Tensor
AffineRule = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]

ADDS = frozenset({torch.add, torch.Tensor.add, torch.Tensor.add_, torch.Tensor.__add__, torch.Tensor.__iadd__})
RADDS = frozenset({torch.Tensor.__radd__})
SUBS = frozenset(
    {torch.sub, torch.subtract, torch.Tensor.sub, torch.Tensor.sub_, torch.Tensor.__sub__, torch.Tensor.__isub__}
)
RSUBS = frozenset({torch.Tensor.__rsub__, torch.rsub})
MULS = frozenset(
    {
        torch.mul,
        torch.multiply,
        torch.Tensor.mul,
        torch.Tensor.mul_,
        torch.Tensor.__mul__,
        torch.Tensor.__rmul__,
        torch.Tensor.__imul__,
    }
)
DIVS = frozenset({torch.div, torch.Tensor.div, torch.Tensor.div_, torch.Tensor.__truediv__, torch.Tensor.__itruediv__})
IN_PLACE = frozenset(
    {
        torch.Tensor.add_,
        torch.Tensor.__iadd__,
        torch.Tensor.sub_,
        torch.Tensor.__isub__,
        torch.Tensor.mul_,
        torch.Tensor.__imul__,
        torch.Tensor.div_,
        torch.Tensor.__itruediv__,
    }
)
#: Every arithmetic spelling handled here.
ARITHMETIC = ADDS | RADDS | SUBS | RSUBS | MULS | DIVS


def operands(func: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """The two operands (first, second) of an arithmetic call."""
    first = args[0] if args else kwargs.get("input")
    second = args[1] if len(args) > 1 else kwargs.get("other")
    return first, second


def _safe(a: Tensor, b: Tensor) -> Tensor:
    return a / (b + SAFE_DIVISION_EPS * (b == 0).to(b.dtype))


def _reduce(t: Tensor, like: Any) -> Tensor | None:
    if not isinstance(like, Tensor):
        return None
    return t.sum_to_size(like.shape) if t.shape != like.shape else t


class ArithmeticFunction(torch.autograd.Function):
    """The model's call in the forward pass; ``backward(grad) -> (grad_first, grad_second, grad_origin)`` in the
    backward (``origin``: the start of a chain of constant arithmetic, or None)."""

    @staticmethod
    def forward(
        ctx: Any, first: Any, second: Any, origin: Any, call: Callable[[], Any], backward: Callable, dirty: bool
    ) -> Any:
        ctx.backward_fn = backward
        out = call()
        if dirty:
            ctx.mark_dirty(first)
            return first
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        g_first, g_second, g_origin = ctx.backward_fn(grad)
        return g_first, g_second, g_origin, None, None, None


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach().to(like.dtype)
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


@dataclass
class AffineChain:
    """The output of a chain of constant arithmetic: ``output = scale * origin + shift`` (element-wise)."""

    output: Tensor
    origin: Tensor
    origin_copy: Tensor
    origin_version: int
    scale: Tensor
    shift: Tensor


def lrp_arithmetic(
    func: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    depends: Callable[[Any], bool],
    is_gate: Callable[[Any], bool],
    affine_rule: AffineRule,
    chains: dict[int, AffineChain],
) -> Any:
    """Run an arithmetic call with the LRP backward of spec section 8 (see the module docstring).

    ``chains`` records the outputs of constant arithmetic: a chain ``(x - m) / s * g + b`` written as several calls
    is one affine layer y = S x + T. Each call's backward sends its relevance straight to the chain's origin x with
    the rule of the whole map (and none to the intermediate, whose own backward then only carries the relevance of
    any other consumer); a chain is broken by an in-place call or a modified origin.

    Raises
    ------
    ValueError
        For a product of two input-dependent tensors none of which is a gate, or a division by an input-dependent
        tensor.
    """
    first, second = operands(func, args, kwargs)
    d_first, d_second = depends(first), depends(second)
    if not (d_first or d_second):
        return func(*args, **kwargs)
    alpha = kwargs.get("alpha", 1)
    dirty = func in IN_PLACE

    def call() -> Any:
        return func(*args, **kwargs)

    if func in MULS and d_first and d_second:
        if is_gate(second):
            backward = _gate_backward(first, second, 0)
        elif is_gate(first):
            backward = _gate_backward(first, second, 1)
        else:
            raise ValueError(
                "LRP cannot explain a product of two input-dependent tensors that is not a gate x * sigmoid(...)"
            )
        return ArithmeticFunction.apply(first, second, None, call, backward, dirty)
    if func in DIVS and d_second:
        raise ValueError("LRP cannot explain a division by an input-dependent tensor")
    if d_first and d_second:  # residual addition / subtraction
        signs = {**dict.fromkeys(ADDS | RADDS, (1.0, alpha)), **dict.fromkeys(SUBS, (1.0, -alpha))}
        s_first, s_second = signs.get(func, (-1.0, 1.0))  # rsub: second - first
        backward = _split_backward(first.detach().clone(), second.detach().clone(), s_first, s_second, first, second)
        return ArithmeticFunction.apply(first, second, None, call, backward, dirty)
    x = first if d_first else second
    scale, shift = _affine_step(func, first, second, d_first, alpha)
    chain = chains.get(id(x))
    if chain is not None and (chain.output is not x or chain.origin._version != chain.origin_version or dirty):
        chain = None
    if chain is None:
        origin, origin_copy = x, x.detach().clone()
        total_scale, total_shift = scale, shift
    else:
        origin, origin_copy = chain.origin, chain.origin_copy
        total_scale, total_shift = chain.scale * scale, chain.shift * scale + shift
    backward = _affine_backward(origin_copy, total_scale, total_shift, affine_rule, d_first, chain is not None)
    out = ArithmeticFunction.apply(first, second, origin if chain is not None else None, call, backward, dirty)
    if not dirty:
        chains[id(out)] = AffineChain(out, origin, origin_copy, origin._version, total_scale, total_shift)
    return out


def _gate_backward(first: Tensor, second: Tensor, gate_index: int) -> Callable:
    def backward(grad: Tensor) -> tuple:
        if gate_index == 1:  # first is the gate
            return torch.zeros_like(first), _reduce(grad, second), None
        return _reduce(grad, first), torch.zeros_like(second), None

    return backward


def _split_backward(a: Tensor, b: Tensor, s_a: float, s_b: float, first: Tensor, second: Tensor) -> Callable:
    def backward(grad: Tensor) -> tuple:
        c_a, c_b = s_a * a, s_b * b
        s = _safe(grad, c_a + c_b)
        return _reduce(c_a * s, first), _reduce(c_b * s, second), None

    return backward


def _affine_step(func: Callable[..., Any], first: Any, second: Any, first_depends: bool, alpha: Any) -> tuple:
    """(scale, shift) of y = scale * x + shift for this call, x the input-dependent operand."""
    x = first if first_depends else second
    c = _as_tensor(second if first_depends else first, x)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    if func in ADDS or func in RADDS:
        return (one, alpha * c) if first_depends else (one * alpha, c)
    if func in SUBS:
        return (one, -alpha * c) if first_depends else (-alpha * one, c)
    if func in RSUBS:  # second - first
        return (-one, c) if first_depends else (one, -c)
    if func in MULS:
        return c, zero
    return 1.0 / c, zero  # division by a constant


def _affine_backward(
    origin: Tensor, scale: Tensor, shift: Tensor, affine_rule: AffineRule, first_depends: bool, chained: bool
) -> Callable:
    """Relevance of the origin of y = scale * origin + shift: to the origin slot when ``chained``, else to x."""

    def backward(grad: Tensor) -> tuple:
        shape = grad.shape
        relevance = _reduce(affine_rule(origin.expand(shape), scale.expand(shape), shift.expand(shape), grad), origin)
        if chained:
            return None, None, relevance
        return (relevance, None, None) if first_depends else (None, relevance, None)

    return backward
