"""Every malformed name or parameter raises a ValueError that names the problem and suggests close names."""

from __future__ import annotations

import pytest

from signxai.common import list_methods, parse_method, required_keywords

# (name, keywords, a fragment the message must contain, a name the suggestion must contain or None)
BAD = [
    ("lrp_epsilom_0_1", {}, "unknown LRP rule 'epsilom'", "lrp_epsilon_0_1"),
    ("lrp_epsilon", {}, "expected a number for epsilon", "lrp_epsilon_1"),
    ("lrp_epsilon_", {}, "empty token", "lrp_epsilon_1"),
    ("lrp_epsilon_0__1", {}, "empty token", "lrp_epsilon_0_1"),
    ("_lrp_z", {}, "empty token", "lrp_z"),
    ("lrp_epsilon_0_1_2", {}, "unexpected '2'", "lrp_epsilon_0_1"),
    ("lrp_epsilon_0_1_std", {}, "unexpected 'std'", "lrp_epsilon_0_1_std_x"),
    ("lrp_epsilon_0_1_std_y", {}, "unexpected 'std_y'", "lrp_epsilon_0_1_std_x"),
    ("lrp_epsilon_01", {}, "expected a number", "lrp_epsilon_0_1"),
    ("lrp_epsilon_0_1a", {}, "unexpected '1a'", None),
    ("lrp_epsilon_0.1", {}, "expected a number", "lrp_epsilon_0_1"),
    ("lrp_epsilon_neg_0_1", {}, "epsilon must be > 0", "lrp_epsilon_0_1"),
    ("lrp_epsilon_0", {}, "epsilon must be > 0", "lrp_epsilon_0_1"),
    ("lrp_epsilon_neg", {}, "expected a number", None),
    ("lrp_epsilon_0_1_std_x_mu_0", {}, "needs the lrpsign prefix", "lrp_epsilon_0_1_std_x"),
    ("lrpz_epsilon_100_mu_0_5", {}, "needs the lrpsign prefix", "lrpz_epsilon_100"),
    ("lrpsign_epsilon_100_mu", {}, "expected a number for mu", "lrpsign_epsilon_100_mu_0"),
    ("lrpsign_epsilon_100_mu_x", {}, "expected a number for mu", "lrpsign_epsilon_100_mu_0"),
    ("lrp_epsilon_0_1_VGG16ILSVRC", {}, "needs the zblrp prefix", "lrp_epsilon_0_1"),
    ("zblrp_epsilon_0_1", {}, "low= and high=", "zblrp_epsilon_0_1_VGG16ILSVRC"),
    ("zblrp_z", {"low": 1.0}, "low= and high=", "zblrp_z_VGG16ILSVRC"),
    ("zblrp_z", {"low": 1.0, "high": 0.0}, "low < high", "zblrp_z_VGG16ILSVRC"),
    ("zblrp_z_VGG16", {}, "unexpected 'VGG16'", "zblrp_z_VGG16ILSVRC"),
    ("zblrp_z_vgg16ilsvrc", {}, "unexpected 'vgg16ilsvrc'", "zblrp_z_VGG16ILSVRC"),
    ("lrp_alpha_2_beta_0", {}, "alpha - beta must equal 1", "lrp_alpha_2_beta_1"),
    ("lrp_alpha_1_beta_1", {}, "alpha - beta must equal 1", "lrp_alpha_1_beta_0"),
    ("lrp_alpha_1", {}, "expected '_beta_B'", "lrp_alpha_1_beta_0"),
    ("lrp_alpha_0_beta_neg_1", {}, "beta must be >= 0", None),
    ("lrp_alpha_1_beta_0", {"alpha": 2.0}, "alpha - beta must equal 1", None),
    ("lrp_gamma", {}, "expected a number for gamma", "lrp_gamma_0_25"),
    ("lrp_gamma_neg_1", {}, "gamma must be >= 0", "lrp_gamma_0_25"),
    ("lrp_sequential_composite_c", {}, "unknown sequential composite 'c'", "lrp_sequential_composite_a"),
    ("lrp_sequential_composite", {}, "unknown sequential composite None", "lrp_sequential_composite_a"),
    ("lrp_w2", {}, "unknown LRP rule 'w2'", "lrp_w_square"),
    ("lrp", {}, "unknown LRP rule", "lrp_z"),
    ("lrpx_z", {}, "unknown method family 'lrpx'", "lrpz_z"),
    ("lrp_z", {"epsilon": 0.1}, "does not take parameter(s) epsilon", None),
    ("lrp_epsilon_0_1", {"stdfactor": 0.1}, "does not take parameter(s) stdfactor", None),
    ("lrp_epsilon_0_1", {"epsilon": "big"}, "epsilon must be a real number", None),
    ("lrp_epsilon_0_1", {"epsilon": float("nan")}, "must be finite", None),
    ("lrpsign_z", {"mu": 0.5}, "does not take parameter(s) mu", None),
    ("deep_taylor_z", {}, "unexpected 'z'", "deep_taylor"),
    ("deep_taylor", {"epsilon": 1.0}, "does not take", None),
    ("gradient", {"epsilon": 1.0}, "does not take parameter(s) epsilon", None),
    ("gradient_x_sign", {"mu": 0.5}, "does not take parameter(s) mu", None),
    ("gradient_x_sign_mu", {}, "'_x_sign_mu' has no value", "gradient_x_sign_mu_0"),
    ("gradient_x", {}, "unknown modifier 'x'", "gradient_x_input"),
    ("gradient_x_inpt", {}, "unknown modifier 'x_inpt'", "gradient_x_input"),
    ("gradient_times_input", {}, "unknown modifier 'times_input'", "gradient_x_input"),
    ("gradient_x_sign_mu_0_5_x_sign_mu_0", {}, "share one mu", None),
    ("gradiant", {}, "unknown method family 'gradiant'", "gradient"),
    ("input_x_gradient", {}, "unknown method family 'input'", "input_t_gradient"),
    ("smoothgrad_samples_0_5", {}, "samples must be a whole number", None),
    ("smoothgrad_samples_0", {}, "samples must be >= 1", None),
    ("smoothgrad_noise_neg_0_1", {}, "noise must be >= 0", "smoothgrad_noise_0_3_samples_50"),
    ("smoothgrad_samples_50_noise_0_3", {}, "unknown modifier 'noise_0_3'", "smoothgrad_noise_0_3_samples_50"),
    ("smoothgrad", {"steps": 10}, "does not take parameter(s) steps", None),
    ("smoothgrad", {"seed": 1.5}, "seed must be a whole number", None),
    ("vargrad", {"samples": 2.5}, "samples must be a whole number", None),
    ("smooth_grad", {}, "unknown method family 'smooth'", "smoothgrad"),
    ("integrated_gradients_steps_1", {}, "steps must be >= 2", "integrated_gradients_steps_100"),
    ("integrated_gradients_steps", {}, "expected a number for steps", "integrated_gradients_steps_100"),
    ("integrated_gradients", {"noise": 0.1}, "does not take parameter(s) noise", None),
    ("integrated_gradients", {"baseline": float("inf")}, "baseline must be finite", None),
    ("integrated_gradient", {}, "unknown method family 'integrated'", "integrated_gradients"),
    ("grad_cam_VGG19", {}, "unknown Grad-CAM variant 'VGG19'", "grad_cam_VGG16ILSVRC"),
    ("grad_cam_time_series", {}, "unknown Grad-CAM variant 'time_series'", "grad_cam_timeseries"),
    ("guided_grad_cam_vgg16ilsvrc", {}, "unknown Grad-CAM variant", "guided_grad_cam_VGG16ILSVRC"),
    ("grad_cam", {"layer": 3}, "layer must be a layer name", None),
    ("grad_cam", {"mu": 0.5}, "does not take parameter(s) mu", None),
    ("gradcam", {}, "unknown method family 'gradcam'", "grad_cam"),
    ("random_uniform_x_sign", {}, "unexpected 'x_sign'", "random_uniform"),
    ("random_uniform", {"noise": 0.1}, "does not take parameter(s) noise", None),
    ("random", {}, "unknown method family 'random'", "random_uniform"),
    ("", {}, "empty token", None),
    ("LRP_Z", {}, "unknown method family 'LRP'", None),
]


def test_corpus_size() -> None:
    assert len(BAD) >= 50


@pytest.mark.parametrize(("name", "kwargs", "fragment", "suggested"), BAD)
def test_bad_names_raise(name: str, kwargs: dict, fragment: str, suggested: str | None) -> None:
    with pytest.raises(ValueError) as info:
        parse_method(name, **kwargs)
    message = str(info.value)
    assert repr(name) in message
    assert fragment in message
    if suggested is not None:
        assert suggested in list_methods()
        assert "did you mean" in message and repr(suggested) in message.split("did you mean", 1)[1]


def test_non_string_name() -> None:
    with pytest.raises(ValueError, match="must be a str"):
        parse_method(3)  # type: ignore[arg-type]


def test_required_keywords_rejects_invalid_names() -> None:
    with pytest.raises(ValueError, match="unknown LRP rule"):
        required_keywords("lrp_foo")
    assert required_keywords("lrp_z") == ()
