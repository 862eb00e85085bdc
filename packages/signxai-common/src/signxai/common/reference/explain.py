"""The reference ``explain``: resolve the method and the targets, dispatch to the family, apply modifiers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..computation import Signal
from ..grammar import parse_method
from ..sampling import random_uniform_map
from ..signs import apply_modifiers
from ..spec import MethodSpec
from ..targets import check_input, resolve_targets
from . import gradients
from .cam import grad_cam
from .forward import forward
from .layers import Activation, Model
from .lrp import lrp
from .ops import model_ops


def explain(
    model: Model,
    x: np.ndarray,
    method: str | MethodSpec,
    target: int | np.ndarray | list[int] | None = None,
    **params: Any,
) -> np.ndarray:
    """Explanation of ``model`` for a batch ``x`` by ``method``, the float64 ground truth.

    Parameters
    ----------
    model : Model
        A plain model description (:mod:`signxai.common.reference.layers`).
    x : numpy.ndarray
        Batch of inputs, channels-last, shape (batch, *model.input_shape). Never modified.
    method : str or MethodSpec
        A catalog name (parsed with ``params``) or an already parsed spec (then ``params`` must be empty).
    target : None, int or sequence of int
        Target class per sample (None: argmax of each sample's logits).
    **params
        Keyword parameters of the method (spec section 2), e.g. ``mu=0.5``, ``low=``/``high=``, ``layer=``.

    Returns
    -------
    numpy.ndarray
        float64 map of ``x``'s shape (channels-last); each sample's map depends on that sample only.
    """
    if isinstance(method, MethodSpec):
        if params:
            raise ValueError(f"keyword parameters {sorted(params)} given with an already parsed MethodSpec")
        spec = method
    else:
        spec = parse_method(method, **params)
    check_input(x)
    _check_logits(model)
    x = np.array(x, dtype=np.float64)  # a private copy
    if x.shape[1:] != tuple(model.input_shape):
        raise ValueError(f"input sample shape {x.shape[1:]} does not match the model's {tuple(model.input_shape)}")
    targets = resolve_targets(target, forward(model, x))
    comp = spec.computation
    if comp.kind == "lrp":
        out = lrp(model, x, spec, targets)
    elif comp.kind == "cam":
        out = grad_cam(model, x, spec, targets)
    elif comp.kind == "baseline":
        out = np.broadcast_to(random_uniform_map(tuple(x.shape[1:]), _int(spec.seed, "seed")), x.shape).copy()
    elif comp.kind == "backward":
        out = gradients.input_signal(model_ops(model), x, targets, _signal(comp.signal), spec.output_seed)
    elif comp.kind == "path":
        baseline = 0.0 if spec.baseline is None else spec.baseline
        out = gradients.integrated_gradients(model_ops(model), x, targets, _int(spec.steps, "steps"), baseline)
    elif comp.kind == "noise":
        fn = gradients.smoothgrad if comp.aggregate == "mean" else gradients.vargrad
        seed = _int(spec.seed, "seed")
        out = fn(model_ops(model), x, targets, _int(spec.samples, "samples"), _float(spec.noise, "noise"), seed)
    else:
        raise ValueError(f"the reference does not know the computation {comp.kind!r} of {spec.name!r}")
    return np.asarray(apply_modifiers(out, x, spec.modifiers), dtype=np.float64)


def _check_logits(model: Model) -> None:
    """The output must be logits (spec section 8): a final softmax or sigmoid is an error."""
    last = model.layers[-1] if model.layers else None
    if isinstance(last, Activation) and last.fn in ("softmax", "sigmoid"):
        raise ValueError(
            f"the model's output must be logits, but its last layer {last.name!r} is a {last.fn}: "
            "describe the model without that layer"
        )


def _int(value: int | None, name: str) -> int:
    if value is None:
        raise ValueError(f"missing parameter {name}")
    return int(value)


def _signal(signal: Signal | None) -> Signal:
    if signal is None:
        raise ValueError("a backward computation needs a signal (gradient, guided or deconvnet)")
    return signal


def _float(value: float | None, name: str) -> float:
    if value is None:
        raise ValueError(f"missing parameter {name}")
    return float(value)
