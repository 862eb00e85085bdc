"""After a full catalog run, the caller's TensorFlow is untouched: eager on, weights identical, training works."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from conftest import small_cnn, small_input

from signxai.common import list_methods, required_keywords
from signxai.tf import explain
from signxai.tf.graph import class_bases_snapshot


def _keywords(name: str) -> dict:
    needed = required_keywords(name)
    kw: dict = {}
    if "mu" in needed:
        kw["mu"] = 0.5
    if "low" in needed:
        kw.update(low=-1.0, high=1.0)
    return kw


def test_full_catalog_leaves_tensorflow_as_it_was() -> None:
    model = small_cnn(dtype="float32")
    x = small_input("float32")
    weights = [w.numpy().copy() for w in model.weights]
    bases = class_bases_snapshot()
    floatx = tf.keras.backend.floatx()
    ran = 0
    for name in list_methods():
        try:
            r = explain(model, x, name, **_keywords(name))
        except ValueError as err:  # aliases naming a layer this model lacks
            assert "layer" in str(err) or "Conv1D" in str(err), (name, err)
            continue
        assert r.shape == x.shape and np.all(np.isfinite(r)), name
        ran += 1
    assert ran > 200
    assert tf.executing_eagerly()
    assert tf.keras.backend.floatx() == floatx
    assert class_bases_snapshot() == bases
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(weights, model.weights))
    # the caller's model still predicts, trains and runs inside tf.function
    np.testing.assert_array_equal(model(x).numpy(), model.predict(x, verbose=0))
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, np.zeros((len(x), 4), np.float32), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(weights, model.weights))
    traced = tf.function(lambda inp: model(inp, training=False))
    np.testing.assert_allclose(traced(tf.constant(x)).numpy(), model(x).numpy(), rtol=1e-6)
    # a new eager model can still be built and trained
    fresh = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    fresh.compile(optimizer="sgd", loss="mse")
    fresh.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)
