"""Real architectures as they come (spec section 8): torchvision ResNet, MobileNetV2, DenseNet, EfficientNet and a
1-D ECG ResNet written here (``out += identity``), no user edits.

- Conservation on bias-free float64 copies (biases, BatchNorm running mean and shift 0): sum R = z_t for lrp_z.
- Guided backprop / deconvnet use max(signal, 0) * f'(x) at ReLU6 / SiLU, so they differ from z_t * gradient.
- A representative method of every family runs on every model: finite map of the input's shape; the user's model is
  unchanged afterwards (state_dict, train flags, no hooks left).
- Grad-CAM's default layer is the last feature map of the convolutional part (ResNet ``layer4``, DenseNet the ReLU
  after ``norm5``, MobileNet / EfficientNet the last ``features`` block).
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from signxai.torch import Explainer, explain


class ECGBlock(nn.Module):
    """A 1-D ResNet basic block: Conv1d (no bias) + BN + ReLU, Conv1d + BN, identity or 1x1 shortcut, one ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 7, stride=stride, padding=3, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 7, padding=3, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.relu = nn.ReLU(inplace=True)  # one stateless module, called twice
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class ECGResNet(nn.Module):
    """(batch, 12 leads, T) -> 5 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(12, 16, 15, stride=2, padding=7, bias=False), nn.BatchNorm1d(16), nn.ReLU(inplace=True)
        )
        self.pool = nn.MaxPool1d(3, stride=2, padding=1)
        self.layer1 = ECGBlock(16, 16, 1)
        self.layer2 = ECGBlock(16, 32, 2)
        self.layer3 = ECGBlock(32, 32, 1)
        self.fc = nn.Linear(32, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layer3(self.layer2(self.layer1(self.pool(self.stem(x)))))
        return self.fc(F.adaptive_avg_pool1d(h, 1).flatten(1))


def _randomise_batch_norms(model: nn.Module) -> None:
    """Non-trivial inference statistics (fresh torchvision models have mean 0, var 1)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def build(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    """A seeded model (weights=None) and its input shape."""
    torch.manual_seed(0)
    if name == "ecg_resnet":
        model: nn.Module = ECGResNet()
        shape: tuple[int, ...] = (1, 12, 128)
    else:
        model = getattr(torchvision.models, name)(weights=None)
        shape = (1, 3, 64, 64)
    _randomise_batch_norms(model)
    return model.eval(), shape


def bias_free(model: nn.Module) -> nn.Module:
    """A float64 copy with every bias, BatchNorm running mean and BatchNorm shift 0."""
    copy_ = copy.deepcopy(model).double()
    with torch.no_grad():
        for m in copy_.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)) and m.bias is not None:
                m.bias.zero_()
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.zero_()
                m.bias.zero_()
    return copy_


MODELS = ["resnet18", "mobilenet_v2", "densenet121", "efficientnet_b0", "ecg_resnet"]


@pytest.mark.parametrize("name", [*MODELS, "mobilenet_v3_small", "shufflenet_v2_x0_5"])
def test_lrp_z_conserves_on_bias_free_copy(name: str) -> None:
    """Also MobileNetV3 (hard-swish, hard-sigmoid SE gates) and ShuffleNetV2 (channel shuffle, split, depthwise)."""
    model, shape = build(name)
    free = bias_free(model)
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    relevance = explain(free, x, "lrp_z", target=2)
    z_t = free(x)[0, 2].item()
    assert abs(relevance.sum().item() - z_t) <= 1e-6 * abs(z_t), (relevance.sum().item(), z_t)


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_b0"])
@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_guided_differs_from_logit_times_gradient_on_relu6_silu(name: str, method: str) -> None:
    model, shape = build(name)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    z_t = model(x)[0, 2].item()
    gradient = explain(model, x, "gradient", target=2)
    other = explain(model, x, method, target=2)
    assert (other - z_t * gradient).abs().max() > 1e-3 * (z_t * gradient).abs().max()


#: One or more methods per family (gradient, guided, integrated gradients, SmoothGrad / VarGrad, LRP body and input
#: rules, Grad-CAM), with small sample counts.
REPRESENTATIVE = [
    ("gradient_x_sign", {}),
    ("guided_backprop", {}),
    ("deconvnet", {}),
    ("integrated_gradients", {"steps": 4}),
    ("smoothgrad", {"samples": 3}),
    ("vargrad", {"samples": 3}),
    ("lrp_epsilon_0_1", {}),
    ("lrpsign_epsilon_0_25_std_x", {}),
    ("zblrp_alpha_1_beta_0_VGG16ILSVRC", {}),
    ("w2lrp_sequential_composite_a", {}),
    ("flatlrp_gamma_0_25", {}),
    ("deep_taylor", {}),
    ("grad_cam", {}),
    ("guided_grad_cam", {}),
]


