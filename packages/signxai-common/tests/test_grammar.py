"""The name grammar: every reference name parses to exactly the parameters of spec sections 2-3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from signxai.common import MethodSpec, Modifier, RuleSpec, format_number, list_methods, parse_method, required_keywords

REFERENCE_NAMES = (Path(__file__).parent / "data" / "reference_method_names.txt").read_text().split()


def _kwargs(name: str) -> dict[str, float]:
    return {key: {"mu": 0.5, "low": -1.0, "high": 1.0}[key] for key in required_keywords(name)}


def test_reference_list_is_complete() -> None:
    assert len(REFERENCE_NAMES) == 152
    assert len(set(REFERENCE_NAMES)) == 152


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_every_reference_name_is_in_the_catalog_and_parses(name: str) -> None:
    assert name in list_methods()
    spec = parse_method(name, **_kwargs(name))
    assert isinstance(spec, MethodSpec)
    assert spec.name == name


def test_catalog_names_all_parse_and_are_unique() -> None:
    names = list_methods()
    assert len(names) == len(set(names)) >= 152 + 60
    for name in names:
        parse_method(name, **_kwargs(name))


def test_bare_sign_mu_names_need_mu() -> None:
    bare = [n for n in REFERENCE_NAMES if n.endswith("_x_sign_mu")]
    assert sorted(bare) == [
        "deconvnet_x_sign_mu",
        "gradient_x_sign_mu",
        "guided_backprop_x_sign_mu",
        "smoothgrad_x_sign_mu",
    ]
    for name in bare:
        assert required_keywords(name) == ("mu",)
        with pytest.raises(ValueError, match="mu="):
            parse_method(name)
        assert parse_method(name, mu=-0.25).modifiers == (Modifier("x_sign_mu", -0.25),)


# ------------------------------------------------------------------------------------------------ LRP names
def test_lrpsign_std_x_mu() -> None:
    spec = parse_method("lrpsign_epsilon_0_25_std_x_mu_neg_0_5")
    assert spec.family == "lrp" and spec.base == "lrp" and spec.output_seed == "logit"
    assert spec.input_rule == RuleSpec("sign", mu=-0.5)
    assert spec.dense_rule == spec.conv_rule == RuleSpec("epsilon_std_x", stdfactor=0.25)
    assert spec.rule_for("conv", is_input=True) == RuleSpec("sign", mu=-0.5)
    assert spec.rule_for("dense", is_input=False) == RuleSpec("epsilon_std_x", stdfactor=0.25)
    assert spec.modifiers == ()
    assert spec.param_dict == {"stdfactor": 0.25, "mu": -0.5}


def test_lrpsign_plain_is_sign_mu_zero() -> None:
    assert parse_method("lrpsign_epsilon_100").input_rule == RuleSpec("sign", mu=0.0)
    assert parse_method("lrpsign_epsilon_100_mu_0").input_rule == RuleSpec("sign", mu=0.0)
    assert parse_method("lrpsign_epsilon_100_mu_0_5").input_rule == RuleSpec("sign", mu=0.5)
    assert parse_method("lrpsign_epsilon_100").dense_rule == RuleSpec("epsilon", epsilon=100.0)


def test_zblrp_vgg16_bounds() -> None:
    spec = parse_method("zblrp_epsilon_0_1_VGG16ILSVRC")
    assert spec.input_rule == RuleSpec("zb", low=-123.68, high=151.061)
    assert spec.dense_rule == RuleSpec("epsilon", epsilon=0.1)
    assert not spec.input_rule.uses_bias
    spec = parse_method("zblrp_z_VGG16ILSVRC", low=-1, high=2)
    assert spec.input_rule == RuleSpec("zb", low=-1.0, high=2.0)


def test_zblrp_without_bounds_needs_keywords() -> None:
    assert required_keywords("zblrp_z") == ("low", "high")
    with pytest.raises(ValueError, match="low= and high="):
        parse_method("zblrp_z")
    with pytest.raises(ValueError, match="low= and high="):
        parse_method("zblrp_z", low=0.0)
    assert parse_method("zblrp_z", low=0.0, high=1.0).input_rule == RuleSpec("zb", low=0.0, high=1.0)


def test_composites() -> None:
    spec = parse_method("w2lrp_sequential_composite_b")
    assert spec.composite == "b"
    assert spec.input_rule == RuleSpec("w_square")
    assert spec.rule_for("dense", is_input=False) == RuleSpec("epsilon", epsilon=0.1)
    assert spec.rule_for("conv", is_input=False) == RuleSpec("alpha_beta", alpha=2.0, beta=1.0)
    spec = parse_method("lrp_sequential_composite_a")
    assert spec.input_rule is None
    assert spec.rule_for("conv", is_input=True) == RuleSpec("alpha_beta", alpha=1.0, beta=0.0)
    assert spec.rule_for("dense", is_input=True) == RuleSpec("epsilon", epsilon=0.1)


@pytest.mark.parametrize(
    ("name", "input_rule", "body"),
    [
        ("lrp_z", None, RuleSpec("z")),
        ("lrpz_epsilon_0_001", RuleSpec("z"), RuleSpec("epsilon", epsilon=0.001)),
        ("lrp_epsilon_0_2", None, RuleSpec("epsilon", epsilon=0.2)),
        ("lrp_epsilon_75", None, RuleSpec("epsilon", epsilon=75.0)),
        ("flatlrp_epsilon_3_std_x", RuleSpec("flat"), RuleSpec("epsilon_std_x", stdfactor=3.0)),
        ("w2lrp_alpha_1_beta_0", RuleSpec("w_square"), RuleSpec("alpha_beta", alpha=1.0, beta=0.0)),
        ("lrp_alpha_2_beta_1", None, RuleSpec("alpha_beta", alpha=2.0, beta=1.0)),
        ("lrpz_gamma_0_25", RuleSpec("z"), RuleSpec("gamma", gamma=0.25)),
        ("flatlrp_flat", RuleSpec("flat"), RuleSpec("flat")),
        ("lrp_w_square", None, RuleSpec("w_square")),
    ],
)
def test_lrp_rules(name: str, input_rule: RuleSpec | None, body: RuleSpec) -> None:
    spec = parse_method(name)
    assert spec.input_rule == input_rule
    assert spec.dense_rule == spec.conv_rule == body
    assert spec.composite is None


def test_deep_taylor_is_zplus_everywhere() -> None:
    spec = parse_method("deep_taylor")
    assert spec.family == "lrp" and spec.base == "deep_taylor" and spec.output_seed == "logit"
    for kind in ("dense", "conv"):
        for first in (True, False):
            assert spec.rule_for(kind, first) == RuleSpec("zplus")
    assert not RuleSpec("zplus").uses_bias


def test_keyword_wins_for_lrp() -> None:
    assert parse_method("lrp_epsilon_0_1", epsilon=0.5).dense_rule == RuleSpec("epsilon", epsilon=0.5)
    assert parse_method("lrpz_epsilon_0_1_std_x", stdfactor=2).conv_rule == RuleSpec("epsilon_std_x", stdfactor=2.0)
    assert parse_method("lrp_alpha_1_beta_0", alpha=3, beta=2).dense_rule == RuleSpec("alpha_beta", alpha=3.0, beta=2.0)
    assert parse_method("lrpsign_epsilon_100_mu_0_5", mu=-2).input_rule == RuleSpec("sign", mu=-2.0)


# ----------------------------------------------------------------------------------------- gradient family
def test_smoothgrad_x_sign_mu() -> None:
    spec = parse_method("smoothgrad_x_sign_mu_0_5")
    assert (spec.family, spec.base, spec.output_seed) == ("gradient", "smoothgrad", "one")
    assert spec.modifiers == (Modifier("x_sign_mu", 0.5),)
    assert (spec.noise, spec.samples, spec.seed) == (0.2, 50, 0)
    assert spec.input_rule is None and spec.steps is None


def test_smoothgrad_parameters_in_name_and_keywords() -> None:
    spec = parse_method("smoothgrad_noise_0_3_samples_50")
    assert (spec.noise, spec.samples) == (0.3, 50)
    spec = parse_method("vargrad_noise_0_3_samples_50", samples=8, seed=7, noise=0.05)
    assert (spec.base, spec.noise, spec.samples, spec.seed) == ("vargrad", 0.05, 8, 7)
    assert isinstance(spec.samples, int)


def test_integrated_gradients() -> None:
    spec = parse_method("integrated_gradients_steps_100")
    assert (spec.base, spec.steps, spec.baseline, spec.output_seed) == ("integrated_gradients", 100, 0.0, "one")
    assert parse_method("integrated_gradients").steps == 50
    baseline = np.ones((2, 3))
    spec = parse_method("integrated_gradients", baseline=baseline, steps=10)
    baseline[0, 0] = 5.0
    assert spec.steps == 10 and spec.baseline[0, 0] == 1.0 and not spec.baseline.flags.writeable


@pytest.mark.parametrize(
    ("name", "base", "modifiers", "seed"),
    [
        ("gradient", "gradient", (), "one"),
        ("input_t_gradient", "gradient", (Modifier("x_input"),), "one"),
        ("gradient_x_input", "gradient", (Modifier("x_input"),), "one"),
        ("gradient_x_sign", "gradient", (Modifier("x_sign"),), "one"),
        ("gradient_x_sign_mu_neg_0_5", "gradient", (Modifier("x_sign_mu", -0.5),), "one"),
        ("gradient_x_sign_mu_0", "gradient", (Modifier("x_sign_mu", 0.0),), "one"),
        ("guided_backprop", "guided_backprop", (), "logit"),
        ("guided_backprop_x_sign_mu_0_5", "guided_backprop", (Modifier("x_sign_mu", 0.5),), "logit"),
        ("deconvnet_x_sign", "deconvnet", (Modifier("x_sign"),), "logit"),
        ("vargrad", "vargrad", (), "one"),
        ("smoothgrad_x_input", "smoothgrad", (Modifier("x_input"),), "one"),
        ("integrated_gradients_x_sign", "integrated_gradients", (Modifier("x_sign"),), "one"),
    ],
)
def test_gradient_family(name: str, base: str, modifiers: tuple[Modifier, ...], seed: str) -> None:
    spec = parse_method(name)
    assert (spec.family, spec.base, spec.modifiers, spec.output_seed) == ("gradient", base, modifiers, seed)


def test_input_t_gradient_equals_gradient_x_input() -> None:
    a, b = parse_method("input_t_gradient"), parse_method("gradient_x_input")
    assert (a.base, a.modifiers, a.output_seed) == (b.base, b.modifiers, b.output_seed)


def test_modifiers_in_order() -> None:
    spec = parse_method("gradient_x_input_x_sign_mu_0_5")
    assert spec.modifiers == (Modifier("x_input"), Modifier("x_sign_mu", 0.5))


# ------------------------------------------------------------------------------------------- cam, baseline
@pytest.mark.parametrize(
    ("name", "base", "layer", "kind"),
    [
        ("grad_cam", "grad_cam", None, "image"),
        ("grad_cam_timeseries", "grad_cam", None, "timeseries"),
        ("grad_cam_VGG16ILSVRC", "grad_cam", "block5_conv3", "image"),
        ("grad_cam_VGG16MITPL365", "grad_cam", "relu5_3", "image"),
        ("grad_cam_MNISTCNN", "grad_cam", "conv2d_1", "image"),
        ("guided_grad_cam_VGG16ILSVRC", "guided_grad_cam", "block5_conv3", "image"),
        ("guided_grad_cam_timeseries", "guided_grad_cam", None, "timeseries"),
    ],
)
def test_cam(name: str, base: str, layer: str | None, kind: str) -> None:
    spec = parse_method(name)
    assert (spec.family, spec.base, spec.layer, spec.cam_kind) == ("cam", base, layer, kind)
    assert parse_method(name, layer="conv_x").layer == "conv_x"


def test_random_uniform() -> None:
    spec = parse_method("random_uniform")
    assert (spec.family, spec.base, spec.seed) == ("baseline", "random_uniform", 0)
    assert parse_method("random_uniform", seed=3).seed == 3


def test_specs_are_immutable() -> None:
    spec = parse_method("lrp_z")
    with pytest.raises(AttributeError):
        spec.base = "gradient"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "text"), [(0.25, "0_25"), (-0.5, "neg_0_5"), (100, "100"), (0.001, "0_001"), (1.5, "1_5")]
)
def test_format_number_round_trips(value: float, text: str) -> None:
    assert format_number(value) == text
    assert parse_method(f"lrp_epsilon_{text}" if value > 0 else f"gradient_x_sign_mu_{text}")
