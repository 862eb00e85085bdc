"""Immutable descriptions of what a method name means (the output of :func:`signxai.common.parse_method`).

A backend never looks at a method *name*: it receives a :class:`MethodSpec` and reads the rules, modifiers and
parameters from it. Every field is documented here; the grammar that produces them lives in
:mod:`signxai.common.grammar`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .computation import COMPUTATIONS, Computation, bases_of
from .validation import (
    ParameterError,
    ParameterTypeError,
    check_baseline,
    check_choice,
    check_int,
    check_layer,
    check_real,
    check_rule_params,
)

Family = Literal["gradient", "lrp", "cam", "baseline"]
OutputSeed = Literal["one", "logit"]
LayerKind = Literal["dense", "conv"]

#: Rule names a :class:`RuleSpec` can carry.
RULE_NAMES = ("z", "epsilon", "epsilon_std_x", "alpha_beta", "gamma", "flat", "w_square", "sign", "zb", "zplus")


@dataclass(frozen=True)
class RuleSpec:
    """One LRP rule and its parameters (spec section 3).

    Attributes
    ----------
    name : str
        One of ``z``, ``epsilon``, ``epsilon_std_x``, ``alpha_beta``, ``gamma``, ``flat``, ``w_square``,
        ``sign`` (SIGN / SIGN-mu input rule), ``zb`` (bounded Z^B input rule) and ``zplus`` (deep Taylor:
        alpha 1, beta 0, bias ignored).
    epsilon : float or None
        Stabiliser E of the ``epsilon`` rule.
    stdfactor : float or None
        Factor F of ``epsilon_std_x``: E = F * std(layer input), per sample.
    alpha, beta : float or None
        Weights of the activator / inhibitor terms of ``alpha_beta`` (alpha - beta = 1).
    gamma : float or None
        Positive-weight boost G of ``gamma``.
    mu : float or None
        Threshold of the ``sign`` rule: sign_mu(x) = +1 if x >= mu else -1 (mu = 0, also for None, is plain SIGN).

    Every parameter the rule needs must be given, finite and in its range (``epsilon`` > 0, ``stdfactor`` > 0,
    ``beta`` >= 0 with ``alpha - beta = 1``, ``gamma`` >= 0, ``low < high``), and a rule takes no parameter it
    does not use; otherwise construction raises :class:`signxai.common.validation.ParameterError` (a ValueError)
    or :class:`signxai.common.validation.ParameterTypeError` (a TypeError) naming the parameter.
    low, high : float or None
        Input bounds of ``zb``.
    uses_bias : bool
        Whether the layer's bias enters the rule's denominators (False for ``flat``, ``w_square``, ``zb``
        and ``zplus``).
    """

    name: str
    epsilon: float | None = None
    stdfactor: float | None = None
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    mu: float | None = None
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.name not in RULE_NAMES:
            raise ParameterError(f"unknown LRP rule {self.name!r}; expected one of {', '.join(RULE_NAMES)}")
        fields = ("epsilon", "stdfactor", "alpha", "beta", "gamma", "mu", "low", "high")
        checked = check_rule_params(self.name, {f: getattr(self, f) for f in fields})
        for key, value in checked.items():
            object.__setattr__(self, key, value)

    @property
    def uses_bias(self) -> bool:
        return self.name not in ("flat", "w_square", "zb", "zplus")

    def describe(self) -> str:
        """Short human-readable form, e.g. ``epsilon(0.25)`` or ``alpha_beta(2, 1)``."""
        values = {
            "epsilon": (self.epsilon,),
            "epsilon_std_x": (self.stdfactor,),
            "alpha_beta": (self.alpha, self.beta),
            "gamma": (self.gamma,),
            "sign": (self.mu,),
            "zb": (self.low, self.high),
        }.get(self.name, ())
        if not values:
            return self.name
        return f"{self.name}({', '.join(f'{v:g}' for v in values)})"


@dataclass(frozen=True)
class Modifier:
    """A map modifier applied after the base map (spec section 2), in order of appearance.

    Attributes
    ----------
    name : {"x_input", "x_sign", "x_sign_mu"}
        ``x_input`` multiplies by x, ``x_sign`` by sign(x), ``x_sign_mu`` by sign_mu(x).
    mu : float or None
        Threshold of ``x_sign_mu``.
    """

    name: Literal["x_input", "x_sign", "x_sign_mu"]
    mu: float | None = None

    def __post_init__(self) -> None:
        check_choice("modifier", self.name, ("x_input", "x_sign", "x_sign_mu"))
        if self.name == "x_sign_mu":
            if self.mu is None:
                raise ParameterError("the x_sign_mu modifier needs mu (got None)")
            object.__setattr__(self, "mu", check_real("mu", self.mu))
        elif self.mu is not None:
            raise ParameterError(f"the {self.name} modifier takes no mu, got mu={self.mu!r}")


@dataclass(frozen=True)
class MethodSpec:
    """Everything a backend needs to compute one method, fully resolved (no defaults left to guess).

    Attributes
    ----------
    name : str
        The name as given to the parser.
    family : {"gradient", "lrp", "cam", "baseline"}
        Method family.
    base : str
        ``gradient``, ``guided_backprop``, ``deconvnet``, ``smoothgrad``, ``vargrad``,
        ``integrated_gradients``, ``lrp``, ``deep_taylor``, ``grad_cam``, ``guided_grad_cam`` or
        ``random_uniform``.
    input_rule : RuleSpec or None
        LRP rule of the first layer with weights (None outside LRP).
    dense_rule, conv_rule : RuleSpec or None
        LRP rule of every other Dense / convolution layer (None outside LRP). They differ only for the
        sequential composites.
    composite : {"a", "b"} or None
        Which sequential composite the body is, if any.
    modifiers : tuple of Modifier
        Applied to the base map in this order.
    output_seed : {"one", "logit"}
        Signal placed on the target output: 1, or the target logit z_t.
    noise, samples : float or None, int or None
        SmoothGrad / VarGrad noise standard deviation (input units) and number of samples.
    steps : int or None
        Integrated-gradients steps N.
    baseline : float or numpy.ndarray or None
        Integrated-gradients baseline (read-only array or scalar).
    seed : int or None
        Seed of the random generator (SmoothGrad / VarGrad noise, ``random_uniform``).
    layer : str or None
        Grad-CAM layer name; None = the last convolution.
    cam_kind : {"image", "timeseries"} or None
        Grad-CAM input kind.
    params : tuple of (str, object)
        Every parameter the method takes with its resolved value (the keywords it accepts).

    Construction checks every field as :func:`signxai.common.parse_method` does (a hand-built spec gets no
    shortcut): family / base / output seed known, LRP rules present, ``noise`` >= 0, ``samples`` >= 1,
    ``seed`` >= 0, ``steps`` >= 2 (whole numbers), ``baseline`` finite; errors name the field.
    """

    name: str
    family: Family
    base: str
    output_seed: OutputSeed
    input_rule: RuleSpec | None = None
    dense_rule: RuleSpec | None = None
    conv_rule: RuleSpec | None = None
    composite: Literal["a", "b"] | None = None
    modifiers: tuple[Modifier, ...] = ()
    noise: float | None = None
    samples: int | None = None
    steps: int | None = None
    baseline: float | np.ndarray | None = field(default=None, compare=False)
    seed: int | None = None
    layer: str | None = None
    cam_kind: Literal["image", "timeseries"] | None = None
    params: tuple[tuple[str, object], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        """Check every field (a hand-built spec gets the same checks as a parsed one)."""
        check_choice("family", self.family, ("gradient", "lrp", "cam", "baseline"))
        check_choice(f"base of a {self.family} method", self.base, bases_of(self.family))
        check_choice("output_seed", self.output_seed, ("one", "logit"))
        check_choice("composite", self.composite, (None, "a", "b"))
        check_choice("cam_kind", self.cam_kind, (None, "image", "timeseries"))
        object.__setattr__(self, "layer", check_layer(self.layer))
        modifiers = tuple(self.modifiers)
        for mod in modifiers:
            if not isinstance(mod, Modifier):
                raise ParameterTypeError(f"modifiers must be Modifier objects, got {type(mod).__name__}")
        object.__setattr__(self, "modifiers", modifiers)
        for key in ("input_rule", "dense_rule", "conv_rule"):
            rule = getattr(self, key)
            if rule is not None and not isinstance(rule, RuleSpec):
                raise ParameterTypeError(f"{key} must be a RuleSpec or None, got {type(rule).__name__}")
        if self.family == "lrp" and (self.dense_rule is None or self.conv_rule is None):
            raise ParameterError("an LRP method needs dense_rule and conv_rule (got None)")
        needs = {
            "smoothgrad": ("noise", "samples", "seed"),
            "vargrad": ("noise", "samples", "seed"),
            "integrated_gradients": ("steps", "baseline"),
            "random_uniform": ("seed",),
        }.get(self.base, ())
        missing = [k for k in needs if getattr(self, k) is None]
        if missing:
            raise ParameterError(f"method base {self.base} needs {', '.join(missing)} (got None)")
        if self.noise is not None:
            object.__setattr__(self, "noise", check_real("noise", self.noise, minimum=0.0))
        if self.samples is not None:
            object.__setattr__(self, "samples", check_int("samples", self.samples, minimum=1))
        if self.seed is not None:
            object.__setattr__(self, "seed", check_int("seed", self.seed, minimum=0))
        if self.steps is not None:
            object.__setattr__(self, "steps", check_int("steps", self.steps, minimum=2))
        if self.baseline is not None:
            object.__setattr__(self, "baseline", check_baseline(self.baseline))

    def rule_for(self, kind: LayerKind, is_input: bool) -> RuleSpec:
        """LRP rule of a layer with weights.

        Parameters
        ----------
        kind : {"dense", "conv"}
            Dense (fully connected) or convolution layer.
        is_input : bool
            Whether this is the first layer with weights of the model (the one fed by the input).

        Returns
        -------
        RuleSpec
        """
        if self.family != "lrp":
            raise ValueError(f"method {self.name!r} is not an LRP method; it has no layer rules")
        if kind not in ("dense", "conv"):
            raise ValueError(f"layer kind must be 'dense' or 'conv', got {kind!r}")
        if is_input and self.input_rule is not None:
            return self.input_rule
        rule = self.dense_rule if kind == "dense" else self.conv_rule
        assert rule is not None
        return rule

    @property
    def computation(self) -> Computation:
        """How a backend computes this method (:mod:`signxai.common.computation`); backends dispatch on it."""
        return COMPUTATIONS[self.base]

    @property
    def param_dict(self) -> dict[str, object]:
        """The accepted keyword parameters and their resolved values."""
        return dict(self.params)
