"""Public API: shapes, dtypes, targets, bad inputs, unsupported models, softmax stripping, no torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import L, small_cnn, small_input

from signxai.tf import Explainer, explain


@pytest.mark.parametrize("method", ["gradient", "lrp_epsilon_0_1", "guided_backprop", "grad_cam", "random_uniform"])
def test_shape_and_dtype(cnn: tf.keras.Model, x: np.ndarray, method: str) -> None:
    r = explain(cnn, x, method)
    assert r.shape == x.shape and r.dtype == np.float64
    r32 = explain(cnn, tf.constant(x.astype(np.float32)), method)
    assert r32.shape == x.shape and r32.dtype == np.float32
    np.testing.assert_allclose(r32, r, rtol=1e-3, atol=1e-4 * np.abs(r).max())


def test_input_is_not_modified(cnn: tf.keras.Model, x: np.ndarray) -> None:
    before = x.copy()
    explain(cnn, x, "smoothgrad_x_sign")
    np.testing.assert_array_equal(x, before)


def test_targets(cnn: tf.keras.Model, x: np.ndarray) -> None:
    logits = cnn(x).numpy()
    default = explain(cnn, x, "lrp_z")
    explicit = explain(cnn, x, "lrp_z", target=list(np.argmax(logits, axis=1)))
    np.testing.assert_array_equal(default, explicit)
    one = explain(cnn, x, "gradient", target=2)
    both = explain(cnn, x, "gradient", target=[2, 2])
    np.testing.assert_array_equal(one, both)


@pytest.mark.parametrize(
    ("method", "target", "plain_forwards"),
    [
        ("gradient", None, 0),  # the gradient's tf.function reads the argmax from its own logits
        ("gradient_x_sign", 1, 0),  # named targets need only the class count
        ("lrp_epsilon_0_1", [0, 3], 0),
        ("smoothgrad", 2, 0),
        ("lrp_epsilon_0_1", None, 1),  # every other method takes the argmax from one plain forward
        ("integrated_gradients", None, 1),
    ],
)
def test_separate_forward_only_where_the_argmax_is_needed(
    cnn: tf.keras.Model, x: np.ndarray, method: str, target, plain_forwards: int
) -> None:
    """Issue 12: no separate forward pass just to find the target; the maps equal those with explicit targets."""
    explainer = Explainer(cnn, method)
    calls = []
    plain = explainer._logits
    explainer._logits = lambda t: calls.append(1) or plain(t)
    r = explainer(x, target)
    assert len(calls) == plain_forwards
    argmax = np.argmax(cnn(x).numpy(), axis=1)
    explicit = argmax if target is None else np.broadcast_to(np.asarray(target), (x.shape[0],))
    np.testing.assert_array_equal(r, Explainer(cnn, method)(x, [int(t) for t in explicit]))


def test_batch_never_changes_a_map(cnn: tf.keras.Model, x: np.ndarray) -> None:
    for method in ["lrp_epsilon_0_5_std_x", "smoothgrad", "integrated_gradients", "grad_cam"]:
        together = explain(cnn, x, method, target=1)
        alone = explain(cnn, x[1:], method, target=1)
        np.testing.assert_allclose(together[1:], alone, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.full((1, 6, 6, 2), np.nan), "NaN"),
        (np.zeros((6, 6, 2)), "shape"),
        (np.zeros((1, 5, 6, 2)), "shape"),
        (np.zeros((0, 6, 6, 2)), "empty"),
    ],
)
def test_bad_inputs(cnn: tf.keras.Model, bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        explain(cnn, bad, "lrp_z")


def test_bad_targets(cnn: tf.keras.Model, x: np.ndarray) -> None:
    with pytest.raises(ValueError, match="out of range"):
        explain(cnn, x, "gradient", target=4)
    with pytest.raises(ValueError, match="out of range"):
        explain(cnn, x, "lrp_z", target=[0, -1])
    with pytest.raises(ValueError, match="entries"):
        explain(cnn, x, "lrp_z", target=[0, 1, 2])


def test_bad_method_names(cnn: tf.keras.Model, x: np.ndarray) -> None:
    for name in ["lrp_epsilon", "gradient_x_sign_mu", "no_such_method", "zblrp_z"]:
        with pytest.raises(ValueError):
            explain(cnn, x, name)


@pytest.mark.parametrize("kind", ["fused", "layer"])
def test_softmax_is_an_error_unless_stripped(kind: str, x: np.ndarray) -> None:
    model = small_cnn(softmax=kind)
    logits_model = small_cnn()
    with pytest.raises(ValueError, match="softmax"):
        explain(model, x, "lrp_z")
    weights = [w.numpy().copy() for w in model.weights]
    for method in ["lrp_epsilon_0_1", "gradient", "guided_backprop", "grad_cam", "integrated_gradients"]:
        got = explain(model, x, method, strip_softmax=True)
        np.testing.assert_allclose(got, explain(logits_model, x, method), rtol=1e-10, atol=1e-12)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(weights, model.weights))
    assert model.layers[-1].get_config()["activation"] == "softmax"


def test_softmax_inside_the_model_is_an_error_for_lrp_only(x: np.ndarray) -> None:
    """A softmax inside the network (not a gate) is refused by LRP; gradient methods differentiate through it."""
    model = tf.keras.Sequential(
        [tf.keras.Input((6, 6, 2)), L.Conv2D(2, 3, activation="softmax"), L.Flatten(), L.Dense(3)]
    )
    with pytest.raises(ValueError, match="softmax inside the network"):
        explain(model, x, "lrp_z")
    assert np.abs(explain(model, x, "gradient")).max() > 0


@pytest.mark.parametrize(
    ("layer", "match"),
    [
        (L.SeparableConv2D(2, 3), "SeparableConv2D"),
        (L.Conv2DTranspose(2, 3), "Conv2DTranspose"),
        (L.LayerNormalization(), "LayerNormalization"),
        (L.Activation("softsign"), "softsign"),
        (L.PReLU(), "PReLU"),
    ],
)
def test_unsupported_layers_are_named(layer: L.Layer, match: str, x: np.ndarray) -> None:
    model = tf.keras.Sequential([tf.keras.Input((6, 6, 2)), layer, L.Flatten(), L.Dense(3)])
    with pytest.raises(ValueError, match=match):
        explain(model, x, "lrp_z")


def test_batchnorm_not_after_a_conv(x: np.ndarray) -> None:
    """A BatchNormalization after an activation is an affine layer for LRP (spec section 8), not an error."""
    model = tf.keras.Sequential(
        [tf.keras.Input((6, 6, 2)), L.Conv2D(3, 3, activation="relu"), L.BatchNormalization(), L.Flatten(), L.Dense(3)]
    )
    for method in ["lrp_epsilon_0_1", "gradient", "guided_backprop", "deconvnet", "grad_cam"]:
        r = explain(model, x, method)
        assert r.shape == x.shape and np.all(np.isfinite(r))


def test_grad_cam_layer(cnn: tf.keras.Model, x: np.ndarray) -> None:
    with pytest.raises(ValueError, match="block5_conv3"):
        explain(cnn, x, "grad_cam_VGG16ILSVRC")
    with pytest.raises(ValueError, match="time series"):
        explain(cnn, x, "grad_cam_timeseries")
    named = explain(cnn, x, "grad_cam", layer="conv_a")
    assert named.min() >= 0 and named.max() <= 1
    assert not np.allclose(named, explain(cnn, x, "grad_cam"))


def test_explainer_reuses_its_analyzer(cnn: tf.keras.Model, x: np.ndarray) -> None:
    e = Explainer(cnn, "lrpsign_epsilon_0_1")
    first = e.explain(x)
    analyzer = e._analyzer
    np.testing.assert_array_equal(e.explain(x), first)
    assert e._analyzer is analyzer
    e.close()


def test_import_never_imports_torch() -> None:
    code = (
        "import sys; import signxai.tf; from signxai.tf import explain, Explainer; "
        "import signxai.tf.analyzers, signxai.tf.rules, signxai.tf.cam; "
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; "
        "assert not bad, bad; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_float32_model(x: np.ndarray) -> None:
    model = small_cnn(dtype="float32")
    x32 = small_input("float32")
    for method in ["lrp_alpha_2_beta_1", "deconvnet", "vargrad"]:
        r = explain(model, x32, method)
        assert r.dtype == np.float32 and np.all(np.isfinite(r))


def test_upsampling_equals_tf_image_resize() -> None:
    """Grad-CAM's float64 half-pixel interpolation gives tf.image.resize's bilinear numbers."""
    from signxai.common.cam import to_input_shape

    cam = np.random.default_rng(0).uniform(size=(2, 3, 5))
    ours = to_input_shape(cam, (2, 8, 13, 3))
    theirs = tf.image.resize(tf.constant(cam[..., None], tf.float64), (8, 13), method="bilinear").numpy()
    np.testing.assert_allclose(ours, np.repeat(theirs, 3, axis=-1), rtol=1e-6, atol=1e-7)
    series = cam[:, 0, :]
    ours_1d = to_input_shape(series, (2, 11, 4))
    theirs_1d = tf.image.resize(tf.constant(series[:, :, None, None]), (11, 1), method="bilinear").numpy()[:, :, 0]
    np.testing.assert_allclose(ours_1d, np.repeat(theirs_1d, 4, axis=-1), rtol=1e-6, atol=1e-7)


def test_final_sigmoid_is_an_error_unless_stripped(x: np.ndarray) -> None:
    """A final sigmoid is an output squasher like softmax (spec section 8): refused, or stripped on request."""
    logits_model = small_cnn()
    inp = tf.keras.Input((6, 6, 2), dtype="float64")
    out = L.Activation("sigmoid", dtype="float64")(logits_model(inp))
    sigmoid_model = tf.keras.Model(inp, out)
    flat = tf.keras.Model(logits_model.inputs, L.Activation("sigmoid", dtype="float64")(logits_model.outputs[0]))
    for model in (sigmoid_model, flat):
        with pytest.raises(ValueError, match="sigmoid"):
            explain(model, x, "gradient")
    for method in ["gradient", "lrp_epsilon_0_1"]:
        got = explain(flat, x, method, strip_softmax=True)
        np.testing.assert_allclose(got, explain(logits_model, x, method), rtol=1e-10, atol=1e-12)
