"""Small seeded test models (channels-last, float64) and inputs shared by the reference and both backends.

Every model is built from ``numpy.random.default_rng(seed)`` only, so a backend can rebuild the very same
weights (Keras conventions, see :mod:`.layers`). Weights are He-scaled (std sqrt(2 / fan_in)) and biases are
non-zero (N(0, 0.1^2)), so activations neither vanish nor explode and bias handling matters in every rule.

- :func:`image_cnn`: (8, 8, 3) -> 5 logits. Conv 3x3 "same" stride 2 (8 -> 4, asymmetric padding (0, 1): the
  extra zero at the end); Conv 2x2 "valid" (4 -> 3); ``block5_conv3`` 3x3 "same" (3 -> 3); overlapping
  MaxPool 2x2 stride 1 (3 -> 2); Flatten; Dense + ReLU; Dense.

Max-pooling only ever sees positions whose values differ mathematically, even for a constant input (such as
integrated gradients' zero baseline): on a constant input every position of a "same" convolution's output
with the same padding pattern is equal up to rounding, and a max over such ties would depend on rounding.
``image_cnn`` pools the 3x3 ``block5_conv3`` output, whose nine positions all have different padding patterns;
``timeseries_cnn`` pools a convolution of the input itself, whose ties at x = 0 are bit-identical (the bias).
- :func:`timeseries_cnn`: (32, 12) -> 4 logits. Conv1D k=5 "same"; MaxPool1D 2; Conv1D k=3 "valid" stride 2;
  Flatten; Dense.
- :func:`pooling_cnn`: (8, 8, 3) -> 3 logits. Conv 3x3 "same" + BatchNorm (non-trivial gamma/beta/mean/var)
  + ELU; AvgPool 2x2; Conv 3x3 "same" + ReLU; GlobalAvgPool; Dense.
- :func:`unfoldable_bn_cnn`: ``pooling_cnn`` with its BatchNorm after an activation (after the ELU, or after
  the ReLU), where LRP cannot fold it; not in :data:`MODELS` (LRP treats that BatchNorm as an affine layer under
  the Dense body rule, spec section 8).

DAG models (spec section 8), in :data:`DAG_MODELS`; together they hold every layer type of :mod:`.layers`.
Weights are drawn layer by layer in ``Model.layers`` order: a Dense/Conv draws its kernel (He-scaled over its
real fan-in, ``c_in / groups`` for a grouped convolution) and then its bias when it has one; a BatchNorm draws
gamma, beta, mean, var. A Conv followed by a BatchNorm has ``bias=None`` unless said otherwise.

- :func:`residual_cnn`: (8, 8, 3) -> 5. Stem conv + BN + ReLU6 + MaxPool 2x2; an identity block
  (conv-BN-ReLU6-conv-BN, Add, a BatchNorm after the Add, ReLU6); a projection block (stride-2 3x3 conv
  path, a biased second conv, 1x1 stride-2 shortcut conv + BN, Add, ReLU ``b2_out``); GlobalAvgPool; Dense.
- :func:`ecg_resnet`: (64, 12) -> 4. ZeroPadding (3, 3) before a "valid" Conv1D k=7 stride 2 + BN + ReLU,
  MaxPool1D 2; an identity block and a block with a 1x1 stride-2 shortcut (Conv1D + BN); GlobalAvgPool; Dense.
- :func:`mobile_cnn`: (6, 6, 3) -> 5. Per-channel Affine (Rescaling/Normalization); stem conv + BN +
  hard_swish; an inverted-residual block (1x1 expand + BN + ReLU6, depthwise 3x3 + BN + ReLU6, a
  squeeze-excitation gate GlobalAvgPool(keepdims) -> 1x1 conv -> ReLU -> 1x1 conv -> sigmoid -> Multiply,
  1x1 project + BN, Add); a grouped (groups=2) stride-2 conv + SiLU; GlobalAvgPool; Dense.
- :func:`dense_cnn`: (6, 6, 3) -> 5. conv0 + norm0 (folded) + ReLU; two DenseNet layers BN -> ReLU -> Conv
  (the BatchNorm precedes the conv: an affine layer) with Concatenate; a transition BN -> ReLU -> 1x1 conv ->
  AvgPool 2x2; norm5 -> ReLU ``relu5``; GlobalAvgPool; Dense.
- :func:`gated_ecg`: (32, 4) -> 3. Branch a: Conv1D + leaky_relu(0.1) + MaxPool1D; branch b: AvgPool1D,
  ZeroPadding (1, 1), "valid" Conv1D, ELU; Concatenate; a gated unit tanh(conv) * sigmoid(conv); Conv1D +
  GELU + MaxPool1D; UpSampling 2; Conv1D + SELU; a hard_sigmoid gate; softplus; Flatten; Dense.

:func:`bias_free` zeroes every bias, BatchNorm beta and mean and Affine shift (for conservation tests).

Max-pooling in the DAG models: ``gated_ecg`` pools continuous values (no ties at :func:`sample_inputs`; the
smallest gap between a window's two largest values is above 1e-4 * s). ``residual_cnn`` and ``ecg_resnet`` pool
ReLU outputs, as ResNets do, so windows whose pre-activations are all negative hold exact ties at 0 (about 6 %
and 33 % of the windows at ``sample_inputs(model, 2)``): deliberately, those exercise the tie rule of spec
section 1 (deconvnet and the Flat / W^2 body rules send a signal through them); their other windows have gaps
above 5e-4 * s.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .forward import forward
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
    MaxPool1D,
    MaxPool2D,
    Model,
    Multiply,
    ReLU,
    UpSampling,
    ZeroPadding,
)

_BIAS_STD = 0.1


def _weights(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """He-scaled weights of ``shape`` (fan-in = all but the last axis) and a non-zero bias."""
    fan_in = int(np.prod(shape[:-1]))
    w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    b = rng.normal(0.0, _BIAS_STD, size=shape[-1])
    return w, b


def image_cnn(seed: int = 0) -> Model:
    """A small VGG-like image CNN, input (8, 8, 3), 5 logits; its last convolution is ``block5_conv3``."""
    rng = np.random.default_rng(seed)
    k1, b1 = _weights(rng, (3, 3, 3, 6))
    k2, b2 = _weights(rng, (2, 2, 6, 6))
    k3, b3 = _weights(rng, (3, 3, 6, 8))
    w4, b4 = _weights(rng, (32, 16))
    w5, b5 = _weights(rng, (16, 5))
    layers = (
        Conv2D(k1, b1, strides=(2, 2), padding="same", name="conv2d"),
        ReLU(name="re_lu"),
        Conv2D(k2, b2, strides=(1, 1), padding="valid", name="conv2d_1"),
        ReLU(name="re_lu_1"),
        Conv2D(k3, b3, strides=(1, 1), padding="same", name="block5_conv3"),
        ReLU(name="re_lu_2"),
        MaxPool2D((2, 2), strides=(1, 1), name="max_pooling2d"),
        Flatten(name="flatten"),
        Dense(w4, b4, name="dense"),
        ReLU(name="re_lu_3"),
        Dense(w5, b5, name="dense_1"),
    )
    return Model(layers=layers, input_shape=(8, 8, 3), name="image_cnn")


def timeseries_cnn(seed: int = 0) -> Model:
    """A small 1-D CNN for 12-lead signals, input (32, 12), 4 logits; its last convolution is ``conv1d_1``."""
    rng = np.random.default_rng(seed)
    k1, b1 = _weights(rng, (5, 12, 8))
    k2, b2 = _weights(rng, (3, 8, 8))
    w3, b3 = _weights(rng, (56, 4))
    layers = (
        Conv1D(k1, b1, stride=1, padding="same", name="conv1d"),
        ReLU(name="re_lu"),
        MaxPool1D(2, name="max_pooling1d"),
        Conv1D(k2, b2, stride=2, padding="valid", name="conv1d_1"),
        ReLU(name="re_lu_1"),
        Flatten(name="flatten"),
        Dense(w3, b3, name="dense"),
    )
    return Model(layers=layers, input_shape=(32, 12), name="timeseries_cnn")


def pooling_cnn(seed: int = 0) -> Model:
    """A CNN with BatchNorm, ELU, average and global-average pooling; input (8, 8, 3), 3 logits."""
    rng = np.random.default_rng(seed)
    k1, b1 = _weights(rng, (3, 3, 3, 4))
    gamma = rng.uniform(0.5, 1.5, size=4)
    beta = rng.normal(0.0, 0.2, size=4)
    mean = rng.normal(0.0, 0.2, size=4)
    var = rng.uniform(0.5, 2.0, size=4)
    k2, b2 = _weights(rng, (3, 3, 4, 6))
    w3, b3 = _weights(rng, (6, 3))
    layers = (
        Conv2D(k1, b1, strides=(1, 1), padding="same", name="conv2d"),
        BatchNorm(gamma, beta, mean, var, eps=1e-3, name="batch_normalization"),
        ELU(alpha=1.0, name="elu"),
        AvgPool2D((2, 2), name="average_pooling2d"),
        Conv2D(k2, b2, strides=(1, 1), padding="same", name="conv2d_1"),
        ReLU(name="re_lu"),
        GlobalAvgPool(name="global_average_pooling2d"),
        Dense(w3, b3, name="dense"),
    )
    return Model(layers=layers, input_shape=(8, 8, 3), name="pooling_cnn")


def unfoldable_bn_cnn(seed: int = 0, where: str = "after_elu") -> Model:
    """``pooling_cnn`` with a BatchNorm that follows an activation (``where``: ``after_elu`` or ``after_relu``)."""
    conv, bn, elu, pool, conv2, relu, gap, dense = pooling_cnn(seed).layers
    if where == "after_elu":
        layers = (conv, elu, bn, pool, conv2, relu, gap, dense)
    elif where == "after_relu":
        channels = conv2.bias.shape[-1]
        resized = BatchNorm(*(np.resize(a, channels) for a in (bn.gamma, bn.beta, bn.mean, bn.var)), eps=bn.eps)
        layers = (conv, elu, pool, conv2, relu, resized, gap, dense)
    else:
        raise ValueError(f"where must be 'after_elu' or 'after_relu', got {where!r}")
    return Model(layers=layers, input_shape=(8, 8, 3), name=f"unfoldable_bn_cnn_{where}")


def sample_inputs(model: Model, n: int = 2, seed: int = 0) -> np.ndarray:
    """Inputs for ``model``: float64, channels-last, shape (n, *input_shape).

    Values are U(-1, 1) with exact zeros (every 7th element), exact +0.5 (every 11th) and exact -0.5
    (every 13th element, counted over the whole batch), so sign(0) = +1, sign_mu(0.5, 0.5) = +1 and the Z^B /
    alpha-beta splits are all exercised.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, *model.input_shape))
    flat = x.reshape(-1)
    idx = np.arange(flat.size)
    flat[idx % 7 == 3] = 0.0
    flat[idx % 11 == 5] = 0.5
    flat[idx % 13 == 8] = -0.5
    return flat.reshape(x.shape)


