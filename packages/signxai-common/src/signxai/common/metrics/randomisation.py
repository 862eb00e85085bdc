"""Model-parameter randomisation sanity check (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018).

Framework-neutral part only: the caller explains the same inputs once with the trained model and once with a
model whose weights were randomised (how to randomise, cascading or one layer at a time, is up to the caller and
the framework), and passes both sets of maps here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .correlation import as_sample_pair, nanmean, spearman_rows


@dataclass(frozen=True)
class RandomisationResult:
    """Per-sample similarity of the maps of the trained and of the randomised model.

    Attributes
    ----------
    spearman_abs : numpy.ndarray
        (N,) Spearman rank correlation of ``|R_trained|`` and ``|R_randomised|``; NaN where undefined.
    spearman_signed : numpy.ndarray
        (N,) Spearman rank correlation of the signed maps; NaN where undefined.
    """

    spearman_abs: np.ndarray
    spearman_signed: np.ndarray

    @property
    def spearman_abs_mean(self) -> float:
        """Mean of ``spearman_abs`` over the samples where it is defined (NaN if none is)."""
        return nanmean(self.spearman_abs)

    @property
    def spearman_signed_mean(self) -> float:
        """Mean of ``spearman_signed`` over the samples where it is defined (NaN if none is)."""
        return nanmean(self.spearman_signed)


def randomisation_similarity(trained: Any, randomised: Any) -> RandomisationResult:
    """Spearman rank correlation between the maps of a trained model and those of a randomised model.

    A method that is faithful to the model must change its explanation when the model's parameters are replaced
    by random ones, so the similarity should be LOW (near 0). A high similarity means the map depends mostly on
    the input (e.g. edge detection) rather than on what the model learned; Adebayo et al. found this for guided
    backpropagation. The absolute-value variant ignores sign flips (which randomisation often causes without
    changing the structure of the map); the signed variant also counts them.

    Parameters
    ----------
    trained : array_like
        Relevance maps of the trained model, shape (N, ...).
    randomised : array_like
        Relevance maps of the randomised model for the same inputs and targets, the same shape.

    Returns
    -------
    RandomisationResult
        ``spearman_abs`` and ``spearman_signed``, each (N,), the samples flattened; NaN for a sample whose map
        is constant (e.g. all zero) or contains NaN / infinity in either array.

    Raises
    ------
    ParameterError
        (a ``ValueError``) if the shapes differ or the arrays have no batch axis; the message names ``trained``
        and ``randomised``.
    """
    a, b = as_sample_pair(trained, randomised, names=("trained", "randomised"))
    return RandomisationResult(spearman_abs=spearman_rows(np.abs(a), np.abs(b)), spearman_signed=spearman_rows(a, b))
