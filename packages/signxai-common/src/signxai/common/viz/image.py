"""Signed heatmaps of image relevance maps, galleries of them, and PNG output."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional, Union

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from ._figure import get_cmap, new_figure, signed_mappable
from .normalize import check_layout, drop_batch, normalize, reduce_channels

ArrayLike = Union[np.ndarray, Sequence]


def _display_image(image: ArrayLike, layout: str) -> np.ndarray:
    """Return an input image as ``(H, W)`` grey or ``(H, W, 3)`` RGB floats in [0, 1] (min-max scaled)."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = drop_batch(img, 2, "image")
    else:
        img = drop_batch(img, 3, "image")
        if layout == "channels_first":
            img = np.moveaxis(img, 0, -1)
        channels = img.shape[-1]
        if channels == 1:
            img = img[..., 0]
        elif channels == 4:
            img = img[..., :3]
        elif channels != 3:
            raise ValueError(f"image must have 1, 3 or 4 channels ({layout}), got {channels} (shape {np.shape(image)})")
    low, high = float(img.min()), float(img.max())
    if high == low:
        return np.zeros_like(img)
    return (img - low) / (high - low)


def _show_input(ax: Axes, img: np.ndarray) -> None:
    """Draw a display-ready image (from :func:`_display_image`), row 0 at the top."""
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest", origin="upper")


