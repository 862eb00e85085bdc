"""The public entry points: :class:`Explainer` (reusable) and :func:`explain` (one call)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from signxai.common import MethodSpec, resolve_method
from signxai.common.cam import to_input_shape
from signxai.common.sampling import random_uniform_map
from signxai.common.signs import apply_modifiers
from signxai.common.targets import resolve_targets
from signxai.common.validation import DEFAULT_MAX_POINTS, CallOptions, Progress, check_points, points_of

from .analyzers import GraphAnalyzer
from .cam import cam_weights_and_maps, resolve_a_layer
from .canonical import inspect_model
from .gradients import cached_functions, compute_gradient_method
from .graph import serialised
from .keras_compat import check_model
from .plan import make_plan
from .validation import prepare_input

keras = tf.keras


class Explainer:
    """A method bound to a Keras model, for repeated explanations.

    The iNNvestigate analyzer (LRP, guided backprop, deconvnet, guided Grad-CAM) is built once, on the first
    call, in a private graph, and reused; before each call the caller's current weights are compared with the
    analyzer's and reloaded if they changed. Gradient methods and Grad-CAM run eagerly on the caller's model.
    TensorFlow's global state (eager execution, Keras classes, session, floatx) is left as it was.

    Parameters
    ----------
    model : keras.Model
        Sequential or functional Keras model with logits as output (channels-last).
    method : str or MethodSpec
        Any catalog name (``signxai.common.list_methods()``), or a parsed spec.
    strip_softmax : bool
        Explain the logits of a model that ends in a softmax (the model itself is not modified); without it a
        final softmax is a ``ValueError``.
    max_rows : int or None
        Rows per forward/backward pass of integrated gradients, SmoothGrad and VarGrad (at least one point of
        every sample of the batch per pass); None = as many rows as fit
        ``signxai.common.validation.CHUNK_ELEMENTS`` (2**21) input elements.
    max_points : int or None
        Largest (steps or samples) x batch rows one call may evaluate (default
        ``signxai.common.validation.DEFAULT_MAX_POINTS`` = 1,000,000); above it the call raises ``ValueError``
        before computing anything. None removes the bound.
    progress : bool
        Show a ``tqdm`` progress bar over the steps / samples (needs ``pip install tqdm``).
    callback : callable or None
        ``callback(done, total)`` after each chunk, counting steps / samples (each covers the whole batch);
        single-pass methods report ``(1, 1)`` once.
    **params
        Method parameters (``mu``, ``noise``, ``samples``, ``seed``, ``steps``, ``baseline``, ``layer``,
        ``low``, ``high``, ...), as accepted by :func:`signxai.common.parse_method`.

    Raises
    ------
    ValueError
        For an unknown method, a bad parameter value, a final softmax / sigmoid, a layer computing in half
        precision (``mixed_float16``), or (LRP, guided backprop, deconvnet) parts of the model the method cannot
        handle, all named in one message.
    TypeError
        For an option of the wrong type (``strip_softmax="no"``), named in the message.
    ImportError
        For ``progress=True`` without ``tqdm``.

    Notes
    -----
    Thread-safe: every call holds :data:`signxai.tf.graph.KERAS_LOCK` (building an analyzer swaps Keras' class
    bases and backend session process-wide), so calls from several threads run one at a time and get exactly their
    sequential results.
    """

    @serialised
    def __init__(
        self,
        model: keras.Model,
        method: str | MethodSpec,
        *,
        strip_softmax: bool = False,
        max_rows: int | None = None,
        max_points: int | None = DEFAULT_MAX_POINTS,
        progress: bool = False,
        callback: Callable[[int, int], Any] | None = None,
        **params: Any,
    ):
        spec = resolve_method(method, params)
        self.options = CallOptions(strip_softmax, max_rows, max_points, progress, callback)
        check_points(spec, None, self.options.max_points)
        strip_softmax = self.options.strip_softmax
        self.spec = spec
        check_model(model)  # a Keras 3 model: ValueError saying how to build / load it through tf.keras
        self.model = model
        self._info = inspect_model(model, strip_softmax)
        comp = spec.computation
        if comp.needs_reverse_pass:
            make_plan(model, self._info, "lrp" if comp.kind == "lrp" else "guided")  # every problem at once
        self._a_layer = None
        if comp.kind == "cam":
            self._a_layer = resolve_a_layer(model, self._info, spec.layer, spec.cam_kind or "image")
        self._eager, self._logits, self._grad = cached_functions(model, self._info, self._a_layer)
        self._dtype = tf.as_dtype(self._info.dtype)
        self._analyzer: GraphAnalyzer | None = None

    def _graph_analyzer(self) -> GraphAnalyzer:
        if self._analyzer is None:
            a_layer = self._a_layer if self.spec.computation.guided else None
            self._analyzer = GraphAnalyzer(self.model, self._info, self.spec, a_layer=a_layer)
        return self._analyzer

    @serialised
    def explain(self, x: np.ndarray | tf.Tensor, target: int | Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Explain a batch.

        Parameters
        ----------
        x : numpy.ndarray or tf.Tensor
            Input with batch axis, NHWC (images) or NTC (time series).
        target : None, int or sequence of int
            None: each sample's argmax; an int: that class for every sample; a sequence: one class per sample.

        Returns
        -------
        numpy.ndarray
            The map, of exactly ``x``'s shape; float64 when ``x`` is float64, float32 otherwise.
        """
        x64, out_dtype = prepare_input(x, self._info)
        check_points(self.spec, x64.shape[0], self.options.max_points)
        with Progress(self.options, points_of(self.spec), self.spec.base) as progress:
            r = self._explain(x64, target, progress)
            if self.spec.computation.points is None:  # multi-point methods report each chunk themselves
                progress.update(1)
        return r.astype(out_dtype)

    def _explain(self, x64: np.ndarray, target: Any, progress: Progress) -> np.ndarray:
        spec = self.spec
        np_dtype = self._dtype.as_numpy_dtype
        comp = spec.computation
        if comp.kind == "baseline":
            sample = random_uniform_map(x64.shape[1:], int(spec.seed))
            return np.broadcast_to(sample, x64.shape)
        targets = self._targets(x64, target)
        if comp.kind == "cam":
            xt = tf.constant(x64.astype(np_dtype))
            cam = to_input_shape(cam_weights_and_maps(self._eager, xt, targets), x64.shape)
            if comp.guided:
                guided = self._graph_analyzer().run(x64.astype(np_dtype)).astype(np.float64)
                cam = guided * cam
            return cam
        if comp.needs_reverse_pass:
            r = self._graph_analyzer().run(x64.astype(np_dtype), targets).astype(np.float64)
        else:
            r = compute_gradient_method(self._grad, spec, x64, targets, np_dtype, self.options.max_rows, progress)
        return apply_modifiers(r, x64, spec.modifiers)

    __call__ = explain

    def _targets(self, x64: np.ndarray, target: Any) -> np.ndarray:
        """One class per sample, with a forward pass only where the argmax is needed and no pass of the method
        reads it from its own logits.

        Named targets need only the class count (checked against the model's output size). For ``target=None`` the
        plain gradient passes -1, "the row's own argmax", to its ``tf.function``, which takes it from the logits it
        computes anyway (the caller's own model, unchanged); every other method gets the argmax of a plain forward.
        """
        batch = x64.shape[0]
        if target is not None:
            return resolve_targets(target, np.zeros((batch, int(self.model.output_shape[-1]))))
        comp = self.spec.computation
        if comp.kind == "backward" and comp.signal == "gradient":
            return np.full(batch, -1, dtype=np.int64)
        logits = self._logits(tf.constant(x64.astype(self._dtype.as_numpy_dtype))).numpy()
        return resolve_targets(None, logits)

    @serialised
    def close(self) -> None:
        """Release the private graph's session now (a later call builds a new one)."""
        if self._analyzer is not None:
            self._analyzer.close()
            self._analyzer = None


