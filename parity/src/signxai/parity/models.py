"""The Keras models of the parity suite, built with seeded non-zero weights and biases.

Every builder takes ``dtype`` ("float32" or "float64") and ``seed``; the same seed gives the same weights in
both dtypes. Weights are He-normal (variance 2 / fan-in, so ReLU activations keep their scale from layer to
layer), biases are small and non-zero, and the first layer is divided by ``input_scale`` (the typical magnitude
of the model's input) so activations stay near 1 from the first layer to the logits. No model ends in a softmax.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: VGG16 convolution blocks: (block number, filters, convolutions in the block).
VGG16_BLOCKS = ((1, 64, 2), (2, 128, 2), (3, 256, 3), (4, 512, 3), (5, 512, 3))
#: Typical magnitude of a caffe-preprocessed image (pixel values minus the ImageNet mean, about +-128).
VGG16_INPUT_SCALE = 64.0
#: Standard deviation of the biases relative to the layer's output scale.
BIAS_STD = 0.05


def _keras():
    from tensorflow import keras

    return keras


def init_weights(model, seed: int = 0, input_scale: float = 1.0) -> None:
    """Set seeded He-normal weights and small non-zero biases on every Dense/Conv/BatchNorm layer, in place.

    Parameters
    ----------
    model : keras.Model
        A freshly built model (its weights are overwritten).
    seed : int
        Seed of ``numpy.random.default_rng``; weights are drawn in float64 and cast to the layer's dtype.
    input_scale : float
        Typical magnitude of the input; the first layer with weights is divided by it.
    """
    keras = _keras()
    rng = np.random.default_rng(seed)
    first = True
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            weights = layer.get_weights()
            kernel = weights[0]  # (kh, kw, channels, multiplier): each output sees kh * kw inputs
            fan_in = int(np.prod(kernel.shape[:2]))
            layer.set_weights(_kernel_and_bias(rng, weights, fan_in, input_scale if first else 1.0))
            first = False
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D)):
            weights = layer.get_weights()
            fan_in = int(np.prod(weights[0].shape[:-1]))
            layer.set_weights(_kernel_and_bias(rng, weights, fan_in, input_scale if first else 1.0))
            first = False
        elif isinstance(layer, keras.layers.BatchNormalization):
            shapes = [w.shape for w in layer.get_weights()]
            gamma = rng.uniform(0.5, 1.5, size=shapes[0])
            beta = rng.normal(0.0, 0.1, size=shapes[1])
            mean = rng.normal(0.0, 0.2, size=shapes[2])
            var = rng.uniform(0.5, 2.0, size=shapes[3])
            dtype = layer.get_weights()[0].dtype
            layer.set_weights([a.astype(dtype) for a in (gamma, beta, mean, var)])


def _kernel_and_bias(rng: np.random.Generator, weights: list, fan_in: int, scale: float) -> list:
    """He-normal kernel (divided by ``scale``) and, where the layer has one, a small non-zero bias."""
    kernel = weights[0]
    out = [(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=kernel.shape) / scale).astype(kernel.dtype)]
    if len(weights) > 1:
        out.append(rng.normal(0.0, BIAS_STD, size=weights[1].shape).astype(weights[1].dtype))
    return out


def vgg16(dtype: str = "float32", seed: int = 0):
    """VGG16 (ImageNet architecture, 224x224x3 -> 1000 logits) with ``keras.applications.VGG16``'s layer names.

    Parameters
    ----------
    dtype : {"float32", "float64"}
        Dtype of every layer.
    seed : int
        Weight seed.

    Returns
    -------
    keras.Model
        Sequential model named ``vgg16``; layers ``block1_conv1`` ... ``block5_conv3``, ``block{n}_pool``,
        ``flatten``, ``fc1``, ``fc2``, ``predictions`` (linear).
    """
    keras = _keras()
    L = keras.layers
    layers: list = [L.InputLayer(input_shape=(224, 224, 3), dtype=dtype, name="input_1")]
    for block, filters, convs in VGG16_BLOCKS:
        for i in range(1, convs + 1):
            layers.append(
                L.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{block}_conv{i}", dtype=dtype)
            )
        layers.append(L.MaxPooling2D(2, strides=2, name=f"block{block}_pool", dtype=dtype))
    layers += [
        L.Flatten(name="flatten", dtype=dtype),
        L.Dense(4096, activation="relu", name="fc1", dtype=dtype),
        L.Dense(4096, activation="relu", name="fc2", dtype=dtype),
        L.Dense(1000, name="predictions", dtype=dtype),
    ]
    model = keras.Sequential(layers, name="vgg16")
    init_weights(model, seed, input_scale=VGG16_INPUT_SCALE)
    return model


def ecg_cnn(dtype: str = "float32", seed: int = 0, length: int = 3000, leads: int = 12, classes: int = 5):
    """A 12-lead ECG classifier: Conv1D blocks with ReLU and max-pooling, Flatten, Dense layers, logits.

    Parameters
    ----------
    dtype : {"float32", "float64"}
        Dtype of every layer.
    seed : int
        Weight seed.
    length, leads : int
        Input shape (samples, leads); 3000 samples are 6 s at 500 Hz.
    classes : int
        Number of logits.

    Returns
    -------
    keras.Model
        Sequential model named ``ecg_cnn`` whose last convolution is ``conv1d_4``.
    """
    keras = _keras()
    L = keras.layers
    layers: list = [L.InputLayer(input_shape=(length, leads), dtype=dtype, name="ecg")]
    for i, (filters, kernel, padding) in enumerate(
        ((16, 7, "same"), (32, 5, "same"), (32, 5, "valid"), (64, 3, "same"))
    ):
        layers.append(
            L.Conv1D(filters, kernel, padding=padding, activation="relu", name=f"conv1d_{i + 1}", dtype=dtype)
        )
        layers.append(L.MaxPooling1D(4 if i < 3 else 2, name=f"max_pooling1d_{i + 1}", dtype=dtype))
    layers += [
        L.Flatten(name="flatten", dtype=dtype),
        L.Dense(64, activation="relu", name="dense_1", dtype=dtype),
        L.Dense(classes, name="logits", dtype=dtype),
    ]
    model = keras.Sequential(layers, name="ecg_cnn")
    init_weights(model, seed, input_scale=0.3)
    return model


def batchnorm_cnn(dtype: str = "float32", seed: int = 0, input_shape: Sequence[int] = (32, 32, 3), classes: int = 10):
    """Small image CNN with a BatchNormalization directly after each convolution (folded for LRP).

    The convolutions have no fused activation: Conv2D -> BatchNormalization -> ReLU.
    """
    keras = _keras()
    L = keras.layers
    model = keras.Sequential(
        [
            L.InputLayer(input_shape=tuple(input_shape), dtype=dtype, name="image"),
            L.Conv2D(8, 3, padding="same", name="conv2d", dtype=dtype),
            L.BatchNormalization(name="batch_normalization", dtype=dtype),
            L.ReLU(name="re_lu", dtype=dtype),
            L.MaxPooling2D(2, name="max_pooling2d", dtype=dtype),
            L.Conv2D(16, 3, strides=2, padding="valid", name="conv2d_1", dtype=dtype),
            L.BatchNormalization(name="batch_normalization_1", dtype=dtype),
            L.ReLU(name="re_lu_1", dtype=dtype),
            L.Flatten(name="flatten", dtype=dtype),
            L.Dense(32, activation="relu", name="dense", dtype=dtype),
            L.Dense(classes, name="logits", dtype=dtype),
        ],
        name="batchnorm_cnn",
    )
    init_weights(model, seed)
    return model


def pooling_cnn(dtype: str = "float32", seed: int = 0, input_shape: Sequence[int] = (32, 32, 3), classes: int = 10):
    """Small image CNN with AveragePooling2D and GlobalAveragePooling2D instead of max-pooling and Flatten."""
    keras = _keras()
    L = keras.layers
    model = keras.Sequential(
        [
            L.InputLayer(input_shape=tuple(input_shape), dtype=dtype, name="image"),
            L.Conv2D(8, 3, padding="same", activation="relu", name="conv2d", dtype=dtype),
            L.AveragePooling2D(2, name="average_pooling2d", dtype=dtype),
            L.Conv2D(16, 3, padding="same", activation="relu", name="conv2d_1", dtype=dtype),
            L.AveragePooling2D(2, name="average_pooling2d_1", dtype=dtype),
            L.Conv2D(32, 3, padding="valid", activation="relu", name="conv2d_2", dtype=dtype),
            L.GlobalAveragePooling2D(name="global_average_pooling2d", dtype=dtype),
            L.Dense(classes, name="logits", dtype=dtype),
        ],
        name="pooling_cnn",
    )
    init_weights(model, seed)
    return model


def reshape_cnn(dtype: str = "float32", seed: int = 0, length: int = 64, leads: int = 12, classes: int = 4):
    """Functional model with Permute and Reshape: a (T, leads) signal seen as a one-channel image.

    ``(T, leads)`` -> Permute((2, 1)) -> ``(leads, T)`` -> Reshape -> ``(leads, T, 1)`` -> Conv2D ->
    MaxPooling2D -> Reshape -> ``(positions, channels)`` -> Conv1D -> Flatten -> Dense logits.
    """
    keras = _keras()
    L = keras.layers
    inputs = keras.Input(shape=(length, leads), dtype=dtype, name="signal")
    h = L.Permute((2, 1), name="permute", dtype=dtype)(inputs)
    h = L.Reshape((leads, length, 1), name="reshape", dtype=dtype)(h)
    h = L.Conv2D(8, (3, 5), padding="same", activation="relu", name="conv2d", dtype=dtype)(h)
    h = L.MaxPooling2D((2, 4), name="max_pooling2d", dtype=dtype)(h)
    h = L.Reshape(((leads // 2) * (length // 4), 8), name="reshape_1", dtype=dtype)(h)
    h = L.Conv1D(16, 3, strides=2, padding="valid", activation="relu", name="conv1d", dtype=dtype)(h)
    h = L.Flatten(name="flatten", dtype=dtype)(h)
    outputs = L.Dense(classes, name="logits", dtype=dtype)(h)
    model = keras.Model(inputs, outputs, name="reshape_cnn")
    init_weights(model, seed)
    return model


def as_dtype(model, dtype: str):
    """A copy of a Keras model with every layer in ``dtype`` and the same weights (cast); the model is not changed.

    Parameters
    ----------
    model : keras.Model
        Sequential or functional model.
    dtype : {"float32", "float64"}
        Target dtype.

    Returns
    -------
    keras.Model
    """
    keras = _keras()

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = dtype
        return layer.__class__.from_config(config)

    if isinstance(model, keras.Sequential):
        config = model.get_config()
        for layer_config in config["layers"]:
            layer_config["config"]["dtype"] = dtype
        copy = keras.Sequential.from_config(config)
    else:
        input_tensors = [keras.Input(shape=t.shape[1:], dtype=dtype, name=t.name.split(":")[0]) for t in model.inputs]
        copy = keras.models.clone_model(model, input_tensors=input_tensors, clone_function=clone)
    copy.set_weights([np.asarray(w).astype(dtype) for w in model.get_weights()])
    for layer in copy.submodules:  # a Normalization's mean / variance tensors follow its weights, as after adapt
        if hasattr(layer, "finalize_state") and getattr(layer, "built", False):
            layer.finalize_state()
    return copy


# ----------------------------------------------------------------------------------------- residual architectures
# Small functional models with the parts of spec section 8 that keras.applications / torchvision models are made
# of; each is converted Keras -> ONNX -> PyTorch like the others.


def _residual_block(L, h, filters: int, stride: int, name: str, dtype: str, conv):
    """A ResNet basic block: conv (no bias) + BN + ReLU, conv (no bias) + BN, shortcut, Add, ReLU.

    The shortcut is the identity, or a strided 1x1 conv (no bias) + BN where the shape changes (downsampling in
    the shortcut, as in ResNet-style ECG models).
    """
    y = conv(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1", dtype=dtype)(h)
    y = L.BatchNormalization(name=f"{name}_bn1", dtype=dtype)(y)
    y = L.ReLU(name=f"{name}_relu1", dtype=dtype)(y)
    y = conv(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2", dtype=dtype)(y)
    y = L.BatchNormalization(name=f"{name}_bn2", dtype=dtype)(y)
    if stride != 1 or h.shape[-1] != filters:
        h = conv(filters, 1, strides=stride, use_bias=False, name=f"{name}_shortcut", dtype=dtype)(h)
        h = L.BatchNormalization(name=f"{name}_shortcut_bn", dtype=dtype)(h)
    h = L.Add(name=f"{name}_add", dtype=dtype)([y, h])
    return L.ReLU(name=f"{name}_out", dtype=dtype)(h)


def ecg_resnet(dtype: str = "float32", seed: int = 0, length: int = 1000, leads: int = 12, classes: int = 5):
    """A 1-D ResNet for 12-lead ECG diagnosis (4 s at 250 Hz by default).

    Conv1D (no bias) + BatchNorm + ReLU stem and max-pooling, a residual block with an identity shortcut and one
    with a strided 1x1 Conv1D + BatchNorm shortcut, global average pooling, Dense logits.
    """
    keras = _keras()
    L = keras.layers
    inputs = keras.Input(shape=(length, leads), dtype=dtype, name="ecg")
    h = L.Conv1D(16, 7, strides=2, padding="same", use_bias=False, name="stem_conv", dtype=dtype)(inputs)
    h = L.BatchNormalization(name="stem_bn", dtype=dtype)(h)
    h = L.ReLU(name="stem_relu", dtype=dtype)(h)
    h = L.MaxPooling1D(2, name="stem_pool", dtype=dtype)(h)
    h = _residual_block(L, h, 16, 1, "block1", dtype, L.Conv1D)
    h = _residual_block(L, h, 32, 2, "block2", dtype, L.Conv1D)
    h = L.GlobalAveragePooling1D(name="global_average_pooling1d", dtype=dtype)(h)
    outputs = L.Dense(classes, name="logits", dtype=dtype)(h)
    model = keras.Model(inputs, outputs, name="ecg_resnet")
    init_weights(model, seed, input_scale=0.3)
    return model


def resnet2d(dtype: str = "float32", seed: int = 0, input_shape: Sequence[int] = (32, 32, 3), classes: int = 10):
    """A small 2-D ResNet: stem, an identity block and a downsampling block (1x1 strided shortcut), GAP, Dense."""
    keras = _keras()
    L = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), dtype=dtype, name="image")
    h = L.Conv2D(16, 3, padding="same", use_bias=False, name="stem_conv", dtype=dtype)(inputs)
    h = L.BatchNormalization(name="stem_bn", dtype=dtype)(h)
    h = L.ReLU(name="stem_relu", dtype=dtype)(h)
    h = L.MaxPooling2D(2, name="stem_pool", dtype=dtype)(h)
    h = _residual_block(L, h, 16, 1, "block1", dtype, L.Conv2D)
    h = _residual_block(L, h, 32, 2, "block2", dtype, L.Conv2D)
    h = L.GlobalAveragePooling2D(name="global_average_pooling2d", dtype=dtype)(h)
    outputs = L.Dense(classes, name="logits", dtype=dtype)(h)
    model = keras.Model(inputs, outputs, name="resnet2d")
    init_weights(model, seed)
    return model


def mobilenet_block(dtype: str = "float32", seed: int = 0, input_shape: Sequence[int] = (32, 32, 3), classes: int = 10):
    """MobileNetV2-style inverted residuals: 1x1 expand + BN + ReLU6, depthwise 3x3 + BN + ReLU6, 1x1 project + BN,
    Add with the block input (stride 1), then a stride-2 block without residual; GAP, Dense."""
    keras = _keras()
    L = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), dtype=dtype, name="image")
    h = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem_conv", dtype=dtype)(inputs)
    h = L.BatchNormalization(name="stem_bn", dtype=dtype)(h)
    h = L.ReLU(6.0, name="stem_relu6", dtype=dtype)(h)
    for i, stride in enumerate((1, 2)):
        name = f"block{i + 1}"
        y = L.Conv2D(48, 1, use_bias=False, name=f"{name}_expand", dtype=dtype)(h)
        y = L.BatchNormalization(name=f"{name}_expand_bn", dtype=dtype)(y)
        y = L.ReLU(6.0, name=f"{name}_expand_relu6", dtype=dtype)(y)
        y = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise", dtype=dtype)(
            y
        )
        y = L.BatchNormalization(name=f"{name}_depthwise_bn", dtype=dtype)(y)
        y = L.ReLU(6.0, name=f"{name}_depthwise_relu6", dtype=dtype)(y)
        y = L.Conv2D(16, 1, use_bias=False, name=f"{name}_project", dtype=dtype)(y)
        y = L.BatchNormalization(name=f"{name}_project_bn", dtype=dtype)(y)
        h = L.Add(name=f"{name}_add", dtype=dtype)([h, y]) if stride == 1 else y
    h = L.Conv2D(32, 1, use_bias=False, name="head_conv", dtype=dtype)(h)
    h = L.BatchNormalization(name="head_bn", dtype=dtype)(h)
    h = L.ReLU(6.0, name="head_relu6", dtype=dtype)(h)
    h = L.GlobalAveragePooling2D(name="global_average_pooling2d", dtype=dtype)(h)
    outputs = L.Dense(classes, name="logits", dtype=dtype)(h)
    model = keras.Model(inputs, outputs, name="mobilenet_block")
    init_weights(model, seed)
    return model


def densenet_block(dtype: str = "float32", seed: int = 0, input_shape: Sequence[int] = (32, 32, 3), classes: int = 10):
    """DenseNet-style: stem conv, a dense block of two BN-ReLU-Conv layers whose outputs are concatenated to their
    input, a transition (BN-ReLU-1x1 conv, average pooling), a final BN-ReLU, GAP, Dense."""
    keras = _keras()
    L = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), dtype=dtype, name="image")
    h = L.Conv2D(16, 3, padding="same", use_bias=False, name="stem_conv", dtype=dtype)(inputs)
    for i in range(2):
        name = f"dense{i + 1}"
        y = L.BatchNormalization(name=f"{name}_bn", dtype=dtype)(h)
        y = L.ReLU(name=f"{name}_relu", dtype=dtype)(y)
        y = L.Conv2D(8, 3, padding="same", use_bias=False, name=f"{name}_conv", dtype=dtype)(y)
        h = L.Concatenate(name=f"{name}_concat", dtype=dtype)([h, y])
    h = L.BatchNormalization(name="transition_bn", dtype=dtype)(h)
    h = L.ReLU(name="transition_relu", dtype=dtype)(h)
    h = L.Conv2D(16, 1, use_bias=False, name="transition_conv", dtype=dtype)(h)
    h = L.AveragePooling2D(2, name="transition_pool", dtype=dtype)(h)
    h = L.BatchNormalization(name="final_bn", dtype=dtype)(h)
    h = L.ReLU(name="final_relu", dtype=dtype)(h)
    h = L.GlobalAveragePooling2D(name="global_average_pooling2d", dtype=dtype)(h)
    outputs = L.Dense(classes, name="logits", dtype=dtype)(h)
    model = keras.Model(inputs, outputs, name="densenet_block")
    init_weights(model, seed)
    return model


def efficientnet_block(
    dtype: str = "float32", seed: int = 0, input_shape: Sequence[int] = (32, 32, 3), classes: int = 10
):
    """EfficientNet-style MBConv: stem conv + BN + swish, depthwise 3x3 + BN + swish, squeeze-excitation gate
    (GAP -> 1x1 conv + swish -> 1x1 conv + sigmoid -> Multiply with the feature map), 1x1 project + BN, Add."""
    keras = _keras()
    L = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), dtype=dtype, name="image")
    h = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem_conv", dtype=dtype)(inputs)
    h = L.BatchNormalization(name="stem_bn", dtype=dtype)(h)
    h = L.Activation("swish", name="stem_swish", dtype=dtype)(h)
    y = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="block_depthwise", dtype=dtype)(h)
    y = L.BatchNormalization(name="block_bn", dtype=dtype)(y)
    y = L.Activation("swish", name="block_swish", dtype=dtype)(y)
    s = L.GlobalAveragePooling2D(name="se_squeeze", dtype=dtype)(y)
    s = L.Reshape((1, 1, 16), name="se_reshape", dtype=dtype)(s)
    s = L.Conv2D(4, 1, activation="swish", name="se_reduce", dtype=dtype)(s)
    s = L.Conv2D(16, 1, activation="sigmoid", name="se_expand", dtype=dtype)(s)
    y = L.Multiply(name="se_excite", dtype=dtype)([y, s])
    y = L.Conv2D(16, 1, use_bias=False, name="block_project", dtype=dtype)(y)
    y = L.BatchNormalization(name="block_project_bn", dtype=dtype)(y)
    h = L.Add(name="block_add", dtype=dtype)([y, h])
    h = L.Conv2D(32, 1, use_bias=False, name="head_conv", dtype=dtype)(h)
    h = L.BatchNormalization(name="head_bn", dtype=dtype)(h)
    h = L.Activation("swish", name="head_swish", dtype=dtype)(h)
    h = L.GlobalAveragePooling2D(name="global_average_pooling2d", dtype=dtype)(h)
    outputs = L.Dense(classes, name="logits", dtype=dtype)(h)
    model = keras.Model(inputs, outputs, name="efficientnet_block")
    init_weights(model, seed)
    return model
