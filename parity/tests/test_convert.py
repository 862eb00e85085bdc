"""Keras -> ONNX -> PyTorch: inventory of the converted layers, forward parity, the cache, the worker's graph edit."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from signxai.common.sampling import to_channels_first
from signxai.parity import convert, models
from signxai.parity._onnx_worker import strip_identities


def _keras_inventory(model) -> tuple[int, int, int]:
    from tensorflow import keras

    convs = sum(isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D)) for layer in model.layers)
    dense = sum(isinstance(layer, keras.layers.Dense) for layer in model.layers)
    norms = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    return convs, dense, norms


@pytest.mark.parametrize("name", ["batchnorm_cnn", "pooling_cnn", "reshape_cnn", "ecg_cnn"])
def test_inventory(converted, name):
    """Every Keras Conv/Dense/BatchNormalization becomes exactly one torch Conv/Linear/BatchNorm (tf2onnx's float32
    fold of BatchNorm into the convolution is switched off); weights are float32."""
    model, torch_model, _, _ = converted[name]
    convs, dense, norms = _keras_inventory(model)
    modules = list(torch_model.modules())
    assert sum(isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d)) for m in modules) == convs
    assert sum(isinstance(m, torch.nn.Linear) for m in modules) == dense
    assert sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in modules) == norms
    assert all(p.dtype == torch.float32 for p in torch_model.parameters())
    assert not torch_model.training


@pytest.mark.parametrize("name", ["batchnorm_cnn", "pooling_cnn", "reshape_cnn", "ecg_cnn"])
def test_forward_parity(converted, name):
    """Logits agree: float32 to 1e-5 of their scale, float64 (Keras rebuilt, torch .double()) to 1e-9.

    Without BatchNorm the float64 logits agree to ~1e-15; with it ~1e-11 remains because ONNX stores the
    BatchNormalization epsilon as a float32 attribute (1e-3 becomes 1.0000000475e-3)."""
    model, torch_model, _, x = converted[name]
    xf = torch.from_numpy(np.ascontiguousarray(to_channels_first(x)))
    with torch.no_grad():
        z_torch = torch_model(xf).numpy()
        z64_torch = copy.deepcopy(torch_model).double()(xf.double()).numpy()
    z_tf = np.asarray(model(x))
    z64_tf = np.asarray(models.as_dtype(model, "float64")(x.astype(np.float64)))
    assert z_tf.shape == z_torch.shape == (x.shape[0], model.output_shape[-1])
    scale = np.abs(z_tf).max()
    assert np.abs(z_tf - z_torch).max() <= 1e-5 * scale
    tol = 1e-9 if name == "batchnorm_cnn" else 1e-13
    assert np.abs(z64_tf - z64_torch).max() <= tol * scale
    assert z64_tf.dtype == np.float64


def test_cache_hit_and_key(converted):
    """A second conversion of the same model is a cache hit; changing one weight changes the key."""
    model, _, first, _ = converted["pooling_cnn"]
    again = convert.keras_to_onnx(model)
    assert again.cached and again.key == first.key and again.onnx_path == first.onnx_path
    assert first.onnx_path.parent.parent == convert.cache_root()
    other = models.pooling_cnn()
    weights = other.get_weights()
    weights[0] = weights[0] + np.float32(1e-3)
    other.set_weights(weights)
    assert convert.fingerprint(other) != first.key
    assert convert.fingerprint(models.pooling_cnn()) == first.key


def test_conversion_memory_reported(converted):
    """The worker reports its own peak memory and time (small models: well under 2 GB)."""
    for _, _, conversion, _ in converted.values():
        assert 50 < conversion.peak_rss_mb < 2048
        assert conversion.seconds > 0


def test_as_dtype_keeps_weights_and_model():
    model = models.reshape_cnn()
    before = [w.copy() for w in model.get_weights()]
    m64 = models.as_dtype(model, "float64")
    assert all(w.dtype == np.float64 for w in m64.get_weights())
    assert all(np.array_equal(a.astype(np.float64), b) for a, b in zip(before, m64.get_weights()))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.dtype == "float32"


def _conv1d_batchnorm_model():
    """Conv1D (no bias) -> BatchNormalization -> ReLU -> GAP -> Dense with seeded non-trivial BN statistics."""
    from tensorflow import keras

    x = keras.Input((40, 3))
    h = keras.layers.Conv1D(4, 5, use_bias=False, name="conv")(x)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(x, keras.layers.Dense(3, name="dense")(h), name="conv1d_bn")
    models.init_weights(model, seed=11)
    return model


def test_float64_twin_of_a_conv1d_batchnorm_model_is_converted_in_float64():
    """tf2onnx writes a BatchNorm after a Conv1D as Mul + Add of constants it computes in the graph's dtype; the
    float64 tier's twin is therefore converted from the float64 rebuild (forward ~1e-15, not ~1e-7)."""
    model = _conv1d_batchnorm_model()
    assert convert.conversion_dtype(model, "float64") == "float64"
    assert convert.conversion_dtype(model, "float32") == "float32"
    assert convert.conversion_dtype(models.pooling_cnn(), "float64") == "float32"  # every ONNX constant a weight
    x = np.random.default_rng(12).uniform(-1, 1, size=(2, 40, 3))
    twin64, _ = convert.twin(model, "float64")
    assert all(p.dtype == torch.float64 for p in twin64.parameters())
    with torch.no_grad():
        z_torch = twin64(torch.from_numpy(np.ascontiguousarray(to_channels_first(x)))).numpy()
    z_tf = np.asarray(models.as_dtype(model, "float64")(x))
    assert np.abs(z_tf - z_torch).max() <= 1e-12 * np.abs(z_tf).max()
    twin32, _ = convert.twin(model, "float32")
    assert all(p.dtype == torch.float32 for p in twin32.parameters())


