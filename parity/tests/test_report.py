"""Report format: JSON schema read by the docs, Markdown table, stdout summary, failure naming."""

from __future__ import annotations

import json
import math

from signxai.parity.report import ForwardCheck, Report, Result, output_dir, write_report


def _report() -> Report:
    report = Report()
    report.forward.append(ForwardCheck("m", "float64", 1e-15, 3.0, 3e-9, True, [1], [1]))
    report.results += [
        Result("m", "lrp_z", "float64", "argmax", "pass", "c", 1e-16, 1.0, 1e-16, 1.0, 0.5, 0.25),
        Result("m", "gradient", "float32", "3", "fail", "c", 0.5, 1.0, 0.5, 0.9, 0.1, 0.2, note="differs"),
        Result("m", "grad_cam", "float64", "-", "not applicable", note="image Grad-CAM is for images"),
        Result("m", "smoothgrad", "float32", "argmax", "error", note="torch: ValueError: boom"),
        Result("m", "vargrad", "float64", "argmax", "fail", rel_max_abs_diff=math.inf),
    ]
    report.conversions.append({"model": "m", "cached": False, "seconds": 1.5, "peak_rss_mb": 600.0})
    report.wall_seconds = 12.0
    return report


def test_json_schema_and_non_finite(tmp_path):
    json_path, md_path = write_report(_report(), tmp_path)
    assert json_path == tmp_path / "report.json" and md_path == tmp_path / "report.md"
    data = json.loads(json_path.read_text())
    assert {"created", "summary", "results", "forward", "conversions", "notes"} <= set(data)
    row = data["results"][0]
    for key in ("model", "method", "tier", "target", "rel_max_abs_diff", "pearson_r", "seconds_torch", "seconds_tf"):
        assert key in row
    assert row["status"] == "pass"
    assert data["results"][4]["rel_max_abs_diff"] is None  # inf is not valid JSON
    assert data["summary"]["ok"] is False
    assert data["summary"]["peak_conversion_rss_mb"] == 600.0


def test_failures_are_named_and_not_applicable_never_passes():
    report = _report()
    assert not report.ok
    names = {r.method for r in report.failures}
    assert names == {"gradient", "smoothgrad", "vargrad"}
    summary = "\n".join(report.summary_lines())
    assert summary.startswith("signxai parity: FAIL")
    assert "FAILED m float32 target=3 gradient: fail differs" in summary
    assert "torch: ValueError: boom" in summary
    groups = report.summary()["groups"]
    assert groups["m float64"]["not applicable"] == 1 and groups["m float64"]["pass"] == 1


def test_passing_report_and_markdown():
    report = Report()
    report.forward.append(ForwardCheck("m", "float32", 1e-7, 3.0, 3e-4, True, [1], [1]))
    report.results.append(Result("m", "lrp_z", "float32", "argmax", "pass", "c", 1e-3, 1.0, 1e-3, 0.99999, 1.0, 2.0))
    report.results.append(Result("m", "grad_cam", "float32", "-", "not applicable", note="no layer"))
    assert report.ok
    md = report.to_markdown()
    assert "| m | `lrp_z` | float32 | argmax | pass | 1.00e-03 | 0.9999900 | 1.00 | 2.00 |" in md
    assert "not applicable" in md
    s = report.summary()
    assert s["worst_float32_pearson_r"].startswith("1 (m lrp_z") or s["worst_float32_pearson_r"].startswith("0.99999")


def test_failed_forward_fails_the_run():
    report = Report()
    report.forward.append(ForwardCheck("m", "float64", 1.0, 3.0, 3e-9, False, [1], [2]))
    assert not report.ok


def test_output_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SIGNXAI_PARITY_OUT", str(tmp_path / "x"))
    assert output_dir() == tmp_path / "x"
    monkeypatch.delenv("SIGNXAI_PARITY_OUT")
    assert output_dir().parts[-2:] == ("out", "parity")
