"""Real architectures (spec section 8): keras.applications ResNet50, MobileNetV2, DenseNet121, EfficientNetB0 and a
1-D ECG ResNet, as they come (random weights, 32x32 inputs, three classes).

- Conservation: on bias-free float64 copies (every bias, BatchNormalization beta and moving mean zero),
  sum R = z_t within 1e-6 (relative) for ``lrp_z``.
- One method per family runs on each (finite maps of the input's shape; ResNet50 and DenseNet121 only the eager
  families besides lrp_z, for time), guided backprop differs from
  z_t * gradient where the activations are not ReLU (ReLU6, swish), and the caller's model is unchanged.
- Any differentiable model (an LSTM) gets gradient methods; LRP names every unsupported part at once.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from signxai.tf import Explainer, explain

L = tf.keras.layers
APPS = {
    "resnet50": tf.keras.applications.ResNet50,
    "mobilenetv2": tf.keras.applications.MobileNetV2,
    "densenet121": tf.keras.applications.DenseNet121,
    "efficientnetb0": tf.keras.applications.EfficientNetB0,
}
#: One method per family (gradient, reverse propagation, CAM, LRP with an input rule); the two largest models
#: (one analyzer build ~20 s each on 2 cores) run the eager families only, next to lrp_z.
FAMILY_METHODS = ["gradient_x_input", "guided_backprop", "grad_cam", "lrpsign_epsilon_0_1"]
EAGER_ONLY = ("resnet50", "densenet121")
CONSERVATION = 1e-6


@pytest.fixture
def float64():
    previous = tf.keras.backend.floatx()
    tf.keras.backend.set_floatx("float64")
    try:
        yield
    finally:
        tf.keras.backend.set_floatx(previous)


def bias_free(model: tf.keras.Model, seed: int = 0) -> tf.keras.Model:
    """Zero every bias, BatchNormalization beta and moving mean; random gamma and variance (in place, test-owned)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.gamma.shape[0]
            gamma, var = rng.uniform(0.5, 1.5, c), rng.uniform(0.5, 2.0, c)
            layer.set_weights([gamma, np.zeros(c), np.zeros(c), var])
        elif getattr(layer, "use_bias", False):
            layer.bias.assign(np.zeros(layer.bias.shape))
    return model


def ecg_resnet(dtype: str = "float64") -> tf.keras.Model:
    """A 1-D ECG ResNet: Conv1D (no bias) + BN + ReLU, an identity block and a 1x1 stride-2 shortcut block."""
    inp = tf.keras.Input((128, 12), dtype=dtype)
    h = L.ZeroPadding1D(3)(inp)
    h = L.Conv1D(16, 7, strides=2, use_bias=False)(h)
    h = L.ReLU()(L.BatchNormalization()(h))
    h = L.MaxPooling1D(2)(h)
    y = L.ReLU()(L.BatchNormalization()(L.Conv1D(16, 3, padding="same", use_bias=False)(h)))
    y = L.BatchNormalization()(L.Conv1D(16, 3, padding="same", use_bias=False)(y))
    h = L.ReLU()(L.Add()([y, h]))
    y = L.ReLU()(L.BatchNormalization()(L.Conv1D(32, 3, strides=2, padding="same", use_bias=False)(h)))
    y = L.BatchNormalization()(L.Conv1D(32, 3, padding="same", use_bias=False)(y))
    s = L.BatchNormalization()(L.Conv1D(32, 1, strides=2, use_bias=False)(h))
    h = L.ReLU()(L.Add()([y, s]))
    h = L.GlobalAveragePooling1D()(h)
    return tf.keras.Model(inp, L.Dense(4)(h), name="ecg_resnet")


def build(name: str) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)
    if name == "ecg_resnet":
        return ecg_resnet()
    return APPS[name](weights=None, input_shape=(32, 32, 3), classes=3, classifier_activation=None)


def sample(model: tf.keras.Model, seed: int = 1) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(1, *model.inputs[0].shape[1:]))
    x.reshape(-1)[::17] = 0.0
    return x


@pytest.mark.parametrize("name", [*APPS, "ecg_resnet"])
def test_conservation_and_every_family(float64, name: str) -> None:
    model = bias_free(build(name))
    x = sample(model)
    weights = [w.numpy().copy() for w in model.weights]
    nodes = [len(layer._inbound_nodes) for layer in model.layers]
    logits = model(x).numpy()
    target = int(np.argmax(logits[0]))
    z_t = logits[0, target]
    relevance = explain(model, x, "lrp_z", target=target)
    error = abs(relevance.sum() - z_t) / abs(z_t)
    assert error <= CONSERVATION, f"{name}: sum R = {relevance.sum():.12g}, z_t = {z_t:.12g} (rel. error {error:.2e})"
    maps = {}
    for method in FAMILY_METHODS:
        if name in EAGER_ONLY and method in ("guided_backprop", "lrpsign_epsilon_0_1"):
            continue
        kind = "timeseries" if name == "ecg_resnet" and method == "grad_cam" else None
        r = explain(model, x, method + ("_timeseries" if kind else ""), target=target)
        assert r.shape == x.shape and np.all(np.isfinite(r)), method
        if "grad_cam" in method:  # ReLU(sum_c w_c A_c) may be 0 everywhere for random weights
            assert r.min() >= 0 and r.max() <= 1, method
        else:
            assert np.abs(r).max() > 0, method
        maps[method] = r
    if name in ("mobilenetv2", "efficientnetb0"):
        gradient = explain(model, x, "gradient", target=target) * z_t
        guided = maps["guided_backprop"]
        assert np.abs(guided - gradient).max() > 1e-3 * np.abs(guided).max()
    # the caller's model is unchanged: weights, and no new calls recorded on its layers
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(weights, model.weights))
    assert [len(layer._inbound_nodes) for layer in model.layers] == nodes
    np.testing.assert_array_equal(model(x).numpy(), logits)


