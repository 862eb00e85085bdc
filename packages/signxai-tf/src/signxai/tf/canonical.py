"""Model inspection and the canonical private clone the iNNvestigate analyzers run on.

:func:`inspect_model` checks every layer of a Keras model against the supported set and records what the
clone must change; :func:`clone_function` rebuilds each layer for ``tf.keras.models.clone_model`` inside the
private graph; :func:`source_arrays` / :func:`clone_weights` read the caller's current weights (eager) and turn
them into the clone's weights. The caller's model is never modified.

The clone differs from the model in exactly these ways:

- ``keras.layers.ReLU`` / ``ELU`` layers become ``Activation`` layers (iNNvestigate recognises activations
  only as ``Activation`` layers or fused activations);
- a BatchNormalization directly after a Conv/Dense layer is folded into that layer (spec section 7) and
  replaced by a linear ``Activation``;
- any other BatchNormalization becomes :class:`ChannelAffine`, its inference-mode affine map. A Keras
  BatchNormalization built in graph mode switches on Keras' learning phase; its non-fused (float64) branch then
  pulls the training-mode moments into iNNvestigate's backward graph, which fails to run.
- a final softmax is removed when the caller asked for it (``strip_softmax=True``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

keras = tf.keras
layers = tf.keras.layers

#: Layers with weights that get an LRP rule.
WEIGHTED_TYPES = (layers.Conv1D, layers.Conv2D, layers.Dense)
#: Every layer type signxai.tf understands (exact types: subclasses such as Conv2DTranspose are not accepted).
SUPPORTED_TYPES = (
    layers.InputLayer,
    layers.Conv1D,
    layers.Conv2D,
    layers.Dense,
    layers.MaxPooling1D,
    layers.MaxPooling2D,
    layers.AveragePooling1D,
    layers.AveragePooling2D,
    layers.GlobalAveragePooling1D,
    layers.GlobalAveragePooling2D,
    layers.Flatten,
    layers.Reshape,
    layers.Permute,
    layers.ZeroPadding1D,
    layers.ZeroPadding2D,
    layers.Dropout,
    layers.Activation,
    layers.ReLU,
    layers.ELU,
    layers.BatchNormalization,
    layers.Softmax,
)
ACTIVATIONS = ("linear", "relu", "elu")
#: Prefix of every clone layer's name, so iNNvestigate's automatically named layers never collide with them.
CLONE_PREFIX = "signxai__"
ACTIVATION_LAYERS = (layers.Activation, layers.ReLU, layers.ELU)


def activation_name(layer: layers.Layer) -> str | None:
    """Name of a layer's element-wise activation (``relu``, ``elu``, ``linear``, ``softmax``...), None if none."""
    if isinstance(layer, layers.ReLU):
        return "relu"
    if isinstance(layer, layers.ELU):
        return "elu"
    if isinstance(layer, layers.Softmax):
        return "softmax"
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    name = keras.activations.serialize(act)
    if isinstance(name, dict):
        name = name.get("config", {}).get("name", name.get("class_name"))
    return str(name)


@dataclass
class ModelInfo:
    """What :func:`inspect_model` learned about a model.

    Attributes
    ----------
    dtype : str
        Compute dtype of the model (``float32`` or ``float64``).
    input_shape : tuple
        Shape of one sample (no batch axis; None for free axes).
    order : list of str
        Layer names in topological order (InputLayer excluded).
    predecessors, consumers : dict of str to list of str
        The layer graph.
    output_layer : str
        Name of the layer that produces the logits (or the softmax).
    softmax : {"layer", "fused"} or None
        A final softmax: a separate layer, or the output layer's fused activation.
    folds : dict of str to str
        Conv/Dense layer name -> the BatchNormalization folded into it.
    bn_error : str or None
        Why LRP cannot handle a BatchNormalization of this model (None if it can).
    weighted : list of str
        Names of the Conv/Dense layers in topological order (the first one gets the input rule).
    """

    dtype: str
    input_shape: tuple
    order: list[str]
    predecessors: dict[str, list[str]]
    consumers: dict[str, list[str]]
    output_layer: str
    softmax: str | None
    folds: dict[str, str] = field(default_factory=dict)
    bn_error: str | None = None
    weighted: list[str] = field(default_factory=list)


