"""signxai.torch: every SignXAI method on PyTorch models, LRP through Zennit.

>>> from signxai.torch import explain
>>> relevance = explain(model, x, "lrpsign_epsilon_0_25_std_x")  # doctest: +SKIP

:func:`explain` and the reusable :class:`Explainer` take any name of :func:`signxai.common.list_methods`;
:func:`from_onnx` turns an ONNX model into a module LRP can explain (needs the ``onnx`` extra);
:func:`quantus_explain` is an ``explain_func`` for Quantus metrics (:mod:`signxai.torch.quantus`).
"""

from .explainer import Explainer, explain
from .onnx import from_onnx
from .quantus import quantus_explain

__version__ = "0.1.0"

__all__ = ["Explainer", "explain", "from_onnx", "quantus_explain"]
