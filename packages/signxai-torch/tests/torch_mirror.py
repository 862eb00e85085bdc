"""Build a PyTorch ``nn.Sequential`` computing exactly what a :class:`signxai.common.reference.layers.Model` computes.

The reference is channels-last with Keras weight conventions; the mirror is channels-first (NCHW / NCT):

- Dense (in, out) -> ``nn.Linear`` with the transposed matrix; Conv1D (k, in, out) / Conv2D (kh, kw, in, out) ->
  ``nn.Conv1d`` / ``nn.Conv2d`` with the kernel moved to (out, in, k...).
- ``"same"`` padding: TensorFlow's split (the extra row/column at the end); symmetric splits go into the convolution's
  own ``padding``, asymmetric ones into a ``nn.ZeroPad1d/2d`` module right before it.
- Flatten: Keras flattens channels-last, so the mirror permutes to channels-last before flattening.
- GlobalAvgPool -> ``nn.AdaptiveAvgPool1d/2d(1)`` + ``nn.Flatten``; BatchNorm -> ``nn.BatchNorm1d/2d`` with the
  running statistics.

Module names are the reference layer names (so Grad-CAM's ``layer=`` and the aliases find the same layer).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from signxai.common.reference import layers as L


class ChannelsLastFlatten(nn.Module):
    """Flatten (N, C, *spatial) in channels-last order, like ``keras.layers.Flatten`` on (N, *spatial, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim > 2:
            x = x.permute(0, *range(2, x.ndim), 1)
        return x.reshape(x.shape[0], -1)


def _same_split(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def mirror(model: L.Model, dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """The channels-first PyTorch twin of a reference model.

    Parameters
    ----------
    model : signxai.common.reference.layers.Model
        The reference description.
    dtype : torch.dtype
        Parameter dtype (float64 for the exact comparison; the weights are always built in float64 first).

    Returns
    -------
    torch.nn.Sequential
        In eval mode.
    """
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    shape = list(model.input_shape)  # channels-last, no batch axis

    def add(name: str, module: nn.Module) -> None:
        key = name
        index = 1
        while key in modules:
            key = f"{name}_{index}"
            index += 1
        modules[key] = module

    for layer in model.layers:
        if isinstance(layer, L.Dense):
            w = np.asarray(layer.weight)
            lin = nn.Linear(w.shape[0], w.shape[1], dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(_t(w.T))
                lin.bias.copy_(_t(layer.bias))
            add(layer.name, lin)
            shape = [*shape[:-1], w.shape[1]]
        elif isinstance(layer, (L.Conv1D, L.Conv2D)):
            kernel = np.asarray(layer.kernel)
            dims = kernel.ndim - 2
            ksize = kernel.shape[:dims]
            strides = (layer.stride,) if dims == 1 else tuple(layer.strides)
            splits = [
                _same_split(shape[i], ksize[i], strides[i]) if layer.padding == "same" else (0, 0) for i in range(dims)
            ]
            symmetric = all(a == b for a, b in splits)
            cls = nn.Conv1d if dims == 1 else nn.Conv2d
            conv = cls(
                kernel.shape[-2],
                kernel.shape[-1],
                ksize,
                stride=strides,
                padding=tuple(a for a, _ in splits) if symmetric else 0,
                dtype=torch.float64,
            )
            with torch.no_grad():
                conv.weight.copy_(_t(np.transpose(kernel, (dims + 1, dims, *range(dims)))))
                conv.bias.copy_(_t(layer.bias))
            if not symmetric:
                pad = tuple(p for a, b in reversed(splits) for p in (a, b))  # F.pad order: last axis first
                add(f"{layer.name}_pad", nn.ZeroPad1d(pad) if dims == 1 else nn.ZeroPad2d(pad))
            add(layer.name, conv)
            out = [(shape[i] + sum(splits[i]) - ksize[i]) // strides[i] + 1 for i in range(dims)]
            shape = [*out, kernel.shape[-1]]
        elif isinstance(layer, (L.MaxPool1D, L.MaxPool2D, L.AvgPool1D, L.AvgPool2D)):
            one_d = isinstance(layer, (L.MaxPool1D, L.AvgPool1D))
            pool = (layer.pool,) if one_d else tuple(layer.pool)
            raw_stride = layer.stride if one_d else layer.strides
            stride = pool if raw_stride is None else ((raw_stride,) if one_d else tuple(raw_stride))
            if isinstance(layer, (L.MaxPool1D, L.MaxPool2D)):
                module: nn.Module = (nn.MaxPool1d if one_d else nn.MaxPool2d)(pool, stride)
            else:
                module = (nn.AvgPool1d if one_d else nn.AvgPool2d)(pool, stride)
            add(layer.name, module)
            shape = [*((shape[i] - pool[i]) // stride[i] + 1 for i in range(len(pool))), shape[-1]]
        elif isinstance(layer, L.GlobalAvgPool):
            add(layer.name, nn.AdaptiveAvgPool1d(1) if len(shape) == 2 else nn.AdaptiveAvgPool2d(1))
            add(f"{layer.name}_flatten", nn.Flatten())
            shape = [shape[-1]]
        elif isinstance(layer, L.Flatten):
            add(layer.name, ChannelsLastFlatten())
            shape = [int(np.prod(shape))]
        elif isinstance(layer, L.ReLU):
            add(layer.name, nn.ReLU())
        elif isinstance(layer, L.ELU):
            add(layer.name, nn.ELU(alpha=layer.alpha))
        elif isinstance(layer, L.BatchNorm):
            channels = shape[-1]
            bn = (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(channels, eps=layer.eps, dtype=torch.float64)
            with torch.no_grad():
                bn.weight.copy_(_t(layer.gamma))
                bn.bias.copy_(_t(layer.beta))
                bn.running_mean.copy_(_t(layer.mean))
                bn.running_var.copy_(_t(layer.var))
            add(layer.name, bn)
        else:
            raise TypeError(f"no mirror for reference layer {type(layer).__name__}")
    return nn.Sequential(modules).to(dtype).eval()


def to_torch_layout(x: np.ndarray) -> np.ndarray:
    """Channels-last batch -> channels-first batch (NHWC -> NCHW, NTC -> NCT)."""
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if x.ndim > 2 else x


def to_reference_layout(x: np.ndarray) -> np.ndarray:
    """Channels-first batch -> channels-last batch."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)) if x.ndim > 2 else x


def zoo_case(name: str, n: int = 2, seed: int = 0) -> tuple[L.Model, nn.Sequential, np.ndarray, torch.Tensor]:
    """(reference model, float64 mirror, channels-last input, channels-first input tensor) of a zoo model."""
    from signxai.common.reference import zoo

    ref = zoo.MODELS[name](seed)
    x = zoo.sample_inputs(ref, n=n, seed=seed)
    return ref, mirror(ref), x, torch.from_numpy(to_torch_layout(x))
