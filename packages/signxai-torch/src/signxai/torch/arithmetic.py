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
    """The model's call in the forward pass; ``backward(grad) -> (grad_first, grad_second)`` in the backward."""

    @staticmethod
    def forward(ctx: Any, first: Any, second: Any, call: Callable[[], Any], backward: Callable, dirty: bool) -> Any:
        ctx.backward_fn = backward
        out = call()
        if dirty:
            ctx.mark_dirty(first)
            return first
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        g_first, g_second = ctx.backward_fn(grad)
        return g_first, g_second, None, None, None


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach().to(like.dtype)
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


def lrp_arithmetic(
    func: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    depends: Callable[[Any], bool],
    is_gate: Callable[[Any], bool],
    affine_rule: AffineRule,
) -> Any:
    """Run an arithmetic call with the LRP backward of spec section 8 (see the module docstring).

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
    first_copy = first.detach().clone() if isinstance(first, Tensor) else first
    second_copy = second.detach().clone() if isinstance(second, Tensor) else second

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
    elif func in DIVS and d_second:
        raise ValueError("LRP cannot explain a division by an input-dependent tensor")
    elif d_first and d_second:  # residual addition / subtraction
        signs = {**dict.fromkeys(ADDS | RADDS, (1.0, alpha)), **dict.fromkeys(SUBS, (1.0, -alpha))}
        s_first, s_second = signs.get(func, (-1.0, 1.0))  # rsub: second - first
        backward = _split_backward(first_copy, second_copy, s_first, s_second, first, second)
    else:
        backward = _affine_backward(func, first_copy, second_copy, d_first, alpha, affine_rule, first, second)
    return ArithmeticFunction.apply(first, second, call, backward, dirty)


def _gate_backward(first: Tensor, second: Tensor, gate_index: int) -> Callable:
    def backward(grad: Tensor) -> tuple:
        if gate_index == 1:  # first is the gate
            return torch.zeros_like(first), _reduce(grad, second)
        return _reduce(grad, first), torch.zeros_like(second)

    return backward


def _split_backward(a: Tensor, b: Tensor, s_a: float, s_b: float, first: Tensor, second: Tensor) -> Callable:
    def backward(grad: Tensor) -> tuple:
        c_a, c_b = s_a * a, s_b * b
        s = _safe(grad, c_a + c_b)
        return _reduce(c_a * s, first), _reduce(c_b * s, second)

    return backward


def _affine_backward(
    func: Callable[..., Any],
    first: Any,
    second: Any,
    first_depends: bool,
    alpha: Any,
    affine_rule: AffineRule,
    first_original: Any,
    second_original: Any,
) -> Callable:
    """y = scale * x + shift with x the input-dependent operand."""
    x = first if first_depends else second
    other = second if first_depends else first
    c = _as_tensor(other, x)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    if func in ADDS or func in RADDS:
        scale, shift = (one, alpha * c) if first_depends else (one * alpha, c)
    elif func in SUBS:
        scale, shift = (one, -alpha * c) if first_depends else (-alpha * one, c)
    elif func in RSUBS:  # second - first
        scale, shift = (-one, c) if first_depends else (one, -c)
    elif func in MULS:
        scale, shift = c, zero
    else:  # division by a constant
        scale, shift = 1.0 / c, zero

    def backward(grad: Tensor) -> tuple:
        shape = grad.shape
        relevance = affine_rule(x.expand(shape), scale.expand(shape), shift.expand(shape), grad)
        reduced = _reduce(relevance, x)
        return (reduced, None) if first_depends else (None, reduced)

    return backward
