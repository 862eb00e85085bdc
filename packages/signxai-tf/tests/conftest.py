"""Shared small Keras models for the signxai-tf tests (float64 unless stated)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

L = tf.keras.layers


def small_cnn(dtype: str = "float64", bias: bool = True, seed: int = 0, softmax: str | None = None) -> tf.keras.Model:
    """Conv(same, ReLU layer) -> Conv(stride 2, fused ReLU) -> MaxPool -> Flatten -> Dense(4)."""
    rng = np.random.default_rng(seed)
    layers = [
        tf.keras.Input((6, 6, 2), dtype=dtype),
        L.Conv2D(3, 3, padding="same", use_bias=bias, dtype=dtype, name="conv_a"),
        L.ReLU(dtype=dtype, name="relu_a"),
        L.Conv2D(4, 2, strides=2, activation="relu", use_bias=bias, dtype=dtype, name="conv_b"),
        L.MaxPooling2D(dtype=dtype),
        L.Flatten(dtype=dtype),
        L.Dense(4, use_bias=bias, dtype=dtype, activation="softmax" if softmax == "fused" else None, name="logits"),
    ]
    if softmax == "layer":
        layers.append(L.Activation("softmax", dtype=dtype))
    model = tf.keras.Sequential(layers)
    for layer in model.layers:
        layer.set_weights([rng.normal(0, 0.6, size=w.shape).astype(dtype) for w in layer.get_weights()])
    return model


def small_input(dtype: str = "float64", n: int = 2, seed: int = 1) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 6, 6, 2)).astype(dtype)
    x[0, 0, 0, 0] = 0.0
    x[:, 1, 1, :] = 0.5
    return x


@pytest.fixture
def cnn() -> tf.keras.Model:
    return small_cnn()


@pytest.fixture
def x() -> np.ndarray:
    return small_input()
