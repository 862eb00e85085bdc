"""Element-wise activations (spec section 8): recognising them in a Keras model and computing them exactly.

:func:`activation_of` describes a layer's activation (an activation layer, or one fused into a Dense/Conv layer)
as an :class:`ActivationInfo`: its family name and a TensorFlow function that computes exactly what the layer
computes (Keras' own definitions: Keras 2's ``hard_sigmoid`` is ``clip(0.2 x + 0.5, 0, 1)``).
:func:`hard_sigmoid` and :func:`hard_swish` are the PyTorch definitions (relu6(x + 3) / 6 and x times it), for
models that want them (``keras.layers.Activation(signxai.tf.activations.hard_swish)``), and :func:`leaky_relu`
keeps alpha in float64, :func:`gelu` sqrt(2); they are recognised too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

keras = tf.keras
layers = tf.keras.layers

#: Element-wise activations LRP passes relevance through and guided backprop / deconvnet modify (spec section 8).
ELEMENTWISE = (
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "hard_sigmoid",
    "hard_sigmoid_torch",
    "hard_swish",
    "softplus",
    "tanh",
    "sigmoid",
)
#: Activations whose output may gate another tensor (signal-take-all in LRP).
GATES = ("sigmoid", "hard_sigmoid", "hard_sigmoid_torch", "softmax")
#: Activations that make a model output probabilities instead of logits.
OUTPUT_SQUASHERS = ("softmax", "log_softmax", "sigmoid")


def hard_sigmoid(x: tf.Tensor) -> tf.Tensor:
    """PyTorch's hard sigmoid: relu6(x + 3) / 6."""
    return tf.nn.relu6(x + 3.0) / 6.0


def hard_swish(x: tf.Tensor) -> tf.Tensor:
    """Hard swish: x * relu6(x + 3) / 6."""
    return x * tf.nn.relu6(x + 3.0) / 6.0


def leaky_relu(alpha: float) -> Callable[[tf.Tensor], tf.Tensor]:
    """Leaky ReLU with ``alpha`` kept in the input's precision (TensorFlow's LeakyRelu op, used by
    ``keras.layers.LeakyReLU``, stores alpha as a float32 attribute): x if x > 0 else alpha * x."""

    def fn(x: tf.Tensor) -> tf.Tensor:
        return tf.where(x > 0, x, tf.constant(alpha, dtype=x.dtype) * x)

    fn._signxai_name = "leaky_relu"
    return fn


def gelu(x: tf.Tensor) -> tf.Tensor:
    """Exact GELU x * Phi(x) with sqrt(2) in the input's precision (``tf.nn.gelu`` casts sqrt(2) from float32)."""
    return 0.5 * x * (1.0 + tf.math.erf(x / tf.constant(2.0**0.5, dtype=x.dtype)))


gelu._signxai_name = "gelu"
_OWN = {hard_sigmoid: "hard_sigmoid_torch", hard_swish: "hard_swish"}


@dataclass(frozen=True)
class ActivationInfo:
    """An activation: ``name`` (family name or the unrecognised Keras name) and ``fn`` computing it."""

    name: str
    fn: Callable[[tf.Tensor], tf.Tensor] | None

    @property
    def elementwise(self) -> bool:
        return self.name in ELEMENTWISE

    @property
    def is_gate(self) -> bool:
        return self.name in GATES


def _function_name(fn) -> str:
    if fn in _OWN:
        return _OWN[fn]
    if getattr(fn, "_signxai_name", None):
        return fn._signxai_name
    try:
        name = keras.activations.serialize(fn)
    except ValueError:
        return getattr(fn, "__name__", type(fn).__name__)
    if isinstance(name, dict):
        name = name.get("config", {}).get("name", name.get("class_name"))
    name = str(name)
    return "swish" if name == "silu" else name


def _relu_fn(negative_slope: float, max_value: float | None, threshold: float) -> Callable:
    def fn(x: tf.Tensor) -> tf.Tensor:
        return keras.backend.relu(x, alpha=negative_slope, max_value=max_value, threshold=threshold)

    return fn


def activation_of(layer: layers.Layer) -> ActivationInfo | None:
    """The activation a layer applies (None for a layer without one, e.g. Add or Flatten).

    Parameters
    ----------
    layer : keras.layers.Layer
        An activation layer (``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``Softmax``) or a layer with an
        ``activation`` attribute (a fused activation of Dense/Conv).

    Returns
    -------
    ActivationInfo or None
    """
    if isinstance(layer, layers.ReLU):
        slope = float(layer.negative_slope)
        top = None if layer.max_value is None else float(layer.max_value)
        threshold = float(layer.threshold)
        if threshold != 0.0 or (top is not None and top != 6.0):
            name = "relu_variant"
        elif top == 6.0:
            name = "relu6" if slope == 0.0 else "relu_variant"
        else:
            name = "relu" if slope == 0.0 else "leaky_relu"
        return ActivationInfo(name, _relu_fn(slope, top, threshold))
    if isinstance(layer, layers.LeakyReLU):
        alpha = float(layer.alpha)
        return ActivationInfo("leaky_relu", lambda x: tf.nn.leaky_relu(x, alpha=alpha))
    if isinstance(layer, layers.ELU):
        alpha = float(layer.alpha)
        return ActivationInfo("elu", lambda x: keras.activations.elu(x, alpha=alpha))
    if isinstance(layer, layers.Softmax):
        axis = layer.axis if isinstance(layer.axis, int) else None
        return ActivationInfo("softmax" if axis == -1 else "softmax_axis", None)
    fn = getattr(layer, "activation", None)
    if fn is None or not callable(fn):
        return None
    name = _function_name(fn)
    if name == "softmax":
        return ActivationInfo("softmax", None)
    return ActivationInfo(name, fn)


def is_activation_layer(layer: layers.Layer) -> bool:
    """Whether the layer is an activation on its own (not a Dense/Conv with a fused activation)."""
    return isinstance(layer, (layers.Activation, layers.ReLU, layers.LeakyReLU, layers.ELU, layers.Softmax))
