"""The TensorFlow blocks of docs/quickstart.md run, print what they claim and never import PyTorch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "quickstart_check", Path(__file__).resolve().parents[3] / "docs" / "quickstart_check.py"
)
quickstart_check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(quickstart_check)


def test_quickstart_tf(tmp_path: Path) -> None:
    quickstart_check.run_quickstart("tf", ("torch",), tmp_path)
