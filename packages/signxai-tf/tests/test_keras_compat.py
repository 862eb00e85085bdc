"""signxai.tf.keras_compat: the environment check (every problem with its fix), the Keras internals behind
tf.keras, and the Keras 3 model error. Runs on TensorFlow 2.14 (nox tests-tf) and 2.16+ with tf-keras
(nox tests-tf-latest); the branches that depend on the installed TensorFlow assert that world's behaviour."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import tensorflow as tf
from conftest import small_cnn, small_input

from signxai.tf import Explainer, explain
from signxai.tf.keras_compat import (
    Environment,
    check_environment,
    check_model,
    current_environment,
    environment_problems,
)

NO_DEPS = "pip install --no-deps --ignore-requires-python innvestigate==2.1.2"
TF_MINOR = tuple(int(p) for p in tf.__version__.split(".")[:2])


def env(**changes) -> Environment:
    """A working TensorFlow 2.21 + tf-keras environment on Python 3.12, with ``changes``."""
    base = {
        "python": (3, 12),
        "tensorflow": "2.21.0",
        "legacy_keras": "1",
        "tf_keras": "2.21.0",
        "innvestigate": "2.1.2",
    }
    return Environment(**{**base, **changes})


def test_working_environments_have_no_problems() -> None:
    assert environment_problems(env()) == []
    assert environment_problems(env(legacy_keras="true", tensorflow="2.16.2", tf_keras="2.16.0")) == []
    tf214 = env(python=(3, 11), tensorflow="2.14.1", legacy_keras=None, tf_keras=None)
    assert environment_problems(tf214) == []


def test_keras3_world_lists_every_fix_at_once() -> None:
    problems = environment_problems(env(legacy_keras=None, tf_keras=None, innvestigate=None))
    assert len(problems) == 3
    text = "\n".join(problems)
    assert 'pip install "tf-keras~=2.21.0"' in text
    assert "TF_USE_LEGACY_KERAS is unset" in text and "TF_USE_LEGACY_KERAS=1" in text
    assert NO_DEPS in text


def test_wrong_legacy_value_and_mismatched_tf_keras() -> None:
    problems = environment_problems(env(legacy_keras="0", tf_keras="2.19.0"))
    assert len(problems) == 2
    assert "tf-keras 2.19.0 does not match TensorFlow 2.21.0" in problems[0]
    assert "TF_USE_LEGACY_KERAS is '0'" in problems[1]


def test_tf1_era_innvestigate_is_named_with_the_reinstall_command() -> None:
    (problem,) = environment_problems(env(innvestigate="1.0.9"))
    assert "iNNvestigate 1.0.9 is installed" in problem
    assert "pip install --force-reinstall --no-deps --ignore-requires-python innvestigate==2.1.2" in problem


def test_innvestigate_command_on_python_311_is_plain_pip() -> None:
    (problem,) = environment_problems(env(python=(3, 11), tensorflow="2.14.1", tf_keras=None, innvestigate=None))
    assert problem.endswith("pip install innvestigate==2.1.2")


def test_this_environment_passes_and_internals_are_those_of_tf_keras() -> None:
    assert environment_problems(current_environment()) == []
    internals = check_environment()
    assert internals.package == ("tf_keras" if TF_MINOR >= (2, 16) else "keras")
    assert internals.version.startswith("2.")
    assert issubclass(tf.keras.layers.Dense, internals.base_layer.Layer)
    assert internals.backend.floatx() == tf.keras.backend.floatx()


def test_import_without_legacy_variable_in_a_fresh_interpreter() -> None:
    """TF >= 2.16: ImportError naming TF_USE_LEGACY_KERAS=1; TF 2.14: the variable is irrelevant, import works."""
    child_env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    child_env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    done = subprocess.run(
        [sys.executable, "-c", "import signxai.tf"], env=child_env, capture_output=True, text=True, timeout=300
    )
    if TF_MINOR >= (2, 16):
        assert done.returncode != 0
        assert "ImportError: signxai.tf cannot run in this environment" in done.stderr
        assert "TF_USE_LEGACY_KERAS is unset" in done.stderr
    else:
        assert done.returncode == 0, done.stderr


def test_non_model_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="model must be a tf.keras Model, got builtins.dict"):
        Explainer({}, "gradient")
    check_model(small_cnn())  # a tf.keras model passes


def keras3():
    import keras

    return keras if keras.__version__.startswith("3.") else None


@pytest.mark.skipif(
    TF_MINOR < (2, 16), reason="TensorFlow 2.14 installs Keras 2 only: no Keras 3 model can exist (tests-tf-latest)"
)
def test_keras3_model_is_a_value_error_saying_what_to_do() -> None:
    keras = keras3()
    assert keras is not None, "TensorFlow >= 2.16 depends on Keras 3"
    model = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Flatten(), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"Keras 3\) model; signxai.tf explains Keras 2 models") as info:
        explain(model, small_input(), "gradient")
    assert "build or load the model through tf.keras" in str(info.value)


def test_no_module_imports_keras_internals_directly() -> None:
    """keras.src.* exists on TF 2.14 only (tf-keras has tf_keras.src.*, Keras 3 neither): go through keras_compat."""
    import ast
    from pathlib import Path

    import signxai.tf

    offenders = []
    for path in sorted(Path(signxai.tf.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("keras", "tf_keras")]
    assert offenders == [], f"import Keras internals through signxai.tf.keras_compat: {offenders}"