def test_grad_cam_default_layers() -> None:
    """A is the last feature map before the head: conv5_block3_out (ResNet50), the ReLU after bn (DenseNet121)."""
    from signxai.tf.cam import resolve_a_layer
    from signxai.tf.canonical import inspect_model

    for name, expected in (("resnet50", "conv5_block3_out"), ("densenet121", "relu")):
        model = build(name)
        assert resolve_a_layer(model, inspect_model(model, False), None, "image") == expected
    model = ecg_resnet()
    a = resolve_a_layer(model, inspect_model(model, False), None, "timeseries")
    assert isinstance(model.get_layer(a), L.ReLU)
    with pytest.raises(ValueError, match="layer="):
        resolve_a_layer(model, inspect_model(model, False), None, "image")


def lstm_model() -> tf.keras.Model:
    inp = tf.keras.Input((20, 3))
    h = L.Conv1D(4, 3, activation="relu")(inp)
    h = L.MaxPooling1D(2)(h)
    h = L.LSTM(5)(h)
    return tf.keras.Model(inp, L.Dense(2)(h))


@pytest.mark.parametrize("method", ["gradient", "smoothgrad_noise_0_2_samples_4", "integrated_gradients_steps_8"])
def test_lstm_gradient_methods(method: str) -> None:
    model = lstm_model()
    x = np.random.default_rng(0).normal(size=(2, 20, 3)).astype(np.float32)
    r = explain(model, x, method)
    assert r.shape == x.shape and np.all(np.isfinite(r)) and np.abs(r).max() > 0


def test_integrated_gradients_sum_to_the_logit_difference_on_an_lstm() -> None:
    """An independent check of the gradient path on a recurrent model: completeness of integrated gradients."""
    tf.keras.utils.set_random_seed(3)
    inp = tf.keras.Input((12, 2), dtype="float64")
    out = L.Dense(2, dtype="float64")(L.LSTM(4, dtype="float64")(inp))
    model = tf.keras.Model(inp, out)
    x = np.random.default_rng(0).normal(size=(1, 12, 2))
    r = explain(model, x, "integrated_gradients_steps_400", target=0)
    diff = model(x).numpy()[0, 0] - model(np.zeros_like(x)).numpy()[0, 0]
    assert abs(r.sum() - diff) <= 1e-2 * abs(diff)


def test_lrp_names_every_unsupported_part_at_once() -> None:
    inp = tf.keras.Input((20, 3))
    h = L.Conv1D(4, 3)(inp)
    a = L.LSTM(5, return_sequences=True, name="lstm_a")(h)
    b = L.LSTM(5, return_sequences=True, name="lstm_b")(h)
    p = L.Multiply(name="product")([a, b])
    out = L.Dense(2)(L.Flatten()(L.Subtract(name="difference")([p, a])))
    model = tf.keras.Model(inp, out)
    with pytest.raises(ValueError) as info:
        Explainer(model, "lrp_epsilon_0_1")
    message = str(info.value)
    for part in ("LSTM: 'lstm_a', 'lstm_b'", "Subtract: 'difference'", "Multiply that is not a gate", "'product'"):
        assert part in message, message
    assert "Gradient methods" in message and len(message) < 900
    with pytest.raises(ValueError, match="LSTM"):
        Explainer(model, "guided_backprop")
    assert explain(model, np.ones((1, 20, 3), np.float32), "gradient").shape == (1, 20, 3)


@pytest.mark.parametrize("method", ["lrp_epsilon_0_1", "lrp_alpha_2_beta_1", "lrpsign_epsilon_0_1", "lrp_z"])
def test_rescaling_then_normalization_is_one_affine_layer_as_keras_computes_it(float64, method: str) -> None:
    """EfficientNet's preprocessing, ``Rescaling(1/255) -> Normalization``, is one affine layer (docs/decisions.md),
    with the scale Keras computes with: a Python-float scale goes through float32 (1/255 -> 0.0039215688593685627)
    even in a float64 model, so the reference's affine map takes that value (exact 1/255 is 1e-8 off)."""
    from signxai.common.reference import explain as ref_explain
    from signxai.common.reference import layers as R

    rng = np.random.default_rng(5)
    mean, var = rng.uniform(0.2, 0.6, 3), rng.uniform(0.05, 0.2, 3)
    w = rng.normal(0, 0.5, (12, 3))
    inp = tf.keras.Input((2, 2, 3), dtype="float64")
    h = L.Rescaling(1.0 / 255.0)(inp)
    h = L.Normalization(mean=mean, variance=var)(h)
    out = L.Dense(3, use_bias=False)(L.Flatten()(h))
    model = tf.keras.Model(inp, out)
    model.layers[-1].set_weights([w])
    scale = float(np.float32(1.0 / 255.0)) / np.sqrt(var)
    reference = R.Model(
        (R.Affine(scale, -mean / np.sqrt(var)), R.Flatten(), R.Dense(w, None, name="dense")), input_shape=(2, 2, 3)
    )
    x = rng.uniform(0, 255, (2, 2, 2, 3))
    expected = ref_explain(reference, x, method, target=1)
    got = explain(model, x, method, target=1)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
