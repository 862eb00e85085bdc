"""Reliability corpus (issue 14) for signxai-tf: threads, half-precision models.

Threads: every map computed while other threads explain with the same model (or the same Explainer) must equal,
bit for bit, the map computed alone, and afterwards Keras' class bases, floatx and the caller's model (predict,
compile, fit) must be as before. Without :data:`signxai.tf.graph.KERAS_LOCK` this corpus measured Keras errors
("Your Layer or Model is in an invalid state"), 8 class bases left swapped and ``compile`` failing afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest
import tensorflow as tf
from conftest import small_cnn, small_input

from signxai.tf import Explainer, explain
from signxai.tf.graph import class_bases_snapshot

THREAD_METHODS = [
    "smoothgrad",  # seeded: the same noise in every call
    "integrated_gradients",
    "gradient_x_sign",
    "guided_backprop",
    "grad_cam",
    "lrp_epsilon_0_1",
    "lrpsign_epsilon_0_25_std_x",
]
THREADS = 3


def _run_threads(work: Callable[[int], list[tuple[str, np.ndarray]]]) -> list[tuple[str, np.ndarray]]:
    """Run ``work(i)`` in THREADS threads started together; every exception is re-raised here."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[str, np.ndarray]] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results.extend(work(i))
        except BaseException as err:  # collected and re-raised in the main thread
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture(scope="module")
def threads_setup() -> tuple[tf.keras.Model, np.ndarray, dict[str, np.ndarray]]:
    model = small_cnn(dtype="float32")
    x = small_input("float32")
    expected = {name: explain(model, x, name) for name in THREAD_METHODS}
    return model, x, expected


def _check_untouched(model: tf.keras.Model, x: np.ndarray, bases: dict, floatx: str) -> None:
    assert class_bases_snapshot() == bases
    assert tf.keras.backend.floatx() == floatx
    assert tf.executing_eagerly()
    np.testing.assert_array_equal(model(x).numpy(), model.predict(x, verbose=0))
    clone = tf.keras.models.clone_model(model)  # compile / fit on a copy: the fixture's weights stay
    clone.compile(optimizer="sgd", loss="mse")
    assert np.isfinite(clone.fit(x, np.zeros((len(x), 4), np.float32), verbose=0).history["loss"][0])


def test_threads_explaining_with_one_model_give_the_sequential_maps(threads_setup) -> None:
    model, x, expected = threads_setup
    bases, floatx = class_bases_snapshot(), tf.keras.backend.floatx()

    def work(i: int) -> list[tuple[str, np.ndarray]]:
        order = THREAD_METHODS[i:] + THREAD_METHODS[:i]  # each thread in another order
        return [(name, explain(model, x, name)) for name in order]

    results = _run_threads(work)
    assert len(results) == THREADS * len(THREAD_METHODS)  # 21 calls
    assert [name for name, out in results if not np.array_equal(out, expected[name])] == []
    _check_untouched(model, x, bases, floatx)


def test_one_explainer_shared_by_threads_gives_the_sequential_maps(threads_setup) -> None:
    model, x, expected = threads_setup
    bases, floatx = class_bases_snapshot(), tf.keras.backend.floatx()
    explainers = {name: Explainer(model, name) for name in THREAD_METHODS}  # analyzers built inside the threads

    def work(i: int) -> list[tuple[str, np.ndarray]]:
        return [(name, explainers[name](x)) for _ in range(2) for name in THREAD_METHODS]

    try:
        results = _run_threads(work)
    finally:
        for e in explainers.values():
            e.close()
    assert len(results) == THREADS * 2 * len(THREAD_METHODS)  # 42 calls
    assert [name for name, out in results if not np.array_equal(out, expected[name])] == []
    _check_untouched(model, x, bases, floatx)


@pytest.mark.parametrize("policy", ["mixed_float16", "float16"])
@pytest.mark.parametrize("method", ["gradient", "lrp_epsilon_0_1", "guided_backprop"])
def test_half_precision_models_are_refused_naming_the_layers(policy: str, method: str) -> None:
    previous = tf.keras.mixed_precision.global_policy()
    try:
        tf.keras.mixed_precision.set_global_policy(policy)
        L = tf.keras.layers
        model = tf.keras.Sequential(
            [tf.keras.Input((6, 6, 2)), L.Conv2D(3, 3, name="conv"), L.Flatten(), L.Dense(4, name="logits")]
        )
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)
    x = small_input("float32")
    with pytest.raises(ValueError, match=rf"half precision in 3 layer\(s\): conv \({policy}\).*set_global_policy"):
        explain(model, x, method)


def test_a_float32_layer_in_a_mixed_model_is_not_named() -> None:
    previous = tf.keras.mixed_precision.global_policy()
    try:
        tf.keras.mixed_precision.set_global_policy("mixed_float16")
        inner = tf.keras.Sequential([tf.keras.Input((6, 6, 2)), tf.keras.layers.Conv2D(3, 3, name="inner_conv")])
        inp = tf.keras.Input((6, 6, 2))
        h = tf.keras.layers.Flatten(dtype="float32")(inner(inp))
        model = tf.keras.Model(inp, tf.keras.layers.Dense(4, dtype="float32")(h))
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)
    with pytest.raises(ValueError, match=r"in 2 layer\(s\): sequential.*\(mixed_float16\), sequential.*/inner_conv"):
        explain(model, small_input("float32"), "gradient")


def test_a_model_with_two_inputs_is_refused_naming_them() -> None:
    a, b = tf.keras.Input((3,), name="image"), tf.keras.Input((3,), name="meta")
    model = tf.keras.Model([a, b], tf.keras.layers.Dense(2)(tf.keras.layers.Add()([a, b])))
    with pytest.raises(ValueError, match=r"has 2 input\(s\) \(image, meta\) and 1 output\(s\).*one input to explain"):
        explain(model, np.ones((1, 3), np.float32), "gradient")
