"""SIGN math, seeded sampling and target resolution."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.common import Modifier
from signxai.common.sampling import (
    integration_alphas,
    random_uniform_map,
    smoothgrad_noise,
    to_channels_first,
    to_channels_last,
)
from signxai.common.signs import apply_modifiers, per_sample_std, safe_divide, sign, sign_mu
from signxai.common.targets import check_input, resolve_targets


def test_sign_of_zero_is_plus_one() -> None:
    v = np.array([-2.0, -0.0, 0.0, 1e-300, 3.0])
    np.testing.assert_array_equal(sign(v), [-1, 1, 1, 1, 1])
    assert sign(v).dtype == np.float64
    assert sign(v.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("mu", [0.0, 0.5, -0.5, -1.0, -2.5, 3.0])
def test_sign_mu(mu: float) -> None:
    v = np.array([-3.0, -2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    expected = np.array([1.0 if value >= mu else -1.0 for value in v])
    np.testing.assert_array_equal(sign_mu(v, mu), expected)


def test_sign_mu_zero_equals_sign() -> None:
    v = np.random.default_rng(0).normal(size=100)
    v[::7] = 0.0
    np.testing.assert_array_equal(sign_mu(v, 0.0), sign(v))


def test_safe_divide() -> None:
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([0.0, 4.0, -1e-9])
    np.testing.assert_allclose(safe_divide(a, b), [1.0 / 1e-7, 0.5, -3e9])


def test_modifiers_apply_in_order() -> None:
    x = np.array([[-1.0, 0.0, 0.25, 2.0]])
    r = np.array([[1.0, 2.0, 3.0, 4.0]])
    out = apply_modifiers(r, x, (Modifier("x_input"), Modifier("x_sign_mu", 0.5)))
    np.testing.assert_array_equal(out, [[-1.0 * -1, 0.0, 0.75 * -1, 8.0]])
    np.testing.assert_array_equal(apply_modifiers(r, x, (Modifier("x_sign"),)), [[-1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(apply_modifiers(r, x, ()), r)


def test_per_sample_std_is_population_std_over_non_batch_axes() -> None:
    a = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    a[1] *= 3
    std = per_sample_std(a)
    assert std.shape == (2, 1, 1)
    np.testing.assert_allclose(std.ravel(), [np.sqrt(np.mean((a[i] - a[i].mean()) ** 2)) for i in range(2)])


def test_smoothgrad_noise_is_seeded_and_layout_consistent() -> None:
    last = smoothgrad_noise((4, 5, 3), samples=6, noise=0.2, seed=1)
    assert last.shape == (6, 4, 5, 3)
    np.testing.assert_array_equal(last, smoothgrad_noise((4, 5, 3), samples=6, noise=0.2, seed=1))
    assert not np.array_equal(last, smoothgrad_noise((4, 5, 3), samples=6, noise=0.2, seed=2))
    first = smoothgrad_noise((3, 4, 5), samples=6, noise=0.2, seed=1, channels_first=True)
    assert first.shape == (6, 3, 4, 5)
    np.testing.assert_array_equal(to_channels_last(first), last)
    assert abs(last.std() - 0.2) < 0.03


def test_noise_of_a_flat_sample() -> None:
    flat = smoothgrad_noise((7,), samples=3, noise=1.0, seed=0, channels_first=True)
    np.testing.assert_array_equal(flat, smoothgrad_noise((7,), samples=3, noise=1.0, seed=0))


def test_integration_alphas() -> None:
    np.testing.assert_allclose(integration_alphas(5), [0.0, 0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match="steps >= 2"):
        integration_alphas(1)


def test_random_uniform_map() -> None:
    m = random_uniform_map((4, 5, 3), seed=3)
    assert m.shape == (4, 5, 3) and m.min() >= -1 and m.max() <= 1
    np.testing.assert_array_equal(m[..., 0], m[..., 2])
    assert len(np.unique(m[..., 0])) == 20
    np.testing.assert_array_equal(
        to_channels_first(random_uniform_map((4, 5, 3), seed=3), 0),
        random_uniform_map((3, 4, 5), seed=3, channels_first=True),
    )
    assert random_uniform_map((9,), seed=0).shape == (9,)


def test_resolve_targets() -> None:
    logits = np.array([[0.0, 2.0, 1.0], [5.0, -1.0, 0.0]])
    np.testing.assert_array_equal(resolve_targets(None, logits), [1, 0])
    np.testing.assert_array_equal(resolve_targets(2, logits), [2, 2])
    np.testing.assert_array_equal(resolve_targets(np.int64(1), logits), [1, 1])
    np.testing.assert_array_equal(resolve_targets([0, 2], logits), [0, 2])
    assert resolve_targets(None, logits).dtype == np.int64


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (3, "out of range"),
        (-1, "out of range"),
        ([0], "1 entries for a batch of 2"),
        ([0, 1, 2], "3 entries"),
        (
            [[0], [1]],
            r"2 entries for a batch of 2 \(shape \(2, 1\)\); target must be None, one int, or a flat "
            r"sequence of 2 ints \(shape \(2,\)\).*numpy.ravel",
        ),
        (1.5, "must be None, an int"),
        ("a", "must be None, an int"),
        (True, "must be None, an int"),
    ],
)
def test_resolve_targets_errors(target: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_targets(target, np.zeros((2, 3)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.zeros(3), "batch axis"),
        (np.zeros((0, 3)), "empty"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[np.inf]]), "NaN or infinite"),
        (np.array([["a"]]), "numeric"),
    ],
)
def test_check_input(x: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_input(x)
