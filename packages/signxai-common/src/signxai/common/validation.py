"""The one place where parameter values are checked, for method names, keywords, specs and call options.

Every number that reaches a backend passes through here, whether it was written in a method name
(``lrp_epsilon_0_25``), given as a keyword (``epsilon=0.25``), put into a hand-built
:class:`~signxai.common.spec.RuleSpec` / :class:`~signxai.common.spec.MethodSpec`, or passed as a call option
(``strip_softmax=``, ``max_rows=``, ``max_points=``, ``progress=``, ``callback=``). Backends never re-check.

Errors name the parameter and the allowed type or range: a value of the wrong type is a
:class:`ParameterTypeError` (a ``TypeError``), a value of the right type out of range (including NaN and
infinity) is a :class:`ParameterError` (a ``ValueError``). :func:`signxai.common.parse_method` reports both
as ``ValueError`` (its documented contract) with the method name in front.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Default bound on the points a call evaluates: (integrated-gradients steps or SmoothGrad / VarGrad samples)
#: x batch rows. Above it a call raises ``ValueError`` before computing anything; pass ``max_points=`` to the
#: explainer to raise the bound, or ``max_points=None`` to remove it.
DEFAULT_MAX_POINTS = 1_000_000
#: Elements (rows x sample size) per forward/backward pass when ``max_rows=None``: the memory budget that sets
#: the rows per chunk from the size of one sample.
CHUNK_ELEMENTS = 2**21


class ParameterError(ValueError):
    """A parameter of the right type with a value out of its allowed range (or not finite)."""


class ParameterTypeError(TypeError):
    """A parameter of the wrong type."""


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool; only ``True`` / ``False`` (Python or NumPy) are accepted.

    Raises
    ------
    ParameterTypeError
        For anything else (``"no"``, ``0``, ``None`` ...).
    """
    if not _is_bool(value):
        raise ParameterTypeError(f"{name} must be True or False, got {_shown(value)}")
    return bool(value)


def check_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    strict: bool = False,
    hint: str = "",
) -> float:
    """``value`` as a finite float, optionally bounded below.

    Parameters
    ----------
    name : str
        Parameter name used in the message.
    value : object
        A real number (int, float, NumPy scalar or 0-d array); bools and strings are refused.
    minimum : float or None
        Lower bound; ``value >= minimum`` (or ``> minimum`` when ``strict``).
    strict : bool
        Whether the bound is strict.
    hint : str
        Appended to a range error, e.g. ``" (use the z rule for 0)"``.

    Raises
    ------
    ParameterTypeError
        For a value that is not a real number.
    ParameterError
        For NaN, infinity (also from an overflowing number written in a method name) or a value below the bound.
    """
    if _is_bool(value) or isinstance(value, (str, bytes)):
        raise ParameterTypeError(f"{name} must be a real number, got {_shown(value)}")
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
        value = value[()]
    if not isinstance(value, numbers.Real):
        raise ParameterTypeError(f"{name} must be a real number, got {_shown(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ParameterError(f"{name} must be finite, got {number}")
    if minimum is not None and (number <= minimum if strict else number < minimum):
        raise ParameterError(f"{name} must be {'>' if strict else '>='} {minimum:g}{hint}, got {number:g}")
    return number


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """``value`` as an int; whole floats (``50.0``, also from a name) are accepted, bools are not.

    Raises
    ------
    ParameterTypeError
        For a value that is not a number (``None``, a string, a bool).
    ParameterError
        For NaN, infinity, a fractional value or one below ``minimum``.
    """
    if _is_bool(value) or isinstance(value, (str, bytes)):
        raise ParameterTypeError(f"{name} must be an integer, got {_shown(value)}")
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
        value = value[()]
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real):
        as_float = float(value)
        if not math.isfinite(as_float):
            raise ParameterError(f"{name} must be a finite whole number, got {as_float}")
        if not as_float.is_integer():
            raise ParameterError(f"{name} must be a whole number, got {as_float:g}")
        number = int(as_float)
    else:
        raise ParameterTypeError(f"{name} must be an integer, got {_shown(value)}")
    if minimum is not None and number < minimum:
        raise ParameterError(f"{name} must be >= {minimum} (an integer), got {number}")
    return number


