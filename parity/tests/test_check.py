"""check() end to end on small converted models: both backends, both tiers, several targets."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from signxai.parity import check

METHODS = [
    "gradient_x_sign_mu",
    "smoothgrad",
    "lrp_epsilon_0_1",
    "lrpsign_z",
    "lrp_alpha_2_beta_1",
    "w2lrp_z",
    "deep_taylor",
    "grad_cam",
    "grad_cam_MNISTCNN",
    "grad_cam_VGG16ILSVRC",
    "grad_cam_timeseries",
    "random_uniform",
]


@pytest.mark.parametrize("tier", ["float64", "float32"])
def test_check_pooling_cnn(converted, tier):
    model, torch_model, _, x = converted["pooling_cnn"]
    report = check(
        model,
        x,
        methods=METHODS,
        dtype=tier,
        targets=[None, 3],
        params={"smoothgrad": {"samples": 3}},
        torch_model=torch_model,
        progress=False,
    )
    assert report.forward[0].passed and report.forward[0].tier == tier
    rows = {(r.method, r.target): r for r in report.results}
    assert rows[("grad_cam_VGG16ILSVRC", "-")].status == "not applicable"
    assert rows[("grad_cam_timeseries", "-")].status == "not applicable"
    assert rows[("grad_cam_MNISTCNN", "argmax")].status == "pass"  # pooling_cnn has a conv2d_1 layer
    assert rows[("gradient_x_sign_mu", "3")].params == {"mu": 0.5}
    assert rows[("smoothgrad", "argmax")].params == {"samples": 3}
    ran = [r for r in report.results if r.status != "not applicable"]
    assert len(ran) == 2 * (len(METHODS) - 2)
    assert report.ok, "\n".join(report.summary_lines())
    if tier == "float64":
        assert max(r.rel_max_abs_diff for r in ran) <= 1e-6
    else:
        assert min(r.pearson_r for r in ran if r.pearson_r is not None) >= 0.999
    assert all(r.seconds_tf is not None and r.seconds_torch is not None for r in ran)


def test_check_converts_when_no_torch_model_is_given(converted):
    model, _, conversion, x = converted["ecg_cnn"]
    report = check(model, x, methods=["lrp_z", "grad_cam_timeseries", "grad_cam"], dtype="float64", progress=False)
    assert report.conversions[0]["cached"] and report.conversions[0]["key"] == conversion.key
    statuses = {r.method: r.status for r in report.results}
    assert statuses["lrp_z"] == "pass"
    assert statuses["grad_cam"] == "not applicable"


def test_forward_mismatch_stops_and_fails(converted):
    model, torch_model, _, x = converted["batchnorm_cnn"]
    broken = copy.deepcopy(torch_model)
    linear = [m for m in broken.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        linear.bias.add_(0.05)
    report = check(model, x, methods=["lrp_z"], dtype="float32", torch_model=broken, progress=False)
    assert not report.forward[0].passed
    assert not report.ok and report.results == []
    assert "forward parity failed" in report.notes[0]


def test_method_mismatch_is_a_named_failure(converted):
    """A torch twin with the first layer's input channels permuted gives the same logits on an input that is
    constant over channels, but a different gradient map: the run fails and names the method."""
    model, torch_model, _, x = converted["pooling_cnn"]
    x_sym = np.repeat(x[..., :1], 3, axis=-1)
    twisted = copy.deepcopy(torch_model)
    conv = [m for m in twisted.modules() if isinstance(m, torch.nn.Conv2d)][0]
    with torch.no_grad():
        conv.weight.copy_(conv.weight[:, [1, 2, 0]])
    report = check(model, x_sym, methods=["gradient"], dtype="float64", torch_model=twisted, progress=False)
    assert report.forward[0].passed
    assert [r.status for r in report.results] == ["fail"]
    assert not report.ok
    assert any("gradient" in line for line in report.summary_lines() if line.strip().startswith("FAILED"))


def test_bad_arguments(converted):
    model, torch_model, _, x = converted["pooling_cnn"]
    with pytest.raises(ValueError, match="dtype"):
        check(model, x, dtype="float16", torch_model=torch_model)
    with pytest.raises(ValueError, match="batch"):
        check(model, x[0, 0, 0], torch_model=torch_model)
