"""Catalog methods on the DAG models of the reference zoo equal the float64 reference (spec section 8).

Every non-LRP method runs on every DAG model. The LRP methods (163 distinct rule sets, one analyzer build each)
are spread round-robin over the five models, so each runs on one model, and a core set (every input rule and body
rule kind) runs on all five; ``SIGNXAI_FULL_CATALOG=1`` runs every method on every model.

The Keras twins (:func:`keras_mirror.to_keras_graph`) hold residual additions, BatchNorm after an addition and
before a convolution, ReLU6 / hard_swish / SiLU / leaky ReLU / GELU / SELU / softplus / tanh, depthwise and grouped
convolutions, a squeeze-excitation gate and gated units, Concatenate, Rescaling, explicit ZeroPadding, UpSampling
and both poolings; inputs hold exact zeros and repeated values. Conservation is checked on the bias-free twins.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_mirror import to_keras
from test_reference import catalog_cases, check_against_reference

from signxai.common import list_methods
from signxai.common.reference import forward, zoo
from signxai.tf import explain

DAG = dict(zoo.DAG_MODELS)
CORE_LRP = [
    "lrp_z",
    "lrpsign_epsilon_0_25_std_x",
    "lrpz_alpha_2_beta_1",
    "w2lrp_epsilon_0_1",
    "flatlrp_gamma_0_25",
    "zblrp_z_VGG16ILSVRC",
    "lrpsign_z_mu_0_5" if "lrpsign_z_mu_0_5" in list_methods() else "lrpsign_epsilon_100_mu_0_5",
    "lrp_sequential_composite_b" if "lrp_sequential_composite_b" in list_methods() else "lrpz_sequential_composite_b",
    "deep_taylor",
]


@pytest.fixture(scope="module")
def dag_models() -> dict:
    out = {}
    for key, build in DAG.items():
        ref_model = build(seed=0)
        out[key] = (ref_model, to_keras(ref_model), zoo.sample_inputs(ref_model, n=2, seed=0))
    return out


def test_mirror_forward_matches_reference(dag_models: dict) -> None:
    for key, (ref_model, keras_model, x) in dag_models.items():
        np.testing.assert_allclose(keras_model(x).numpy(), forward(ref_model, x), rtol=1e-11, atol=1e-11, err_msg=key)


@pytest.mark.parametrize(("model_key", "method"), catalog_cases(list(DAG), tuple(CORE_LRP)))
def test_method_matches_reference(dag_models: dict, model_key: str, method: str) -> None:
    ref_model, keras_model, x = dag_models[model_key]
    check_against_reference(ref_model, keras_model, x, method)


@pytest.mark.parametrize("model_key", list(DAG))
def test_conservation_bias_free(model_key: str) -> None:
    ref_model = zoo.bias_free(DAG[model_key](seed=0))
    keras_model = to_keras(ref_model)
    x = zoo.sample_inputs(ref_model, n=2, seed=0)
    logits = keras_model(x).numpy()
    targets = logits.argmax(axis=1)
    r = explain(keras_model, x, "lrp_z")
    z_t = logits[np.arange(len(x)), targets]
    sums = r.reshape(len(x), -1).sum(axis=1)
    np.testing.assert_allclose(sums, z_t, rtol=1e-6, err_msg=model_key)


#: Models with max pooling, and methods of every family whose backward pass crosses it.
TIE_MODELS = {
    "image_cnn": zoo.image_cnn,
    "timeseries_cnn": zoo.timeseries_cnn,
    "residual_cnn": zoo.residual_cnn,
    "ecg_resnet": zoo.ecg_resnet,
    "gated_ecg": zoo.gated_ecg,
}
TIE_METHODS = ["gradient", "integrated_gradients", "guided_backprop", "deconvnet", "grad_cam", "lrp_z", "lrpsign_z"]


@pytest.mark.parametrize("method", TIE_METHODS)
@pytest.mark.parametrize("model_key", list(TIE_MODELS))
def test_max_pooling_ties_match_reference(model_key: str, method: str) -> None:
    """Inputs with flat stretches put (rounding-level) ties into the pooling windows; the first tied element wins."""
    ref_model = TIE_MODELS[model_key](seed=0)
    x = zoo.flat_inputs(ref_model, n=2, seed=0)
    name = method + ("_timeseries" if method == "grad_cam" and len(ref_model.input_shape) == 2 else "")
    check_against_reference(ref_model, to_keras(ref_model), x, name)