def flat_inputs(model: Model, n: int = 2, seed: int = 0) -> np.ndarray:
    """Inputs with flat stretches, as real recordings have: float64, shape (n, *input_shape).

    :func:`sample_inputs` quantised to steps of 1/8, with the second quarter of the first spatial axis held at
    the constant 0.25 (a flat baseline) and its last quarter 0 (zero padding to the model's length). Max-pooling
    windows over the flat parts hold values that are equal, mathematically or exactly, so the tie rule of spec
    section 1 decides the winners.
    """
    x = np.round(sample_inputs(model, n, seed) * 8.0) / 8.0
    length = model.input_shape[0]
    x[:, length // 4 : length // 2] = 0.25
    x[:, length - length // 4 :] = 0.0
    return x


def _kernel(
    rng: np.random.Generator, shape: tuple[int, ...], bias: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """He-scaled kernel of ``shape`` (fan-in = all but the last axis) and a non-zero bias, or no bias."""
    fan_in = int(np.prod(shape[:-1]))
    w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    b = rng.normal(0.0, _BIAS_STD, size=shape[-1]) if bias else None
    return w, b


def _bn(rng: np.random.Generator, channels: int, name: str) -> BatchNorm:
    """A BatchNorm with non-trivial gamma, beta, mean and var."""
    gamma = rng.uniform(0.5, 1.5, size=channels)
    beta = rng.normal(0.0, 0.2, size=channels)
    mean = rng.normal(0.0, 0.2, size=channels)
    var = rng.uniform(0.5, 2.0, size=channels)
    return BatchNorm(gamma, beta, mean, var, eps=1e-3, name=name, inputs=())


def _conv2d(rng, c_in, c_out, name, k=3, strides=(1, 1), padding="same", groups=1, bias=False, inputs=()) -> Conv2D:
    w, b = _kernel(rng, (k, k, c_in // groups, c_out), bias)
    return Conv2D(w, b, strides=strides, padding=padding, groups=groups, name=name, inputs=inputs)


def _conv1d(rng, c_in, c_out, name, k=3, stride=1, padding="same", bias=False, inputs=()) -> Conv1D:
    w, b = _kernel(rng, (k, c_in, c_out), bias)
    return Conv1D(w, b, stride=stride, padding=padding, name=name, inputs=inputs)


def residual_cnn(seed: int = 0) -> Model:
    """A small 2-D ResNet: identity and projection blocks, ReLU6, BatchNorm after an Add; (8, 8, 3) -> 5."""
    rng = np.random.default_rng(seed)
    layers = (
        _conv2d(rng, 3, 8, "conv1"),
        _bn(rng, 8, "bn1"),
        Activation("relu6", name="relu1"),
        MaxPool2D((2, 2), name="pool1"),
        # identity block: 4x4x8
        _conv2d(rng, 8, 8, "b1_conv1"),
        _bn(rng, 8, "b1_bn1"),
        Activation("relu6", name="b1_relu1"),
        _conv2d(rng, 8, 8, "b1_conv2"),
        _bn(rng, 8, "b1_bn2"),
        Add(name="b1_add", inputs=("b1_bn2", "pool1")),
        _bn(rng, 8, "b1_bn_add"),
        Activation("relu6", name="b1_out"),
        # projection block: 4x4x8 -> 2x2x12
        _conv2d(rng, 8, 12, "b2_conv1", strides=(2, 2)),
        _bn(rng, 12, "b2_bn1"),
        Activation("relu6", name="b2_relu1"),
        _conv2d(rng, 12, 12, "b2_conv2", bias=True),
        _conv2d(rng, 8, 12, "b2_proj", k=1, strides=(2, 2), inputs=("b1_out",)),
        _bn(rng, 12, "b2_proj_bn"),
        Add(name="b2_add", inputs=("b2_conv2", "b2_proj_bn")),
        ReLU(name="b2_out"),
        GlobalAvgPool(name="avg_pool"),
        Dense(*_kernel(rng, (12, 5)), name="fc"),
    )
    return Model(layers=layers, input_shape=(8, 8, 3), name="residual_cnn")


def ecg_resnet(seed: int = 0) -> Model:
    """A small 1-D ECG ResNet: explicit padding + conv stem, identity and 1x1 shortcuts; (64, 12) -> 4."""
    rng = np.random.default_rng(seed)
    layers = (
        ZeroPadding(((3, 3),), name="pad1"),
        _conv1d(rng, 12, 8, "conv1", k=7, stride=2, padding="valid"),
        _bn(rng, 8, "bn1"),
        ReLU(name="relu1"),
        MaxPool1D(2, name="pool1"),
        # identity block: 16x8
        _conv1d(rng, 8, 8, "b1_conv1"),
        _bn(rng, 8, "b1_bn1"),
        ReLU(name="b1_relu1"),
        _conv1d(rng, 8, 8, "b1_conv2"),
        _bn(rng, 8, "b1_bn2"),
        Add(name="b1_add", inputs=("b1_bn2", "pool1")),
        ReLU(name="b1_out"),
        # downsampling block with a 1x1 shortcut: 16x8 -> 8x16
        _conv1d(rng, 8, 16, "b2_conv1", stride=2),
        _bn(rng, 16, "b2_bn1"),
        ReLU(name="b2_relu1"),
        _conv1d(rng, 16, 16, "b2_conv2"),
        _bn(rng, 16, "b2_bn2"),
        _conv1d(rng, 8, 16, "b2_down", k=1, stride=2, inputs=("b1_out",)),
        _bn(rng, 16, "b2_down_bn"),
        Add(name="b2_add", inputs=("b2_bn2", "b2_down_bn")),
        ReLU(name="b2_out"),
        GlobalAvgPool(name="avg_pool"),
        Dense(*_kernel(rng, (16, 4)), name="fc"),
    )
    return Model(layers=layers, input_shape=(64, 12), name="ecg_resnet")


def mobile_cnn(seed: int = 0) -> Model:
    """A MobileNet/EfficientNet-style CNN: rescaling, depthwise and grouped convs, an SE gate; (6, 6, 3) -> 5."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, size=3)
    shift = rng.normal(0.0, 0.3, size=3)
    layers = (
        Affine(scale, shift, name="rescale"),
        _conv2d(rng, 3, 6, "stem"),
        _bn(rng, 6, "stem_bn"),
        Activation("hard_swish", name="stem_act"),
        # inverted residual block with squeeze-excitation: 6x6x6
        _conv2d(rng, 6, 12, "ir_expand", k=1),
        _bn(rng, 12, "ir_expand_bn"),
        Activation("relu6", name="ir_expand_act"),
        _conv2d(rng, 12, 12, "ir_dw", groups=12),
        _bn(rng, 12, "ir_dw_bn"),
        Activation("relu6", name="ir_dw_act"),
        GlobalAvgPool(keepdims=True, name="se_pool"),
        _conv2d(rng, 12, 4, "se_reduce", k=1, bias=True),
        ReLU(name="se_relu"),
        _conv2d(rng, 4, 12, "se_expand", k=1, bias=True),
        Activation("sigmoid", name="se_gate"),
        Multiply(name="se_mul", inputs=("ir_dw_act", "se_gate")),
        _conv2d(rng, 12, 6, "ir_project", k=1),
        _bn(rng, 6, "ir_project_bn"),
        Add(name="ir_add", inputs=("stem_act", "ir_project_bn")),
        # grouped convolution: 6x6x6 -> 3x3x8
        _conv2d(rng, 6, 8, "gconv", strides=(2, 2), groups=2, bias=True),
        Activation("silu", name="gconv_act"),
        GlobalAvgPool(name="avg_pool"),
        Dense(*_kernel(rng, (8, 5)), name="fc"),
    )
    return Model(layers=layers, input_shape=(6, 6, 3), name="mobile_cnn")


def dense_cnn(seed: int = 0) -> Model:
    """A DenseNet-style CNN: BN -> ReLU -> Conv layers, Concatenate, a transition, norm5; (6, 6, 3) -> 5."""
    rng = np.random.default_rng(seed)
    layers = (
        _conv2d(rng, 3, 6, "conv0"),
        _bn(rng, 6, "norm0"),
        ReLU(name="relu0"),
        # dense block: 6 -> 9 -> 12 channels
        _bn(rng, 6, "l1_norm"),
        ReLU(name="l1_relu"),
        _conv2d(rng, 6, 3, "l1_conv"),
        Concatenate(name="l1_cat", inputs=("relu0", "l1_conv")),
        _bn(rng, 9, "l2_norm"),
        ReLU(name="l2_relu"),
        _conv2d(rng, 9, 3, "l2_conv", bias=True),
        Concatenate(name="l2_cat", inputs=("l1_cat", "l2_conv")),
        # transition: 6x6x12 -> 3x3x6
        _bn(rng, 12, "t_norm"),
        ReLU(name="t_relu"),
        _conv2d(rng, 12, 6, "t_conv", k=1),
        AvgPool2D((2, 2), name="t_pool"),
        _bn(rng, 6, "norm5"),
        ReLU(name="relu5"),
        GlobalAvgPool(name="avg_pool"),
        Dense(*_kernel(rng, (6, 5)), name="fc"),
    )
    return Model(layers=layers, input_shape=(6, 6, 3), name="dense_cnn")


def gated_ecg(seed: int = 0) -> Model:
    """A 1-D CNN with two concatenated branches, gated units and the activation family; (32, 4) -> 3."""
    rng = np.random.default_rng(seed)
    layers = (
        # branch a: 32x4 -> 16x6
        _conv1d(rng, 4, 6, "a_conv", k=5, bias=True, inputs=(INPUT,)),
        Activation("leaky_relu", alpha=0.1, name="a_act"),
        MaxPool1D(2, name="a_pool"),
        # branch b: 32x4 -> 16x6
        AvgPool1D(2, name="b_avg", inputs=(INPUT,)),
        ZeroPadding(((1, 1),), name="b_pad"),
        _conv1d(rng, 4, 6, "b_conv", padding="valid", bias=True),
        ELU(alpha=0.8, name="b_elu"),
        Concatenate(name="cat", inputs=("a_pool", "b_elu")),
        # gated unit tanh(a) * sigmoid(b): 16x12 -> 16x8
        _conv1d(rng, 12, 8, "g_conv_a", bias=True, inputs=("cat",)),
        Activation("tanh", name="g_tanh"),
        _conv1d(rng, 12, 8, "g_conv_b", bias=True, inputs=("cat",)),
        Activation("sigmoid", name="g_sigmoid"),
        Multiply(name="g_mul", inputs=("g_tanh", "g_sigmoid")),
        # 16x8 -> 8x8 -> 16x8
        _conv1d(rng, 8, 8, "c3", bias=True),
        Activation("gelu", name="c3_act"),
        MaxPool1D(2, name="c3_pool"),
        UpSampling((2,), name="up"),
        _conv1d(rng, 8, 8, "c4", bias=True),
        Activation("selu", name="c4_act"),
        # hard-sigmoid gate
        _conv1d(rng, 8, 8, "h_conv", k=1, bias=True),
        Activation("hard_sigmoid", name="h_gate"),
        Multiply(name="h_mul", inputs=("c4_act", "h_gate")),
        Activation("softplus", name="out_act"),
        Flatten(name="flatten"),
        Dense(*_kernel(rng, (128, 3)), name="fc"),
    )
    return Model(layers=layers, input_shape=(32, 4), name="gated_ecg")


def bias_free(model: Model) -> Model:
    """``model`` without any bias: Dense/Conv bias None, BatchNorm beta and mean 0, Affine shift 0.

    Every other weight is unchanged; the given model is not modified. For LRP conservation tests
    (sum of relevance = z_t for ``lrp_z``).
    """
    layers = []
    for layer in model.layers:
        if isinstance(layer, (Dense, Conv1D, Conv2D)):
            layer = dataclasses.replace(layer, bias=None)
        elif isinstance(layer, BatchNorm):
            layer = dataclasses.replace(layer, beta=np.zeros_like(layer.beta), mean=np.zeros_like(layer.mean))
        elif isinstance(layer, Affine):
            layer = dataclasses.replace(layer, shift=np.zeros_like(np.asarray(layer.shift, dtype=np.float64)))
        layers.append(layer)
    return Model(layers=tuple(layers), input_shape=model.input_shape, name=f"{model.name}_bias_free")


MODELS = {"image_cnn": image_cnn, "timeseries_cnn": timeseries_cnn, "pooling_cnn": pooling_cnn}

#: DAG models of spec section 8: name -> builder(seed=0).
DAG_MODELS = {
    "residual_cnn": residual_cnn,
    "ecg_resnet": ecg_resnet,
    "mobile_cnn": mobile_cnn,
    "dense_cnn": dense_cnn,
    "gated_ecg": gated_ecg,
}

__all__ = [
    "DAG_MODELS",
    "MODELS",
    "bias_free",
    "dense_cnn",
    "ecg_resnet",
    "flat_inputs",
    "forward",
    "gated_ecg",
    "image_cnn",
    "mobile_cnn",
    "pooling_cnn",
    "residual_cnn",
    "sample_inputs",
    "timeseries_cnn",
    "unfoldable_bn_cnn",
]
