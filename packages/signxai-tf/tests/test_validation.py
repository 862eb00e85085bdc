"""Regression corpus of issue 14 through the TensorFlow API: bad names and numbers, bad arguments, resource limits and
progress reporting. Each error case asserts the exception type and that the message names the parameter."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import small_cnn, small_input
from keras_mirror import to_keras

from signxai.common import parse_method
from signxai.common.reference import explain as reference_explain
from signxai.common.reference import zoo
from signxai.tf import Explainer, explain

HUGE = "9" * 400


@pytest.fixture(scope="module")
def model() -> tf.keras.Model:
    return small_cnn()


@pytest.fixture(scope="module")
def xs() -> np.ndarray:
    return small_input()


# ---------------------------------------------------------------------------------------- names and numbers
BAD_NAMES = [
    (f"lrp_epsilon_{HUGE}", {}, "epsilon"),
    (f"lrpsign_epsilon_{HUGE}_std_x", {}, "stdfactor"),
    (f"smoothgrad_noise_{HUGE}", {}, "noise"),
    (f"gradient_x_sign_mu_{HUGE}", {}, "mu"),
    (f"integrated_gradients_steps_{HUGE}", {}, "steps"),
    ("lrp_epsilon_1", {"epsilon": float("inf")}, "epsilon"),
    ("smoothgrad", {"seed": -1}, "seed"),
    ("smoothgrad", {"samples": 2.5}, "samples"),
    ("integrated_gradients", {"baseline": None}, "baseline"),
    ("integrated_gradients", {"baseline": "zeros"}, "baseline"),
    ("vargrad", {"noise": "loud"}, "noise"),
]


@pytest.mark.parametrize(("name", "kwargs", "param"), BAD_NAMES)
def test_bad_names_and_numbers(model, xs, name: str, kwargs: dict, param: str) -> None:
    with pytest.raises(ValueError) as info:
        explain(model, xs, name, **kwargs)
    assert f"{param} must be" in str(info.value)


def test_keywords_with_a_spec_are_refused(model) -> None:
    with pytest.raises(ValueError, match="epsilon given with an already parsed MethodSpec"):
        Explainer(model, parse_method("lrp_epsilon_1"), epsilon=0.5)


# ------------------------------------------------------------------------------------------------- options
BAD_OPTIONS = [
    ({"strip_softmax": "no"}, TypeError, "strip_softmax"),
    ({"strip_softmax": 0}, TypeError, "strip_softmax"),
    ({"max_rows": 2.5}, ValueError, "max_rows"),
    ({"max_rows": 0}, ValueError, "max_rows"),
    ({"max_rows": "64"}, TypeError, "max_rows"),
    ({"max_points": -1}, ValueError, "max_points"),
    ({"max_points": "1e6"}, TypeError, "max_points"),
    ({"progress": "yes"}, TypeError, "progress"),
    ({"callback": 3}, TypeError, "callback"),
]


@pytest.mark.parametrize(("kwargs", "error", "param"), BAD_OPTIONS)
@pytest.mark.parametrize("entry", ["Explainer", "explain"])
def test_bad_options(model, xs, entry: str, kwargs: dict, error: type, param: str) -> None:
    with pytest.raises(error) as info:
        if entry == "Explainer":
            Explainer(model, "smoothgrad", **kwargs)
        else:
            explain(model, xs, "smoothgrad", **kwargs)
    assert str(info.value).startswith(f"{param} must be")


def test_strip_softmax_must_be_a_real_bool() -> None:
    softmax_model = small_cnn(softmax="layer")
    x = small_input()
    with pytest.raises(TypeError, match="strip_softmax must be True or False"):
        explain(softmax_model, x, "gradient", strip_softmax="no")
    assert explain(softmax_model, x, "gradient", strip_softmax=np.bool_(True)).shape == x.shape


# ------------------------------------------------------------------------------------------ resource limits
TOO_MANY = [
    ("integrated_gradients", {"steps": 10**9}, "steps"),
    ("smoothgrad", {"samples": 10**9}, "samples"),
    ("vargrad", {"samples": 10**9}, "samples"),
    ("integrated_gradients", {"steps": 101, "max_points": 100}, "steps"),
]


@pytest.mark.parametrize(("name", "kwargs", "param"), TOO_MANY)
def test_too_many_points_refused_at_construction(model, name: str, kwargs: dict, param: str) -> None:
    with pytest.raises(ValueError) as info:
        Explainer(model, name, **kwargs)
    assert f"{param}=" in str(info.value) and "max_points=" in str(info.value)


@pytest.mark.parametrize(("name", "param"), [("integrated_gradients_steps_40", "steps"), ("smoothgrad", "samples")])
def test_too_many_points_refused_for_the_batch(model, xs, name: str, param: str) -> None:
    e = Explainer(model, name, max_points=60)  # 40 or 50 points x batch 2 > 60
    with pytest.raises(ValueError) as info:
        e(xs)
    message = str(info.value)
    assert f"{param}=" in message and "batch=2" in message and "max_points=60" in message
    assert e(xs[:1]).shape == xs[:1].shape  # one sample fits


def test_max_points_none_removes_the_bound_and_memory_is_one_chunk(model, xs) -> None:
    class StopRunError(Exception):
        pass

    def stop(done: int, total: int) -> None:
        if done >= 12:
            raise StopRunError(done, total)

    for name, kw in (("integrated_gradients", {"steps": 10**12}), ("smoothgrad", {"samples": 10**12})):
        with pytest.raises(StopRunError) as info:  # 10^12 path fractions / noise draws would need 8 TB at once
            explain(model, xs, name, max_points=None, max_rows=8, callback=stop, **kw)
        assert info.value.args == (12, 10**12)


@pytest.fixture(scope="module")
def zoo_image() -> tuple:
    ref_model = zoo.image_cnn()
    return ref_model, to_keras(ref_model), zoo.sample_inputs(ref_model, n=2, seed=0)


@pytest.mark.parametrize("method", ["integrated_gradients_steps_7", "smoothgrad_noise_0_3_samples_7", "vargrad"])
@pytest.mark.parametrize("max_rows", [1, 2, 5, None])
def test_chunking_does_not_change_the_map(zoo_image: tuple, method: str, max_rows: int | None) -> None:
    ref_model, keras_model, x = zoo_image
    expected = reference_explain(ref_model, x, method)
    got = explain(keras_model, x, method, max_rows=max_rows)
    assert np.abs(got - expected).max() <= 1e-6 * np.abs(expected).max()


# ----------------------------------------------------------------------------------------------- progress
@pytest.mark.parametrize(
    ("method", "max_rows", "expected"),
    [
        ("smoothgrad_noise_0_3_samples_10", 8, [(4, 10), (8, 10), (10, 10)]),
        ("vargrad_noise_0_3_samples_10", None, [(10, 10)]),
        ("integrated_gradients_steps_5", 2, [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]),
        ("gradient", 8, [(1, 1)]),
        ("lrp_epsilon_0_1", 8, [(1, 1)]),
    ],
)
def test_callback_reports_points(model, xs, method: str, max_rows: int | None, expected: list) -> None:
    seen: list[tuple[int, int]] = []
    explain(model, xs, method, max_rows=max_rows, callback=lambda d, t: seen.append((d, t)))
    assert seen == expected


def test_progress_bar(model, xs, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("tqdm")
    plain = explain(model, xs, "smoothgrad_noise_0_3_samples_6")
    shown = explain(model, xs, "smoothgrad_noise_0_3_samples_6", progress=True)
    np.testing.assert_array_equal(plain, shown)
    assert "6/6" in capsys.readouterr().err


def test_progress_without_tqdm(model, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        Explainer(model, "smoothgrad", progress=True)
