"""Sphinx extension: writes the pages that must never drift from the code or the latest run.

- ``generated/catalog.md`` from :func:`signxai.common.list_methods` and :func:`signxai.common.parse_method`;
- ``generated/parity.md`` from the latest parity report (``out/parity/report.json`` or ``$SIGNXAI_PARITY_REPORT``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from signxai.common import list_methods, parse_method, required_keywords
from signxai.common.spec import MethodSpec

DOCS = Path(__file__).resolve().parents[1]
REPORT = Path(os.environ.get("SIGNXAI_PARITY_REPORT", DOCS.parent / "out" / "parity" / "report.json"))


def _rules(spec: MethodSpec) -> tuple[str, str, str]:
    if spec.family != "lrp":
        return "", "", ""
    dense, conv = spec.rule_for("dense", False), spec.rule_for("conv", False)
    first = spec.input_rule.describe() if spec.input_rule else "as body"
    return first, dense.describe(), conv.describe()


def _params(spec: MethodSpec, required: tuple[str, ...]) -> str:
    shown = {k: v for k, v in spec.params if k not in required and not (k == "baseline" and v == 0.0)}
    text = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())
    if required:
        text = (text + "; " if text else "") + "needs " + ", ".join(f"`{k}=`" for k in required)
    return text


def catalog_markdown() -> str:
    """The catalog page: one row per method name."""
    rows = []
    for name in list_methods():
        required = required_keywords(name)
        placeholder = {k: {"mu": 0.0, "low": -1.0, "high": 1.0}[k] for k in required}
        spec = parse_method(name, **placeholder)
        first, dense, conv = _rules(spec)
        mods = " ".join(
            m.name + (f"({m.mu:g})" if m.mu is not None and "mu" not in required else "") for m in spec.modifiers
        )
        params = _params(spec, required)
        rows.append(
            f"| `{name}` | {spec.family} | {spec.base} | {first} | {dense} | {conv} | {mods} | "
            f"{'z_t' if spec.output_seed == 'logit' else '1'} | {params} |"
        )
    header = [
        "# Method catalog",
        "",
        f"{len(rows)} names, generated from `signxai.common.list_methods()` and `parse_method` when these docs",
        "were built. *Input rule* is the rule of the first layer with weights; *dense* / *conv* the rule of every",
        "other Dense / convolution layer; *seed* the signal placed on the target output. The formulas are on",
        "[LRP rules](../rules.md).",
        "",
        "| name | family | base | input rule | dense | conv | modifiers | seed | parameters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + rows) + "\n"


def _fmt(value: Any, spec: str) -> str:
    return "" if value is None else format(value, spec)


def parity_markdown(report_path: Path = REPORT) -> str:
    """The parity page from the latest report, or a note that no report exists in this build."""
    lines = ["# Parity report", ""]
    if not report_path.exists():
        shown = report_path.relative_to(DOCS.parent) if report_path.is_relative_to(DOCS.parent) else report_path
        lines += [
            f"No parity report was found when these docs were built (looked for `{shown}`).",
            "Run `nox -s parity` and rebuild the docs (`nox -s docs`) to fill this page.",
        ]
        return "\n".join(lines) + "\n"
    report = json.loads(report_path.read_text())
    results = report.get("results", [])
    lines += [f"From `{report_path.name}` written {report.get('created', 'at an unknown time')}.", ""]
    summary = report.get("summary")
    if summary:
        lines += ["```", json.dumps(summary, indent=2), "```", ""]
    lines += [
        "| model | method | tier | target | max abs diff / max abs R_tf | Pearson r | torch s | tf s | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.get('model', '')} | `{r.get('method', '')}` | {r.get('tier', '')} | {r.get('target', '')} | "
            f"{_fmt(r.get('rel_max_abs_diff'), '.2e')} | {_fmt(r.get('pearson_r'), '.6f')} | "
            f"{_fmt(r.get('seconds_torch'), '.2f')} | {_fmt(r.get('seconds_tf'), '.2f')} | {r.get('status', '')} |"
        )
    return "\n".join(lines) + "\n"


def _write(app: Sphinx) -> None:
    out = DOCS / "generated"
    out.mkdir(exist_ok=True)
    for name, text in (("catalog.md", catalog_markdown()), ("parity.md", parity_markdown())):
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _write)
    return {"version": "1", "parallel_read_safe": True}
