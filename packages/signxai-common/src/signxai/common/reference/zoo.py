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
  the ReLU), where LRP cannot fold it; not in :data:`MODELS` (gradient methods differentiate through it, LRP
  refuses it).
"""

from __future__ import annotations

import numpy as np

from .forward import forward
from .layers import (
    ELU,
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


MODELS = {"image_cnn": image_cnn, "timeseries_cnn": timeseries_cnn, "pooling_cnn": pooling_cnn}

__all__ = ["MODELS", "forward", "image_cnn", "pooling_cnn", "sample_inputs", "timeseries_cnn", "unfoldable_bn_cnn"]
