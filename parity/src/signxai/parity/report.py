"""Parity results and their Markdown / JSON report.

A :class:`Report` holds one :class:`Result` per (model, method, tier, target) and one :class:`ForwardCheck` per
(model, tier). :func:`write_report` writes ``report.json`` and ``report.md`` (default folder ``out/parity`` under
the current directory, or ``$SIGNXAI_PARITY_OUT``); :meth:`Report.summary_lines` is the stdout summary. The JSON
schema (``results`` rows with ``model``, ``method``, ``tier``, ``target``, ``rel_max_abs_diff``, ``pearson_r``,
``seconds_torch``, ``seconds_tf``, ``status``) is what the documentation's parity page reads.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: Result status values. Only "pass" and "not applicable" let a run succeed.
PASS, FAIL, ERROR, NOT_APPLICABLE = "pass", "fail", "error", "not applicable"
#: Environment variable naming the output folder.
OUT_ENV = "SIGNXAI_PARITY_OUT"


@dataclass
class Result:
    """One method on one model, tier and target.

    Attributes
    ----------
    model, method, tier : str
        Model name, catalog name, ``float64`` or ``float32``.
    target : str
        ``argmax`` or the class index (as text).
    status : str
        ``pass``, ``fail``, ``error`` or ``not applicable``.
    criterion : str
        The assertion applied (spec section 6).
    max_abs_diff, max_abs_tf, rel_max_abs_diff : float or None
        max|R_torch - R_tf|, max|R_tf| and their ratio (0 when both maps are identically 0).
    pearson_r : float or None
        Pearson correlation of the two maps (None when a map is constant).
    seconds_tf, seconds_torch : float or None
        Time of this explanation per backend (the first target of a method includes building its explainer).
    params : dict
        Keyword parameters passed to both backends besides the name (e.g. ``mu`` for bare ``_x_sign_mu`` names).
    note : str
        Why a method is not applicable, the error, or other remarks.
    """

    model: str
    method: str
    tier: str
    target: str
    status: str
    criterion: str = ""
    max_abs_diff: float | None = None
    max_abs_tf: float | None = None
    rel_max_abs_diff: float | None = None
    pearson_r: float | None = None
    seconds_tf: float | None = None
    seconds_torch: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class ForwardCheck:
    """Logits of both models on the parity input (asserted before any method runs)."""

    model: str
    tier: str
    max_abs_diff: float
    max_abs_logit: float
    tolerance: float
    passed: bool
    argmax_tf: list[int]
    argmax_torch: list[int]


@dataclass
class Report:
    """Everything one parity run measured."""

    results: list[Result] = field(default_factory=list)
    forward: list[ForwardCheck] = field(default_factory=list)
    conversions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    wall_seconds: float | None = None

    def extend(self, other: Report) -> None:
        """Append another report's rows (results, forward checks, conversions, notes)."""
        self.results += other.results
        self.forward += other.forward
        keys = {c.get("key") for c in self.conversions}
        self.conversions += [c for c in other.conversions if c.get("key") is None or c.get("key") not in keys]
        self.notes += [n for n in other.notes if n not in self.notes]

    @property
    def failures(self) -> list[Result]:
        """Results that fail the run (``fail`` or ``error``)."""
        return [r for r in self.results if r.status in (FAIL, ERROR)]

    @property
    def ok(self) -> bool:
        """True when every forward check passed and no method failed or errored."""
        return all(f.passed for f in self.forward) and not self.failures

    def summary(self) -> dict[str, Any]:
        """Counts per model and tier, worst float64 deviation, worst float32 correlation, memory and time."""
        groups: dict[str, dict[str, Any]] = {}
        for r in self.results:
            g = groups.setdefault(
                f"{r.model} {r.tier}",
                {"methods": set(), "rows": 0, PASS: 0, FAIL: 0, ERROR: 0, NOT_APPLICABLE: 0},
            )
            g["rows"] += 1
            g[r.status] += 1
            if r.status != NOT_APPLICABLE:
                g["methods"].add(r.method)
        per_group = {k: {**v, "methods": len(v["methods"])} for k, v in sorted(groups.items())}
        f64 = [r for r in self.results if r.tier == "float64" and r.rel_max_abs_diff is not None]
        f32 = [r for r in self.results if r.tier == "float32" and r.pearson_r is not None]
        worst64 = max(f64, key=lambda r: r.rel_max_abs_diff, default=None)
        worst32 = min(f32, key=lambda r: r.pearson_r, default=None)
        worst32_rel = max(
            (r for r in self.results if r.tier == "float32" and r.rel_max_abs_diff is not None),
            key=lambda r: r.rel_max_abs_diff,
            default=None,
        )
        peak = max((c.get("peak_rss_mb", 0.0) for c in self.conversions), default=None)
        return {
            "ok": self.ok,
            "groups": per_group,
            "failures": [
                f"{r.model} {r.tier} target={r.target} {r.method}: {r.status} {r.note}" for r in self.failures
            ],
            "worst_float64_rel_max_abs_diff": _worst(worst64, worst64.rel_max_abs_diff if worst64 else None),
            "worst_float32_pearson_r": _worst(worst32, worst32.pearson_r if worst32 else None, ".6f"),
            "worst_float32_rel_max_abs_diff": _worst(
                worst32_rel, worst32_rel.rel_max_abs_diff if worst32_rel else None
            ),
            "forward": [
                f"{f.model} {f.tier}: max|dz| {f.max_abs_diff:.2e} (max|z| {f.max_abs_logit:.3g}) "
                f"{'pass' if f.passed else 'FAIL'}"
                for f in self.forward
            ],
            "peak_conversion_rss_mb": peak,
            "seconds_tf": round(sum(r.seconds_tf or 0.0 for r in self.results), 1),
            "seconds_torch": round(sum(r.seconds_torch or 0.0 for r in self.results), 1),
            "wall_seconds": None if self.wall_seconds is None else round(self.wall_seconds, 1),
        }

    def summary_lines(self) -> list[str]:
        """The stdout summary: one line per model and tier, the worst cases, failures by name."""
        s = self.summary()
        lines = ["signxai parity: " + ("PASS" if s["ok"] else "FAIL")]
        for key, g in s["groups"].items():
            lines.append(
                f"  {key}: {g['methods']} methods, {g['rows']} rows: {g[PASS]} pass, {g[FAIL]} fail, "
                f"{g[ERROR]} error, {g[NOT_APPLICABLE]} not applicable"
            )
        lines += [f"  forward {f}" for f in s["forward"]]
        lines.append(f"  worst float64 max|d|/max|R_tf|: {s['worst_float64_rel_max_abs_diff']}")
        lines.append(f"  worst float32 Pearson r: {s['worst_float32_pearson_r']}")
        lines.append(f"  worst float32 max|d|/max|R_tf|: {s['worst_float32_rel_max_abs_diff']}")
        if s["peak_conversion_rss_mb"] is not None:
            lines.append(f"  peak conversion memory: {s['peak_conversion_rss_mb']:.0f} MiB")
        lines.append(f"  explain seconds: tf {s['seconds_tf']}, torch {s['seconds_torch']}; wall {s['wall_seconds']}")
        lines += [f"  FAILED {f}" for f in s["failures"]]
        lines += [f"  note: {n}" for n in self.notes]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (non-finite numbers become None)."""
        return _finite(
            {
                "created": self.created,
                "summary": self.summary(),
                "notes": self.notes,
                "conversions": self.conversions,
                "forward": [asdict(f) for f in self.forward],
                "results": [asdict(r) for r in self.results],
            }
        )

    def to_markdown(self) -> str:
        """The Markdown report: summary, forward checks, conversions, one table row per result."""
        lines = ["# SignXAI parity report", "", f"Written {self.created}.", "", "```", *self.summary_lines(), "```", ""]
        if self.conversions:
            lines += ["## Conversions (Keras -> ONNX -> PyTorch)", "", "| model | cached | seconds | peak RSS MiB |"]
            lines.append("|---|---|---|---|")
            for c in self.conversions:
                lines.append(
                    f"| {c.get('model', '')} | {c.get('cached', '')} | {_fmt(c.get('seconds'), '.1f')} | "
                    f"{_fmt(c.get('peak_rss_mb'), '.0f')} |"
                )
            lines.append("")
        lines += ["## Results", ""]
        lines.append(
            "| model | method | tier | target | status | max abs diff / max abs R_tf | Pearson r | tf s | torch s | "
            "params | note |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in self.results:
            params = ", ".join(f"{k}={v}" for k, v in r.params.items())
            lines.append(
                f"| {r.model} | `{r.method}` | {r.tier} | {r.target} | {r.status} | "
                f"{_fmt(r.rel_max_abs_diff, '.2e')} | {_fmt(r.pearson_r, '.7f')} | "
                f"{_fmt(r.seconds_tf, '.2f')} | {_fmt(r.seconds_torch, '.2f')} | "
                f"{params} | {r.note.replace('|', '/')} |"
            )
        return "\n".join(lines) + "\n"


def _worst(result: Result | None, value: float | None, spec: str = ".3g") -> str | None:
    if result is None or value is None:
        return None
    return f"{value:{spec}} ({result.model} {result.method} target={result.target})"


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return format(value, spec)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def output_dir() -> Path:
    """Report folder: ``$SIGNXAI_PARITY_OUT`` if set, else ``out/parity`` under the current directory."""
    env = os.environ.get(OUT_ENV)
    return Path(env) if env else Path.cwd() / "out" / "parity"


def write_report(report: Report, folder: Path | None = None) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md``.

    Parameters
    ----------
    report : Report
        The run's results.
    folder : pathlib.Path or None
        Output folder; default :func:`output_dir`.

    Returns
    -------
    tuple of pathlib.Path
        The JSON and Markdown paths.
    """
    folder = output_dir() if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "report.json", folder / "report.md"
    json_path.write_text(json.dumps(report.to_dict(), indent=1, allow_nan=False) + "\n")
    md_path.write_text(report.to_markdown())
    return json_path, md_path
