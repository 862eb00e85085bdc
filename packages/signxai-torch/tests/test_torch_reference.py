"""Every catalog method on float64 torch mirrors of the reference zoo equals signxai.common.reference.explain.

The zoo includes the DAG models of spec section 8 (residual additions, concatenation, gates, grouped and depthwise
convolutions, affine layers, explicit zero padding, upsampling, the activation family, layers without bias); their
mirrors (:mod:`torch_mirror`) are ordinary PyTorch modules whose ``forward`` follows the reference wiring.

Signed maps, method by method, max|torch - reference| <= 1e-6 * max|reference| (maps that are 0 in both pass). A
method the reference refuses on a model (e.g. a Grad-CAM alias whose layer the model lacks, or image Grad-CAM on a
time series) must be refused by signxai.torch with a ValueError too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_mirror import mirror, to_reference_layout, to_torch_layout, zoo_case

from signxai.common import list_methods, required_keywords
from signxai.common import reference as ref
from signxai.common.reference import layers as L
from signxai.common.reference import zoo
from signxai.torch import Explainer

EXTRA = {"mu": 0.5, "low": -1.0, "high": 1.0}
MODELS = ("image_cnn", "timeseries_cnn", "pooling_cnn", *zoo.DAG_MODELS)
TOLERANCE = 1e-6


def keywords(name: str) -> dict[str, float]:
    return {k: EXTRA[k] for k in required_keywords(name)}


_CASES: dict[str, tuple] = {}


def case(model_name: str):
    if model_name not in _CASES:
        _CASES[model_name] = zoo_case(model_name)
    return _CASES[model_name]


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("method", list_methods())
def test_method_equals_reference(model_name: str, method: str) -> None:
    ref_model, model, x_ref, x = case(model_name)
    params = keywords(method)
    try:
        expected = ref.explain(ref_model, x_ref, method, **params)
    except ValueError:
        with pytest.raises(ValueError):
            Explainer(model, method, **params)(x)
        return
    got = to_reference_layout(Explainer(model, method, **params)(x).numpy())
    assert got.shape == expected.shape and got.dtype == np.float64
    scale = np.abs(expected).max()
    deviation = np.abs(got - expected).max()
    assert deviation <= TOLERANCE * scale or (scale == 0 and deviation == 0), (
        f"{method} on {model_name}: max|dev| {deviation:.3g} vs max|R| {scale:.3g}"
    )


@pytest.mark.parametrize("model_name", MODELS)
def test_explicit_targets_equal_reference(model_name: str) -> None:
    ref_model, model, x_ref, x = case(model_name)
    for method in ("lrpsign_epsilon_0_25_std_x", "guided_backprop", "zblrp_alpha_2_beta_1_VGG16ILSVRC"):
        expected = ref.explain(ref_model, x_ref, method, target=[1, 2])
        got = to_reference_layout(Explainer(model, method)(x, target=[1, 2]).numpy())
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE * np.abs(expected).max())


@pytest.mark.parametrize(
    ("model_name", "method", "layer"),
    [
        ("image_cnn", "grad_cam", "conv2d_1"),
        ("image_cnn", "guided_grad_cam", "conv2d"),
        ("pooling_cnn", "grad_cam", "conv2d"),  # a BatchNorm, not an activation, follows: A = the conv output
        ("timeseries_cnn", "grad_cam_timeseries", "conv1d"),
    ],
)
def test_named_cam_layer_equals_reference(model_name: str, method: str, layer: str) -> None:
    ref_model, model, x_ref, x = case(model_name)
    expected = ref.explain(ref_model, x_ref, method, layer=layer)
    got = to_reference_layout(Explainer(model, method, layer=layer)(x).numpy())
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE * max(np.abs(expected).max(), 1e-300))


def test_unknown_cam_layer_raises() -> None:
    _, model, _, x = case("image_cnn")
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        Explainer(model, "grad_cam", layer="nope")(x)


@pytest.mark.parametrize("model_name", MODELS)
def test_integrated_gradients_array_baseline_equals_reference(model_name: str) -> None:
    ref_model, model, x_ref, x = case(model_name)
    baseline = np.random.default_rng(5).uniform(-0.2, 0.2, size=x_ref.shape[1:])  # one sample, channels-last
    expected = ref.explain(ref_model, x_ref, "integrated_gradients_steps_100", baseline=baseline)
    torch_baseline = np.moveaxis(baseline, -1, 0)  # the torch layout: channels first
    got = to_reference_layout(Explainer(model, "integrated_gradients_steps_100", baseline=torch_baseline)(x).numpy())
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE * np.abs(expected).max())


#: One method per non-LRP base (they differentiate through any BatchNorm) and LRP methods (refused).
UNFOLDED_BN_METHODS = [
    "gradient",
    "gradient_x_sign_mu_neg_0_5",
    "guided_backprop",
    "deconvnet_x_input",
    "integrated_gradients",
    "smoothgrad",
    "vargrad",
    "grad_cam",
    "guided_grad_cam",
    "lrp_epsilon_0_1",
    "lrpsign_z",
]


@pytest.mark.parametrize("where", ["after_elu", "after_relu"])
@pytest.mark.parametrize("method", UNFOLDED_BN_METHODS)
def test_batchnorm_not_after_a_layer_with_weights(where: str, method: str) -> None:
    """A BatchNorm after an activation: every non-LRP method equals the reference, LRP is refused."""
    ref_model = zoo.unfoldable_bn_cnn(seed=0, where=where)
    x_ref = zoo.sample_inputs(ref_model, n=2, seed=0)
    model = mirror(ref_model)
    x = torch.from_numpy(to_torch_layout(x_ref))
    try:
        expected = ref.explain(ref_model, x_ref, method)
    except ValueError:
        with pytest.raises(ValueError, match="BatchNorm"):
            Explainer(model, method)(x)
        return
    got = to_reference_layout(Explainer(model, method)(x).numpy())
    scale = np.abs(expected).max()
    assert scale > 0
    assert np.abs(got - expected).max() <= TOLERANCE * scale


def _flat_stretches(x: np.ndarray) -> np.ndarray:
    """Quantised input with a near-zero stretch and a near-constant one (rounding-level noise, 1e-13): max-pooling
    windows whose values differ far below tau * s, where PyTorch's own max would pick the largest, not the first."""
    noise = 1e-13 * np.random.default_rng(7).standard_normal(x.shape)
    x = np.round(x * 20) / 20
    x[:, : x.shape[1] // 3] = 0.0
    x[:, x.shape[1] // 3 : x.shape[1] // 2] = 0.25
    return x + noise


@pytest.mark.parametrize("model_name", ["residual_cnn", "ecg_resnet", "gated_ecg", "timeseries_cnn"])
@pytest.mark.parametrize(
    "method", ["gradient", "guided_backprop", "smoothgrad", "lrp_epsilon_0_1", "lrpsign_z", "zblrp_z_VGG16ILSVRC"]
)
def test_max_pooling_ties_equal_reference(model_name: str, method: str) -> None:
    """Spec section 1: ties within tau * max|input| go to the first element of the window, in every method."""
    ref_model, model, x_ref, _ = case(model_name)
    x_ref = _flat_stretches(x_ref.copy())
    expected = ref.explain(ref_model, x_ref, method)
    got = to_reference_layout(Explainer(model, method)(torch.from_numpy(to_torch_layout(x_ref))).numpy())
    scale = np.abs(expected).max()
    assert scale > 0 and np.abs(got - expected).max() <= TOLERANCE * scale


@pytest.mark.parametrize(
    ("model_name", "method", "layer"),
    [
        ("residual_cnn", "grad_cam", "b1_out"),
        ("mobile_cnn", "guided_grad_cam", "se_mul"),
        ("dense_cnn", "grad_cam", "l2_cat"),
        ("ecg_resnet", "grad_cam_timeseries", "b1_add"),
    ],
)
def test_named_cam_layer_of_dag_models_equals_reference(model_name: str, method: str, layer: str) -> None:
    ref_model, model, x_ref, x = case(model_name)
    expected = ref.explain(ref_model, x_ref, method, layer=layer)
    got = to_reference_layout(Explainer(model, method, layer=layer)(x).numpy())
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE * max(np.abs(expected).max(), 1e-300))


@pytest.mark.parametrize("model_name", list(zoo.DAG_MODELS))
def test_lrp_z_conserves_on_bias_free_dag_models(model_name: str) -> None:
    """zoo.bias_free (biases, BatchNorm mean and beta, Affine shift 0): sum R = z_t through additions, gates,
    concatenation, upsampling and pooling."""
    ref_model = zoo.bias_free(zoo.DAG_MODELS[model_name](0))
    model = mirror(ref_model)
    x = torch.from_numpy(to_torch_layout(zoo.sample_inputs(ref_model, n=2, seed=0)))
    relevance = Explainer(model, "lrp_z")(x, target=1)
    z_t = model(x)[:, 1].detach()
    torch.testing.assert_close(relevance.flatten(1).sum(dim=1), z_t, rtol=1e-9, atol=0)


def _shared_output_model() -> L.Model:
    """A conv whose output feeds a BatchNorm AND a residual addition: the BatchNorm cannot be folded (affine)."""
    rng = np.random.default_rng(3)
    conv = L.Conv2D(rng.normal(0, 0.4, (3, 3, 3, 4)), None, padding="same", name="conv")
    bn = L.BatchNorm(
        rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4), rng.uniform(0.5, 2, 4), name="bn"
    )
    return L.Model(
        layers=(
            conv,
            bn,
            L.Add(name="add", inputs=("bn", "conv")),
            L.ReLU(name="relu"),
            L.GlobalAvgPool(name="gap"),
            L.Dense(rng.normal(0, 0.5, (4, 3)), rng.normal(0, 0.1, 3), name="fc"),
        ),
        input_shape=(6, 6, 3),
        name="shared_output",
    )