@pytest.mark.parametrize("name", MODELS)
def test_representative_methods_run_and_leave_the_model_unchanged(name: str) -> None:
    model, shape = build(name)
    model.train()
    next(iter(model.children())).train(False)  # mixed flags must come back as they were
    flags = {n: m.training for n, m in model.named_modules()}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, *shape[1:], generator=torch.Generator().manual_seed(3))
    for method, params in REPRESENTATIVE:
        if name == "ecg_resnet" and "grad_cam" in method:
            method = method.replace("grad_cam", "grad_cam_timeseries")
        out = Explainer(model, method, **params)(x)
        assert out.shape == x.shape and bool(torch.isfinite(out).all()), method
        assert out.abs().max() > 0, method
    assert {n: m.training for n, m in model.named_modules()} == flags
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks


def _cam_by_hand(a: torch.Tensor, logits: torch.Tensor, target: int, size: tuple[int, int]) -> torch.Tensor:
    (grads,) = torch.autograd.grad(logits[:, target].sum(), a)
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1))
    cam = cam / cam.flatten(1).amax(dim=1).reshape(-1, 1, 1)
    return F.interpolate(cam.unsqueeze(1), size=size, mode="bilinear", align_corners=False)


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "mobilenet_v2", "efficientnet_b0"])
def test_grad_cam_default_layer_is_the_last_feature_map(name: str) -> None:
    model, shape = build(name)
    model = model.double()
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.enable_grad():
        if name == "resnet18":
            m = model
            stem = m.maxpool(m.relu(m.bn1(m.conv1(x))))
            a = m.layer4(m.layer3(m.layer2(m.layer1(stem))))
            logits = m.fc(torch.flatten(m.avgpool(a), 1))
        elif name == "densenet121":
            a = F.relu(model.features(x))
            logits = model.classifier(torch.flatten(F.adaptive_avg_pool2d(a, (1, 1)), 1))
        else:
            a = model.features(x)
            logits = model.classifier(torch.flatten(F.adaptive_avg_pool2d(a, 1), 1))
    expected = _cam_by_hand(a, logits, 1, shape[2:])
    got = explain(model, x, "grad_cam", target=1)
    torch.testing.assert_close(got, expected.expand_as(x), rtol=0, atol=1e-10)


