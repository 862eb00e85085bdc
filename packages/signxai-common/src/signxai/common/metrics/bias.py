"""Bias measure of the SIGN paper: how strongly a relevance map follows the input itself.

Methods that multiply by the input (gradient x input, most LRP rules) give relevance that correlates with the
input values, so dark (zero) regions get no relevance whatever the model does. The paper reports the
per-sample Pearson and Spearman correlation between input and relevance map; a value near 0 means the map is not
biased by the input, a value near 1 that it mostly reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .correlation import as_sample_pair, nanmean, pearson_rows, spearman_rows


@dataclass(frozen=True)
class BiasResult:
    """Per-sample correlation between input and relevance.

    Attributes
    ----------
    pearson : numpy.ndarray
        (N,) Pearson coefficients; NaN where undefined (constant or non-finite sample).
    spearman : numpy.ndarray
        (N,) Spearman coefficients (average ranks for ties); NaN where undefined.
    """

    pearson: np.ndarray
    spearman: np.ndarray

    @property
    def pearson_mean(self) -> float:
        """Mean Pearson coefficient over the samples where it is defined (NaN if none is)."""
        return nanmean(self.pearson)

    @property
    def spearman_mean(self) -> float:
        """Mean Spearman coefficient over the samples where it is defined (NaN if none is)."""
        return nanmean(self.spearman)


def input_bias(x: Any, relevance: Any) -> BiasResult:
    """Per-sample Pearson and Spearman correlation between the input and its relevance map.

    Each sample of ``x`` and ``relevance`` is flattened (all axes after the first, in the given layout, so the
    layout does not matter as long as both arrays share it) and correlated element by element. Spearman's
    coefficient uses average ranks for ties, computed in NumPy (no SciPy needed).

    Parameters
    ----------
    x : array_like
        Inputs, shape (N, ...).
    relevance : array_like
        Relevance maps, the same shape as ``x``.

    Returns
    -------
    BiasResult
        ``pearson`` and ``spearman``, each (N,). A sample whose input or relevance is constant (e.g. an all-zero
        map) or contains NaN / infinity has no correlation: its coefficients are NaN.

    Raises
    ------
    ParameterError
        (a ``ValueError``) if the shapes differ or the arrays have no batch axis; the message names ``x`` and
        ``relevance``.
    """
    a, b = as_sample_pair(x, relevance, names=("x", "relevance"))
    return BiasResult(pearson=pearson_rows(a, b), spearman=spearman_rows(a, b))
