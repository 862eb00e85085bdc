"""Target resolution and input checks shared by both backends (spec section 1)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def resolve_targets(target: int | Sequence[int] | np.ndarray | None, logits: np.ndarray) -> np.ndarray:
    """One target class per sample.

    Parameters
    ----------
    target : None, int or sequence of int
        None -> argmax of each sample's output; an int -> that class for every sample; a sequence -> one class
        per sample.
    logits : numpy.ndarray
        Model output of shape (batch, classes).

    Returns
    -------
    numpy.ndarray
        int64 array of shape (batch,).

    Raises
    ------
    ValueError
        For a class out of range, a sequence of the wrong length or a non-integer target.
    """
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"the model output must have shape (batch, classes), got {logits.shape}")
    batch, classes = logits.shape
    if target is None:
        return np.argmax(logits, axis=1).astype(np.int64)
    arr = np.asarray(target)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"target must be None, an int or a sequence of ints, got {target!r}")
    if arr.ndim == 0:
        arr = np.full(batch, int(arr), dtype=np.int64)
    elif arr.shape != (batch,):
        hint = " (flatten it, e.g. numpy.ravel(target))" if arr.size == batch else ""
        raise ValueError(
            f"target has {arr.size} entries for a batch of {batch} (shape {arr.shape}); target must be None, one "
            f"int, or a flat sequence of {batch} ints (shape ({batch},)), one class per sample{hint}"
        )
    bad = arr[(arr < 0) | (arr >= classes)]
    if bad.size:
        raise ValueError(f"target class {int(bad[0])} out of range for a model with {classes} outputs")
    return arr.astype(np.int64)


def check_input(x: np.ndarray, min_rank: int = 2) -> None:
    """Raise ValueError unless ``x`` is a finite float array with a batch axis (rank >= ``min_rank``)."""
    x = np.asarray(x)
    if x.ndim < min_rank:
        raise ValueError(f"input must have a batch axis and rank >= {min_rank}, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("input batch is empty")
    if x.dtype.kind not in "fiu":
        raise ValueError(f"input must be numeric, got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("input contains NaN or infinite values")
