"""The assertions of spec section 6 on one pair of maps (TF and PyTorch, both in the Keras layout)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: float64 tier: max|R_torch - R_tf| <= FLOAT64_REL * max|R_tf|.
FLOAT64_REL = 1e-6
#: float32 tier: Pearson r >= FLOAT32_MIN_R.
FLOAT32_MIN_R = 0.999
#: Forward parity: max|z_torch - z_tf| <= tolerance * max|z_tf|, per tier.
FORWARD_REL = {"float64": 1e-9, "float32": 1e-4}


@dataclass(frozen=True)
class Comparison:
    """Outcome of :func:`compare`."""

    passed: bool
    criterion: str
    max_abs_diff: float
    max_abs_tf: float
    rel_max_abs_diff: float
    pearson_r: float | None
    note: str = ""


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation of two arrays (flattened, float64); None when either is constant."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    if den == 0.0:
        return None
    return float(np.dot(a, b) / den)


def compare(r_tf: np.ndarray, r_torch: np.ndarray, tier: str) -> Comparison:
    """Compare two signed maps as spec section 6 says (no averaging, absolute values or clipping).

    Parameters
    ----------
    r_tf, r_torch : numpy.ndarray
        Maps of the same shape (Keras layout).
    tier : {"float64", "float32"}
        float64: max|d| <= 1e-6 max|R_tf|; float32: Pearson r >= 0.999. Maps identically 0 in both pass; a
        constant map (no correlation defined) passes the float32 tier only if it meets the float64 criterion.

    Returns
    -------
    Comparison
    """
    if tier not in ("float64", "float32"):
        raise ValueError(f"tier must be 'float64' or 'float32', got {tier!r}")
    a = np.asarray(r_tf, dtype=np.float64)
    b = np.asarray(r_torch, dtype=np.float64)
    if a.shape != b.shape:
        return Comparison(False, "shape", np.inf, np.inf, np.inf, None, f"shapes differ: tf {a.shape}, torch {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return Comparison(False, "finite", np.inf, np.inf, np.inf, None, "a map contains NaN or infinite values")
    max_diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    max_tf = float(np.max(np.abs(a))) if a.size else 0.0
    if max_tf == 0.0:
        rel = 0.0 if max_diff == 0.0 else np.inf
    else:
        rel = max_diff / max_tf
    r = pearson(a, b)
    within = rel <= FLOAT64_REL
    if max_tf == 0.0 and max_diff == 0.0:
        return Comparison(True, "both maps identically 0", max_diff, max_tf, rel, r)
    if tier == "float64":
        return Comparison(within, f"max|d| <= {FLOAT64_REL:g} max|R_tf|", max_diff, max_tf, rel, r)
    if r is None:
        note = "a map is constant: Pearson r undefined, judged by max|d| <= 1e-6 max|R_tf|"
        return Comparison(within, "constant map", max_diff, max_tf, rel, r, note)
    return Comparison(r >= FLOAT32_MIN_R, f"Pearson r >= {FLOAT32_MIN_R:g}", max_diff, max_tf, rel, r)
