"""Grad-CAM (spec section 5) on the caller's eager model.

A is the output of the chosen convolution after its activation: the convolution's own output when its
activation is fused (or linear), or the output of a ReLU / ELU layer (or ``Activation('relu'/'elu')``) that
directly and solely follows it. w_c = mean over positions of d z_t / d A_c; cam = ReLU(sum_c w_c A_c), divided
by its maximum per sample (0 where the maximum is 0), then upsampled with half-pixel centres (bilinear for
images, linear for time series: the same numbers as ``tf.image.resize(..., "bilinear")``, computed in float64)
and repeated over channels.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .canonical import ModelInfo, activation_name

keras = tf.keras
CONV_TYPES = (keras.layers.Conv1D, keras.layers.Conv2D)


def resolve_a_layer(model: keras.Model, info: ModelInfo, layer: str | None, kind: str) -> str:
    """Name of the layer whose output is A.

    Parameters
    ----------
    model : keras.Model
        The caller's model.
    info : ModelInfo
        From :func:`signxai.tf.canonical.inspect_model`.
    layer : str or None
        The layer named by the method or the caller; None = the last convolution.
    kind : {"image", "timeseries"}
        Grad-CAM kind: the convolution must be 2-D for images, 1-D for time series.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the model has no such layer, or no convolution.
    """
    by_name = {name: model.get_layer(name) for name in info.order}
    if layer is None:
        wanted = keras.layers.Conv2D if kind == "image" else keras.layers.Conv1D
        convs = [name for name in info.order if type(by_name[name]) is wanted]
        if not convs:
            raise ValueError(f"Grad-CAM ({kind}) needs a {wanted.__name__} layer; the model has none")
        layer = convs[-1]
    if layer not in by_name:
        raise ValueError(f"the model has no layer named {layer!r} (Grad-CAM layer); its layers are {info.order}")
    chosen = by_name[layer]
    rank = len(chosen.output_shape)
    if rank != (4 if kind == "image" else 3):
        raise ValueError(f"Grad-CAM ({kind}) layer {layer!r} has output shape {chosen.output_shape}")
    if isinstance(chosen, CONV_TYPES) and activation_name(chosen) == "linear":
        following = info.consumers.get(layer, [])
        if len(following) == 1:
            nxt = by_name[following[0]]
            if isinstance(nxt, (keras.layers.ReLU, keras.layers.ELU)) or (
                type(nxt) is keras.layers.Activation and activation_name(nxt) in ("relu", "elu")
            ):
                return nxt.name
    return layer


def interpolation_matrix(out_size: int, in_size: int) -> np.ndarray:
    """(out_size, in_size) weights of linear interpolation with half-pixel centres (edges clamped)."""
    scale = in_size / out_size
    src = (np.arange(out_size) + 0.5) * scale - 0.5
    lo = np.floor(src)
    frac = src - lo
    lo_idx = np.clip(lo, 0, in_size - 1).astype(int)
    hi_idx = np.clip(lo + 1, 0, in_size - 1).astype(int)
    m = np.zeros((out_size, in_size))
    np.add.at(m, (np.arange(out_size), lo_idx), 1.0 - frac)
    np.add.at(m, (np.arange(out_size), hi_idx), frac)
    return m


def cam_weights_and_maps(eager, x: tf.Tensor, targets: np.ndarray) -> np.ndarray:
    """ReLU(sum_c w_c A_c) normalised to [0, 1] per sample, at A's resolution (float64)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits, a = eager(x)
        selected = tf.gather(logits, tf.constant(targets.astype(np.int32)), axis=1, batch_dims=1)
    grads = tape.gradient(selected, a).numpy().astype(np.float64)
    a = a.numpy().astype(np.float64)
    spatial = tuple(range(1, a.ndim - 1))
    w = grads.mean(axis=spatial, keepdims=True)
    cam = np.maximum((w * a).sum(axis=-1), 0.0)
    peak = cam.reshape(cam.shape[0], -1).max(axis=1).reshape((-1,) + (1,) * (cam.ndim - 1))
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0)


def upsample(cam: np.ndarray, x_shape: tuple) -> np.ndarray:
    """Upsample (N, *spatial) maps to the input's spatial size and repeat them over its channels."""
    out = cam
    for axis, size in enumerate(x_shape[1:-1], start=1):
        m = interpolation_matrix(size, out.shape[axis])
        out = np.moveaxis(np.tensordot(m, np.moveaxis(out, axis, 0), axes=(1, 0)), 0, axis)
    return np.repeat(out[..., None], x_shape[-1], axis=-1)
