"""Gradient-family methods in plain TensorFlow on the caller's own (eager) model.

Gradient, ×input / ×sign modifiers, integrated gradients, SmoothGrad and VarGrad differentiate the caller's
model directly (live weights, so nothing goes stale) with a ``GradientTape`` inside a ``tf.function``. Noisy
inputs and integration points are made and evaluated chunk by chunk (``max_rows`` rows per pass, by default
:data:`signxai.common.validation.CHUNK_ELEMENTS` elements); the noise comes from
:func:`signxai.common.sampling.smoothgrad_noise_chunks` and the path fractions from
:func:`signxai.common.sampling.integration_alphas`, so both backends see identical numbers. Sums over samples
are accumulated in float64.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from signxai.common import MethodSpec
from signxai.common.sampling import integration_alphas, smoothgrad_noise_chunks
from signxai.common.validation import CHUNK_ELEMENTS, Progress, chunk_starts

from .canonical import ModelInfo
from .executor import NodeRunner, has_max_pool, runnable
from .ops import linear

keras = tf.keras


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
    """``f(x, targets) -> d z_t / d x`` per sample, as a ``tf.function`` (seed 1 on the target logit).

    A target of -1 is the row's own argmax, read from the logits this pass computes (no separate forward pass).
    """

    @tf.function(
        input_signature=[tf.TensorSpec([None, *sample_shape], dtype), tf.TensorSpec([None], tf.int32)],
        reduce_retracing=True,
    )
    def grad(x: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits, _ = eager(x)
            own = tf.argmax(logits, axis=1, output_type=tf.int32)
            selected = tf.gather(logits, tf.where(targets < 0, own, targets), axis=1, batch_dims=1)
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


def _gradients(grad: Callable, rows: np.ndarray, targets: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Gradients of float64 ``rows`` (one forward/backward pass) as float64."""
    g = grad(tf.constant(rows.astype(dtype)), tf.constant(targets.astype(np.int32)))
    return g.numpy().astype(np.float64)


def compute_gradient_method(
    grad: Callable,
    spec: MethodSpec,
    x: np.ndarray,
    targets: np.ndarray,
    dtype: np.dtype,
    max_rows: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """The base map (before modifiers) of a gradient-family method, float64.

    Integrated gradients and SmoothGrad / VarGrad evaluate their points chunk by chunk: each chunk holds k points
    of every sample of the batch (k * batch <= ``max_rows`` rows, k >= 1), its path fractions / noise are made
    for that chunk only, and the chunk's gradients are folded into a running float64 sum (SmoothGrad, integrated
    gradients) or mean / M2 pair (VarGrad, Chan's parallel update), so memory holds one chunk at a time.

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
    max_rows : int or None
        Rows per forward/backward pass; None = as many as fit :data:`CHUNK_ELEMENTS` elements.
    progress : Progress or None
        Told the steps / samples done after each chunk.

    Returns
    -------
    numpy.ndarray
        float64 array of ``x``'s shape.
    """
    batch = x.shape[0]
    rows = max_rows if max_rows is not None else max(1, CHUNK_ELEMENTS // max(1, int(np.prod(x.shape[1:]))))
    per_chunk = max(1, rows // batch)
    tiled = (-1,) + (1,) * x.ndim
    comp = spec.computation
    if comp.kind == "backward" and comp.signal == "gradient":
        return np.concatenate([_gradients(grad, x[a:b], targets[a:b], dtype) for a, b in chunk_starts(batch, rows)])
    if comp.kind == "path":
        steps = int(spec.steps)
        baseline = np.broadcast_to(np.asarray(spec.baseline, dtype=np.float64), x.shape[1:])
        delta = x - baseline
        total = np.zeros_like(x)
        for a, b in chunk_starts(steps, per_chunk):
            points = baseline + delta[None] * integration_alphas(steps, a, b).reshape(tiled)
            g = _gradients(grad, points.reshape((-1, *x.shape[1:])), np.tile(targets, b - a), dtype)
            total += g.reshape(points.shape).sum(axis=0)
            if progress is not None:
                progress.update(b - a)
        return delta * (total / steps)
    if comp.kind == "noise":
        n = int(spec.samples)
        count = 0
        mean = np.zeros_like(x)
        m2 = np.zeros_like(x)
        for eps in smoothgrad_noise_chunks(x.shape[1:], n, float(spec.noise), int(spec.seed), per_chunk):
            points = x[None] + eps[:, None]
            g = _gradients(grad, points.reshape((-1, *x.shape[1:])), np.tile(targets, len(eps)), dtype)
            g = g.reshape(points.shape)
            k = len(eps)
            chunk_mean = g.mean(axis=0)
            d = chunk_mean - mean
            total_count = count + k
            mean = mean + d * (k / total_count)
            m2 = m2 + ((g - chunk_mean) ** 2).sum(axis=0) + d**2 * (count * k / total_count)
            count = total_count
            if progress is not None:
                progress.update(k)
        return mean if comp.aggregate == "mean" else m2 / count
    raise ValueError(f"{spec.name!r} is not computed by plain gradients (computation {comp.kind!r})")
