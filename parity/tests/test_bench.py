"""The benchmark's pieces (its numbers are printed by ``nox -s bench``, never asserted)."""

from __future__ import annotations

import numpy as np

from signxai.parity.bench import Row, Timing, bench, table, time_calls


def test_time_calls_calls_once_plus_repeats():
    calls = []
    timing = time_calls(lambda: calls.append(1), 4)
    assert len(calls) == 5
    assert timing.first >= 0.0 and timing.median >= 0.0


def test_table_ratios():
    text = table(Timing(1.0, 0.5), Timing(2.0, 0.25), [Row("lrp_z", Timing(3.0, 1.0), Timing(1.0, 0.5))])
    lines = text.splitlines()
    assert lines[2] == "| plain gradient | 1.000 | 0.500 | 1.00 | 2.000 | 0.250 | 1.00 | 0.50 |"
    assert lines[3] == "| `lrp_z` | 3.000 | 1.000 | 2.00 | 1.000 | 0.500 | 2.00 | 0.50 |"


def test_bench_times_both_backends_on_a_converted_model(converted):
    keras_model, torch_model, _, x = converted["pooling_cnn"]
    tf_plain, torch_plain, rows = bench(
        keras_model, torch_model, np.asarray(x[:1], np.float32), ["gradient", "lrp_epsilon_0_1"], 1, 4, False
    )
    assert [r.method for r in rows] == ["gradient", "lrp_epsilon_0_1"]
    for timing in (tf_plain, torch_plain, *(r.tf for r in rows), *(r.torch for r in rows)):
        assert timing.first > 0.0 and timing.median > 0.0


def test_command_line_on_the_ecg_model(capsys):
    from signxai.parity.bench import main

    assert main(["--model", "ecg", "--repeats", "1", "--methods", "gradient", "grad_cam", "lrp_z"]) == 0
    out = capsys.readouterr().out
    assert "ecg, input (1, 3000, 12)" in out
    for name in ("plain gradient", "`gradient`", "`grad_cam_timeseries`", "`lrp_z`"):
        assert f"| {name} |" in out
