"""Every catalog method on every DAG model of the reference zoo equals the float64 reference (spec section 8).

The Keras twins (:func:`keras_mirror.to_keras_graph`) hold residual additions, BatchNorm after an addition and
before a convolution, ReLU6 / hard_swish / SiLU / leaky ReLU / GELU / SELU / softplus / tanh, depthwise and grouped
convolutions, a squeeze-excitation gate and gated units, Concatenate, Rescaling, explicit ZeroPadding, UpSampling
and both poolings; inputs hold exact zeros and repeated values. Conservation is checked on the bias-free twins.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_mirror import to_keras
from test_reference import check_against_reference

from signxai.common import list_methods
from signxai.common.reference import forward, zoo
from signxai.tf import explain

DAG = dict(zoo.DAG_MODELS)


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


@pytest.mark.parametrize("model_key", list(DAG))
@pytest.mark.parametrize("method", list_methods())
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
