"""The framework-free blocks of docs/quickstart.md run and print what they claim; every block is tested."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "quickstart_check", Path(__file__).resolve().parents[3] / "docs" / "quickstart_check.py"
)
quickstart_check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(quickstart_check)


def test_quickstart_common(tmp_path: Path) -> None:
    quickstart_check.run_quickstart("common", ("torch", "tensorflow"), tmp_path)


def test_every_python_block_is_tested() -> None:
    """Each Python block is marked for the test of one backend (torch / tf / common), so none is left untested."""
    text = quickstart_check.QUICKSTART.read_text()
    kinds = [m.group(2) for m in quickstart_check.BLOCK.finditer(text)]
    assert len(kinds) == text.count("```python\n")
    assert sorted(set(kinds)) == ["common", "tf", "torch"]
