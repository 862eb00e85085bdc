"""Plain descriptions of the small feed-forward models the float64 reference understands.

Everything is channels-last (the Keras layout): images (H, W, C), time series (T, C). Weights follow the
Keras conventions, so a Keras model is described by copying its weights one to one:

- ``Dense.weight`` is (in, out); ``Conv1D.kernel`` is (k, c_in, c_out); ``Conv2D.kernel`` is
  (kh, kw, c_in, c_out); padding ``"valid"`` or ``"same"`` with TensorFlow's split of an odd padding
  (the extra row/column at the end).
- ``Flatten`` flattens in channels-last (C-contiguous) order, like ``keras.layers.Flatten``.
- Pooling windows never pad (``"valid"``); ``stride`` defaults to the pool size.
- ``BatchNorm`` normalises the last axis: y = gamma * (x - mean) / sqrt(var + eps) + beta.

Layer ``name`` is used by Grad-CAM's ``layer=`` and by the ``_VGG16ILSVRC`` / ``_MNISTCNN`` aliases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

Padding = Literal["valid", "same"]


@dataclass(frozen=True)
class Dense:
    weight: np.ndarray
    bias: np.ndarray
    name: str = "dense"


@dataclass(frozen=True)
class Conv1D:
    kernel: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: Padding = "valid"
    name: str = "conv1d"


@dataclass(frozen=True)
class Conv2D:
    kernel: np.ndarray
    bias: np.ndarray
    strides: tuple[int, int] = (1, 1)
    padding: Padding = "valid"
    name: str = "conv2d"


@dataclass(frozen=True)
class MaxPool1D:
    pool: int
    stride: int | None = None
    name: str = "max_pooling1d"


@dataclass(frozen=True)
class MaxPool2D:
    pool: tuple[int, int]
    strides: tuple[int, int] | None = None
    name: str = "max_pooling2d"


@dataclass(frozen=True)
class AvgPool1D:
    pool: int
    stride: int | None = None
    name: str = "average_pooling1d"


@dataclass(frozen=True)
class AvgPool2D:
    pool: tuple[int, int]
    strides: tuple[int, int] | None = None
    name: str = "average_pooling2d"


@dataclass(frozen=True)
class GlobalAvgPool:
    """Mean over all spatial axes: (..., C) -> (C,)."""

    name: str = "global_average_pooling"


@dataclass(frozen=True)
class Flatten:
    name: str = "flatten"


@dataclass(frozen=True)
class ReLU:
    name: str = "relu"


@dataclass(frozen=True)
class ELU:
    alpha: float = 1.0
    name: str = "elu"


@dataclass(frozen=True)
class BatchNorm:
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float = 1e-3
    name: str = "batch_normalization"


Layer = Union[
    Dense, Conv1D, Conv2D, MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D, GlobalAvgPool, Flatten, ReLU, ELU, BatchNorm
]


@dataclass(frozen=True)
class Model:
    """A feed-forward model: ``layers`` applied in order to an input of ``input_shape`` (no batch axis).

    The last layer's output are the logits (no softmax).
    """

    layers: tuple[Layer, ...]
    input_shape: tuple[int, ...]
    name: str = field(default="model")
