"""signxai.common: the framework-neutral core of SignXAI.

The method catalog and its name grammar, the SIGN math, seeded noise and integration paths shared by both
backends, target resolution, a float64 NumPy reference implementation (:mod:`signxai.common.reference`),
evaluation metrics (:mod:`signxai.common.metrics`) and visualization (:mod:`signxai.common.viz`, optional extra
``plot``).
"""

from .catalog import list_methods
from .grammar import format_number, parse_method, required_keywords, resolve_method
from .spec import MethodSpec, Modifier, RuleSpec

__version__ = "0.1.0"

__all__ = [
    "MethodSpec",
    "Modifier",
    "RuleSpec",
    "format_number",
    "list_methods",
    "parse_method",
    "required_keywords",
    "resolve_method",
]
