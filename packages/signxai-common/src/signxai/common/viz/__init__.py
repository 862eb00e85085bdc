"""Plots of relevance maps: signed image heatmaps, galleries and multi-lead time-series relevance plots.

This subpackage needs matplotlib, installed with the optional extra ``plot``::

    pip install "signxai-common[plot]"

Importing :mod:`signxai.common` never imports matplotlib; only importing this subpackage does. Figures are built
with :class:`matplotlib.figure.Figure` and the Agg canvas, never with pyplot, so nothing here changes the backend
or the state of a user's interactive session. Every plotting function returns the Figure; :func:`save` writes it
as PNG.
"""

from __future__ import annotations

try:
    import matplotlib  # noqa: F401
except ImportError as exc:
    raise ImportError(
        'signxai.common.viz needs matplotlib, which is not installed: pip install "signxai-common[plot]"'
    ) from exc

from .image import heatmap, image_grid, save
from .normalize import drop_batch, normalize, reduce_channels
from .timeseries import STANDARD_ECG_LEADS, relevance_plot

__all__ = [
    "STANDARD_ECG_LEADS",
    "drop_batch",
    "heatmap",
    "image_grid",
    "normalize",
    "reduce_channels",
    "relevance_plot",
    "save",
]
