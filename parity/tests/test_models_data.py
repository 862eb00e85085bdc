"""Suite models and inputs: VGG16's activation scale on the real photograph, offline data, preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.parity import data, models


def test_vgg16_activations_neither_vanish_nor_explode():
    from tensorflow import keras

    model = models.vgg16()
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 1000)
    assert model.get_layer("block5_conv3") is not None
    assert model.layers[-1].get_config()["activation"] == "linear"
    x = data.vgg16_image()
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    stds = [float(np.std(a)) for a in probe(x)]
    assert len(stds) == 22  # 13 conv, 5 pool, flatten, 3 dense
    assert all(1e-1 <= s <= 1e1 for s in stds), stds
    for layer in model.layers:
        for w in layer.get_weights():
            assert np.all(w != 0) or w.size == 0 or np.count_nonzero(w) > 0.99 * w.size


def test_image_is_shipped_and_preprocessed():
    x = data.vgg16_image()
    assert x.shape == (1, 224, 224, 3) and x.dtype == np.float32
    assert -124 <= x.min() and x.max() <= 152
    red = np.zeros((1, 1, 3))
    red[..., 0] = 255.0
    assert np.allclose(data.caffe_preprocess(red)[0, 0], [-103.939, -116.779, 255.0 - 123.68])
    with pytest.raises(ValueError, match="3 channels"):
        data.caffe_preprocess(np.zeros((2, 2, 4)))


def test_ecg_is_deterministic_12_leads():
    a = data.ecg_12lead(seconds=2, seed=1)
    b = data.ecg_12lead(seconds=2, seed=1)
    assert a.shape == (1, 1000, 12) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.all(a.std(axis=1) > 0.01)


def test_models_are_seeded():
    a, b, c = models.ecg_cnn(length=500), models.ecg_cnn(length=500), models.ecg_cnn(length=500, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    biases = [w for layer in a.layers for w in layer.get_weights()[1:2]]
    assert biases and all(np.count_nonzero(bias) == bias.size for bias in biases)


def test_ecg_recording_is_quantised_flat_and_zero_padded():
    x = data.ecg_recording(length=1500, recorded=1000, flat=(200, 300), seed=1).astype(np.float64)
    assert x.shape == (1, 1500, 12) and x.dtype == np.float64
    counts = x / data.ECG_QUANTUM_MV
    assert np.allclose(counts, np.round(counts), atol=1e-3)  # whole recorder counts (up to float32 rounding)
    assert np.all(x[0, 200:300] == 0.0) and np.all(x[0, 1000:] == 0.0)
    assert np.all(np.abs(x[0, :200]).max(axis=0) > 0.01)  # the recorded part is a real signal on every lead
    const = data.ecg_recording(length=1500, recorded=1000, flat=(200, 300), constant=0.2346, seed=1)
    assert np.all(const[0, 200:300] == np.float32(0.235))  # the constant is quantised too
    assert np.array_equal(const[0, :200], x[0, :200].astype(np.float32))


def test_ecg_recording_rejects_bad_geometry():
    with pytest.raises(ValueError, match="whole number of seconds"):
        data.ecg_recording(length=1000, recorded=1200)
    with pytest.raises(ValueError, match="inside the 1000 recorded samples"):
        data.ecg_recording(length=1500, recorded=1000, flat=(900, 1100))
    with pytest.raises(ValueError, match="quantum must be positive"):
        data.quantise(np.zeros(3), 0.0)


def test_saturated_image_has_clipped_regions():
    x = data.vgg16_saturated_image().astype(np.float64)
    rgb = x[0, ..., ::-1] + data.CAFFE_MEAN_BGR[::-1]
    assert x.shape == (1, 224, 224, 3)
    for channel in range(3):
        values = np.round(rgb[..., channel], 3)
        assert np.count_nonzero(values == 255.0) > 100 or np.count_nonzero(values == 0.0) > 100


ARCHITECTURE_PARTS = {
    # model: Keras layer classes (or ReLU max_value / activation names) it must contain
    "ecg_resnet": {"Conv1D", "BatchNormalization", "Add", "MaxPooling1D", "GlobalAveragePooling1D"},
    "resnet2d": {"Conv2D", "BatchNormalization", "Add", "MaxPooling2D"},
    "mobilenet_block": {"DepthwiseConv2D", "Add", "relu6"},
    "densenet_block": {"Concatenate", "AveragePooling2D", "BatchNormalization"},
    "efficientnet_block": {"DepthwiseConv2D", "Multiply", "Add", "swish", "sigmoid"},
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_PARTS))
def test_architecture_models_hold_their_parts_and_scale(name: str) -> None:
    from signxai.parity.suite import ARCHITECTURES

    build, inputs = {n: (b, i) for n, b, i in ARCHITECTURES}[name]
    model = build()
    parts = set()
    for layer in model.layers:
        parts.add(type(layer).__name__)
        config = layer.get_config()
        if config.get("max_value") == 6.0:
            parts.add("relu6")
        if isinstance(config.get("activation"), str):
            parts.add(config["activation"])
    assert ARCHITECTURE_PARTS[name] <= parts, ARCHITECTURE_PARTS[name] - parts
    no_bias = [layer.name for layer in model.layers if getattr(layer, "use_bias", True) is False]
    assert no_bias, "the architecture models have convolutions without bias (BatchNorm follows)"
    for layer in model.layers:  # every kernel and every bias is seeded, non-zero
        for w in layer.get_weights():
            assert np.count_nonzero(w) == w.size, layer.name
    x = inputs(model)
    logits = model(x).numpy()
    assert np.all(np.isfinite(logits)) and 1e-2 <= np.abs(logits).max() <= 1e3, np.abs(logits).max()
    again = build(dtype="float64")
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a.astype(np.float64), b.astype(np.float32).astype(np.float64))


def test_architecture_inputs_hold_ties() -> None:
    photos = data.saturated_photos(size=32)
    assert photos.shape == (2, 32, 32, 3) and photos.min() == -1.0 and photos.max() == 1.0
    assert (photos == -1.0).mean() > 0.05 and (photos == 1.0).mean() > 0.01  # clipped regions
    from signxai.parity.suite import _ecg_250hz

    ecg = _ecg_250hz(models.ecg_resnet())
    assert ecg.shape == (1, 1000, 12)
    assert np.all(ecg[0, 300:400] == 0) and np.all(ecg[0, 750:] == 0)
