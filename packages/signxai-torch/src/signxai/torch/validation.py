"""Input checks, conversions and the logits of a forward pass (spec section 1).

Every problem with the caller's input or model is a ``ValueError`` that names it: NaN/inf values, a missing batch
axis, an input rank the first layer cannot take, an output that is not (batch, classes), and a model whose output
comes straight out of a softmax / log-softmax / sigmoid (allowed only with ``strip_softmax=True``, which then reads
the logits feeding it, without modifying the model). Unbatched inputs to convolutions are caught by
:func:`signxai.torch.graph.rank_guard`.
"""

from __future__ import annotations

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


def to_tensor(x: object) -> tuple[torch.Tensor, InputInfo]:
    """The input as a tensor (NumPy arrays and nested sequences are converted), with a record of its origin.

    Raises
    ------
    ValueError
        For a non-numeric input, one without a batch axis (rank < 2), an empty batch, NaN or infinite values.
    """
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
    """Dtype and device the explanation is computed in: those of the model's first floating parameter."""
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
                "the model ends with a softmax / log-softmax / sigmoid; explanations need the logits: remove it or "
                "pass strip_softmax=True (the model is not modified)"
            )
        output = entry[1]
    if output.ndim != 2 or output.shape[0] != batch:
        raise ValueError(f"the model output must have shape (batch={batch}, classes), got {tuple(output.shape)}")
    return output
