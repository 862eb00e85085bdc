"""Grad-CAM arithmetic shared by the reference and the backends (spec section 5), in float64 NumPy.

Given the activations A of the Grad-CAM layer and the gradient of the target logit with respect to them,
:func:`normalised_cam` forms cam = ReLU(sum_c w_c A_c) with w_c = mean over positions of dz_t/dA_c and divides each
sample's map by its maximum (0 where the maximum is 0); :func:`upsample` resizes it to the input's spatial size with
separable linear interpolation and half-pixel centres (:func:`interpolation_matrix`: the numbers of
``torch.nn.functional.interpolate(align_corners=False)`` and ``tf.image.resize(..., "bilinear")``);
:func:`to_input_shape` does that and repeats the map over the input's channels. Everything is channels-last. The
PyTorch backend computes the same formulas on the device, with ``F.interpolate``.
"""

from __future__ import annotations

import numpy as np


def normalised_cam(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """ReLU(sum_c w_c A_c) / max per sample (0 where the max is 0), at A's resolution.

    Parameters
    ----------
    activations, gradients : numpy.ndarray
        A and dz_t/dA, both (batch, *spatial, channels).

    Returns
    -------
    numpy.ndarray
        float64 (batch, *spatial) with values in [0, 1].
    """
    a = np.asarray(activations, dtype=np.float64)
    g = np.asarray(gradients, dtype=np.float64)
    if a.shape != g.shape or a.ndim < 3:
        raise ValueError(
            f"activations and gradients must share one (batch, *spatial, channels) shape, got {a.shape} and {g.shape}"
        )
    weights = g.mean(axis=tuple(range(1, a.ndim - 1)), keepdims=True)
    cam = np.maximum((weights * a).sum(axis=-1), 0.0)
    peak = cam.reshape(cam.shape[0], -1).max(axis=1).reshape((-1,) + (1,) * (cam.ndim - 1))
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0)


def interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) linear interpolation with half-pixel centres, clamped at the borders.

    Output o samples the input at src = (o + 0.5) n_in / n_out - 0.5, clamped to [0, n_in - 1].
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"interpolation sizes must be >= 1, got n_in={n_in}, n_out={n_out}")
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0, n_in - 1.0)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    u = np.zeros((n_out, n_in))
    np.add.at(u, (np.arange(n_out), lo), 1.0 - frac)
    np.add.at(u, (np.arange(n_out), hi), frac)
    return u


def upsample(cam: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Resize (batch, *spatial) maps to (batch, *size): separable linear interpolation along each axis."""
    out = np.asarray(cam, dtype=np.float64)
    if out.ndim - 1 != len(size):
        raise ValueError(f"cannot resize maps of shape {out.shape} to spatial size {tuple(size)}")
    for axis, n_out in enumerate(size, start=1):
        u = interpolation_matrix(out.shape[axis], int(n_out))
        out = np.moveaxis(np.tensordot(u, np.moveaxis(out, axis, 0), axes=(1, 0)), 0, axis)
    return out


def to_input_shape(cam: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """Upsample (batch, *spatial) maps to a channels-last input's spatial size and repeat them over its channels."""
    out = upsample(cam, tuple(x_shape[1:-1]))
    return np.repeat(out[..., None], x_shape[-1], axis=-1)
