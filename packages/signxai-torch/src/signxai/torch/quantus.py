"""Quantus adapter: :func:`quantus_explain` is an ``explain_func`` for `Quantus <https://github.com/understandable-machine-intelligence-lab/Quantus>`_.

>>> import quantus
>>> from signxai.torch import quantus_explain
>>> metric = quantus.PixelFlipping(features_in_step=4)  # doctest: +SKIP
>>> scores = metric(model=model, x_batch=x, y_batch=y, channel_first=True, explain_func=quantus_explain,
...                 explain_func_kwargs={"method": "lrpsign_epsilon_0_25_std_x"})  # doctest: +SKIP

How Quantus 0.6.0 calls it (read from its source, ``quantus/metrics/base.py``):

* Every metric computes its explanations through ``Metric.explain_batch``, which wraps the model
  (``quantus.helpers.model.pytorch_model.PyTorchModel``), reshapes the batch with ``shape_input(...,
  channel_first=True)`` and calls ``explain_func(model=<the torch.nn.Module>, inputs=<numpy NCHW batch>,
  targets=<numpy int array>, **explain_func_kwargs)``; ``explain_func_kwargs`` also gets ``device=`` when the
  metric was given one. PyTorch models are channels-first, so ``inputs`` are in the model's layout.
* The returned map goes through ``utils.expand_attribution_channel`` and ``asserts.assert_attributions``: it must
  be a NumPy array with the batch axis first and either the input's full shape (N, C, H, W) or a channel-reduced
  (N, H, W) / (N, 1, H, W), which Quantus broadcasts over the channels. This adapter returns the full map, exactly
  what :func:`signxai.torch.explain` returns, so per-element metrics see every channel's relevance.

Keyword arguments: ``method`` (required) is any name of :func:`signxai.common.list_methods`; Quantus's ``device``
is accepted and ignored (the input goes to the device of the model's parameters); ``strip_softmax``,
``max_rows``, ``max_points`` and ``progress`` are :func:`signxai.torch.explain`'s options; every other keyword is a
method parameter (``epsilon=``, ``mu=``, ``stdfactor=``, ...) and must be one the method takes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from signxai.common import parse_method

from .explainer import explain

#: Keywords that are options of :func:`signxai.torch.explain` rather than method parameters.
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


def quantus_explain(*, model: torch.nn.Module, inputs: Any, targets: Any, **kwargs: Any) -> np.ndarray:
    """Explain ``inputs`` for Quantus: ``explain_func(model=..., inputs=..., targets=..., method=..., **params)``.

    Parameters
    ----------
    model : torch.nn.Module
        The model (Quantus passes the unwrapped module); it is not modified.
    inputs : numpy.ndarray or torch.Tensor
        Batch in the model's layout (NCHW / NCT), as Quantus passes it (NumPy).
    targets : int, sequence of int or numpy.ndarray
        Class per sample (Quantus: a NumPy int array of length N) or one class for all.
    **kwargs
        ``method`` (required): the catalog name. Quantus's ``device``: ignored. ``strip_softmax``,
        ``max_rows``, ``max_points``, ``progress``: options of :func:`signxai.torch.explain`. Anything else: method
        parameters (:func:`signxai.common.parse_method`).

    Returns
    -------
    numpy.ndarray
        The map, shape of ``inputs`` (N, C, H, W), dtype of the model's parameters.

    Raises
    ------
    ValueError
        Missing ``method``, unknown method or keyword, targets not matching the batch.
    """
    method, options, params = split_kwargs(kwargs)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
    x = torch.as_tensor(np.asarray(inputs) if not isinstance(inputs, torch.Tensor) else inputs)
    x = x.to(device=device, dtype=dtype)
    target = np.asarray(targets).astype(np.int64).reshape(-1).tolist()
    if len(target) not in (1, x.shape[0]):
        raise ValueError(f"quantus_explain: {len(target)} targets for a batch of {x.shape[0]} inputs")
    relevance = explain(model, x, method, target=target if len(target) > 1 else target[0], **options, **params)
    return relevance.detach().cpu().numpy()
