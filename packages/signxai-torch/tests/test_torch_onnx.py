"""from_onnx: torch-exported models and hand-built Keras-style graphs (tf2onnx's MatMul+Add Dense, Conv1D as
Unsqueeze -> [Transpose ->] 1xk Conv -> [Transpose ->] Squeeze -> Add) come out with the expected layers (Conv1D as
nn.Conv1d), the same forward, and the same maps as the native / reference model."""

from __future__ import annotations

import io

import numpy as np
import onnx  # the optional extra signxai-torch[onnx]; nox -s tests-torch installs it
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch_mirror import zoo_case

from signxai.common import reference as ref
from signxai.common.reference import layers as L
from signxai.torch import Explainer, from_onnx

LRP_METHODS = ("lrp_epsilon_0_1", "lrpsign_z", "w2lrp_alpha_2_beta_1", "zblrp_z_VGG16ILSVRC", "lrp_flat", "deep_taylor")


def inventory(module: nn.Module) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d)):
            counts[type(m).__name__] = counts.get(type(m).__name__, 0) + 1
    return counts


def export(model: nn.Module, x: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    torch.onnx.export(
        model.float(),
        (x.float(),),
        buffer,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "N"}, "y": {0: "N"}},
        dynamo=False,
        opset_version=13,
        do_constant_folding=False,
    )
    return buffer.getvalue()


@pytest.mark.parametrize("model_name", ["image_cnn", "timeseries_cnn", "pooling_cnn"])
def test_torch_exported_model(model_name):
    _, native, _, x = zoo_case(model_name)
    proto = onnx.load_from_string(export(native, x))
    converted = from_onnx(proto)
    assert inventory(converted) == inventory(native)
    native = native.float()
    torch.testing.assert_close(converted(x.float()), native(x.float()), rtol=1e-5, atol=1e-5)
    # compared in float64 on the float32 weights (constant folding off, so BatchNorm stays a separate node and is
    # folded by signxai in float64); the BatchNorm eps travels as float32 (0.0010000000475), hence 1e-8
    converted, native = converted.double(), native.double()
    for method in (*LRP_METHODS, "grad_cam" if model_name != "timeseries_cnn" else "grad_cam_timeseries"):
        expected = Explainer(native, method)(x)
        got = Explainer(converted, method)(x)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-8 * expected.abs().max().item())


