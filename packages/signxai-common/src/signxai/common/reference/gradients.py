"""Backward passes over the ops of :mod:`.ops` and the gradient-family methods (spec sections 1 and 4).

``mode`` picks the backward rule at every ReLU (all other ops use their ordinary derivative):

- ``"gradient"``: signal * [input > 0] (ReLU'(0) = 0);
- ``"guided"`` (guided backprop): max(signal, 0) * [input > 0];
- ``"deconvnet"``: max(signal, 0).

ELU's derivative is 1 for x > 0 and alpha * exp(x) for x <= 0; max-pooling routes the signal to the first
maximal element of each window (flattened row-major window order).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..sampling import integration_alphas, smoothgrad_noise
from .linear import LinearMap
from .ops import ActivationOp, MaxPoolOp, Op, run_ops

Mode = Literal["gradient", "guided", "deconvnet"]


def maxpool_winners(op: MaxPoolOp, a: np.ndarray) -> np.ndarray:
    """Flat input index of the first maximal element of every window: (batch, out_flat) int."""
    values = a[:, op.windows]  # (batch, out, window)
    first = np.argmax(values, axis=2)  # argmax returns the first occurrence of the maximum
    return np.take_along_axis(np.broadcast_to(op.windows, values.shape), first[..., None], axis=2)[..., 0]


def route_maxpool(op: MaxPoolOp, a: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Send each output's ``signal`` back to its window's winner (summed where windows overlap)."""
    winners = maxpool_winners(op, a)
    out = np.zeros_like(a)
    rows = np.repeat(np.arange(a.shape[0])[:, None], winners.shape[1], axis=1)
    np.add.at(out, (rows, winners), signal)
    return out


def backward_op(op: Op, a_in: np.ndarray, signal: np.ndarray, mode: Mode) -> np.ndarray:
    """Signal at the input of ``op`` from the signal at its output (flat (batch, features) arrays)."""
    if isinstance(op, LinearMap):
        return signal @ op.weight.T
    if isinstance(op, MaxPoolOp):
        return route_maxpool(op, a_in, signal)
    if isinstance(op, ActivationOp):
        if op.kind == "elu":
            return signal * np.where(a_in > 0, 1.0, op.alpha * np.exp(np.minimum(a_in, 0.0)))
        if mode == "gradient":
            return signal * (a_in > 0)
        if mode == "guided":
            return np.maximum(signal, 0.0) * (a_in > 0)
        if mode == "deconvnet":
            return np.maximum(signal, 0.0)
        raise ValueError(f"unknown backward mode {mode!r}")
    return signal


def backward(
    ops: list[Op], acts: list[np.ndarray], signal: np.ndarray, mode: Mode, start: int, stop: int = 0
) -> np.ndarray:
    """Propagate ``signal`` (at ``acts[start]``) back to ``acts[stop]`` through ops ``stop .. start-1``."""
    for i in range(start - 1, stop - 1, -1):
        signal = backward_op(ops[i], acts[i], signal, mode)
    return signal


def output_signal(logits: np.ndarray, targets: np.ndarray, seed: str) -> np.ndarray:
    """The signal on the outputs: 1 (``seed="one"``) or z_t (``"logit"``) at the target, 0 elsewhere."""
    if seed not in ("one", "logit"):
        raise ValueError(f"unknown output seed {seed!r}")
    rows = np.arange(logits.shape[0])
    out = np.zeros_like(logits)
    out[rows, targets] = 1.0 if seed == "one" else logits[rows, targets]
    return out


def input_signal(ops: list[Op], x: np.ndarray, targets: np.ndarray, mode: Mode, seed: str) -> np.ndarray:
    """Backward signal at the input for a batch ``x``, an array of ``x``'s shape.

    The gradient of z_t (mode "gradient", seed "one"), or guided backprop / deconvnet (seed "logit"); ``ops``
    from :func:`~signxai.common.reference.ops.model_ops` (no BatchNorm folding).
    """
    acts = run_ops(ops, x)
    signal = output_signal(acts[-1], targets, seed)
    return backward(ops, acts, signal, mode, start=len(ops)).reshape(x.shape)


def integrated_gradients(
    ops: list[Op], x: np.ndarray, targets: np.ndarray, steps: int, baseline: float | np.ndarray
) -> np.ndarray:
    """(x - x') * mean_k grad f(x' + (x - x') k/(N-1)), k = 0..N-1 (spec section 4)."""
    base = np.broadcast_to(np.asarray(baseline, dtype=np.float64), x.shape)
    total = np.zeros_like(x)
    for alpha in integration_alphas(steps):
        total += input_signal(ops, base + (x - base) * alpha, targets, "gradient", "one")
    return (x - base) * (total / steps)


def noisy_gradients(
    ops: list[Op], x: np.ndarray, targets: np.ndarray, samples: int, noise: float, seed: int
) -> np.ndarray:
    """Gradients at x + eps_k for the shared seeded noise eps_k: (samples, *x.shape)."""
    eps = smoothgrad_noise(tuple(x.shape[1:]), samples, noise, seed)
    return np.stack([input_signal(ops, x + e, targets, "gradient", "one") for e in eps])


def smoothgrad(ops: list[Op], x: np.ndarray, targets: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """Mean of the noisy gradients."""
    return noisy_gradients(ops, x, targets, samples, noise, seed).mean(axis=0)


def vargrad(ops: list[Op], x: np.ndarray, targets: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """Population variance of the noisy gradients."""
    return noisy_gradients(ops, x, targets, samples, noise, seed).var(axis=0)
