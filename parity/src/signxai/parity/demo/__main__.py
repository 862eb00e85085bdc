"""``python -m signxai.parity.demo``: write the gallery and print where it is."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import QUICK, DemoConfig, run


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; exit status 1 when a method's maps differ between the backends."""
    parser = argparse.ArgumentParser(prog="python -m signxai.parity.demo", description=__doc__)
    parser.add_argument("--out", default="out/demo", help="gallery folder (default: out/demo)")
    parser.add_argument("--quick", action="store_true", help="seconds instead of minutes: little training, 3 methods")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    result = run(args.out, QUICK if args.quick else DemoConfig(), progress=not args.quiet)
    accuracy = ", ".join(f"{task} {value:.1%}" for task, value in result.accuracy.items())
    print(f"test accuracy: {accuracy}")
    failures = result.parity_failures
    verdict = "FAIL " + ", ".join(failures) if failures else "ok"
    print(f"parity (PyTorch vs TensorFlow, Pearson r >= 0.999): {verdict}")
    print(f"gallery: {result.index.resolve()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
