"""The demo (``nox -s demo``) end to end in its quick configuration, and its pieces."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.parity.demo import QUICK, DemoConfig, DemoResult, _pick
from signxai.parity.demo.__main__ import main
from signxai.parity.demo.explain import ECG_METHODS, IMAGE_METHODS
from signxai.parity.demo.gallery import _wrap
from signxai.parity.metrics import Comparison


def test_quick_demo_writes_gallery_with_both_backends_and_parity(tmp_path, capsys):
    out = tmp_path / "gallery"
    assert main(["--quick", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"gallery: {(out / 'index.html').resolve()}" in printed
    assert "parity (PyTorch vs TensorFlow, Pearson r >= 0.999): ok" in printed
    index = (out / "index.html").read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(
        [f"digits_{k}.png" for k in range(QUICK.image_samples)]
        + [f"ecg_{m}_{b}.png" for m in QUICK.ecg_methods for b in ("torch", "tf")]
    )
    for name in pngs:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"src='{name}'" in index
    for method in QUICK.image_methods + QUICK.ecg_methods:
        assert f"<code>{method}</code>" in index
    assert index.count('class="ok">pass') == len(QUICK.image_methods) + len(QUICK.ecg_methods)
    assert "FAIL" not in index


def test_default_methods_cover_every_family():
    from signxai.common import parse_method

    for methods, cam in ((IMAGE_METHODS, "grad_cam"), (ECG_METHODS, "grad_cam_timeseries")):
        specs = [parse_method(m) for m in methods]
        assert {s.family for s in specs} == {"gradient", "cam", "lrp"}
        assert cam in methods
        assert {"gradient", "smoothgrad", "integrated_gradients", "guided_backprop"} <= {s.base for s in specs}
        assert any(m.startswith("lrpsign_") for m in methods)
        assert any("std_x" in m for m in methods)
        assert any("composite" in m for m in methods)
    assert DemoConfig().image_methods == IMAGE_METHODS


def test_pick_prefers_correct_samples_of_distinct_classes():
    labels = np.array([0, 0, 1, 2, 2, 1])
    predictions = np.array([0, 0, 2, 2, 2, 1])  # sample 2 is wrong
    assert _pick(predictions, labels, 3).tolist() == [0, 3, 5]
    assert _pick(predictions, labels, 1, wanted=(1,)).tolist() == [5]
    # too few correct samples of distinct classes: other correct ones, then the rest
    assert _pick(predictions, labels, 5).tolist() == [0, 3, 5, 1, 4]
    assert _pick(predictions, labels, 6).tolist() == [0, 3, 5, 1, 4, 2]


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("gradient", ["gradient"]),
        ("lrp_epsilon_0_25_std_x", ["lrp_epsilon_0_25", "_std_x"]),
        ("lrpsign_sequential_composite_a", ["lrpsign", "_sequential", "_composite_a"]),
    ],
)
def test_wrap_breaks_titles_between_words(name, lines):
    wrapped = _wrap(name)
    assert wrapped.split("\n") == lines
    assert wrapped.replace("\n", "") == name


def test_parity_failures_name_task_and_method(tmp_path):
    ok = Comparison(True, "r", 0.0, 1.0, 0.0, 1.0)
    bad = Comparison(False, "r", 1.0, 1.0, 1.0, 0.5)
    maps = {
        "digits": [_maps("gradient", ok), _maps("grad_cam", bad)],
        "ecg": [_maps("lrp_epsilon_0_1", bad)],
    }
    result = DemoResult(tmp_path / "index.html", {"digits": 1.0, "ecg": 1.0}, maps)
    assert result.parity_failures == ["digits: grad_cam", "ecg: lrp_epsilon_0_1"]


def _maps(method, comparison):
    from signxai.parity.demo.explain import MethodMaps

    zeros = np.zeros((1, 2, 2, 1))
    return MethodMaps(method, zeros, zeros, comparison, 0.0, 0.0)
