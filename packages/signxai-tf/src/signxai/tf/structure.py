"""The node graph of a Keras model: which call of which layer consumes which tensors.

A *node* is one call of a layer inside the model (a stateless layer may be called several times). Its key is the
layer's name for its first call and ``name@k`` for its k-th call. :func:`model_nodes` reads the graph from the
model's configuration (functional models) or its layer list (Sequential models) and returns the nodes in a
topological order. Nothing here builds or changes a layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

keras = tf.keras

#: Key of the model input in :attr:`Node.inputs`.
INPUT_KEY = "__input__"


@dataclass(frozen=True)
class Node:
    """One call of a layer.

    Attributes
    ----------
    key : str
        Unique key: the layer name (first call) or ``name@k``.
    layer_name : str
        The layer's name (``model.get_layer(layer_name)``).
    inputs : tuple of str
        Keys of the nodes whose outputs this call consumes, in call order (:data:`INPUT_KEY` = the model input).
    call : int
        Which call of the layer this node is (0 for the first).
    indices : tuple of int
        For each input, which output of the producing call it is (multi-output layers; 0 otherwise).
    plain : bool
        False when the call passed keyword arguments (a mask, an initial state) that the graph does not record.
    """

    key: str
    layer_name: str
    inputs: tuple[str, ...]
    call: int = 0
    indices: tuple[int, ...] = ()
    plain: bool = True


def node_key(layer_name: str, call: int) -> str:
    """Key of the ``call``-th call of a layer."""
    return layer_name if call == 0 else f"{layer_name}@{call}"


def _inbound_refs(node_config) -> list[tuple[str, int, int, bool]]:
    """``[(layer_name, node_index, tensor_index, no_kwargs), ...]`` of one inbound node of a configuration."""
    if isinstance(node_config, dict):  # Keras 3 style; not produced by tf.keras 2.x
        raise ValueError("unsupported model configuration (keyword-style inbound nodes)")
    refs = []
    for item in node_config:
        if not isinstance(item, (list, tuple)) or len(item) < 3 or not isinstance(item[0], str):
            raise ValueError("unsupported model configuration (a layer called on a nested structure)")
        kwargs = item[3] if len(item) > 3 else {}
        refs.append((item[0], int(item[1]), int(item[2]), not kwargs))
    return refs


def model_nodes(model: keras.Model) -> tuple[list[Node], str]:
    """The nodes of a Sequential or functional model in topological order, and the key of the output node.

    Parameters
    ----------
    model : keras.Model
        A built Sequential or functional model with one input and one output.

    Returns
    -------
    nodes : list of Node
        Every call of every layer except the input layer, producers before consumers.
    output : str
        Key of the node whose output is the model output.

    Raises
    ------
    ValueError
        For a configuration this reader does not understand (layers called on nested structures).
    """
    if isinstance(model, keras.Sequential):
        nodes, previous = [], INPUT_KEY
        for layer in model.layers:
            nodes.append(Node(layer.name, layer.name, (previous,), 0, (0,)))
            previous = layer.name
        return nodes, previous
    config = model.get_config()
    inputs = {entry[0] for entry in config["input_layers"]}
    raw: dict[str, Node] = {}
    for entry in config["layers"]:
        name = entry["config"]["name"]
        if entry["class_name"] == "InputLayer" or name in inputs:
            continue
        for call, node_config in enumerate(entry.get("inbound_nodes", [])):
            refs = _inbound_refs(node_config)
            keys = tuple(INPUT_KEY if src in inputs else node_key(src, index) for src, index, _, _ in refs)
            indices = tuple(t for _, _, t, _ in refs)
            plain = all(p for _, _, _, p in refs)
            raw[node_key(name, call)] = Node(node_key(name, call), name, keys, call, indices, plain)
    out_name, out_index = config["output_layers"][0][0], int(config["output_layers"][0][1])
    ordered: list[Node] = []
    state: dict[str, int] = {}
    for start in raw:
        stack = [(start, False)]
        while stack:
            key, done = stack.pop()
            if key == INPUT_KEY or state.get(key) == 2:
                continue
            if done:
                state[key] = 2
                ordered.append(raw[key])
                continue
            state[key] = 1
            stack.append((key, True))
            stack.extend((k, False) for k in reversed(raw[key].inputs) if state.get(k, 0) == 0 and k != INPUT_KEY)
    return ordered, node_key(out_name, out_index)


def consumers_of(nodes: list[Node]) -> dict[str, list[str]]:
    """Node key -> keys of the nodes that consume its output (in node order); the input under INPUT_KEY."""
    out: dict[str, list[str]] = {INPUT_KEY: [], **{n.key: [] for n in nodes}}
    for n in nodes:
        for k in n.inputs:
            out[k].append(n.key)
    return out
