"""signxai.common.viz: normalisation, channel reduction, figures, PNG output, colours and import isolation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

import signxai.common
from signxai.common import viz

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SRC = str(Path(signxai.common.__file__).resolve().parents[2])


# ----------------------------------------------------------------------------------------------- normalisation


def test_normalize_symmetric_scaling_by_max_abs() -> None:
    r = np.array([[2.0, -4.0], [1.0, 0.0]])
    np.testing.assert_array_equal(viz.normalize(r), [[0.5, -1.0], [0.25, 0.0]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_normalize_properties(seed: int) -> None:
    r = np.random.default_rng(seed).normal(size=(5, 7, 3)) * 10.0**seed
    r[0, 0, 0] = 0.0
    n = viz.normalize(r)
    assert n.shape == r.shape and n.dtype == np.float64
    assert np.max(np.abs(n)) == pytest.approx(1.0, abs=0.0)
    np.testing.assert_allclose(viz.normalize(-r), -n, rtol=0, atol=0)  # symmetric: odd function
    np.testing.assert_array_equal(np.sign(n), np.sign(r))
    assert n[0, 0, 0] == 0.0
    np.testing.assert_allclose(n * np.max(np.abs(r)), r, rtol=1e-15)


def test_normalize_zero_map_stays_zero_and_input_untouched() -> None:
    z = np.zeros((4, 4))
    out = viz.normalize(z)
    assert np.all(out == 0.0) and np.all(np.isfinite(out))
    r = np.array([1.0, -3.0])
    viz.normalize(r)
    np.testing.assert_array_equal(r, [1.0, -3.0])


def test_normalize_percentile_clipping() -> None:
    r = np.concatenate([np.linspace(-1.0, 1.0, 101), [100.0]])
    assert viz.normalize(r).max() == 1.0
    assert viz.normalize(r)[0] == pytest.approx(-0.01)
    bound = np.percentile(np.abs(r), 90.0)
    clipped = viz.normalize(r, clip_percentile=90.0)
    np.testing.assert_allclose(clipped, np.clip(r, -bound, bound) / bound)
    assert clipped[-1] == 1.0 and clipped[0] == -1.0
    np.testing.assert_array_equal(viz.normalize(r, clip_percentile=100.0), viz.normalize(r))


@pytest.mark.parametrize("p", [0.0, -5.0, 100.5])
def test_normalize_rejects_bad_percentile(p: float) -> None:
    with pytest.raises(ValueError, match="clip_percentile"):
        viz.normalize(np.ones(3), clip_percentile=p)


def test_normalize_rejects_non_finite() -> None:
    with pytest.raises(ValueError, match="NaN or infinite"):
        viz.normalize(np.array([1.0, np.nan]))


# ----------------------------------------------------------------------------------------------- channel reduction

# (H=2, W=2, C=3), written out by hand.
HWC = np.array(
    [
        [[1.0, 2.0, -6.0], [0.0, 0.0, 0.0]],
        [[-1.0, 4.0, 1.0], [3.0, -3.0, 2.0]],
    ]
)


def test_reduce_sum_mean_maxabs_hand_computed() -> None:
    np.testing.assert_array_equal(viz.reduce_channels(HWC, reduce="sum"), [[-3.0, 0.0], [4.0, 2.0]])
    np.testing.assert_allclose(viz.reduce_channels(HWC, reduce="mean"), [[-1.0, 0.0], [4.0 / 3.0, 2.0 / 3.0]])
    # signed value of largest magnitude; tie (3, -3) -> first channel
    np.testing.assert_array_equal(viz.reduce_channels(HWC, reduce="max_abs"), [[-6.0, 0.0], [4.0, 3.0]])


@pytest.mark.parametrize("reduce", ["sum", "mean", "max_abs"])
def test_layouts_and_batch_of_one_agree(reduce: str) -> None:
    r = np.random.default_rng(3).normal(size=(6, 5, 3))
    expected = viz.reduce_channels(r, reduce=reduce)
    chw = np.transpose(r, (2, 0, 1))
    np.testing.assert_array_equal(viz.reduce_channels(chw, layout="channels_first", reduce=reduce), expected)
    np.testing.assert_array_equal(viz.reduce_channels(r[None], reduce=reduce), expected)
    np.testing.assert_array_equal(viz.reduce_channels(chw[None], layout="channels_first", reduce=reduce), expected)
    np.testing.assert_array_equal(viz.reduce_channels(expected, reduce=reduce), expected)  # (H, W) passes through


@pytest.mark.parametrize(
    ("shape", "match"),
    [((2, 4, 4, 3), "batch axis of size 2"), ((4,), "rank"), ((1, 1, 4, 4, 3), "rank"), ((0, 4, 3), "empty")],
)
def test_reduce_rejects_bad_shapes(shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        viz.reduce_channels(np.ones(shape))


def test_reduce_rejects_unknown_options() -> None:
    with pytest.raises(ValueError, match="reduce"):
        viz.reduce_channels(HWC, reduce="median")
    with pytest.raises(ValueError, match="layout"):
        viz.reduce_channels(HWC, layout="NHWC")


# ----------------------------------------------------------------------------------------------- rendering helpers


def _rgba(fig: Figure) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).astype(int)


def _pixel(fig: Figure, ax, col: float, row: float, rgba: np.ndarray) -> np.ndarray:
    """Colour of data point (col, row) of an imshow axes in the rendered buffer."""
    x_disp, y_disp = ax.transData.transform((col, row))
    return rgba[int(round(rgba.shape[0] - y_disp)), int(round(x_disp)), :3]


def _is_red(c: np.ndarray) -> bool:
    return bool(c[0] > c[1] + 60 and c[0] > c[2] + 60)


def _is_blue(c: np.ndarray) -> bool:
    return bool(c[2] > c[0] + 60 and c[2] > c[1] + 60)


def _signed_map() -> np.ndarray:
    r = np.zeros((16, 16, 3))
    r[2:6, 2:6, :] = 1.0  # strongly positive top-left
    r[10:14, 10:14, :] = -0.8  # strongly negative bottom-right
    return r


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 2000


# ----------------------------------------------------------------------------------------------- image heatmap


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
def test_heatmap_positive_is_red_negative_blue_zero_white(layout: str) -> None:
    r = _signed_map()
    if layout == "channels_first":
        r = np.transpose(r, (2, 0, 1))
    fig = viz.heatmap(r[None], layout=layout)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.yaxis_inverted()  # row 0 of the map is drawn at the top, as in the image
    rgba = _rgba(fig)
    assert _is_red(_pixel(fig, ax, 3.5, 3.5, rgba))
    assert _is_blue(_pixel(fig, ax, 11.5, 11.5, rgba))
    assert np.all(_pixel(fig, ax, 12.0, 3.0, rgba) > 235)  # zero relevance -> white
    assert not _is_red(_pixel(fig, ax, 11.5, 11.5, rgba)) and not _is_blue(_pixel(fig, ax, 3.5, 3.5, rgba))


def test_heatmap_overlay_keeps_sign_colours() -> None:
    image = np.full((16, 16, 3), 0.5)
    image[0, 0] = 0.0
    image[-1, -1] = 1.0
    fig = viz.heatmap(_signed_map(), image, alpha=0.7, title="overlay")
    ax = fig.axes[0]
    assert ax.get_title() == "overlay"
    assert len(ax.get_images()) == 2
    rgba = _rgba(fig)
    assert _is_red(_pixel(fig, ax, 3.5, 3.5, rgba))
    assert _is_blue(_pixel(fig, ax, 11.5, 11.5, rgba))


def test_heatmap_into_given_axes() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert viz.heatmap(_signed_map(), ax=ax, colorbar=False) is fig
    assert len(fig.axes) == 1 and len(ax.get_images()) == 1


def test_heatmap_errors() -> None:
    with pytest.raises(ValueError, match="batch axis of size 2"):
        viz.heatmap(np.ones((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="pixels"):
        viz.heatmap(np.ones((8, 8, 3)), np.ones((9, 8, 3)))
    with pytest.raises(ValueError, match="channels"):
        viz.heatmap(np.ones((8, 8, 3)), np.ones((8, 8, 5)))
    with pytest.raises(ValueError, match="alpha"):
        viz.heatmap(np.ones((8, 8)), alpha=1.5)
    with pytest.raises(ValueError, match="colormap"):
        viz.heatmap(np.ones((8, 8)), cmap="no_such_map")


def test_save_writes_png_and_creates_directories(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "heat.png"
    written = viz.save(viz.heatmap(_signed_map(), np.random.default_rng(0).uniform(size=(16, 16, 3))), target)
    assert written == target and target.is_file()
    _check_png(target)
    assert viz.save(viz.heatmap(_signed_map()), tmp_path / "noext") == tmp_path / "noext.png"
    _check_png(tmp_path / "noext.png")
    with pytest.raises(ValueError, match="png"):
        viz.save(viz.heatmap(_signed_map()), tmp_path / "heat.jpg")


# ----------------------------------------------------------------------------------------------- image grid


def test_image_grid_rows_columns_titles_and_colours(tmp_path: Path) -> None:
    image = np.random.default_rng(1).uniform(size=(1, 16, 16, 3))
    r = _signed_map()
    fig = viz.image_grid(
        image,
        {"torch": [r, -r], "tf": [r, np.zeros_like(r)]},
        column_titles=["gradient", "lrp_z"],
        title="gallery",
    )
    grid = fig.axes[:6]  # 2 rows x (input + 2 maps), then the colour bar
    assert len(fig.axes) == 7
    assert [ax.get_title() for ax in grid[:3]] == ["input", "gradient", "lrp_z"]
    assert grid[0].get_ylabel() == "torch" and grid[3].get_ylabel() == "tf"
    rgba = _rgba(fig)
    assert _is_red(_pixel(fig, grid[1], 3.5, 3.5, rgba)) and _is_blue(_pixel(fig, grid[2], 3.5, 3.5, rgba))
    assert np.all(_pixel(fig, grid[5], 3.5, 3.5, rgba) > 235)  # all-zero map renders white
    _check_png(viz.save(fig, tmp_path / "grid.png"))


def test_image_grid_table_channels_first_without_images() -> None:
    r = np.transpose(_signed_map(), (2, 0, 1))
    fig = viz.image_grid(None, [[r, r, r]], row_labels=["only"], layout="channels_first", overlay=False)
    assert len(fig.axes) == 4
    assert fig.axes[0].get_ylabel() == "only"
    rgba = _rgba(fig)
    assert _is_blue(_pixel(fig, fig.axes[2], 11.5, 11.5, rgba))


def test_image_grid_per_row_images_and_overlay() -> None:
    rng = np.random.default_rng(2)
    images = [rng.uniform(size=(16, 16)), rng.uniform(size=(16, 16, 1))]
    fig = viz.image_grid(images, [[_signed_map()], [_signed_map()]], overlay=True)
    assert len(fig.axes) == 5
    assert len(fig.axes[1].get_images()) == 2  # image under heatmap


def test_image_grid_errors() -> None:
    r = _signed_map()
    with pytest.raises(ValueError, match="same, non-zero number"):
        viz.image_grid(None, {"a": [r, r], "b": [r]})
    with pytest.raises(ValueError, match="column titles"):
        viz.image_grid(None, {"a": [r, r]}, column_titles=["x"])
    with pytest.raises(ValueError, match="images for"):
        viz.image_grid([r, r, r], {"a": [r], "b": [r]})
    with pytest.raises(ValueError, match="list of maps"):
        viz.image_grid(None, [r, r])
    with pytest.raises(ValueError, match="row_labels"):
        viz.image_grid(None, {"a": [r]}, row_labels=["x"])
    with pytest.raises(ValueError, match="overlay"):
        viz.image_grid(None, {"a": [r]}, overlay=True)
    with pytest.raises(ValueError, match="empty"):
        viz.image_grid(None, {})


# ----------------------------------------------------------------------------------------------- time series


def _ecg(n_steps: int = 200, n_leads: int = 12) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n_steps) / 100.0
    signal = np.stack([np.sin(2 * np.pi * (k + 1) * t / 2.0) for k in range(n_leads)], axis=-1)
    relevance = signal * np.linspace(-1.0, 2.0, n_steps)[:, None]
    return signal, relevance


def _lead_axes(fig: Figure) -> list:
    """The lead subplots: every axes but the last, which is the shared colour bar."""
    *leads, colorbar = fig.axes
    assert colorbar.get_ylabel() == "relevance"
    assert all(any(isinstance(c, LineCollection) for c in ax.collections) for ax in leads)
    return leads


def test_relevance_plot_twelve_standard_leads(tmp_path: Path) -> None:
    signal, relevance = _ecg()
    fig = viz.relevance_plot(signal, relevance, sampling_rate=100.0, title="ecg")
    leads = _lead_axes(fig)
    assert len(leads) == 12 and len(fig.axes) == 13  # 12 leads + one shared colour bar
    assert [ax.get_ylabel() for ax in leads] == [
        "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"
    ]  # fmt: skip
    assert leads[-1].get_xlabel() == "time [s]"
    assert leads[0].get_xlim() == pytest.approx((0.0, 1.99))
    # segment colours: mean of the endpoints' relevance, scaled by max|R| over all leads (hand-computed)
    scaled = relevance / np.max(np.abs(relevance))
    for k, ax in enumerate(leads):
        coll = next(c for c in ax.collections if isinstance(c, LineCollection))
        np.testing.assert_allclose(coll.get_array(), 0.5 * (scaled[:-1, k] + scaled[1:, k]), rtol=1e-12)
        segs = coll.get_segments()
        assert len(segs) == 199
        np.testing.assert_allclose(segs[5], [[0.05, signal[5, k]], [0.06, signal[6, k]]])
        assert coll.norm.vmin == -1.0 and coll.norm.vmax == 1.0
    _check_png(viz.save(fig, tmp_path / "ecg" / "plot.png"))


def test_relevance_plot_colours_red_and_blue() -> None:
    n = 100
    signal = np.zeros((n, 1))
    relevance = np.zeros((n, 1))
    relevance[:50, 0] = 1.0
    relevance[50:, 0] = -1.0
    fig = viz.relevance_plot(signal, relevance, linewidth=6.0)
    ax = _lead_axes(fig)[0]
    rgba = _rgba(fig)
    assert _is_red(_pixel(fig, ax, 20.0, 0.0, rgba))
    assert _is_blue(_pixel(fig, ax, 80.0, 0.0, rgba))


def test_relevance_plot_layouts_batch_and_names() -> None:
    signal, relevance = _ecg(n_leads=3)
    last = viz.relevance_plot(signal[None], relevance[None])
    first = viz.relevance_plot(signal.T, relevance.T, layout="channels_first")
    for a, b in zip(_lead_axes(last), _lead_axes(first)):
        np.testing.assert_array_equal(a.collections[0].get_array(), b.collections[0].get_array())
        np.testing.assert_array_equal(np.asarray(a.collections[0].get_segments()), b.collections[0].get_segments())
    assert [ax.get_ylabel() for ax in _lead_axes(last)] == ["lead 1", "lead 2", "lead 3"]
    assert _lead_axes(last)[-1].get_xlabel() == "sample"
    named = viz.relevance_plot(signal, relevance, leads=["x", "y", "z"])
    assert [ax.get_ylabel() for ax in _lead_axes(named)] == ["x", "y", "z"]
    single = viz.relevance_plot(signal[:, 0], relevance[:, 0])
    assert len(_lead_axes(single)) == 1


def test_relevance_plot_errors() -> None:
    signal, relevance = _ecg(n_leads=2)
    with pytest.raises(ValueError, match="differ in shape"):
        viz.relevance_plot(signal, relevance[:, :1])
    with pytest.raises(ValueError, match="batch axis of size 2"):
        viz.relevance_plot(np.stack([signal, signal]), np.stack([relevance, relevance]))
    with pytest.raises(ValueError, match="lead names"):
        viz.relevance_plot(signal, relevance, leads=["I"])
    with pytest.raises(ValueError, match="sampling_rate"):
        viz.relevance_plot(signal, relevance, sampling_rate=0.0)
    with pytest.raises(ValueError, match="at least 2 time steps"):
        viz.relevance_plot(signal[:1], relevance[:1])
    with pytest.raises(ValueError, match="rank"):
        viz.relevance_plot(np.ones((1, 1, 4, 2)), np.ones((1, 1, 4, 2)))


# ----------------------------------------------------------------------------------------------- import isolation


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


def test_importing_common_does_not_import_matplotlib() -> None:
    out = _run(
        "import sys, signxai.common, signxai.common.signs, signxai.common.sampling\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_viz_without_matplotlib_says_how_to_install() -> None:
    out = _run(
        "import sys\nsys.modules['matplotlib'] = None  # as if not installed\n"
        "try:\n    import signxai.common.viz\nexcept ImportError as exc:\n    print('ERR', exc)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR")
    assert 'pip install "signxai-common[plot]"' in out.stdout


def test_viz_never_imports_pyplot_or_switches_backend() -> None:
    out = _run(
        "import sys, numpy as np\nfrom signxai.common import viz\n"
        "viz.heatmap(np.ones((4, 4, 3)), np.ones((4, 4, 3)))\n"
        "viz.image_grid(np.ones((4, 4, 3)), {'a': [np.ones((4, 4, 3))]})\n"
        "viz.relevance_plot(np.ones((5, 12)), np.ones((5, 12)))\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert matplotlib.get_backend()  # this process's backend is untouched and still resolvable
