"""Pixel flipping (MoRF / LeRF) with the area over the perturbation curve (AOC), as in the SIGN paper.

Gumpfer et al., "SIGNed explanations: Unveiling relevant features by reducing bias", Information Fusion 99,
101883 (2023), after Samek et al. (2017): the input features are replaced step by step by random values, in the
order given by the relevance map, and the model's score for the target class is recorded after every step.

Conventions (the same for both backends, which reach their model through a ``predict`` callable):

* **Units.** With ``per_channel=False`` (default) one unit is a position (a pixel, a time step) with all its
  channels (colour channels, ECG leads); its relevance is the sum of the relevance over the channel axis. With
  ``per_channel=True`` every (position, channel) element is its own unit.
* **Order.** MoRF flips the units in descending relevance, LeRF in ascending relevance. Ties are broken by
  position: of equal relevance, the unit with the lower flat index (row-major over the positions in channels-last
  layout, then the channel for ``per_channel=True``) goes first, in both orders (a stable argsort).
* **Replacement values.** Every element of the batch gets one uniform random value in its channel's range
  ``[low, high)``, drawn once up front from ``numpy.random.default_rng(seed)`` in channels-last layout; flipping
  a unit writes these values into it. So the same seed gives the same curves, MoRF and LeRF flip to the same
  values, ``batch_size`` does not change the result, and channels-first input gives the same result as its
  channels-last transpose. The default range is each channel's min / max over the whole batch passed in.
* **Steps.** The U units are cut into ``steps`` consecutive groups (group i ends at unit ``i * U // steps``), or
  into groups of ``max(1, round(fraction_per_step * U))`` units (the last group takes the rest). The x axis of
  the curve is the fraction of units flipped, from 0 to 1.
* **AOC.** ``100 - area`` under the curve in percent over the x axis [0, 1] (trapezoid rule), where the curve is
  the score normalised by ``normalise``: ``"initial"`` (default: 100 x score / unperturbed score),
  ``"softmax"`` (100 x softmax probability of the target; ``predict`` returns logits) or ``"probability"``
  (100 x score; ``predict`` already returns probabilities). High MoRF AOC and low LeRF AOC are good.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..validation import ParameterError, ParameterTypeError, check_bool, check_choice, check_int, check_real
from .correlation import nanmean

ORDERS = ("morf", "lerf")
NORMALISATIONS = ("initial", "softmax", "probability")


@dataclass(frozen=True)
class FlippingResult:
    """The perturbation curves of a batch and their area over the curve.

    Attributes
    ----------
    curves : numpy.ndarray
        (N, steps + 1) normalised target score in percent, before the first step and after every step.
    scores : numpy.ndarray
        (N, steps + 1) raw target score returned by ``predict`` (before any normalisation).
    fractions : numpy.ndarray
        (steps + 1,) fraction of the units flipped at each point of the curve, 0 .. 1 (the x axis).
    aoc : numpy.ndarray
        (N,) area over each curve in percent: ``100 - trapezoid area``; NaN where the curve is undefined
        (``normalise="initial"`` with an unperturbed score <= 0).
    mean : float
        Mean AOC over the samples where it is finite (NaN if none is).
    std : float
        Population standard deviation (ddof=0) of the finite AOCs (NaN if none is finite).
    order : str
        ``"morf"`` or ``"lerf"``.
    normalise : str
        The normalisation of ``curves``.
    """

    curves: np.ndarray
    scores: np.ndarray
    fractions: np.ndarray
    aoc: np.ndarray
    mean: float
    std: float
    order: str
    normalise: str


def area_over_curve(curves: Any, fractions: Any = None) -> np.ndarray:
    """Area over perturbation curves in percent: ``100 - trapezoid area`` under each curve over [0, 1].

    Parameters
    ----------
    curves : array_like
        (N, K) or (K,) curves in percent (K >= 2 points).
    fractions : array_like or None
        (K,) increasing x positions from 0 to 1; ``None`` = equally spaced ``linspace(0, 1, K)``.

    Returns
    -------
    numpy.ndarray
        (N,) (or a 0-d array for a 1-D curve) AOC values; a curve at 100 throughout has AOC 0, one that drops
        to 0 at once (after the first point of K equally spaced ones) has AOC ``100 - 50 / (K - 1)``.
    """
    y = np.asarray(curves, dtype=np.float64)
    if y.ndim not in (1, 2) or y.shape[-1] < 2:
        raise ParameterError(f"curves must be (N, K) or (K,) with K >= 2 points, got shape {y.shape}")
    k = y.shape[-1]
    x = np.linspace(0.0, 1.0, k) if fractions is None else np.asarray(fractions, dtype=np.float64)
    if x.shape != (k,) or x[0] != 0.0 or x[-1] != 1.0 or np.any(np.diff(x) < 0):
        raise ParameterError(f"fractions must be ({k},), non-decreasing from 0 to 1, got {x!r}")
    area = (((y[..., 1:] + y[..., :-1]) / 2.0) * np.diff(x)).sum(axis=-1)
    return 100.0 - area


def random_uniform(shape: tuple[int, ...] | Any, *, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """A random relevance map, uniform in [0, 1): the baseline the SIGN paper reports AOC relative to.

    Flipping by this map (MoRF and LeRF are then both a random order) gives the AOC of an uninformed method;
    a method is only useful where its MoRF AOC lies above and its LeRF AOC below the random baseline's.

    Parameters
    ----------
    shape : tuple of int or array_like
        Shape of the map; an array gives its own shape (pass the input batch).
    seed : int, numpy.random.Generator or None
        Seed of ``numpy.random.default_rng``; the same seed gives the same map.

    Returns
    -------
    numpy.ndarray
        float64 map of that shape.
    """
    if isinstance(shape, np.ndarray):
        shape = shape.shape
    elif not isinstance(shape, tuple):
        raise ParameterTypeError(f"shape must be a tuple of int or an array, got {type(shape).__name__}")
    shape = tuple(check_int("shape", s, minimum=0) for s in shape)
    return np.random.default_rng(seed).random(shape)


def _channels_last(array: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """(N, positions..., C) view of ``array``; a channel axis of size 1 is added for ``channel_axis=None``."""
    if channel_axis is None:
        return array[..., np.newaxis]
    return np.moveaxis(array, channel_axis, -1)


def _check_channel_axis(channel_axis: Any, ndim: int) -> int | None:
    if channel_axis is None:
        if ndim < 2:
            raise ParameterError(f"x must have a batch axis and at least one more axis, got {ndim} dimension(s)")
        return None
    axis = check_int("channel_axis", channel_axis)
    if ndim < 3:
        raise ParameterError(
            f"x with a channel axis must have at least 3 dimensions (N, positions..., C), got {ndim}; "
            "pass channel_axis=None for input without channels"
        )
    if axis in (-1, ndim - 1):
        return -1
    if axis in (1, 1 - ndim):
        return 1
    raise ParameterError(
        f"channel_axis must be -1 (channels last), 1 (channels first) or None (no channel axis), got {axis}"
    )


def _value_range(value_range: Any, x_last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    channels = x_last.shape[-1]
    if value_range is None:
        axes = tuple(range(x_last.ndim - 1))
        return x_last.min(axis=axes).astype(np.float64), x_last.max(axis=axes).astype(np.float64)
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ParameterError(f"value_range must be None or a pair (low, high), got {value_range!r}")
    bounds = []
    for value in value_range:
        try:
            bound = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"value_range bounds must be numbers or per-channel arrays, got {value!r}") from exc
        if bound.ndim == 0:
            bound = np.full(channels, float(bound))
        if bound.shape != (channels,):
            raise ParameterError(
                f"value_range bounds must be scalars or have one value per channel ({channels}), got shape "
                f"{bound.shape}"
            )
        if not np.isfinite(bound).all():
            raise ParameterError("value_range bounds must be finite")
        bounds.append(bound)
    low, high = bounds
    if np.any(low > high):
        raise ParameterError(f"value_range needs low <= high in every channel, got low {low} and high {high}")
    return low, high


def _boundaries(units: int, steps: Any, fraction_per_step: Any) -> np.ndarray:
    if steps is not None and fraction_per_step is not None:
        raise ParameterError("give steps or fraction_per_step, not both")
    if fraction_per_step is not None:
        fraction = check_real("fraction_per_step", fraction_per_step, minimum=0.0, strict=True)
        if fraction > 1.0:
            raise ParameterError(f"fraction_per_step must be in (0, 1], got {fraction:g}")
        per_step = max(1, int(np.floor(fraction * units + 0.5)))
        return np.unique(np.r_[np.arange(0, units, per_step), units])
    count = min(units, 100) if steps is None else check_int("steps", steps, minimum=1)
    if count > units:
        raise ParameterError(f"steps must be <= the number of units to flip ({units}), got {count}")
    return np.arange(count + 1) * units // count


def _normalised(scores: np.ndarray, logits: list[np.ndarray] | None, normalise: str) -> np.ndarray:
    if normalise == "probability":
        return 100.0 * scores
    if normalise == "softmax":
        assert logits is not None
        return 100.0 * np.stack(logits, axis=1)
    first = scores[:, :1]
    with np.errstate(divide="ignore", invalid="ignore"):
        curves = 100.0 * scores / first
    curves[(first[:, 0] <= 0) | ~np.isfinite(first[:, 0])] = np.nan
    return curves


def pixel_flipping(
    predict: Callable[[np.ndarray], Any],
    x: Any,
    relevance: Any,
    target: Any,
    *,
    order: str = "morf",
    steps: int | None = None,
    fraction_per_step: float | None = None,
    channel_axis: int | None = -1,
    per_channel: bool = False,
    value_range: tuple[Any, Any] | None = None,
    normalise: str = "initial",
    seed: int | np.random.Generator | None = 0,
    batch_size: int | None = None,
) -> FlippingResult:
    """Flip the input in the order of its relevance and record the target's score: MoRF / LeRF curves and AOC.

    See the module docstring for the conventions (units, tie-breaking, random values, steps, AOC).

    Parameters
    ----------
    predict : callable
        ``predict(x_batch) -> scores`` of shape (rows, classes), for a NumPy batch in the layout of ``x``.
        Called ``steps + 1`` times (times the number of chunks); it must not depend on the batch composition
        (inference mode).
    x : array_like
        Input batch: images (N, H, W, C) with ``channel_axis=-1`` or (N, C, H, W) with ``channel_axis=1``,
        multi-lead time series (N, T, leads), or anything (N, positions...) with ``channel_axis=None``. Integer
        input is converted to float64; floating input keeps its dtype.
    relevance : array_like
        Relevance maps, the shape of ``x``; with ``per_channel=False`` also the shape of ``x`` without its
        channel axis (relevance already per position).
    target : int or array_like of int
        Class whose score is recorded: one for all samples, or (N,).
    order : {"morf", "lerf"}
        Most relevant first (descending relevance) or least relevant first (ascending).
    steps : int or None
        Number of flipping steps (1 .. number of units); the curve has ``steps + 1`` points. ``None`` (and no
        ``fraction_per_step``) = ``min(units, 100)``.
    fraction_per_step : float or None
        Alternative to ``steps``: the fraction (0, 1] of the units flipped per step.
    channel_axis : {-1, 1, None}
        Where the channels are: last (default, also the lead axis of (N, T, leads) series), first after the
        batch axis, or ``None`` when there is no channel axis.
    per_channel : bool
        ``False`` (default): flip a position with all its channels at once (an ECG time step across all leads,
        a pixel with all colours), ranked by the relevance summed over the channels. ``True``: flip every
        (position, channel) element on its own, ranked by its own relevance.
    value_range : (low, high) or None
        Range of the uniform replacement values, each bound a scalar or one value per channel. ``None``
        (default) = per-channel min and max of ``x`` over the whole batch. ``low == high`` flips to that
        constant.
    normalise : {"initial", "softmax", "probability"}
        How the score becomes a percentage: relative to the unperturbed score (AOC NaN where that is <= 0),
        as the softmax probability of the target over ``predict``'s outputs, or the output itself x 100.
    seed : int, numpy.random.Generator or None
        Seed of ``numpy.random.default_rng`` for the replacement values; the same seed gives the same curves.
    batch_size : int or None
        Rows per ``predict`` call; ``None`` = the whole batch in one call per step. Does not change the result.

    Returns
    -------
    FlippingResult
        ``curves`` and ``scores`` (N, steps + 1), ``fractions`` (steps + 1,), ``aoc`` (N,), ``mean``, ``std``.

    Raises
    ------
    ParameterError
        (a ``ValueError``) for a value out of range, naming the parameter: mismatched ``relevance`` shape,
        non-finite ``x`` / ``relevance``, ``order``, ``steps``, ``fraction_per_step``, ``channel_axis``,
        ``value_range``, ``normalise``, ``batch_size``, ``target`` or a ``predict`` output of the wrong shape.
    ParameterTypeError
        (a ``TypeError``) for a parameter of the wrong type, e.g. ``steps="10"``.
    """
    if not callable(predict):
        raise ParameterTypeError(f"predict must be callable, got {type(predict).__name__}")
    order = check_choice("order", order, ORDERS)
    normalise = check_choice("normalise", normalise, NORMALISATIONS)
    per_channel = check_bool("per_channel", per_channel)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)

    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ParameterError(f"x must be a real-valued array, got dtype {x.dtype}")
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    channel_axis = _check_channel_axis(channel_axis, x.ndim)
    n = x.shape[0]
    if n == 0:
        raise ParameterError("x must hold at least one sample")
    if not np.isfinite(x).all():
        raise ParameterError("x must be finite")
    x_last = _channels_last(x, channel_axis)
    positions_shape, channels = x_last.shape[1:-1], x_last.shape[-1]
    positions = int(np.prod(positions_shape))

    relevance = np.asarray(relevance)
    if relevance.dtype.kind not in "biuf":
        raise ParameterError(f"relevance must be a real-valued array, got dtype {relevance.dtype}")
    if relevance.shape == x.shape:
        r_last = _channels_last(relevance, channel_axis).reshape(n, positions, channels).astype(np.float64)
        r_units = r_last.reshape(n, -1) if per_channel else r_last.sum(axis=-1)
    elif not per_channel and relevance.shape == (n, *positions_shape):
        r_units = relevance.reshape(n, positions).astype(np.float64)
    else:
        allowed = f"{x.shape}" if per_channel else f"{x.shape} or {(n, *positions_shape)}"
        raise ParameterError(f"relevance must have shape {allowed} (x's shape), got {relevance.shape}")
    if not np.isfinite(r_units).all():
        raise ParameterError("relevance must be finite")
    units = r_units.shape[1]
    if units == 0:
        raise ParameterError(f"x has no positions to flip (shape {x.shape})")

    targets = np.asarray(target)
    if targets.dtype.kind not in "iu" or targets.ndim > 1 or (targets.ndim == 1 and targets.shape != (n,)):
        raise ParameterError(f"target must be an int or ({n},) ints, got {target!r}")
    targets = np.broadcast_to(targets, (n,)).astype(np.intp)
    if np.any(targets < 0):
        raise ParameterError(f"target must be >= 0, got {targets.min()}")

    bounds = _boundaries(units, steps, fraction_per_step)
    low, high = _value_range(value_range, x_last)
    rng = np.random.default_rng(seed)
    replacement = rng.uniform(low, high, size=x_last.shape).astype(x.dtype)

    # ranking: stable argsort, ties in ascending unit index in both orders
    ranking = np.argsort(-r_units if order == "morf" else r_units, axis=1, kind="stable")

    work = np.array(x_last, copy=True).reshape(n, positions, channels)
    replacement = replacement.reshape(n, positions, channels)
    if per_channel:
        work, replacement = work.reshape(n, units, 1), replacement.reshape(n, units, 1)
    rows = np.arange(n)[:, np.newaxis]
    chunk = n if batch_size is None else batch_size

    def run() -> tuple[np.ndarray, np.ndarray | None]:
        batch = work.reshape(x_last.shape)
        batch = np.ascontiguousarray(
            np.squeeze(batch, -1) if channel_axis is None else np.moveaxis(batch, -1, channel_axis)
        )
        outputs = []
        for start in range(0, n, chunk):
            # a contiguous copy in the caller's layout: predict may keep or modify it without touching ours
            out = np.asarray(predict(np.ascontiguousarray(batch[start : start + chunk])), dtype=np.float64)
            expected = min(chunk, n - start)
            if out.ndim != 2 or out.shape[0] != expected:
                raise ParameterError(f"predict must return scores of shape ({expected}, classes), got {out.shape}")
            outputs.append(out)
        full = np.concatenate(outputs, axis=0)
        if np.any(targets >= full.shape[1]):
            raise ParameterError(f"target must be < the number of classes ({full.shape[1]}), got {targets.max()}")
        score = full[np.arange(n), targets]
        if normalise != "softmax":
            return score, None
        shifted = np.exp(full - full.max(axis=1, keepdims=True))
        return score, shifted[np.arange(n), targets] / shifted.sum(axis=1)

    scores, probabilities = [], []
    for step in range(len(bounds)):
        if step:
            flip = ranking[:, bounds[step - 1] : bounds[step]]
            work[rows, flip] = replacement[rows, flip]
        score, probability = run()
        scores.append(score)
        probabilities.append(probability)
    score_curves = np.stack(scores, axis=1)
    curves = _normalised(score_curves, probabilities if normalise == "softmax" else None, normalise)
    fractions = bounds / units
    aoc = area_over_curve(curves, fractions)
    finite = aoc[np.isfinite(aoc)]
    return FlippingResult(
        curves=curves,
        scores=score_curves,
        fractions=fractions,
        aoc=aoc,
        mean=nanmean(aoc),
        std=float(finite.std()) if finite.size else float("nan"),
        order=order,
        normalise=normalise,
    )