def check_baseline(value: Any) -> float | np.ndarray:
    """The integrated-gradients baseline as a finite float or a read-only finite float64 array.

    Raises
    ------
    ParameterTypeError
        For ``None``, a string (``"zeros"``) or anything not numeric.
    ParameterError
        For NaN / infinite entries.
    """
    if value is None or _is_bool(value) or isinstance(value, (str, bytes)):
        raise ParameterTypeError(f"baseline must be a real number or an array of numbers, got {_shown(value)}")
    if np.ndim(value) == 0:
        return check_real("baseline", value)
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterTypeError(
            f"baseline must be a real number or an array of numbers, got {_shown(value)}"
        ) from None
    if not bool(np.all(np.isfinite(array))):
        raise ParameterError("baseline must be finite (it contains NaN or infinite entries)")
    array.setflags(write=False)
    return array


def check_layer(value: Any) -> str | None:
    """A Grad-CAM layer name or None."""
    if value is not None and not isinstance(value, str):
        raise ParameterTypeError(f"layer must be a layer name (str) or None, got {_shown(value)}")
    return value


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


# -------------------------------------------------------------------------------------------- rule params
def check_rule_params(rule: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check (and convert to float) the parameters of one LRP rule; return them.

    Parameters
    ----------
    rule : str
        A rule name (:data:`signxai.common.spec.RULE_NAMES`).
    params : dict
        The rule's parameters by name (``epsilon``, ``stdfactor``, ``alpha``, ``beta``, ``gamma``, ``mu``,
        ``low``, ``high``); the ones the rule needs must be present and not None.

    Raises
    ------
    ParameterError, ParameterTypeError
        Naming the parameter and its allowed range.
    """
    needed = {
        "epsilon": ("epsilon",),
        "epsilon_std_x": ("stdfactor",),
        "alpha_beta": ("alpha", "beta"),
        "gamma": ("gamma",),
        "sign": ("mu",),
        "zb": ("low", "high"),
    }.get(rule, ())
    params = dict(params)
    if rule == "sign" and params.get("mu") is None:
        params["mu"] = 0.0  # RuleSpec("sign") is plain SIGN (mu = 0)
    missing = [p for p in needed if params.get(p) is None]
    if missing:
        raise ParameterError(f"{' and '.join(missing)} must be given (the {rule} rule needs it), got None")
    out = dict(params)
    if "epsilon" in needed:
        out["epsilon"] = check_real("epsilon", params["epsilon"], minimum=0.0, strict=True, hint=" (use z for 0)")
    if "stdfactor" in needed:
        out["stdfactor"] = check_real("stdfactor", params["stdfactor"], minimum=0.0, strict=True, hint=" (std_x)")
    if "alpha" in needed:
        alpha = out["alpha"] = check_real("alpha", params["alpha"])
        beta = out["beta"] = check_real("beta", params["beta"], minimum=0.0)
        if abs(alpha - beta - 1.0) >= 1e-12:
            raise ParameterError(f"alpha - beta must equal 1, got alpha={alpha:g}, beta={beta:g}")
    if "gamma" in needed:
        out["gamma"] = check_real("gamma", params["gamma"], minimum=0.0)
    if "mu" in needed:
        out["mu"] = check_real("mu", params["mu"])
    if "low" in needed:
        low = out["low"] = check_real("low", params["low"])
        high = out["high"] = check_real("high", params["high"])
        if not low < high:
            raise ParameterError(f"zblrp needs low < high, got low={low:g}, high={high:g}")
    unused = [p for p, v in params.items() if v is not None and p not in needed]
    if unused:
        raise ParameterError(f"the {rule} rule takes no {', '.join(unused)}")
    return out


# ----------------------------------------------------------------------------------------- call options
@dataclass(frozen=True)
class CallOptions:
    """The options every explainer takes besides the method's own parameters, checked on construction.

    Attributes
    ----------
    strip_softmax : bool
        Explain the logits feeding a final softmax / sigmoid instead of raising ``ValueError``.
    max_rows : int or None
        Rows per forward/backward pass of integrated gradients, SmoothGrad and VarGrad; None = as many as fit
        :data:`CHUNK_ELEMENTS` elements. At least one point of every sample of the batch per pass.
    max_points : int or None
        Largest (steps or samples) x batch rows an integrated-gradients / SmoothGrad / VarGrad call may evaluate;
        above it the call raises ``ValueError`` up front. None removes the bound. Other methods are not bounded.
    progress : bool
        Show a ``tqdm`` progress bar (needs ``pip install tqdm``).
    callback : callable or None
        ``callback(done, total)`` after each chunk, in points (steps / samples; each point covers the whole
        batch); single-pass methods report ``(1, 1)`` once.
    """

    strip_softmax: bool = False
    max_rows: int | None = None
    max_points: int | None = DEFAULT_MAX_POINTS
    progress: bool = False
    callback: Callable[[int, int], Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "strip_softmax", check_bool("strip_softmax", self.strip_softmax))
        if self.max_rows is not None:
            object.__setattr__(self, "max_rows", check_int("max_rows", self.max_rows, minimum=1))
        if self.max_points is not None:
            object.__setattr__(self, "max_points", check_int("max_points", self.max_points, minimum=1))
        object.__setattr__(self, "progress", check_bool("progress", self.progress))
        if self.callback is not None and not callable(self.callback):
            raise ParameterTypeError(f"callback must be callable as callback(done, total), got {_shown(self.callback)}")
        if self.progress:
            _tqdm()

    def rows_per_chunk(self, sample_size: int) -> int:
        """Rows per forward/backward pass for samples of ``sample_size`` elements."""
        if self.max_rows is not None:
            return self.max_rows
        return max(1, CHUNK_ELEMENTS // max(1, int(sample_size)))


def points_of(spec: Any) -> int:
    """Points per sample a method evaluates: steps (integrated gradients), samples (SmoothGrad / VarGrad) or 1."""
    field = spec.computation.points
    return 1 if field is None else int(getattr(spec, field))


def check_points(spec: Any, batch: int | None, max_points: int | None) -> None:
    """Refuse, before any computation, a call that would evaluate more than ``max_points`` points.

    Parameters
    ----------
    spec : MethodSpec
        The method.
    batch : int or None
        Rows of the input batch (None to check the method alone, at construction).
    max_points : int or None
        The bound (:attr:`CallOptions.max_points`); None = no bound.

    Raises
    ------
    ParameterError
        Naming ``steps`` / ``samples``, the batch and ``max_points``.
    """
    what = spec.computation.points
    if max_points is None or what is None:
        return
    points = points_of(spec)
    if points * (batch or 1) <= max_points:
        return
    product = f"{what}={points}" if batch is None else f"{what}={points} x batch={batch} = {points * batch} points"
    raise ParameterError(
        f"{product} exceeds max_points={max_points}; lower {what} or the batch, or pass a larger max_points= "
        "(max_points=None removes the bound)"
    )


def _tqdm() -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError("progress=True needs the tqdm package: pip install tqdm") from None
    return tqdm


class Progress:
    """Reports points done to a tqdm bar and / or a callback; does nothing when neither is asked for.

    Parameters
    ----------
    options : CallOptions
        ``progress`` and ``callback``.
    total : int
        Points to evaluate.
    desc : str
        Label of the bar.
    """

    def __init__(self, options: CallOptions, total: int, desc: str) -> None:
        self.total = int(total)
        self.done = 0
        self._callback = options.callback
        self._bar = _tqdm()(total=self.total, desc=desc, unit="pt") if options.progress else None

    def update(self, count: int) -> None:
        """``count`` more points are done."""
        self.done += int(count)
        if self._bar is not None:
            self._bar.update(int(count))
        if self._callback is not None:
            self._callback(self.done, self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chunk_starts(points: int, per_chunk: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of ``per_chunk`` points (a generator: no list of 10^9 slices)."""
    per_chunk = max(1, int(per_chunk))
    for start in range(0, points, per_chunk):
        yield start, min(start + per_chunk, points)