class InPlace(nn.Module):
    """Uses the side effect of in-place spellings: ``h.relu_()`` as a statement, ``h += skip``, ``h.mul_(gate)``."""

    def __init__(self, in_place: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.in_place = in_place
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.se = nn.Conv2d(4, 4, 1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)
        if self.in_place:
            h.relu_()
            skip = h
            h = self.conv2(h)
            h += skip
            F.silu(h, inplace=True)
            h.mul_(torch.sigmoid(self.se(h.mean((2, 3), keepdim=True))))
        else:
            h = h.relu()
            h = self.conv2(h) + h
            h = F.silu(h)
            h = h * torch.sigmoid(self.se(h.mean((2, 3), keepdim=True)))
        return self.fc(h.mean((2, 3)))


@pytest.mark.parametrize(
    "method", ["lrp_epsilon_0_1", "lrpsign_z", "lrp_alpha_2_beta_1", "guided_backprop", "deconvnet", "gradient"]
)
def test_in_place_spellings_are_computed_as_the_model_computes_them(method: str) -> None:
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    in_place, plain = InPlace(True).double().eval(), InPlace(False).double().eval()
    torch.testing.assert_close(in_place(x), plain(x), rtol=0, atol=0)
    torch.testing.assert_close(explain(in_place, x, method), explain(plain, x, method), rtol=1e-12, atol=1e-14)


class Unsupported(nn.Module):
    """A product of two input-dependent tensors, a LayerNorm, a shared Linear, a bilinear upsampling and a softmax
    that is no gate."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.LayerNorm([4, 4, 4])
        self.shared = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        h = self.norm(h * h)
        h = F.interpolate(h, scale_factor=2, mode="bilinear")
        v = self.shared(self.shared(h.mean((2, 3))))
        return self.fc(v + torch.softmax(v, dim=1))


def test_one_error_names_every_unsupported_part() -> None:
    model = Unsupported().double().eval()
    x = torch.randn(1, 3, 6, 6, dtype=torch.float64)
    with pytest.raises(ValueError) as info:
        explain(model, x, "lrp_z")
    message = str(info.value)
    for part in ("norm (LayerNorm)", "products of two input-dependent tensors", "shared", "bilinear", "softmaxes"):
        assert part in message, (part, message)
    assert len(message) < 1000
    assert torch.isfinite(explain(model, x, "gradient")).all()  # gradient methods work on any differentiable model


def test_final_sigmoid_is_an_output_error() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3), nn.Sigmoid()).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="sigmoid"):
        explain(model, x, "lrp_z")
    expected = explain(model[:2], x, "lrp_z")
    torch.testing.assert_close(explain(model, x, "lrp_z", strip_softmax=True), expected, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("method", ["gradient", "guided_backprop", "lrp_z"])
def test_max_pooling_ties_go_to_the_first_element_within_tau(dtype: torch.dtype, method: str) -> None:
    """Window (2.0, 2.0 + d, 0.5, -1): d below tau * s is a tie (the first element wins), above it is not."""
    tau = 1e-9 if dtype == torch.float64 else 1e-4
    for d, winner in ((0.1 * tau * 2.0, 0), (0.0, 0), (10 * tau * 2.0, 1)):
        x = torch.tensor([[[2.0, 2.0 + d, 0.5, -1.0]]], dtype=dtype)
        model = nn.Sequential(nn.MaxPool1d(4), nn.Flatten(), nn.Linear(1, 2, bias=False)).to(dtype)
        with torch.no_grad():
            model[2].weight.copy_(torch.tensor([[1.0], [2.0]]))
        out = explain(model, x, method, target=1)
        assert out[0, 0].nonzero().flatten().tolist() == [winner], (d, out)


class ConstantAffine(nn.Module):
    """Normalisation written as arithmetic with constants in ``forward``, ``(h - mean) / std * gamma + beta``, or
    as the BatchNorm computing the same affine map."""

    def __init__(self, functional: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.functional = functional
        stats = {
            "mean": [0.1, -0.3, 0.2, 0.0],
            "std": [0.5, 2.0, 1.5, 1.0],
            "gamma": [0.7, -1.2, 1.5, 1.0],
            "beta": [0.1, 0.3, -0.2, 0.05],
        }
        for name, value in stats.items():
            self.register_buffer(name, torch.tensor(value).reshape(1, 4, 1, 1))
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.BatchNorm2d(4, eps=0.0)
        with torch.no_grad():
            self.norm.running_mean.copy_(self.mean.flatten())
            self.norm.running_var.copy_(self.std.flatten() ** 2)
            self.norm.weight.copy_(self.gamma.flatten())
            self.norm.bias.copy_(self.beta.flatten())
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x))
        h = (h - self.mean) / self.std * self.gamma + self.beta if self.functional else self.norm(h)
        return self.fc(h.mean((2, 3)))


@pytest.mark.parametrize(
    "method", ["lrp_z", "lrp_epsilon_0_1", "lrp_epsilon_0_5_std_x", "lrp_gamma_0_25", "lrp_alpha_2_beta_1", "lrp_flat"]
)
def test_arithmetic_with_constants_is_one_affine_layer(method: str) -> None:
    """A chain of constant arithmetic is one affine layer with the body's Dense rule, like the BatchNorm."""
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    functional, module = ConstantAffine(True).double().eval(), ConstantAffine(False).double().eval()
    torch.testing.assert_close(functional(x), module(x), rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(explain(functional, x, method), explain(module, x, method), rtol=1e-9, atol=1e-12)


class TinyTransformer(nn.Module):
    """Patch embedding (a convolution), tokens, LayerNorm, mean over tokens, Linear: no feature map at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        return self.head(self.norm(tokens).mean(dim=1))


def test_grad_cam_without_a_feature_map_names_layer() -> None:
    model = TinyTransformer().eval()
    x = torch.randn(1, 3, 16, 16)
    with pytest.raises(ValueError, match="layer="):
        explain(model, x, "grad_cam")
    assert explain(model, x, "grad_cam", layer="patch").shape == x.shape


class ReLU6Spellings(nn.Module):
    """ReLU6 as nn.ReLU6, as torch.clamp(h, 0, 6) (ONNX Clip) or as an in-place clamp_ statement."""

    def __init__(self, spelling: str) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.spelling = spelling
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.ReLU6()
        self.fc = nn.Linear(64, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        if self.spelling == "module":
            h = self.act(h)
        elif self.spelling == "clamp":
            h = torch.clamp(h, 0.0, 6.0)
        else:
            h.clamp_(min=0.0, max=6.0)
        return self.fc(h.flatten(1))


@pytest.mark.parametrize("spelling", ["clamp", "clamp_"])
@pytest.mark.parametrize("method", ["lrp_epsilon_0_1", "guided_backprop", "deconvnet", "gradient"])
def test_clamp_is_an_activation(spelling: str, method: str) -> None:
    x = 3 * torch.randn(2, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    expected = explain(ReLU6Spellings("module").double().eval(), x, method)
    got = explain(ReLU6Spellings(spelling).double().eval(), x, method)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_batchnorm_after_an_unfolded_batchnorm_is_refused_naming_it() -> None:
    """Two affine layers in a row are one affine layer (the reference and signxai-tf compose them); the module hooks
    see one BatchNorm each, so the pair is refused with the fix instead of being explained as two layers. After a
    layer with weights the first is folded and the second stays an affine layer: that model runs."""
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(7))

    def model(*head: nn.Module) -> nn.Module:
        body = (nn.Flatten(), nn.Linear(3 * 6 * 6, 4))
        stack = nn.Sequential(*head, *body).double().eval()
        for m in stack.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        return stack

    refused = model(nn.ReLU(), nn.BatchNorm2d(3), nn.BatchNorm2d(3))
    with pytest.raises(ValueError, match=r"BatchNorms directly after another BatchNorm that is not folded.*: 2\b"):
        explain(refused, x, "lrp_epsilon_0_1")
    assert torch.isfinite(explain(refused, x, "gradient")).all()
    assert torch.isfinite(explain(model(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3), nn.BatchNorm2d(3)), x, "lrp_z")).all()
