"""Keras -> ONNX (tf2onnx, in a subprocess) -> PyTorch (``signxai.torch.from_onnx``), cached on disk.

The conversion of a model runs once: its ONNX file is stored under :func:`cache_root` in a folder named by a
content hash of the architecture, the weights and the converter versions, so a rerun with the same model loads
the stored file. The converted model takes its input channels-first (N, C, H, W) / (N, C, T), PyTorch's layout;
its maps are moved back to the Keras layout with :func:`signxai.common.sampling.to_channels_last`.

The float64 tier rebuilds the Keras model in float64 with the same weights (:func:`signxai.parity.models.as_dtype`).
Its PyTorch twin (:func:`twin`) is the float32 conversion cast to float64 when every ONNX constant is a Keras weight
(exact); a model with a layer whose ONNX constants tf2onnx computes from its weights
(:data:`COMPUTED_CONSTANT_LAYERS`: e.g. ``gamma / sqrt(var + eps)`` of a BatchNormalization it cannot keep, after a
``Conv1D``) is converted from its float64 rebuild instead: a float32 computation would put ~1e-7 relative errors
into the float64 tier's forward pass (measured 1.7e-7 on the ECG ResNet; 1.8e-15 converted in float64).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Bump when the conversion procedure changes (invalidates every cached file).
CONVERTER_REVISION = "3"
#: The conversion script run in the subprocess (its text is part of the cache key).
WORKER = Path(__file__).with_name("_onnx_worker.py")
#: Keras layers whose ONNX constants tf2onnx computes from their weights in the graph's dtype.
COMPUTED_CONSTANT_LAYERS = frozenset({"BatchNormalization", "Rescaling", "Normalization", "LayerNormalization"})
#: Environment variable naming the cache folder.
CACHE_ENV = "SIGNXAI_PARITY_CACHE"


@dataclass(frozen=True)
class Conversion:
    """Outcome of :func:`keras_to_onnx`.

    Attributes
    ----------
    onnx_path : pathlib.Path
        The ONNX model (external tensors in the same folder).
    key : str
        Content hash naming the cache entry.
    cached : bool
        True when the file came from the cache (``seconds`` and ``peak_rss_mb`` are those of the original run).
    seconds : float
        Wall time of the conversion subprocess.
    peak_rss_mb : float
        Peak resident memory of the conversion subprocess, MiB.
    """

    onnx_path: Path
    key: str
    cached: bool
    seconds: float
    peak_rss_mb: float


def cache_root() -> Path:
    """Cache folder: ``$SIGNXAI_PARITY_CACHE`` if set, else ``.cache/parity`` under the current directory."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.cwd() / ".cache" / "parity"


def _versions() -> dict[str, str]:
    import onnx
    import tensorflow as tf
    import tf2onnx

    return {"tensorflow": tf.__version__, "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__}


def fingerprint(model) -> str:
    """Content hash of a Keras model for the conversion cache: architecture, weights, converter versions and
    the conversion script.

    Parameters
    ----------
    model : keras.Model
        The model to identify.

    Returns
    -------
    str
        32 hex digits.
    """
    digest = hashlib.sha256()
    digest.update(model.to_json().encode())
    for weight in model.weights:
        value = np.ascontiguousarray(weight.numpy())
        digest.update(f"{weight.name}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    digest.update(json.dumps({**_versions(), "revision": CONVERTER_REVISION}, sort_keys=True).encode())
    digest.update(WORKER.read_bytes())
    return digest.hexdigest()[:32]


def _save_for_worker(model, folder: Path) -> None:
    (folder / "architecture.json").write_text(model.to_json())
    np.savez(folder / "weights.npz", **{f"w{i}": w.numpy() for i, w in enumerate(model.weights)})


def keras_to_onnx(model, cache: bool = True) -> Conversion:
    """Convert a Keras model to ONNX in a subprocess (peak memory bounded, see :mod:`._onnx_worker`).

    Parameters
    ----------
    model : keras.Model
        Float32 Keras model (not modified).
    cache : bool
        Reuse and fill the on-disk cache (:func:`cache_root`).

    Returns
    -------
    Conversion

    Raises
    ------
    RuntimeError
        When the conversion subprocess fails (its output is included).
    """
    key = fingerprint(model)
    entry = cache_root() / key
    stats_file = entry / "conversion.json"
    if cache and stats_file.is_file() and (entry / "model.onnx").is_file():
        stats = json.loads(stats_file.read_text())
        return Conversion(entry / "model.onnx", key, True, stats["seconds"], stats["peak_rss_mb"])
    entry.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=entry.parent, prefix=f".{key}-") as tmp:
        tmp_path = Path(tmp)
        _save_for_worker(model, tmp_path)
        out = tmp_path / "onnx"
        env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python", "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.run(
            [sys.executable, str(WORKER), str(tmp_path), str(out)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"Keras -> ONNX conversion of {model.name!r} failed:\n{proc.stdout}\n{proc.stderr}")
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        (out / "conversion.json").write_text(json.dumps({**stats, "model": model.name, **_versions()}))
        if entry.exists():
            _remove_tree(entry)
        out.rename(entry)
    return Conversion(entry / "model.onnx", key, False, stats["seconds"], stats["peak_rss_mb"])


def _remove_tree(path: Path) -> None:
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


def onnx_to_torch(onnx_path: Path):
    """Load a converted ONNX file into PyTorch with ``signxai.torch.from_onnx`` (eval mode, float32)."""
    from signxai.torch import from_onnx

    return from_onnx(str(onnx_path))


def keras_to_torch(model, cache: bool = True):
    """Keras model -> PyTorch module through ONNX.

    Parameters
    ----------
    model : keras.Model
        Float32 Keras model (not modified).
    cache : bool
        Use the conversion cache.

    Returns
    -------
    tuple of (torch.nn.Module, Conversion)
    """
    conversion = keras_to_onnx(model, cache=cache)
    return onnx_to_torch(conversion.onnx_path), conversion


def conversion_dtype(model, tier: str) -> str:
    """The dtype of the Keras model to convert for ``tier`` (see the module docstring).

    Parameters
    ----------
    model : keras.Model
        The model (any dtype).
    tier : {"float64", "float32"}
        The parity tier.

    Returns
    -------
    str
        ``"float64"`` for the float64 tier of a model holding a :data:`COMPUTED_CONSTANT_LAYERS` layer (nested
        models included), else ``"float32"``.
    """
    if tier == "float32":
        return "float32"
    kinds = {type(layer).__name__ for layer in (model, *model.submodules)}
    return "float64" if kinds & COMPUTED_CONSTANT_LAYERS else "float32"


def twin(model, tier: str, cache: bool = True):
    """The PyTorch twin of ``model`` for ``tier``: converted through ONNX (cached) and cast to the tier's dtype.

    Parameters
    ----------
    model : keras.Model
        The Keras model (any dtype; not modified).
    tier : {"float64", "float32"}
        The parity tier.
    cache : bool
        Use the conversion cache.

    Returns
    -------
    tuple of (torch.nn.Module, Conversion)
    """
    import torch

    from .models import as_dtype

    source_dtype = conversion_dtype(model, tier)
    source = model if model.dtype == source_dtype else as_dtype(model, source_dtype)
    torch_model, conversion = keras_to_torch(source, cache=cache)
    return torch_model.to({"float64": torch.float64, "float32": torch.float32}[tier]).eval(), conversion
