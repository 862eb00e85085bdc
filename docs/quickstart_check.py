"""Runs the Python blocks of ``quickstart.md``: the packages' ``test_quickstart.py`` tests load this one file.

A block starts with ``# quickstart: <kind>`` (``torch``, ``tf`` or ``common``); the blocks of one kind run as one
script in a fresh interpreter, every ``print`` must print what its trailing comment says, every ``viz.save`` must
write a PNG, and the frameworks named as forbidden must never be imported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parent / "quickstart.md"
BLOCK = re.compile(r"^```python\n(# quickstart: (\w+)\n.*?)^```$", re.MULTILINE | re.DOTALL)
PRINT = re.compile(r"^print\(.*\)  # (.*)$")
SAVE = re.compile(r"viz\.save\(\w+, \"([^\"]+)\"\)")


def quickstart_script(kind: str) -> tuple[str, list[str], list[str]]:
    """The ``# quickstart: <kind>`` blocks as one script, the output their comments claim, the PNGs they save."""
    code = "".join(m.group(1) for m in BLOCK.finditer(QUICKSTART.read_text()) if m.group(2) == kind)
    assert code, f"no '# quickstart: {kind}' block in {QUICKSTART}"
    prints = [line for line in code.splitlines() if line.startswith("print(")]
    claimed = [m.group(1) for m in map(PRINT.match, prints) if m]
    assert len(claimed) == len(prints), f"every print of the {kind} quickstart must state its output in a comment"
    return code, claimed, SAVE.findall(code)


def run_quickstart(kind: str, forbidden: tuple[str, ...], tmp_path: Path) -> None:
    """Run the blocks in a fresh interpreter in ``tmp_path``; check the output, the PNGs and the imports."""
    code, claimed, pictures = quickstart_script(kind)
    message = "imported " + " / ".join(forbidden)
    check = f"\nimport sys\nassert not set(sys.modules) & {set(forbidden)!r}, {message!r}\n"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-c", code + check], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.splitlines() == claimed
    assert pictures, f"the {kind} quickstart saves no picture"
    for name in pictures:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