def _graph_structure(model: keras.Model) -> tuple[list[str], dict[str, list[str]]]:
    config = model.get_config()
    names: list[str] = []
    preds: dict[str, list[str]] = {}
    if isinstance(model, keras.Sequential):
        previous: str | None = None
        for layer in model.layers:
            names.append(layer.name)
            preds[layer.name] = [] if previous is None else [previous]
            previous = layer.name
        return names, preds
    for entry in config["layers"]:
        name = entry["config"]["name"]
        if entry["class_name"] == "InputLayer":
            continue
        nodes = entry.get("inbound_nodes", [])
        if len(nodes) != 1:
            raise ValueError(f"layer {name!r} is used {len(nodes)} times in the model; shared layers are not supported")
        inbound = []
        for item in nodes[0]:
            inbound.append(item[0])
        preds[name] = [p for p in inbound if p in {e["config"]["name"] for e in config["layers"]}]
        names.append(name)
    input_names = {e["config"]["name"] for e in config["layers"] if e["class_name"] == "InputLayer"}
    preds = {k: [p for p in v if p not in input_names] for k, v in preds.items()}
    return names, preds


def _check_layer(layer: layers.Layer, is_output: bool) -> None:
    kind = type(layer).__name__
    if type(layer) not in SUPPORTED_TYPES:
        if layer.weights:
            raise ValueError(f"layer {layer.name!r} ({kind}) has weights but is not supported by signxai.tf")
        raise ValueError(f"layer {layer.name!r} ({kind}) is not supported by signxai.tf")
    if isinstance(layer, (layers.Conv1D, layers.Conv2D)):
        if layer.data_format != "channels_last":
            raise ValueError(f"layer {layer.name!r}: only data_format='channels_last' is supported")
        if layer.padding not in ("valid", "same"):
            raise ValueError(f"layer {layer.name!r}: padding {layer.padding!r} is not supported (valid / same)")
        if getattr(layer, "groups", 1) != 1:
            raise ValueError(f"layer {layer.name!r}: grouped convolutions are not supported")
    if isinstance(layer, layers.ReLU):
        if layer.max_value is not None or float(layer.negative_slope) != 0.0 or float(layer.threshold) != 0.0:
            raise ValueError(f"layer {layer.name!r}: only a plain ReLU (no max_value/negative_slope/threshold)")
    if isinstance(layer, layers.BatchNormalization):
        axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
        rank = len(layer.input_shape)
        if [a % rank for a in axis] != [rank - 1]:
            raise ValueError(f"layer {layer.name!r}: BatchNormalization must normalise the last (channel) axis")
    act = activation_name(layer)
    if act is not None and act not in ACTIVATIONS:
        if act == "softmax":
            if not is_output:
                raise ValueError(f"layer {layer.name!r}: a softmax is only supported at the model output")
        else:
            raise ValueError(f"layer {layer.name!r}: activation {act!r} is not supported (relu, elu, linear)")


