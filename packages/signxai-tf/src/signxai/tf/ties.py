"""Max-pooling with the tie rule of spec section 1, for every method.

A value within tau * s of its window's maximum is a tie (s = max|pooling input| of the sample, tau = 1e-9 in
float64, 1e-4 in float32); the backward signal of a window goes to its FIRST tied element, row-major within the
window. :func:`route_max_pool` computes that backward pass (graph- and eager-safe, used by the iNNvestigate
reverse mapping); :func:`max_pool_with_ties` is the forward max pooling with it as its gradient (gradient
methods). The forward value is TensorFlow's.
"""

from __future__ import annotations

import itertools

import tensorflow as tf

keras = tf.keras
layers = tf.keras.layers

TAU = {tf.float64: 1e-9, tf.float32: 1e-4}


def _pool_args(layer: layers.Layer) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    pool = tuple(int(p) for p in layer.pool_size)
    strides = tuple(int(s) for s in layer.strides)
    return pool, strides, layer.padding.upper()


def _forward(x: tf.Tensor, pool: tuple[int, ...], strides: tuple[int, ...], padding: str) -> tf.Tensor:
    return tf.nn.max_pool(x, pool, strides, padding)


def route_max_pool(
    x: tf.Tensor, signal: tf.Tensor, pool: tuple[int, ...], strides: tuple[int, ...], padding: str
) -> tf.Tensor:
    """The backward signal at the pooling input: each window's signal on its first tied element.

    Parameters
    ----------
    x : tf.Tensor
        Pooling input (batch, spatial..., channels), static spatial shape.
    signal : tf.Tensor
        Signal at the pooling output.
    pool, strides : tuple of int
        Window and stride per spatial axis.
    padding : {"VALID", "SAME"}
        As the pooling layer (padded positions never win).
    """
    tau = TAU.get(x.dtype.base_dtype, 1e-4)
    y = _forward(x, pool, strides, padding)
    rank = len(pool)
    spatial = x.shape[1:-1]
    out_sizes = y.shape[1:-1]
    pads = []
    for size, p, s, o in zip(spatial, pool, strides, out_sizes):
        total = max((o - 1) * s + p - size, 0) if padding == "SAME" else 0
        pads.append((total // 2, total - total // 2))
    low = tf.constant(x.dtype.min, x.dtype)
    xp = tf.pad(x, [[0, 0], *[list(p) for p in pads], [0, 0]], constant_values=low) if any(map(any, pads)) else x
    axes = list(range(1, x.shape.rank))
    scale = tf.reduce_max(tf.abs(x), axis=axes, keepdims=True)
    threshold = y - tau * scale
    taken = tf.zeros_like(y, dtype=tf.bool)
    grad = tf.zeros_like(xp)
    mask = 1 | (1 << (rank + 1))
    shape = tf.shape(xp, out_type=tf.int32)
    for offset in itertools.product(*[range(p) for p in pool]):
        begin = [0, *offset, 0]
        end = [0, *[o + (n - 1) * s + 1 for o, n, s in zip(offset, out_sizes, strides)], 0]
        step = [1, *strides, 1]
        window = tf.strided_slice(xp, begin, end, step, begin_mask=mask, end_mask=mask)
        tie = window >= threshold
        chosen = tf.logical_and(tie, tf.logical_not(taken))
        taken = tf.logical_or(taken, tie)
        part = tf.where(chosen, signal, tf.zeros_like(signal))
        grad = grad + tf.raw_ops.StridedSliceGrad(
            shape=shape, begin=begin, end=end, strides=step, dy=part, begin_mask=mask, end_mask=mask
        )
    if any(map(any, pads)):
        grad = grad[(slice(None), *[slice(a, a + n) for (a, _), n in zip(pads, spatial)], slice(None))]
    return grad


def max_pool_with_ties(layer: layers.Layer):
    """``f(x)``: the layer's max pooling whose gradient follows the tie rule (for the eager gradient methods)."""
    pool, strides, padding = _pool_args(layer)

    @tf.custom_gradient
    def pooled(x: tf.Tensor):
        y = _forward(x, pool, strides, padding)

        def grad(dy: tf.Tensor) -> tf.Tensor:
            return route_max_pool(x, dy, pool, strides, padding)

        return y, grad

    return pooled


def pool_args(layer: layers.Layer) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """``(pool, strides, padding)`` of a Keras MaxPooling1D/2D layer."""
    return _pool_args(layer)
