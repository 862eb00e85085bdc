"""Direct (loop-based) float64 forward pass of a :class:`~signxai.common.reference.layers.Model`.

Written independently of the matrix view in :mod:`.linear` so that each can check the other.
"""

from __future__ import annotations

import numpy as np

from .activations import activate
from .graph import layers_by_id, output_name, resolved_inputs
from .layers import (
    ELU,
    INPUT,
    Activation,
    Add,
    Affine,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Concatenate,
    Conv1D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    Layer,
    MaxPool1D,
    MaxPool2D,
    Model,
    Multiply,
    ReLU,
    UpSampling,
    ZeroPadding,
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


def _groups(layer: Conv1D | Conv2D, c_in: int) -> tuple[int, int, int]:
    """(groups, input channels per group, output channels per group), checked against the kernel."""
    g = int(layer.groups)
    cig, c_out = layer.kernel.shape[-2:]
    if g < 1 or c_in % g or c_out % g or c_in // g != cig:
        raise ValueError(
            f"layer {layer.name!r}: kernel {layer.kernel.shape} with groups={g} does not fit {c_in} input channels"
        )
    return g, cig, c_out // g


def _grouped_product(patch: np.ndarray, kernel: np.ndarray, layer: Conv1D | Conv2D, spec: str) -> np.ndarray:
    """Sum over the window of ``patch`` (n, window..., c_in) times ``kernel``, group by group."""
    g, cig, cog = _groups(layer, patch.shape[-1])
    parts = [
        np.einsum(spec, patch[..., i * cig : (i + 1) * cig], kernel[..., i * cog : (i + 1) * cog]) for i in range(g)
    ]
    return np.concatenate(parts, axis=-1)


def _bias(layer: Dense | Conv1D | Conv2D) -> np.ndarray | float:
    return 0.0 if layer.bias is None else np.asarray(layer.bias, dtype=np.float64)


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
            out[:, i, j, :] = _grouped_product(patch, layer.kernel, layer, "nabc,abcd->nd")
    return out + _bias(layer)


def _conv1d(x: np.ndarray, layer: Conv1D) -> np.ndarray:
    k, _, cout = layer.kernel.shape
    s = layer.stride
    xp = _pad_spatial(x, (k,), (s,), layer.padding)
    ot = (xp.shape[1] - k) // s + 1
    out = np.zeros((x.shape[0], ot, cout))
    for t in range(ot):
        out[:, t, :] = _grouped_product(xp[:, t * s : t * s + k, :], layer.kernel, layer, "nac,acd->nd")
    return out + _bias(layer)


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


def apply_layer(layer: Layer, *xs: np.ndarray) -> np.ndarray:
    """Apply one layer to its input batches ``xs`` (batch axis first, channels last)."""
    x = xs[0]
    if isinstance(layer, Dense):
        return x @ layer.weight + _bias(layer)
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
        return x.mean(axis=tuple(range(1, x.ndim - 1)), keepdims=layer.keepdims)
    if isinstance(layer, Flatten):
        return x.reshape(x.shape[0], -1)
    if isinstance(layer, ReLU):
        return activate("relu", x)
    if isinstance(layer, ELU):
        return activate("elu", x, layer.alpha)
    if isinstance(layer, Activation):
        return activate(layer.fn, x, layer.alpha)
    if isinstance(layer, BatchNorm):
        return layer.gamma * (x - layer.mean) / np.sqrt(layer.var + layer.eps) + layer.beta
    if isinstance(layer, Affine):
        return np.asarray(layer.scale, dtype=np.float64) * x + np.asarray(layer.shift, dtype=np.float64)
    if isinstance(layer, ZeroPadding):
        return np.pad(x, [(0, 0), *[tuple(p) for p in layer.padding], (0, 0)])
    if isinstance(layer, UpSampling):
        for axis, size in enumerate(layer.size, start=1):
            x = np.repeat(x, size, axis=axis)
        return x
    if isinstance(layer, Add):
        return np.sum(xs, axis=0)
    if isinstance(layer, Concatenate):
        return np.concatenate(xs, axis=-1)
    if isinstance(layer, Multiply):
        g = xs[1]  # broadcast per sample: (n, C) against (n, H, W, C) becomes (n, 1, 1, C)
        return xs[0] * g.reshape(g.shape[0], *(1,) * (xs[0].ndim - g.ndim), *g.shape[1:])
    raise ValueError(f"unsupported layer type {type(layer).__name__}")


def forward_all(model: Model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Output of every layer by id (its name, see :func:`~.graph.layers_by_id`) and the input under
    :data:`~.layers.INPUT` (float64, batch first)."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[1:] != tuple(model.input_shape):
        raise ValueError(f"input shape {x.shape[1:]} does not match the model's {tuple(model.input_shape)}")
    wiring = resolved_inputs(model)
    acts = {INPUT: x}
    for lid, layer in layers_by_id(model).items():
        acts[lid] = apply_layer(layer, *(acts[i] for i in wiring[lid]))
    return acts


def forward(model: Model, x: np.ndarray) -> np.ndarray:
    """Logits of ``model`` for a batch ``x`` (channels-last, batch axis first), float64 (N, classes)."""
    return forward_all(model, x)[output_name(model)]
