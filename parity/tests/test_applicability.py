"""Which catalog names run on which model."""

from __future__ import annotations

from signxai.common import list_methods
from signxai.parity import models
from signxai.parity.applicability import plan_method, plan_methods
from signxai.parity.suite import SMALL_CI_METHODS, VGG16_CI_METHODS, non_argmax_class


def test_image_model_cams():
    model = models.batchnorm_cnn()  # has a layer named conv2d_1 (the MNISTCNN alias layer)
    assert plan_method("grad_cam", model, 4).applicable
    assert plan_method("guided_grad_cam_MNISTCNN", model, 4).applicable
    assert "block5_conv3" in plan_method("grad_cam_VGG16ILSVRC", model, 4).reason
    assert "relu5_3" in plan_method("guided_grad_cam_VGG16MITPL365", model, 4).reason
    assert "time series" in plan_method("grad_cam_timeseries", model, 4).reason


def test_timeseries_model_cams_and_bare_mu():
    model = models.ecg_cnn(length=500)
    assert plan_method("grad_cam_timeseries", model, 3).applicable
    assert "images" in plan_method("grad_cam", model, 3).reason
    assert "images" in plan_method("grad_cam_MNISTCNN", model, 3).reason
    bare = plan_method("smoothgrad_x_sign_mu", model, 3)
    assert bare.applicable and bare.params == {"mu": 0.5}
    assert plan_method("smoothgrad_x_sign_mu", model, 3, {"mu": -1.0}).params == {"mu": -1.0}


def test_whole_catalog_plans():
    model = models.ecg_cnn(length=500)
    planned = plan_methods(model, 3)
    assert [p.method for p in planned] == list(list_methods())
    not_applicable = {p.method for p in planned if not p.applicable}
    assert all("cam" in name for name in not_applicable)
    assert "grad_cam_timeseries" not in not_applicable and "grad_cam" in not_applicable


def test_suite_subsets_are_catalog_names():
    catalog = set(list_methods())
    assert set(VGG16_CI_METHODS) <= catalog and set(SMALL_CI_METHODS) <= catalog


def test_non_argmax_class():
    logits = [[0.1, 3.0, 2.0, -1.0], [2.5, 0.0, 1.0, 0.0]]
    assert non_argmax_class(logits) == 2
    assert non_argmax_class([[0.0, 1.0, 5.0]]) == 1
