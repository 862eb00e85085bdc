"""Every linear layer as an explicit matrix, and max-pooling as explicit windows (float64, channels-last).

A sample is handled as one flat vector in C (row-major, channels-last) order. A linear layer is then
``z = a @ weight + bias`` with ``weight`` of shape (in_flat, out_flat), plus a boolean ``mask`` of the same
shape marking the structural taps (which input feeds which output). Zero-padded positions of a "same"
convolution are simply not inputs, so they have no row and no tap: the Flat / W^2 / Z^B denominators count
only real taps without any special case.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .forward import same_padding
from .layers import (
    Affine,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    GlobalAvgPool,
    MaxPool1D,
    MaxPool2D,
    UpSampling,
    ZeroPadding,
)


@dataclass(frozen=True)
class LinearMap:
    """``z = a @ weight + bias`` on flat samples.

    Attributes
    ----------
    weight : numpy.ndarray
        (in_flat, out_flat) float64.
    bias : numpy.ndarray
        (out_flat,) float64.
    mask : numpy.ndarray
        (in_flat, out_flat) bool: True where input i is a tap of output j (a weight that is exactly zero is
        still a tap).
    in_shape, out_shape : tuple of int
        Shapes of one sample before and after the layer.
    kind : {"dense", "conv", "pool", "affine", "route"}
        Dense / convolution (layers with weights, which get LRP rules), average pooling (Z rule), a BatchNorm or
        Affine that is not folded (diagonal weight: LRP's body rule for Dense layers), or a 0/1 routing map
        (ZeroPadding, UpSampling: LRP routes relevance with the ordinary gradient).
    name : str
        Name of the originating layer (of the Dense/Conv when a BatchNorm was folded into it).
    diagonal : numpy.ndarray or None
        The diagonal of ``weight`` for a diagonal map (BatchNorm, Affine), None otherwise.
    source : numpy.ndarray or None
        For a 0/1 routing map: the input index each output copies (-1 for none), None otherwise.
    """

    weight: np.ndarray
    bias: np.ndarray
    mask: np.ndarray
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kind: str
    name: str
    diagonal: np.ndarray | None = None
    source: np.ndarray | None = None

    def apply(self, a: np.ndarray) -> np.ndarray:
        """``a @ weight + bias`` (by the shortcuts ``diagonal`` / ``source`` where set: the same numbers)."""
        if self.diagonal is not None:
            return a * self.diagonal + self.bias
        if self.source is not None:
            return np.where(self.source >= 0, a[:, self.source], 0.0) + self.bias
        return a @ self.weight + self.bias

    def transpose_apply(self, signal: np.ndarray) -> np.ndarray:
        """``signal @ weight.T``: the ordinary backward pass of the map."""
        if self.diagonal is not None:
            return signal * self.diagonal
        if self.source is not None:
            out = np.zeros((signal.shape[0], self.weight.shape[0]))
            real = self.source >= 0
            np.add.at(out, (slice(None), self.source[real]), signal[:, real])
            return out
        return signal @ self.weight.T


def _window_origin(out_pos: tuple[int, ...], strides: tuple[int, ...], pad_before: tuple[int, ...]) -> list[int]:
    return [o * s - p for o, s, p in zip(out_pos, strides, pad_before)]


def conv_map(layer: Conv1D | Conv2D, in_shape: tuple[int, ...]) -> LinearMap:
    """The matrix of a Conv1D / Conv2D (Keras kernel (k..., c_in / groups, c_out), "valid" or TF "same" padding).

    With ``groups`` > 1, output channel ``o`` reads only the input channels of group ``o // (c_out / groups)``:
    the other input channels are no taps of it.
    """
    kernel = np.asarray(layer.kernel, dtype=np.float64)
    ksize = kernel.shape[:-2]
    cig, c_out = kernel.shape[-2:]
    strides = (layer.stride,) if isinstance(layer, Conv1D) else tuple(layer.strides)
    spatial = tuple(in_shape[:-1])
    c_in, groups = in_shape[-1], int(layer.groups)
    if len(spatial) != len(ksize) or groups < 1 or c_in % groups or c_out % groups or c_in // groups != cig:
        raise ValueError(
            f"layer {layer.name!r}: kernel {kernel.shape} with groups={groups} does not fit input shape {in_shape}"
        )
    cog = c_out // groups
    if layer.padding == "same":
        pads = [same_padding(n, k, s) for n, k, s in zip(spatial, ksize, strides)]
    elif layer.padding == "valid":
        pads = [(0, 0)] * len(spatial)
    else:
        raise ValueError(f"layer {layer.name!r}: unknown padding {layer.padding!r}")
    out_spatial = tuple((n + p0 + p1 - k) // s + 1 for n, (p0, p1), k, s in zip(spatial, pads, ksize, strides))
    out_shape = (*out_spatial, c_out)
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    weight = np.zeros((n_in, n_out))
    mask = np.zeros((n_in, n_out), dtype=bool)
    out_pos = np.array(list(itertools.product(*(range(n) for n in out_spatial))), dtype=np.int64)  # (P, d)
    origin = out_pos * np.array(strides) - np.array([p[0] for p in pads])
    for tap in itertools.product(*(range(k) for k in ksize)):
        in_pos = origin + np.array(tap)
        inside = np.all((in_pos >= 0) & (in_pos < np.array(spatial)), axis=1)  # padded positions are no inputs
        for g in range(groups):
            # flat indices: rows (P', cig) of the group's inputs, cols (P', cog) of its outputs, channels last
            rows = np.ravel_multi_index(in_pos[inside].T, spatial)[:, None] * c_in + g * cig + np.arange(cig)
            cols = np.ravel_multi_index(out_pos[inside].T, out_spatial)[:, None] * c_out + g * cog + np.arange(cog)
            weight[rows[:, :, None], cols[:, None, :]] += kernel[tap][:, g * cog : (g + 1) * cog]
            mask[rows[:, :, None], cols[:, None, :]] = True
    bias = np.tile(_bias(layer, c_out), int(np.prod(out_spatial)))
    return LinearMap(weight, bias, mask, tuple(in_shape), out_shape, "conv", layer.name)


def _bias(layer: Dense | Conv1D | Conv2D, n: int) -> np.ndarray:
    """The layer's bias as float64, zeros for ``bias=None``."""
    return np.zeros(n) if layer.bias is None else np.asarray(layer.bias, dtype=np.float64).copy()


def dense_map(layer: Dense, in_shape: tuple[int, ...]) -> LinearMap:
    """The matrix of a Dense layer (Keras weight (in, out)); its input must be flat."""
    weight = np.asarray(layer.weight, dtype=np.float64)
    if tuple(in_shape) != (weight.shape[0],):
        raise ValueError(f"layer {layer.name!r}: Dense of weight {weight.shape} needs a flat input, got {in_shape}")
    mask = np.ones(weight.shape, dtype=bool)
    return LinearMap(
        weight.copy(),
        _bias(layer, weight.shape[1]),
        mask,
        tuple(in_shape),
        (weight.shape[1],),
        "dense",
        layer.name,
    )


def pool_windows(
    pool: tuple[int, ...], strides: tuple[int, ...] | None, in_shape: tuple[int, ...]
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Flat input indices of every pooling window ("valid", no padding).

    Returns
    -------
    windows : numpy.ndarray
        (out_flat, window_size) int: row j lists the inputs of output j in row-major window order.
    out_shape : tuple of int
    """
    strides = tuple(pool) if strides is None else tuple(strides)
    spatial, channels = tuple(in_shape[:-1]), in_shape[-1]
    if len(pool) != len(spatial):
        raise ValueError(f"pool {pool} does not fit input shape {in_shape}")
    out_spatial = tuple((n - k) // s + 1 for n, k, s in zip(spatial, pool, strides))
    out_shape = (*out_spatial, channels)
    windows = np.zeros((int(np.prod(out_shape)), int(np.prod(pool))), dtype=np.int64)
    for out_pos in itertools.product(*(range(n) for n in out_spatial)):
        origin = _window_origin(out_pos, strides, (0,) * len(pool))
        for c in range(channels):
            j = np.ravel_multi_index((*out_pos, c), out_shape)
            for t, tap in enumerate(itertools.product(*(range(k) for k in pool))):
                windows[j, t] = np.ravel_multi_index((*(o + d for o, d in zip(origin, tap)), c), in_shape)
    return windows, out_shape


def maxpool_windows(layer: MaxPool1D | MaxPool2D, in_shape: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Windows of a max-pooling layer (see :func:`pool_windows`)."""
    if isinstance(layer, MaxPool1D):
        return pool_windows((layer.pool,), None if layer.stride is None else (layer.stride,), in_shape)
    return pool_windows(tuple(layer.pool), layer.strides, in_shape)


def avgpool_map(layer: AvgPool1D | AvgPool2D, in_shape: tuple[int, ...]) -> LinearMap:
    """Average pooling as a linear map: weight 1/window_size on every tap, no bias."""
    if isinstance(layer, AvgPool1D):
        windows, out_shape = pool_windows((layer.pool,), None if layer.stride is None else (layer.stride,), in_shape)
    else:
        windows, out_shape = pool_windows(tuple(layer.pool), layer.strides, in_shape)
    return _windows_map(windows, in_shape, out_shape, layer.name)


def global_avgpool_map(layer: GlobalAvgPool, in_shape: tuple[int, ...]) -> LinearMap:
    """Global average pooling (mean over every spatial position, per channel) as a linear map."""
    channels = in_shape[-1]
    positions = int(np.prod(in_shape[:-1]))
    windows = np.arange(positions * channels).reshape(positions, channels).T  # (channels, positions)
    out_shape = (*(1,) * (len(in_shape) - 1), channels) if layer.keepdims else (channels,)
    return _windows_map(windows, in_shape, out_shape, layer.name)


def _windows_map(windows: np.ndarray, in_shape: tuple[int, ...], out_shape: tuple[int, ...], name: str) -> LinearMap:
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    weight = np.zeros((n_in, n_out))
    mask = np.zeros((n_in, n_out), dtype=bool)
    for j, rows in enumerate(windows):
        weight[rows, j] += 1.0 / len(rows)
        mask[rows, j] = True
    return LinearMap(weight, np.zeros(n_out), mask, tuple(in_shape), tuple(out_shape), "pool", name)


def batchnorm_scale_shift(layer: BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, shift) with y = scale * x + shift."""
    scale = np.asarray(layer.gamma, dtype=np.float64) / np.sqrt(np.asarray(layer.var, dtype=np.float64) + layer.eps)
    shift = np.asarray(layer.beta, dtype=np.float64) - np.asarray(layer.mean, dtype=np.float64) * scale
    return scale, shift


def affine_map(layer: BatchNorm | Affine, in_shape: tuple[int, ...]) -> LinearMap:
    """BatchNorm (inference) or Affine (per channel, last axis; scalars broadcast) as a diagonal linear map."""
    if isinstance(layer, BatchNorm):
        scale, shift = batchnorm_scale_shift(layer)
    else:
        scale = np.asarray(layer.scale, dtype=np.float64)
        shift = np.asarray(layer.shift, dtype=np.float64)
    ones = np.ones(in_shape)
    scale = (ones * scale).reshape(-1)
    shift = (ones * shift).reshape(-1)
    n = scale.size
    return LinearMap(
        np.diag(scale), shift, np.eye(n, dtype=bool), tuple(in_shape), tuple(in_shape), "affine", layer.name, scale
    )


def compose_affine(first: LinearMap, second: LinearMap) -> LinearMap:
    """``second(first(x))`` of two diagonal (affine) maps as one diagonal map: consecutive affine layers (Rescaling
    then Normalization, an unfolded BatchNorm after another) are one affine layer for LRP (docs/decisions.md)."""
    assert first.diagonal is not None and second.diagonal is not None
    diagonal = second.diagonal * first.diagonal
    bias = second.diagonal * first.bias + second.bias
    return LinearMap(
        np.diag(diagonal), bias, first.mask, first.in_shape, second.out_shape, "affine", second.name, diagonal
    )


def zero_padding_map(layer: ZeroPadding, in_shape: tuple[int, ...]) -> LinearMap:
    """Explicit zero padding as a 0/1 routing map: input position p goes to p + before (a padded position has
    no input, so its column is empty)."""
    spatial = tuple(in_shape[:-1])
    if len(layer.padding) != len(spatial):
        raise ValueError(f"layer {layer.name!r}: padding {layer.padding} does not fit input shape {in_shape}")
    before = np.array([p[0] for p in layer.padding])
    out_shape = (*(n + p0 + p1 for n, (p0, p1) in zip(spatial, layer.padding)), in_shape[-1])
    index = np.array(list(itertools.product(*(range(n) for n in in_shape))), dtype=np.int64)
    target = index.copy()
    target[:, :-1] += before
    return _routing_map(np.ravel_multi_index(target.T, out_shape), in_shape, out_shape, layer.name)


def upsampling_map(layer: UpSampling, in_shape: tuple[int, ...]) -> LinearMap:
    """Upsampling by repetition as a 0/1 routing map: output position q reads input position q // size."""
    spatial = tuple(in_shape[:-1])
    if len(layer.size) != len(spatial):
        raise ValueError(f"layer {layer.name!r}: size {layer.size} does not fit input shape {in_shape}")
    out_shape = (*(n * s for n, s in zip(spatial, layer.size)), in_shape[-1])
    index = np.array(list(itertools.product(*(range(n) for n in out_shape))), dtype=np.int64)
    source = index.copy()
    source[:, :-1] //= np.array(layer.size)
    weight = np.zeros((int(np.prod(in_shape)), index.shape[0]))
    rows = np.ravel_multi_index(source.T, in_shape)
    weight[rows, np.arange(index.shape[0])] = 1.0
    bias = np.zeros(weight.shape[1])
    return LinearMap(weight, bias, weight > 0, tuple(in_shape), out_shape, "route", layer.name, None, rows)


def _routing_map(target: np.ndarray, in_shape: tuple[int, ...], out_shape: tuple[int, ...], name: str) -> LinearMap:
    """Input i goes to output ``target[i]``."""
    weight = np.zeros((int(np.prod(in_shape)), int(np.prod(out_shape))))
    weight[np.arange(target.size), target] = 1.0
    source = np.full(weight.shape[1], -1)
    source[target] = np.arange(target.size)
    bias = np.zeros(weight.shape[1])
    return LinearMap(weight, bias, weight > 0, tuple(in_shape), tuple(out_shape), "route", name, None, source)


def compose_padding(pad: LinearMap, lin: LinearMap) -> LinearMap:
    """A Dense/Conv map ``lin`` applied after a zero-padding map ``pad``: one map on the padding's input.

    Every input of the padding goes to exactly one position, so the composed map (``pad.weight @ lin.weight``)
    keeps the rows of ``lin`` at the real positions and drops those of the padded ones: the padded positions are
    no inputs of the layer (W^2, Flat, Z^B and std_x see only the real inputs, as with "same" padding).
    """
    if pad.kind != "route" or pad.out_shape != lin.in_shape or np.any(pad.weight.sum(axis=1) != 1):
        raise ValueError(f"cannot fold {pad.name!r} ({pad.kind}) into {lin.name!r}: not a zero padding before it")
    rows = pad.weight.argmax(axis=1)  # the position each input goes to
    return LinearMap(lin.weight[rows], lin.bias, lin.mask[rows], pad.in_shape, lin.out_shape, lin.kind, lin.name)


def fold_batchnorm(lin: LinearMap, bn: BatchNorm) -> LinearMap:
    """Merge a BatchNorm into the directly preceding Dense/Conv map: weight*scale, bias*scale + shift."""
    if lin.kind not in ("dense", "conv"):
        raise ValueError(f"BatchNorm {bn.name!r} can only be folded into a Dense/Conv layer, not {lin.kind!r}")
    scale, shift = batchnorm_scale_shift(bn)
    channel = np.arange(lin.weight.shape[1]) % lin.out_shape[-1]
    weight = lin.weight * scale[channel][None, :]
    bias = lin.bias * scale[channel] + shift[channel]
    return LinearMap(weight, bias, lin.mask, lin.in_shape, lin.out_shape, lin.kind, lin.name)
