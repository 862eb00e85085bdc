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
