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
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D)):
            kernel, bias = layer.get_weights()
            fan_in = int(np.prod(kernel.shape[:-1]))
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=kernel.shape)
            if first:
                w /= input_scale
                first = False
            b = rng.normal(0.0, BIAS_STD, size=bias.shape)
            layer.set_weights([w.astype(kernel.dtype), b.astype(bias.dtype)])
        elif isinstance(layer, keras.layers.BatchNormalization):
            shapes = [w.shape for w in layer.get_weights()]
            gamma = rng.uniform(0.5, 1.5, size=shapes[0])
            beta = rng.normal(0.0, 0.1, size=shapes[1])
            mean = rng.normal(0.0, 0.2, size=shapes[2])
            var = rng.uniform(0.5, 2.0, size=shapes[3])
            dtype = layer.get_weights()[0].dtype
            layer.set_weights([a.astype(dtype) for a in (gamma, beta, mean, var)])


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
    return copy
