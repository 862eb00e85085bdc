"""A float64 NumPy reference implementation of every SignXAI method on small channels-last models.

It is the ground truth both backends are tested against: simple and obviously correct rather than fast.
"""

from . import layers, zoo
from .forward import forward

__all__ = ["forward", "layers", "zoo"]
