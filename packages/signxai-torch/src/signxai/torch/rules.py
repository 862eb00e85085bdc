"""LRP rules of spec section 3 as Zennit hooks (subclasses of :class:`zennit.core.BasicHook`).

Zennit's own rules differ from the spec in details that change the numbers (a stabiliser of 1e-6 added to every
denominator, alpha-beta bias handling, border handling of W²/Flat, Z^B's bounds), so every rule of the spec is written
here, on Zennit's hook machinery. A rule sees the layer input ``a`` (stored by Zennit's forward hook), the relevance
``R`` arriving at the layer output, and the layer's effective weight and bias (which may be a BatchNorm folded into it,
see :mod:`signxai.torch.canonizers`). Each rule is a sum of *terms*: a term is (input, weight, bias, factor); the
denominator is the sum of the layer applied to every term's input with that term's weight and bias, and the relevance
of the layer input is ``sum_k factor_k * grad_k`` where ``grad_k`` is the transposed layer (with the term's weight)
applied to ``s = R / den``. ``factor_k`` is the term's input except for SIGN, whose factor is sign(x).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from inspect import signature
from typing import Any

import torch
import torch.nn.functional as F
from zennit.core import BasicHook, Hook

from signxai.common.signs import SAFE_DIVISION_EPS
from signxai.common.spec import RuleSpec

from .canonizers import batch_norm_affine, fold_batch_norm
from .functional import current_mode

#: Zennit >= 1.0 registers hooks with keyword arguments: ``pre_forward(module, args, kwargs)`` returning
#: ``(args, kwargs)``; Zennit 0.5 calls ``pre_forward(module, input)``. Read from the installed Zennit's signature.
ZENNIT_KWARGS_HOOKS = "kwargs" in signature(Hook.pre_forward).parameters

#: Layers with weights that the rules understand.
WEIGHTED_LAYERS = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)


def safe_divide(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a / (b + 1e-7 * [b == 0])`` (spec section 1)."""
    return a / (b + SAFE_DIVISION_EPS * (b == 0).to(b.dtype))


def sign_mu(x: torch.Tensor, mu: float = 0.0) -> torch.Tensor:
    """+1 where ``x >= mu`` else -1 (sign(0) = +1)."""
    return torch.where(x >= mu, 1.0, -1.0).to(x.dtype)


