"""Input checks and dtype handling for :func:`signxai.tf.explain`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from signxai.common.targets import check_input

from .canonical import ModelInfo


def prepare_input(x: np.ndarray | tf.Tensor, info: ModelInfo) -> tuple[np.ndarray, np.dtype]:
    """Check ``x`` against the model and return it as float64 plus the dtype of the result.

    Parameters
    ----------
    x : numpy.ndarray or tf.Tensor
        A batch in the Keras layout (NHWC / NTC), batch axis included.
    info : ModelInfo
        From :func:`signxai.tf.canonical.inspect_model`.

    Returns
    -------
    x64 : numpy.ndarray
        A float64 copy of ``x`` (the caller's array is never written).
    out_dtype : numpy.dtype
        float64 when ``x`` is float64, float32 otherwise.

    Raises
    ------
    ValueError
        For NaN / infinite values, an empty batch, a missing batch axis or a shape the model does not take.
    """
    if tf.is_tensor(x):
        x = x.numpy()
    x = np.asarray(x)
    check_input(x)
    expected = (None, *info.input_shape)
    if x.ndim != len(expected):
        raise ValueError(f"input has shape {x.shape}; the model expects (batch, {', '.join(map(str, expected[1:]))})")
    for got, want in zip(x.shape[1:], expected[1:]):
        if want is not None and got != want:
            raise ValueError(f"input has shape {x.shape}; the model expects {expected}")
    out_dtype = np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)
    return x.astype(np.float64), out_dtype
