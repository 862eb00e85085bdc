"""Gradient-family methods in plain TensorFlow on the caller's own (eager) model.

Gradient, ×input / ×sign modifiers, integrated gradients, SmoothGrad and VarGrad differentiate the caller's
model directly (live weights, so nothing goes stale) with a ``GradientTape`` inside a ``tf.function``. Noisy
inputs and integration points are batched and evaluated in chunks; the noise comes from
:func:`signxai.common.sampling.smoothgrad_noise` and the path fractions from
:func:`signxai.common.sampling.integration_alphas`, so both backends see identical numbers. Sums over samples
are accumulated in float64.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from signxai.common import MethodSpec
from signxai.common.sampling import integration_alphas, smoothgrad_noise

from .canonical import ModelInfo
from .executor import NodeRunner, has_max_pool, runnable
from .ops import linear

keras = tf.keras

#: Elements (rows x sample size) evaluated per forward/backward pass of the noisy / path batches.
CHUNK_ELEMENTS = 2**21


class EagerModel:
    """The caller's model as a function returning the logits (and optionally Grad-CAM's A).

    A final softmax / sigmoid (only present when the caller asked to strip it) is skipped by reading the tensor
    that feeds it; one fused into the last Dense layer is replaced by that layer's linear map with its live kernel
    and bias. A model with max pooling runs node by node (:class:`signxai.tf.executor.NodeRunner`) so that
    pooling gradients follow the tie rule. The caller's model is not modified.
    """

    def __init__(self, model: keras.Model, info: ModelInfo, a_layer: str | None = None) -> None:
        self._out_layer = model.get_layer(info.output_layer)
        self._fused = info.softmax == "fused"
        self._with_a = a_layer is not None
        self._runner = None
        if has_max_pool(model) and runnable(model, info.nodes):
            self._runner = NodeRunner(model, info.nodes)
            out = next(n for n in info.nodes if n.key == info.output_key)
            self._head_key = info.output_key if info.softmax is None else out.inputs[0]
            self._a_key = a_layer
            return
        head = model.outputs[0] if info.softmax is None else self._out_layer.input
        outputs = [head]
        if a_layer is not None:
            outputs.append(model.get_layer(a_layer).output)
        # A new functional view of the same layers: it shares the caller's variables but holds no reference to
        # the caller's model object (see :func:`cached_functions`).
        self._model = keras.Model(model.inputs, outputs)

    def __call__(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
        if self._runner is not None:
            values = self._runner(x)
            head, a = values[self._head_key], (values[self._a_key] if self._with_a else None)
        else:
            outs = self._model(x, training=False)
            if not isinstance(outs, (list, tuple)):
                outs = [outs]
            head, a = outs[0], (outs[1] if self._with_a else None)
        if self._fused:
            layer = self._out_layer
            head = linear(layer, head, layer.kernel, layer.bias if layer.use_bias else None)
        return head, a


def gradient_function(eager: EagerModel, dtype: tf.DType, sample_shape: tuple) -> Callable:
    """``f(x, targets) -> d z_t / d x`` per sample, as a ``tf.function`` (seed 1 on the target logit)."""

    @tf.function(
        input_signature=[tf.TensorSpec([None, *sample_shape], dtype), tf.TensorSpec([None], tf.int32)],
        reduce_retracing=True,
    )
    def grad(x: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits, _ = eager(x)
            selected = tf.gather(logits, targets, axis=1, batch_dims=1)
        return tape.gradient(selected, x)

    return grad


def logits_function(eager: EagerModel, dtype: tf.DType, sample_shape: tuple) -> Callable:
    """``f(x) -> logits`` as a ``tf.function``."""

    @tf.function(input_signature=[tf.TensorSpec([None, *sample_shape], dtype)], reduce_retracing=True)
    def logits(x: tf.Tensor) -> tf.Tensor:
        return eager(x)[0]

    return logits


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_functions(model: keras.Model, info: ModelInfo, a_layer: str | None) -> tuple[EagerModel, Callable, Callable]:
    """``(eager model, logits function, gradient function)`` for a model, traced once per model and A layer.

    Repeated :func:`signxai.tf.explain` calls on one model reuse the traced ``tf.function`` instead of tracing a
    new one per call. The cache holds the model weakly (entries disappear with the model).
    """
    per_model = _CACHE.setdefault(model, {})
    key = (a_layer, info.softmax, info.output_layer, info.output_key)
    if key not in per_model:
        eager = EagerModel(model, info, a_layer)
        dtype = tf.as_dtype(info.dtype)
        per_model[key] = (
            eager,
            logits_function(eager, dtype, info.input_shape),
            gradient_function(eager, dtype, info.input_shape),
        )
    return per_model[key]


def _chunked(grad: Callable, rows: Callable[[int, int], np.ndarray], targets: np.ndarray, dtype: np.dtype) -> list:
    """Gradients of ``rows(start, stop)`` (float64 rows) in chunks; returns float64 arrays."""
    total = len(targets)
    sample = rows(0, 1)
    per_row = max(1, int(np.prod(sample.shape[1:])))
    step = max(1, CHUNK_ELEMENTS // per_row)
    out = []
    for start in range(0, total, step):
        stop = min(total, start + step)
        g = grad(tf.constant(rows(start, stop).astype(dtype)), tf.constant(targets[start:stop].astype(np.int32)))
        out.append(g.numpy().astype(np.float64))
    return out


def compute_gradient_method(
    grad: Callable, spec: MethodSpec, x: np.ndarray, targets: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """The base map (before modifiers) of a gradient-family method, float64.

    Parameters
    ----------
    grad : callable
        From :func:`gradient_function`.
    spec : MethodSpec
        ``gradient``, ``integrated_gradients``, ``smoothgrad`` or ``vargrad``.
    x : numpy.ndarray
        Input batch, float64 (the model dtype's values).
    targets : numpy.ndarray
        One class per sample.
    dtype : numpy.dtype
        The model's dtype.

    Returns
    -------
    numpy.ndarray
        float64 array of ``x``'s shape.
    """
    batch = x.shape[0]
    if spec.base == "gradient":
        return np.concatenate(_chunked(grad, lambda a, b: x[a:b], targets, dtype))
    if spec.base == "integrated_gradients":
        alphas = integration_alphas(int(spec.steps))
        baseline = np.broadcast_to(np.asarray(spec.baseline, dtype=np.float64), x.shape[1:])
        n = len(alphas)

        def path(a: int, b: int) -> np.ndarray:
            idx = np.arange(a, b)
            s, k = idx // n, idx % n
            return baseline + (x[s] - baseline) * alphas[k].reshape((-1,) + (1,) * (x.ndim - 1))

        grads = np.concatenate(_chunked(grad, path, np.repeat(targets, n), dtype))
        mean = grads.reshape((batch, n, *x.shape[1:])).mean(axis=1)
        return (x - baseline) * mean
    if spec.base in ("smoothgrad", "vargrad"):
        n = int(spec.samples)
        noise = smoothgrad_noise(x.shape[1:], n, float(spec.noise), int(spec.seed))

        def noisy(a: int, b: int) -> np.ndarray:
            idx = np.arange(a, b)
            return x[idx // n] + noise[idx % n]

        grads = np.concatenate(_chunked(grad, noisy, np.repeat(targets, n), dtype))
        grads = grads.reshape((batch, n, *x.shape[1:]))
        return grads.mean(axis=1) if spec.base == "smoothgrad" else grads.var(axis=1)
    raise ValueError(f"{spec.base!r} is not a gradient method")
