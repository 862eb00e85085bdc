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

Graphs (spec section 8). Every layer has ``inputs``: the names of the layers whose outputs it consumes, in order,
with :data:`INPUT` for the model input. An empty ``inputs`` means "the previous layer in ``Model.layers``" (the
model input for the first layer), so a plain chain needs no ``inputs`` at all. ``Model.layers`` is in a topological
order and the last layer's output are the logits. Layer names are unique within a model. Multi-input layers:

- :class:`Add`: element-wise sum of two or more tensors of the same shape (a residual connection).
- :class:`Concatenate`: along the channel (last) axis.
- :class:`Multiply`: a gate ``x * g`` with ``inputs=(x, g)``; ``g`` must be the output of an :class:`Activation`
  whose ``fn`` is ``"sigmoid"``, ``"hard_sigmoid"`` or ``"softmax"``; ``g`` broadcasts against ``x`` as in NumPy
  (a squeeze-excitation gate of shape (1, 1, C) or (C,) against (H, W, C)).

Single-input additions: ``groups`` on :class:`Conv1D` / :class:`Conv2D` (kernel (k..., c_in / groups, c_out);
``groups == c_in`` is a depthwise convolution, output channel ``o`` reads input group ``o // (c_out / groups)``);
:class:`Affine` (per-channel ``scale * x + shift``: Rescaling, Normalization, a BatchNorm that LRP cannot fold);
:class:`ZeroPadding` (explicit zero padding of the spatial axes); :class:`Activation` (the activation family of
spec section 8); :class:`UpSampling` (repetition); ``keepdims`` on :class:`GlobalAvgPool`; ``bias=None`` on
:class:`Dense` / :class:`Conv1D` / :class:`Conv2D` for a layer without a bias (``use_bias=False`` / ``bias=False``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

Padding = Literal["valid", "same"]

#: The name under which a layer's ``inputs`` refer to the model input.
INPUT = "input"

#: Activation functions of :class:`Activation` (spec section 8), with their exact definitions:
#: relu6 = min(max(x, 0), 6); leaky_relu = x if x >= 0 else alpha * x (alpha required);
#: selu = 1.0507009873554805 * (x if x > 0 else 1.6732632423543772 * (exp(x) - 1));
#: gelu = x * Phi(x) (exact, erf); silu = x * sigmoid(x); hard_sigmoid = relu6(x + 3) / 6 (PyTorch's definition);
#: hard_swish = x * hard_sigmoid(x); softplus = log(1 + exp(x)); tanh; sigmoid = 1 / (1 + exp(-x));
#: softmax over the last axis.
ACTIVATION_FUNCTIONS = (
    "relu6",
    "leaky_relu",
    "selu",
    "gelu",
    "silu",
    "hard_sigmoid",
    "hard_swish",
    "softplus",
    "tanh",
    "sigmoid",
    "softmax",
)
#: Activations whose output may gate another tensor in :class:`Multiply`.
GATE_FUNCTIONS = ("sigmoid", "hard_sigmoid", "softmax")


@dataclass(frozen=True)
class Dense:
    weight: np.ndarray
    bias: np.ndarray | None
    name: str = "dense"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conv1D:
    kernel: np.ndarray
    bias: np.ndarray | None
    stride: int = 1
    padding: Padding = "valid"
    groups: int = 1
    name: str = "conv1d"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conv2D:
    kernel: np.ndarray
    bias: np.ndarray | None
    strides: tuple[int, int] = (1, 1)
    padding: Padding = "valid"
    groups: int = 1
    name: str = "conv2d"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaxPool1D:
    pool: int
    stride: int | None = None
    name: str = "max_pooling1d"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaxPool2D:
    pool: tuple[int, int]
    strides: tuple[int, int] | None = None
    name: str = "max_pooling2d"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class AvgPool1D:
    pool: int
    stride: int | None = None
    name: str = "average_pooling1d"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class AvgPool2D:
    pool: tuple[int, int]
    strides: tuple[int, int] | None = None
    name: str = "average_pooling2d"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GlobalAvgPool:
    """Mean over all spatial axes: (..., C) -> (C,), or (1, ..., 1, C) with ``keepdims``."""

    keepdims: bool = False
    name: str = "global_average_pooling"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flatten:
    name: str = "flatten"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReLU:
    name: str = "relu"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ELU:
    alpha: float = 1.0
    name: str = "elu"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchNorm:
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float = 1e-3
    name: str = "batch_normalization"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Activation:
    """An element-wise activation of :data:`ACTIVATION_FUNCTIONS` (``alpha`` only for ``leaky_relu``)."""

    fn: str
    alpha: float | None = None
    name: str = "activation"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Affine:
    """Per-channel affine map y = scale * x + shift (``scale``/``shift`` broadcast over the last axis; scalars too)."""

    scale: np.ndarray
    shift: np.ndarray
    name: str = "affine"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ZeroPadding:
    """Explicit zero padding of the spatial axes: ``padding[i] = (before, after)`` for spatial axis i."""

    padding: tuple[tuple[int, int], ...]
    name: str = "zero_padding"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpSampling:
    """Nearest-neighbour upsampling by repetition: spatial axis i repeated ``size[i]`` times."""

    size: tuple[int, ...]
    name: str = "up_sampling"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Add:
    """Element-wise sum of the outputs of ``inputs`` (two or more, same shape)."""

    name: str = "add"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Concatenate:
    """Concatenation of the outputs of ``inputs`` along the channel (last) axis."""

    name: str = "concatenate"
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Multiply:
    """A gate ``x * g`` with ``inputs = (x, g)``; ``g`` is the output of a gate :class:`Activation`."""

    name: str = "multiply"
    inputs: tuple[str, ...] = ()


Layer = Union[
    Dense,
    Conv1D,
    Conv2D,
    MaxPool1D,
    MaxPool2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAvgPool,
    Flatten,
    ReLU,
    ELU,
    BatchNorm,
    Activation,
    Affine,
    ZeroPadding,
    UpSampling,
    Add,
    Concatenate,
    Multiply,
]


@dataclass(frozen=True)
class Model:
    """A model: ``layers`` in topological order on an input of ``input_shape`` (no batch axis).

    Each layer consumes the outputs named in its ``inputs`` (the previous layer's when empty, see the module
    docstring). The last layer's output are the logits (no softmax).
    """

    layers: tuple[Layer, ...]
    input_shape: tuple[int, ...]
    name: str = field(default="model")
