"""Pooling: the max-pooling tie rule (spec section 1, every method) and the Z rule of average pooling (LRP).

Max-pooling ties: a window value within ``tau * s`` of the window maximum is a tie, s = max|pooling input| over the
sample, tau = 1e-9 in float64 and 1e-4 otherwise; the signal of the window goes to the first tied element in
row-major window order. The forward value is PyTorch's own. Covered spellings: ``F.max_pool1d/2d/3d`` (``nn.MaxPool*``,
any stride, padding, dilation, ``ceil_mode``, ``return_indices``) and ``F.adaptive_max_pool1d/2d/3d``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from signxai.common.signs import SAFE_DIVISION_EPS

Tensor = torch.Tensor

#: tau of the tie rule by dtype (spec section 1).
TIE_TAU = {torch.float64: 1e-9}
TIE_TAU_DEFAULT = 1e-4

_MAX_POOLS = {F.max_pool1d: 1, F.max_pool2d: 2, F.max_pool3d: 3}
_ADAPTIVE_MAX_POOLS = {F.adaptive_max_pool1d: 1, F.adaptive_max_pool2d: 2, F.adaptive_max_pool3d: 3}
_POOL_ARGS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")

#: Every max-pooling spelling the tie rule covers.
MAX_POOLS: frozenset[Callable[..., Any]] = frozenset((*_MAX_POOLS, *_ADAPTIVE_MAX_POOLS))

#: Average pooling, means and sums: LRP applies the Z rule to them as to a linear layer without bias (spec section 1).
AVERAGES: frozenset[Callable[..., Any]] = frozenset(
    {
        F.avg_pool1d,
        F.avg_pool2d,
        F.avg_pool3d,
        F.adaptive_avg_pool1d,
        F.adaptive_avg_pool2d,
        F.adaptive_avg_pool3d,
        torch.mean,
        torch.Tensor.mean,
        torch.sum,
        torch.Tensor.sum,
    }
)


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _first_tie(windows: Tensor, scale: Tensor, tau: float) -> Tensor:
    """One-hot (last axis) of the first element within tau * scale of each window's maximum."""
    peak = windows.amax(dim=-1, keepdim=True)
    tied = windows >= peak - tau * scale
    first = tied.to(torch.int8).argmax(dim=-1)  # torch.argmax returns the first maximal index
    return F.one_hot(first, windows.shape[-1]).to(torch.bool)


def _regular_windows(a: Tensor, dims: int, params: dict[str, Any], out_shape: tuple[int, ...]) -> Tensor:
    """(…, *out, window) view of the -inf padded input, window in row-major order."""
    kernel = _tuple(params["kernel_size"], dims)
    stride = _tuple(params["stride"] if params.get("stride") not in (None, []) else kernel, dims)
    padding = _tuple(params.get("padding", 0), dims)
    dilation = _tuple(params.get("dilation", 1), dims)
    spatial = a.shape[a.ndim - dims :]
    pads: list[int] = []
    for i in reversed(range(dims)):
        span = dilation[i] * (kernel[i] - 1) + 1
        extra = max(0, (out_shape[i] - 1) * stride[i] + span - (spatial[i] + 2 * padding[i]))
        pads += [padding[i], padding[i] + extra]
    w = F.pad(a, pads, value=-math.inf)
    first_axis = a.ndim - dims
    for i in range(dims):
        span = dilation[i] * (kernel[i] - 1) + 1
        w = w.unfold(first_axis + i, span, stride[i])[..., :: dilation[i]]
        w = w.narrow(first_axis + i, 0, out_shape[i])
    return w.reshape(*w.shape[: first_axis + dims], -1)


def _route_regular(x: Tensor, grad: Tensor, dims: int, params: dict[str, Any], tau: float) -> Tensor:
    out_shape = tuple(grad.shape[grad.ndim - dims :])
    scale = _scale(x, dims, out_shape)
    with torch.enable_grad():
        a = x.detach().requires_grad_()
        windows = _regular_windows(a, dims, params, out_shape)
        choice = _first_tie(windows.detach(), scale, tau)
        picked = torch.where(choice, windows, torch.zeros_like(windows)).sum(dim=-1)
        (g,) = torch.autograd.grad(picked, a, grad)
    return g


