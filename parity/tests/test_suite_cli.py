"""The suite definition and the command line (argument handling; the suite itself runs in `nox -s parity`)."""

from __future__ import annotations

import pytest

from signxai.common import list_methods
from signxai.parity.__main__ import main
from signxai.parity.runner import run
from signxai.parity.suite import VGG16_CI_FLOAT64_EXCLUDED, cases


def test_profiles():
    ci = {c.name: c for c in cases("ci")}
    full = {c.name: c for c in cases("full")}
    assert set(ci) == set(full) == {"vgg16", "ecg_cnn", "batchnorm_cnn", "pooling_cnn", "reshape_cnn"}
    assert all(c.methods_for(t) is None for c in full.values() for t in ("float64", "float32"))
    assert ci["ecg_cnn"].methods_for("float64") is None  # the whole catalog in the proof tier
    vgg64, vgg32 = ci["vgg16"].methods_for("float64"), ci["vgg16"].methods_for("float32")
    assert set(vgg64) == set(vgg32) - set(VGG16_CI_FLOAT64_EXCLUDED)
    catalog = set(list_methods())
    for case in ci.values():
        for tier in ("float64", "float32"):
            assert set(case.methods_for(tier) or ()) <= catalog
    assert "VGG16" in ci["vgg16"].note and "full" in ci["vgg16"].note
    with pytest.raises(ValueError, match="profile"):
        cases("quick")


def test_unknown_model_and_jobs():
    with pytest.raises(ValueError, match="unknown suite models"):
        run(model_names=["resnet"])
    with pytest.raises(ValueError, match="jobs"):
        run(model_names=["ecg_cnn"], jobs=3)
    with pytest.raises(SystemExit):
        main(["--tiers", "float16"])
