"""The demo's gallery: PNG pictures of both backends' maps and one ``index.html`` with the parity numbers."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .explain import MethodMaps


@dataclass(frozen=True)
class Picture:
    """A PNG of the gallery (path relative to the gallery folder) and its caption."""

    path: str
    caption: str


@dataclass
class Section:
    """One task of the gallery: a headline, facts about the model, its pictures and the parity table.

    ``pictures`` are shown one per line, ``pairs`` (PyTorch, TF) side by side.
    """

    title: str
    facts: list[str]
    pictures: list[Picture] = field(default_factory=list)
    pairs: list[tuple[Picture, Picture]] = field(default_factory=list)
    maps: list[MethodMaps] = field(default_factory=list)


def _wrap(name: str, width: int = 16) -> str:
    """Break a long method name into lines at underscores so column titles do not overlap.

    Numbers and the ``x`` of ``std_x`` stay with the word before them (``epsilon_0_25``, ``std_x``).
    """
    words: list[str] = []
    for part in name.split("_"):
        if words and (part[0].isdigit() or part in ("x", "neg")):
            words[-1] += "_" + part
        else:
            words.append(part)
    lines = [words[0]]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) > width:
            lines.append("_" + word)
        else:
            lines[-1] += "_" + word
    return "\n".join(lines)


def image_picture(
    folder: Path, name: str, image: np.ndarray, maps: Sequence[MethodMaps], index: int, title: str
) -> Picture:
    """Write the grid of one image: the input, then one signed heatmap per method; PyTorch row over TF row."""
    from signxai.common import viz

    fig = viz.image_grid(
        image,
        {"PyTorch": [m.torch[index] for m in maps], "TensorFlow": [m.tf[index] for m in maps]},
        column_titles=[_wrap(m.method) for m in maps],
        title=title,
        cell_size=1.7,
    )
    viz.save(fig, folder / name, dpi=90)
    return Picture(name, title)


def series_pictures(
    folder: Path,
    stem: str,
    signal: np.ndarray,
    maps: Sequence[MethodMaps],
    index: int,
    sampling_rate: float,
    title: str,
) -> list[tuple[Picture, Picture]]:
    """Write one multi-lead relevance plot per method and backend; return (PyTorch, TF) picture pairs."""
    from signxai.common import viz

    pairs = []
    for m in maps:
        pair = []
        for backend, relevance in (("PyTorch", m.torch[index]), ("TensorFlow", m.tf[index])):
            name = f"{stem}_{m.method}_{'torch' if backend == 'PyTorch' else 'tf'}.png"
            caption = f"{title}: {m.method} ({backend})"
            fig = viz.relevance_plot(signal, relevance, sampling_rate=sampling_rate, title=caption, lead_height=0.6)
            viz.save(fig, folder / name, dpi=70)
            pair.append(Picture(name, caption))
        pairs.append((pair[0], pair[1]))
    return pairs


def _number(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def _parity_table(maps: Sequence[MethodMaps]) -> str:
    rows = [
        "<table><tr><th>method</th><th>Pearson r</th><th>max|&Delta;| / max|R<sub>tf</sub>|</th>"
        "<th>PyTorch s</th><th>TensorFlow s</th><th>parity</th></tr>"
    ]
    for m in maps:
        c = m.comparison
        status = '<span class="ok">pass</span>' if c.passed else '<span class="fail">FAIL</span>'
        rows.append(
            f"<tr><td><code>{html.escape(m.method)}</code></td><td>{_number(c.pearson_r, '.6f')}</td>"
            f"<td>{c.rel_max_abs_diff:.1e}</td><td>{m.seconds_torch:.2f}</td><td>{m.seconds_tf:.2f}</td>"
            f"<td>{status}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.3em 0; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.ok { color: #080; } .fail { color: #c00; font-weight: bold; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 0.5em; }
"""


def write_index(
    folder: Path,
    sections: Sequence[Section],
    footer: Sequence[str],
) -> Path:
    """Write ``index.html`` showing every section's facts, pictures and parity table.

    Parameters
    ----------
    folder : pathlib.Path
        The gallery folder (pictures are referenced relative to it).
    sections : sequence of Section
        In page order.
    footer : sequence of str
        Closing lines (versions, timings).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>SignXAI demo</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>SignXAI demo: the same explanations in PyTorch and TensorFlow</h1>",
        "<p>Each model was trained in Keras and converted Keras &rarr; ONNX &rarr; PyTorch, so the same weights are "
        "explained twice. Heatmaps are signed (red positive, blue negative), each scaled by its own max|R|. "
        "Parity: Pearson r between the two backends' maps (float32, pass at r &ge; 0.999; worst sample shown). "
        "Grad-CAM is ReLU(&Sigma;<sub>k</sub> &alpha;<sub>k</sub> A<sub>k</sub>) at the last convolution: an empty "
        "map means that no location there speaks for the class.</p>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2><ul>")
        parts += [f"<li>{html.escape(fact)}</li>" for fact in section.facts]
        parts.append("</ul>")
        for picture in section.pictures:
            parts.append(f"<figure><img src='{picture.path}' alt='{html.escape(picture.caption)}'></figure>")
        for torch_pic, tf_pic in section.pairs:
            parts.append(
                f"<div class='pair'><img src='{torch_pic.path}' alt='{html.escape(torch_pic.caption)}'>"
                f"<img src='{tf_pic.path}' alt='{html.escape(tf_pic.caption)}'></div>"
            )
        parts.append("<h3>Parity</h3>")
        parts.append(_parity_table(section.maps))
    parts.append("<hr><p>" + "<br>".join(html.escape(line) for line in footer) + "</p></body></html>")
    path = folder / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
