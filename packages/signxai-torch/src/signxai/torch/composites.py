"""A :class:`~signxai.common.MethodSpec` of the LRP family as a Zennit composite.

Every layer with weights gets the spec's rule for its kind (``dense`` for ``nn.Linear``, ``conv`` for convolutions);
the first one called in the forward pass gets the input-layer rule. A BatchNorm that directly follows a layer with
weights is folded into it (the layer's rule uses the folded parameters, the BatchNorm passes relevance through).
Activation and Dropout modules get Zennit's :class:`~zennit.rules.Pass`; functional activations and average pooling
are handled by :class:`signxai.torch.functional.SignalMode`; everything else (max pooling, reshapes) propagates with
its gradient.
"""

from __future__ import annotations

import torch
from zennit.core import Composite, Hook
from zennit.rules import Pass

from signxai.common import MethodSpec

from .canonizers import fold_batch_norm
from .graph import ModelGraph
from .rules import SpecRule

#: Modules that pass relevance through unchanged (spec section 1).
PASS_MODULES = (
    torch.nn.ReLU,
    torch.nn.ReLU6,
    torch.nn.ELU,
    torch.nn.SELU,
    torch.nn.CELU,
    torch.nn.LeakyReLU,
    torch.nn.GELU,
    torch.nn.SiLU,
    torch.nn.Softplus,
    torch.nn.Hardtanh,
    torch.nn.Dropout,
    torch.nn.Dropout1d,
    torch.nn.Dropout2d,
    torch.nn.Dropout3d,
    torch.nn.AlphaDropout,
)


def check_lrp_model(graph: ModelGraph) -> None:
    """Raise ValueError for a model LRP cannot explain exactly (see :mod:`signxai.torch.graph`)."""
    if graph.unsupported:
        raise ValueError(
            "no LRP rule for module(s) with parameters: "
            + ", ".join(graph.unsupported)
            + "; LRP supports nn.Linear, nn.Conv1d/2d/3d and a BatchNorm directly after one of them"
        )
    if not graph.weighted:
        raise ValueError("the model has no nn.Linear or convolution layer: LRP has nothing to redistribute")
    if graph.reused:
        raise ValueError(f"LRP needs each module called once per forward pass; called repeatedly: {graph.reused}")
    orphans = [name for name, source in graph.batch_norms.items() if source is None]
    if orphans:
        raise ValueError(
            f"BatchNorm {', '.join(orphans)} does not directly follow a Linear/convolution layer; "
            "LRP folds a BatchNorm into the preceding layer and cannot place this one"
        )


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
    for index, name in enumerate(graph.weighted):
        module = modules[name]
        kind = "dense" if isinstance(module, torch.nn.Linear) else "conv"
        rule = spec.rule_for(kind, is_input=index == 0)
        batch_norm = None
        if name in folded:
            batch_norm = modules[folded[name]]
            fold_batch_norm(module, batch_norm)  # fails early for a BatchNorm without running statistics
            hooks[folded[name]] = Pass()
        hooks[name] = SpecRule(rule, batch_norm)
    for name, module in modules.items():
        if isinstance(module, PASS_MODULES):
            hooks[name] = Pass()

    def module_map(ctx: dict, name: str, module: torch.nn.Module) -> Hook | None:
        return hooks.get(name)

    return Composite(module_map=module_map)
