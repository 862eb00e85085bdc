"""The reference on DAG models (spec section 8): the DAG zoo, finite differences, conservation, hand-computed
additions and gates, zero padding, BatchNorm folding, input layers, unsupported models."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.common import list_methods, parse_method, required_keywords
from signxai.common.reference import explain, forward, zoo
from signxai.common.reference import layers as L
from signxai.common.reference.forward import forward_all
from signxai.common.reference.linear import conv_map
from signxai.common.reference.lrp import add_rule, input_layers
from signxai.common.reference.ops import model_ops, run_ops

DAG = sorted(zoo.DAG_MODELS)
KEYWORDS = {"mu": 0.5, "low": -1.0, "high": 1.0}
FAST = {"samples": 3, "steps": 5}


def batched_finite_difference(model: L.Model, x: np.ndarray, target: int, h: float = 1e-6) -> np.ndarray:
    """Central differences of z_target for one sample ``x`` (batch axis 1), all in one batched loop forward."""
    n = x[0].size
    steps = np.eye(n).reshape(n, *x.shape[1:]) * h
    z = forward(model, np.concatenate([x + steps, x - steps]))[:, target]
    return ((z[:n] - z[n:]) / (2 * h)).reshape(x.shape)


def _keywords(name: str) -> dict:
    kw = {k: KEYWORDS[k] for k in required_keywords(name)}
    spec = parse_method(name, **kw)
    if spec.base in ("smoothgrad", "vargrad"):
        kw["samples"] = FAST["samples"]
    if spec.base == "integrated_gradients":
        kw["steps"] = FAST["steps"]
    return kw


def test_the_dag_zoo_covers_every_layer_type_and_every_activation():
    used = {type(layer) for build in zoo.DAG_MODELS.values() for layer in build().layers}
    assert used == set(L.Layer.__args__)
    fns = {layer.fn for b in zoo.DAG_MODELS.values() for layer in b().layers if isinstance(layer, L.Activation)}
    assert fns == set(L.ACTIVATION_FUNCTIONS) - {"softmax"}
    convs = [layer for b in zoo.DAG_MODELS.values() for layer in b().layers if isinstance(layer, (L.Conv1D, L.Conv2D))]
    assert any(c.bias is None for c in convs) and any(c.bias is not None and np.all(c.bias != 0) for c in convs)
    assert any(c.groups == c.kernel.shape[-1] for c in convs) and any(1 < c.groups < c.kernel.shape[-1] for c in convs)


@pytest.mark.parametrize("name", DAG)
def test_dag_zoo_is_seeded(name):
    build = zoo.DAG_MODELS[name]
    x = zoo.sample_inputs(build(), 2)
    np.testing.assert_array_equal(forward(build(0), x), forward(build(0), x))
    assert not np.allclose(forward(build(1), x), forward(build(0), x))


@pytest.mark.parametrize("name", DAG)
def test_gradient_equals_finite_differences(name):
    model = zoo.DAG_MODELS[name]()
    x = zoo.sample_inputs(model, 1, seed=3)
    g = explain(model, x, "gradient", target=1)
    np.testing.assert_allclose(g, batched_finite_difference(model, x, 1), atol=2e-7)
    assert np.abs(g).max() > 1e-3


@pytest.mark.parametrize("name", DAG)
@pytest.mark.parametrize("method", ["lrp_z", "lrp_gamma_0_25"])
def test_conserving_rules_conserve_the_target_logit_on_bias_free_copies(name, method):
    model = zoo.bias_free(zoo.DAG_MODELS[name]())
    x = zoo.sample_inputs(model, 2)
    logits = forward(model, x)
    targets = np.argmax(np.abs(logits), axis=1)
    r = explain(model, x, method, target=targets)
    z_t = logits[np.arange(2), targets]
    np.testing.assert_allclose(r.reshape(2, -1).sum(axis=1), z_t, rtol=1e-9, atol=1e-12)


def test_bias_free_zeroes_every_bias_and_leaves_the_model_alone():
    model = zoo.mobile_cnn()
    free = zoo.bias_free(model)
    assert all(getattr(layer, "bias", None) is None for layer in free.layers)
    assert all(
        np.all(layer.beta == 0) and np.all(layer.mean == 0) for layer in free.layers if isinstance(layer, L.BatchNorm)
    )
    assert all(np.all(layer.shift == 0) for layer in free.layers if isinstance(layer, L.Affine))
    assert any(getattr(layer, "bias", None) is not None for layer in model.layers)


@pytest.mark.parametrize("name", DAG)
def test_every_catalog_method_runs_on_every_dag_model(name):
    model = zoo.DAG_MODELS[name]()
    x = zoo.sample_inputs(model, 2)
    x_before = x.copy()
    timeseries = len(model.input_shape) == 2
    ran = 0
    for method in list_methods():
        kw = _keywords(method)
        spec = parse_method(method, **kw)
        wrong_kind = spec.family == "cam" and (spec.cam_kind == "timeseries") != timeseries
        if spec.family == "cam" and (wrong_kind or spec.layer is not None):  # the aliases name VGG16/MNIST layers
            with pytest.raises(ValueError):
                explain(model, x, method, **kw)
            continue
        r = explain(model, x, method, **kw)
        assert r.shape == x.shape and r.dtype == np.float64, method
        assert np.all(np.isfinite(r)), method
        assert np.any(r != 0) or spec.base == "guided_grad_cam", method
        ran += 1
    np.testing.assert_array_equal(x, x_before)
    assert ran >= 200


@pytest.mark.parametrize("name", DAG)
def test_a_batch_never_changes_a_map_on_dag_models(name):
    model = zoo.DAG_MODELS[name]()
    x = zoo.sample_inputs(model, 2)
    for method in ("gradient", "guided_backprop", "lrp_epsilon_0_1_std_x", "lrpsign_sequential_composite_a", "w2lrp_z"):
        both = explain(model, x, method, target=[0, 1])
        for i in range(2):
            alone = explain(model, x[i : i + 1], method, target=i)
            np.testing.assert_allclose(both[i : i + 1], alone, rtol=1e-9, atol=1e-12, err_msg=method)


# --- additions, fan-out and gates, by hand ---------------------------------------------------------------------


def add_model(w_out: np.ndarray) -> L.Model:
    """x -> a = x, b = 2x (both Dense on the input: fan-out), add = a + b, out = add @ w_out."""
    return L.Model(
        (
            L.Dense(np.eye(2), None, name="a", inputs=(L.INPUT,)),
            L.Dense(2 * np.eye(2), None, name="b", inputs=(L.INPUT,)),
            L.Add(name="add", inputs=("a", "b")),
            L.Dense(w_out, None, name="out"),
        ),
        input_shape=(2,),
    )


def test_add_splits_relevance_in_proportion_to_the_summands():
    model = add_model(np.array([[1.0], [-1.0]]))
    x = np.array([[1.0, 2.0]])
    # a = (1, 2), b = (2, 4), add = (3, 6), z = -3; lrp_z: R_add = (3, -6)
    # R_a = a / add * R_add = (1, -2), R_b = (2, -4); both Dense are input layers (identity, 2x): R_x = R_a + R_b
    np.testing.assert_allclose(explain(model, x, "lrp_z", target=0), [[3.0, -6.0]], atol=1e-12)
    # the gradient sums over both paths: 1 + 2 = 3 times w_out
    np.testing.assert_allclose(explain(model, x, "gradient", target=0), [[3.0, -3.0]], atol=1e-12)
    # epsilon 1 everywhere: R_add = add_i w_i z / (z - 1) = (2.25, -4.5); R_a = 1/3 * 2.25 = 0.75 and
    # R_b = 2/3 * 2.25 = 1.5 at x_0; the input layers: x w R / (z + 1): 0.75 / 2 + 2 * 1.5 / 3 = 1.375
    np.testing.assert_allclose(explain(model, x, "lrp_epsilon_1", target=0)[0, 0], 1.375, rtol=1e-12)


def test_add_rule_uses_the_safe_division_on_a_zero_sum():
    r = np.array([[0.5, 1.0]])
    parts = add_rule([np.array([[1.0, 2.0]]), np.array([[-1.0, 3.0]])], r)
    np.testing.assert_allclose(parts[0], [[0.5 / 1e-7, 2.0 / 5.0]])
    np.testing.assert_allclose(parts[1], [[-0.5 / 1e-7, 3.0 / 5.0]])


def gate_model(gate_fn: str = "sigmoid") -> L.Model:
    """x (2,) -> h = x @ W1 + b1; g = gate(x @ W2); m = h * g; out = m @ w3."""
    return L.Model(
        (
            L.Dense(np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([0.1, -0.2]), name="h", inputs=(L.INPUT,)),
            L.Dense(np.array([[0.5, 1.0], [-1.0, 0.3]]), None, name="gpre", inputs=(L.INPUT,)),
            L.Activation(gate_fn, name="g"),
            L.Multiply(name="m", inputs=("h", "g")),
            L.Dense(np.array([[1.5], [-0.5]]), None, name="out"),
        ),
        input_shape=(2,),
    )


def test_a_gate_passes_all_relevance_to_x_and_its_ordinary_derivative_to_gradients():
    model = gate_model()
    x = np.array([[0.6, -0.4]])
    w1, b1 = np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([0.1, -0.2])
    w2, w3 = np.array([[0.5, 1.0], [-1.0, 0.3]]), np.array([1.5, -0.5])
    h = x[0] @ w1 + b1
    g = 1 / (1 + np.exp(-(x[0] @ w2)))
    m = h * g
    z = m @ w3
    r_m = m * w3  # lrp_z on the output layer (no bias): R_m = m_i w_i
    r_h = r_m  # the gate takes nothing
    expected = x[0] * ((r_h / h) @ w1.T)  # lrp_z on h (an input layer), bias in the denominator
    np.testing.assert_allclose(explain(model, x, "lrp_z", target=0)[0], expected, rtol=1e-12)
    grad = (w3 * g) @ w1.T + (w3 * h * g * (1 - g)) @ w2.T
    np.testing.assert_allclose(explain(model, x, "gradient", target=0)[0], grad, rtol=1e-12)
    np.testing.assert_allclose(forward(model, x)[0, 0], z, rtol=1e-12)


@pytest.mark.parametrize("gate_fn", ["sigmoid", "hard_sigmoid", "softmax"])
def test_gates_of_every_kind_differentiate_like_finite_differences(gate_fn):
    model = gate_model(gate_fn)
    x = np.array([[0.6, -0.4]])
    np.testing.assert_allclose(
        explain(model, x, "gradient", target=0), batched_finite_difference(model, x, 0), atol=1e-8
    )
    assert np.all(np.isfinite(explain(model, x, "lrp_epsilon_0_1", target=0)))


def test_lrp_refuses_every_product_that_is_not_a_gate_at_once():
    layers = (
        L.Dense(np.eye(2), None, name="p", inputs=(L.INPUT,)),
        L.Dense(np.eye(2), None, name="q", inputs=(L.INPUT,)),
        L.Multiply(name="bad_product", inputs=("p", "q")),
        L.Activation("tanh", name="t"),
        L.Multiply(name="tanh_product", inputs=("bad_product", "t")),
        L.Activation("softmax", name="inner_softmax"),
        L.Dense(np.ones((2, 1)), None, name="out"),
    )
    model = L.Model(layers, input_shape=(2,))
    x = np.array([[0.3, -0.7]])
    with pytest.raises(ValueError, match="bad_product") as err:
        explain(model, x, "lrp_z")
    assert "tanh_product" in str(err.value) and "inner_softmax" in str(err.value)
    np.testing.assert_allclose(
        explain(model, x, "gradient", target=0), batched_finite_difference(model, x, 0), atol=1e-8
    )


def test_softmax_keeps_its_ordinary_derivative_in_guided_backprop_and_deconvnet():
    model = L.Model(
        (
            L.Dense(np.array([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0]]), None),
            L.Activation("softmax"),
            L.Dense(np.array([[1.0], [3.0], [-2.0]]), None, name="out"),
        ),
        input_shape=(2,),
    )
    x = np.array([[0.4, -0.9]])
    z_t = forward(model, x)[0, 0]
    grad = explain(model, x, "gradient", target=0)
    np.testing.assert_allclose(explain(model, x, "guided_backprop", target=0), z_t * grad, rtol=1e-12)
    np.testing.assert_allclose(explain(model, x, "deconvnet", target=0), z_t * grad, rtol=1e-12)


# --- guided backprop and deconvnet at every element-wise activation --------------------------------------------


@pytest.mark.parametrize(
    ("fn", "alpha"),
    [("relu6", None), ("silu", None), ("gelu", None), ("leaky_relu", 0.1), ("selu", None), ("hard_swish", None)],
)
def test_guided_backprop_is_positive_signal_times_derivative(fn, alpha):
    w = np.array([[1.0, -1.0, 0.5, 2.0]])
    v = np.array([[1.0], [-1.0], [0.7], [-0.2]])
    model = L.Model((L.Dense(w, None), L.Activation(fn, alpha=alpha), L.Dense(v, None, name="out")), (1,))
    x = np.array([[1.3]])
    z_t = forward(model, x)[0, 0]
    pre = x[0, 0] * w[0]
    fd = (
        forward(L.Model((L.Activation(fn, alpha=alpha),), (4,)), (pre + 1e-6)[None])[0]
        - forward(L.Model((L.Activation(fn, alpha=alpha),), (4,)), (pre - 1e-6)[None])[0]
    ) / 2e-6
    signal = z_t * v[:, 0]
    np.testing.assert_allclose(
        explain(model, x, "guided_backprop", target=0)[0, 0], np.sum(np.maximum(signal, 0) * fd * w[0]), rtol=1e-6
    )
    np.testing.assert_allclose(explain(model, x, "deconvnet", target=0)[0, 0], np.sum(np.maximum(signal, 0) * w[0]))


@pytest.mark.parametrize("name", ["residual_cnn", "mobile_cnn", "gated_ecg"])
def test_guided_backprop_is_not_z_t_times_the_gradient(name):
    model = zoo.DAG_MODELS[name]()
    x = zoo.sample_inputs(model, 2)
    logits = forward(model, x)
    t = np.argmax(logits, axis=1)
    z_t = logits[np.arange(2), t].reshape(2, *(1,) * len(model.input_shape))
    gb = explain(model, x, "guided_backprop", target=t)
    assert not np.allclose(gb, z_t * explain(model, x, "gradient", target=t), rtol=1e-3, atol=1e-6)


# --- explicit zero padding, BatchNorm folding, grouped convolutions, input layers -------------------------------


LRP_METHODS = [
    m for m in list_methods() if parse_method(m, **{k: KEYWORDS[k] for k in required_keywords(m)}).family == "lrp"
]


def test_explicit_zero_padding_equals_same_padding_for_every_lrp_method():
    rng = np.random.default_rng(5)
    k1, b1 = rng.normal(size=(3, 2, 3)), rng.normal(size=3)
    w2, b2 = rng.normal(size=(24, 2)), rng.normal(size=2)
    tail = (L.ReLU(name="relu"), L.Flatten(name="flatten"), L.Dense(w2, b2, name="dense"))
    same = L.Model((L.Conv1D(k1, b1, padding="same", name="conv"), *tail), input_shape=(8, 2))
    explicit = L.Model(
        (L.ZeroPadding(((1, 1),), name="pad"), L.Conv1D(k1, b1, padding="valid", name="conv"), *tail), (8, 2)
    )
    x = zoo.sample_inputs(same, 2, seed=4)
    np.testing.assert_allclose(forward(explicit, x), forward(same, x), atol=1e-13)
    for method in LRP_METHODS:
        kw = {k: KEYWORDS[k] for k in required_keywords(method)}
        np.testing.assert_allclose(
            explain(explicit, x, method, **kw), explain(same, x, method, **kw), rtol=1e-10, atol=1e-12, err_msg=method
        )


def test_batchnorm_is_folded_only_directly_after_its_only_producer():
    kinds = {
        n.name: (n.op.kind, n.op.name) for n in model_ops(zoo.dense_cnn(), lrp=True).nodes if hasattr(n.op, "kind")
    }
    assert kinds["norm0"] == ("conv", "conv0") and "conv0" not in kinds  # folded
    assert kinds["l1_norm"][0] == "affine" and kinds["norm5"][0] == "affine"  # after a ReLU / an AvgPool
    kinds = {n.name: n.op.kind for n in model_ops(zoo.residual_cnn(), lrp=True).nodes if hasattr(n.op, "kind")}
    assert kinds["b1_bn_add"] == "affine" and kinds["b2_proj_bn"] == "conv"
    # a Conv whose output also feeds something else keeps its BatchNorm as an affine layer
    rng = np.random.default_rng(0)
    model = L.Model(
        (
            L.Conv1D(rng.normal(size=(1, 2, 2)), None, name="conv"),
            L.BatchNorm(np.ones(2), np.zeros(2), np.zeros(2), np.full(2, 4.0), eps=0.0, name="bn"),
            L.Add(name="add", inputs=("conv", "bn")),
            L.Flatten(),
            L.Dense(np.ones((6, 1)), None, name="out"),
        ),
        input_shape=(3, 2),
    )
    kinds = {n.name: n.op.kind for n in model_ops(model, lrp=True).nodes if hasattr(n.op, "kind")}
    assert kinds["conv"] == "conv" and kinds["bn"] == "affine"


def test_grouped_convolution_matrix_has_no_taps_across_groups():
    rng = np.random.default_rng(7)
    layer = L.Conv2D(rng.normal(size=(3, 3, 2, 6)), rng.normal(size=6), padding="same", groups=2)
    lin = conv_map(layer, (4, 4, 4))
    c_in = np.arange(lin.weight.shape[0]) % 4
    c_out = np.arange(lin.weight.shape[1]) % 6
    across = (c_in[:, None] // 2) != (c_out[None, :] // 3)
    assert not lin.mask[across].any() and lin.mask[~across].any()


def test_lrp_input_layers_are_the_first_dense_or_conv_on_each_path():
    def names(model):
        graph = model_ops(model, lrp=True)
        return {graph.node(n).op.name for n in input_layers(graph)}

    assert names(zoo.residual_cnn()) == {"conv1"}
    assert names(zoo.ecg_resnet()) == {"conv1"}
    assert names(zoo.mobile_cnn()) == {"stem"}  # the Affine at the input is never the input layer
    assert names(zoo.dense_cnn()) == {"conv0"}
    assert names(zoo.gated_ecg()) == {"a_conv", "b_conv"}


def test_the_input_affine_gets_the_dense_body_rule_not_the_input_rule():
    scale, shift = np.array([2.0, 0.5]), np.array([0.25, -0.5])
    w = np.array([[1.0, -1.0], [0.5, 2.0]])
    model = L.Model((L.Affine(scale, shift), L.Dense(w, None, name="out")), input_shape=(2,))
    x = np.array([[0.8, -0.6]])
    y = scale * x[0] + shift
    # lrpsign_z: SIGN at the Dense (the input layer), then the Z rule (the Dense body rule) on the Affine
    r_y = np.where(y >= 0, 1.0, -1.0) * w[:, 0] * (forward(model, x)[0, 0] / (y @ w[:, 0]))
    np.testing.assert_allclose(explain(model, x, "lrpsign_z", target=0)[0], scale * x[0] * r_y / y, rtol=1e-12)


@pytest.mark.parametrize("fn", ["softmax", "sigmoid"])
def test_a_final_softmax_or_sigmoid_is_an_error(fn):
    model = L.Model((L.Dense(np.ones((2, 3)), None), L.Activation(fn, name="probabilities")), input_shape=(2,))
    with pytest.raises(ValueError, match="'probabilities' is a " + fn):
        explain(model, np.ones((1, 2)), "gradient")


def test_a_gate_of_shape_channels_broadcasts_over_the_positions_of_each_sample():
    # g (C,) from a Dense head gates x (T, C), as a squeeze-excitation with a Dense excitation does
    rng = np.random.default_rng(9)
    model = L.Model(
        (
            L.Conv1D(rng.normal(size=(3, 2, 4)), rng.normal(size=4), padding="same", name="x"),
            L.GlobalAvgPool(name="pool"),
            L.Dense(rng.normal(size=(4, 4)), None, name="excite"),
            L.Activation("sigmoid", name="g"),
            L.Multiply(name="m", inputs=("x", "g")),
            L.Flatten(),
            L.Dense(rng.normal(size=(20, 2)), None, name="out"),
        ),
        input_shape=(5, 2),
    )
    x = rng.normal(size=(3, 5, 2))
    graph = model_ops(model)
    np.testing.assert_allclose(run_ops(graph, x)[graph.output], forward(model, x), atol=1e-13)
    acts = forward_all(model, x)
    np.testing.assert_allclose(acts["m"], acts["x"] * acts["g"][:, None, :], atol=1e-15)
    np.testing.assert_allclose(
        explain(model, x[:1], "gradient", target=1), batched_finite_difference(model, x[:1], 1), atol=1e-8
    )


@pytest.mark.parametrize(
    "method", ["lrp_epsilon_0_1", "lrp_alpha_2_beta_1", "lrp_gamma_0_25", "lrpsign_epsilon_0_1", "lrp_flat", "gradient"]
)
def test_consecutive_affine_layers_are_one_affine_layer(method):
    """Rescaling then Normalization (two affine maps, the first used only by the second) explains as the one affine
    map they compose to: the maps do not depend on how the preprocessing is spelled (docs/decisions.md)."""
    rng = np.random.default_rng(31)
    s1, t1 = np.full(3, 1 / 255), np.zeros(3)
    s2, t2 = rng.uniform(0.5, 2.0, 3), rng.normal(0, 0.5, 3)
    body = (
        L.Flatten(),
        L.Dense(rng.normal(0, 0.5, (12, 5)), rng.normal(0, 0.1, 5)),
        L.ReLU(),
        L.Dense(rng.normal(0, 0.5, (5, 3)), None),
    )
    two = L.Model(
        (L.Affine(s1, t1, name="rescaling"), L.Affine(s2, t2, name="normalization"), *body), input_shape=(4, 3)
    )
    one = L.Model((L.Affine(s2 * s1, s2 * t1 + t2, name="normalization"), *body), input_shape=(4, 3))
    x = rng.uniform(0, 255, (2, 4, 3))
    np.testing.assert_allclose(forward(two, x), forward(one, x), rtol=1e-13)
    expected = explain(one, x, method, target=0)
    np.testing.assert_allclose(explain(two, x, method, target=0), expected, rtol=0, atol=1e-12 * np.abs(expected).max())
