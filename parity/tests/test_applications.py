"""keras.applications models of `python -m signxai.parity.applications` (run by nox -s parity-applications)."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.parity import applications


def test_build_gives_seeded_logits_model():
    a = applications.build("MobileNetV2")
    b = applications.build("MobileNetV2")
    assert a.output_shape == (None, applications.CLASSES)
    assert a.layers[-1].get_config()["activation"] == "linear"  # logits: check() needs them
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    bn = next(layer for layer in a.layers if type(layer).__name__ == "BatchNormalization")
    mean, var = bn.get_weights()[2:]
    assert np.abs(mean).max() > 0 and not np.allclose(var, 1.0)  # BatchNorm statistics are not the identity


def test_inputs_in_the_range_each_model_expects():
    x = applications.inputs("ResNet50")
    assert x.shape == (2, 32, 32, 3) and x.min() == -1.0 and x.max() == 1.0  # saturated regions
    e = applications.inputs("EfficientNetB0")
    assert e.min() == 0.0 and e.max() == 255.0  # EfficientNet rescales inside the model


def test_unknown_application_and_arguments():
    with pytest.raises(ValueError, match="VGG19"):
        applications.build("VGG19")
    with pytest.raises(SystemExit):
        applications.main(["--models", "VGG19"])
