"""Gradient-family methods (spec section 4): gradient, guided backprop, deconvnet, integrated gradients,
SmoothGrad, VarGrad.

All of them are derivatives of the target output with respect to the input, seeded with 1 (``gradient``, integrated
gradients, SmoothGrad, VarGrad) or with the target logit z_t (guided backprop, deconvnet). Integrated gradients and
SmoothGrad/VarGrad evaluate many points per sample: the points of the whole batch are stacked into one batch of rows
and evaluated in chunks of at most ``max_rows`` rows (at least one point of every sample per chunk); the points of a
chunk (noise, path fractions) are made for that chunk only, so memory stays bounded, and there is no Python loop over
the samples. Noise and path fractions come from ``signxai.common.sampling`` so both frameworks see identical points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Union

import numpy as np
import torch

from signxai.common.sampling import integration_alphas, smoothgrad_noise_chunks
from signxai.common.validation import Progress, chunk_starts

from .functional import ActivationBackward, SignalMode

#: ``forward(x, mode) -> logits``: the model's (batch, classes) logits, computed under a SignalMode.
Forward = Callable[[torch.Tensor, SignalMode], torch.Tensor]
#: int64 (batch,) target classes, or a function giving them from the pass's own logits (no separate forward).
Targets = Union[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]


def target_gradient(
    forward: Forward,
    x: torch.Tensor,
    targets: Targets,
    seed: str = "one",
    activations: ActivationBackward = "gradient",
) -> torch.Tensor:
    """Derivative of each sample's target output with respect to its input.

    Parameters
    ----------
    forward : callable
        ``forward(x, mode) -> logits``.
    x : torch.Tensor
        Input batch.
    targets : torch.Tensor or callable
        int64 (batch,) target classes, or ``targets(logits)`` giving them from this pass's logits (the forward is
        the model's own in every signal mode, so its argmax is the plain forward's).
    seed : {"one", "logit"}
        Signal placed on the target output: 1 or the target logit.
    activations : {"gradient", "guided", "deconvnet"}
        Backward of the ReLUs.

    Returns
    -------
    torch.Tensor
        Gradient of ``x``'s shape.
    """
    with torch.enable_grad():
        xg = x.detach().clone().requires_grad_()
        with SignalMode(activations) as mode:
            out = forward(xg, mode)
        grad_out = output_seed(out, targets(out) if callable(targets) else targets, seed)
        (grad,) = torch.autograd.grad(out, xg, grad_out)
    return grad


def output_seed(out: torch.Tensor, targets: torch.Tensor, seed: str) -> torch.Tensor:
    """The signal on the outputs: 1 or z_t at each sample's target, 0 elsewhere (spec section 1)."""
    one_hot = torch.zeros_like(out)
    one_hot[torch.arange(out.shape[0], device=out.device), targets] = 1.0
    if seed == "logit":
        return one_hot * out.detach()
    if seed != "one":
        raise ValueError(f"unknown output seed {seed!r}")
    return one_hot


def _stacked_gradients(forward: Forward, points: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Gradients for ``points`` of shape (k, batch, ...): one forward/backward over k * batch rows."""
    k, batch = points.shape[:2]
    rows = points.reshape(k * batch, *points.shape[2:])
    grads = target_gradient(forward, rows, targets.repeat(k))
    return grads.reshape(points.shape)


def integrated_gradients(
    forward: Forward,
    x: torch.Tensor,
    targets: torch.Tensor,
    steps: int,
    baseline: float | np.ndarray,
    max_rows: int,
    progress: Progress | None = None,
) -> torch.Tensor:
    """(x - baseline) * mean_k grad f(baseline + (x - baseline) k / (N - 1)), k = 0..N-1 (spec section 4).

    ``baseline`` is a number or an array broadcastable to ``x`` (in ``x``'s layout). The path fractions of each
    chunk are computed for that chunk only; ``progress`` is told the steps done after each chunk.
    """
    base = torch.as_tensor(np.array(baseline, dtype=np.float64), device=x.device).to(x.dtype)
    try:
        base = torch.broadcast_to(base, x.shape)
    except RuntimeError:
        raise ValueError(
            f"baseline of shape {tuple(base.shape)} does not broadcast to the input {tuple(x.shape)}"
        ) from None
    delta = x - base
    total = torch.zeros_like(x)
    for start, stop in chunk_starts(steps, max_rows // x.shape[0]):
        alphas = torch.as_tensor(integration_alphas(steps, start, stop), device=x.device).to(x.dtype)
        a = alphas.reshape((-1,) + (1,) * x.ndim)
        total = total + _stacked_gradients(forward, base + delta * a, targets).sum(dim=0)
        if progress is not None:
            progress.update(stop - start)
    return delta * total / steps


def noise_gradients(
    forward: Forward,
    x: torch.Tensor,
    targets: torch.Tensor,
    samples: int,
    noise: float,
    seed: int,
    max_rows: int,
    variance: bool,
    progress: Progress | None = None,
) -> torch.Tensor:
    """SmoothGrad (mean of the gradients at x + eps_k) or VarGrad (their population variance), spec section 4.

    The noise eps_k (same for every sample of the batch) is drawn chunk by chunk by
    :func:`signxai.common.sampling.smoothgrad_noise_chunks` (the same numbers as one draw); chunks are combined
    with Chan's parallel mean/variance update. ``progress`` is told the samples done after each chunk.
    """
    count = 0
    mean = torch.zeros_like(x)
    m2 = torch.zeros_like(x)
    per_chunk = max(1, max_rows // x.shape[0])
    for eps in smoothgrad_noise_chunks(tuple(x.shape[1:]), samples, noise, seed, per_chunk, channels_first=x.ndim > 2):
        eps_t = torch.as_tensor(eps, device=x.device).to(x.dtype)
        grads = _stacked_gradients(forward, x.unsqueeze(0) + eps_t.unsqueeze(1), targets)
        n = grads.shape[0]
        chunk_mean = grads.mean(dim=0)
        chunk_m2 = ((grads - chunk_mean) ** 2).sum(dim=0)
        delta = chunk_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + chunk_m2 + delta**2 * (count * n / total)
        count = total
        if progress is not None:
            progress.update(n)
    return m2 / count if variance else mean
