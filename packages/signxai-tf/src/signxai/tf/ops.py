"""Small TensorFlow helpers shared by the rules and the eager methods (graph- and eager-safe)."""

from __future__ import annotations

import tensorflow as tf

from signxai.common.signs import SAFE_DIVISION_EPS

keras = tf.keras


def safe_divide(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """``a / (b + 1e-7 * [b == 0])`` (spec section 1)."""
    return a / (b + tf.cast(tf.equal(b, 0), b.dtype) * SAFE_DIVISION_EPS)


def sign_mu(x: tf.Tensor, mu: float) -> tf.Tensor:
    """+1 where ``x >= mu``, -1 elsewhere (sign(0) = +1 for mu = 0)."""
    return tf.where(x >= tf.constant(mu, dtype=x.dtype), tf.ones_like(x), -tf.ones_like(x))


def linear(layer: keras.layers.Layer, x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
    """The pre-activation of a Dense / Conv1D / Conv2D layer computed with the given kernel and bias."""
    if isinstance(layer, keras.layers.Dense):
        z = tf.matmul(x, kernel) if x.shape.rank == 2 else tf.tensordot(x, kernel, [[x.shape.rank - 1], [0]])
    else:
        z = layer.convolution_op(x, kernel)
    if bias is not None:
        z = z + bias
    return z