def keras_timeseries_graph(rng: np.random.Generator):
    """A Keras-like (N, 16, 3) -> 4 model as tf2onnx writes it, and the same model as a reference description."""
    k = rng.normal(0, 0.5, size=(5, 3, 6)).astype(np.float32)  # Keras Conv1D kernel (k, in, out)
    cb = rng.normal(0, 0.1, size=6).astype(np.float32)
    w = rng.normal(0, 0.3, size=(12 * 6, 4)).astype(np.float32)  # after Conv1D k=5 valid stride 1: 12 steps
    b = rng.normal(0, 0.1, size=4).astype(np.float32)
    onnx_kernel = np.transpose(k, (2, 1, 0))[:, :, None, :]  # (out, in, 1, k)
    inits = [
        numpy_helper.from_array(onnx_kernel, "kernel"),
        numpy_helper.from_array(cb, "conv_bias"),
        numpy_helper.from_array(w, "dense_w"),
        numpy_helper.from_array(b, "dense_b"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([-1, 72], np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Unsqueeze", ["x", "axis1"], ["x4"]),
        helper.make_node("Transpose", ["x4"], ["x_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["x_nchw", "kernel"], ["c"], kernel_shape=[1, 5]),
        helper.make_node("Transpose", ["c"], ["c_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Squeeze", ["c_nhwc", "axis1"], ["c3"]),
        helper.make_node("Add", ["c3", "conv_bias"], ["cb"]),
        helper.make_node("Relu", ["cb"], ["r"]),
        helper.make_node("Reshape", ["r", "flat_shape"], ["f"]),
        helper.make_node("MatMul", ["f", "dense_w"], ["mm"]),
        helper.make_node("Add", ["mm", "dense_b"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "keras_conv1d",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(proto)
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    reference = L.Model(
        layers=(
            L.Conv1D(f64(k), f64(cb), stride=1, padding="valid", name="conv1d"),
            L.ReLU(),
            L.Flatten(),
            L.Dense(f64(w), f64(b), name="dense"),
        ),
        input_shape=(16, 3),
    )
    return proto, reference


def test_keras_style_graph_is_canonicalised_and_equals_the_reference():
    proto, reference = keras_timeseries_graph(np.random.default_rng(0))
    module = from_onnx(proto)
    assert inventory(module) == {"Conv1d": 1, "Linear": 1}
    kinds = {type(m).__name__ for m in module.modules()}
    assert "OnnxMatMul" not in kinds and "OnnxBinaryMathOperation" not in kinds  # MatMul -> Linear, Adds folded
    x = np.random.default_rng(1).uniform(-1, 1, size=(3, 16, 3))
    x[:, ::4, 0] = 0.0
    module = module.double()
    np.testing.assert_allclose(module(torch.from_numpy(x)).detach().numpy(), ref.forward(reference, x), atol=1e-12)
    for method in (*LRP_METHODS, "lrp_sequential_composite_a", "lrpsign_epsilon_0_25_std_x", "gradient_x_sign"):
        expected = ref.explain(reference, x, method)
        got = Explainer(module, method)(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * np.abs(expected).max(), err_msg=method)


def channels_first_conv1d_graph(rng: np.random.Generator):
    """tf2onnx's Keras Conv1D on a channels-first (N, 3, 16) input: Unsqueeze(2) -> Conv (1 x 4, asymmetric 'same'
    padding, so onnx2torch adds a padding module) -> Squeeze(2) -> Add(bias) -> Relu, then Dense as MatMul+Add; and the
    same model as a channels-last reference description."""
    k = rng.normal(0, 0.5, size=(4, 3, 6)).astype(np.float32)  # Keras Conv1D kernel (k, in, out)
    cb = rng.normal(0, 0.1, size=6).astype(np.float32)
    w = rng.normal(0, 0.3, size=(16 * 6, 4)).astype(np.float32)  # Keras Flatten order: time-major
    b = rng.normal(0, 0.1, size=4).astype(np.float32)
    w_channel_major = w.reshape(16, 6, 4).transpose(1, 0, 2).reshape(96, 4)
    inits = [
        numpy_helper.from_array(np.transpose(k, (2, 1, 0))[:, :, None, :], "kernel"),  # (out, in, 1, k)
        numpy_helper.from_array(cb.reshape(6, 1), "conv_bias"),
        numpy_helper.from_array(w_channel_major, "dense_w"),
        numpy_helper.from_array(b, "dense_b"),
        numpy_helper.from_array(np.array([2], np.int64), "axis2"),
        numpy_helper.from_array(np.array([-1, 96], np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Unsqueeze", ["x", "axis2"], ["x4"]),
        helper.make_node("Conv", ["x4", "kernel"], ["c"], kernel_shape=[1, 4], pads=[0, 1, 0, 2]),  # Keras 'same'
        helper.make_node("Squeeze", ["c", "axis2"], ["c3"]),
        helper.make_node("Add", ["c3", "conv_bias"], ["cb"]),
        helper.make_node("Relu", ["cb"], ["r"]),
        helper.make_node("Reshape", ["r", "flat_shape"], ["f"]),
        helper.make_node("MatMul", ["f", "dense_w"], ["mm"]),
        helper.make_node("Add", ["mm", "dense_b"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "keras_conv1d_channels_first",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(proto)
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    reference = L.Model(
        layers=(
            L.Conv1D(f64(k), f64(cb), stride=1, padding="same", name="conv1d"),
            L.ReLU(),
            L.Flatten(),
            L.Dense(f64(w), f64(b), name="dense"),
        ),
        input_shape=(16, 3),
    )
    return proto, reference


def test_height_one_convolution_becomes_conv1d_and_grad_cam_sees_time_series():
    proto, reference = channels_first_conv1d_graph(np.random.default_rng(3))
    module = from_onnx(proto)
    assert inventory(module) == {"Conv1d": 1, "Linear": 1}
    kinds = {type(m).__name__ for m in module.modules()}
    assert not kinds & {"OnnxSqueezeStaticAxes", "OnnxSqueezeDynamicAxes", "OnnxUnsqueezeStaticAxes"}  # pair cancelled
    assert "ConstantPad1d" in kinds and "OnnxPadStatic" not in kinds  # the asymmetric padding became 1-D too
    x_last = np.random.default_rng(4).uniform(-1, 1, size=(3, 16, 3))
    x_last[:, ::5, 1] = 0.0
    x = np.ascontiguousarray(x_last.transpose(0, 2, 1))  # the ONNX graph takes (N, C, T)
    module = module.double()
    np.testing.assert_allclose(module(torch.from_numpy(x)).detach().numpy(), ref.forward(reference, x_last), atol=1e-12)
    for method in (*LRP_METHODS, "grad_cam_timeseries", "guided_grad_cam_timeseries", "gradient_x_input"):
        expected = ref.explain(reference, x_last, method).transpose(0, 2, 1)
        got = Explainer(module, method)(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * np.abs(expected).max(), err_msg=method)


def conv1d_batchnorm_graph(rng: np.random.Generator):
    """Keras Conv1D (no bias) + BatchNormalization + ReLU as tf2onnx writes it when it cannot fuse the BatchNorm:
    Conv -> Squeeze -> Mul(scale) -> Add(shift); and the reference model with an explicit BatchNorm."""
    k = rng.normal(0, 0.5, size=(5, 3, 6)).astype(np.float32)
    gamma, beta = rng.uniform(0.5, 1.5, 6), rng.normal(0, 0.1, 6)
    mean, var = rng.normal(0, 0.2, 6), rng.uniform(0.5, 2.0, 6)
    scale = (gamma / np.sqrt(var + 1e-3)).astype(np.float32)
    shift = (beta - mean * gamma / np.sqrt(var + 1e-3)).astype(np.float32)
    w = rng.normal(0, 0.3, size=(12 * 6, 4)).astype(np.float32)
    b = rng.normal(0, 0.1, size=4).astype(np.float32)
    inits = [
        numpy_helper.from_array(np.transpose(k, (2, 1, 0))[:, :, None, :], "kernel"),
        numpy_helper.from_array(scale, "bn_scale"),
        numpy_helper.from_array(shift, "bn_shift"),
        numpy_helper.from_array(w, "dense_w"),
        numpy_helper.from_array(b, "dense_b"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([-1, 72], np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Unsqueeze", ["x", "axis1"], ["x4"]),
        helper.make_node("Transpose", ["x4"], ["x_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["x_nchw", "kernel"], ["c"], kernel_shape=[1, 5]),
        helper.make_node("Transpose", ["c"], ["c_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Squeeze", ["c_nhwc", "axis1"], ["c3"]),
        helper.make_node("Mul", ["c3", "bn_scale"], ["cs"]),
        helper.make_node("Add", ["cs", "bn_shift"], ["cb"]),
        helper.make_node("Relu", ["cb"], ["r"]),
        helper.make_node("Reshape", ["r", "flat_shape"], ["f"]),
        helper.make_node("MatMul", ["f", "dense_w"], ["mm"]),
        helper.make_node("Add", ["mm", "dense_b"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "keras_conv1d_bn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(proto)
    f64 = lambda a: np.asarray(a, dtype=np.float32).astype(np.float64)  # noqa: E731
    # the BatchNorm of the reference holds the float32 scale / shift tf2onnx stored: var = 1 / scale^2 - eps
    bn = L.BatchNorm(gamma=np.ones(6), beta=f64(shift), mean=np.zeros(6), var=1.0 / f64(scale) ** 2 - 1e-3)
    reference = L.Model(
        layers=(
            L.Conv1D(f64(k), None, stride=1, padding="valid", name="conv1d"),
            bn,
            L.ReLU(),
            L.Flatten(),
            L.Dense(f64(w), f64(b), name="dense"),
        ),
        input_shape=(16, 3),
    )
    return proto, reference


def test_unfused_batchnorm_after_conv1d_is_folded_into_the_convolution():
    """tf2onnx's Mul + Add after a Conv1D become the convolution's weights and bias, as signxai-tf folds the
    BatchNorm into the Conv1D (spec section 8); before, the graph was refused ('Mul of a constant')."""
    proto, reference = conv1d_batchnorm_graph(np.random.default_rng(4))
    module = from_onnx(proto)
    assert inventory(module) == {"Conv1d": 1, "Linear": 1}
    kinds = {type(m).__name__ for m in module.modules()}
    assert "OnnxBinaryMathOperation" not in kinds
    x = np.random.default_rng(5).uniform(-1, 1, size=(3, 16, 3))
    x[:, ::4, 1] = 0.0
    module = module.double()
    np.testing.assert_allclose(module(torch.from_numpy(x)).detach().numpy(), ref.forward(reference, x), atol=1e-6)
    for method in ("lrp_epsilon_0_1", "lrpsign_epsilon_0_25_std_x", "lrp_alpha_2_beta_1", "w2lrp_z"):
        expected = ref.explain(reference, x, method)
        got = Explainer(module, method)(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max(), err_msg=method)


def swish_graph(rng: np.random.Generator, beta: float, unit_spelling: bool = True):
    """Dense -> swish -> Dense as tf2onnx writes a Keras ``swish``: ``x * Sigmoid(beta * x)`` (or ``Sigmoid(x)``),
    and the reference description with a SiLU activation."""
    w1 = rng.normal(0, 0.6, size=(6, 8)).astype(np.float32)
    b1 = rng.normal(0, 0.2, size=8).astype(np.float32)
    w2 = rng.normal(0, 0.4, size=(8, 3)).astype(np.float32)
    b2 = rng.normal(0, 0.1, size=3).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    inits.append(numpy_helper.from_array(np.array(beta, np.float32), "beta"))
    scaled = [helper.make_node("Mul", ["beta", "h"], ["bh"])] if unit_spelling else []
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"]),
        helper.make_node("Add", ["m1", "b1"], ["h"]),
        *scaled,
        helper.make_node("Sigmoid", ["bh" if unit_spelling else "h"], ["s"]),
        helper.make_node("Mul", ["h", "s"], ["a"]),
        helper.make_node("MatMul", ["a", "w2"], ["m2"]),
        helper.make_node("Add", ["m2", "b2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "swish",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(proto)
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    reference = L.Model(
        layers=(L.Dense(f64(w1), f64(b1), name="d1"), L.Activation("silu"), L.Dense(f64(w2), f64(b2), name="d2")),
        input_shape=(6,),
    )
    return proto, reference


@pytest.mark.parametrize("unit_spelling", [True, False])
def test_swish_spelled_as_a_product_becomes_silu(unit_spelling):
    """``x * Sigmoid(1 * x)`` is one SiLU activation: guided backprop / deconvnet apply their rule to it as a whole,
    as signxai-tf does to the Keras ``swish`` (before, the product was differentiated: 0.46 max|d|/max|R| on the
    parity suite's EfficientNet-style stack)."""
    proto, reference = swish_graph(np.random.default_rng(6), beta=1.0, unit_spelling=unit_spelling)
    module = from_onnx(proto)
    kinds = [type(m).__name__ for m in module.modules()]
    assert kinds.count("SiLU") == 1 and "Sigmoid" not in kinds and "OnnxBinaryMathOperation" not in kinds
    x = np.random.default_rng(7).uniform(-2, 2, size=(4, 6))
    module = module.double()
    np.testing.assert_allclose(module(torch.from_numpy(x)).detach().numpy(), ref.forward(reference, x), atol=1e-6)
    for method in ("guided_backprop", "deconvnet", "gradient", "lrp_epsilon_0_1"):
        expected = ref.explain(reference, x, method)
        got = Explainer(module, method)(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max(), err_msg=method)


def test_sigmoid_gate_with_another_slope_stays_a_product():
    """``x * Sigmoid(2 x)`` is not swish: no SiLU is made of it."""
    proto, _ = swish_graph(np.random.default_rng(6), beta=2.0)
    kinds = [type(m).__name__ for m in from_onnx(proto).modules()]
    assert "SiLU" not in kinds and "Sigmoid" in kinds


def test_unconvertible_weights_are_named():
    """A constant addition after a convolution that differs within a channel is no bias the convolution can take;
    LRP would treat it as a separate affine map, so it is refused, naming the node."""
    kernel = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), "kernel")
    offset = numpy_helper.from_array(np.arange(2 * 4 * 4, dtype=np.float32).reshape(1, 2, 4, 4), "offset")
    nodes = [
        helper.make_node("Conv", ["x", "kernel"], ["c"], kernel_shape=[3, 3]),
        helper.make_node("Add", ["c", "offset"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "offset_after_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 4, 4])],
        [kernel, offset],
    )
    with pytest.raises(ValueError, match=r"add.*Add of a constant \(1, 2, 4, 4\)"):
        from_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def test_per_feature_affine_map_before_a_dense_layer_is_an_affine_layer():
    """``x * s + t`` of constants not after a layer with weights (a BatchNorm tf2onnx writes unfused) stays in the
    graph as a per-element affine map with the body's Dense rule, as the reference's Affine layer (spec section 8)."""
    rng = np.random.default_rng(8)
    s = rng.uniform(0.5, 1.5, size=3).astype(np.float32)
    t = rng.normal(0, 0.3, size=3).astype(np.float32)
    w = rng.normal(0, 0.5, size=(3, 2)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((s, "s"), (t, "t"), (w, "w"))]
    nodes = [
        helper.make_node("Mul", ["x", "s"], ["xs"]),
        helper.make_node("Add", ["xs", "t"], ["xt"]),
        helper.make_node("MatMul", ["xt", "w"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "affine_dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        inits,
    )
    module = from_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])).double()
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    reference = L.Model(layers=(L.Affine(f64(s), f64(t)), L.Dense(f64(w), np.zeros(2), name="dense")), input_shape=(3,))
    x = rng.uniform(-1, 1, size=(4, 3))
    for method in ("lrp_epsilon_0_1", "lrp_alpha_1_beta_0", "gradient"):
        expected = ref.explain(reference, x, method)
        got = Explainer(module, method)(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max(), err_msg=method)


def test_normalization_split_by_transposes_is_one_affine_layer():
    """tf2onnx writes a Keras Normalization between layouts as ``Sub -> Transpose -> Div -> Transpose``: the
    transposes are moved past the arithmetic and cancel, so the two halves are one affine layer as in the reference
    (with the transposes left in place, LRP treats them as two layers: alpha-beta differs by O(1))."""
    rng = np.random.default_rng(9)
    m = rng.normal(0, 0.5, size=3).astype(np.float32)
    sd = rng.uniform(0.5, 2.0, size=3).astype(np.float32)
    w = rng.normal(0, 0.5, size=(6, 2)).astype(np.float32)
    inits = [
        numpy_helper.from_array(m.reshape(3, 1), "m"),
        numpy_helper.from_array(sd, "sd"),
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(np.array([-1, 6], dtype=np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
        helper.make_node("Sub", ["xt", "m"], ["centred"]),
        helper.make_node("Transpose", ["centred"], ["back"], perm=[0, 2, 1]),
        helper.make_node("Div", ["back", "sd"], ["normalised"]),
        helper.make_node("Reshape", ["normalised", "flat_shape"], ["f"]),
        helper.make_node("MatMul", ["f", "w"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "split_normalization",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        inits,
    )
    module = from_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])).double()
    assert "OnnxTranspose" not in {type(sub).__name__ for sub in module.modules()}
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    reference = L.Model(
        layers=(L.Affine(1.0 / f64(sd), -f64(m) / f64(sd)), L.Flatten(), L.Dense(f64(w), np.zeros(2), name="dense")),
        input_shape=(2, 3),
    )
    x = rng.uniform(-1, 1, size=(4, 2, 3))
    np.testing.assert_allclose(module(torch.from_numpy(x)).detach().numpy(), ref.forward(reference, x), rtol=1e-6)
    for method in ("lrp_epsilon_0_1", "lrp_alpha_2_beta_1", "lrp_z", "gradient"):
        expected = ref.explain(reference, x, method)
        got = Explainer(module, method)(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max(), err_msg=method)


def test_batchnorm_after_convolutions_on_a_1x1_map_is_folded():
    """tf2onnx's spelling of EfficientNet's last stages at a small input: a 1 x 1 convolution over a 1 x 1 map (which
    from_onnx rewrites to Conv1d, as it does a Keras Conv1D) followed by a BatchNormalization, and a convolution
    followed by an identity Reshape and then a BatchNormalization. Both BatchNorms must be folded into their
    convolutions, as the reference and signxai-tf do, not become affine layers (alpha-beta then differs by O(1))."""
    from signxai.torch.graph import analyse

    rng = np.random.default_rng(10)
    k1 = rng.normal(0, 0.5, (5, 4, 1, 1)).astype(np.float32)
    k2 = rng.normal(0, 0.5, (5, 5, 1, 1)).astype(np.float32)
    bns = [
        [rng.uniform(0.5, 1.5, 5), rng.normal(0, 0.3, 5), rng.normal(0, 0.3, 5), rng.uniform(0.5, 2, 5)] for _ in "ab"
    ]
    w = rng.normal(0, 0.5, (5, 3)).astype(np.float32)
    inits = [numpy_helper.from_array(k1, "k1"), numpy_helper.from_array(k2, "k2"), numpy_helper.from_array(w, "w")]
    for tag, values in zip("ab", bns):
        for name, value in zip(("g", "b", "m", "v"), values):
            inits.append(numpy_helper.from_array(value.astype(np.float32), f"{tag}_{name}"))
    inits.append(numpy_helper.from_array(np.array([-1, 5, 1, 1], dtype=np.int64), "same_shape"))
    inits.append(numpy_helper.from_array(np.array([-1, 5], dtype=np.int64), "flat_shape"))
    bn = lambda tag, x, y: helper.make_node(  # noqa: E731
        "BatchNormalization", [x, f"{tag}_g", f"{tag}_b", f"{tag}_m", f"{tag}_v"], [y], epsilon=1e-3
    )
    nodes = [
        helper.make_node("Conv", ["x", "k1"], ["c1"], kernel_shape=[1, 1]),
        bn("a", "c1", "n1"),
        helper.make_node("Relu", ["n1"], ["r1"]),
        helper.make_node("Conv", ["r1", "k2"], ["c2"], kernel_shape=[1, 1]),
        helper.make_node("Reshape", ["c2", "same_shape"], ["c2r"]),
        bn("b", "c2r", "n2"),
        helper.make_node("Relu", ["n2"], ["r2"]),
        helper.make_node("Reshape", ["r2", "flat_shape"], ["f"]),
        helper.make_node("MatMul", ["f", "w"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "one_by_one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        inits,
    )
    module = from_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])).double()
    x = rng.uniform(-1, 1, size=(3, 4, 1, 1))
    assert None not in analyse(module, torch.from_numpy(x)).batch_norms.values()
    f64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    layers = []
    for kernel, (g, b, m, v) in zip((k1, k2), bns):
        layers += [
            L.Conv2D(f64(kernel).transpose(2, 3, 1, 0), None, name=f"conv{len(layers)}"),
            L.BatchNorm(f64(np.float32(g)), f64(np.float32(b)), f64(np.float32(m)), f64(np.float32(v)), eps=1e-3),
            L.ReLU(),
        ]
    reference = L.Model((*layers, L.Flatten(), L.Dense(f64(w), np.zeros(3), name="dense")), input_shape=(1, 1, 4))
    x_last = np.moveaxis(x, 1, -1)
    for method in ("lrp_epsilon_0_1", "lrp_alpha_2_beta_1", "lrp_gamma_0_25"):
        expected = np.moveaxis(ref.explain(reference, x_last, method), -1, 1)
        got = Explainer(module, method)(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max(), err_msg=method)


def test_from_path(tmp_path):
    proto, _ = keras_timeseries_graph(np.random.default_rng(2))
    path = tmp_path / "model.onnx"
    onnx.save(proto, str(path))
    module = from_onnx(path)
    assert inventory(module) == {"Conv1d": 1, "Linear": 1}
    assert not module.training
