"""signxai.parity: the same model in Keras and PyTorch, every SignXAI method compared across the two.

:func:`check` runs the pipeline on any Keras model (Keras -> ONNX -> PyTorch, forward parity, then each method on
both backends, compared as spec section 6 says); ``python -m signxai.parity`` runs the suite (VGG16 at 224,
a 12-lead ECG CNN and small models exercising the conversion) and writes ``out/parity/report.{json,md}``.
"""

from .check import check
from .report import Report, Result, write_report

__version__ = "0.1.0"

__all__ = ["Report", "Result", "check", "write_report"]
