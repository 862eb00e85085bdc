"""Per-sample Pearson and Spearman correlation in pure NumPy (no SciPy).

Both functions flatten every sample (everything after the first axis) and return one coefficient per sample.
Spearman's coefficient is Pearson's coefficient of the average ranks (ties share the mean of the ranks they
span, as ``scipy.stats.rankdata(method="average")`` does).

A sample whose values are constant in either argument, or which contains NaN or infinity in either argument, has
no defined coefficient: its result is NaN (no warning, no exception).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validation import ParameterError


def as_sample_pair(a: Any, b: Any, names: tuple[str, str] = ("a", "b")) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` as float64 arrays of shape (N, M), one flattened sample per row.

    Raises
    ------
    ParameterError
        If the shapes differ, an array has fewer than 2 dimensions (no batch axis) or no element per sample.
    """
    arrays = []
    for name, value in zip(names, (a, b)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ParameterError(f"{name} must be a real-valued array, got dtype {array.dtype}")
        if array.ndim < 2:
            raise ParameterError(f"{name} must have a batch axis and at least one more axis, got shape {array.shape}")
        arrays.append(array)
    if arrays[0].shape != arrays[1].shape:
        raise ParameterError(
            f"{names[0]} and {names[1]} must have the same shape, got {arrays[0].shape} and {arrays[1].shape}"
        )
    n = arrays[0].shape[0]
    flat = [array.reshape(n, -1).astype(np.float64) for array in arrays]
    if flat[0].shape[1] == 0:
        raise ParameterError(f"{names[0]} and {names[1]} must have at least one element per sample")
    return flat[0], flat[1]


def _undefined(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows (N,) where the coefficient is undefined: a non-finite value, or a constant row in either array."""
    finite = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    with np.errstate(invalid="ignore"):
        constant = (a.max(axis=1) == a.min(axis=1)) | (b.max(axis=1) == b.min(axis=1))
    return ~finite | constant


def _pearson_rows(a: np.ndarray, b: np.ndarray, undefined: np.ndarray) -> np.ndarray:
    out = np.full(a.shape[0], np.nan)
    ok = ~undefined
    if ok.any():
        da = a[ok] - a[ok].mean(axis=1, keepdims=True)
        db = b[ok] - b[ok].mean(axis=1, keepdims=True)
        # scale each row first so that sums of squares neither overflow nor underflow
        da = da / np.abs(da).max(axis=1, keepdims=True)
        db = db / np.abs(db).max(axis=1, keepdims=True)
        r = (da * db).sum(axis=1) / np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
        out[ok] = np.clip(r, -1.0, 1.0)
    return out


def average_ranks(values: Any) -> np.ndarray:
    """Ranks (1 .. M) of every row of ``values`` (N, M), ties given the average of the ranks they span.

    Equal to ``scipy.stats.rankdata(values, method="average", axis=1)`` for finite input.

    Parameters
    ----------
    values : array_like
        Shape (N, M); a 1-D array is ranked as one row.

    Returns
    -------
    numpy.ndarray
        float64 ranks of the same shape.
    """
    array = np.asarray(values, dtype=np.float64)
    one_d = array.ndim == 1
    rows = np.atleast_2d(array)
    if rows.ndim != 2:
        raise ParameterError(f"values must be 1-D or 2-D, got shape {array.shape}")
    n, m = rows.shape
    ranks = np.empty_like(rows)
    for i in range(n):
        order = np.argsort(rows[i], kind="stable")
        ordered = rows[i, order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if m else np.zeros(0, int)
        ends = np.r_[starts[1:], m]
        # the tied block at sorted positions starts .. ends-1 holds ranks starts+1 .. ends: mean (starts+1+ends)/2
        ranks[i, order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)
    return ranks[0] if one_d else ranks


def pearson(a: Any, b: Any) -> np.ndarray:
    """Pearson correlation coefficient of ``a[i]`` and ``b[i]`` (each flattened) for every sample ``i``.

    Parameters
    ----------
    a, b : array_like
        Same shape (N, ...), N samples.

    Returns
    -------
    numpy.ndarray
        (N,) float64 in [-1, 1]; NaN for a sample that is constant or not finite in ``a`` or ``b``.

    Raises
    ------
    ParameterError
        (a ``ValueError``) for different shapes or arrays without a batch axis.
    """
    return pearson_rows(*as_sample_pair(a, b))


def spearman(a: Any, b: Any) -> np.ndarray:
    """Spearman rank correlation of ``a[i]`` and ``b[i]`` (each flattened) for every sample ``i``.

    The Pearson coefficient of the average ranks (:func:`average_ranks`); equal to ``scipy.stats.spearmanr``
    of each sample pair.

    Parameters
    ----------
    a, b : array_like
        Same shape (N, ...), N samples.

    Returns
    -------
    numpy.ndarray
        (N,) float64 in [-1, 1]; NaN for a sample that is constant or not finite in ``a`` or ``b``.

    Raises
    ------
    ParameterError
        (a ``ValueError``) for different shapes or arrays without a batch axis.
    """
    return spearman_rows(*as_sample_pair(a, b))


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson coefficient of every row pair of two float64 (N, M) arrays (NaN where undefined)."""
    return _pearson_rows(a, b, _undefined(a, b))


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman coefficient of every row pair of two float64 (N, M) arrays (NaN where undefined)."""
    out = np.full(a.shape[0], np.nan)
    ok = ~_undefined(a, b)
    if ok.any():
        out[ok] = _pearson_rows(average_ranks(a[ok]), average_ranks(b[ok]), np.zeros(int(ok.sum()), dtype=bool))
    return out


def nanmean(values: np.ndarray) -> float:
    """Mean of the finite entries (NaN, without a warning, if there are none)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")
