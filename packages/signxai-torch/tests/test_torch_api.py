"""Public API of signxai.torch: layouts, dtypes, devices, targets, errors, no mutation of model or input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch_mirror import zoo_case

from signxai.common import list_methods, parse_method, required_keywords
from signxai.torch import Explainer, explain

EXTRA = {"mu": 0.5, "low": -1.0, "high": 1.0}


def keywords(name: str) -> dict[str, float]:
    return {k: EXTRA[k] for k in required_keywords(name)}


def methods_for(model: nn.Module, timeseries: bool) -> list[str]:
    """Catalog names that apply to a model (Grad-CAM by input kind; the aliases whose layer exists)."""
    out = []
    modules = dict(model.named_modules())
    for name in list_methods():
        spec = parse_method(name, **keywords(name))
        if spec.family == "cam":
            if (spec.cam_kind == "timeseries") != timeseries or (spec.layer and spec.layer not in modules):
                continue
        out.append(name)
    return out


@pytest.fixture(scope="module")
def image():
    return zoo_case("image_cnn")


def test_numpy_in_numpy_out_float64(image):
    _, model, _, x = image
    r = explain(model, x.numpy(), "lrp_epsilon_0_1")
    assert isinstance(r, np.ndarray) and r.dtype == np.float64 and r.shape == tuple(x.shape)


def test_tensor_in_tensor_out_same_shape_and_device(image):
    _, model, _, x = image
    r = explain(model, x, "gradient")
    assert isinstance(r, torch.Tensor) and r.shape == x.shape and r.device == x.device and r.dtype == torch.float64


def test_float32_model_and_input_give_float32():
    _, model, _, x = zoo_case("image_cnn")
    r = explain(model.float(), x.float(), "lrpsign_z")
    assert r.dtype == torch.float32 and r.shape == x.shape


def test_float64_input_on_float32_model_returns_float64():
    _, model, _, x = zoo_case("image_cnn")
    r = explain(model.float(), x, "gradient")
    assert r.dtype == torch.float64


@pytest.mark.parametrize("target", [None, 2, [0, 4], np.array([1, 3]), torch.tensor([3, 3])])
def test_target_forms(image, target):
    _, model, _, x = image
    r = explain(model, x, "gradient", target=target)
    logits = model(x)
    expected = logits.argmax(1) if target is None else torch.as_tensor(np.broadcast_to(np.asarray(target), (2,)).copy())
    for i in range(2):
        xi = x[i : i + 1].clone().requires_grad_()
        (g,) = torch.autograd.grad(model(xi)[0, int(expected[i])], xi)
        torch.testing.assert_close(r[i : i + 1], g, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "bad",
    [
        lambda x: x.clone().fill_(float("nan")),
        lambda x: torch.where(x > 0.9, float("inf"), x),
        lambda x: x[0],  # no batch axis
        lambda x: x[:0],  # empty batch
        lambda x: x[..., None],  # wrong rank
    ],
)
def test_bad_inputs_raise_value_error(image, bad):
    _, model, _, x = image
    with pytest.raises(ValueError):
        explain(model, bad(x), "lrp_z")


@pytest.mark.parametrize("target", [5, -1, [0, 1, 2], 1.5])
def test_bad_targets_raise_value_error(image, target):
    _, model, _, x = image
    with pytest.raises(ValueError):
        explain(model, x, "gradient", target=target)


@pytest.mark.parametrize("last", [nn.Softmax(dim=1), nn.LogSoftmax(dim=1)])
def test_softmax_ending_model(image, last):
    _, model, _, x = image
    wrapped = nn.Sequential(model, last)
    with pytest.raises(ValueError, match="softmax"):
        explain(wrapped, x, "lrp_epsilon_0_1")
    stripped = explain(wrapped, x, "lrp_epsilon_0_1", strip_softmax=True)
    torch.testing.assert_close(stripped, explain(model, x, "lrp_epsilon_0_1"), rtol=0, atol=0)
    assert isinstance(wrapped[1], type(last))  # not removed from the model


def test_functional_softmax_is_detected(image):
    _, model, _, x = image

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = model

        def forward(self, x):
            return torch.softmax(self.body(x), dim=-1)

    with pytest.raises(ValueError, match="softmax"):
        explain(Net(), x, "gradient")
    torch.testing.assert_close(explain(Net(), x, "gradient", strip_softmax=True), explain(model, x, "gradient"))


def test_unknown_method_and_bad_keyword_raise(image):
    _, model, _, x = image
    with pytest.raises(ValueError):
        explain(model, x, "lrp_epsilon_zero")
    with pytest.raises(ValueError):
        explain(model, x, "gradient", epsilon=0.1)
    with pytest.raises(ValueError):
        explain(model, x, "gradient_x_sign_mu")  # needs mu=


def test_unsupported_module_with_parameters_is_named():
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2)).double()
    x = torch.randn(2, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="LayerNorm"):
        explain(model, x, "lrp_z")
    explain(model, x, "gradient")  # gradient methods differentiate through it


def _epsilon_step(z: torch.Tensor, relevance: torch.Tensor, epsilon: float) -> torch.Tensor:
    sign = torch.where(z >= 0, 1.0, -1.0).to(z.dtype)
    den = z + epsilon * sign
    return relevance / (den + 1e-7 * (den == 0).to(z.dtype))


def test_batch_norm_not_after_a_layer_is_an_affine_layer_for_lrp():
    """Spec section 8: a BatchNorm after a ReLU is y = s x + t with the body's Dense rule (here epsilon 0.1)."""
    torch.manual_seed(0)
    conv, bn, lin = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4 * 36, 2)
    model = nn.Sequential(conv, nn.ReLU(), bn, nn.Flatten(), lin).double().eval()
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(-1.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    got = explain(model, x, "lrp_epsilon_0_1", target=1)
    # independent LRP by hand, layer by layer
    with torch.no_grad():
        a1 = conv(x)
        a2 = a1.clamp(min=0)
        scale = (bn.weight / (bn.running_var + bn.eps).sqrt()).reshape(1, -1, 1, 1)
        shift = bn.bias.reshape(1, -1, 1, 1) - bn.running_mean.reshape(1, -1, 1, 1) * scale
        a3 = a2 * scale + shift
        z = a3.flatten(1) @ lin.weight.T + lin.bias
        r = torch.zeros_like(z)
        r[:, 1] = z[:, 1]
        r3 = (a3.flatten(1) * (_epsilon_step(z, r, 0.1) @ lin.weight)).reshape(a3.shape)
        r2 = a2 * scale * _epsilon_step(a3, r3, 0.1)
    xg = x.clone().requires_grad_()
    zc = conv(xg)
    (g,) = torch.autograd.grad(zc, xg, _epsilon_step(zc.detach(), r2, 0.1))
    torch.testing.assert_close(got, x * g, rtol=1e-10, atol=1e-12)


def test_explainer_is_reusable_and_matches_explain(image):
    _, model, _, x = image
    ex = Explainer(model, "lrpsign_epsilon_0_25_std_x")
    first = ex(x)
    second = ex.explain(x[:1])
    torch.testing.assert_close(first[:1], second, rtol=0, atol=1e-15)
    torch.testing.assert_close(first, explain(model, x, "lrpsign_epsilon_0_25_std_x"), rtol=0, atol=0)


def test_batch_never_changes_a_map(image):
    _, model, _, x = image
    for method in ("lrp_epsilon_0_5_std_x", "smoothgrad", "vargrad", "integrated_gradients", "grad_cam"):
        both = explain(model, x, method)
        for i in range(x.shape[0]):
            torch.testing.assert_close(both[i : i + 1], explain(model, x[i : i + 1], method), rtol=1e-12, atol=1e-14)


def test_chunking_does_not_change_results(image):
    _, model, _, x = image
    for method, params in (
        ("smoothgrad", {"samples": 7}),
        ("vargrad", {"samples": 7}),
        ("integrated_gradients", {"steps": 7}),
    ):
        a = Explainer(model, method, max_rows=3, **params)(x)
        b = Explainer(model, method, max_rows=1000, **params)(x)
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)