def test_model_with_rescaling_and_normalization_converts_in_both_tiers():
    """EfficientNet's input block: Rescaling, then a Normalization whose mean / variance Keras computes at build time
    (tensors the traced function captures; the worker used to take them for extra model inputs)."""
    from tensorflow import keras

    x_in = keras.Input((8, 8, 3))
    h = keras.layers.Rescaling(1.0 / 255.0)(x_in)
    norm = keras.layers.Normalization(axis=-1)
    h = norm(h)
    h = keras.layers.Conv2D(4, 3, name="conv")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(x_in, keras.layers.Dense(3, name="dense")(h), name="normalized")
    models.init_weights(model, seed=13)
    norm.set_weights([np.array([0.4, 0.5, 0.6]), np.array([0.05, 0.08, 0.1]), np.array(10)])
    norm.finalize_state()  # as adapt() ends: the layer's mean / variance tensors follow its weights
    x = np.random.default_rng(14).uniform(0, 255, size=(2, 8, 8, 3))
    for tier, tol in (("float64", 1e-12), ("float32", 1e-5)):
        twin, _ = convert.twin(model, tier)
        with torch.no_grad():
            z_torch = twin(torch.from_numpy(np.ascontiguousarray(to_channels_first(x)).astype(tier))).numpy()
        z_tf = np.asarray(models.as_dtype(model, tier)(x.astype(tier)))
        assert np.abs(z_tf - z_torch).max() <= tol * np.abs(z_tf).max(), tier


def test_strip_identities_rewires_consumers():
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    for name, op, inputs in (
        ("x", "Placeholder", []),
        ("w", "Const", []),
        ("w/read", "Identity", ["w"]),
        ("w/read2", "Identity", ["w/read:0"]),
        ("mm", "MatMul", ["x", "w/read2:0", "^w/read"]),
        ("out", "Identity", ["mm"]),
    ):
        node = graph.node.add()
        node.name, node.op = name, op
        node.input.extend(inputs)
    strip_identities(graph, keep={"out", "x"})
    nodes = {n.name: list(n.input) for n in graph.node}
    assert set(nodes) == {"x", "w", "mm", "out"}
    assert nodes["mm"] == ["x", "w", "^w"]
    assert nodes["out"] == ["mm"]


def test_torch_layer_name(converted):
    from signxai.parity.check import torch_layer_name

    _, torch_model, _, _ = converted["batchnorm_cnn"]
    name = torch_layer_name(torch_model, "conv2d_1")
    assert isinstance(dict(torch_model.named_modules())[name], torch.nn.Conv2d)
    with pytest.raises(ValueError, match="block5_conv3"):
        torch_layer_name(torch_model, "block5_conv3")