def _scale(x: Tensor, dims: int, out_shape: tuple[int, ...]) -> Tensor:
    batched = x.ndim == dims + 2
    if batched:
        return x.detach().abs().flatten(1).amax(dim=1).reshape((-1,) + (1,) * (dims + 2))
    return x.detach().abs().amax()


def _adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _route_adaptive(x: Tensor, grad: Tensor, dims: int, tau: float) -> Tensor:
    out_shape = tuple(grad.shape[grad.ndim - dims :])
    spatial = x.shape[x.ndim - dims :]
    lead = x.ndim - dims
    scale = _scale(x, dims, out_shape)
    if scale.ndim:
        scale = scale.reshape(scale.shape[: x.ndim - dims] + (1,))
    bounds = [_adaptive_bounds(spatial[i], out_shape[i]) for i in range(dims)]
    with torch.enable_grad():
        a = x.detach().requires_grad_()
        total = None
        for cell in itertools.product(*(range(o) for o in out_shape)):
            window = a
            for i, index in enumerate(cell):
                start, stop = bounds[i][index]
                window = window.narrow(lead + i, start, stop - start)
            flat = window.reshape(*window.shape[:lead], -1)
            choice = _first_tie(flat.detach(), scale, tau)
            picked = torch.where(choice, flat, torch.zeros_like(flat)).sum(dim=-1)
            term = picked * grad[(Ellipsis, *cell)]
            total = term.sum() if total is None else total + term.sum()
        assert total is not None
        (g,) = torch.autograd.grad(total, a)
    return g


class MaxPoolFunction(torch.autograd.Function):
    """PyTorch's max-pooling forward; backward routes each window's signal to its first tied element."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, call: Callable[[], Any], route: Callable[[Tensor, Tensor], Tensor]) -> Any:
        ctx.x = x.detach()
        ctx.route = route
        out = call()
        if isinstance(out, tuple):
            ctx.mark_non_differentiable(out[1])
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor, *unused: Any) -> tuple:
        return ctx.route(ctx.x, grad), None, None


def max_pool_call(func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """Run a max-pooling call with the tie rule in its backward."""
    x = args[0]
    if not x.requires_grad:
        return func(*args, **kwargs)
    tau = TIE_TAU.get(x.dtype, TIE_TAU_DEFAULT)
    if func in _MAX_POOLS:
        dims = _MAX_POOLS[func]
        params = dict(zip(_POOL_ARGS, args[1:]))
        params.update(kwargs)

        def route(a: Tensor, grad: Tensor) -> Tensor:
            return _route_regular(a, grad, dims, params, tau)

    else:
        dims = _ADAPTIVE_MAX_POOLS[func]

        def route(a: Tensor, grad: Tensor) -> Tensor:
            return _route_adaptive(a, grad, dims, tau)

    return MaxPoolFunction.apply(x, lambda: func(*args, **kwargs), route)


class ZRuleFunction(torch.autograd.Function):
    """A linear operation without bias (average pooling, mean, sum) whose backward is the LRP Z rule.

    R_i = a_i * sum_j dz_j/da_i * R_j / z_j with the safe division of spec section 1.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, op: Callable[[Tensor], Tensor]) -> Tensor:
        ctx.op = op
        ctx.x = x.detach()
        return op(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        with torch.enable_grad():
            a = ctx.x.requires_grad_()
            z = ctx.op(a)
            s = grad / (z + SAFE_DIVISION_EPS * (z == 0).to(z.dtype))
            (g,) = torch.autograd.grad(z, a, s)
        return a.detach() * g, None


def z_rule_call(func: Callable[..., Any], args: tuple, kwargs: dict) -> Tensor:
    """An average pooling / mean / sum call whose backward is the Z rule."""
    return ZRuleFunction.apply(args[0], lambda a: func(a, *args[1:], **kwargs))
