"""Layers of the private clone that Keras has no exact equivalent for.

- :class:`ChannelAffine`: ``y = x * scale + shift`` over the last axis; the inference map of a BatchNormalization
  that is not folded, of Rescaling and of Normalization (no learning phase, spec section 8).
- :class:`SpatialConv`: a 1-D/2-D convolution with explicit zero padding (``"valid"``/``"same"``/causal, or the
  pads of an explicit ZeroPadding layer merged into it, so padded positions are never inputs) and ``groups``
  (depthwise convolutions are ``groups == c_in``). Kernel layout (k..., c_in / groups, c_out) as in Keras.

Both expose ``linear(x, kernel, bias)``, the layer's map with other weights, which the LRP rules use.
"""

from __future__ import annotations

import tensorflow as tf

keras = tf.keras
layers = tf.keras.layers


class ChannelAffine(layers.Layer):
    """``y = x * scale + shift`` over the last axis (weights ``scale``, ``shift`` of shape (C,))."""

    def build(self, input_shape) -> None:
        channels = int(input_shape[-1])
        self.scale = self.add_weight(name="scale", shape=(channels,), initializer="ones", trainable=False)
        self.shift = self.add_weight(name="shift", shape=(channels,), initializer="zeros", trainable=False)
        super().build(input_shape)

    def linear(self, x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
        return x * kernel if bias is None else x * kernel + bias

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.linear(inputs, self.scale, self.shift)

    @property
    def kernel_and_bias(self) -> tuple[tf.Tensor, tf.Tensor | None]:
        return self.scale, self.shift


class SpatialConv(layers.Layer):
    """A convolution with explicit zero padding and groups.

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size : tuple of int
        Window per spatial axis (1 or 2 axes).
    strides, dilation_rate : tuple of int
        Per spatial axis.
    pads : tuple of (int, int)
        Zero padding (before, after) per spatial axis, applied before a "valid" convolution.
    groups : int
        Input channel groups (``c_in`` for a depthwise convolution).
    use_bias : bool
        Whether the layer adds a bias.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: tuple[int, ...],
        strides: tuple[int, ...],
        dilation_rate: tuple[int, ...],
        pads: tuple[tuple[int, int], ...],
        groups: int = 1,
        use_bias: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = tuple(int(k) for k in kernel_size)
        self.strides = tuple(int(s) for s in strides)
        self.dilation_rate = tuple(int(d) for d in dilation_rate)
        self.pads = tuple((int(a), int(b)) for a, b in pads)
        self.groups = int(groups)
        self.use_bias = bool(use_bias)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "dilation_rate": self.dilation_rate,
            "pads": self.pads,
            "groups": self.groups,
            "use_bias": self.use_bias,
        }

    def build(self, input_shape) -> None:
        c_in = int(input_shape[-1])
        shape = (*self.kernel_size, c_in // self.groups, self.filters)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None
        super().build(input_shape)

    @property
    def kernel_and_bias(self) -> tuple[tf.Tensor, tf.Tensor | None]:
        return self.kernel, self.bias

    def _conv(self, x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        c_in = int(x.shape[-1])
        if self.groups == 1:
            return tf.nn.convolution(x, kernel, strides=self.strides, padding="VALID", dilations=self.dilation_rate)
        if self.groups == c_in:
            mult = self.filters // c_in
            one_d = len(self.kernel_size) == 1
            if one_d:
                x = x[:, None]
                kernel = kernel[None]
            kh, kw = kernel.shape[0], kernel.shape[1]
            strides = (1, *self.strides) if one_d else self.strides
            dilations = (1, *self.dilation_rate) if one_d else self.dilation_rate
            dw = tf.reshape(kernel, (kh, kw, c_in, mult))
            out = tf.nn.depthwise_conv2d(x, dw, (1, *strides, 1), "VALID", dilations=dilations)
            return out[:, 0] if one_d else out
        xs = tf.split(x, self.groups, axis=-1)
        ks = tf.split(kernel, self.groups, axis=-1)
        outs = [
            tf.nn.convolution(a, k, strides=self.strides, padding="VALID", dilations=self.dilation_rate)
            for a, k in zip(xs, ks)
        ]
        return tf.concat(outs, axis=-1)

    def linear(self, x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
        if any(a or b for a, b in self.pads):
            x = tf.pad(x, [[0, 0], *[list(p) for p in self.pads], [0, 0]])
        z = self._conv(x, kernel)
        return z if bias is None else z + bias

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.linear(inputs, self.kernel, self.bias)


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" padding of one axis (the extra element at the end)."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def kernel_and_bias(layer: layers.Layer) -> tuple[tf.Tensor, tf.Tensor | None]:
    """The weights a rule works with: (kernel, bias or None) of Dense / SpatialConv, (scale, shift) of an affine."""
    if isinstance(layer, (ChannelAffine, SpatialConv)):
        return layer.kernel_and_bias
    return layer.kernel, (layer.bias if layer.use_bias else None)


def linear(layer: layers.Layer, x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
    """The layer's linear map (no activation) computed with the given kernel and bias."""
    if isinstance(layer, (ChannelAffine, SpatialConv)):
        return layer.linear(x, kernel, bias)
    z = tf.matmul(x, kernel) if x.shape.rank == 2 else tf.tensordot(x, kernel, [[x.shape.rank - 1], [0]])
    return z if bias is None else z + bias
