"""Direct (loop-based) float64 forward pass of a :class:`~signxai.common.reference.layers.Model`.

Written independently of the matrix view in :mod:`.linear` so that each can check the other.
"""

from __future__ import annotations

import numpy as np

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
    Layer,
    MaxPool1D,
    MaxPool2D,
    Model,
    ReLU,
)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``"same"`` padding (before, after) of one axis: the extra element goes at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_spatial(x: np.ndarray, kernel: tuple[int, ...], strides: tuple[int, ...], padding: str) -> np.ndarray:
    """Zero-pad the spatial axes (all but the first batch axis and the last channel axis) of ``x``."""
    if padding == "valid":
        return x
    if padding != "same":
        raise ValueError(f"unknown padding {padding!r}")
    pads = [(0, 0)]
    for size, k, s in zip(x.shape[1:-1], kernel, strides):
        pads.append(same_padding(size, k, s))
    pads.append((0, 0))
    return np.pad(x, pads)


def _conv2d(x: np.ndarray, layer: Conv2D) -> np.ndarray:
    kh, kw, _, cout = layer.kernel.shape
    sh, sw = layer.strides
    xp = _pad_spatial(x, (kh, kw), (sh, sw), layer.padding)
    oh = (xp.shape[1] - kh) // sh + 1
    ow = (xp.shape[2] - kw) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            out[:, i, j, :] = np.einsum("nabc,abcd->nd", patch, layer.kernel)
    return out + layer.bias


def _conv1d(x: np.ndarray, layer: Conv1D) -> np.ndarray:
    k, _, cout = layer.kernel.shape
    s = layer.stride
    xp = _pad_spatial(x, (k,), (s,), layer.padding)
    ot = (xp.shape[1] - k) // s + 1
    out = np.zeros((x.shape[0], ot, cout))
    for t in range(ot):
        out[:, t, :] = np.einsum("nac,acd->nd", xp[:, t * s : t * s + k, :], layer.kernel)
    return out + layer.bias


def _pool(x: np.ndarray, pool: tuple[int, ...], strides: tuple[int, ...] | None, reduce) -> np.ndarray:
    strides = pool if strides is None else strides
    if len(pool) == 1:
        (p,), (s,) = pool, strides
        ot = (x.shape[1] - p) // s + 1
        return np.stack([reduce(x[:, t * s : t * s + p, :], axis=1) for t in range(ot)], axis=1)
    (ph, pw), (sh, sw) = pool, strides
    oh = (x.shape[1] - ph) // sh + 1
    ow = (x.shape[2] - pw) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            out[:, i, j, :] = reduce(x[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :], axis=(1, 2))
    return out


def elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """ELU: x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def apply_layer(layer: Layer, x: np.ndarray) -> np.ndarray:
    """Apply one layer to a batch ``x`` (batch axis first, channels last)."""
    if isinstance(layer, Dense):
        return x @ layer.weight + layer.bias
    if isinstance(layer, Conv2D):
        return _conv2d(x, layer)
    if isinstance(layer, Conv1D):
        return _conv1d(x, layer)
    if isinstance(layer, MaxPool2D):
        return _pool(x, tuple(layer.pool), layer.strides, np.max)
    if isinstance(layer, MaxPool1D):
        return _pool(x, (layer.pool,), None if layer.stride is None else (layer.stride,), np.max)
    if isinstance(layer, AvgPool2D):
        return _pool(x, tuple(layer.pool), layer.strides, np.mean)
    if isinstance(layer, AvgPool1D):
        return _pool(x, (layer.pool,), None if layer.stride is None else (layer.stride,), np.mean)
    if isinstance(layer, GlobalAvgPool):
        return x.mean(axis=tuple(range(1, x.ndim - 1)))
    if isinstance(layer, Flatten):
        return x.reshape(x.shape[0], -1)
    if isinstance(layer, ReLU):
        return np.maximum(x, 0.0)
    if isinstance(layer, ELU):
        return elu(x, layer.alpha)
    if isinstance(layer, BatchNorm):
        return layer.gamma * (x - layer.mean) / np.sqrt(layer.var + layer.eps) + layer.beta
    raise ValueError(f"unsupported layer type {type(layer).__name__}")


def forward_all(model: Model, x: np.ndarray) -> list[np.ndarray]:
    """Activations of every layer: ``[x, layer1(x), layer2(layer1(x)), ...]`` (float64)."""
    acts = [np.asarray(x, dtype=np.float64)]
    if acts[0].shape[1:] != tuple(model.input_shape):
        raise ValueError(f"input shape {acts[0].shape[1:]} does not match the model's {tuple(model.input_shape)}")
    for layer in model.layers:
        acts.append(apply_layer(layer, acts[-1]))
    return acts


def forward(model: Model, x: np.ndarray) -> np.ndarray:
    """Logits of ``model`` for a batch ``x`` (channels-last, batch axis first), float64 (N, classes)."""
    return forward_all(model, x)[-1]
