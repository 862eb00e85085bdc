"""A plain progress display for long loops: one stderr line per step with counts, elapsed time and ETA."""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Progress of ``total`` steps labelled ``label``.

    Parameters
    ----------
    label : str
        Prefix of every line (e.g. ``"vgg16 float64"``).
    total : int
        Number of steps expected.
    enabled : bool
        Print nothing when False.
    """

    def __init__(self, label: str, total: int, enabled: bool = True):
        self.label = label
        self.total = max(int(total), 0)
        self.enabled = enabled
        self.count = 0
        self.start = self.last = time.perf_counter()

    def step(self, name: str, status: str) -> None:
        """Record one finished step and print its line."""
        now = time.perf_counter()
        self.count += 1
        took, self.last = now - self.last, now
        elapsed = now - self.start
        eta = elapsed / self.count * (self.total - self.count)
        self._print(
            f"[{self.label}] {self.count}/{self.total} {name}: {status} ({took:.1f} s; "
            f"elapsed {_clock(elapsed)}, ETA {_clock(eta)})"
        )

    def done(self, failures: int) -> None:
        """Print the closing line."""
        elapsed = time.perf_counter() - self.start
        self._print(f"[{self.label}] done: {self.count} methods in {_clock(elapsed)}, {failures} failing rows")

    def _print(self, line: str) -> None:
        if self.enabled:
            print(line, file=sys.stderr, flush=True)