def _draw_heatmap(
    ax: Axes,
    relevance: ArrayLike,
    image: Optional[ArrayLike],
    *,
    layout: str,
    reduce: str,
    cmap: Colormap,
    alpha: float,
    clip_percentile: Optional[float],
) -> None:
    """Draw one normalised signed map (over the image, if given) into ``ax``."""
    r = normalize(reduce_channels(relevance, layout=layout, reduce=reduce), clip_percentile=clip_percentile)
    if image is not None:
        img = _display_image(image, layout)
        if img.shape[:2] != r.shape:
            raise ValueError(f"image is {img.shape[:2]} pixels but the relevance map is {r.shape}")
        _show_input(ax, img)
        ax.imshow(r, cmap=cmap, vmin=-1.0, vmax=1.0, alpha=alpha, interpolation="nearest", origin="upper")
    else:
        ax.imshow(r, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest", origin="upper")
    ax.set_xticks([])
    ax.set_yticks([])


def _check_alpha(alpha: float) -> None:
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")


def heatmap(
    relevance: ArrayLike,
    image: Optional[ArrayLike] = None,
    *,
    layout: str = "channels_last",
    reduce: str = "sum",
    cmap: Union[str, Colormap] = "seismic",
    alpha: float = 0.6,
    clip_percentile: Optional[float] = None,
    colorbar: bool = True,
    title: Optional[str] = None,
    ax: Optional[Axes] = None,
) -> Figure:
    """Plot a signed relevance heatmap of an image, optionally over the image.

    The map is reduced to one value per pixel (:func:`~signxai.common.viz.reduce_channels`), scaled into
    [-1, 1] by max|R| (:func:`~signxai.common.viz.normalize`) and drawn with a diverging colormap centred at 0
    (``vmin=-1, vmax=1``): with ``'seismic'`` positive relevance is red, negative blue, zero white.

    Parameters
    ----------
    relevance : array_like
        ``(H, W)``, ``(H, W, C)`` / ``(C, H, W)`` or a batch of one of those.
    image : array_like, optional
        The input, ``(H, W)`` or with 1, 3 or 4 channels in the same layout as ``relevance`` (batch of 1 allowed).
        It is min-max scaled for display and the heatmap is drawn over it with opacity ``alpha``.
    layout : {'channels_last', 'channels_first'}
        Channel axis position of ``relevance`` and ``image`` (Keras: last, PyTorch: first).
    reduce : {'sum', 'mean', 'max_abs'}
        Channel reduction.
    cmap : str or matplotlib.colors.Colormap
        Diverging colormap; ``'seismic'`` by default.
    alpha : float
        Opacity of the heatmap over ``image`` (ignored without an image).
    clip_percentile : float, optional
        Percentile clipping of ``|R|`` before scaling; off by default.
    colorbar : bool
        Add a colour bar for the range [-1, 1].
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (its figure is returned); by default a new Figure on an Agg canvas is made.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the heatmap.

    Raises
    ------
    ValueError
        For bad shapes, a batch of more than one sample, image/relevance size mismatch, an unknown layout,
        reduction or colormap, or ``alpha`` outside [0, 1].
    """
    check_layout(layout)
    _check_alpha(alpha)
    colormap = get_cmap(cmap)
    if ax is None:
        fig = new_figure((4.5 if colorbar else 4.0, 4.0), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    _draw_heatmap(
        ax, relevance, image, layout=layout, reduce=reduce, cmap=colormap, alpha=alpha, clip_percentile=clip_percentile
    )
    if title is not None:
        ax.set_title(title)
    if colorbar:
        fig.colorbar(signed_mappable(colormap), ax=ax, shrink=0.8, label="relevance (normalised)")
    return fig


def _table_rows(
    maps: Union[Mapping[str, Sequence[ArrayLike]], Sequence[Sequence[ArrayLike]]],
    row_labels: Optional[Sequence[str]],
) -> tuple[list[Optional[str]], list[list[ArrayLike]]]:
    """Turn ``maps`` into (row labels, rows of maps) and check that the table is rectangular."""
    if isinstance(maps, Mapping):
        if row_labels is not None:
            raise ValueError("row_labels must not be given when maps is a mapping (its keys are the labels)")
        labels: list[Optional[str]] = [str(k) for k in maps]
        raw_rows = list(maps.values())
    elif isinstance(maps, np.ndarray):
        raise ValueError("maps must be a mapping {row label: [map, ...]} or a list of rows (lists), not an array")
    else:
        raw_rows = list(maps)
        labels = [None] * len(raw_rows) if row_labels is None else [str(x) for x in row_labels]
        if len(labels) != len(raw_rows):
            raise ValueError(f"{len(labels)} row labels for {len(raw_rows)} rows")
    if not raw_rows:
        raise ValueError("maps is empty")
    rows = []
    for label, row in zip(labels, raw_rows):
        if isinstance(row, np.ndarray) or not isinstance(row, Sequence):
            raise ValueError(f"row {label!r} must be a list of maps, got {type(row).__name__}")
        rows.append(list(row))
    widths = {len(row) for row in rows}
    if len(widths) != 1 or 0 in widths:
        raise ValueError(f"every row must hold the same, non-zero number of maps, got {[len(r) for r in rows]}")
    return labels, rows


def image_grid(
    images: Optional[Union[ArrayLike, Sequence[ArrayLike]]],
    maps: Union[Mapping[str, Sequence[ArrayLike]], Sequence[Sequence[ArrayLike]]],
    *,
    column_titles: Optional[Sequence[str]] = None,
    row_labels: Optional[Sequence[str]] = None,
    input_title: str = "input",
    layout: str = "channels_last",
    reduce: str = "sum",
    cmap: Union[str, Colormap] = "seismic",
    overlay: bool = False,
    alpha: float = 0.6,
    clip_percentile: Optional[float] = None,
    title: Optional[str] = None,
    cell_size: float = 2.0,
) -> Figure:
    """Plot a gallery: one row per label (e.g. a backend), the input first, then one signed heatmap per method.

    Each map is reduced and normalised on its own (max|R| of each cell is 1); one colour bar for [-1, 1] is
    shared by all cells.

    Parameters
    ----------
    images : array_like or sequence of array_like or None
        One array: the same input for every row. A list or tuple: one input per row. None: no input column.
        Same layout rules as in :func:`heatmap`.
    maps : mapping of str to sequence of array_like, or sequence of sequences of array_like
        ``{row label: [map per column]}`` or a 2-D table (list of rows, each a list of maps). All rows need the
        same number of maps.
    column_titles : sequence of str, optional
        One title per map column (e.g. method names).
    row_labels : sequence of str, optional
        Row labels for a 2-D table (not allowed with a mapping, whose keys are the labels).
    input_title : str
        Title of the input column.
    layout : {'channels_last', 'channels_first'}
        Channel axis position of images and maps.
    reduce : {'sum', 'mean', 'max_abs'}
        Channel reduction.
    cmap : str or matplotlib.colors.Colormap
        Diverging colormap, ``'seismic'`` by default.
    overlay : bool
        Draw each heatmap over its row's input with opacity ``alpha`` (needs ``images``).
    alpha : float
        Opacity of overlaid heatmaps.
    clip_percentile : float, optional
        Percentile clipping of ``|R|`` before scaling; off by default.
    title : str, optional
        Figure title.
    cell_size : float
        Width and height of one cell in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The gallery.

    Raises
    ------
    ValueError
        For a ragged or empty table, wrong numbers of titles, labels or images, ``overlay`` without images, or
        any error of :func:`heatmap`.
    """
    check_layout(layout)
    _check_alpha(alpha)
    colormap = get_cmap(cmap)
    labels, rows = _table_rows(maps, row_labels)
    n_rows, n_maps = len(rows), len(rows[0])
    if column_titles is not None and len(column_titles) != n_maps:
        raise ValueError(f"{len(column_titles)} column titles for {n_maps} map columns")
    if images is None:
        row_images: list[Optional[ArrayLike]] = [None] * n_rows
        if overlay:
            raise ValueError("overlay=True needs images")
    elif isinstance(images, (list, tuple)):
        if len(images) != n_rows:
            raise ValueError(f"{len(images)} images for {n_rows} rows (pass one array to share it)")
        row_images = list(images)
    else:
        row_images = [images] * n_rows
    offset = 0 if images is None else 1
    n_cols = n_maps + offset
    fig = new_figure((cell_size * n_cols + 1.0, cell_size * n_rows + (0.4 if title else 0.0)), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, (label, row, img) in enumerate(zip(labels, rows, row_images)):
        if img is not None:
            _show_input(axes[i, 0], _display_image(img, layout))
            axes[i, 0].set_xticks([])
            axes[i, 0].set_yticks([])
        for j, relevance in enumerate(row):
            _draw_heatmap(
                axes[i, j + offset],
                relevance,
                img if overlay else None,
                layout=layout,
                reduce=reduce,
                cmap=colormap,
                alpha=alpha,
                clip_percentile=clip_percentile,
            )
        if label is not None:
            axes[i, 0].set_ylabel(label)
    if images is not None:
        axes[0, 0].set_title(input_title)
    if column_titles is not None:
        for j, col_title in enumerate(column_titles):
            axes[0, j + offset].set_title(str(col_title), fontsize="small")
    if title is not None:
        fig.suptitle(title)
    fig.colorbar(signed_mappable(colormap), ax=axes[:, offset:].ravel().tolist(), shrink=0.8, label="relevance")
    return fig


def save(fig: Figure, path: Union[str, os.PathLike[str]], *, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG file, creating missing parent directories.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (e.g. from :func:`heatmap`).
    path : str or os.PathLike
        Target file; its suffix must be ``.png`` (or absent, in which case ``.png`` is appended).
    dpi : int
        Resolution.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If the path has a suffix other than ``.png``.
    """
    target = Path(path)
    if target.suffix == "":
        target = target.with_suffix(".png")
    elif target.suffix.lower() != ".png":
        raise ValueError(f"save writes PNG; the path must end in .png, got {str(path)!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, format="png", dpi=dpi)
    return target
