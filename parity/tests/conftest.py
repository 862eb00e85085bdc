"""Shared fixtures: a private conversion cache and small converted models (converted once per session)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Point the conversion cache and the report folder at a session temp dir."""
    old = {k: os.environ.get(k) for k in ("SIGNXAI_PARITY_CACHE", "SIGNXAI_PARITY_OUT")}
    os.environ["SIGNXAI_PARITY_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["SIGNXAI_PARITY_OUT"] = str(tmp_path_factory.mktemp("out"))
    yield
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def converted():
    """name -> (keras model, torch model, Conversion, input) for the small suite models."""
    from signxai.parity import convert, data, models

    out = {}
    for build, inputs in (
        (models.batchnorm_cnn, None),
        (models.pooling_cnn, None),
        (models.reshape_cnn, None),
        (lambda: models.ecg_cnn(length=500), lambda: data.ecg_12lead(seconds=1)),
    ):
        model = build()
        x = inputs() if inputs else data.small_inputs(tuple(model.input_shape[1:]), n=2, seed=3)
        torch_model, conversion = convert.keras_to_torch(model)
        out[model.name] = (model, torch_model, conversion, x)
    return out
