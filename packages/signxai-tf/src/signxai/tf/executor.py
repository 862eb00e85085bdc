"""Run a model's own layers node by node, with max pooling replaced by its tie-rule version (spec section 1).

The gradient methods differentiate the caller's model directly. For a model with MaxPooling1D/2D layers the
backward pass of each pooling must follow the tie rule, so :class:`NodeRunner` calls the caller's layers (same
objects, live weights, ``training=False``) in the node order of :func:`signxai.tf.structure.model_nodes`, and
every max pooling through :func:`signxai.tf.ties.max_pool_with_ties`; nested functional models are run the same
way. Calling layers on non-symbolic tensors records nothing in the model, so the model is not modified.
"""

from __future__ import annotations

import tensorflow as tf

from .structure import INPUT_KEY, Node, model_nodes
from .ties import max_pool_with_ties

keras = tf.keras
layers = tf.keras.layers
MAX_POOLS = (layers.MaxPooling1D, layers.MaxPooling2D)


def has_max_pool(model: keras.Model) -> bool:
    """Whether a model (or a model nested in it) has a MaxPooling1D/2D layer."""
    for layer in model.layers:
        if isinstance(layer, MAX_POOLS):
            return True
        if isinstance(layer, keras.Model) and has_max_pool(layer):
            return True
    return False


def runnable(model: keras.Model, nodes: list[Node] | None) -> bool:
    """Whether :class:`NodeRunner` can run this model exactly (every call recorded without keyword arguments)."""
    if nodes is None or not all(n.plain for n in nodes):
        return False
    for node in nodes:
        layer = model.get_layer(node.layer_name)
        if isinstance(layer, keras.Model) and has_max_pool(layer):
            try:
                inner, _ = model_nodes(layer)
            except ValueError:
                return False
            if not runnable(layer, inner):
                return False
    return True


class NodeRunner:
    """The model as a function of its input returning every node's output (by node key)."""

    def __init__(self, model: keras.Model, nodes: list[Node]) -> None:
        self._model = model
        self._nodes = nodes
        self._calls = {}
        for node in nodes:
            layer = model.get_layer(node.layer_name)
            if isinstance(layer, MAX_POOLS):
                self._calls[node.key] = max_pool_with_ties(layer)
            elif isinstance(layer, keras.Model) and has_max_pool(layer):
                inner, out_key = model_nodes(layer)
                runner = NodeRunner(layer, inner)
                self._calls[node.key] = lambda x, runner=runner, out_key=out_key: runner(x)[out_key]
            else:
                self._calls[node.key] = lambda x, layer=layer: layer(x, training=False)

    def __call__(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs: dict[str, object] = {INPUT_KEY: x}
        for node in self._nodes:
            args = []
            for key, index in zip(node.inputs, node.indices or (0,) * len(node.inputs)):
                value = outputs[key]
                args.append(value[index] if isinstance(value, (list, tuple)) else value)
            outputs[node.key] = self._calls[node.key](args[0] if len(args) == 1 else args)
        return outputs
