"""The wiring of a :class:`~signxai.common.reference.layers.Model`: which outputs each layer consumes.

A layer's empty ``inputs`` means the previous layer of ``Model.layers`` (the model input for the first layer);
:func:`resolved_inputs` spells that out and checks the graph (producers before consumers). Layers are identified
by name; a name shared by several layers (a chain built with default names) gets the id ``"name@index"`` and
cannot be referred to in ``inputs``.
"""

from __future__ import annotations

from collections import Counter

from .layers import INPUT, Add, Concatenate, Layer, Model, Multiply

_MULTI_INPUT = (Add, Concatenate, Multiply)


def layers_by_id(model: Model) -> dict[str, Layer]:
    """Layer id -> layer, in layer order. The id is the layer's name, or ``"name@i"`` (i = its index in
    ``Model.layers``) for a name that several layers share (a chain built with default names)."""
    counts = Counter(layer.name for layer in model.layers)
    return {
        (layer.name if counts[layer.name] == 1 else f"{layer.name}@{i}"): layer for i, layer in enumerate(model.layers)
    }


def layer_id(model: Model, name: str) -> str | None:
    """The id of the first layer called ``name`` (None when there is none)."""
    for lid, layer in layers_by_id(model).items():
        if layer.name == name:
            return lid
    return None


def resolved_inputs(model: Model) -> dict[str, tuple[str, ...]]:
    """Layer id (:func:`layers_by_id`) -> the ids of the outputs it consumes (:data:`~.layers.INPUT` for the input).

    Raises
    ------
    ValueError
        Naming every problem at once: a layer named ``"input"``, an explicit input that is not the name of exactly
        one earlier layer, a single-input layer with several inputs, an Add/Concatenate with fewer than two inputs
        or a Multiply without exactly two, or an empty model.
    """
    if not model.layers:
        raise ValueError("the model has no layers")
    problems: list[str] = []
    counts = Counter(layer.name for layer in model.layers)
    seen: set[str] = {INPUT}
    out: dict[str, tuple[str, ...]] = {}
    previous = INPUT
    for lid, layer in layers_by_id(model).items():
        name = layer.name
        if name == INPUT:
            problems.append(f"a layer is named {INPUT!r}, the reserved name of the model input")
        if layer.inputs:
            inputs = tuple(layer.inputs)
            bad = [i for i in inputs if i not in seen or (i != INPUT and counts[i] > 1)]
            if bad:
                problems.append(f"layer {name!r} consumes {bad}: not the name of exactly one earlier layer")
        else:
            inputs = (previous,)
        if isinstance(layer, Multiply) and len(inputs) != 2:
            problems.append(f"Multiply {name!r} needs exactly two inputs (x, gate), got {len(inputs)}")
        elif isinstance(layer, (Add, Concatenate)) and len(inputs) < 2:
            problems.append(f"{type(layer).__name__} {name!r} needs two or more inputs, got {len(inputs)}")
        elif not isinstance(layer, _MULTI_INPUT) and len(inputs) != 1:
            problems.append(f"{type(layer).__name__} {name!r} takes one input, got {len(inputs)}")
        seen.add(lid)
        out[lid] = inputs
        previous = lid
    if problems:
        raise ValueError("invalid model graph: " + "; ".join(problems))
    return out


def consumers(inputs: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Output name -> the layers that consume it, in layer order (a layer consuming it twice is listed twice)."""
    out: dict[str, list[str]] = {INPUT: []}
    for name in inputs:
        out[name] = []
    for name, ins in inputs.items():
        for i in ins:
            out[i].append(name)
    return out


def output_name(model: Model) -> str:
    """Id of the last layer, whose output are the logits."""
    return list(layers_by_id(model))[-1]
