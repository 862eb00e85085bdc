"""signxai.tf: every SignXAI method on TensorFlow/Keras models.

LRP and the reverse-propagation methods run through iNNvestigate 2.1.2 in a private graph (eager execution
stays on); gradient methods and Grad-CAM run eagerly on the caller's model. Parameters and method names come
from :mod:`signxai.common`.

>>> from signxai.tf import explain
>>> relevance = explain(model, x, "lrpsign_epsilon_0_25_std_x")  # doctest: +SKIP

:func:`quantus_explain` is an ``explain_func`` for Quantus metrics (:mod:`signxai.tf.quantus`).
"""

from .keras_compat import check_environment

check_environment()  # ImportError naming every fix when tf.keras is Keras 3 or iNNvestigate 2.1 is missing

from .explainer import Explainer, explain  # noqa: E402
from .quantus import quantus_explain  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Explainer", "explain", "quantus_explain"]
