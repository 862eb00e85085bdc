"""The suite definition and the command line (argument handling; the suite itself runs in `nox -s parity`)."""

from __future__ import annotations

import pytest

from signxai.common import list_methods
from signxai.parity.__main__ import main
from signxai.parity.runner import run
from signxai.parity.suite import ARCHITECTURES, SMALL_CI_METHODS, VGG16_CI_FLOAT64_EXCLUDED, cases


def test_profiles():
    ci = {c.name: c for c in cases("ci")}
    full = {c.name: c for c in cases("full")}
    architectures = {"ecg_resnet", "resnet2d", "mobilenet_block", "densenet_block", "efficientnet_block"}
    assert {name for name, _, _ in ARCHITECTURES} == architectures
    names = {"vgg16", "ecg_cnn", "ecg_cnn_constant", "batchnorm_cnn", "pooling_cnn", "reshape_cnn", *architectures}
    assert set(ci) == set(full) == names
    assert all(c.methods_for(t) is None for c in full.values() for t in ("float64", "float32"))
    assert ci["ecg_cnn"].methods_for("float64") is None  # the whole catalog in the proof tier
    vgg64, vgg32 = ci["vgg16"].methods_for("float64"), ci["vgg16"].methods_for("float32")
    assert set(vgg64) == set(vgg32) - set(VGG16_CI_FLOAT64_EXCLUDED)
    catalog = set(list_methods())
    for case in ci.values():
        for tier in ("float64", "float32"):
            assert set(case.methods_for(tier) or ()) <= catalog
    assert "VGG16" in ci["vgg16"].note and "full" in ci["vgg16"].note
    assert ci["ecg_cnn_constant"].methods_for("float64") == SMALL_CI_METHODS
    assert "constant" in ci["ecg_cnn_constant"].note
    for name in architectures:  # every applicable method of the small models, in both tiers
        assert ci[name].methods_for("float64") == ci[name].methods_for("float32") == SMALL_CI_METHODS
    with pytest.raises(ValueError, match="profile"):
        cases("quick")


def test_unknown_model_and_jobs():
    with pytest.raises(ValueError, match="unknown suite models"):
        run(model_names=["resnet"])
    with pytest.raises(ValueError, match="jobs"):
        run(model_names=["ecg_cnn"], jobs=3)
    with pytest.raises(SystemExit):
        main(["--tiers", "float16"])


class _Model:
    input_shape = (None, 3000, 12)


def test_ecg_inputs_are_recorder_like():
    ci = {c.name: c for c in cases("ci")}
    flat = ci["ecg_cnn"].inputs(_Model())
    constant = ci["ecg_cnn_constant"].inputs(_Model())
    assert flat.shape == constant.shape == (1, 3000, 12)
    assert (flat[0, -400:] == 0).all() and (constant[0, -400:] == 0).all()  # zero padding to the model's length
    segment = constant[0][(flat[0] == 0).all(axis=1) & (constant[0] != 0).all(axis=1)]
    assert len(segment) > 100 and (segment == segment[0, 0]).all()  # the flat stretch, now at a constant level
