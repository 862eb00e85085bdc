"""BatchNorm folding for LRP (spec section 7, docs/decisions.md), without touching the model.

Zennit's :class:`~zennit.canonizers.SequentialMergeBatchNorm` overwrites the parameters of the model for the duration
of an attribution and finds neighbours by module *registration* order. SignXAI must never modify the caller's model
and finds neighbours by *call* order (:mod:`signxai.torch.graph`), so the merge is computed here as new tensors: the
layer's hook uses the folded weight and bias, and the BatchNorm passes relevance through unchanged. The result is the
same as Zennit's merge: the layer followed by the BatchNorm is one affine map y = W' a + b'.
"""

from __future__ import annotations

import torch


def fold_batch_norm(layer: torch.nn.Module, batch_norm: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``batch_norm(layer(a))`` as one layer (inference statistics).

    Parameters
    ----------
    layer : torch.nn.Linear or torch.nn.ConvNd
        The layer with weights; output channels on axis 0 of its weight.
    batch_norm : torch.nn.BatchNormNd
        The BatchNorm applied directly to ``layer``'s output.

    Returns
    -------
    weight, bias : torch.Tensor
        Folded parameters (new tensors, detached).

    Raises
    ------
    ValueError
        If the BatchNorm tracks no running statistics (its inference output is not an affine map of its input).
    """
    scale, shift = batch_norm_affine(batch_norm)
    weight = layer.weight.detach()
    bias = layer.bias.detach() if layer.bias is not None else torch.zeros_like(scale)
    folded_weight = weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    return folded_weight, bias * scale + shift


def batch_norm_affine(batch_norm: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel ``(scale, shift)`` of a BatchNorm at inference: y = scale * x + shift.

    Raises
    ------
    ValueError
        If the BatchNorm tracks no running statistics.
    """
    if batch_norm.running_mean is None or batch_norm.running_var is None:
        raise ValueError(f"BatchNorm {batch_norm} has no running statistics; it cannot be folded for LRP")
    scale = (batch_norm.running_var.detach() + batch_norm.eps).rsqrt()
    if batch_norm.weight is not None:
        scale = scale * batch_norm.weight.detach()
    shift = -batch_norm.running_mean.detach() * scale
    if batch_norm.bias is not None:
        shift = shift + batch_norm.bias.detach()
    return scale, shift
