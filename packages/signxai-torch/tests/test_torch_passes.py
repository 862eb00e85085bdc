"""How many forward passes one explanation costs (issue 12: no separate forward just to find the target)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from signxai.torch import Explainer


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)).eval()


def forwards(model: nn.Module, method: str, target, x: np.ndarray) -> tuple[int, np.ndarray]:
    """Forward passes of the second call of a cached Explainer (the first one also analyses the model)."""
    explainer = Explainer(model, method)
    explainer(x, target)
    count = [0]
    handle = model.register_forward_hook(lambda *_: count.__setitem__(0, count[0] + 1))
    try:
        result = explainer(x, target)
    finally:
        handle.remove()
    return count[0], result


@pytest.mark.parametrize(
    "method, target, expected",
    [
        ("gradient", None, 1),  # the pass's own logits give the argmax
        ("gradient", 2, 1),
        ("guided_backprop", None, 1),
        ("gradient_x_sign", [0, 1], 1),
        ("lrp_epsilon_0_1", 3, 1),  # named targets: the LRP pass's logits only give the class count
        ("lrp_epsilon_0_1", None, 2),  # argmax from the plain forward: folded BatchNorms round differently
    ],
)
def test_forward_passes_per_call(method, target, expected):
    x = np.random.default_rng(0).uniform(-1, 1, size=(2, 3, 8, 8)).astype(np.float32)
    n, _ = forwards(small_cnn(), method, target, x)
    assert n == expected


def test_targets_from_the_pass_equal_those_of_a_plain_forward():
    model = small_cnn()
    x = np.random.default_rng(1).uniform(-1, 1, size=(4, 3, 8, 8))
    model = model.double()
    with torch.no_grad():
        argmax = model(torch.from_numpy(x)).argmax(1).numpy()
    for method in ("gradient", "guided_backprop", "lrp_epsilon_0_1"):
        np.testing.assert_array_equal(Explainer(model, method)(x), Explainer(model, method)(x, argmax.tolist()))


def test_bad_target_is_still_refused_before_any_backward():
    x = np.zeros((2, 3, 8, 8), np.float32)
    for method in ("gradient", "lrp_z"):
        with pytest.raises(ValueError, match="out of range"):
            Explainer(small_cnn(), method)(x, 7)
        with pytest.raises(ValueError, match="target has 3 entries"):
            Explainer(small_cnn(), method)(x, [0, 1, 2])