def inspect_model(model: keras.Model, strip_softmax: bool) -> ModelInfo:
    """Check a Keras model and describe it.

    Parameters
    ----------
    model : keras.Model
        A Sequential or functional model with one input and one (batch, classes) output.
    strip_softmax : bool
        Whether a final softmax may be removed; otherwise a final softmax is an error.

    Returns
    -------
    ModelInfo

    Raises
    ------
    ValueError
        For an unsupported layer (naming it), a softmax (unless stripped), several inputs or outputs.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a tf.keras Model, got {type(model).__name__}")
    if not (isinstance(model, keras.Sequential) or getattr(model, "_is_graph_network", False)):
        raise ValueError("only Sequential and functional Keras models are supported (not subclassed models)")
    if not model.built or model.inputs is None:
        raise ValueError("the model has no defined input; build it with an Input layer / input_shape")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError("only models with one input and one output are supported")
    if len(model.outputs[0].shape) != 2:
        raise ValueError(f"the model output must have shape (batch, classes), got {tuple(model.outputs[0].shape)}")
    order, preds = _graph_structure(model)
    by_name = {layer.name: layer for layer in model.layers}
    for name in order:
        if isinstance(by_name[name], keras.Model):
            raise ValueError(f"layer {name!r} is a nested model; flatten it into one model")
    consumers: dict[str, list[str]] = {name: [] for name in order}
    for name, ps in preds.items():
        for p in ps:
            consumers[p].append(name)
    output_layer = model.outputs[0].node.layer.name
    for name in order:
        _check_layer(by_name[name], is_output=name == output_layer)
    out = by_name[output_layer]
    softmax = None
    if activation_name(out) == "softmax":
        softmax = "layer" if isinstance(out, (layers.Activation, layers.Softmax)) else "fused"
        if not strip_softmax:
            raise ValueError(
                f"the model ends in a softmax (layer {output_layer!r}); explanations need logits. "
                "Pass strip_softmax=True to explain the logits (the model is not modified)."
            )
    folds: dict[str, str] = {}
    bn_error = None
    for name in order:
        if isinstance(by_name[name], layers.BatchNormalization):
            ps = preds[name]
            prev = by_name[ps[0]] if len(ps) == 1 else None
            if (
                prev is not None
                and isinstance(prev, WEIGHTED_TYPES)
                and activation_name(prev) == "linear"
                and consumers[prev.name] == [name]
            ):
                folds[prev.name] = name
            elif bn_error is None:
                bn_error = (
                    f"BatchNormalization {name!r} does not directly follow a Conv/Dense layer without activation; "
                    "LRP methods fold BatchNormalization into that layer and cannot handle it here"
                )
    dtype = tf.as_dtype(model.inputs[0].dtype).name
    if dtype not in ("float32", "float64"):
        dtype = keras.backend.floatx()
    weighted = [name for name in order if isinstance(by_name[name], WEIGHTED_TYPES)]
    return ModelInfo(
        dtype=dtype,
        input_shape=tuple(model.inputs[0].shape[1:]),
        order=order,
        predecessors=preds,
        consumers=consumers,
        output_layer=output_layer,
        softmax=softmax,
        folds=folds,
        bn_error=bn_error,
        weighted=weighted,
    )


class ChannelAffine(layers.Layer):
    """``y = x * scale + shift`` over the last axis: a BatchNormalization at inference, without a learning phase.

    Parameters
    ----------
    **kwargs
        Keras layer arguments (``name``, ``dtype``).
    """

    def build(self, input_shape) -> None:
        channels = int(input_shape[-1])
        self.scale = self.add_weight(name="scale", shape=(channels,), initializer="ones", trainable=False)
        self.shift = self.add_weight(name="shift", shape=(channels,), initializer="zeros", trainable=False)
        super().build(input_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return inputs * self.scale + self.shift


def _elu(alpha: float):
    return functools.partial(keras.activations.elu, alpha=alpha)


def layer_configs(model: keras.Model, info: ModelInfo) -> dict[str, tuple[type, dict]]:
    """The clone's (class, config) per layer name, computed eagerly from the caller's model."""
    folded_bns = set(info.folds.values())
    out: dict[str, tuple[type, dict]] = {}
    for name in info.order:
        layer = model.get_layer(name)
        config = dict(layer.get_config())
        dtype = config.get("dtype", info.dtype)
        if name in folded_bns:
            out[name] = (layers.Activation, {"activation": "linear", "name": name, "dtype": dtype})
        elif isinstance(layer, layers.BatchNormalization):
            out[name] = (ChannelAffine, {"name": name, "dtype": dtype})
        elif isinstance(layer, layers.ReLU):
            out[name] = (layers.Activation, {"activation": "relu", "name": name, "dtype": dtype})
        elif isinstance(layer, layers.ELU):
            alpha = float(layer.alpha)
            act = "elu" if alpha == 1.0 else _elu(alpha)
            out[name] = (layers.Activation, {"activation": act, "name": name, "dtype": dtype})
        elif name == info.output_layer and info.softmax == "layer":
            out[name] = (layers.Activation, {"activation": "linear", "name": name, "dtype": dtype})
        else:
            if name == info.output_layer and info.softmax == "fused":
                config["activation"] = "linear"
            if name in info.folds:
                config["use_bias"] = True
            # The clone's weights are always loaded from the model: skip random initialisation (large models).
            for key in ("kernel_initializer", "bias_initializer", "beta_initializer", "moving_mean_initializer"):
                if key in config:
                    config[key] = "zeros"
            for key in ("gamma_initializer", "moving_variance_initializer"):
                if key in config:
                    config[key] = "ones"
            out[name] = (type(layer), config)
    return out


def clone_function(configs: dict[str, tuple[type, dict]]):
    """A ``clone_function`` for ``tf.keras.models.clone_model`` building the canonical layers.

    Clone layer names are the original names with :data:`CLONE_PREFIX` in front.
    """

    def build(layer: layers.Layer) -> layers.Layer:
        cls, config = configs[layer.name]
        config = {**config, "name": CLONE_PREFIX + layer.name}
        if cls is layers.Activation and callable(config["activation"]):
            return layers.Activation(config["activation"], name=config["name"], dtype=config["dtype"])
        return cls.from_config(config)

    return build


def _owners(model: keras.Model, info: ModelInfo) -> list[str]:
    """Names of the layers whose weights the clone needs: Conv/Dense and every BatchNormalization not folded."""
    folded = set(info.folds.values())
    return [
        name
        for name in info.order
        if name in info.weighted
        or (isinstance(model.get_layer(name), layers.BatchNormalization) and name not in folded)
    ]


def source_arrays(model: keras.Model, info: ModelInfo) -> list[np.ndarray]:
    """The caller's current weights that the clone depends on, in a fixed order (read eagerly)."""
    arrays: list[np.ndarray] = []
    for name in _owners(model, info):
        arrays.extend(v.numpy() for v in model.get_layer(name).weights)
        if name in info.folds:
            arrays.extend(v.numpy() for v in model.get_layer(info.folds[name]).weights)
    return arrays


