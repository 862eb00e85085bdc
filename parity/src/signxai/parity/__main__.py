"""``python -m signxai.parity``: run the parity suite, write the report, exit non-zero on any failure.

Options: ``--profile ci|full`` (default ci, see :mod:`signxai.parity.suite`), ``--models`` (a subset of the
suite's model names), ``--tiers`` (float64, float32), ``--out`` (report folder, default ``out/parity``).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .check import check
from .report import Report, write_report
from .suite import PROFILES, cases, non_argmax_class


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m signxai.parity", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="ci", help="ci (about 20 min on 2 cores) or full")
    parser.add_argument("--models", nargs="+", default=None, help="run only these suite models")
    parser.add_argument("--tiers", nargs="+", choices=("float64", "float32"), default=["float64", "float32"])
    parser.add_argument("--out", default=None, help="report folder (default out/parity or $SIGNXAI_PARITY_OUT)")
    parser.add_argument("--quiet", action="store_true", help="no per-method progress lines")
    return parser


def run(
    profile: str = "ci",
    model_names: list[str] | None = None,
    tiers: tuple[str, ...] = ("float64", "float32"),
    progress: bool = True,
) -> Report:
    """Run the suite and return its report (nothing is written).

    Parameters
    ----------
    profile : {"ci", "full"}
        Which methods run on which model (:func:`signxai.parity.suite.cases`).
    model_names : list of str or None
        Subset of the suite's models (None: all).
    tiers : tuple of str
        ``float64`` and/or ``float32``.
    progress : bool
        Per-method progress lines on stderr.

    Returns
    -------
    Report
    """
    from .convert import keras_to_torch

    start = time.perf_counter()
    report = Report()
    selected = cases(profile)
    if model_names is not None:
        unknown = set(model_names) - {c.name for c in selected}
        if unknown:
            raise ValueError(f"unknown suite models {sorted(unknown)}; choose from {[c.name for c in selected]}")
        selected = [c for c in selected if c.name in model_names]
    for case in selected:
        model = case.build()
        x = case.inputs(model)
        torch_model, conversion = keras_to_torch(model)
        report.conversions.append(
            {
                "model": case.name,
                "cached": conversion.cached,
                "seconds": conversion.seconds,
                "peak_rss_mb": conversion.peak_rss_mb,
                "key": conversion.key,
            }
        )
        fixed = non_argmax_class(np.asarray(model(x, training=False)))
        if case.note:
            report.notes.append(case.note)
        report.notes.append(f"{case.name}: input {tuple(x.shape)}, targets argmax and class {fixed} (non-argmax)")
        for tier in tiers:
            report.extend(
                check(
                    model,
                    x,
                    methods=case.methods,
                    dtype=tier,
                    targets=[None, fixed],
                    params=case.params,
                    torch_model=torch_model,
                    model_name=case.name,
                    progress=progress,
                )
            )
        del model, torch_model
    report.wall_seconds = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 only when every check passed)."""
    args = _parser().parse_args(argv)
    report = run(args.profile, args.models, tuple(args.tiers), progress=not args.quiet)
    json_path, md_path = write_report(report, args.out)
    print("\n".join(report.summary_lines()))
    print(f"report: {json_path} and {md_path}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
