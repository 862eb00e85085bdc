"""Seeded noise, integration paths and random baselines, drawn here so both backends get identical arrays.

Arrays are drawn in the channels-last layout (Keras: NHWC / NTC) and, for a backend working channels-first
(PyTorch: NCHW / NCT), moved with :func:`to_channels_first` so that element (h, w, c) sees the same number in
both frameworks. Each sample of a batch receives the same draw: a map never depends on what else is in the
batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def to_channels_first(a: np.ndarray, batch_axes: int = 1) -> np.ndarray:
    """Move the last axis to just after the first ``batch_axes`` axes (NHWC -> NCHW, NTC -> NCT)."""
    return np.moveaxis(a, -1, batch_axes)


def to_channels_last(a: np.ndarray, batch_axes: int = 1) -> np.ndarray:
    """Inverse of :func:`to_channels_first`."""
    return np.moveaxis(a, batch_axes, -1)


def _sample_shape_channels_last(sample_shape: tuple[int, ...], channels_first: bool) -> tuple[int, ...]:
    if channels_first and len(sample_shape) >= 2:
        return (*sample_shape[1:], sample_shape[0])
    return tuple(sample_shape)


def smoothgrad_noise(
    sample_shape: tuple[int, ...], samples: int, noise: float, seed: int, channels_first: bool = False
) -> np.ndarray:
    """Gaussian noise for SmoothGrad / VarGrad (spec section 4), all samples at once.

    Parameters
    ----------
    sample_shape : tuple of int
        Shape of one sample (no batch axis) in the backend's layout.
    samples : int
        Number of noisy copies n.
    noise : float
        Standard deviation sigma, in input units.
    seed : int
        Seed of ``numpy.random.default_rng``.
    channels_first : bool
        Whether ``sample_shape`` is channels-first (C, ...); the draw is made channels-last and moved.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(samples, *sample_shape)``; add it to every sample of the batch. Equal to the
        concatenation of the chunks of :func:`smoothgrad_noise_chunks` for any chunk size.
    """
    chunks = list(smoothgrad_noise_chunks(sample_shape, samples, noise, seed, max(1, samples), channels_first))
    return chunks[0] if chunks else np.zeros((0, *sample_shape))


def smoothgrad_noise_chunks(
    sample_shape: tuple[int, ...], samples: int, noise: float, seed: int, chunk: int, channels_first: bool = False
) -> Iterator[np.ndarray]:
    """The noise of :func:`smoothgrad_noise` drawn ``chunk`` samples at a time (memory: one chunk).

    One generator draws the chunks in order, so their concatenation is the all-at-once draw, bit for bit, for
    every chunk size.

    Yields
    ------
    numpy.ndarray
        float64 arrays of shape ``(k, *sample_shape)``, k = ``chunk`` except for the last one.
    """
    shape = _sample_shape_channels_last(tuple(sample_shape), channels_first)
    move = channels_first and len(sample_shape) >= 2
    rng = np.random.default_rng(seed)
    chunk = max(1, int(chunk))
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        eps = rng.normal(0.0, 1.0, size=(k, *shape)) * noise
        yield to_channels_first(eps) if move else eps


def integration_alphas(steps: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Path fractions k/(N-1), k = ``start``..``stop``-1 (default all, 0..N-1), of integrated gradients, float64.

    A slice of the fractions is computed without building the whole array, so a chunked backend holds one
    chunk's fractions at a time.
    """
    if steps < 2:
        raise ValueError(f"integrated gradients needs steps >= 2, got {steps}")
    stop = steps if stop is None else min(int(stop), steps)
    return np.arange(start, stop, dtype=np.float64) / (steps - 1)


def random_uniform_map(sample_shape: tuple[int, ...], seed: int, channels_first: bool = False) -> np.ndarray:
    """The ``random_uniform`` baseline: U(-1, 1) over the spatial axes, repeated over channels.

    Parameters
    ----------
    sample_shape : tuple of int
        Shape of one sample (no batch axis) in the backend's layout; its channel axis is the last one, or the
        first one when ``channels_first``. A 1-D sample is all spatial.
    seed : int
        Seed of ``numpy.random.default_rng``.
    channels_first : bool
        Whether ``sample_shape`` is channels-first (C, ...).

    Returns
    -------
    numpy.ndarray
        float64 array of ``sample_shape``.
    """
    shape = _sample_shape_channels_last(tuple(sample_shape), channels_first)
    if len(shape) == 1:
        return np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape)
    spatial = np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape[:-1])
    full = np.repeat(spatial[..., None], shape[-1], axis=-1)
    return to_channels_first(full, 0) if channels_first else full
