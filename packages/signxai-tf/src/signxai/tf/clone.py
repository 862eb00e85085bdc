"""The private clone of a model that the iNNvestigate analyzers run on, and its weights.

:func:`build_clone` rebuilds a model from its :class:`~signxai.tf.plan.Plan` (inside the private graph):

- a Dense keeps its type; every convolution becomes a :class:`~signxai.tf.clone_layers.SpatialConv` (explicit
  padding, groups; a depthwise kernel (k..., c_in, m) becomes the grouped kernel (k..., 1, c_in m));
- a fused activation becomes its own ``Activation`` layer after the linear layer;
- a BatchNormalization directly after a layer with weights is folded into it; any other BatchNormalization,
  Rescaling and Normalization becomes a :class:`~signxai.tf.clone_layers.ChannelAffine`;
- an explicit zero padding before a convolution is merged into that convolution (padded positions are not inputs);
- a final softmax / sigmoid that the caller asked to strip is dropped;
- every other layer is rebuilt from its configuration (one clone layer per call of a reused stateless layer).

:func:`clone_weights` reads the caller's current weights (eagerly) and turns them into the clone's;
:class:`WeightWatch` notices when they change. The caller's model is never modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .clone_layers import ChannelAffine, SpatialConv
from .plan import Plan, Step
from .structure import INPUT_KEY

keras = tf.keras
layers = tf.keras.layers

#: Prefix of every clone layer's name, so iNNvestigate's automatically named layers never collide with them.
CLONE_PREFIX = "signxai__"


def clone_name(key: str) -> str:
    """Name of the clone layer of a node."""
    return CLONE_PREFIX + key.replace("@", "__call")


@dataclass(frozen=True)
class CloneRole:
    """The role of one clone layer (see :mod:`signxai.tf.plan`) and the step it comes from."""

    role: str
    step: Step


def _activation_layer(step: Step, name: str, dtype: str) -> layers.Layer:
    if step.act.name == "softmax":
        return layers.Activation(keras.activations.softmax, name=name, dtype=dtype)
    return layers.Activation(step.act.fn, name=name, dtype=dtype)


def _weighted_layer(layer: layers.Layer, step: Step, name: str, dtype: str) -> layers.Layer:
    use_bias = bool(layer.use_bias) or step.fold is not None
    if isinstance(layer, layers.Dense):
        return layers.Dense(layer.units, use_bias=use_bias, kernel_initializer="zeros", name=name, dtype=dtype)
    c_in = int(layer.get_input_shape_at(step.call)[-1])
    if isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)):
        filters, groups = c_in * int(layer.depth_multiplier), c_in
    else:
        filters, groups = int(layer.filters), int(getattr(layer, "groups", 1))
    return SpatialConv(
        filters,
        layer.kernel_size,
        layer.strides,
        layer.dilation_rate,
        step.pads,
        groups=groups,
        use_bias=use_bias,
        name=name,
        dtype=dtype,
    )


def build_clone(model: keras.Model, plan: Plan, input_shape: tuple, dtype: str) -> tuple[keras.Model, dict, dict]:
    """The clone (call inside the private graph's scope), ``{clone layer name: CloneRole}`` and the clone tensor
    of every node (after its activation), by node key."""
    inp = keras.Input(input_shape, dtype=dtype, name=CLONE_PREFIX + "input")
    tensors = {INPUT_KEY: inp}
    roles: dict[str, CloneRole] = {}
    for step in plan.steps:
        xs = [tensors[k] for k in step.inputs]
        if step.role == "skip":
            tensors[step.key] = xs[0]
            continue
        layer = model.get_layer(step.layer_name)
        name = clone_name(step.key)
        if step.role == "weighted":
            new = _weighted_layer(layer, step, name, dtype)
        elif step.role == "affine":
            new = ChannelAffine(name=name, dtype=dtype)
        elif step.role in ("activation", "softmax"):
            new = _activation_layer(step, name, dtype)
        else:
            config = dict(layer.get_config())
            config["name"] = name
            config["dtype"] = dtype
            new = type(layer).from_config(config)
        roles[name] = CloneRole(step.role, step)
        h = new(xs[0] if len(xs) == 1 else xs)
        if step.role == "weighted" and step.act is not None:
            act_name = name + "__act"
            h = _activation_layer(step, act_name, dtype)(h)
            roles[act_name] = CloneRole("softmax" if step.act.name == "softmax" else "activation", step)
        tensors[step.key] = h
    return keras.Model(inp, tensors[plan.output_key]), roles, tensors


def source_values(model: keras.Model, plan: Plan) -> list:
    """The caller's variables and tensors that the clone depends on, in a fixed order (live objects, not copies)."""
    values: list = []
    for name in plan.owners:
        layer = model.get_layer(name)
        values.extend(layer.weights)
        if isinstance(layer, layers.Normalization):
            values.extend([layer.mean, layer.variance])
    return values


class WeightWatch:
    """Notices a change of the caller's weights without copying them to the host on every call.

    A snapshot of every value the clone depends on is kept as a tensor (one on-device copy, made when the clone's
    weights are loaded); :meth:`changed` compares the live values with it element by element where they live
    (``tf.equal`` + ``reduce_all``, stopping at the first difference), so a cached analyzer reads each weight once per
    call and copies nothing (before: every call copied all weights to NumPy, 0.5 GB for VGG16, and compared there).
    A NaN weight never equals itself, so such a model reloads its weights on every call.
    """

    def __init__(self, model: keras.Model, plan: Plan) -> None:
        self._model = model
        self._plan = plan
        self._snapshot = self._take()

    def _take(self) -> list[tf.Tensor]:
        return [tf.identity(v) for v in source_values(self._model, self._plan)]

    def changed(self) -> bool:
        """True (and a new snapshot taken) when any value differs from the snapshot in shape or content."""
        live = source_values(self._model, self._plan)
        same = len(live) == len(self._snapshot) and all(
            tuple(v.shape) == tuple(s.shape) and bool(tf.reduce_all(tf.equal(v, s)))
            for v, s in zip(live, self._snapshot)
        )
        if not same:
            self._snapshot = self._take()
        return not same


def _per_channel(value, channels: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (channels,)).copy()


def affine_scale_shift(layer: layers.Layer, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, shift)`` per channel of a BatchNormalization (inference), Rescaling or Normalization (float64)."""
    if isinstance(layer, layers.BatchNormalization):
        named = {w.name.split("/")[-1].split(":")[0]: w.numpy().astype(np.float64) for w in layer.weights}
        gamma = named.get("gamma", np.ones(channels))
        beta = named.get("beta", np.zeros(channels))
        scale = gamma / np.sqrt(named["moving_variance"] + float(layer.epsilon))
        return scale, beta - named["moving_mean"] * scale
    if isinstance(layer, layers.Rescaling):
        # the values the layer computes with: Keras casts its Python-float scale / offset with tf.cast, which makes
        # a float32 constant first (1/255 becomes 0.003921568859368563 in a float64 model)
        dtype = layer.compute_dtype
        scale = tf.cast(layer.scale, dtype).numpy()
        offset = tf.cast(layer.offset, dtype).numpy()
        return _per_channel(scale, channels), _per_channel(offset, channels)
    if isinstance(layer, layers.Normalization):
        eps = keras.backend.epsilon()
        scale = 1.0 / np.maximum(np.sqrt(_per_channel(np.asarray(layer.variance), channels)), eps)
        return scale, -_per_channel(np.asarray(layer.mean), channels) * scale
    raise TypeError(f"{type(layer).__name__} is not an affine layer")


def clone_weights(model: keras.Model, plan: Plan, dtype: str) -> dict[str, list[np.ndarray]]:
    """Weights of every clone layer that has some, in the clone layer's order, cast to ``dtype``.

    ``[kernel, bias]`` of a Dense / SpatialConv (``[kernel]`` without bias and without a folded BatchNormalization;
    a folded BatchNormalization scales the kernel per output channel and creates / shifts the bias);
    ``[scale, shift]`` of a ChannelAffine.
    """
    out: dict[str, list[np.ndarray]] = {}
    for step in plan.steps:
        if step.role not in ("weighted", "affine"):
            continue
        layer = model.get_layer(step.layer_name)
        channels = int(layer.get_output_shape_at(step.call)[-1])
        if step.role == "affine":
            scale, shift = np.ones(channels), np.zeros(channels)
            for name, _ in (*step.merged, (step.layer_name, step.call)):  # composed in order
                s, t = affine_scale_shift(model.get_layer(name), channels)
                scale, shift = s * scale, s * shift + t
            out[clone_name(step.key)] = [scale.astype(dtype), shift.astype(dtype)]
            continue
        if isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)):
            k = layer.depthwise_kernel.numpy()
            kernel = k.reshape((*k.shape[:-2], 1, k.shape[-2] * k.shape[-1]))
        else:
            kernel = layer.kernel.numpy()
        bias = layer.bias.numpy() if layer.use_bias else None
        if step.fold is not None:
            scale, shift = affine_scale_shift(model.get_layer(step.fold), channels)
            kernel = kernel.astype(np.float64) * scale
            bias = (np.zeros(channels) if bias is None else bias.astype(np.float64)) * scale + shift
        weights = [kernel] if bias is None else [kernel, bias]
        out[clone_name(step.key)] = [np.asarray(w).astype(dtype) for w in weights]
    return out
