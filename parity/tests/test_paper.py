"""The SIGN paper experiment (``nox -s paper``): a tiny run end to end, and its data pieces."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from signxai.common import list_methods
from signxai.parity import paper


def test_tiny_run_writes_tables_and_plot_with_both_frameworks_agreeing(tmp_path, capsys):
    out = tmp_path / "paper"
    args = ["--out", str(out), "--architectures", "cnn", "--range=-1,0", "--forms", "inverted"]
    args += ["--methods", "gradient_x_input", "lrpsign_epsilon_100", "--samples", "5", "--epochs", "1", "--quiet"]
    assert paper.main(args) == 0
    printed = capsys.readouterr().out
    for name in ("table.csv", "table.md", "morf.png"):
        assert str((out / name).resolve()) in printed
    assert (out / "morf.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (out / "table.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["method"] for r in rows] == [paper.RANDOM, "gradient_x_input", "lrpsign_epsilon_100"]
    for row in rows:
        assert (row["architecture"], row["range"], row["form"], row["samples"]) == ("cnn", "[-1,0]", "inverted", "5")
        values = {k: float(v) for k, v in row.items() if k.endswith(("_tf", "_torch"))}
        assert all(np.isfinite(v) for v in values.values()), row
        assert 0.0 <= values["aoc_tf"] <= 100.0
        # the same weights in both frameworks: the same maps, so the same measures
        for measure in ("aoc", "daoc", "pearson", "spearman"):
            assert values[f"{measure}_torch"] == pytest.approx(values[f"{measure}_tf"], abs=1e-3), measure
    assert float(rows[0]["daoc_tf"]) == 0.0 and rows[0]["parity"] == "nan"
    assert all(float(r["parity"]) < 1e-4 for r in rows[1:])
    # gradient x input of an inverted [-1, 0] digit: the background is 0, so its relevance is 0 exactly, while
    # the sign map is not; the correlations differ accordingly
    assert rows[1]["pearson_tf"] != rows[2]["pearson_tf"]
    table = (out / "table.md").read_text()
    assert "| gradient_x_input |" in table and "| cnn | [-1,0] | inverted |" in table


def test_default_methods_exist_and_cover_the_comparisons():
    catalog = set(list_methods())
    assert set(paper.METHODS) <= catalog
    assert {"gradient_x_input", "gradient_x_sign", "lrp_epsilon_100", "lrpz_epsilon_100", "lrpsign_epsilon_100"} <= set(
        paper.METHODS
    )
    assert 10 <= len(paper.METHODS) <= 14


def test_ranges_inversion_and_augmentation():
    x01 = np.zeros((3, 8, 8, 1), dtype=np.float32)
    x01[:, 3:5, 3:5] = 1.0
    for bounds in paper.RANGES:
        normal = paper.to_range(x01, bounds, inverted=False)
        inverted = paper.to_range(x01, bounds, inverted=True)
        assert normal.min() == bounds[0] and normal.max() == bounds[1]
        assert normal[0, 0, 0, 0] == bounds[0] and inverted[0, 0, 0, 0] == bounds[1]  # background
        np.testing.assert_allclose(normal + inverted, bounds[0] + bounds[1])
    shifted = paper.augment(x01, seed=1, noise=0.0)
    assert shifted.shape == x01.shape and set(np.unique(shifted)) <= {0.0, 1.0}
    assert all(s.sum() == 4.0 for s in shifted)  # a one-pixel shift keeps the centred square whole
    assert not np.array_equal(shifted, x01)  # some sample moved
    noisy = paper.augment(x01, seed=1, noise=0.5)
    assert 0.15 < np.mean(noisy != shifted) < 0.35  # half the pixels set, half of those to the other value
    assert paper.range_label((-1.0, 0.0)) == "[-1,0]"
    with pytest.raises(ValueError, match="architecture"):
        paper.build("rnn")


def test_unknown_method_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="not_a_method"):
        paper.main(["--out", str(tmp_path), "--methods", "not_a_method", "--quiet"])
    assert not (tmp_path / "table.csv").exists()
