"""Keras models that mirror the reference models of ``signxai.common.reference`` one to one.

Both use the channels-last layout and Keras weight conventions, so weights are copied without any
transposition. ``fused=True`` folds a ReLU/ELU that directly follows a Conv/Dense layer into that layer's
``activation`` (the other Keras spelling of the same model); otherwise every activation is its own
``keras.layers.ReLU`` / ``ELU`` layer. ``functional=True`` builds a functional model instead of a Sequential.

Graph models (any layer with ``inputs``) become functional models (:func:`to_keras_graph`): Add, Concatenate and
Multiply are the Keras merge layers; ``groups == c_in`` is a DepthwiseConv1D/2D (kernel (k..., 1, c_in m)
rearranged to (k..., c_in, m)), other ``groups`` the Keras ``groups`` argument; Affine is a per-channel Rescaling;
ZeroPadding / UpSampling the Keras layers; ``bias=None`` is ``use_bias=False``; activations have the exact
definitions of ``layers.py`` (hard_sigmoid = relu6(x + 3) / 6 is :func:`signxai.tf.activations.hard_sigmoid`,
not Keras 2's hard_sigmoid).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from signxai.common.reference import layers as ref
from signxai.tf import activations as tf_activations

L = tf.keras.layers


def _activation_of(layer: object) -> str | None:
    if isinstance(layer, ref.ReLU):
        return "relu"
    if isinstance(layer, ref.ELU) and layer.alpha == 1.0:
        return "elu"
    return None


def to_keras(model: ref.Model, dtype: str = "float64", fused: bool = False, functional: bool = False) -> tf.keras.Model:
    """Build the Keras twin of a reference model (same names, same weights, cast to ``dtype``)."""
    if any(getattr(layer, "inputs", ()) for layer in model.layers):
        return to_keras_graph(model, dtype)

    def cast(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=dtype)

    specs: list[tuple[L.Layer, list[np.ndarray]]] = []
    rank = len(model.input_shape)
    items = list(model.layers)
    i = 0
    while i < len(items):
        layer = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        act = _activation_of(nxt) if fused and isinstance(layer, (ref.Dense, ref.Conv1D, ref.Conv2D)) else None
        kw = {"name": layer.name, "dtype": dtype}
        if isinstance(layer, ref.Dense):
            k = L.Dense(layer.weight.shape[1], activation=act, **kw)
            specs.append((k, [cast(layer.weight), cast(layer.bias)]))
        elif isinstance(layer, ref.Conv1D):
            k = L.Conv1D(
                layer.kernel.shape[-1],
                layer.kernel.shape[0],
                strides=layer.stride,
                padding=layer.padding,
                activation=act,
                **kw,
            )
            specs.append((k, [cast(layer.kernel), cast(layer.bias)]))
        elif isinstance(layer, ref.Conv2D):
            k = L.Conv2D(
                layer.kernel.shape[-1],
                layer.kernel.shape[:2],
                strides=layer.strides,
                padding=layer.padding,
                activation=act,
                **kw,
            )
            specs.append((k, [cast(layer.kernel), cast(layer.bias)]))
        elif isinstance(layer, ref.MaxPool1D):
            specs.append((L.MaxPooling1D(layer.pool, layer.stride or layer.pool, **kw), []))
        elif isinstance(layer, ref.MaxPool2D):
            specs.append((L.MaxPooling2D(layer.pool, layer.strides or layer.pool, **kw), []))
        elif isinstance(layer, ref.AvgPool1D):
            specs.append((L.AveragePooling1D(layer.pool, layer.stride or layer.pool, **kw), []))
        elif isinstance(layer, ref.AvgPool2D):
            specs.append((L.AveragePooling2D(layer.pool, layer.strides or layer.pool, **kw), []))
        elif isinstance(layer, ref.GlobalAvgPool):
            cls = L.GlobalAveragePooling2D if rank == 3 else L.GlobalAveragePooling1D
            specs.append((cls(**kw), []))
        elif isinstance(layer, ref.Flatten):
            specs.append((L.Flatten(**kw), []))
        elif isinstance(layer, ref.ReLU):
            specs.append((L.ReLU(**kw), []))
        elif isinstance(layer, ref.ELU):
            specs.append((L.ELU(alpha=layer.alpha, **kw), []))
        elif isinstance(layer, ref.BatchNorm):
            k = L.BatchNormalization(epsilon=layer.eps, **kw)
            specs.append((k, [cast(layer.gamma), cast(layer.beta), cast(layer.mean), cast(layer.var)]))
        else:
            raise TypeError(f"no Keras twin for {type(layer).__name__}")
        if isinstance(layer, (ref.GlobalAvgPool, ref.Flatten)):
            rank = 1
        i += 2 if act is not None else 1
    inp = tf.keras.Input(model.input_shape, dtype=dtype, name="input")
    if functional:
        h = inp
        for k, _ in specs:
            h = k(h)
        keras_model = tf.keras.Model(inp, h, name=model.name)
    else:
        keras_model = tf.keras.Sequential([inp] + [k for k, _ in specs], name=model.name)
    for k, weights in specs:
        if weights:
            k.set_weights(weights)
    return keras_model


_ACTIVATIONS = {
    "selu": "selu",
    "gelu": tf_activations.gelu,
    "silu": "swish",
    "softplus": "softplus",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "softmax": "softmax",
    "hard_sigmoid": tf_activations.hard_sigmoid,
    "hard_swish": tf_activations.hard_swish,
}


def _activation(layer: ref.Activation, kw: dict) -> L.Layer:
    if layer.fn == "relu6":
        return L.ReLU(max_value=6.0, **kw)
    if layer.fn == "leaky_relu":
        return L.Activation(tf_activations.leaky_relu(layer.alpha), **kw)
    return L.Activation(_ACTIVATIONS[layer.fn], **kw)


def _conv(layer, rank: int, kw: dict, cast) -> tuple[L.Layer, list[np.ndarray]]:
    kernel = cast(layer.kernel)
    c_in, c_out = kernel.shape[-2] * layer.groups, kernel.shape[-1]
    strides = (layer.stride,) if rank == 1 else tuple(layer.strides)
    use_bias = layer.bias is not None
    weights_tail = [cast(layer.bias)] if use_bias else []
    if layer.groups > 1 and layer.groups == c_in:
        cls = L.DepthwiseConv1D if rank == 1 else L.DepthwiseConv2D
        mult = c_out // c_in
        k = cls(
            kernel.shape[:-2], strides=strides, padding=layer.padding, depth_multiplier=mult, use_bias=use_bias, **kw
        )
        return k, [kernel.reshape((*kernel.shape[:-2], c_in, mult)), *weights_tail]
    cls = L.Conv1D if rank == 1 else L.Conv2D
    k = cls(
        c_out, kernel.shape[:-2], strides=strides, padding=layer.padding, groups=layer.groups, use_bias=use_bias, **kw
    )
    return k, [kernel, *weights_tail]


def to_keras_graph(model: ref.Model, dtype: str = "float64") -> tf.keras.Model:
    """The functional Keras twin of a reference graph model (every layer type of ``layers.py``).

    Built with ``floatx`` = ``dtype`` (restored afterwards): Keras stores LeakyReLU's and ELU's alpha with
    ``cast_to_floatx``, which would round 0.1 to float32 in a float64 model.
    """
    previous = tf.keras.backend.floatx()
    tf.keras.backend.set_floatx(dtype)
    try:
        return _to_keras_graph(model, dtype)
    finally:
        tf.keras.backend.set_floatx(previous)


def _to_keras_graph(model: ref.Model, dtype: str) -> tf.keras.Model:

    def cast(a) -> np.ndarray:
        return np.asarray(a, dtype=dtype)

    rank = len(model.input_shape) - 1
    inp = tf.keras.Input(model.input_shape, dtype=dtype, name="input")
    tensors = {ref.INPUT: inp}
    previous = ref.INPUT
    pending: list[tuple[L.Layer, list[np.ndarray]]] = []
    for layer in model.layers:
        kw = {"name": layer.name, "dtype": dtype}
        names = tuple(layer.inputs) or (previous,)
        args = [tensors[n] for n in names]
        weights: list[np.ndarray] = []
        if isinstance(layer, ref.Dense):
            k = L.Dense(layer.weight.shape[1], use_bias=layer.bias is not None, **kw)
            weights = [cast(layer.weight)] + ([cast(layer.bias)] if layer.bias is not None else [])
        elif isinstance(layer, (ref.Conv1D, ref.Conv2D)):
            k, weights = _conv(layer, 1 if isinstance(layer, ref.Conv1D) else 2, kw, cast)
        elif isinstance(layer, ref.MaxPool1D):
            k = L.MaxPooling1D(layer.pool, layer.stride or layer.pool, **kw)
        elif isinstance(layer, ref.MaxPool2D):
            k = L.MaxPooling2D(layer.pool, layer.strides or layer.pool, **kw)
        elif isinstance(layer, ref.AvgPool1D):
            k = L.AveragePooling1D(layer.pool, layer.stride or layer.pool, **kw)
        elif isinstance(layer, ref.AvgPool2D):
            k = L.AveragePooling2D(layer.pool, layer.strides or layer.pool, **kw)
        elif isinstance(layer, ref.GlobalAvgPool):
            cls = L.GlobalAveragePooling2D if len(args[0].shape) == 4 else L.GlobalAveragePooling1D
            k = cls(keepdims=layer.keepdims, **kw)
        elif isinstance(layer, ref.Flatten):
            k = L.Flatten(**kw)
        elif isinstance(layer, ref.ReLU):
            k = L.ReLU(**kw)
        elif isinstance(layer, ref.ELU):
            k = L.ELU(alpha=layer.alpha, **kw)
        elif isinstance(layer, ref.Activation):
            k = _activation(layer, kw)
        elif isinstance(layer, ref.BatchNorm):
            k = L.BatchNormalization(epsilon=layer.eps, **kw)
            weights = [cast(layer.gamma), cast(layer.beta), cast(layer.mean), cast(layer.var)]
        elif isinstance(layer, ref.Affine):
            k = L.Rescaling(cast(layer.scale), cast(layer.shift), **kw)
        elif isinstance(layer, ref.ZeroPadding):
            pads = tuple(tuple(p) for p in layer.padding)
            k = L.ZeroPadding1D(pads[0], **kw) if rank == 1 else L.ZeroPadding2D(pads, **kw)
        elif isinstance(layer, ref.UpSampling):
            size = tuple(layer.size)
            k = L.UpSampling1D(size[0], **kw) if rank == 1 else L.UpSampling2D(size, **kw)
        elif isinstance(layer, ref.Add):
            k = L.Add(**kw)
        elif isinstance(layer, ref.Concatenate):
            k = L.Concatenate(axis=-1, **kw)
        elif isinstance(layer, ref.Multiply):
            k = L.Multiply(**kw)
        else:
            raise TypeError(f"no Keras twin for {type(layer).__name__}")
        tensors[layer.name] = k(args[0] if len(args) == 1 else args)
        pending.append((k, weights))
        previous = layer.name
    keras_model = tf.keras.Model(inp, tensors[previous], name=model.name)
    for k, weights in pending:
        if weights:
            k.set_weights(weights)
    return keras_model
