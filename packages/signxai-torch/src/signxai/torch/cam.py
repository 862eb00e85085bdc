"""Grad-CAM and guided Grad-CAM for images and time series (spec section 5).

A is, by default, the last feature map of the convolutional part (spec section 8, found by
:func:`signxai.torch.graph.analyse`: torchvision ResNet ``layer4``'s output, DenseNet the ReLU after ``norm5``,
MobileNet / EfficientNet the last ``features`` block's output). ``layer=`` names a module instead: a named
convolution gives its output after the activation that directly follows it (its own output when none does), any
other named module its own output. w_c = mean over positions of dz_t/dA_c; cam = ReLU(sum_c w_c A_c) / max
(0 where the max is 0), upsampled to the input's length / size with linear / bilinear interpolation and half-pixel
centres (``align_corners=False``), repeated over channels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import torch
import torch.nn.functional as F

from signxai.common import MethodSpec

from .functional import SignalMode
from .gradients import Forward, output_seed
from .graph import CONVOLUTIONS, ModelGraph

#: Where Grad-CAM reads A: a named module, or the default call found by :func:`signxai.torch.graph.analyse`.
CamLayer = Union[torch.nn.Module, tuple[Callable[..., Any], int]]


def cam_layer(spec: MethodSpec, model: torch.nn.Module, graph: ModelGraph) -> CamLayer:
    """The Grad-CAM layer: the module named ``spec.layer``, else the default of spec section 8.

    The default is the last feature map of the convolutional part (``graph.cam_call``): walking back from the output
    over the head (Linear, reshapes, pooling, dropout, element-wise operations without spatial axes), the call where
    the walk stops (torchvision ResNet: ``layer4``'s output; DenseNet: the ReLU after ``norm5``).

    Raises
    ------
    ValueError
        If the named module does not exist, or the model has no default layer (naming ``layer=``).
    """
    modules = dict(model.named_modules())
    if spec.layer is not None:
        if spec.layer not in modules or spec.layer == "":
            convs = ", ".join(graph.convolutions) or "none"
            raise ValueError(
                f"{spec.name}: the model has no layer named {spec.layer!r} (its convolutions: {convs}); "
                "pass layer= with a module name"
            )
        return modules[spec.layer]
    if graph.cam_call is None:
        raise ValueError(
            f"{spec.name}: the model has no feature map for Grad-CAM's default layer ({graph.cam_where}); "
            "pass layer= with a module name"
        )
    return graph.cam_call


def _activations(
    forward: Forward, layer: CamLayer, x: torch.Tensor, activations: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward pass returning (logits, A) with gradient enabled."""
    if not isinstance(layer, torch.nn.Module):
        mode = SignalMode(activations, capture=layer)  # type: ignore[arg-type]
        with mode:
            out = forward(x, mode)
        if not isinstance(mode.captured, torch.Tensor):
            raise ValueError("Grad-CAM's default layer was not called in this forward pass")
        return out, mode.captured
    mode = SignalMode(activations)  # type: ignore[arg-type]
    captured: dict[str, torch.Tensor] = {}

    def hook(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        captured["out"] = output
        if isinstance(module, CONVOLUTIONS):
            mode.watch = output

    handle = layer.register_forward_hook(hook)
    try:
        with mode:
            out = forward(x, mode)
    finally:
        handle.remove()
    if "out" not in captured:
        raise ValueError("the Grad-CAM layer is not called in the model's forward pass")
    a = mode.activated if mode.activated is not None else captured["out"]
    return out, a


def grad_cam(
    spec: MethodSpec, forward: Forward, layer: CamLayer, x: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Grad-CAM map of ``x``'s shape, values in [0, 1] (spec section 5)."""
    with torch.enable_grad():
        xg = x.detach().clone().requires_grad_()
        out, a = _activations(forward, layer, xg, "gradient")
        _check_kind(spec, a)
        (grads,) = torch.autograd.grad(out, a, output_seed(out, targets, "one"))
    spatial = tuple(range(2, a.ndim))
    weights = grads.mean(dim=spatial, keepdim=True)
    cam = torch.relu((weights * a.detach()).sum(dim=1))
    peak = cam.flatten(1).amax(dim=1).reshape((-1,) + (1,) * (cam.ndim - 1))
    cam = torch.where(peak > 0, cam / torch.where(peak > 0, peak, torch.ones_like(peak)), torch.zeros_like(cam))
    size = tuple(x.shape[2:])
    interp = "linear" if cam.ndim == 2 else "bilinear"
    cam = F.interpolate(cam.unsqueeze(1), size=size, mode=interp, align_corners=False)
    return cam.expand_as(x).clone()


def guided_backprop_of_activations(forward: Forward, layer: CamLayer, x: torch.Tensor) -> torch.Tensor:
    """Guided backprop of sum(A) per sample (the guided part of guided Grad-CAM)."""
    with torch.enable_grad():
        xg = x.detach().clone().requires_grad_()
        _, a = _activations(forward, layer, xg, "guided")
        (grad,) = torch.autograd.grad(a, xg, torch.ones_like(a))
    return grad


def _check_kind(spec: MethodSpec, a: torch.Tensor) -> None:
    expected = 1 if spec.cam_kind == "timeseries" else 2
    if a.ndim - 2 != expected:
        kind = "time-series (N, C, T)" if expected == 1 else "image (N, C, H, W)"
        raise ValueError(
            f"{spec.name} needs a layer with {kind} activations; layer output has shape {tuple(a.shape)}"
            + (" (use grad_cam_timeseries)" if a.ndim == 3 else " (use grad_cam)" if a.ndim == 4 else "")
        )
