"""A model as a list of operations on flat (batch, features) arrays: linear maps, max-pooling, activations.

:func:`model_ops` turns each layer into one op (``fold_batchnorm=False``: one op per layer, op i = layer i) or,
for LRP, folds every BatchNorm into the directly preceding Dense/Conv (a BatchNorm anywhere else is a
ValueError). :func:`run_ops` is the forward pass over the ops; it must agree with the loop forward of
:mod:`.forward` (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import elu
from .layers import (
    ELU,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool1D,
    MaxPool2D,
    Model,
    ReLU,
)
from .linear import (
    LinearMap,
    avgpool_map,
    batchnorm_map,
    conv_map,
    dense_map,
    fold_batchnorm,
    global_avgpool_map,
    maxpool_windows,
)


@dataclass(frozen=True)
class MaxPoolOp:
    """Max over each row of ``windows`` (flat input indices); ties go to the first window element."""

    windows: np.ndarray
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    name: str


@dataclass(frozen=True)
class ActivationOp:
    """Element-wise ReLU (``alpha`` None) or ELU(alpha)."""

    kind: str
    alpha: float | None
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    name: str


@dataclass(frozen=True)
class ReshapeOp:
    """Flatten: the identity on flat samples."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    name: str


Op = LinearMap | MaxPoolOp | ActivationOp | ReshapeOp


def model_ops(model: Model, fold_batchnorm_layers: bool = False) -> list[Op]:
    """The ops of ``model``.

    Parameters
    ----------
    model : Model
        The model description.
    fold_batchnorm_layers : bool
        Fold every BatchNorm into the directly preceding Dense/Conv (for LRP). Without folding, op i is
        layer i.

    Raises
    ------
    ValueError
        For an unsupported layer, or (when folding) a BatchNorm that does not directly follow a Dense/Conv.
    """
    ops: list[Op] = []
    shape = tuple(model.input_shape)
    prev_layer = None
    for layer in model.layers:
        op: Op
        if isinstance(layer, Dense):
            op = dense_map(layer, shape)
        elif isinstance(layer, (Conv1D, Conv2D)):
            op = conv_map(layer, shape)
        elif isinstance(layer, (AvgPool1D, AvgPool2D)):
            op = avgpool_map(layer, shape)
        elif isinstance(layer, GlobalAvgPool):
            op = global_avgpool_map(layer, shape)
        elif isinstance(layer, (MaxPool1D, MaxPool2D)):
            windows, out_shape = maxpool_windows(layer, shape)
            op = MaxPoolOp(windows, shape, out_shape, layer.name)
        elif isinstance(layer, ReLU):
            op = ActivationOp("relu", None, shape, shape, layer.name)
        elif isinstance(layer, ELU):
            op = ActivationOp("elu", float(layer.alpha), shape, shape, layer.name)
        elif isinstance(layer, Flatten):
            op = ReshapeOp(shape, (int(np.prod(shape)),), layer.name)
        elif isinstance(layer, BatchNorm):
            if fold_batchnorm_layers:
                if not isinstance(prev_layer, (Dense, Conv1D, Conv2D)):
                    what = (
                        "the model input" if prev_layer is None else f"{type(prev_layer).__name__} {prev_layer.name!r}"
                    )
                    raise ValueError(
                        f"BatchNorm {layer.name!r} follows {what}, not a Dense/Conv layer: LRP folds BatchNorm into "
                        "the directly preceding Dense/Conv layer and cannot handle it here"
                    )
                prev = ops.pop()
                assert isinstance(prev, LinearMap)
                op = fold_batchnorm(prev, layer)
            else:
                op = batchnorm_map(layer, shape)
        else:
            raise ValueError(f"unsupported layer type {type(layer).__name__} ({getattr(layer, 'name', '?')!r})")
        ops.append(op)
        shape = op.out_shape
        prev_layer = layer
    return ops


def apply_op(op: Op, a: np.ndarray) -> np.ndarray:
    """Apply one op to flat activations ``a`` of shape (batch, in_flat)."""
    if isinstance(op, LinearMap):
        return a @ op.weight + op.bias
    if isinstance(op, MaxPoolOp):
        return a[:, op.windows].max(axis=2)
    if isinstance(op, ActivationOp):
        return np.maximum(a, 0.0) if op.kind == "relu" else elu(a, op.alpha)
    return a


def run_ops(ops: list[Op], x: np.ndarray) -> list[np.ndarray]:
    """Flat activations ``[x, op1(x), ...]``, each (batch, features), from a batch ``x`` of any sample shape."""
    acts = [np.asarray(x, dtype=np.float64).reshape(x.shape[0], -1)]
    for op in ops:
        acts.append(apply_op(op, acts[-1]))
    return acts


def is_weighted(op: Op) -> bool:
    """Whether ``op`` is a layer with weights (Dense/Conv, possibly with a folded BatchNorm)."""
    return isinstance(op, LinearMap) and op.kind in ("dense", "conv")
