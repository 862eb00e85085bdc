"""Backward passes over the op graph of :mod:`.ops` and the gradient-family methods (spec sections 1, 4 and 8).

The backward pass visits the nodes in reverse topological order; a node's output signal is the sum of what its
consumers sent back (fan-out). ``mode`` picks the backward rule at every element-wise activation (ReLU, ELU and
every Activation except softmax); all other ops use their ordinary derivative:

- ``"gradient"``: signal * f'(x) (ReLU'(0) = 0, see :mod:`.activations` for the other kinks);
- ``"guided"`` (guided backprop): max(signal, 0) * f'(x);
- ``"deconvnet"``: max(signal, 0).

Softmax keeps its ordinary derivative in every mode. Max-pooling routes each window's signal to its first tied
element (spec section 1): the first element within ``TIE_TOLERANCE * s`` of the window maximum, s = max|input
of that pooling layer| over the sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import numpy as np

from ..sampling import integration_alphas, smoothgrad_noise
from .activations import derivative, softmax_vjp
from .layers import INPUT
from .linear import LinearMap
from .ops import ActivationOp, AddOp, ConcatOp, Graph, MaxPoolOp, MultiplyOp, Node, run_ops

Mode = Literal["gradient", "guided", "deconvnet"]

#: tau of the max-pooling tie rule in float64 (spec section 1).
TIE_TOLERANCE = 1e-9


def maxpool_winners(op: MaxPoolOp, a: np.ndarray, tau: float = TIE_TOLERANCE) -> np.ndarray:
    """Flat input index of the winner of every window: (batch, out_flat) int.

    The winner is the first element of the window (row-major window order) within ``tau * s`` of the window's
    maximum, s = max|a| over the sample (the whole input of the pooling layer).
    """
    values = a[:, op.windows]  # (batch, out, window)
    scale = np.abs(a).max(axis=1)[:, None, None]
    tied = values >= values.max(axis=2, keepdims=True) - tau * scale
    first = np.argmax(tied, axis=2)  # the first True
    return np.take_along_axis(np.broadcast_to(op.windows, values.shape), first[..., None], axis=2)[..., 0]


def route_maxpool(op: MaxPoolOp, a: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Send each output's ``signal`` back to its window's winner (summed where windows overlap)."""
    winners = maxpool_winners(op, a)
    out = np.zeros_like(a)
    rows = np.repeat(np.arange(a.shape[0])[:, None], winners.shape[1], axis=1)
    np.add.at(out, (rows, winners), signal)
    return out


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` (batch, *out_shape) over the axes along which a (batch, *shape) operand was broadcast."""
    lead = grad.ndim - 1 - len(shape)
    grad = grad.sum(axis=tuple(range(1, 1 + lead))) if lead else grad
    axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and grad.shape[i + 1] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def split_concat(node: Node, signal: np.ndarray) -> list[np.ndarray]:
    """The parts of a concatenation's output ``signal`` that belong to each input, flat."""
    batch = signal.shape[0]
    sizes = np.cumsum([s[-1] for s in node.in_shapes])[:-1]
    parts = np.split(signal.reshape(batch, -1, node.out_shape[-1]), sizes, axis=-1)
    return [p.reshape(batch, -1) for p in parts]


def multiply_backward(node: Node, xs: list[np.ndarray], signal: np.ndarray) -> list[np.ndarray]:
    """Ordinary derivative of ``x * y`` (y broadcast): [signal * y, unbroadcast(signal * x)], flat."""
    batch = signal.shape[0]
    x_shape, y_shape = node.in_shapes
    x = xs[0].reshape(batch, *x_shape)
    y = xs[1].reshape(batch, *((1,) * (len(x_shape) - len(y_shape)) + tuple(y_shape)))
    s = signal.reshape(batch, *x_shape)
    return [(s * y).reshape(batch, -1), unbroadcast(s * x, tuple(y_shape)).reshape(batch, -1)]


def activation_backward(node: Node, a: np.ndarray, signal: np.ndarray, mode: Mode) -> np.ndarray:
    """Signal at the input of an activation node in ``mode``."""
    op = node.op
    assert isinstance(op, ActivationOp)
    batch = a.shape[0]
    if op.fn == "softmax":
        x = a.reshape(batch, *node.in_shapes[0])
        return softmax_vjp(x, signal.reshape(x.shape)).reshape(batch, -1)
    if mode == "gradient":
        return signal * derivative(op.fn, a, op.alpha)
    if mode == "guided":
        return np.maximum(signal, 0.0) * derivative(op.fn, a, op.alpha)
    if mode == "deconvnet":
        return np.maximum(signal, 0.0)
    raise ValueError(f"unknown backward mode {mode!r}")


def backward_node(node: Node, xs: list[np.ndarray], signal: np.ndarray, mode: Mode) -> list[np.ndarray]:
    """Signals at the inputs of ``node`` from the signal at its output (flat (batch, features) arrays)."""
    op = node.op
    if isinstance(op, LinearMap):
        return [op.transpose_apply(signal)]
    if isinstance(op, MaxPoolOp):
        return [route_maxpool(op, xs[0], signal)]
    if isinstance(op, ActivationOp):
        return [activation_backward(node, xs[0], signal, mode)]
    if isinstance(op, AddOp):
        return [signal for _ in xs]
    if isinstance(op, ConcatOp):
        return split_concat(node, signal)
    if isinstance(op, MultiplyOp):
        return multiply_backward(node, xs, signal)
    return [signal]


BackwardFn = Callable[[Node, list[np.ndarray], np.ndarray], list[np.ndarray]]


def propagate(
    nodes: Iterable[Node], acts: dict[str, np.ndarray], signals: dict[str, np.ndarray], step: BackwardFn
) -> dict[str, np.ndarray]:
    """Run ``step`` over ``nodes`` (given in topological order) in reverse, accumulating signals at the inputs.

    ``signals`` holds the starting signals by output name; nodes whose output got no signal are skipped. Returns
    the signals by name (the model input under :data:`~.layers.INPUT`).
    """
    signals = dict(signals)
    for node in reversed(list(nodes)):
        if node.name not in signals:
            continue
        xs = [acts[i] for i in node.inputs]
        for name, s in zip(node.inputs, step(node, xs, signals[node.name])):
            signals[name] = signals[name] + s if name in signals else s
    return signals


def backward(
    graph: Graph, acts: dict[str, np.ndarray], start: str, signal: np.ndarray, mode: Mode, stop: str = INPUT
) -> np.ndarray:
    """The signal at output ``stop`` caused by ``signal`` placed on output ``start`` (flat arrays).

    Only the paths from ``stop`` to ``start`` carry a signal; zeros when there are none.
    """
    names = [n.name for n in graph.nodes]
    end = names.index(start) + 1
    first = 0 if stop == INPUT else names.index(stop) + 1
    signals = propagate(graph.nodes[first:end], acts, {start: signal}, lambda n, xs, s: backward_node(n, xs, s, mode))
    return signals.get(stop, np.zeros_like(acts[stop]))


def output_signal(logits: np.ndarray, targets: np.ndarray, seed: str) -> np.ndarray:
    """The signal on the outputs: 1 (``seed="one"``) or z_t (``"logit"``) at the target, 0 elsewhere."""
    if seed not in ("one", "logit"):
        raise ValueError(f"unknown output seed {seed!r}")
    rows = np.arange(logits.shape[0])
    out = np.zeros_like(logits)
    out[rows, targets] = 1.0 if seed == "one" else logits[rows, targets]
    return out


def input_signal(graph: Graph, x: np.ndarray, targets: np.ndarray, mode: Mode, seed: str) -> np.ndarray:
    """Backward signal at the input for a batch ``x``, an array of ``x``'s shape.

    The gradient of z_t (mode "gradient", seed "one"), or guided backprop / deconvnet (seed "logit"); ``graph``
    from :func:`~signxai.common.reference.ops.model_ops` (no folding).
    """
    acts = run_ops(graph, x)
    signal = output_signal(acts[graph.output], targets, seed)
    return backward(graph, acts, graph.output, signal, mode).reshape(x.shape)


def integrated_gradients(
    graph: Graph, x: np.ndarray, targets: np.ndarray, steps: int, baseline: float | np.ndarray
) -> np.ndarray:
    """(x - x') * mean_k grad f(x' + (x - x') k/(N-1)), k = 0..N-1 (spec section 4)."""
    base = np.broadcast_to(np.asarray(baseline, dtype=np.float64), x.shape)
    total = np.zeros_like(x)
    for alpha in integration_alphas(steps):
        total += input_signal(graph, base + (x - base) * alpha, targets, "gradient", "one")
    return (x - base) * (total / steps)


def noisy_gradients(
    graph: Graph, x: np.ndarray, targets: np.ndarray, samples: int, noise: float, seed: int
) -> np.ndarray:
    """Gradients at x + eps_k for the shared seeded noise eps_k: (samples, *x.shape)."""
    eps = smoothgrad_noise(tuple(x.shape[1:]), samples, noise, seed)
    return np.stack([input_signal(graph, x + e, targets, "gradient", "one") for e in eps])


def smoothgrad(graph: Graph, x: np.ndarray, targets: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """Mean of the noisy gradients."""
    return noisy_gradients(graph, x, targets, samples, noise, seed).mean(axis=0)


def vargrad(graph: Graph, x: np.ndarray, targets: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """Population variance of the noisy gradients."""
    return noisy_gradients(graph, x, targets, samples, noise, seed).var(axis=0)
