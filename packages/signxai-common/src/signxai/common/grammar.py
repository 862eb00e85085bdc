"""The one parser of method names (spec section 2): ``name [+ keywords] -> MethodSpec``.

Names are split on ``_`` into tokens and read left to right by a small recursive-descent parser. Numbers
use ``_`` as decimal point (``0_25`` = 0.25) and ``neg_`` as minus sign. Every failure is a ``ValueError``
that names the offending part and suggests the nearest catalog names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from .spec import MethodSpec, Modifier, RuleSpec
from .validation import (
    ParameterError,
    ParameterTypeError,
    check_baseline,
    check_int,
    check_layer,
    check_real,
    check_rule_params,
)

#: Seed of the random generator when ``seed=`` is not given.
DEFAULT_SEED = 0
#: SmoothGrad / VarGrad defaults (spec section 4).
DEFAULT_NOISE = 0.2
DEFAULT_SAMPLES = 50
#: Integrated-gradients default steps.
DEFAULT_STEPS = 50
#: Bounds set by the ``_VGG16ILSVRC`` suffix of ``zblrp`` (caffe-preprocessed ImageNet inputs).
VGG16ILSVRC_BOUNDS = (-123.68, 151.061)
#: Fixed Grad-CAM layer of the reference aliases.
CAM_ALIASES = {"VGG16ILSVRC": "block5_conv3", "VGG16MITPL365": "relu5_3", "MNISTCNN": "conv2d_1"}
#: Rules of the sequential composites: (dense rule, conv rule).
COMPOSITES = {
    "a": (RuleSpec("epsilon", epsilon=0.1), RuleSpec("alpha_beta", alpha=1.0, beta=0.0)),
    "b": (RuleSpec("epsilon", epsilon=0.1), RuleSpec("alpha_beta", alpha=2.0, beta=1.0)),
}

LRP_PREFIXES = ("lrp", "lrpsign", "lrpz", "w2lrp", "flatlrp", "zblrp")
GRADIENT_BASES = ("gradient", "guided_backprop", "deconvnet", "smoothgrad", "vargrad", "integrated_gradients")

_INT = re.compile(r"0|[1-9][0-9]*")
_FRAC = re.compile(r"[0-9]+")


class _ParseError(Exception):
    """Internal: a grammar failure, turned into a ValueError with suggestions by :func:`parse_method`."""


class _MissingKeywordError(_ParseError):
    """Internal: the name is valid but needs keyword parameter(s) that were not given."""

    def __init__(self, message: str, keywords: tuple[str, ...]) -> None:
        super().__init__(message)
        self.keywords = keywords


class _Tokens:
    """A cursor over the ``_``-separated tokens of a name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items = name.split("_")
        self.pos = 0

    def peek(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        return self.items[i] if i < len(self.items) else None

    def take(self, *expected: str) -> bool:
        """Consume the tokens ``expected`` if they come next; report whether they did."""
        if tuple(self.items[self.pos : self.pos + len(expected)]) == expected:
            self.pos += len(expected)
            return True
        return False

    def done(self) -> bool:
        return self.pos >= len(self.items)

    def rest(self) -> str:
        return "_".join(self.items[self.pos :])

    def number(self, what: str) -> float:
        """Read a number written with ``_`` as decimal point and ``neg_`` as minus sign."""
        start = self.pos
        negative = self.take("neg")
        whole = self.peek()
        if whole is None or not _INT.fullmatch(whole):
            self.pos = start
            shown = "_".join(self.items[start : start + 3]) or "nothing"
            raise _ParseError(f"expected a number for {what} (e.g. 0_25, 100, neg_0_5), found {shown!r}")
        self.pos += 1
        text = whole
        frac = self.peek()
        if frac is not None and _FRAC.fullmatch(frac):
            text += "." + frac
            self.pos += 1
        value = float(text)
        return -value if negative else value


def format_number(value: float) -> str:
    """Write a number the way names do: 0.25 -> ``0_25``, -0.5 -> ``neg_0_5``, 100 -> ``100``."""
    text = np.format_float_positional(abs(float(value)), trim="-")
    return ("neg_" if value < 0 else "") + text.replace(".", "_")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise _ParseError(message)


# ----------------------------------------------------------------------------------------------- LRP bodies
def _parse_body(tok: _Tokens) -> tuple[str, dict[str, float], str | None]:
    """Read an LRP body; return (rule name, parameters, composite letter or None)."""
    if tok.take("z"):
        return "z", {}, None
    if tok.take("epsilon"):
        value = tok.number("epsilon")
        if tok.take("std", "x"):
            return "epsilon_std_x", {"stdfactor": value}, None
        return "epsilon", {"epsilon": value}, None
    if tok.take("alpha"):
        alpha = tok.number("alpha")
        _check(tok.take("beta"), f"expected '_beta_B' after 'alpha_{format_number(alpha)}'")
        return "alpha_beta", {"alpha": alpha, "beta": tok.number("beta")}, None
    if tok.take("gamma"):
        return "gamma", {"gamma": tok.number("gamma")}, None
    if tok.take("flat"):
        return "flat", {}, None
    if tok.take("w", "square"):
        return "w_square", {}, None
    if tok.take("sequential", "composite"):
        letter = tok.peek()
        _check(letter in ("a", "b"), f"unknown sequential composite {letter!r}; expected 'a' or 'b'")
        tok.pos += 1
        return "composite", {}, letter
    raise _ParseError(
        f"unknown LRP rule {tok.rest().split('_')[0]!r}; expected z, epsilon_E, epsilon_F_std_x, "
        "alpha_A_beta_B, gamma_G, flat, w_square, sequential_composite_a/b"
    )


def _validate_rule_params(rule: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's parameters checked by :func:`signxai.common.validation.check_rule_params` (one source)."""
    return check_rule_params(rule, dict(params))


def _parse_lrp(tok: _Tokens, kw: dict[str, Any]) -> MethodSpec:
    prefix = tok.items[0]
    tok.pos = 1
    body, body_params, composite = _parse_body(tok)
    input_params: dict[str, float] = {}
    if tok.take("mu"):
        _check(
            prefix == "lrpsign", f"'_mu_M' selects the SIGN-mu input rule and needs the lrpsign prefix, not {prefix!r}"
        )
        input_params["mu"] = tok.number("mu")
    if tok.take("VGG16ILSVRC"):
        _check(
            prefix == "zblrp", f"'_VGG16ILSVRC' sets the Z^B input bounds and needs the zblrp prefix, not {prefix!r}"
        )
        input_params["low"], input_params["high"] = VGG16ILSVRC_BOUNDS
    _check(tok.done(), f"unexpected {tok.rest()!r} after the LRP rule")

    accepted = {**body_params, **input_params}
    if prefix == "zblrp" and "low" not in accepted:
        if not {"low", "high"} <= set(kw):
            raise _MissingKeywordError(
                "zblrp needs input bounds: pass low= and high= or use the '_VGG16ILSVRC' suffix", ("low", "high")
            )
        accepted["low"] = accepted["high"] = 0.0
    params = _apply_keywords(accepted, kw)
    if body != "composite":
        params.update(_validate_rule_params(body, {k: params[k] for k in body_params}))
    if "mu" in params:
        params.update(_validate_rule_params("sign", {"mu": params.get("mu", 0.0)}))
    if prefix == "zblrp":
        params.update(_validate_rule_params("zb", {"low": params["low"], "high": params["high"]}))

    def body_rule() -> RuleSpec:
        return RuleSpec(body, **{k: params[k] for k in body_params})

    if composite is not None:
        dense_rule, conv_rule = COMPOSITES[composite]
    else:
        dense_rule = conv_rule = body_rule()
    input_rule = {
        "lrp": lambda: None,
        "lrpsign": lambda: RuleSpec("sign", mu=params.get("mu", 0.0)),
        "lrpz": lambda: RuleSpec("z"),
        "w2lrp": lambda: RuleSpec("w_square"),
        "flatlrp": lambda: RuleSpec("flat"),
        "zblrp": lambda: RuleSpec("zb", low=params["low"], high=params["high"]),
    }[prefix]()
    return MethodSpec(
        name=tok.name,
        family="lrp",
        base="lrp",
        output_seed="logit",
        input_rule=input_rule,
        dense_rule=dense_rule,
        conv_rule=conv_rule,
        composite=composite,  # type: ignore[arg-type]
        params=tuple(params.items()),
    )


# ------------------------------------------------------------------------------------------ gradient family
def _parse_modifiers(tok: _Tokens) -> tuple[list[tuple[str, float | None]], bool]:
    """Read ``_x_input`` / ``_x_sign`` / ``_x_sign_mu[_M]``; return the modifiers and whether one lacks mu."""
    modifiers: list[tuple[str, float | None]] = []
    bare_mu = False
    while not tok.done():
        if tok.take("x", "input"):
            modifiers.append(("x_input", None))
        elif tok.take("x", "sign", "mu"):
            if tok.done() or tok.peek() == "x":
                modifiers.append(("x_sign_mu", None))
                bare_mu = True
            else:
                modifiers.append(("x_sign_mu", tok.number("mu")))
        elif tok.take("x", "sign"):
            modifiers.append(("x_sign", None))
        else:
            raise _ParseError(f"unknown modifier {tok.rest()!r}; expected _x_input, _x_sign or _x_sign_mu_M")
    return modifiers, bare_mu


def _parse_gradient(tok: _Tokens, base: str, kw: dict[str, Any]) -> MethodSpec:
    accepted: dict[str, Any] = {}
    if base in ("smoothgrad", "vargrad"):
        accepted["noise"] = tok.number("noise") if tok.take("noise") else DEFAULT_NOISE
        accepted["samples"] = tok.number("samples") if tok.take("samples") else DEFAULT_SAMPLES
        accepted["seed"] = DEFAULT_SEED
    elif base == "integrated_gradients":
        accepted["steps"] = tok.number("steps") if tok.take("steps") else DEFAULT_STEPS
        accepted["baseline"] = 0.0
    modifiers, bare_mu = _parse_modifiers(tok)
    mus = [mu for name, mu in modifiers if name == "x_sign_mu"]
    if mus:
        _check(len(set(mus)) == 1, "all _x_sign_mu modifiers of one name must share one mu")
        accepted["mu"] = mus[0]
    if bare_mu and "mu" not in kw:
        raise _MissingKeywordError("'_x_sign_mu' has no value: write e.g. '_x_sign_mu_0_5' or pass mu=", ("mu",))
    params = _apply_keywords(accepted, kw)

    if "noise" in params:
        params["noise"] = check_real("noise", params["noise"], minimum=0.0)
        params["samples"] = check_int("samples", params["samples"], minimum=1)
        params["seed"] = check_int("seed", params["seed"], minimum=0)
    if "steps" in params:
        params["steps"] = check_int("steps", params["steps"], minimum=2)
        params["baseline"] = check_baseline(params["baseline"])
    if "mu" in params:
        params["mu"] = check_real("mu", params["mu"])
    mods = tuple(Modifier(name, params["mu"] if name == "x_sign_mu" else None) for name, _ in modifiers)
    seeded_by_logit = base in ("guided_backprop", "deconvnet")
    return MethodSpec(
        name=tok.name,
        family="gradient",
        base=base,
        output_seed="logit" if seeded_by_logit else "one",
        modifiers=mods,
        noise=params.get("noise"),
        samples=params.get("samples"),
        steps=params.get("steps"),
        baseline=params.get("baseline"),
        seed=params.get("seed"),
        params=tuple(params.items()),
    )


# -------------------------------------------------------------------------------------------- cam, baseline
def _parse_cam(tok: _Tokens, kw: dict[str, Any]) -> MethodSpec:
    guided = tok.take("guided")
    _check(tok.take("grad", "cam"), "expected 'grad_cam'")
    base = "guided_grad_cam" if guided else "grad_cam"
    layer: str | None = None
    kind = "image"
    if tok.take("timeseries"):
        kind = "timeseries"
    elif not tok.done():
        alias = tok.rest()
        _check(
            alias in CAM_ALIASES, f"unknown Grad-CAM variant {alias!r}; expected timeseries or {', '.join(CAM_ALIASES)}"
        )
        layer = CAM_ALIASES[alias]
        tok.pos = len(tok.items)
    _check(tok.done(), f"unexpected {tok.rest()!r} after {base}")
    params = _apply_keywords({"layer": layer}, kw)
    params["layer"] = check_layer(params["layer"])
    return MethodSpec(
        name=tok.name,
        family="cam",
        base=base,
        output_seed="one",
        layer=params["layer"],
        cam_kind=kind,  # type: ignore[arg-type]
        params=tuple(params.items()),
    )


def _apply_keywords(accepted: dict[str, Any], kw: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword wins over the name; a keyword the method does not take is an error (spec section 2)."""
    unknown = sorted(set(kw) - set(accepted))
    if unknown:
        takes = ", ".join(sorted(accepted)) or "no parameters"
        raise _ParseError(f"does not take parameter(s) {', '.join(unknown)} (it takes: {takes})")
    merged = dict(accepted)
    merged.update(kw)  # values are checked where the method's parameters are resolved (signxai.common.validation)
    return merged


# --------------------------------------------------------------------------------------------- entry point
def parse_method(name: str, **params: Any) -> MethodSpec:
    """Parse a method name (and optional keyword parameters) into a :class:`MethodSpec`.

    Parameters
    ----------
    name : str
        A catalog name such as ``lrpsign_epsilon_0_25_std_x`` or ``smoothgrad_x_sign_mu_0_5``.
    **params
        Keyword parameters (``epsilon=``, ``stdfactor=``, ``alpha=``, ``beta=``, ``gamma=``, ``mu=``,
        ``low=``, ``high=``, ``noise=``, ``samples=``, ``seed=``, ``steps=``, ``baseline=``, ``layer=``).
        A keyword wins over the value written in the name; a keyword the method does not take is an error.

    Returns
    -------
    MethodSpec

    Raises
    ------
    ValueError
        For an unknown name, token or parameter, a malformed number or an invalid value; the message names
        the offending part and suggests the nearest catalog names.
    """
    try:
        return _parse(name, dict(params))
    except _ParseError as err:
        raise _invalid(name, err) from None
    except (ParameterError, ParameterTypeError) as err:
        # a bad keyword value on a catalog name: suggesting other names would mislead
        from .catalog import list_methods

        suggest = not (params and isinstance(name, str) and name in list_methods())
        raise _invalid(name, err, suggest) from None


def resolve_method(method: str | MethodSpec, params: Mapping[str, Any]) -> MethodSpec:
    """The spec of an explainer's ``method`` argument: a name parsed with ``params``, or a spec as given.

    Raises
    ------
    ValueError
        For an invalid name or parameter (see :func:`parse_method`), or keyword parameters given together with an
        already parsed :class:`MethodSpec`.
    """
    if isinstance(method, MethodSpec):
        if params:
            raise ValueError(
                f"parameters {', '.join(sorted(params))} given with an already parsed MethodSpec; pass them to "
                "parse_method, or give the method by name"
            )
        return method
    return parse_method(method, **params)


def required_keywords(name: str) -> tuple[str, ...]:
    """Keyword parameters a valid name cannot do without.

    ``mu=`` for a bare ``_x_sign_mu``, ``low=`` and ``high=`` for ``zblrp`` without ``_VGG16ILSVRC``; empty for
    every other valid name.

    Raises
    ------
    ValueError
        If the name is invalid for another reason.
    """
    try:
        _parse(name, {})
    except _MissingKeywordError as missing:
        return missing.keywords
    except (_ParseError, ParameterError, ParameterTypeError) as err:
        raise _invalid(name, err) from None
    return ()


def _parse(name: str, kw: dict[str, Any]) -> MethodSpec:
    _check(isinstance(name, str), f"a method name must be a str, not {type(name).__name__}")
    _check(bool(name) and "" not in name.split("_"), "empty token (leading, trailing or doubled '_')")
    tok = _Tokens(name)
    head = tok.peek()
    if head in LRP_PREFIXES:
        return _parse_lrp(tok, kw)
    if name == "deep_taylor" or name.startswith("deep_taylor_"):
        tok.take("deep", "taylor")
        _check(tok.done(), f"unexpected {tok.rest()!r} after deep_taylor")
        _apply_keywords({}, kw)
        rule = RuleSpec("zplus")
        return MethodSpec(
            name=name, family="lrp", base="deep_taylor", output_seed="logit", dense_rule=rule, conv_rule=rule
        )
    if head in ("grad", "guided") and tok.peek(1) in ("cam", "grad"):
        return _parse_cam(tok, kw)
    if tok.take("random", "uniform"):
        _check(tok.done(), f"unexpected {tok.rest()!r} after random_uniform")
        params = _apply_keywords({"seed": DEFAULT_SEED}, kw)
        params["seed"] = check_int("seed", params["seed"], minimum=0)
        return MethodSpec(
            name=name,
            family="baseline",
            base="random_uniform",
            output_seed="one",
            seed=params["seed"],
            params=tuple(params.items()),
        )
    if tok.take("input", "t", "gradient"):
        spec = _parse_gradient(tok, "gradient", kw)
        return _replace_modifiers(spec, (Modifier("x_input"), *spec.modifiers))
    for base in sorted(GRADIENT_BASES, key=len, reverse=True):
        if tok.take(*base.split("_")):
            return _parse_gradient(tok, base, kw)
    raise _ParseError(f"unknown method family {head!r}")


def _replace_modifiers(spec: MethodSpec, modifiers: tuple[Modifier, ...]) -> MethodSpec:
    return replace(spec, modifiers=modifiers)


def _invalid(name: object, err: Exception, suggest: bool = True) -> ValueError:
    shown = repr(name) if not isinstance(name, str) or len(name) <= 100 else repr(name[:60] + "...") + " (shortened)"
    hint = _suggestion(name) if suggest and isinstance(name, str) else ""
    return ValueError(f"invalid method {shown}: {err}{hint}")


def _suggestion(name: str) -> str:
    """``; did you mean 'a', 'b', 'c'?`` with the nearest catalog names, or an empty string.

    Ranked: names equal ignoring case, names that extend the given one, then the closest spellings among names
    with the same first token (the family or LRP prefix), then among all names.
    """
    from .catalog import list_methods  # the catalog is built with this parser

    names = [n for n in list_methods() if n != name]
    lowered = {n.lower(): n for n in names}
    query = name.lower()
    head = query.split("_")[0]
    same_head = [n for n in names if n.lower().split("_")[0] == head]
    ranked = [lowered[query]] if query in lowered else []
    ranked += sorted((n for n in names if n.lower().startswith(query + "_")), key=len)
    ranked += difflib.get_close_matches(query, [n.lower() for n in same_head], n=3, cutoff=0.5)
    ranked += difflib.get_close_matches(query, list(lowered), n=3, cutoff=0.6)
    close = list(dict.fromkeys(lowered.get(n, n) for n in ranked))[:3]
    if not close:
        return ""
    return "; did you mean " + ", ".join(repr(c) for c in close) + "?"
