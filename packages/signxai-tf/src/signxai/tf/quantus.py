"""Quantus adapter: :func:`quantus_explain` is an ``explain_func`` for `Quantus <https://github.com/understandable-machine-intelligence-lab/Quantus>`_.

>>> import quantus
>>> from signxai.tf import quantus_explain
>>> metric = quantus.PixelFlipping(features_in_step=4)  # doctest: +SKIP
>>> scores = metric(model=model, x_batch=x_nhwc, y_batch=y, channel_first=False, explain_func=quantus_explain,
...                 explain_func_kwargs={"method": "lrpsign_epsilon_0_25_std_x"})  # doctest: +SKIP

Layout, as read from the Quantus 0.6.0 source (``quantus/metrics/base.py``, ``quantus/helpers/utils.py``,
``quantus/helpers/asserts.py``, ``quantus/helpers/model/tf_model.py``) and checked by the tests:

1. ``Metric.general_preprocess`` turns ``x_batch`` channels-first (``utils.make_channel_first``) whatever the
   ``channel_first`` flag says; every metric perturbs and indexes this channels-first batch.
2. ``Metric.explain_batch`` calls ``model.shape_input(x_batch, channel_first=True)`` of the wrapped Keras model,
   which moves the channels back last when the metric got ``channel_first=False`` (the wrapper keeps that flag), and
   then ``explain_func(model=<the keras.Model>, inputs=<NHWC NumPy batch>, targets=<NumPy int array>, **kwargs)``.
   So a channels-last Keras model receives ``inputs`` in its own layout.
3. The returned ``a_batch`` is checked with ``expand_attribution_channel`` / ``assert_attributions`` against those
   channels-*last* inputs, but its axes are inferred (``infer_attribution_axes``) and used against the
   channels-*first* ``x_batch`` of step 1. The map therefore has to fit both:

   * (N, C, H, W) fails ``assert_attributions`` against the NHWC inputs when C > 1 (neither its first nor its last
     non-singleton axis matches);
   * (N, H, W, C) passes it but fails ``infer_attribution_axes`` against the NCHW ``x_batch`` when C > 1;
   * (N, H, W) passes both checks but ``expand_attribution_channel`` makes it (N, H, W, 1) against the NHWC inputs,
     which ``PixelFlipping`` cannot broadcast to the NCHW ``x_batch`` when C > 1;
   * (N, 1, H, W) passes both checks and broadcasts over the channels of the NCHW ``x_batch``.

   So the adapter returns the map **summed over the channels, channels-first with a singleton channel axis**,
   (N, 1, H, W) (time series (N, T, C) -> (N, 1, T)). With one input channel that is exactly the map of
   :func:`signxai.tf.explain`, moved; with several it is the usual per-pixel relevance, which Quantus's metrics
   broadcast over the channels. (PyTorch models, channels-first, get the full map: ``signxai.torch.quantus``.)

   Called directly with channels-first inputs (an NCHW batch for an NHWC model), the inputs are moved channels-last
   for the model and the full map comes back channels-first, aligned with the inputs.

Keyword arguments: ``method`` (required) is any name of :func:`signxai.common.list_methods`; Quantus's ``device``
is accepted and ignored; ``strip_softmax``, ``max_rows``, ``max_points`` and ``progress`` are
:func:`signxai.tf.explain`'s options; every other keyword is a method parameter (``epsilon=``, ``mu=``,
``stdfactor=``, ...) and must be one the method takes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from signxai.common import parse_method

from .explainer import explain

#: Keywords that are options of :func:`signxai.tf.explain` rather than method parameters.
EXPLAIN_OPTIONS = ("strip_softmax", "max_rows", "max_points", "progress")
#: Keywords Quantus adds to ``explain_func_kwargs`` by itself.
QUANTUS_KEYWORDS = ("device",)


def split_kwargs(kwargs: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Split Quantus's ``explain_func_kwargs`` into (method, explain options, method parameters).

    Raises
    ------
    ValueError
        Without ``method``, or for a keyword that is neither an option nor a parameter of the method (named).
    """
    kwargs = dict(kwargs)
    method = kwargs.pop("method", None)
    if not isinstance(method, str):
        raise ValueError(
            "quantus_explain needs the method name: pass explain_func_kwargs={'method': '<name>'} to the Quantus "
            f"metric (any name of signxai.common.list_methods()); got method={method!r}"
        )
    for key in QUANTUS_KEYWORDS:
        kwargs.pop(key, None)
    options = {k: kwargs.pop(k) for k in EXPLAIN_OPTIONS if k in kwargs}
    try:
        parse_method(method, **kwargs)
    except ValueError as error:
        unknown = ", ".join(sorted(kwargs)) or "none"
        raise ValueError(f"quantus_explain: {error} (keywords given as method parameters: {unknown})") from error
    return method, options, kwargs


def _fits(shape: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    return len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected, strict=True))


def quantus_explain(*, model: Any, inputs: Any, targets: Any, **kwargs: Any) -> np.ndarray:
    """Explain ``inputs`` for Quantus: ``explain_func(model=..., inputs=..., targets=..., method=..., **params)``.

    Parameters
    ----------
    model : keras.Model
        A channels-last Keras model returning logits (Quantus passes the unwrapped model); it is not modified.
    inputs : numpy.ndarray or tf.Tensor
        Batch in the model's layout (NHWC / NTC; what Quantus passes for ``channel_first=False``), or the same
        batch channels-first (NCHW / NCT).
    targets : int, sequence of int or numpy.ndarray
        Class per sample (Quantus: a NumPy int array of length N) or one class for all.
    **kwargs
        ``method`` (required): the catalog name. Quantus's ``device``: ignored. ``strip_softmax``,
        ``max_rows``, ``max_points``, ``progress``: options of :func:`signxai.tf.explain`. Anything else: method
        parameters (:func:`signxai.common.parse_method`).

    Returns
    -------
    numpy.ndarray
        Channels-last inputs: (N, 1, H, W), the map summed over the channels (for one channel: the map itself)
        and moved channels-first (the module docstring says why). Channels-first inputs: the full map,
        channels-first. Flat inputs (N, F): the map as it is.

    Raises
    ------
    ValueError
        Missing ``method``, unknown method or keyword, targets not matching the batch, inputs that fit the
        model's input shape in neither layout.
    """
    method, options, params = split_kwargs(kwargs)
    x = np.asarray(inputs)
    expected = tuple(model.input_shape[1:])
    target = np.asarray(targets).astype(np.int64).reshape(-1)
    if len(target) not in (1, x.shape[0]):
        raise ValueError(f"quantus_explain: {len(target)} targets for a batch of {x.shape[0]} inputs")
    target_arg: Any = target if len(target) > 1 else int(target[0])
    if _fits(x.shape[1:], expected):
        relevance = explain(model, x, method, target=target_arg, **options, **params)
        if relevance.ndim < 3:
            return relevance
        return np.moveaxis(relevance.sum(axis=-1, keepdims=True), -1, 1)
    if x.ndim >= 3 and _fits(np.moveaxis(x, 1, -1).shape[1:], expected):
        relevance = explain(model, np.moveaxis(x, 1, -1), method, target=target_arg, **options, **params)
        return np.ascontiguousarray(np.moveaxis(relevance, -1, 1))
    raise ValueError(
        f"quantus_explain: inputs of shape {x.shape} fit the model's input shape {(None, *expected)} neither "
        "channels-last nor channels-first"
    )
