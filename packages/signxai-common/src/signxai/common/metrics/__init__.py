"""Framework-neutral evaluation metrics of the SIGN paper, in pure NumPy.

* :func:`pixel_flipping` -- MoRF / LeRF perturbation curves and their area over the curve (AOC); the model is
  reached through a ``predict(x_batch) -> scores`` callable, so PyTorch and TensorFlow share one implementation.
  :func:`random_uniform` gives the random-relevance baseline, :func:`area_over_curve` the AOC of given curves.
* :func:`input_bias` -- per-sample Pearson / Spearman correlation between input and relevance (the bias measure).
* :func:`randomisation_similarity` -- the model-parameter randomisation sanity check on precomputed maps.
* :func:`pearson`, :func:`spearman`, :func:`average_ranks` -- the per-sample correlations they use (no SciPy).
"""

from .bias import BiasResult, input_bias
from .correlation import average_ranks, pearson, spearman
from .flipping import FlippingResult, area_over_curve, pixel_flipping, random_uniform
from .randomisation import RandomisationResult, randomisation_similarity

__all__ = [
    "BiasResult",
    "FlippingResult",
    "RandomisationResult",
    "area_over_curve",
    "average_ranks",
    "input_bias",
    "pearson",
    "pixel_flipping",
    "randomisation_similarity",
    "random_uniform",
    "spearman",
]
