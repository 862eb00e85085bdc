"""``python -m signxai.parity``: run the parity suite, write the report, exit non-zero on any failure.

Options: ``--profile ci|full`` (default ci, see :mod:`signxai.parity.suite`), ``--models`` (a subset of the
suite's model names), ``--tiers`` (float64, float32), ``--out`` (report folder, default ``out/parity``),
``--jobs`` (1 or 2 lanes at once; with 2, VGG16 runs in one lane, one fresh process per tier, and the other
models in the second lane, so their single-threaded Python work fills the core VGG16's convolutions leave idle;
never more than one VGG16-sized TensorFlow model at a time).
"""

from __future__ import annotations

import argparse
import os
import sys

from .report import write_report
from .runner import run
from .suite import PROFILES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m signxai.parity", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="ci", help="ci (about 20 min on 2 cores) or full")
    parser.add_argument("--models", nargs="+", default=None, help="run only these suite models")
    parser.add_argument("--tiers", nargs="+", choices=("float64", "float32"), default=["float64", "float32"])
    parser.add_argument("--out", default=None, help="report folder (default out/parity or $SIGNXAI_PARITY_OUT)")
    parser.add_argument("--jobs", type=int, choices=(1, 2), default=2, help="worker processes (default 2)")
    parser.add_argument("--quiet", action="store_true", help="no per-method progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 only when every check passed)."""
    args = _parser().parse_args(argv)
    # The workers (spawned, so they inherit this) build iNNvestigate analyzers in private graphs; TensorFlow's C++
    # layer logs a warning per graph op touched after a session ran, thousands per run. Errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    report = run(args.profile, args.models, tuple(args.tiers), progress=not args.quiet, jobs=args.jobs)
    json_path, md_path = write_report(report, args.out)
    print("\n".join(report.summary_lines()))
    print(f"report: {json_path} and {md_path}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
