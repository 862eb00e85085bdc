"""What every method needs to know about a Keras model: its input, its output layer and a final squashing.

:func:`inspect_model` checks only what every method needs (one input, one (batch, classes) output, no final
softmax / sigmoid unless it is stripped), so gradient methods and Grad-CAM run on any differentiable Sequential
or functional model (recurrent layers, custom layers). The layer-by-layer support check of LRP, guided
backprop and deconvnet lives in :mod:`signxai.tf.plan`.

A model that computes in half precision (a ``mixed_float16`` / ``mixed_bfloat16`` / ``float16`` policy on any
layer) is refused: its gradients are float16 numbers (about 1e-3 off the float32 model's) that cannot match the
other backend, and a final softmax fused into a float16 Dense cannot be stripped in float32 (see
``docs/decisions.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from .activations import OUTPUT_SQUASHERS, activation_of, is_activation_layer
from .structure import Node, model_nodes

keras = tf.keras
layers = tf.keras.layers


@dataclass
class ModelInfo:
    """What :func:`inspect_model` learned about a model.

    Attributes
    ----------
    dtype : str
        Compute dtype of the model (``float32`` or ``float64``).
    input_shape : tuple
        Shape of one sample (no batch axis; None for free axes).
    output_layer : str
        Name of the layer that produces the logits (or the stripped softmax / sigmoid).
    softmax : {"layer", "fused"} or None
        A final softmax / log-softmax / sigmoid that is stripped: a separate layer, or fused into the output layer.
    nodes : list of Node or None
        The layer graph in topological order (None when it cannot be read, e.g. layers called on nested
        structures; gradient methods do not need it).
    output_key : str or None
        Key of the output node.
    """

    dtype: str
    input_shape: tuple
    output_layer: str
    softmax: str | None
    nodes: list[Node] | None
    output_key: str | None
    graph_error: str | None = None


HALF_PRECISION = ("float16", "bfloat16")


def half_precision_layers(model: keras.Model) -> list[str]:
    """Names of the layers (nested models searched, ``outer/inner``) that compute in float16 / bfloat16."""
    found: list[str] = []
    for layer in model.layers:
        policy = getattr(layer, "dtype_policy", None)
        compute = getattr(policy, "compute_dtype", None) or getattr(layer, "dtype", None)
        if compute in HALF_PRECISION:
            found.append(f"{layer.name} ({getattr(policy, 'name', compute)})")
        if isinstance(layer, keras.Model):
            found.extend(f"{layer.name}/{name}" for name in half_precision_layers(layer))
    return found


def check_precision(model: keras.Model) -> None:
    """Raise ``ValueError`` naming every layer of ``model`` that computes in half precision (none: return)."""
    half = half_precision_layers(model)
    if half:
        shown = ", ".join(half[:4]) + (f" and {len(half) - 4} more" if len(half) > 4 else "")
        raise ValueError(
            f"the model computes in half precision in {len(half)} layer(s): {shown}. signxai explains float32 / "
            "float64 models (half-precision gradients are about 1e-3 off and cannot match the other backend): "
            "rebuild the model with tf.keras.mixed_precision.set_global_policy('float32') in effect and copy the "
            "weights, `model32.set_weights(model.get_weights())`"
        )


def inspect_model(model: keras.Model, strip_softmax: bool) -> ModelInfo:
    """Check a Keras model and describe it.

    Parameters
    ----------
    model : keras.Model
        A Sequential or functional model with one input and one (batch, classes) output.
    strip_softmax : bool
        Whether a final softmax / log-softmax / sigmoid may be removed; otherwise it is an error.

    Returns
    -------
    ModelInfo

    Raises
    ------
    ValueError
        For a non-Keras or subclassed model, several inputs or outputs, an output that is not (batch, classes),
        a layer computing in half precision, or a final softmax / sigmoid without ``strip_softmax``.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a tf.keras Model, got {type(model).__name__}")
    if not (isinstance(model, keras.Sequential) or getattr(model, "_is_graph_network", False)):
        raise ValueError("only Sequential and functional Keras models are supported (not subclassed models)")
    if not model.built or model.inputs is None:
        raise ValueError("the model has no defined input; build it with an Input layer / input_shape")
    check_precision(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        names = ", ".join(t.name.split(":")[0] for t in model.inputs)
        raise ValueError(
            f"only models with one input and one output are supported; this one has {len(model.inputs)} input(s) "
            f"({names}) and {len(model.outputs)} output(s): build a model that takes the one input to explain (the "
            "others as constants) and returns the (batch, classes) logits to explain"
        )
    if len(model.outputs[0].shape) != 2:
        raise ValueError(f"the model output must have shape (batch, classes), got {tuple(model.outputs[0].shape)}")
    out = model.outputs[0].node.layer
    output_layer = out.name
    softmax = None
    act = activation_of(out)
    if act is not None and act.name in OUTPUT_SQUASHERS + ("softmax_axis",):
        softmax = "layer" if is_activation_layer(out) else "fused"
        if not strip_softmax:
            raise ValueError(
                f"the model ends in a {act.name} (layer {output_layer!r}); explanations need logits. "
                "Pass strip_softmax=True to explain the logits (the model is not modified)."
            )
    nodes, output_key, graph_error = None, None, None
    try:
        nodes, output_key = model_nodes(model)
    except ValueError as err:
        graph_error = str(err)
    dtype = tf.as_dtype(model.inputs[0].dtype).name
    if dtype not in ("float32", "float64"):
        dtype = keras.backend.floatx()
    return ModelInfo(
        dtype=dtype,
        input_shape=tuple(model.inputs[0].shape[1:]),
        output_layer=output_layer,
        softmax=softmax,
        nodes=nodes,
        output_key=output_key,
        graph_error=graph_error,
    )
