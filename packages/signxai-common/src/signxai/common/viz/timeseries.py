"""Relevance plots of multi-lead time series (e.g. a 12-lead ECG): each lead a line coloured by its relevance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from ._figure import get_cmap, new_figure, signed_mappable, signed_norm
from .normalize import check_layout, drop_batch, normalize

STANDARD_ECG_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def _as_time_by_lead(array: np.ndarray, layout: str, name: str) -> np.ndarray:
    """Return one sample as ``(T, leads)`` float64; ``(T,)`` is one lead, a batch axis of 1 is dropped."""
    a = np.asarray(array)
    if a.ndim == 1:
        return drop_batch(a, 1, name)[:, np.newaxis]
    a = drop_batch(a, 2, name)
    return a.T.copy() if layout == "channels_first" else a


def relevance_plot(
    signal: np.ndarray,
    relevance: np.ndarray,
    *,
    leads: Optional[Sequence[str]] = None,
    sampling_rate: Optional[float] = None,
    layout: str = "channels_last",
    cmap: Union[str, Colormap] = "seismic",
    clip_percentile: Optional[float] = None,
    linewidth: float = 1.5,
    title: Optional[str] = None,
    width: float = 10.0,
    lead_height: float = 0.9,
) -> Figure:
    """Plot each lead of a time series as a line coloured by its relevance, one subplot per lead.

    The relevance of all leads together is scaled into [-1, 1] by max|R|
    (:func:`~signxai.common.viz.normalize`), so colours are comparable across leads; the segment between samples
    t and t+1 takes the mean of their two scaled relevances. A slightly wider grey copy of the signal lies
    underneath as an outline, so stretches of zero relevance (white) stay visible. One colour bar for [-1, 1] is
    shared by all leads.

    Parameters
    ----------
    signal : array_like
        ``(T, leads)`` (``'channels_last'``, Keras) or ``(leads, T)`` (``'channels_first'``, PyTorch), a batch of
        one of those, or ``(T,)`` for a single lead.
    relevance : array_like
        Relevance of the same shape as ``signal``.
    leads : sequence of str, optional
        Lead names, one per lead. Default: the standard 12 ECG leads (I, II, III, aVR, aVL, aVF, V1..V6) when
        there are 12 leads, otherwise ``'lead 1'``, ``'lead 2'``, ...
    sampling_rate : float, optional
        Samples per second; when given the x axis is in seconds, otherwise in samples.
    layout : {'channels_last', 'channels_first'}
        Position of the lead axis.
    cmap : str or matplotlib.colors.Colormap
        Diverging colormap centred at 0, ``'seismic'`` by default (positive red, negative blue).
    clip_percentile : float, optional
        Percentile clipping of ``|R|`` before scaling; off by default.
    linewidth : float
        Width of the coloured lines.
    title : str, optional
        Figure title.
    width : float
        Figure width in inches.
    lead_height : float
        Height of one lead's subplot in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its first ``leads`` axes are the leads in order (y label = lead name), the last is the colour
        bar.

    Raises
    ------
    ValueError
        If shapes differ or are not one sample, there are fewer than 2 time steps, the number of lead names is
        wrong, ``sampling_rate`` is not positive, or the layout or colormap is unknown.
    """
    check_layout(layout)
    colormap = get_cmap(cmap)
    x = _as_time_by_lead(signal, layout, "signal")
    r = _as_time_by_lead(relevance, layout, "relevance")
    if x.shape != r.shape:
        raise ValueError(
            f"signal and relevance differ in shape: {np.shape(signal)} vs {np.shape(relevance)} ({layout})"
        )
    n_steps, n_leads = x.shape
    if n_steps < 2:
        raise ValueError(f"a time series needs at least 2 time steps, got {n_steps} (layout {layout!r})")
    if leads is None:
        names = list(STANDARD_ECG_LEADS) if n_leads == 12 else [f"lead {i + 1}" for i in range(n_leads)]
    else:
        names = [str(name) for name in leads]
        if len(names) != n_leads:
            raise ValueError(f"{len(names)} lead names for {n_leads} leads")
    if sampling_rate is None:
        t = np.arange(n_steps, dtype=np.float64)
        xlabel = "sample"
    else:
        if not float(sampling_rate) > 0.0:
            raise ValueError(f"sampling_rate must be positive, got {sampling_rate!r}")
        t = np.arange(n_steps, dtype=np.float64) / float(sampling_rate)
        xlabel = "time [s]"
    scaled = normalize(r, clip_percentile=clip_percentile)
    segment_values = 0.5 * (scaled[:-1] + scaled[1:])

    fig = new_figure((width, lead_height * n_leads + 0.8 + (0.3 if title else 0.0)), layout="constrained")
    axes = fig.subplots(n_leads, 1, sharex=True, squeeze=False)[:, 0]
    for k, (ax, name) in enumerate(zip(axes, names)):
        points = np.stack([t, x[:, k]], axis=-1)
        segments = np.stack([points[:-1], points[1:]], axis=1)
        ax.plot(t, x[:, k], color="0.7", linewidth=linewidth + 1.0, zorder=1)
        lines = LineCollection(segments, cmap=colormap, norm=signed_norm(), linewidths=linewidth, zorder=2)
        lines.set_array(segment_values[:, k])
        ax.add_collection(lines)
        low, high = float(x[:, k].min()), float(x[:, k].max())
        margin = 0.1 * (high - low) if high > low else 1.0
        ax.set_ylim(low - margin, high + margin)
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.tick_params(axis="y", labelsize="x-small")
    axes[0].set_xlim(t[0], t[-1])
    axes[-1].set_xlabel(xlabel)
    if title is not None:
        fig.suptitle(title)
    fig.colorbar(signed_mappable(colormap), ax=list(axes), shrink=0.6, label="relevance")
    return fig