@serialised
def explain(
    model: keras.Model,
    x: np.ndarray | tf.Tensor,
    method: str | MethodSpec,
    target: int | Sequence[int] | np.ndarray | None = None,
    *,
    strip_softmax: bool = False,
    max_rows: int | None = None,
    max_points: int | None = DEFAULT_MAX_POINTS,
    progress: bool = False,
    callback: Callable[[int, int], Any] | None = None,
    **params: Any,
) -> np.ndarray:
    """Explain ``x`` with ``method`` on a Keras model (one call; see :class:`Explainer` to reuse).

    Parameters
    ----------
    model : keras.Model
        Sequential or functional Keras model whose output are logits (channels-last layout).
    x : numpy.ndarray or tf.Tensor
        Input with batch axis (NHWC / NTC).
    method : str or MethodSpec
        Any name of ``signxai.common.list_methods()``.
    target : None, int or sequence of int
        Class(es) to explain; None = argmax per sample.
    strip_softmax : bool
        Explain the logits of a model that ends in a softmax instead of raising ``ValueError``.
    max_rows, max_points, progress, callback
        Chunk size, resource bound and progress reporting, as for :class:`Explainer`.
    **params
        Method parameters (see :func:`signxai.common.parse_method`).

    Returns
    -------
    numpy.ndarray
        A map of exactly ``x``'s shape; float64 when ``x`` is float64, float32 otherwise.
    """
    explainer = Explainer(
        model,
        method,
        strip_softmax=strip_softmax,
        max_rows=max_rows,
        max_points=max_points,
        progress=progress,
        callback=callback,
        **params,
    )
    try:
        return explainer.explain(x, target)
    finally:
        explainer.close()
