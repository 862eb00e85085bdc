"""Every catalog method equals the float64 NumPy reference (spec section 6), method by method, signed maps.

The Keras models are float64 twins of ``signxai.common.reference.zoo`` (:mod:`keras_mirror`), fed the zoo's
sample inputs (exact zeros and values equal to +-0.5). Non-LRP methods run on every model, LRP methods
round-robin over the models (each on one; the spelling set on all) to keep the session short;
``SIGNXAI_FULL_CATALOG=1`` runs every method on every model. A method the reference refuses on a model (an alias
naming a layer the model lacks, image Grad-CAM on a time series, ...) must be refused with ValueError here too.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf
from keras_mirror import to_keras

from signxai.common import list_methods, parse_method, required_keywords
from signxai.common.reference import explain as reference_explain
from signxai.common.reference import zoo
from signxai.common.reference.layers import BatchNorm
from signxai.tf import explain

TOLERANCE = 1e-6
ZOO = {"image": zoo.image_cnn, "timeseries": zoo.timeseries_cnn, "pooling": zoo.pooling_cnn}
#: Methods also checked on the other Keras spellings (fused activations, functional API).
SPELLING_METHODS = [
    "gradient",
    "guided_backprop_x_sign",
    "deconvnet",
    "integrated_gradients",
    "smoothgrad_x_input",
    "grad_cam",
    "guided_grad_cam",
    "lrp_z",
    "lrpsign_epsilon_0_25_std_x",
    "lrpsign_z_mu_0_5" if "lrpsign_z_mu_0_5" in list_methods() else "lrpsign_epsilon_100_mu_0_5",
    "w2lrp_alpha_2_beta_1",
    "flatlrp_gamma_0_25",
    "zblrp_epsilon_0_1_VGG16ILSVRC",
    "lrpz_sequential_composite_b",
    "deep_taylor",
]


def keywords(name: str) -> dict:
    """Keyword values for the bare names that require them (mu = 0.5; bounds for a bare zblrp)."""
    needed = required_keywords(name)
    kw: dict = {}
    if "mu" in needed:
        kw["mu"] = 0.5
    if "low" in needed:
        kw.update(low=-1.0, high=1.0)
    return kw


@pytest.fixture(scope="module")
def zoo_models() -> dict:
    out = {}
    for key, build in ZOO.items():
        ref_model = build(seed=0)
        out[key] = (ref_model, to_keras(ref_model), zoo.sample_inputs(ref_model, n=2, seed=0))
    return out


def check_against_reference(ref_model, keras_model: tf.keras.Model, x: np.ndarray, method: str) -> float:
    """Compare one method; returns max|delta| / max|R_ref| (0 for maps identically 0 in both)."""
    kw = keywords(method)
    try:
        expected = reference_explain(ref_model, x, method, **kw)
    except ValueError:
        with pytest.raises(ValueError):
            explain(keras_model, x, method, **kw)
        return 0.0
    got = explain(keras_model, x, method, **kw)
    assert got.shape == x.shape
    assert got.dtype == np.float64
    scale = float(np.abs(expected).max())
    delta = float(np.abs(got - expected).max())
    if scale == 0.0:
        assert delta == 0.0, f"{method}: reference map is 0, got max |R| = {delta}"
        return 0.0
    assert delta <= TOLERANCE * scale, f"{method}: max|delta| = {delta:.3e} > {TOLERANCE} * {scale:.3e}"
    return delta / scale


def catalog_cases(models: list[str], core: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(model, method) pairs: every non-LRP method on every model; the LRP methods (one analyzer build each)
    round-robin over the models, those in ``core`` on all; ``SIGNXAI_FULL_CATALOG=1`` runs everything everywhere."""
    full = os.environ.get("SIGNXAI_FULL_CATALOG") == "1"
    cases, turn = [], 0
    for method in list_methods():
        if full or method in core or parse_method(method, **keywords(method)).family != "lrp":
            cases.extend((key, method) for key in models)
        else:
            cases.append((models[turn % len(models)], method))
            turn += 1
    return cases


@pytest.mark.parametrize(("model_key", "method"), catalog_cases(list(ZOO), tuple(SPELLING_METHODS)))
def test_method_matches_reference(zoo_models: dict, model_key: str, method: str) -> None:
    ref_model, keras_model, x = zoo_models[model_key]
    check_against_reference(ref_model, keras_model, x, method)


@pytest.mark.parametrize("spelling", ["fused", "functional", "fused_functional"])
@pytest.mark.parametrize("method", SPELLING_METHODS)
def test_other_keras_spellings(zoo_models: dict, spelling: str, method: str) -> None:
    for key in ("image", "pooling"):
        ref_model, _, x = zoo_models[key]
        keras_model = to_keras(ref_model, fused="fused" in spelling, functional="functional" in spelling)
        check_against_reference(ref_model, keras_model, x, method)


def test_mirror_forward_matches_reference(zoo_models: dict) -> None:
    from signxai.common.reference import forward

    for ref_model, keras_model, x in zoo_models.values():
        np.testing.assert_allclose(keras_model(x).numpy(), forward(ref_model, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["grad_cam_VGG16MITPL365", "guided_grad_cam_VGG16MITPL365"])
def test_alias_naming_an_activation_layer(method: str) -> None:
    """``relu5_3`` names a ReLU layer (the Caffe-style VGG16): A is that layer's output."""
    base = zoo.image_cnn(seed=0)
    renamed = tuple(
        dataclasses.replace(layer, name="relu5_3") if layer.name == "re_lu_2" else layer for layer in base.layers
    )
    ref_model = dataclasses.replace(base, layers=renamed)
    x = zoo.sample_inputs(ref_model, n=2, seed=0)
    keras_model = to_keras(ref_model)
    assert check_against_reference(ref_model, keras_model, x, method) >= 0.0
    assert np.abs(explain(keras_model, x, method)).max() > 0


@pytest.mark.parametrize("method", ["lrp_epsilon_0_1", "lrpsign_alpha_2_beta_1", "w2lrp_z", "gradient", "deconvnet"])
def test_batchnorm_after_a_conv_without_bias(method: str) -> None:
    """BatchNormalization folded into a bias-free convolution (the fold creates the bias) equals the reference."""
    base = zoo.pooling_cnn(seed=0)
    first = base.layers[0]
    assert isinstance(base.layers[1], BatchNorm)
    ref_model = dataclasses.replace(
        base, layers=(dataclasses.replace(first, bias=np.zeros_like(first.bias)), *base.layers[1:])
    )
    twin = to_keras(ref_model)
    config = twin.get_config()
    conv_config = next(c for c in config["layers"] if c["config"]["name"] == first.name)
    conv_config["config"]["use_bias"] = False
    keras_model = tf.keras.Sequential.from_config(config)
    for layer in keras_model.layers:
        weights = twin.get_layer(layer.name).get_weights()
        layer.set_weights(weights[:1] if layer.name == first.name else weights)
    assert len(keras_model.get_layer(first.name).weights) == 1
    x = zoo.sample_inputs(ref_model, n=2, seed=0)
    check_against_reference(ref_model, keras_model, x, method)


#: One method per non-LRP base (they differentiate through any BatchNormalization) and LRP methods (refused).
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
    """A BatchNormalization after an activation: every non-LRP method equals the reference, LRP is refused."""
    ref_model = zoo.unfoldable_bn_cnn(seed=0, where=where)
    x = zoo.sample_inputs(ref_model, n=2, seed=0)
    check_against_reference(ref_model, to_keras(ref_model), x, method)
