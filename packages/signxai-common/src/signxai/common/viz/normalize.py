"""Array preparation for plots: batch-axis removal, channel reduction and symmetric normalisation (NumPy only)."""

from __future__ import annotations

from typing import Optional

import numpy as np

LAYOUTS = ("channels_last", "channels_first")
REDUCTIONS = ("sum", "mean", "max_abs")


def check_layout(layout: str) -> None:
    """Raise ValueError unless ``layout`` is 'channels_last' or 'channels_first'."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def drop_batch(array: np.ndarray, sample_ndim: int, name: str = "array") -> np.ndarray:
    """Return ``array`` as a float64 array of rank ``sample_ndim``, dropping a leading batch axis of size 1.

    Parameters
    ----------
    array : array_like
        One sample, of rank ``sample_ndim``, or a batch holding exactly one sample (rank ``sample_ndim + 1``).
    sample_ndim : int
        Rank of one sample.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        float64 array of rank ``sample_ndim`` (a new array; the input is never modified).

    Raises
    ------
    ValueError
        If the rank is neither ``sample_ndim`` nor ``sample_ndim + 1``, if a batch holds more or fewer than one
        sample, if the array is empty or not numeric, or if it contains NaN or infinite values.
    """
    a = np.asarray(array)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    if a.ndim == sample_ndim + 1:
        if a.shape[0] != 1:
            raise ValueError(
                f"{name} has a batch axis of size {a.shape[0]} (shape {a.shape}); plots take one sample, "
                f"pass {name}[i] or a batch of size 1"
            )
        a = a[0]
    elif a.ndim != sample_ndim:
        raise ValueError(
            f"{name} must have rank {sample_ndim} (one sample) or {sample_ndim + 1} (batch of 1), got shape {a.shape}"
        )
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    a = np.array(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def reduce_channels(relevance: np.ndarray, *, layout: str = "channels_last", reduce: str = "sum") -> np.ndarray:
    """Reduce an image relevance map to one value per pixel.

    Parameters
    ----------
    relevance : array_like
        ``(H, W)`` (already one value per pixel; returned as is), one sample ``(H, W, C)`` / ``(C, H, W)``, or a
        batch of one ``(1, H, W, C)`` / ``(1, C, H, W)``.
    layout : {'channels_last', 'channels_first'}
        Where the channel axis is: last (Keras, NHWC) or first after the batch axis (PyTorch, NCHW).
    reduce : {'sum', 'mean', 'max_abs'}
        ``'sum'`` and ``'mean'`` over channels; ``'max_abs'`` keeps, per pixel, the channel value of largest
        magnitude *with its sign* (the first such channel on a tie).

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(H, W)``.

    Raises
    ------
    ValueError
        For an unknown layout or reduction, a bad rank, a batch of more than one sample, or non-finite values.
    """
    check_layout(layout)
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    r = np.asarray(relevance)
    if r.ndim == 2:
        return drop_batch(r, 2, "relevance")
    r = drop_batch(r, 3, "relevance")
    if layout == "channels_first":
        r = np.moveaxis(r, 0, -1)
    if reduce == "sum":
        return r.sum(axis=-1)
    if reduce == "mean":
        return r.mean(axis=-1)
    index = np.argmax(np.abs(r), axis=-1)[..., np.newaxis]
    return np.take_along_axis(r, index, axis=-1)[..., 0]


def normalize(relevance: np.ndarray, *, clip_percentile: Optional[float] = None) -> np.ndarray:
    """Scale a relevance map symmetrically into [-1, 1], keeping 0 at 0 and the sign of every value.

    Parameters
    ----------
    relevance : array_like
        Relevance map of any shape.
    clip_percentile : float, optional
        Off by default: the map is divided by max|R|, so the largest magnitude becomes exactly 1. If given (in
        (0, 100]), the bound is the ``clip_percentile``-th percentile of ``|R|`` over all elements: the map is clipped
        to [-bound, bound] and divided by the bound, so a few extreme values do not wash out the rest. If more
        than ``100 - clip_percentile`` percent of the elements are zero the bound is 0 and the result is all zero.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape with values in [-1, 1]. An all-zero map stays all zero.

    Raises
    ------
    ValueError
        If ``clip_percentile`` is outside (0, 100], or the map is empty, non-numeric or not finite.
    """
    r = np.asarray(relevance)
    r = drop_batch(r, r.ndim, "relevance")
    magnitude = np.abs(r)
    if clip_percentile is None:
        bound = float(magnitude.max())
    else:
        if not 0.0 < float(clip_percentile) <= 100.0:
            raise ValueError(f"clip_percentile must be in (0, 100], got {clip_percentile!r}")
        bound = float(np.percentile(magnitude, float(clip_percentile)))
        r = np.clip(r, -bound, bound)
    if bound == 0.0:
        return np.zeros_like(r)
    return r / bound
