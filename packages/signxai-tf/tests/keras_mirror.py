"""Keras models that mirror the plain reference models of ``signxai.common.reference`` one to one.

Both use the channels-last layout and Keras weight conventions, so weights are copied without any
transposition. ``fused=True`` folds a ReLU/ELU that directly follows a Conv/Dense layer into that layer's
``activation`` (the other Keras spelling of the same model); otherwise every activation is its own
``keras.layers.ReLU`` / ``ELU`` layer. ``functional=True`` builds a functional model instead of a Sequential.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from signxai.common.reference import layers as ref

L = tf.keras.layers


def _activation_of(layer: object) -> str | None:
    if isinstance(layer, ref.ReLU):
        return "relu"
    if isinstance(layer, ref.ELU) and layer.alpha == 1.0:
        return "elu"
    return None


def to_keras(model: ref.Model, dtype: str = "float64", fused: bool = False, functional: bool = False) -> tf.keras.Model:
    """Build the Keras twin of a reference model (same names, same weights, cast to ``dtype``)."""

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
