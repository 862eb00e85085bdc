"""A :class:`~signxai.common.MethodSpec` of the LRP family as a Zennit composite (spec sections 3 and 8).

Every layer with weights gets the spec's rule for its kind (``dense`` for ``nn.Linear``, ``conv`` for convolutions);
the LRP input layers (:attr:`signxai.torch.graph.ModelGraph.input_layers`) get the input-layer rule. A BatchNorm that
directly follows a layer with weights is folded into it (the layer's rule uses the folded parameters, the BatchNorm
passes relevance through); any other BatchNorm is the affine map y = s x + t with the body's Dense rule. Activations,
pooling, dropout, reshapes and arithmetic are handled per call by :class:`signxai.torch.functional.SignalMode`, so a
stateless module may be called any number of times.
"""

from __future__ import annotations

import torch
from zennit.core import Composite, Hook
from zennit.rules import Pass

from signxai.common import MethodSpec

from .canonizers import batch_norm_affine, fold_batch_norm
from .graph import ModelGraph
from .rules import AffineRule, SpecRule


def check_lrp_model(graph: ModelGraph) -> None:
    """Raise one ValueError naming every part of the model LRP cannot explain exactly (see :mod:`.graph`)."""
    message = graph.lrp_problems()
    if message is not None:
        raise ValueError(message)
    if not graph.weighted:
        raise ValueError("the model has no nn.Linear or convolution layer: LRP has nothing to redistribute")


def lrp_composite(spec: MethodSpec, model: torch.nn.Module, graph: ModelGraph) -> Composite:
    """Zennit composite implementing ``spec`` on ``model``.

    Parameters
    ----------
    spec : MethodSpec
        An LRP-family method (``lrp*`` prefixes, ``deep_taylor``).
    model : torch.nn.Module
        The model the composite will be registered to.
    graph : ModelGraph
        Its analysis (:func:`signxai.torch.graph.analyse`).

    Returns
    -------
    zennit.core.Composite
        Register it with ``composite.context(model)``; leaving the context removes every hook.
    """
    check_lrp_model(graph)
    modules = dict(model.named_modules())
    folded = {layer: bn for bn, layer in graph.batch_norms.items() if layer is not None}
    hooks: dict[str, Hook] = {}
    for name in graph.weighted:
        module = modules[name]
        kind = "dense" if isinstance(module, torch.nn.Linear) else "conv"
        rule = spec.rule_for(kind, is_input=name in graph.input_layers)
        batch_norm = None
        if name in folded:
            batch_norm = modules[folded[name]]
            fold_batch_norm(module, batch_norm)  # fails early for a BatchNorm without running statistics
            hooks[folded[name]] = Pass()
        hooks[name] = SpecRule(rule, batch_norm)
    body_dense = spec.rule_for("dense", is_input=False)
    for bn, layer in graph.batch_norms.items():
        if layer is None:
            batch_norm_affine(modules[bn])
            hooks[bn] = AffineRule(body_dense)

    def module_map(ctx: dict, name: str, module: torch.nn.Module) -> Hook | None:
        return hooks.get(name)

    return Composite(module_map=module_map)
