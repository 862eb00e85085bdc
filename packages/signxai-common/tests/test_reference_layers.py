"""Reference model plumbing: convolution/pooling matrices against direct loops, BatchNorm folding, max-pool ties."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.common.reference import explain, forward, zoo
from signxai.common.reference import layers as L
from signxai.common.reference.forward import same_padding
from signxai.common.reference.linear import conv_map, fold_batchnorm
from signxai.common.reference.ops import model_ops, run_ops


def loop_conv2d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, strides, pads) -> np.ndarray:
    """Direct convolution of one sample (H, W, C) with explicit zero padding ((top, bottom), (left, right))."""
    (pt, pb), (pl, pr) = pads
    xp = np.zeros((x.shape[0] + pt + pb, x.shape[1] + pl + pr, x.shape[2]))
    xp[pt : pt + x.shape[0], pl : pl + x.shape[1]] = x
    kh, kw, cin, cout = kernel.shape
    oh = (xp.shape[0] - kh) // strides[0] + 1
    ow = (xp.shape[1] - kw) // strides[1] + 1
    out = np.zeros((oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            for o in range(cout):
                acc = bias[o]
                for a in range(kh):
                    for b in range(kw):
                        for c in range(cin):
                            acc += xp[i * strides[0] + a, j * strides[1] + b, c] * kernel[a, b, c, o]
                out[i, j, o] = acc
    return out


@pytest.mark.parametrize(
    ("size", "k", "s", "expected"),
    [(8, 3, 1, (1, 1)), (8, 3, 2, (0, 1)), (3, 2, 1, (0, 1)), (32, 5, 1, (2, 2)), (7, 3, 2, (1, 1)), (5, 1, 2, (0, 0))],
)
def test_same_padding_puts_the_extra_zero_at_the_end(size, k, s, expected):
    assert same_padding(size, k, s) == expected


@pytest.mark.parametrize(
    ("in_hw", "kernel_hw", "strides", "padding", "pads"),
    [
        ((8, 8), (3, 3), (1, 1), "same", ((1, 1), (1, 1))),
        ((8, 8), (3, 3), (2, 2), "same", ((0, 1), (0, 1))),
        ((7, 6), (3, 2), (2, 1), "same", ((1, 1), (0, 1))),
        ((8, 8), (3, 3), (2, 2), "valid", ((0, 0), (0, 0))),
        ((5, 7), (2, 3), (1, 2), "valid", ((0, 0), (0, 0))),
    ],
)
def test_conv2d_matrix_equals_direct_loop(in_hw, kernel_hw, strides, padding, pads):
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(*kernel_hw, 2, 3))
    bias = rng.normal(size=3)
    x = rng.normal(size=(*in_hw, 2))
    layer = L.Conv2D(kernel, bias, strides=strides, padding=padding)
    lin = conv_map(layer, x.shape)
    expected = loop_conv2d(x, kernel, bias, strides, pads)
    assert lin.out_shape == expected.shape
    np.testing.assert_allclose((x.reshape(-1) @ lin.weight + lin.bias).reshape(expected.shape), expected, atol=1e-12)
    # the structural mask has exactly one tap per (output, kernel position, input channel) inside the input
    assert lin.mask.sum() <= expected.size * kernel_hw[0] * kernel_hw[1] * 2
    assert np.all(lin.weight[~lin.mask] == 0)


def test_conv1d_matrix_equals_direct_loop_with_stride_and_same_padding():
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(4, 3, 2))
    bias = rng.normal(size=2)
    x = rng.normal(size=(9, 3))
    lin = conv_map(L.Conv1D(kernel, bias, stride=2, padding="same"), x.shape)
    # same, k=4, s=2 on 9: out 5, total padding (5-1)*2+4-9 = 3 -> (1, 2)
    xp = np.concatenate([np.zeros((1, 3)), x, np.zeros((2, 3))])
    expected = np.array(
        [[bias[o] + np.sum(xp[2 * t : 2 * t + 4] * kernel[..., o]) for o in range(2)] for t in range(5)]
    )
    np.testing.assert_allclose((x.reshape(-1) @ lin.weight + lin.bias).reshape(5, 2), expected, atol=1e-12)


@pytest.mark.parametrize("name", sorted(zoo.MODELS) + sorted(zoo.DAG_MODELS))
def test_matrix_forward_equals_loop_forward(name):
    model = {**zoo.MODELS, **zoo.DAG_MODELS}[name]()
    x = zoo.sample_inputs(model, 3)
    loop = forward(model, x)
    for lrp in (False, True):  # with BatchNorm and ZeroPadding folding for LRP too
        graph = model_ops(model, lrp=lrp)
        np.testing.assert_allclose(run_ops(graph, x)[graph.output], loop, atol=1e-12)


def test_batchnorm_folding_equals_the_unfolded_layers():
    rng = np.random.default_rng(3)
    conv = L.Conv2D(rng.normal(size=(3, 3, 2, 4)), rng.normal(size=4), padding="same")
    bn = L.BatchNorm(rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.2, 3, 4), eps=1e-3)
    x = rng.normal(size=(2, 5, 5, 2))
    folded = fold_batchnorm(conv_map(conv, (5, 5, 2)), bn)
    y = x.reshape(2, -1) @ folded.weight + folded.bias
    z = conv_map(conv, (5, 5, 2))
    pre = (x.reshape(2, -1) @ z.weight + z.bias).reshape(2, 5, 5, 4)
    expected = bn.gamma * (pre - bn.mean) / np.sqrt(bn.var + bn.eps) + bn.beta
    np.testing.assert_allclose(y.reshape(expected.shape), expected, atol=1e-12)


def test_batchnorm_not_after_a_weighted_layer_is_an_affine_layer_for_lrp():
    # spec section 8 (changed: this used to be a ValueError): y = s x + t gets the Z rule here, as its own layer
    scale, shift = np.array([2.0, -1.0, 0.5]), np.array([0.5, 0.25, -1.0])
    bn = L.BatchNorm(scale, shift, np.zeros(3), np.ones(3), eps=0.0)
    w = np.array([[1.0], [2.0], [-1.0]])
    model = L.Model((L.ReLU(), bn, L.Flatten(), L.Dense(w, np.zeros(1))), input_shape=(3,))
    x = np.array([[1.0, 2.0, 3.0]])
    y = scale * x + shift  # (2.5, -1.75, 0.5)
    z = float(y[0] @ w[:, 0])  # 2.5 - 3.5 - 0.5 = -1.5
    r_y = y * w[:, 0] / z * z  # Z rule of the Dense (input layer, no bias): y_i w_i
    expected = scale * x * r_y / y  # Z rule of the affine map: (s x_i) / (s x_i + t_i) R_i
    np.testing.assert_allclose(explain(model, x, "lrp_z", target=0), expected[None].reshape(1, 3), atol=1e-12)
    assert explain(model, x, "gradient").shape == x.shape


def maxpool_model() -> L.Model:
    """MaxPool2D 2x2 on a (2, 2, 1) input, then a Dense with weight 1: z = max of the window."""
    return L.Model((L.MaxPool2D((2, 2)), L.Flatten(), L.Dense(np.ones((1, 1)), np.zeros(1))), input_shape=(2, 2, 1))


def test_maxpool_ties_go_to_the_first_element_of_the_window():
    model = maxpool_model()
    x = np.array([[[0.5], [0.7]], [[0.7], [0.7]]])[None]  # the max 0.7 appears at window positions 1, 2, 3
    expected = np.array([[[0.0], [1.0]], [[0.0], [0.0]]])[None]
    np.testing.assert_array_equal(explain(model, x, "gradient", target=0), expected)
    # LRP routes relevance (z_t = 0.7) the same way
    np.testing.assert_allclose(explain(model, x, "lrp_z", target=0), 0.7 * expected, atol=1e-12)
    zeros = np.zeros((1, 2, 2, 1))
    first = np.zeros((1, 2, 2, 1))
    first[0, 0, 0, 0] = 1.0
    np.testing.assert_array_equal(explain(model, zeros, "gradient", target=0), first)


def test_overlapping_maxpool_windows_add_up():
    model = L.Model(
        (L.MaxPool1D(2, stride=1, name="mp"), L.Flatten(), L.Dense(np.array([[1.0], [2.0]]), np.zeros(1))),
        input_shape=(3, 1),
    )
    x = np.array([[[0.1], [0.9], [0.3]]])  # both windows pick the middle element
    np.testing.assert_allclose(explain(model, x, "gradient", target=0), [[[0.0], [3.0], [0.0]]])


def test_average_pooling_and_global_average_pooling_matrices():
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    model = L.Model((L.AvgPool2D((2, 2)), L.GlobalAvgPool(), L.Dense(np.ones((1, 1)), np.zeros(1))), (4, 4, 1))
    assert forward(model, x)[0, 0] == pytest.approx(7.5)
    # gradient of the mean of means: 1/16 everywhere
    np.testing.assert_allclose(explain(model, x, "gradient", target=0), np.full(x.shape, 1 / 16))


def test_zoo_is_deterministic_and_inputs_have_exact_special_values():
    for build in zoo.MODELS.values():
        a, b = build(0), build(0)
        for la, lb in zip(a.layers, b.layers):
            for name in ("kernel", "weight", "bias"):
                if hasattr(la, name):
                    np.testing.assert_array_equal(getattr(la, name), getattr(lb, name))
                    if name == "bias":
                        assert np.all(getattr(la, name) != 0)
        x = zoo.sample_inputs(a, 2)
        assert x.dtype == np.float64 and x.shape == (2, *a.input_shape)
        assert np.any(x == 0) and np.any(x == 0.5) and np.any(x == -0.5)
        assert not np.array_equal(build(1).layers[0].kernel, a.layers[0].kernel)
    names = [layer.name for layer in zoo.image_cnn().layers]
    assert "block5_conv3" in names and "conv2d" in names
