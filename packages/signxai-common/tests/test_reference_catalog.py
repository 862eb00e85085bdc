"""Every catalog name runs on the reference zoo: finite float64 maps of x's shape, batch independent."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.common import list_methods, parse_method, required_keywords
from signxai.common.reference import explain, zoo

KEYWORDS = {"mu": 0.5, "low": -1.0, "high": 1.0}
FAST = {"samples": 3, "steps": 5}  # fewer noisy samples / path points keep the batch check quick


def _keywords(name: str) -> dict:
    return {k: KEYWORDS[k] for k in required_keywords(name)}


def _applicable(name: str, model_name: str) -> bool:
    """Whether ``name`` is expected to run on the zoo model (Grad-CAM kind and alias layers)."""
    spec = parse_method(name, **_keywords(name))
    if spec.family != "cam":
        return True
    layers = {layer.name for layer in zoo.MODELS[model_name]().layers}
    kind_ok = (spec.cam_kind == "timeseries") == (model_name == "timeseries_cnn")
    return kind_ok and (spec.layer is None or spec.layer in layers)


CASES = [(m, n) for m in sorted(zoo.MODELS) for n in list_methods()]


@pytest.mark.parametrize("model_name", sorted(zoo.MODELS))
def test_every_catalog_name_runs_or_raises_value_error(model_name):
    model = zoo.MODELS[model_name]()
    x = zoo.sample_inputs(model, 2)
    x_before = x.copy()
    ran = 0
    for name in list_methods():
        kw = _keywords(name)
        if _applicable(name, model_name):
            r = explain(model, x, name, **kw)
            assert r.shape == x.shape and r.dtype == np.float64, name
            assert np.all(np.isfinite(r)), name
            assert np.any(r != 0) or name.startswith("guided_grad_cam"), name
            ran += 1
        else:
            with pytest.raises(ValueError):
                explain(model, x, name, **kw)
    np.testing.assert_array_equal(x, x_before)
    assert ran >= 200


@pytest.mark.parametrize("model_name", sorted(zoo.MODELS))
def test_a_batch_never_changes_a_map(model_name):
    model = zoo.MODELS[model_name]()
    x = zoo.sample_inputs(model, 2)
    for name in list_methods():
        if not _applicable(name, model_name):
            continue
        kw = _keywords(name)
        spec = parse_method(name, **kw)
        if spec.base in ("smoothgrad", "vargrad"):
            kw["samples"] = FAST["samples"]
        if spec.base == "integrated_gradients":
            kw["steps"] = FAST["steps"]
        both = explain(model, x, name, target=[0, 1], **kw)
        for i in range(2):
            alone = explain(model, x[i : i + 1], name, target=i, **kw)
            np.testing.assert_allclose(both[i : i + 1], alone, rtol=1e-9, atol=1e-12, err_msg=name)


def test_aliases_other_than_vgg16ilsvrc_need_their_layer():
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 1)
    with pytest.raises(ValueError, match="relu5_3"):
        explain(model, x, "grad_cam_VGG16MITPL365")
    # MNISTCNN's layer conv2d_1 exists in the image zoo model: the alias picks it, not the last convolution
    np.testing.assert_array_equal(
        explain(model, x, "grad_cam_MNISTCNN"), explain(model, x, "grad_cam", layer="conv2d_1")
    )


def test_method_spec_and_keyword_errors():
    model = zoo.image_cnn()
    x = zoo.sample_inputs(model, 1)
    spec = parse_method("lrp_epsilon_1")
    np.testing.assert_array_equal(explain(model, x, spec), explain(model, x, "lrp_epsilon_1"))
    with pytest.raises(ValueError, match="MethodSpec"):
        explain(model, x, spec, epsilon=2.0)
    with pytest.raises(ValueError):
        explain(model, x, "gradient_x_sign_mu")  # needs mu=
    with pytest.raises(ValueError, match="out of range"):
        explain(model, x, "gradient", target=7)
    with pytest.raises(ValueError, match="shape"):
        explain(model, x[:, :4], "gradient")
    with pytest.raises(ValueError, match="NaN"):
        explain(model, np.full_like(x, np.nan), "gradient")


@pytest.mark.parametrize("where", ["after_elu", "after_relu"])
def test_unfoldable_batchnorm_is_an_affine_layer_for_lrp(where):
    # spec section 8 (changed: LRP used to refuse it): the BatchNorm is a layer with weights under the Dense rule
    model = zoo.unfoldable_bn_cnn(seed=0, where=where)
    x = zoo.sample_inputs(model, n=2, seed=0)
    assert np.isfinite(zoo.forward(model, x)).all()
    r = explain(model, x, "lrp_epsilon_0_1")
    assert np.isfinite(r).all() and np.abs(r).max() > 0
    assert np.abs(explain(model, x, "guided_backprop")).max() > 0
    with pytest.raises(ValueError, match="after_elu"):
        zoo.unfoldable_bn_cnn(where="after_pool")
