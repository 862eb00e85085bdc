"""The SIGN math in NumPy (spec sections 1-3): sign with sign(0) = +1, sign_mu, modifiers, per-sample std."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .spec import Modifier

#: Added to a denominator that is exactly 0 (spec section 1: safe division).
SAFE_DIVISION_EPS = 1e-7


def sign(v: np.ndarray) -> np.ndarray:
    """+1 where ``v >= 0`` (sign(0) = +1), -1 elsewhere; same dtype as ``v``."""
    v = np.asarray(v)
    return np.where(v >= 0, 1, -1).astype(v.dtype if v.dtype.kind == "f" else np.float64)


def sign_mu(v: np.ndarray, mu: float) -> np.ndarray:
    """+1 where ``v >= mu``, -1 elsewhere (``sign_mu(v, 0) == sign(v)``)."""
    v = np.asarray(v)
    return np.where(v >= mu, 1, -1).astype(v.dtype if v.dtype.kind == "f" else np.float64)


def safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / (b + 1e-7 * [b == 0])``: division that never divides by an exact zero."""
    b = np.asarray(b)
    return a / (b + SAFE_DIVISION_EPS * (b == 0))


def apply_modifiers(r: Any, x: Any, modifiers: Sequence[Modifier]) -> Any:
    """Apply ``_x_input`` / ``_x_sign`` / ``_x_sign_mu`` modifiers to a map ``r`` of ``x``'s shape, in order.

    Framework-neutral: ``r`` and ``x`` are NumPy arrays or tensors of one framework (a PyTorch map stays on its
    device); only ``*``, ``>=`` and integer arithmetic are used, so the sign factor ``2 [x >= mu] - 1`` is +1 / -1
    with sign(0) = +1 (spec section 1) and ``r`` keeps its floating dtype.
    """
    for mod in modifiers:
        if mod.name == "x_input":
            r = r * x
        elif mod.name in ("x_sign", "x_sign_mu"):
            mu = 0.0 if mod.name == "x_sign" else mod.mu
            if mu is None:
                raise ValueError(f"modifier {mod.name!r} needs mu")
            r = r * ((x >= mu) * 2 - 1)
        else:
            raise ValueError(f"unknown modifier {mod.name!r}")
    return r


def per_sample_std(a: np.ndarray) -> np.ndarray:
    """Population standard deviation of each sample over all non-batch axes, shaped to broadcast against ``a``."""
    a = np.asarray(a)
    axes = tuple(range(1, a.ndim))
    return np.std(a, axis=axes, keepdims=True)
