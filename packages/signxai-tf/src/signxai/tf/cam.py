"""Grad-CAM (spec section 5) on the caller's eager model.

A is the output of the chosen layer: by default the last feature map before the model's head (spec section 8:
the walk back from the output over Dense, Flatten, pooling, dropout and element-wise layers without spatial axes);
a named convolution without activation that is directly and solely followed by an activation layer gives that
layer's output. w_c = mean over positions of d z_t / d A_c; cam = ReLU(sum_c w_c A_c), divided
by its maximum per sample (0 where the maximum is 0), then upsampled with half-pixel centres (bilinear for
images, linear for time series: the same numbers as ``tf.image.resize(..., "bilinear")``, computed in float64
by :mod:`signxai.common.cam`) and repeated over channels.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from signxai.common.cam import normalised_cam

from .activations import activation_of, is_activation_layer
from .canonical import ModelInfo
from .plan import AFFINE_TYPES, AVG_TYPES, CONV_TYPES, DROPOUT_TYPES, MAX_TYPES
from .structure import INPUT_KEY, consumers_of

keras = tf.keras
layers = tf.keras.layers


def activation_name(layer: layers.Layer) -> str | None:
    act = activation_of(layer)
    return None if act is None else act.name


#: The head Grad-CAM's default walk passes over (spec section 8).
HEAD_TYPES = (
    layers.Dense,
    layers.Flatten,
    *MAX_TYPES,
    *AVG_TYPES,
    layers.GlobalMaxPooling1D,
    layers.GlobalMaxPooling2D,
    *DROPOUT_TYPES,
)
ELEMENTWISE_TYPES = AFFINE_TYPES


def _default_layer(model: keras.Model, info: ModelInfo, kind: str) -> str:
    """Walk back from the output over the head (spec section 8); the layer where the walk stops is A."""
    if info.nodes is None:
        raise ValueError(f"Grad-CAM cannot find a default layer in this model ({info.graph_error}); pass layer=")
    by_key = {n.key: n for n in info.nodes}
    key = info.output_key
    while True:
        node = by_key[key]
        layer = model.get_layer(node.layer_name)
        spatial = len(layer.get_output_shape_at(node.call)) > 2
        head = isinstance(layer, HEAD_TYPES) or (
            not spatial and (is_activation_layer(layer) or isinstance(layer, ELEMENTWISE_TYPES))
        )
        if not head:
            break
        if len(node.inputs) != 1 or node.inputs[0] == INPUT_KEY:
            node = None
            break
        key = node.inputs[0]
    rank = 4 if kind == "image" else 3
    if node is None or len(model.get_layer(node.layer_name).get_output_shape_at(node.call)) != rank:
        what = "2-D (image)" if kind == "image" else "1-D (time series)"
        raise ValueError(
            f"Grad-CAM found no {what} feature map before the model's head (Dense, pooling, flattening); "
            "pass layer= with the name of the layer whose output is A"
        )
    return node.layer_name


def resolve_a_layer(model: keras.Model, info: ModelInfo, layer: str | None, kind: str) -> str:
    """Name of the layer whose output is A.

    Parameters
    ----------
    model : keras.Model
        The caller's model.
    info : ModelInfo
        From :func:`signxai.tf.canonical.inspect_model`.
    layer : str or None
        The layer named by the method or the caller; None = the last feature map before the head (spec
        section 8): the walk back from the output over Dense, Flatten, pooling, dropout and element-wise layers
        without spatial axes stops at A.
    kind : {"image", "timeseries"}
        Grad-CAM kind: A must be 2-D for images, 1-D for time series.

    Returns
    -------
    str
        A named convolution with a linear activation that is directly and solely followed by an activation
        layer gives that activation layer (A is taken after the activation).

    Raises
    ------
    ValueError
        If the model has no such layer, or no feature map of the right rank.
    """
    names = [lay.name for lay in model.layers]
    if layer is None:
        return _default_layer(model, info, kind)
    if layer not in names:
        raise ValueError(f"the model has no layer named {layer!r} (Grad-CAM layer); its layers are {names}")
    chosen = model.get_layer(layer)
    rank = len(chosen.output_shape)
    if rank != (4 if kind == "image" else 3):
        raise ValueError(f"Grad-CAM ({kind}) layer {layer!r} has output shape {chosen.output_shape}")
    if isinstance(chosen, CONV_TYPES) and activation_name(chosen) == "linear" and info.nodes is not None:
        following = consumers_of(info.nodes).get(layer, [])
        if len(following) == 1:
            nxt = model.get_layer(following[0])
            act = activation_of(nxt)
            if is_activation_layer(nxt) and act is not None and act.elementwise and act.name != "linear":
                return nxt.name
    return layer


def cam_weights_and_maps(eager, x: tf.Tensor, targets: np.ndarray) -> np.ndarray:
    """ReLU(sum_c w_c A_c) normalised to [0, 1] per sample, at A's resolution (float64)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits, a = eager(x)
        selected = tf.gather(logits, tf.constant(targets.astype(np.int32)), axis=1, batch_dims=1)
    grads = tape.gradient(selected, a)
    return normalised_cam(a.numpy(), grads.numpy())
