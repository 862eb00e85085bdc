"""Grad-CAM and guided Grad-CAM for images and time series (spec section 5), with half-pixel interpolation.

A = the output of the default layer of spec section 8 (:func:`default_cam_layer`) unless ``spec.layer`` names a
layer (:func:`cam_layer`: a named convolution gives the output of the element-wise activation that is its only
consumer, any other named layer its own output). w_c = mean over positions of dz_t/dA_c; cam = ReLU(sum_c w_c A_c)
/ max (0 where the max is 0), then linearly (time series) or bilinearly (images) upsampled to the input's
spatial size with half-pixel centres and repeated over channels. Guided Grad-CAM = guided backprop of sum(A)
(signal 1 on every element of A) times the upsampled cam.
"""

from __future__ import annotations

import numpy as np

from ..cam import normalised_cam, to_input_shape
from ..spec import MethodSpec
from .gradients import backward, output_signal
from .graph import layer_id, layers_by_id, output_name, resolved_inputs
from .layers import (
    ELU,
    INPUT,
    Activation,
    Affine,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool1D,
    MaxPool2D,
    Model,
    ReLU,
)
from .ops import model_ops, run_ops

_HEAD = (Dense, Flatten, MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D, GlobalAvgPool)
_ELEMENTWISE = (ReLU, ELU, Activation, Affine, BatchNorm)


def default_cam_layer(model: Model, spec: MethodSpec) -> str:
    """Grad-CAM's default layer (spec section 8): walk back from the output over the head and stop.

    The head: Dense, Flatten, pooling, and element-wise layers (activations, Affine, BatchNorm) whose output has
    no spatial axes. The layer where the walk stops must have a spatial output.

    Raises
    ------
    ValueError
        If the walk reaches the model input, or stops at a layer without spatial axes.
    """
    by_id = layers_by_id(model)
    wiring = resolved_inputs(model)
    shapes = {node.name: node.out_shape for node in model_ops(model).nodes}
    name = output_name(model)
    while name != INPUT:
        layer = by_id[name]
        spatial = len(shapes[name]) > 1
        if not (isinstance(layer, _HEAD) or (isinstance(layer, _ELEMENTWISE) and not spatial)):
            if spatial:
                return name
            break
        name = wiring[name][0]
    where = (
        "the model input" if name == INPUT else f"{type(by_id[name]).__name__} {by_id[name].name!r} (no spatial axes)"
    )
    raise ValueError(
        f"{spec.name}: no convolutional feature map for Grad-CAM (walking back over the head reached {where}); "
        "pass layer= with the name of a layer that has a spatial output"
    )


def cam_layer(model: Model, spec: MethodSpec) -> str:
    """Name of the layer whose output is A.

    ``spec.layer`` names any layer; a named Conv whose only consumer is an element-wise activation (ReLU, ELU,
    Activation other than softmax) gives that activation's output (``block5_conv3`` after its ReLU). Without
    ``spec.layer``: :func:`default_cam_layer`.

    Raises
    ------
    ValueError
        If ``spec.layer`` names no layer of the model, or there is no default layer.
    """
    if spec.layer is None:
        return default_cam_layer(model, spec)
    lid = layer_id(model, spec.layer)
    if lid is None:
        convs = ", ".join(layer.name for layer in model.layers if isinstance(layer, (Conv1D, Conv2D))) or "none"
        raise ValueError(
            f"{spec.name}: the model has no layer named {spec.layer!r} (its convolutions: {convs}); "
            "pass layer= with a layer name"
        )
    by_id = layers_by_id(model)
    if isinstance(by_id[lid], (Conv1D, Conv2D)):
        users = [n for n, ins in resolved_inputs(model).items() if lid in ins]
        if len(users) == 1:
            user = by_id[users[0]]
            if isinstance(user, (ReLU, ELU)) or (isinstance(user, Activation) and user.fn != "softmax"):
                return users[0]
    return lid


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
    """Grad-CAM, times guided backprop for guided Grad-CAM (``spec.computation.guided``); float64 of ``x``'s shape."""
    if spec.computation.kind != "cam":
        raise ValueError(f"{spec.name} is not a Grad-CAM method")
    graph = model_ops(model)
    a_name = cam_layer(model, spec)
    a_shape = tuple(graph.node(a_name).out_shape)
    _check_kind(spec, x, a_shape)
    acts = run_ops(graph, x)
    signal = output_signal(acts[graph.output], targets, "one")
    grad = backward(graph, acts, graph.output, signal, "gradient", stop=a_name)
    a = acts[a_name].reshape(x.shape[0], *a_shape)
    grad = grad.reshape(a.shape)
    out = to_input_shape(normalised_cam(a, grad), x.shape)
    if spec.computation.guided:
        guided = backward(graph, acts, a_name, np.ones_like(acts[a_name]), "guided")
        out = out * guided.reshape(x.shape)
    return out
