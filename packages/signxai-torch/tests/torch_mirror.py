"""Build a PyTorch module computing exactly what a :class:`signxai.common.reference.layers.Model` computes.

The reference is channels-last with Keras weight conventions; the mirror is channels-first (NCHW / NCT):

- Dense (in, out) -> ``nn.Linear`` with the transposed matrix; Conv1D (k, in, out) / Conv2D (kh, kw, in, out) ->
  ``nn.Conv1d`` / ``nn.Conv2d`` with the kernel moved to (out, in, k...).
- ``"same"`` padding: TensorFlow's split (the extra row/column at the end); symmetric splits go into the convolution's
  own ``padding``, asymmetric ones into a ``nn.ZeroPad1d/2d`` module right before it.
- Flatten: Keras flattens channels-last, so the mirror permutes to channels-last before flattening.
- GlobalAvgPool -> ``nn.AdaptiveAvgPool1d/2d(1)`` (+ ``nn.Flatten`` unless ``keepdims``); BatchNorm ->
  ``nn.BatchNorm1d/2d`` with the running statistics; Affine -> a BatchNorm with mean 0, variance 1 and eps 0 (exactly
  scale * x + shift); grouped convolutions keep ``groups``; ``bias=None`` -> ``bias=False``.
- Graphs (spec section 8): the module's ``forward`` follows every layer's ``inputs``; Add is ``a + b``, Concatenate
  ``torch.cat`` on the channel axis, Multiply ``x * g``; Activation functions are the ``nn`` modules (softmax over
  the channel axis, dim=1); ZeroPadding -> ``nn.ZeroPad1d/2d``; UpSampling -> ``nn.Upsample`` (nearest).

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


class Add(nn.Module):
    """Element-wise sum of the inputs (a residual connection)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concatenate(nn.Module):
    """Concatenation along the channel axis (Keras' last axis)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Multiply(nn.Module):
    """A gate x * g."""

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return x * g


class GraphModel(nn.Module):
    """Runs its submodules in registration (topological) order, feeding each the outputs named in ``wiring``."""

    def __init__(self, layers: OrderedDict[str, nn.Module], wiring: dict[str, tuple[str, ...]], output: str) -> None:
        super().__init__()
        for name, module in layers.items():
            self.add_module(name, module)
        self._wiring = wiring
        self._output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acts = {L.INPUT: x}
        for name, module in self.named_children():
            acts[name] = module(*(acts[i] for i in self._wiring[name]))
        return acts[self._output]


_ACTIVATIONS = {
    "relu6": nn.ReLU6,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "hard_sigmoid": nn.Hardsigmoid,
    "hard_swish": nn.Hardswish,
    "softplus": nn.Softplus,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def _conv(layer: L.Conv1D | L.Conv2D, shape: list[int]) -> list[tuple[str, nn.Module]]:
    """(suffix, module) pairs of a convolution: an explicit ZeroPad for an asymmetric "same" split, then the conv."""
    kernel = np.asarray(layer.kernel)
    dims = kernel.ndim - 2
    ksize = kernel.shape[:dims]
    strides = (layer.stride,) if dims == 1 else tuple(layer.strides)
    spatial = shape[2:]
    splits = [_same_split(spatial[i], ksize[i], strides[i]) if layer.padding == "same" else (0, 0) for i in range(dims)]
    symmetric = all(a == b for a, b in splits)
    cls = nn.Conv1d if dims == 1 else nn.Conv2d
    groups = layer.groups
    conv = cls(
        kernel.shape[-2] * groups,
        kernel.shape[-1],
        ksize,
        stride=strides,
        padding=tuple(a for a, _ in splits) if symmetric else 0,
        groups=groups,
        bias=layer.bias is not None,
        dtype=torch.float64,
    )
    with torch.no_grad():
        conv.weight.copy_(_t(np.transpose(kernel, (dims + 1, dims, *range(dims)))))
        if layer.bias is not None:
            conv.bias.copy_(_t(layer.bias))
    modules: list[tuple[str, nn.Module]] = []
    if not symmetric:
        pad = tuple(p for a, b in reversed(splits) for p in (a, b))  # F.pad order: last axis first
        modules.append(("_pad", nn.ZeroPad1d(pad) if dims == 1 else nn.ZeroPad2d(pad)))
    modules.append(("", conv))
    return modules


def _batch_norm(channels: int, rank: int, gamma, beta, mean, var, eps: float) -> nn.Module:
    bn = (nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d)(channels, eps=eps, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.broadcast_to(_t(gamma), (channels,)))
        bn.bias.copy_(torch.broadcast_to(_t(beta), (channels,)))
        bn.running_mean.copy_(torch.broadcast_to(_t(mean), (channels,)))
        bn.running_var.copy_(torch.broadcast_to(_t(var), (channels,)))
    return bn


def _layer_modules(layer: L.Layer, shape: list[int]) -> list[tuple[str, nn.Module]]:
    """(suffix, module) pairs computing ``layer`` on a channels-first input of ``shape`` (batch axis included)."""
    if isinstance(layer, L.Dense):
        w = np.asarray(layer.weight)
        lin = nn.Linear(w.shape[0], w.shape[1], bias=layer.bias is not None, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(_t(w.T))
            if layer.bias is not None:
                lin.bias.copy_(_t(layer.bias))
        return [("", lin)]
    if isinstance(layer, (L.Conv1D, L.Conv2D)):
        return _conv(layer, shape)
    if isinstance(layer, (L.MaxPool1D, L.MaxPool2D, L.AvgPool1D, L.AvgPool2D)):
        one_d = isinstance(layer, (L.MaxPool1D, L.AvgPool1D))
        pool = (layer.pool,) if one_d else tuple(layer.pool)
        raw_stride = layer.stride if one_d else layer.strides
        stride = pool if raw_stride is None else ((raw_stride,) if one_d else tuple(raw_stride))
        if isinstance(layer, (L.MaxPool1D, L.MaxPool2D)):
            return [("", (nn.MaxPool1d if one_d else nn.MaxPool2d)(pool, stride))]
        return [("", (nn.AvgPool1d if one_d else nn.AvgPool2d)(pool, stride))]
    if isinstance(layer, L.GlobalAvgPool):
        pool = nn.AdaptiveAvgPool1d(1) if len(shape) == 3 else nn.AdaptiveAvgPool2d(1)
        return [("", pool)] if layer.keepdims else [("_pool", pool), ("", nn.Flatten())]
    if isinstance(layer, L.Flatten):
        return [("", ChannelsLastFlatten())]
    if isinstance(layer, L.ReLU):
        return [("", nn.ReLU())]
    if isinstance(layer, L.ELU):
        return [("", nn.ELU(alpha=layer.alpha))]
    if isinstance(layer, L.BatchNorm):
        return [("", _batch_norm(shape[1], len(shape), layer.gamma, layer.beta, layer.mean, layer.var, layer.eps))]
    if isinstance(layer, L.Affine):  # scale * x + shift == a BatchNorm with mean 0, var 1, eps 0 (exactly)
        return [("", _batch_norm(shape[1], len(shape), layer.scale, layer.shift, 0.0, 1.0, 0.0))]
    if isinstance(layer, L.Activation):
        if layer.fn == "leaky_relu":
            return [("", nn.LeakyReLU(layer.alpha))]
        if layer.fn == "softmax":
            return [("", nn.Softmax(dim=1))]
        return [("", _ACTIVATIONS[layer.fn]())]
    if isinstance(layer, L.ZeroPadding):
        pad = tuple(p for before, after in reversed(layer.padding) for p in (before, after))
        return [("", nn.ZeroPad1d(pad) if len(shape) == 3 else nn.ZeroPad2d(pad))]
    if isinstance(layer, L.UpSampling):
        return [("", nn.Upsample(scale_factor=tuple(float(s) for s in layer.size), mode="nearest"))]
    if isinstance(layer, L.Add):
        return [("", Add())]
    if isinstance(layer, L.Concatenate):
        return [("", Concatenate())]
    if isinstance(layer, L.Multiply):
        return [("", Multiply())]
    raise TypeError(f"no mirror for reference layer {type(layer).__name__}")


def mirror(model: L.Model, dtype: torch.dtype = torch.float64) -> nn.Module:
    """The channels-first PyTorch twin of a reference model (a chain or a graph).

    Parameters
    ----------
    model : signxai.common.reference.layers.Model
        The reference description.
    dtype : torch.dtype
        Parameter dtype (float64 for the exact comparison; the weights are always built in float64 first).

    Returns
    -------
    torch.nn.Module
        In eval mode; its ``forward`` follows the layers' ``inputs``. Module names are the reference layer names
        (so Grad-CAM's ``layer=`` finds the same layer); a helper module gets a suffix (``_pad``, ``_flatten``).
    """
    from signxai.common.reference.graph import resolved_inputs

    wiring = resolved_inputs(model)
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    edges: dict[str, tuple[str, ...]] = {}
    probe = {L.INPUT: torch.zeros((1, *to_torch_shape(tuple(model.input_shape))), dtype=torch.float64)}
    with torch.no_grad():
        for layer in model.layers:
            inputs = wiring[layer.name]
            parts = _layer_modules(layer, list(probe[inputs[0]].shape))
            feeds = inputs
            for index, (suffix, module) in enumerate(parts):
                name = layer.name if index == len(parts) - 1 else f"{layer.name}{suffix or '_part'}"
                module = module.eval()
                modules[name] = module
                edges[name] = feeds
                probe[name] = module(*(probe[i] for i in feeds))
                feeds = (name,)
    return GraphModel(modules, edges, model.layers[-1].name).to(dtype).eval()


def to_torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Channels-last sample shape -> channels-first."""
    return (shape[-1], *shape[:-1]) if len(shape) > 1 else shape


def to_torch_layout(x: np.ndarray) -> np.ndarray:
    """Channels-last batch -> channels-first batch (NHWC -> NCHW, NTC -> NCT)."""
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if x.ndim > 2 else x


def to_reference_layout(x: np.ndarray) -> np.ndarray:
    """Channels-first batch -> channels-last batch."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)) if x.ndim > 2 else x


def zoo_case(name: str, n: int = 2, seed: int = 0) -> tuple[L.Model, nn.Module, np.ndarray, torch.Tensor]:
    """(reference model, float64 mirror, channels-last input, channels-first input tensor) of a zoo model."""
    from signxai.common.reference import zoo

    ref = {**zoo.MODELS, **zoo.DAG_MODELS}[name](seed)
    x = zoo.sample_inputs(ref, n=n, seed=seed)
    return ref, mirror(ref), x, torch.from_numpy(to_torch_layout(x))
