"""Which Keras is behind ``tf.keras``, and whether ``signxai.tf`` can run on it.

``signxai.tf`` needs Keras 2 behind ``tf.keras`` and iNNvestigate 2.1.x (which builds its analyzers with the
Keras 2 engine). Two installations provide that:

- TensorFlow 2.14 / 2.15: ``tf.keras`` is Keras 2 (the ``keras`` 2.x distribution) out of the box.
- TensorFlow >= 2.16: ``tf.keras`` is Keras 3 unless the ``tf-keras`` distribution (Keras 2, same minor version
  as TensorFlow) is installed and ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow's Keras is first used.

The environment is checked once, when ``signxai.tf`` is imported (:func:`check_environment`): nothing in it can
work without Keras 2 and iNNvestigate 2.1, so a wrong environment is an ``ImportError`` that lists every missing
piece with the command or setting that fixes it. A Keras 3 model handed to a working ``signxai.tf`` (e.g. built
with ``import keras`` while ``tf.keras`` is ``tf_keras``) is a ``ValueError`` from :func:`check_model`, raised
by ``Explainer`` / ``explain``.

The Keras 2 engine internals :mod:`signxai.tf.graph` needs (the backend session and the layer base classes) are
located through ``tf.keras`` (:func:`keras_internals`), so they are ``keras.src.*`` on TensorFlow 2.14 and
``tf_keras.src.*`` with ``tf-keras``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = [
    "Environment",
    "KerasInternals",
    "check_environment",
    "check_model",
    "current_environment",
    "environment_problems",
    "keras_internals",
    "layer_call_context",
]

#: The values of ``TF_USE_LEGACY_KERAS`` TensorFlow accepts as "on" (``tensorflow/python/util/lazy_loader.py``).
LEGACY_KERAS_ON = ("1", "true", "True")
#: The iNNvestigate release signxai.tf is written for and tested with.
INNVESTIGATE = "2.1.2"
#: First TensorFlow minor version whose ``tf.keras`` is Keras 3 by default.
KERAS3_FROM = (2, 16)


@dataclass(frozen=True)
class Environment:
    """The installed versions that decide whether ``signxai.tf`` can run (versions as strings, ``None`` = absent).

    Parameters
    ----------
    python : tuple of int
        ``sys.version_info[:2]``.
    tensorflow : str
        ``tensorflow.__version__``.
    legacy_keras : str or None
        The value of ``TF_USE_LEGACY_KERAS``.
    tf_keras : str or None
        Version of the installed ``tf-keras`` distribution.
    innvestigate : str or None
        Version of the installed ``innvestigate`` distribution.
    """

    python: tuple[int, int]
    tensorflow: str
    legacy_keras: str | None
    tf_keras: str | None
    innvestigate: str | None


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def innvestigate_install_command(python: tuple[int, int]) -> str:
    """The pip command that installs iNNvestigate 2.1.2 on this Python."""
    if python < (3, 12):
        return f"pip install innvestigate=={INNVESTIGATE}"
    # iNNvestigate 2.1.2 declares Python < 3.12 and TensorFlow < 2.15, yet runs on TF 2.16-2.21 through tf-keras;
    # its only runtime dependencies are tensorflow and numpy, which signxai-tf already requires.
    return f"pip install --no-deps --ignore-requires-python innvestigate=={INNVESTIGATE}"


def environment_problems(env: Environment) -> list[str]:
    """Every reason ``signxai.tf`` cannot run in ``env``, each with its fix; empty when it can.

    Parameters
    ----------
    env : Environment
        Installed versions (see :func:`current_environment`).

    Returns
    -------
    list of str
        One sentence per problem, naming the command or setting that fixes it.
    """
    problems: list[str] = []
    tf_minor = _minor(env.tensorflow)
    if tf_minor >= KERAS3_FROM:
        wanted = f"{tf_minor[0]}.{tf_minor[1]}"
        if env.tf_keras is None:
            problems.append(
                f"TensorFlow {env.tensorflow} makes tf.keras Keras 3, and signxai.tf needs Keras 2: install tf-keras "
                f'of the same minor version (pip install "tf-keras~={wanted}.0", or pip install "signxai-tf[tf-keras]")'
            )
        elif _minor(env.tf_keras) != tf_minor:
            problems.append(
                f"tf-keras {env.tf_keras} does not match TensorFlow {env.tensorflow}: "
                f'pip install "tf-keras~={wanted}.0"'
            )
        if env.legacy_keras not in LEGACY_KERAS_ON:
            shown = "unset" if env.legacy_keras is None else f"{env.legacy_keras!r}"
            problems.append(
                f"TF_USE_LEGACY_KERAS is {shown}, so TensorFlow {env.tensorflow} routes tf.keras to Keras 3: set "
                "TF_USE_LEGACY_KERAS=1 before TensorFlow's Keras is first used (export TF_USE_LEGACY_KERAS=1 in the "
                'shell, or os.environ["TF_USE_LEGACY_KERAS"] = "1" before importing tensorflow)'
            )
    command = innvestigate_install_command(env.python)
    if env.innvestigate is None:
        problems.append(f"iNNvestigate is not installed: {command}")
    elif not env.innvestigate.startswith("2.1."):
        problems.append(
            f"iNNvestigate {env.innvestigate} is installed, signxai.tf needs {INNVESTIGATE} "
            f"(a plain `pip install innvestigate` on Python >= 3.12 picks the TF1-era 1.0.9): "
            f"{command.replace('pip install', 'pip install --force-reinstall', 1)}"
        )
    return problems


def current_environment() -> Environment:
    """The :class:`Environment` of this process (imports TensorFlow, not Keras or iNNvestigate)."""
    import tensorflow as tf

    return Environment(
        python=(sys.version_info[0], sys.version_info[1]),
        tensorflow=tf.__version__,
        legacy_keras=os.environ.get("TF_USE_LEGACY_KERAS"),
        tf_keras=_distribution_version("tf-keras"),
        innvestigate=_distribution_version("innvestigate"),
    )


@dataclass(frozen=True)
class KerasInternals:
    """The Keras 2 engine modules behind ``tf.keras`` (``keras.src`` or ``tf_keras.src``).

    Parameters
    ----------
    package : str
        ``"keras"`` (TensorFlow 2.14/2.15) or ``"tf_keras"``.
    version : str
        That package's version.
    backend : module
        ``<package>.src.backend`` (global session, floatx).
    base_layer : module
        ``<package>.src.engine.base_layer`` (TF2 layer hierarchy).
    base_layer_v1 : module
        ``<package>.src.engine.base_layer_v1`` (TF1 layer hierarchy Keras swaps in for graph mode).
    base_layer_utils : module
        ``<package>.src.engine.base_layer_utils`` (the layer call context).
    """

    package: str
    version: str
    backend: ModuleType
    base_layer: ModuleType
    base_layer_v1: ModuleType
    base_layer_utils: ModuleType


def _tf_keras_package() -> tuple[str, str]:
    """Name and version of the package ``tf.keras`` resolves to (by where its ``Layer`` class lives)."""
    import tensorflow as tf

    package = tf.keras.layers.Layer.__module__.split(".")[0]
    return package, str(getattr(sys.modules[package], "__version__", "unknown"))


def check_environment() -> KerasInternals:
    """Raise ``ImportError`` listing every fix when ``signxai.tf`` cannot run here; otherwise the Keras internals.

    Returns
    -------
    KerasInternals
        The Keras 2 engine modules behind ``tf.keras``.

    Raises
    ------
    ImportError
        When ``tf.keras`` is (or would be) Keras 3, ``tf-keras`` is missing or mismatched, or iNNvestigate is
        missing or not 2.1.x; the message names every problem and its fix at once.
    """
    env = current_environment()
    problems = environment_problems(env)
    if not problems:
        package, version = _tf_keras_package()
        if not version.startswith("2."):
            problems.append(
                f"tf.keras is {package} {version} although TF_USE_LEGACY_KERAS={env.legacy_keras}: TensorFlow's "
                "Keras was used before the variable was set; set TF_USE_LEGACY_KERAS=1 before importing tensorflow"
            )
    if problems:
        raise ImportError(
            "signxai.tf cannot run in this environment (it needs Keras 2 as tf.keras and iNNvestigate "
            f"{INNVESTIGATE}; see the signxai-tf README, 'Install'):\n- " + "\n- ".join(problems)
        )
    return keras_internals()


def keras_internals() -> KerasInternals:
    """The Keras 2 engine modules behind ``tf.keras`` (call after :func:`check_environment` passed)."""
    package, version = _tf_keras_package()
    return KerasInternals(
        package=package,
        version=version,
        backend=importlib.import_module(f"{package}.src.backend"),
        base_layer=importlib.import_module(f"{package}.src.engine.base_layer"),
        base_layer_v1=importlib.import_module(f"{package}.src.engine.base_layer_v1"),
        base_layer_utils=importlib.import_module(f"{package}.src.engine.base_layer_utils"),
    )


def layer_call_context(layer: Any, inputs: Any) -> Any:
    """Keras' layer-call context for ``layer`` in graph mode, inference (``training=False``).

    ``CallContext.enter`` takes ``training`` as its fourth argument in Keras 2.14 and a ``call_context_args`` dict
    (``{"training": ...}``) in tf-keras 2.16+; this passes whichever the installed Keras 2 expects.

    Parameters
    ----------
    layer : keras.layers.Layer
        The layer (or model) whose call is active.
    inputs : list of tensors
        Its inputs.

    Returns
    -------
    context manager
    """
    context = keras_internals().base_layer_utils.call_context()
    if "call_context_args" in inspect.signature(context.enter).parameters:
        return context.enter(layer, inputs, True, {"training": False})
    return context.enter(layer, inputs, True, False)


def check_model(model: Any) -> None:
    """Raise ``ValueError`` unless ``model`` is a model of the Keras 2 behind ``tf.keras``.

    Parameters
    ----------
    model : object
        What the caller passed as the model.

    Raises
    ------
    ValueError
        For a Keras 3 model (saying how to build or load it through ``tf.keras``) or any other non-Keras object.
    """
    import tensorflow as tf

    if isinstance(model, tf.keras.Model):
        return
    package = type(model).__module__.split(".")[0]
    module = sys.modules.get(package)
    version = str(getattr(module, "__version__", ""))
    if package == "keras" and version.startswith("3."):
        tf_package, tf_version = _tf_keras_package()
        raise ValueError(
            f"model is a Keras {version} (Keras 3) model; signxai.tf explains Keras 2 models and tf.keras here is "
            f"{tf_package} {tf_version}: build or load the model through tf.keras (with TF_USE_LEGACY_KERAS=1 set "
            "before importing tensorflow, `tf.keras.models.load_model(path)` of an .h5 / SavedModel file, or rebuild "
            "it with tf.keras.layers and copy the weights with set_weights)"
        )
    raise ValueError(f"model must be a tf.keras Model, got {type(model).__module__}.{type(model).__name__}")