def apply_layer(
    module: torch.nn.Module | None, a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """The linear map of ``module`` (Linear or convolution, zero padding) with the given weight and bias.

    ``module=None`` is the per-element (diagonal) map ``a * weight + bias`` of an affine layer (``weight`` and
    ``bias`` broadcast against ``a``).
    """
    if module is None:
        return a * weight if bias is None else a * weight + bias
    if isinstance(module, torch.nn.Linear):
        return F.linear(a, weight, bias)
    return module._conv_forward(a, weight, bias)  # Conv1d/2d/3d: stride, padding, dilation, groups, padding_mode


@dataclass
class _Term:
    """One summand of a rule's denominator (see the module docstring)."""

    input: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor | None = None
    factor: torch.Tensor | None = None


class SpecRule(BasicHook):
    """A rule of spec section 3 on Zennit's hook machinery (one instance per layer with weights).

    Parameters
    ----------
    rule : signxai.common.RuleSpec
        The rule and its parameters.
    batch_norm : torch.nn.Module or None
        A BatchNorm applied directly to this layer's output: the rule then uses the folded parameters (computed at
        each backward pass from the current parameters, see :mod:`signxai.torch.canonizers`).
    """

    def __init__(self, rule: RuleSpec, batch_norm: torch.nn.Module | None = None) -> None:
        super().__init__()
        self.rule = rule
        self.batch_norm = batch_norm

    def copy(self) -> SpecRule:
        """A fresh hook with the same rule and BatchNorm (Zennit registers one copy per module)."""
        return type(self)(self.rule, self.batch_norm)

    def pre_forward(self, module: torch.nn.Module, args: Any, kwargs: dict | None = None) -> Any:
        """Note whether the layer input is a zero-padded tensor (its padded positions are not inputs), then Zennit's.

        Zennit 0.5 calls ``pre_forward(module, input)``, Zennit 1.0 ``pre_forward(module, args, kwargs)`` (it reads
        this signature's parameters to choose); both are forwarded to the installed Zennit's own ``pre_forward``.
        """
        self.stored_tensors.pop("padding", None)
        mode = current_mode()
        x = args[0] if isinstance(args, tuple) else args
        padding = mode.padding_of(x) if mode is not None else None
        if padding is not None:
            self.stored_tensors["padding"] = (padding[0].detach(), padding[1])
        if ZENNIT_KWARGS_HOOKS:
            return super().pre_forward(module, args, {} if kwargs is None else kwargs)
        return super().pre_forward(module, args)

    def backward(self, module: torch.nn.Module, grad_input: Sequence[Any], grad_output: Sequence[Any]) -> tuple:
        """Relevance of the layer input from the relevance ``grad_output[0]`` at its output."""
        a = self.stored_tensors["input"][0].detach()
        if self.batch_norm is not None:
            weight, bias = fold_batch_norm(module, self.batch_norm)
        else:
            weight = module.weight.detach()
            bias = None if module.bias is None else module.bias.detach()
        padding = self.stored_tensors.get("padding")
        with torch.enable_grad():
            relevance = layer_relevance(self.rule, module, a, grad_output[0], weight, bias, padding)
        return tuple(relevance if g is not None and g.shape == relevance.shape else None for g in grad_input)


def layer_relevance(
    rule: RuleSpec,
    module: torch.nn.Module | None,
    a: torch.Tensor,
    relevance: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    padding: tuple[torch.Tensor, tuple[int, ...]] | None = None,
) -> torch.Tensor:
    """Relevance of a layer's input under ``rule`` (spec section 3).

    Parameters
    ----------
    rule : RuleSpec
        The rule.
    module : torch.nn.Module or None
        The Linear / convolution layer (its geometry), or None for a per-element affine map.
    a : torch.Tensor
        Layer input.
    relevance : torch.Tensor
        Relevance at the layer output.
    weight, bias : torch.Tensor, torch.Tensor or None
        Effective parameters.
    padding : (torch.Tensor, tuple of int) or None
        When ``a`` is ``F.pad(source, pad)`` with zeros: the source and the pad. The padded positions are then not
        inputs: they get no ones / bounds (W², Flat, Z^B) and do not enter std_x.

    Returns
    -------
    torch.Tensor
        Relevance of ``a``, same shape.
    """
    name = rule.name
    support = torch.ones_like(a) if padding is None else F.pad(torch.ones_like(padding[0]), padding[1])
    unpadded = a if padding is None else padding[0]
    if name in ("z", "epsilon", "epsilon_std_x"):
        epsilon: float | torch.Tensor = 0.0
        if name == "epsilon":
            epsilon = float(rule.epsilon)  # type: ignore[arg-type]
        elif name == "epsilon_std_x":
            std = unpadded.std(dim=tuple(range(1, unpadded.ndim)), unbiased=False)
            epsilon = float(rule.stdfactor) * std  # type: ignore[arg-type]
        return _redistribute(module, [_Term(a, weight, bias)], relevance, epsilon)
    if name == "gamma":
        g = float(rule.gamma)  # type: ignore[arg-type]
        b = None if bias is None else bias + g * bias.clamp(min=0)
        return _redistribute(module, [_Term(a, weight + g * weight.clamp(min=0), b)], relevance)
    if name in ("alpha_beta", "zplus"):
        alpha, beta = (1.0, 0.0) if name == "zplus" else (float(rule.alpha), float(rule.beta))  # type: ignore[arg-type]
        b = None if name == "zplus" else bias
        ap, an, wp, wn = a.clamp(min=0), a.clamp(max=0), weight.clamp(min=0), weight.clamp(max=0)
        r = alpha * _redistribute(module, [_Term(ap, wp, b), _Term(an, wn)], relevance)
        if beta != 0:
            r = r - beta * _redistribute(module, [_Term(ap, wn, b), _Term(an, wp)], relevance)
        return r
    if name in ("w_square", "flat"):
        w = weight * weight if name == "w_square" else torch.ones_like(weight)
        return _redistribute(module, [_Term(support, w)], relevance)
    if name == "sign":
        return _redistribute(module, [_Term(a, weight, bias, factor=sign_mu(a, float(rule.mu or 0.0)))], relevance)
    if name == "zb":
        low = support * float(rule.low)  # type: ignore[arg-type]
        high = support * float(rule.high)  # type: ignore[arg-type]
        terms = [_Term(a, weight), _Term(low, -weight.clamp(min=0)), _Term(high, -weight.clamp(max=0))]
        return _redistribute(module, terms, relevance)
    raise ValueError(f"LRP rule {name!r} has no PyTorch implementation")


def _redistribute(
    module: torch.nn.Module | None,
    terms: Sequence[_Term],
    relevance: torch.Tensor,
    epsilon: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """``sum_k factor_k * (W_k^T s)`` with ``s = R / (z + epsilon * sign(z))``, ``z = sum_k layer(input_k)``.

    A bias given to several terms is added once per term; callers pass it to one term only (alpha-beta passes the
    full bias b = b+ + b- to the first term of each denominator, as the spec's den = ... + b+ + b-).
    """
    inputs = [t.input.detach().requires_grad_() for t in terms]
    z = sum(apply_layer(module, x, t.weight, t.bias) for x, t in zip(inputs, terms))
    den = z
    if isinstance(epsilon, torch.Tensor):
        epsilon = epsilon.reshape((-1,) + (1,) * (z.ndim - 1))
        den = z + epsilon * sign_mu(z)
    elif epsilon != 0.0:
        den = z + epsilon * sign_mu(z)
    s = safe_divide(relevance, den)
    grads = torch.autograd.grad(z, inputs, s)
    out = None
    for t, x, g in zip(terms, inputs, grads):
        part = (x.detach() if t.factor is None else t.factor) * g
        out = part if out is None else out + part
    assert out is not None
    return out


def diagonal_relevance(
    rule: RuleSpec, a: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor | None, relevance: torch.Tensor
) -> torch.Tensor:
    """Relevance of the input of the per-element affine map y = scale * a + shift under ``rule`` (spec section 8).

    The map is a layer with weights whose weight matrix is diagonal; ``scale`` and ``shift`` broadcast against ``a``
    (``relevance`` has ``a``'s shape).
    """
    with torch.enable_grad():
        bias = None if shift is None else shift.detach()
        return layer_relevance(rule, None, a.detach(), relevance, scale.detach(), bias)


class AffineRule(SpecRule):
    """The body's Dense rule on a BatchNorm that is not folded: the affine map y = s * x + t (spec section 8)."""

    def copy(self) -> AffineRule:
        """A fresh hook with the same rule."""
        return type(self)(self.rule)

    def backward(self, module: torch.nn.Module, grad_input: Sequence[Any], grad_output: Sequence[Any]) -> tuple:
        """Relevance of the BatchNorm input from the relevance at its output."""
        a = self.stored_tensors["input"][0].detach()
        scale, shift = batch_norm_affine(module)
        shape = (-1,) + (1,) * (a.ndim - 2)
        padding = self.stored_tensors.get("padding")
        with torch.enable_grad():
            relevance = layer_relevance(
                self.rule, None, a, grad_output[0], scale.reshape(shape), shift.reshape(shape), padding
            )
        return tuple(relevance if g is not None and g.shape == relevance.shape else None for g in grad_input)
