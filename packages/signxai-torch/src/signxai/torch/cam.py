"""Grad-CAM and guided Grad-CAM for images and time series (spec section 5).

A is the output of the chosen convolution after the activation that directly follows it (a ReLU/ELU module or
function applied to the convolution's output; the convolution's own output when none does). The layer is the last
convolution called in the forward pass unless ``layer=`` names a module; a named module that is not a convolution
(e.g. a ReLU) gives its own output as A. w_c = mean over positions of dz_t/dA_c; cam = ReLU(sum_c w_c A_c) / max
(0 where the max is 0), upsampled to the input's length / size with linear / bilinear interpolation and half-pixel
centres (``align_corners=False``), repeated over channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from signxai.common import MethodSpec

from .functional import SignalMode
from .gradients import Forward, output_seed
from .graph import CONVOLUTIONS, ModelGraph


def cam_layer(spec: MethodSpec, model: torch.nn.Module, graph: ModelGraph) -> tuple[str, torch.nn.Module]:
    """The Grad-CAM module: ``spec.layer`` by name, else the last convolution called.

    Raises
    ------
    ValueError
        If the named module does not exist, or the model calls no convolution.
    """
    modules = dict(model.named_modules())
    if spec.layer is not None:
        if spec.layer not in modules or spec.layer == "":
            convs = ", ".join(graph.convolutions) or "none"
            raise ValueError(
                f"{spec.name}: the model has no layer named {spec.layer!r} (its convolutions: {convs}); "
                "pass layer= with a module name"
            )
        return spec.layer, modules[spec.layer]
    if not graph.convolutions:
        raise ValueError(f"{spec.name}: the model has no convolution layer for Grad-CAM")
    name = graph.convolutions[-1]
    return name, modules[name]


def _activations(
    forward: Forward, layer: torch.nn.Module, x: torch.Tensor, activations: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward pass returning (logits, A) with gradient enabled."""
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
    spec: MethodSpec, forward: Forward, layer: torch.nn.Module, x: torch.Tensor, targets: torch.Tensor
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


def guided_backprop_of_activations(forward: Forward, layer: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
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
