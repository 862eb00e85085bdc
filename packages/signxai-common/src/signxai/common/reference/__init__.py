"""A float64 NumPy reference implementation of every SignXAI method on small channels-last models.

It is the ground truth both backends are tested against: simple and obviously correct rather than fast.
Models are plain descriptions (:mod:`.layers`); :mod:`.zoo` has seeded test models and inputs.
"""

from . import layers, zoo
from .explain import explain
from .forward import forward

__all__ = ["explain", "forward", "layers", "zoo"]