def _bn_scale_shift(bn: layers.BatchNormalization, arrays: list[np.ndarray], channels: int, dtype: np.dtype) -> tuple:
    """A BatchNormalization at inference as ``(scale, shift)``: ``y = x * scale + shift`` per channel."""
    named = dict(zip([w.name.split("/")[-1].split(":")[0] for w in bn.weights], arrays))
    gamma = named.get("gamma", np.ones(channels, dtype))
    beta = named.get("beta", np.zeros(channels, dtype))
    mean, var = named["moving_mean"], named["moving_variance"]
    scale = gamma / np.sqrt(var + np.asarray(bn.epsilon, dtype=var.dtype))
    return scale, beta - mean * scale


def clone_weights(model: keras.Model, info: ModelInfo, arrays: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Weights of every clone layer that has some, with BatchNormalization folded where it directly follows.

    Parameters
    ----------
    model : keras.Model
        The caller's model (only its layer configuration is read).
    info : ModelInfo
        From :func:`inspect_model`.
    arrays : list of numpy.ndarray
        From :func:`source_arrays`.

    Returns
    -------
    dict of str to list of numpy.ndarray
        Per layer name, the weights in the clone layer's order: ``[kernel, bias]`` for Conv/Dense (``[kernel]``
        for one without bias and without BatchNormalization), ``[scale, shift]`` of the :class:`ChannelAffine`
        that stands in for a BatchNormalization that is not folded.
    """
    out: dict[str, list[np.ndarray]] = {}
    pos = 0
    for name in _owners(model, info):
        layer = model.get_layer(name)
        n = len(layer.weights)
        own = arrays[pos : pos + n]
        pos += n
        if isinstance(layer, layers.BatchNormalization):
            scale, shift = _bn_scale_shift(layer, own, own[-1].shape[-1], own[-1].dtype)
            out[name] = [scale.astype(own[-1].dtype), shift.astype(own[-1].dtype)]
            continue
        kernel = own[0]
        bias = own[1] if layer.use_bias else None
        if name in info.folds:
            bn = model.get_layer(info.folds[name])
            m = len(bn.weights)
            channels = kernel.shape[-1]
            scale, shift = _bn_scale_shift(bn, arrays[pos : pos + m], channels, kernel.dtype)
            pos += m
            bias = (np.zeros(channels, kernel.dtype) if bias is None else bias) * scale + shift
            kernel = kernel * scale
            out[name] = [kernel.astype(own[0].dtype), bias.astype(own[0].dtype)]
        else:
            out[name] = [kernel] if bias is None else [kernel, bias]
    return out
