"""signxai.torch.quantus_explain: the Quantus explain_func adapter (layout, dtype, targets, errors, end to end)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from signxai.torch import explain, quantus_explain

METHODS = ["gradient_x_sign", "lrpsign_epsilon_0_25_std_x", "lrp_epsilon_0_1"]


def small_cnn(seed: int = 0) -> nn.Module:
    """Conv(3 -> 4) -> ReLU -> MaxPool -> Flatten -> Dense(5) on 3 x 8 x 8 inputs, float32, eval mode."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 5)
    )
    return model.eval()


def batch(n: int = 4, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 5, size=n)
    return x, y


@pytest.mark.parametrize("method", METHODS)
def test_same_map_as_explain(method: str) -> None:
    model = small_cnn()
    x, y = batch()
    a = quantus_explain(model=model, inputs=x, targets=y, method=method)
    expected = explain(model, torch.from_numpy(x), method, target=y.tolist()).numpy()
    assert isinstance(a, np.ndarray) and a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, expected)
    assert np.abs(a).max() > 0


def test_targets_select_the_class_and_parameters_pass_through() -> None:
    model = small_cnn()
    x, y = batch()
    a0 = quantus_explain(model=model, inputs=x, targets=np.zeros(4, dtype=np.int64), method="gradient")
    a1 = quantus_explain(model=model, inputs=x, targets=np.ones(4, dtype=np.int64), method="gradient")
    assert not np.allclose(a0, a1)
    one = quantus_explain(model=model, inputs=x, targets=np.int64(1), method="gradient")
    np.testing.assert_array_equal(one, a1)
    mu = quantus_explain(model=model, inputs=x, targets=y, method="gradient_x_sign_mu", mu=0.5, device="cpu")
    named = quantus_explain(model=model, inputs=x, targets=y, method="gradient_x_sign_mu_0_5")
    np.testing.assert_array_equal(mu, named)
    eps = quantus_explain(model=model, inputs=x, targets=y, method="lrp_epsilon_0_1", epsilon=10.0)
    np.testing.assert_array_equal(eps, quantus_explain(model=model, inputs=x, targets=y, method="lrp_epsilon_10"))


def test_float64_numpy_and_tensor_inputs_do_not_touch_the_model() -> None:
    model = small_cnn()
    before = copy.deepcopy(model.state_dict())
    x, y = batch()
    a64 = quantus_explain(model=model, inputs=x.astype(np.float64), targets=y, method="lrp_z")
    at = quantus_explain(model=model, inputs=torch.from_numpy(x), targets=torch.from_numpy(y), method="lrp_z")
    assert a64.dtype == np.float32  # the input follows the model's parameters
    np.testing.assert_array_equal(a64, at)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    assert not model.training


def test_errors_name_the_problem() -> None:
    model = small_cnn()
    x, y = batch()
    with pytest.raises(ValueError, match="explain_func_kwargs=\\{'method'"):
        quantus_explain(model=model, inputs=x, targets=y)
    with pytest.raises(ValueError, match="foo"):
        quantus_explain(model=model, inputs=x, targets=y, method="gradient", foo=1)
    with pytest.raises(ValueError, match="not_a_method"):
        quantus_explain(model=model, inputs=x, targets=y, method="not_a_method")
    with pytest.raises(ValueError, match="3 targets for a batch of 4"):
        quantus_explain(model=model, inputs=x, targets=y[:3], method="gradient")


@pytest.fixture(scope="module")
def quantus():
    return pytest.importorskip("quantus")


def test_pixel_flipping_end_to_end(quantus) -> None:
    model = small_cnn()
    x, y = batch(n=3)
    metric = quantus.PixelFlipping(features_in_step=16, perturb_baseline="black", disable_warnings=True)
    scores = metric(
        model=model,
        x_batch=x,
        y_batch=y,
        channel_first=True,
        explain_func=quantus_explain,
        explain_func_kwargs={"method": "lrpsign_epsilon_0_25_std_x"},
        device="cpu",
    )
    curves = np.asarray(scores, dtype=float)
    assert curves.shape == (3, 3 * 8 * 8 // 16) and np.isfinite(curves).all()


def test_faithfulness_correlation_end_to_end(quantus) -> None:
    model = small_cnn()
    x, y = batch(n=3)
    np.random.seed(0)
    metric = quantus.FaithfulnessCorrelation(nr_runs=5, subset_size=8, return_aggregate=False, disable_warnings=True)
    scores = metric(
        model=model,
        x_batch=x,
        y_batch=y,
        channel_first=True,
        explain_func=quantus_explain,
        explain_func_kwargs={"method": "gradient_x_input"},
    )
    assert len(scores) == 3 and np.isfinite(scores).all()
