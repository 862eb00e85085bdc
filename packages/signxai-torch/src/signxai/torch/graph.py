"""What a model does, read from one forward pass: layers in call order, BatchNorm neighbours, final softmax.

The analysis runs the model once on a single sample with forward hooks on every leaf module and records, in the
order the modules are *called* (which need not be the order they were assigned in ``__init__``):

- the layers with weights (``nn.Linear`` / ``nn.ConvNd``); the first one is the LRP input layer;
- for every BatchNorm, the layer with weights whose output it directly consumes (spec section 7: folded for LRP);
- modules with parameters that no LRP rule covers, and modules called more than once (their hooks would mix the
  calls);
- the rank of the input and whether the output comes straight out of a softmax / log-softmax.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from .functional import SignalMode
from .rules import WEIGHTED_LAYERS

BATCH_NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
CONVOLUTIONS = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)


@dataclass
class ModelGraph:
    """Result of :func:`analyse`.

    Attributes
    ----------
    called : list of str
        Names of the leaf modules in call order (first call).
    weighted : list of str
        Names of the layers with weights in call order.
    batch_norms : dict of str to str or None
        BatchNorm name -> the layer with weights it directly follows (None when it follows anything else).
    unsupported : list of str
        Modules with parameters that are neither a layer with weights nor a BatchNorm, as ``name (Type)``.
    reused : list of str
        Modules called more than once in one forward pass.
    convolutions : list of str
        Names of the called convolutions in call order (Grad-CAM's default layer is the last one).
    """

    called: list[str] = field(default_factory=list)
    weighted: list[str] = field(default_factory=list)
    batch_norms: dict[str, str | None] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    convolutions: list[str] = field(default_factory=list)


@contextmanager
def eval_mode(model: torch.nn.Module):
    """Put ``model`` in eval mode for the duration; restore every submodule's own ``training`` flag after."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.train(False)
        yield model
    finally:
        for module, flag in flags:
            module.training = flag


_CONV_RANK = {torch.nn.Conv1d: 3, torch.nn.Conv2d: 4, torch.nn.Conv3d: 5}


@contextmanager
def rank_guard(model: torch.nn.Module):
    """Make every convolution raise ValueError for an unbatched input (torch would accept it silently)."""

    def check(module: torch.nn.Module, inputs: tuple) -> None:
        rank = _CONV_RANK.get(type(module), module.weight.ndim)
        if inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].ndim != rank:
            raise ValueError(
                f"{type(module).__name__} received an input of shape {tuple(inputs[0].shape)}; it needs a batched "
                f"input of rank {rank}: is the batch axis of the input missing, or the rank wrong?"
            )

    handles = [m.register_forward_pre_hook(check) for m in model.modules() if isinstance(m, CONVOLUTIONS)]
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()


def analyse(model: torch.nn.Module, x: torch.Tensor) -> ModelGraph:
    """Run ``model`` once on ``x[:1]`` (no gradient) and describe it (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        The model, already in eval mode.
    x : torch.Tensor
        An input batch on the model's device.

    Returns
    -------
    ModelGraph
    """
    graph = ModelGraph()
    names = {id(m): name for name, m in model.named_modules()}
    outputs: dict[int, tuple[str, torch.Tensor]] = {}  # id(weighted layer output) -> (name, output kept alive)
    counts: dict[str, int] = {}

    def hook(module: torch.nn.Module, inputs: tuple, output: object) -> None:
        name = names[id(module)]
        counts[name] = counts.get(name, 0) + 1
        if counts[name] > 1:
            if name not in graph.reused:
                graph.reused.append(name)
            return
        graph.called.append(name)
        if isinstance(module, WEIGHTED_LAYERS):
            graph.weighted.append(name)
            if isinstance(module, CONVOLUTIONS):
                graph.convolutions.append(name)
            if isinstance(output, torch.Tensor):
                outputs[id(output)] = (name, output)
        elif isinstance(module, BATCH_NORMS):
            source = outputs.get(id(inputs[0])) if inputs else None
            graph.batch_norms[name] = source[0] if source is not None and source[1] is inputs[0] else None

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad(), rank_guard(model), SignalMode("gradient"):
            model(x[:1])
    finally:
        for handle in handles:
            handle.remove()
    for name, module in model.named_modules():
        if isinstance(module, (*WEIGHTED_LAYERS, *BATCH_NORMS)):
            continue
        if any(True for _ in module.parameters(recurse=False)):
            graph.unsupported.append(f"{name or '<model>'} ({type(module).__name__})")
    return graph