@pytest.mark.parametrize("method", ["lrp_epsilon_0_1", "lrpsign_alpha_2_beta_1", "w2lrp_z", "lrp_epsilon_0_1_std_x"])
def test_batchnorm_after_a_layer_with_another_consumer_equals_reference(method: str) -> None:
    ref_model = _shared_output_model()
    x_ref = zoo.sample_inputs(ref_model, n=2, seed=0)
    expected = ref.explain(ref_model, x_ref, method)
    got = to_reference_layout(Explainer(mirror(ref_model), method)(torch.from_numpy(to_torch_layout(x_ref))).numpy())
    assert np.abs(got - expected).max() <= TOLERANCE * np.abs(expected).max()


FLAT_METHODS = [
    "gradient",
    "input_t_gradient",
    "guided_backprop",
    "deconvnet",
    "integrated_gradients",
    "smoothgrad",
    "vargrad",
    "grad_cam",
    "grad_cam_timeseries",
    "lrp_z",
    "lrpsign_epsilon_0_25_std_x",
    "lrp_alpha_2_beta_1",
    "lrpz_gamma_0_25",
    "w2lrp_sequential_composite_a",
    "flatlrp_epsilon_1",
    "zblrp_sequential_composite_b_VGG16ILSVRC",
    "deep_taylor",
]


@pytest.mark.parametrize("model_name", ["image_cnn", "timeseries_cnn", "residual_cnn", "ecg_resnet", "gated_ecg"])
@pytest.mark.parametrize("method", FLAT_METHODS)
def test_flat_inputs_equal_reference(model_name: str, method: str) -> None:
    """zoo.flat_inputs (quantised, a constant stretch, trailing zeros): ties decided by the rule of spec section 1."""
    ref_model, model, _, _ = case(model_name)
    x_ref = zoo.flat_inputs(ref_model, n=2, seed=0)
    x = torch.from_numpy(to_torch_layout(x_ref))
    try:
        expected = ref.explain(ref_model, x_ref, method)
    except ValueError:
        with pytest.raises(ValueError):
            Explainer(model, method)(x)
        return
    got = to_reference_layout(Explainer(model, method)(x).numpy())
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() <= TOLERANCE * scale or (scale == 0 and np.abs(got).max() == 0)
