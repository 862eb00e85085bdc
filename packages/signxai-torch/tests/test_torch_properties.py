"""Properties that hold by construction, checked on models independent of the reference.

- LRP conservation: with bias-free layers, the Z rule (and epsilon -> 0) keeps sum R_input = z_t.
- The seed rule (spec section 1): LRP, guided backprop and deconvnet maps scale with z_t; the gradient does not
  carry it.
- Functional spellings (F.relu, x.relu(), F.avg_pool2d, x.mean, view/permute inside forward) give the same maps as
  the module spellings.
- Zero padding before a convolution (nn.ZeroPad2d) is handled like the convolution's own padding.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from signxai.torch import explain


def bias_free_model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, bias=False),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, bias=False),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(8, 10, bias=False),
        nn.ReLU(),
        nn.Linear(10, 4, bias=False),
    ).double()


@pytest.mark.parametrize(
    ("method", "params"), [("lrp_z", {}), ("lrpz_z", {}), ("lrp_epsilon_0_001", {"epsilon": 1e-10})]
)
def test_conservation_without_bias(method, params):
    model = bias_free_model()
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    relevance = explain(model, x, method, target=1, **params)
    z_t = model(x)[:, 1].detach()
    torch.testing.assert_close(relevance.sum(dim=(1, 2, 3)), z_t, rtol=1e-8, atol=1e-10)


def _scaled(model: nn.Sequential, factor: float) -> nn.Sequential:
    scaled = copy.deepcopy(model)
    with torch.no_grad():
        scaled[-1].weight.mul_(factor)
    return scaled


@pytest.mark.parametrize(
    ("method", "power"),
    [
        ("lrp_z", 1),
        ("lrpsign_z", 1),
        ("w2lrp_alpha_2_beta_1", 1),
        ("guided_backprop", 2),
        ("deconvnet", 2),
        ("gradient", 1),
        ("smoothgrad", 1),
    ],
)
def test_seed_rule_maps_scale_with_the_logit(method, power):
    model = bias_free_model()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    base = explain(model, x, method, target=0)
    scaled = explain(_scaled(model, 3.0), x, method, target=0)
    torch.testing.assert_close(scaled, base * 3.0**power, rtol=1e-9, atol=1e-12)


def test_lrp_seed_is_the_logit_not_one():
    model = bias_free_model()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    z_t = model(x)[:, 2].detach()
    relevance = explain(model, x, "lrp_z", target=2)
    torch.testing.assert_close(relevance.sum(dim=(1, 2, 3)), z_t, rtol=1e-10, atol=1e-12)
    guided = explain(model, x, "guided_backprop", target=2)
    assert torch.all(torch.sign(guided.sum(dim=(1, 2, 3))) * torch.sign(z_t) >= 0)


class Functional(nn.Module):
    """The bias-free model written with functional calls, tensor methods, view and permute."""

    def __init__(self, seq: nn.Sequential) -> None:
        super().__init__()
        self.c1, self.c2, self.l1, self.l2 = seq[0], seq[3], seq[7], seq[9]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.c1(x))
        x = F.max_pool2d(x, 2)
        x = self.c2(x).relu()
        x = F.avg_pool2d(x, 2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        x = torch.relu(self.l1(x))
        return self.l2(x)


class GlobalMean(nn.Module):
    def __init__(self, seq: nn.Sequential) -> None:
        super().__init__()
        self.conv, self.lin = seq[0], seq[3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(F.elu(self.conv(x)).mean(dim=(2, 3)))


@pytest.mark.parametrize(
    "method",
    [
        "lrp_epsilon_0_1",
        "lrp_flat",
        "w2lrp_w_square",
        "lrp_sequential_composite_b",
        "guided_backprop",
        "deconvnet",
        "grad_cam",
        "guided_grad_cam",
        "deep_taylor",
    ],
)
def test_functional_spelling_equals_modules(method):
    model = bias_free_model()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(explain(Functional(model), x, method), explain(model, x, method), rtol=1e-12, atol=0)


@pytest.mark.parametrize("method", ["lrp_z", "lrp_flat", "lrp_alpha_2_beta_1", "gradient"])
def test_global_mean_equals_adaptive_pooling(method):
    torch.manual_seed(1)
    seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    seq = seq.double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    got = explain(GlobalMean(nn.Sequential(seq[0], None, None, seq[4])), x, method)
    torch.testing.assert_close(got, explain(seq, x, method), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("method", ["w2lrp_z", "flatlrp_epsilon_1", "zblrp_z", "lrp_epsilon_0_5_std_x", "lrp_flat"])
def test_explicit_zero_padding_equals_convolution_padding(method):
    torch.manual_seed(2)
    inner = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)).double()
    outer = copy.deepcopy(inner)
    outer[0].padding = (0, 0)
    outer.insert(0, nn.ZeroPad2d(1))
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    params = {"low": -2.0, "high": 2.0} if method.startswith("zblrp") else {}
    torch.testing.assert_close(explain(outer, x, method, **params), explain(inner, x, method, **params))
