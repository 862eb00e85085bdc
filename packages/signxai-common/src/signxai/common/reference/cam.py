"""Grad-CAM and guided Grad-CAM for images and time series (spec section 5), with half-pixel interpolation.

A = the output of the chosen convolution after the ReLU/ELU that directly follows it (the convolution's own
output when none does; a named layer that is not a convolution gives its own output). The layer is the last
convolution unless ``spec.layer`` names one. w_c = mean over positions of dz_t/dA_c; cam = ReLU(sum_c w_c A_c)
/ max (0 where the max is 0), then linearly (time series) or bilinearly (images) upsampled to the input's
spatial size with half-pixel centres and repeated over channels. Guided Grad-CAM = guided backprop of sum(A)
(signal 1 on every element of A) times the upsampled cam.
"""

from __future__ import annotations

import numpy as np

from ..spec import MethodSpec
from .gradients import backward, output_signal
from .layers import ELU, Conv1D, Conv2D, Model, ReLU
from .ops import model_ops, run_ops


def interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) linear interpolation with half-pixel centres, clamped at the borders.

    Output o samples the input at src = (o + 0.5) n_in / n_out - 0.5, clamped to [0, n_in - 1]: the same as
    ``torch.nn.functional.interpolate(align_corners=False)`` and ``tf.image.resize`` (bilinear).
    """
    u = np.zeros((n_out, n_in))
    for o in range(n_out):
        src = min(max((o + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1.0)
        i0 = int(np.floor(src))
        i1 = min(i0 + 1, n_in - 1)
        frac = src - i0
        u[o, i0] += 1.0 - frac
        u[o, i1] += frac
    return u


def upsample(cam: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Resize (batch, *spatial) maps to (batch, *size): separable linear interpolation along each axis."""
    out = cam
    for axis, n_out in enumerate(size, start=1):
        u = interpolation_matrix(out.shape[axis], n_out)
        out = np.moveaxis(np.tensordot(u, np.moveaxis(out, axis, 0), axes=(1, 0)), 0, axis)
    return out


def cam_layer_index(model: Model, spec: MethodSpec) -> tuple[int, int]:
    """(index of the chosen layer, index of the layer whose output is A).

    Raises
    ------
    ValueError
        If ``spec.layer`` names no layer of the model, or the model has no convolution.
    """
    names = [layer.name for layer in model.layers]
    convs = [i for i, layer in enumerate(model.layers) if isinstance(layer, (Conv1D, Conv2D))]
    if spec.layer is not None:
        if spec.layer not in names:
            conv_names = ", ".join(names[i] for i in convs) or "none"
            raise ValueError(
                f"{spec.name}: the model has no layer named {spec.layer!r} (its convolutions: {conv_names}); "
                "pass layer= with a layer name"
            )
        idx = names.index(spec.layer)
    elif convs:
        idx = convs[-1]
    else:
        raise ValueError(f"{spec.name}: the model has no convolution layer for Grad-CAM")
    a_idx = idx
    if idx in convs and idx + 1 < len(model.layers) and isinstance(model.layers[idx + 1], (ReLU, ELU)):
        a_idx = idx + 1
    return idx, a_idx


def _check_kind(spec: MethodSpec, x: np.ndarray, a_shape: tuple[int, ...]) -> None:
    rank = 1 if spec.cam_kind == "timeseries" else 2
    if x.ndim - 2 != rank or len(a_shape) - 1 != rank:
        kind = "time-series (T, C)" if rank == 1 else "image (H, W, C)"
        hint = "grad_cam" if rank == 1 else "grad_cam_timeseries"
        raise ValueError(
            f"{spec.name} needs {kind} inputs and activations; input sample shape {tuple(x.shape[1:])}, "
            f"layer output shape {a_shape} (use {hint})"
        )


def grad_cam(model: Model, x: np.ndarray, spec: MethodSpec, targets: np.ndarray) -> np.ndarray:
    """Grad-CAM (``spec.base == "grad_cam"``) or guided Grad-CAM; float64 of ``x``'s shape."""
    ops = model_ops(model)
    _, a_idx = cam_layer_index(model, spec)
    a_shape = tuple(ops[a_idx].out_shape)
    _check_kind(spec, x, a_shape)
    acts = run_ops(ops, x)
    a = acts[a_idx + 1]
    grad = backward(ops, acts, output_signal(acts[-1], targets, "one"), "gradient", start=len(ops), stop=a_idx + 1)
    a = a.reshape(x.shape[0], *a_shape)
    grad = grad.reshape(a.shape)
    spatial = tuple(range(1, a.ndim - 1))
    weights = grad.mean(axis=spatial, keepdims=True)
    cam = np.maximum((weights * a).sum(axis=-1), 0.0)
    peak = cam.reshape(cam.shape[0], -1).max(axis=1).reshape((-1,) + (1,) * (cam.ndim - 1))
    cam = np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0)
    cam = upsample(cam, tuple(x.shape[1:-1]))
    out = np.repeat(cam[..., None], x.shape[-1], axis=-1)
    if spec.base == "guided_grad_cam":
        guided = backward(ops, acts, np.ones_like(acts[a_idx + 1]), "guided", start=a_idx + 1, stop=0)
        out = out * guided.reshape(x.shape)
    elif spec.base != "grad_cam":
        raise ValueError(f"{spec.name} is not a Grad-CAM method")
    return out
