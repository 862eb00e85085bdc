"""Input checks, conversions and the logits of a forward pass (spec section 1).

Every problem with the caller's input or model is a ``ValueError`` that names it: NaN/inf values, a missing batch
axis, an input rank the first layer cannot take, an output that is not (batch, classes), and a model whose output
comes straight out of a softmax / log-softmax / sigmoid (allowed only with ``strip_softmax=True``, which then reads
the logits feeding it, without modifying the model). Inputs a convolution or Linear cannot take (unbatched, wrong
channel count, channels-last given to a channels-first model) are caught by :func:`signxai.torch.graph.rank_guard`.

:func:`check_model` refuses, up front, the models no method can explain exactly: TorchScript (``torch.jit.trace`` /
``torch.jit.script``) modules, whose graph runs where the per-call rules cannot reach it, and models whose
``forward`` needs more than one input; :func:`compute_dtype_device` refuses half-precision (float16 / bfloat16)
models, as the TensorFlow backend does (see ``docs/decisions.md``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import torch

from .functional import SignalMode


@dataclass(frozen=True)
class InputInfo:
    """Where the caller's input came from, to give the result back the same way."""

    numpy: bool
    device: torch.device
    dtype: torch.dtype
    shape: tuple[int, ...]


def _required_inputs(model: torch.nn.Module) -> list[str] | None:
    """Names of the positional parameters of ``model.forward`` without a default (None if it takes ``*args``)."""
    try:
        parameters = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):  # a forward without a readable signature: nothing to check
        return []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None
    return [p.name for p in parameters if p.kind in positional and p.default is inspect.Parameter.empty]


def check_model(model: object) -> None:
    """Raise ``ValueError`` for a model no method can explain exactly (see the module docstring).

    Raises
    ------
    ValueError
        For something that is not a ``torch.nn.Module``; a TorchScript module (traced or scripted), or an eager
        model containing one (every one is named); a model whose ``forward`` needs more than one input.
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    scripted: list[str] = []
    for name, module in model.named_modules():
        outer = any(name == s or name.startswith(f"{s}.") or s == "<model>" for s in scripted)
        if isinstance(module, torch.jit.ScriptModule) and not outer:
            scripted.append(name or "<model>")
    if scripted:
        shown = ", ".join(scripted[:4]) + (f" and {len(scripted) - 4} more" if len(scripted) > 4 else "")
        raise ValueError(
            f"TorchScript modules (torch.jit.trace / torch.jit.script) cannot be explained: {shown}. Every method "
            "reads and replaces the backward of individual calls inside forward (activations, max-pooling ties, LRP "
            "rules, a final softmax) through module hooks and torch function interception, which do not reach a "
            "TorchScript graph; pass the eager torch.nn.Module the TorchScript module was made from"
        )
    required = _required_inputs(model)
    if required is not None and len(required) > 1:
        raise ValueError(
            f"{type(model).__name__}.forward takes {len(required)} inputs ({', '.join(required)}); signxai explains "
            "models of one input tensor: wrap the model in a module whose forward(x) takes the input to explain and "
            "passes the others as constants (or splits x into them)"
        )


def to_tensor(x: object) -> tuple[torch.Tensor, InputInfo]:
    """The input as a tensor (NumPy arrays and nested sequences are converted), with a record of its origin.

    Raises
    ------
    ValueError
        For a tuple / list of tensors (several inputs), a non-numeric input, one without a batch axis (rank < 2),
        an empty batch, NaN or infinite values.
    """
    if isinstance(x, (tuple, list)) and any(isinstance(item, torch.Tensor) for item in x):
        raise ValueError(
            f"input must be one tensor with a batch axis, got a {type(x).__name__} of {len(x)} items with tensors: "
            "models with several inputs are not supported (wrap the model so that forward takes one tensor); a "
            "batch of samples is torch.stack(samples)"
        )
    was_numpy = not isinstance(x, torch.Tensor)
    if was_numpy:
        array = np.asarray(x)
        if array.dtype.kind not in "fiub":
            raise ValueError(f"input must be numeric, got dtype {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    else:
        tensor = x
    if tensor.is_complex() or tensor.dtype == torch.bool:
        raise ValueError(f"input must be real numbers, got dtype {tensor.dtype}")
    if tensor.ndim < 2:
        raise ValueError(f"input must have a batch axis and rank >= 2, got shape {tuple(tensor.shape)}")
    if tensor.shape[0] == 0:
        raise ValueError("input batch is empty")
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise ValueError("input contains NaN or infinite values")
    info = InputInfo(was_numpy, tensor.device, tensor.dtype, tuple(tensor.shape))
    return tensor, info


def compute_dtype_device(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.dtype, torch.device]:
    """Dtype and device the explanation is computed in: those of the model's first floating parameter.

    Raises
    ------
    ValueError
        For a model with float16 / bfloat16 parameters (named), as the TensorFlow backend refuses half precision.
    """
    half = [name for name, p in model.named_parameters() if p.dtype in (torch.float16, torch.bfloat16)]
    if half:
        shown = ", ".join(half[:4]) + (f" and {len(half) - 4} more" if len(half) > 4 else "")
        raise ValueError(
            f"the model has half-precision parameters ({len(half)}): {shown}. signxai explains float32 / float64 "
            "models (half-precision gradients are about 1e-3 off and cannot match the other backend): explain a "
            "float32 copy, copy.deepcopy(model).float()"
        )
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return (x.dtype if x.is_floating_point() else torch.float32), x.device


def result_dtype(info: InputInfo) -> torch.dtype:
    """float64 for a float64 input, float32 otherwise (spec section 1)."""
    return torch.float64 if info.dtype == torch.float64 else torch.float32


def logits(output: object, mode: SignalMode, batch: int, strip_softmax: bool) -> torch.Tensor:
    """The (batch, classes) logits of a forward pass run under ``mode``.

    Raises
    ------
    ValueError
        For an output that is not a (batch, classes) tensor, or one that comes out of a softmax / log-softmax / sigmoid
        unless ``strip_softmax``.
    """
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"the model must return one tensor of logits, got {type(output).__name__}")
    entry = mode.softmax_io.get(id(output))
    if entry is not None and entry[0] is output:
        if not strip_softmax:
            raise ValueError(
                "the model ends with a softmax / log-softmax / sigmoid / log-sigmoid; explanations need the logits: "
                "remove it or pass strip_softmax=True (the model is not modified)"
            )
        output = entry[1]
    if output.ndim != 2 or output.shape[0] != batch:
        raise ValueError(f"the model output must have shape (batch={batch}, classes), got {tuple(output.shape)}")
    return output