def _state(model: nn.Module):
    return (
        {k: v.detach().clone() for k, v in model.state_dict().items()},
        [
            (m.training, len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for m in model.modules()
        ],
        [p.requires_grad for p in model.parameters()],
    )


@pytest.mark.parametrize("model_name", ["image_cnn", "timeseries_cnn", "pooling_cnn"])
def test_no_mutation_over_all_methods(model_name):
    _, model, _, x = zoo_case(model_name)
    model.train()  # a model left in train mode must come back in train mode
    next(model.parameters()).requires_grad_(False)  # a frozen parameter must stay frozen
    before_model = _state(model)
    before_x = x.clone()
    reference = copy.deepcopy(model)
    for name in methods_for(model, model_name == "timeseries_cnn"):
        with torch.no_grad():  # callers under no_grad are served too
            explain(model, x, name, **keywords(name))
        after = _state(model)
        assert after[1:] == before_model[1:], name
        for key, value in before_model[0].items():
            assert torch.equal(after[0][key], value), (name, key)
        assert torch.equal(x, before_x), name
        assert not x.requires_grad
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.equal(p, q)


def test_import_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, signxai.torch; assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    _, model, _, x = zoo_case("pooling_cnn")
    gpu_model = copy.deepcopy(model).cuda()
    for method in ("lrpsign_epsilon_0_25_std_x", "w2lrp_alpha_2_beta_1", "smoothgrad", "grad_cam", "deconvnet"):
        r = explain(gpu_model, x.cuda(), method)
        assert r.device.type == "cuda"
        torch.testing.assert_close(r.cpu(), explain(model, x, method), rtol=1e-9, atol=1e-12)
        assert isinstance(explain(gpu_model, x.numpy(), method), np.ndarray)


def test_explainer_sees_parameter_updates_between_calls():
    _, model, _, x = zoo_case("pooling_cnn")
    ex = Explainer(model, "lrp_epsilon_0_1")
    before = ex(x)
    with torch.no_grad():
        model.batch_normalization.running_var.mul_(2.0)
        model.dense.weight.mul_(-1.0)
    after = ex(x)
    torch.testing.assert_close(after, explain(model, x, "lrp_epsilon_0_1"), rtol=0, atol=0)
    assert not torch.allclose(before, after)


@pytest.mark.parametrize("method", ["lrpsign_epsilon_0_1", "gradient_x_input", "grad_cam", "vargrad"])
def test_callers_in_inference_mode(image, method):
    _, model, _, x = image
    expected = explain(model, x, method)
    with torch.inference_mode():
        got = explain(model, x.clone(), method)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
