"""Grad-CAM of the reference: interpolation, hand-computed maps, layer choice and errors."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.common import parse_method
from signxai.common.cam import interpolation_matrix, upsample
from signxai.common.reference import explain, forward, zoo
from signxai.common.reference import layers as L
from signxai.common.reference.cam import cam_layer
from signxai.common.reference.forward import forward_all


def test_half_pixel_interpolation_matrices():
    np.testing.assert_allclose(interpolation_matrix(2, 4), [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]], atol=1e-15)
    # 3 -> 5: src = (o + 0.5) * 0.6 - 0.5 = -0.2 (clamped to 0), 0.4, 1.0, 1.6, 2.2 (clamped to 2)
    expected = [[1, 0, 0], [0.6, 0.4, 0], [0, 1, 0], [0, 0.4, 0.6], [0, 0, 1]]
    np.testing.assert_allclose(interpolation_matrix(3, 5), expected, atol=1e-15)
    np.testing.assert_array_equal(interpolation_matrix(4, 4), np.eye(4))


def test_bilinear_upsampling_is_separable():
    cam = np.array([[[1.0, 0.0], [0.0, 0.0]]])
    line = np.array([1.0, 0.75, 0.25, 0.0])
    np.testing.assert_allclose(upsample(cam, (4, 4))[0], np.outer(line, line), atol=1e-15)


def tiny_timeseries_model(stride: int) -> L.Model:
    """Conv1D (k = stride, picks x_{stride t}) -> channels (x, -x) -> ReLU -> Flatten -> Dense."""
    kernel = np.zeros((stride, 1, 2))
    kernel[0, 0] = [1.0, -1.0]
    v = np.array([[1.0, 2.0], [-1.0, 0.5], [3.0, 1.0], [0.0, -4.0]])  # dz_0/dA, (t, c)
    dense = np.stack([v.reshape(-1), -v.reshape(-1)], axis=1)
    layers = (
        L.Conv1D(kernel, np.zeros(2), stride=stride, name="conv"),
        L.ReLU(name="act"),
        L.Flatten(),
        L.Dense(dense, np.zeros(2), name="out"),
    )
    return L.Model(layers, input_shape=(4 * stride, 1))


def test_grad_cam_timeseries_by_hand():
    # A = (relu(x), relu(-x)) = [(1, 0), (0, 2), (0.5, 0), (0, 0)] for x = (1, -2, 0.5, 0)
    # w = mean_t dz_0/dA = (0.75, -0.125); cam = relu(0.75 A_0 - 0.125 A_1) = (0.75, 0, 0.375, 0) / 0.75
    x = np.array([1.0, -2.0, 0.5, 0.0])[None, :, None]
    cam = explain(tiny_timeseries_model(1), x, "grad_cam_timeseries", target=0)
    np.testing.assert_allclose(cam[0, :, 0], [1.0, 0.0, 0.5, 0.0], atol=1e-15)
    # the same A from every second sample of a length-8 input: cam upsampled 4 -> 8 with half-pixel centres
    x8 = np.array([1.0, 9.0, -2.0, 9.0, 0.5, 9.0, 0.0, 9.0])[None, :, None]
    cam = explain(tiny_timeseries_model(2), x8, "grad_cam_timeseries", target=0)
    np.testing.assert_allclose(cam[0, :, 0], [1, 0.75, 0.25, 0.125, 0.375, 0.375, 0.125, 0], atol=1e-15)


def test_grad_cam_is_zero_when_every_position_is_negative():
    # target 1 has the opposite gradient: cam = relu(-0.75 A_0 + 0.125 A_1) = (0, 0.25, 0, 0) / 0.25
    x = np.array([1.0, -2.0, 0.5, 0.0])[None, :, None]
    np.testing.assert_allclose(
        explain(tiny_timeseries_model(1), x, "grad_cam_timeseries", target=1)[0, :, 0], [0, 1, 0, 0]
    )
    x = np.array([1.0, 0.0, 0.5, 0.0])[None, :, None]  # now A_1 = 0: the map is 0, not NaN
    np.testing.assert_array_equal(explain(tiny_timeseries_model(1), x, "grad_cam_timeseries", target=1), 0.0)


def test_guided_grad_cam_by_hand():
    # guided backprop of sum(A): 1 at each ReLU with positive input, then the conv: +1 (x > 0), -1 (x < 0), 0 (x = 0)
    x = np.array([1.0, -2.0, 0.5, 0.0])[None, :, None]
    ggc = explain(tiny_timeseries_model(1), x, "guided_grad_cam_timeseries", target=0)
    np.testing.assert_allclose(ggc[0, :, 0], np.array([1.0, -1.0, 1.0, 0.0]) * [1.0, 0.0, 0.5, 0.0])


def test_a_is_the_conv_output_when_no_activation_follows():
    model = tiny_timeseries_model(1)
    without = L.Model((model.layers[0], *model.layers[2:]), input_shape=model.input_shape)
    # A = (x, -x) = [(1, -1), (-2, 2), (0.5, -0.5), (0, 0)]: cam = relu(0.875 x) = (0.875, 0, 0.4375, 0) / 0.875
    x = np.array([1.0, -2.0, 0.5, 0.0])[None, :, None]
    np.testing.assert_allclose(explain(without, x, "grad_cam_timeseries", target=0)[0, :, 0], [1, 0, 0.5, 0])


def test_layer_keyword_and_aliases():
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 2)
    default = explain(model, x, "grad_cam")
    np.testing.assert_array_equal(explain(model, x, "grad_cam_VGG16ILSVRC"), default)
    np.testing.assert_array_equal(explain(model, x, "grad_cam", layer="block5_conv3"), default)
    assert not np.allclose(explain(model, x, "grad_cam", layer="conv2d"), default)
    for cam in (default, explain(model, x, "grad_cam", layer="conv2d")):
        assert cam.shape == x.shape and cam.min() >= 0 and cam.max() <= 1
        np.testing.assert_array_equal(cam[..., 0], cam[..., 2])
    with pytest.raises(ValueError, match="relu5_3"):
        explain(model, x, "grad_cam_VGG16MITPL365")
    with pytest.raises(ValueError, match="nope"):
        explain(model, x, "guided_grad_cam", layer="nope")
    ts = zoo.timeseries_cnn()
    with pytest.raises(ValueError, match="block5_conv3"):
        explain(ts, zoo.sample_inputs(ts, 1), "grad_cam_VGG16ILSVRC")
    with pytest.raises(ValueError, match="conv2d_1"):
        explain(ts, zoo.sample_inputs(ts, 1), "grad_cam_MNISTCNN")


def test_image_and_timeseries_cam_kinds_are_not_mixed():
    ts = zoo.timeseries_cnn()
    with pytest.raises(ValueError, match="grad_cam_timeseries"):
        explain(ts, zoo.sample_inputs(ts, 1), "grad_cam")
    img = zoo.image_cnn()
    with pytest.raises(ValueError, match="use grad_cam"):
        explain(img, zoo.sample_inputs(img, 1), "grad_cam_timeseries")


def test_guided_grad_cam_is_guided_backprop_of_sum_a_times_cam():
    model = zoo.pooling_cnn()
    x = zoo.sample_inputs(model, 2)
    cam = explain(model, x, "grad_cam")
    # the model cut after A (conv2d_1 + re_lu) with a Dense summing A; guided backprop seeds z_t = sum(A) > 0,
    # and guided backprop is positively homogeneous in its seed, so dividing by z_t gives the seed-1 signal
    n_a = 4 * 4 * 6
    summed = L.Model(
        (*model.layers[:6], L.Flatten(), L.Dense(np.ones((n_a, 1)), np.zeros(1))), input_shape=model.input_shape
    )
    z_t = forward(summed, x)[:, 0]
    assert np.all(z_t > 0)
    gb = explain(summed, x, "guided_backprop", target=0) / z_t[:, None, None, None]
    np.testing.assert_allclose(explain(model, x, "guided_grad_cam"), gb * cam, rtol=1e-10, atol=1e-14)


DEFAULT_LAYERS = {
    "image_cnn": "re_lu_2",  # the ReLU after block5_conv3, as before
    "timeseries_cnn": "re_lu_1",
    "pooling_cnn": "re_lu",
    "residual_cnn": "b2_out",  # the ReLU after the last residual Add
    "ecg_resnet": "b2_out",
    "mobile_cnn": "gconv_act",
    "dense_cnn": "relu5",  # the ReLU after norm5 (DenseNet)
    "gated_ecg": "out_act",  # the softplus before Flatten
}


@pytest.mark.parametrize("name", sorted(DEFAULT_LAYERS))
def test_default_layer_walks_back_over_the_head(name):
    model = {**zoo.MODELS, **zoo.DAG_MODELS}[name]()
    kind = "grad_cam_timeseries" if len(model.input_shape) == 2 else "grad_cam"
    assert cam_layer(model, parse_method(kind)) == DEFAULT_LAYERS[name]
    x = zoo.sample_inputs(model, 2)
    np.testing.assert_array_equal(explain(model, x, kind), explain(model, x, kind, layer=DEFAULT_LAYERS[name]))


def test_dag_grad_cam_equals_an_independent_computation_from_the_head_weights():
    # residual_cnn: A = b2_out (2x2x12) -> GlobalAvgPool -> fc, so dz_t/dA_c = w_ct / 4 at every position
    model = zoo.residual_cnn()
    x = zoo.sample_inputs(model, 2)
    a = forward_all(model, x)["b2_out"]
    w = model.layers[-1].weight
    targets = np.argmax(forward(model, x), axis=1)
    for i, t in enumerate(targets):
        cam = np.maximum((a[i] * w[:, t] / 4).sum(axis=-1), 0.0)
        cam = upsample((cam / cam.max())[None], (8, 8))[0]
        np.testing.assert_allclose(explain(model, x[i : i + 1], "grad_cam")[0, ..., 1], cam, rtol=1e-12)


def test_layer_may_name_any_layer_of_a_dag():
    model = zoo.residual_cnn()
    x = zoo.sample_inputs(model, 2)
    for layer in ("b1_add", "b1_out", "pool1", "b2_proj_bn"):
        cam = explain(model, x, "grad_cam", layer=layer)
        assert cam.shape == x.shape and np.all(np.isfinite(cam)) and cam.max() <= 1
    # a named convolution followed only by its activation gives the activation's output (as block5_conv3 does)
    gated = zoo.gated_ecg()
    assert cam_layer(gated, parse_method("grad_cam_timeseries", layer="c4")) == "c4_act"
    assert cam_layer(gated, parse_method("grad_cam_timeseries", layer="cat")) == "cat"


def test_no_spatial_feature_map_is_an_error_naming_layer():
    rng = np.random.default_rng(0)
    dense = L.Model((L.Dense(rng.normal(size=(4, 3)), None), L.ReLU(), L.Dense(rng.normal(size=(3, 2)), None)), (4,))
    with pytest.raises(ValueError, match="layer="):
        explain(dense, rng.normal(size=(1, 4)), "grad_cam_timeseries")
    summed = L.Model(
        (
            L.Flatten(name="flat"),
            L.Dense(rng.normal(size=(8, 3)), None, name="p", inputs=("flat",)),
            L.Dense(rng.normal(size=(8, 3)), None, name="q", inputs=("flat",)),
            L.Add(name="add", inputs=("p", "q")),
            L.Dense(rng.normal(size=(3, 2)), None, name="out"),
        ),
        (4, 2),
    )
    with pytest.raises(ValueError, match="'add'.*layer="):
        explain(summed, rng.normal(size=(1, 4, 2)), "grad_cam_timeseries")
