"""Regression corpus of issue 14 (common part): bad numbers in names, bad keywords, bad hand-built specs, bad call
options and resource bounds. Each case asserts the exception type and that the message names the parameter."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from signxai.common import MethodSpec, Modifier, RuleSpec, parse_method, resolve_method
from signxai.common.sampling import integration_alphas, smoothgrad_noise, smoothgrad_noise_chunks
from signxai.common.validation import (
    CHUNK_ELEMENTS,
    DEFAULT_MAX_POINTS,
    CallOptions,
    ParameterError,
    ParameterTypeError,
    Progress,
    check_points,
)

HUGE = "9" * 400  # float(HUGE) == inf

# (name, the parameter the message must name): numbers written in names that overflow to inf, or are out of range
BAD_NAME_NUMBERS = [
    (f"lrp_epsilon_{HUGE}", "epsilon"),
    (f"lrpsign_epsilon_{HUGE}", "epsilon"),
    (f"lrp_epsilon_{HUGE}_std_x", "stdfactor"),
    (f"lrpsign_epsilon_0_25_std_x_mu_{HUGE}", "mu"),
    (f"lrp_gamma_{HUGE}", "gamma"),
    (f"lrp_alpha_{HUGE}_beta_0", "alpha"),
    (f"lrp_alpha_1_beta_{HUGE}", "beta"),
    (f"smoothgrad_noise_{HUGE}", "noise"),
    (f"vargrad_noise_{HUGE}_samples_5", "noise"),
    (f"smoothgrad_samples_{HUGE}", "samples"),
    (f"integrated_gradients_steps_{HUGE}", "steps"),
    (f"gradient_x_sign_mu_{HUGE}", "mu"),
    (f"gradient_x_sign_mu_neg_{HUGE}", "mu"),
    (f"smoothgrad_x_sign_mu_{HUGE}", "mu"),
    (f"guided_backprop_x_input_x_sign_mu_{HUGE}", "mu"),
    ("lrp_epsilon_0_0", "epsilon"),
    ("lrp_epsilon_0_std_x", "stdfactor"),
    ("smoothgrad_samples_0", "samples"),
    ("integrated_gradients_steps_1", "steps"),
]


@pytest.mark.parametrize(("name", "param"), BAD_NAME_NUMBERS)
def test_bad_numbers_in_names(name: str, param: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_method(name)
    message = str(info.value)
    assert f"{param} must be" in message
    assert len(message) < 400  # a 400-digit name is shortened in the message


# (name, keywords, parameter named in the message)
BAD_KEYWORDS = [
    ("lrp_epsilon_1", {"epsilon": float("inf")}, "epsilon"),
    ("lrp_epsilon_1", {"epsilon": -1.0}, "epsilon"),
    ("lrp_epsilon_1", {"epsilon": "0.1"}, "epsilon"),
    ("lrp_epsilon_1", {"epsilon": True}, "epsilon"),
    ("lrp_epsilon_1", {"epsilon": None}, "epsilon"),
    ("lrp_epsilon_1_std_x", {"stdfactor": float("nan")}, "stdfactor"),
    ("lrp_gamma_0_25", {"gamma": -0.5}, "gamma"),
    ("lrp_alpha_2_beta_1", {"alpha": float("inf"), "beta": float("inf")}, "alpha"),
    ("lrpsign_epsilon_1_mu_0", {"mu": float("-inf")}, "mu"),
    ("gradient_x_sign_mu", {"mu": "half"}, "mu"),
    ("gradient_x_sign_mu", {"mu": float("nan")}, "mu"),
    ("zblrp_z", {"low": float("-inf"), "high": 1.0}, "low"),
    ("zblrp_z", {"low": 0.0, "high": "1"}, "high"),
    ("smoothgrad", {"seed": -1}, "seed"),
    ("smoothgrad", {"seed": True}, "seed"),
    ("smoothgrad", {"seed": "0"}, "seed"),
    ("random_uniform", {"seed": -5}, "seed"),
    ("random_uniform", {"seed": 0.5}, "seed"),
    ("smoothgrad", {"samples": 0}, "samples"),
    ("smoothgrad", {"samples": float("inf")}, "samples"),
    ("smoothgrad", {"samples": False}, "samples"),
    ("smoothgrad", {"samples": None}, "samples"),
    ("vargrad", {"noise": -0.1}, "noise"),
    ("vargrad", {"noise": float("inf")}, "noise"),
    ("vargrad", {"noise": [0.1, 0.2]}, "noise"),
    ("integrated_gradients", {"steps": 1}, "steps"),
    ("integrated_gradients", {"steps": 2.5}, "steps"),
    ("integrated_gradients", {"steps": "50"}, "steps"),
    ("integrated_gradients", {"baseline": None}, "baseline"),
    ("integrated_gradients", {"baseline": "zeros"}, "baseline"),
    ("integrated_gradients", {"baseline": [0.0, float("nan")]}, "baseline"),
    ("integrated_gradients", {"baseline": object()}, "baseline"),
    ("grad_cam", {"layer": 3}, "layer"),
]


@pytest.mark.parametrize(("name", "kwargs", "param"), BAD_KEYWORDS)
def test_bad_keywords(name: str, kwargs: dict, param: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_method(name, **kwargs)
    assert f"{param} must be" in str(info.value)


def test_bad_keyword_on_a_catalog_name_suggests_no_other_name() -> None:
    with pytest.raises(ValueError) as info:
        parse_method("smoothgrad", seed=-1)
    assert "seed must be >= 0" in str(info.value) and "did you mean" not in str(info.value)


def test_same_value_refused_in_name_and_keyword() -> None:
    for name, kwargs in ((f"lrp_epsilon_{HUGE}", {}), ("lrp_epsilon_1", {"epsilon": float("inf")})):
        with pytest.raises(ValueError, match="epsilon must be finite"):
            parse_method(name, **kwargs)


# hand-built specs: (factory, exception type, parameter named in the message)
BAD_SPECS = [
    (lambda: RuleSpec("epsilon", epsilon=-1.0), ParameterError, "epsilon"),
    (lambda: RuleSpec("epsilon", epsilon=float("inf")), ParameterError, "epsilon"),
    (lambda: RuleSpec("epsilon"), ParameterError, "epsilon"),
    (lambda: RuleSpec("epsilon", epsilon="0.1"), ParameterTypeError, "epsilon"),
    (lambda: RuleSpec("epsilon_std_x", stdfactor=0.0), ParameterError, "stdfactor"),
    (lambda: RuleSpec("alpha_beta", alpha=2.0, beta=0.0), ParameterError, "alpha - beta"),
    (lambda: RuleSpec("alpha_beta", alpha=0.0, beta=-1.0), ParameterError, "beta"),
    (lambda: RuleSpec("gamma", gamma=-1.0), ParameterError, "gamma"),
    (lambda: RuleSpec("sign", mu=float("nan")), ParameterError, "mu"),
    (lambda: RuleSpec("zb", low=1.0, high=0.0), ParameterError, "low < high"),
    (lambda: RuleSpec("zb", low=0.0), ParameterError, "high"),
    (lambda: RuleSpec("z", epsilon=0.1), ParameterError, "epsilon"),
    (lambda: RuleSpec("epsilonn", epsilon=0.1), ParameterError, "unknown LRP rule"),
    (lambda: Modifier("x_sign_mu"), ParameterError, "mu"),
    (lambda: Modifier("x_sign_mu", float("inf")), ParameterError, "mu"),
    (lambda: Modifier("x_sign", 0.5), ParameterError, "mu"),
    (lambda: Modifier("x_times"), ParameterError, "modifier"),
    (lambda: MethodSpec("s", "gradient", "smoothgrad", "one", noise=-1.0, samples=5, seed=0), ParameterError, "noise"),
    (
        lambda: MethodSpec("s", "gradient", "smoothgrad", "one", noise=0.1, samples=2.5, seed=0),
        ParameterError,
        "samples",
    ),
    (lambda: MethodSpec("s", "gradient", "smoothgrad", "one", noise=0.1, samples=5, seed=-1), ParameterError, "seed"),
    (lambda: MethodSpec("s", "gradient", "smoothgrad", "one", noise=0.1, samples=5), ParameterError, "seed"),
    (
        lambda: MethodSpec("s", "gradient", "vargrad", "one", noise=0.1, samples="5", seed=0),
        ParameterTypeError,
        "samples",
    ),
    (
        lambda: MethodSpec("i", "gradient", "integrated_gradients", "one", steps=1, baseline=0.0),
        ParameterError,
        "steps",
    ),
    (lambda: MethodSpec("i", "gradient", "integrated_gradients", "one", steps=5), ParameterError, "baseline"),
    (
        lambda: MethodSpec("i", "gradient", "integrated_gradients", "one", steps=5, baseline="zeros"),
        ParameterTypeError,
        "baseline",
    ),
    (lambda: MethodSpec("l", "lrp", "lrp", "logit", dense_rule=RuleSpec("z")), ParameterError, "conv_rule"),
    (
        lambda: MethodSpec("l", "lrp", "lrp", "logit", dense_rule="z", conv_rule=RuleSpec("z")),
        ParameterTypeError,
        "dense_rule",
    ),
    (lambda: MethodSpec("g", "gradient", "gradient", "two"), ParameterError, "output_seed"),
    (lambda: MethodSpec("g", "gradient", "lrp", "one"), ParameterError, "base"),
    (lambda: MethodSpec("g", "gradients", "gradient", "one"), ParameterError, "family"),
    (lambda: MethodSpec("g", "gradient", "gradient", "one", modifiers=("x_sign",)), ParameterTypeError, "modifiers"),
    (lambda: MethodSpec("c", "cam", "grad_cam", "one", layer=3), ParameterTypeError, "layer"),
    (lambda: MethodSpec("c", "cam", "grad_cam", "one", cam_kind="video"), ParameterError, "cam_kind"),
    (lambda: MethodSpec("r", "baseline", "random_uniform", "one", seed=1.5), ParameterError, "seed"),
]


@pytest.mark.parametrize(("factory", "error", "param"), BAD_SPECS)
def test_hand_built_specs_are_validated(factory, error: type, param: str) -> None:
    with pytest.raises(error) as info:
        factory()
    assert param in str(info.value)


def test_valid_hand_built_specs_are_normalised() -> None:
    spec = MethodSpec("s", "gradient", "smoothgrad", "one", noise=1, samples=5.0, seed=np.int64(3))
    assert (spec.noise, spec.samples, spec.seed) == (1.0, 5, 3)
    assert type(spec.samples) is int and type(spec.seed) is int
    ig = MethodSpec("i", "gradient", "integrated_gradients", "one", steps=4, baseline=[0.0, 1.0])
    assert isinstance(ig.baseline, np.ndarray) and not ig.baseline.flags.writeable
    assert RuleSpec("epsilon", epsilon=np.float32(0.5)).epsilon == 0.5
    assert RuleSpec("sign") == RuleSpec("sign", mu=0.0)  # plain SIGN, as before


def test_resolve_method_refuses_keywords_with_a_spec() -> None:
    spec = parse_method("lrp_z")
    assert resolve_method(spec, {}) is spec
    with pytest.raises(ValueError, match="epsilon given with an already parsed MethodSpec"):
        resolve_method(spec, {"epsilon": 0.1})


# call options: (keywords, exception type, parameter named in the message)
BAD_OPTIONS = [
    ({"strip_softmax": "no"}, ParameterTypeError, "strip_softmax"),
    ({"strip_softmax": 1}, ParameterTypeError, "strip_softmax"),
    ({"strip_softmax": None}, ParameterTypeError, "strip_softmax"),
    ({"max_rows": 2.5}, ParameterError, "max_rows"),
    ({"max_rows": 0}, ParameterError, "max_rows"),
    ({"max_rows": -3}, ParameterError, "max_rows"),
    ({"max_rows": "64"}, ParameterTypeError, "max_rows"),
    ({"max_rows": True}, ParameterTypeError, "max_rows"),
    ({"max_rows": float("inf")}, ParameterError, "max_rows"),
    ({"max_points": 0}, ParameterError, "max_points"),
    ({"max_points": 1e3 + 0.5}, ParameterError, "max_points"),
    ({"max_points": "many"}, ParameterTypeError, "max_points"),
    ({"progress": "yes"}, ParameterTypeError, "progress"),
    ({"progress": 1}, ParameterTypeError, "progress"),
    ({"callback": 3}, ParameterTypeError, "callback"),
    ({"callback": "print"}, ParameterTypeError, "callback"),
]


@pytest.mark.parametrize(("kwargs", "error", "param"), BAD_OPTIONS)
def test_bad_call_options(kwargs: dict, error: type, param: str) -> None:
    with pytest.raises(error) as info:
        CallOptions(**kwargs)
    assert str(info.value).startswith(param + " must be")


def test_call_options_normalise_and_chunk() -> None:
    opts = CallOptions(strip_softmax=np.bool_(True), max_rows=8.0, max_points=np.int32(10))
    assert opts.strip_softmax is True and opts.max_rows == 8 and opts.max_points == 10
    assert opts.rows_per_chunk(10**9) == 8
    assert CallOptions().rows_per_chunk(784) == CHUNK_ELEMENTS // 784
    assert CallOptions().rows_per_chunk(10**9) == 1
    assert CallOptions().max_points == DEFAULT_MAX_POINTS


# resource bounds: (name, keywords, batch, parameter named)
TOO_MANY_POINTS = [
    ("integrated_gradients", {"steps": 10**9}, None, "steps"),
    ("integrated_gradients", {"steps": 10**9}, 1, "steps"),
    ("integrated_gradients_steps_100", {}, 10**4 + 1, "steps"),
    ("smoothgrad", {"samples": 10**9}, None, "samples"),
    ("vargrad", {"samples": 500_001}, 2, "samples"),
    ("smoothgrad_noise_0_3_samples_50", {}, 20_001, "samples"),
]


@pytest.mark.parametrize(("name", "kwargs", "batch", "param"), TOO_MANY_POINTS)
def test_too_many_points_refused(name: str, kwargs: dict, batch: int | None, param: str) -> None:
    spec = parse_method(name, **kwargs)
    with pytest.raises(ParameterError) as info:
        check_points(spec, batch, DEFAULT_MAX_POINTS)
    message = str(info.value)
    assert f"{param}=" in message and "max_points=1000000" in message and "max_points=None" in message
    check_points(spec, batch, None)  # the bound can be removed ...
    check_points(spec, batch, 10**18)  # ... or raised


def test_points_at_the_bound_pass() -> None:
    check_points(parse_method("integrated_gradients_steps_100"), 10**4, DEFAULT_MAX_POINTS)
    check_points(parse_method("lrp_z"), 10**7, DEFAULT_MAX_POINTS)  # the bound is on steps / samples x batch


@pytest.mark.parametrize("chunk", [1, 3, 7, 10, 11, 1000])
@pytest.mark.parametrize(("shape", "channels_first"), [((4, 5, 3), False), ((3, 4, 5), True), ((7,), True)])
def test_noise_chunks_equal_one_draw(chunk: int, shape: tuple, channels_first: bool) -> None:
    full = smoothgrad_noise(shape, 10, 0.3, 5, channels_first=channels_first)
    parts = list(smoothgrad_noise_chunks(shape, 10, 0.3, 5, chunk, channels_first=channels_first))
    assert max(len(p) for p in parts) == min(chunk, 10)
    np.testing.assert_array_equal(np.concatenate(parts), full)


def test_alpha_slices() -> None:
    full = integration_alphas(7)
    np.testing.assert_array_equal(np.concatenate([integration_alphas(7, 0, 3), integration_alphas(7, 3, 7)]), full)
    assert integration_alphas(10**12, 5, 8).shape == (3,)  # a slice of a huge path is cheap


def test_progress_reports_to_the_callback() -> None:
    seen: list[tuple[int, int]] = []
    with Progress(CallOptions(callback=lambda d, t: seen.append((d, t))), 10, "x") as progress:
        progress.update(4)
        progress.update(6)
    assert seen == [(4, 10), (10, 10)]


def test_progress_bar_needs_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="progress=True needs the tqdm package: pip install tqdm"):
        CallOptions(progress=True)


def test_progress_bar_with_tqdm() -> None:
    pytest.importorskip("tqdm")
    with Progress(CallOptions(progress=True), 5, "x") as progress:
        progress.update(5)
    assert progress.done == 5
