"""Figure creation on the Agg canvas (never pyplot) and the shared signed colour scale."""

from __future__ import annotations

from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure


def new_figure(figsize: tuple[float, float], **kwargs: Any) -> Figure:
    """Return a Figure with its own Agg canvas; it is not registered with pyplot and changes no global backend."""
    fig = Figure(figsize=figsize, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def get_cmap(cmap: str | Colormap) -> Colormap:
    """Resolve a colormap name (or pass a Colormap through); ValueError for an unknown name."""
    if isinstance(cmap, Colormap):
        return cmap
    try:
        return matplotlib.colormaps[cmap]
    except KeyError:
        raise ValueError(f"unknown colormap {cmap!r}") from None


def signed_norm() -> Normalize:
    """The symmetric colour scale of normalised relevance: -1 .. 1, centred at 0."""
    return Normalize(vmin=-1.0, vmax=1.0)


def signed_mappable(cmap: Colormap) -> ScalarMappable:
    """A ScalarMappable over [-1, 1] for a shared colour bar."""
    mappable = ScalarMappable(norm=signed_norm(), cmap=cmap)
    mappable.set_array([])
    return mappable
