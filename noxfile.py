"""SignXAI sessions. `nox` (no arguments) runs the full test suite; `nox -l` lists every session.

Two toolchains (docs/toolchain.md is the support matrix):

- pinned: the sessions without a suffix install with `constraints.txt` on Python 3.11 (TensorFlow 2.14,
  numpy 1.26, Zennit 0.5.1); the parity suite's proof runs there.
- latest: the `*-latest` sessions install without constraints, so pip picks the newest releases that install:
  `tests-torch-latest` on Python 3.13 (numpy 2, Zennit 1.0), `tests-tf-latest` and `parity-latest` on Python 3.12
  (TensorFlow 2.16+ with tf-keras and TF_USE_LEGACY_KERAS=1, numpy 2, iNNvestigate 2.1.2 by the documented
  `--no-deps` step). Each prints the versions it installed and fails when it did not get the stack it is named for.

pip, not uv: uv ignores the machine's pip settings and would download torch.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import nox

ROOT = Path(__file__).parent
CONSTRAINTS = ("-c", str(ROOT / "constraints.txt"))
COMMON = str(ROOT / "packages" / "signxai-common")
TORCH = str(ROOT / "packages" / "signxai-torch")
TF = str(ROOT / "packages" / "signxai-tf")
PARITY = str(ROOT / "parity")


def interpreter(version: str) -> str:
    """``version`` when a working ``python<version>`` is on PATH, else pyenv's interpreter of that version.

    pyenv puts a ``python3.13`` shim on PATH for every installed version but runs it only for activated versions
    (``pyenv global``), so nox would report 3.12 / 3.13 as missing on a machine that has them.
    """
    found = shutil.which(f"python{version}")
    if found and subprocess.run([found, "-c", ""], capture_output=True, check=False).returncode == 0:
        return version
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(root.glob(f"versions/{version}.*/bin/python{version}"))
    return str(candidates[-1]) if candidates else version  # nox reports a missing interpreter


PYTHON = "3.11"
#: Python of the newest-torch session (numpy 2, Zennit 1.0 need >= 3.11.11; 3.13 is the newest torch supports here).
TORCH_LATEST_PYTHON = interpreter("3.13")
#: Python of the newest-TensorFlow sessions (iNNvestigate 2.1.2 runs there through tf-keras; see INNVESTIGATE_STEP).
TF_LATEST_PYTHON = interpreter("3.12")
#: The documented iNNvestigate install step for Python >= 3.12 (signxai-tf README): iNNvestigate 2.1.2 declares
#: Python < 3.12, TensorFlow < 2.15 and numpy < 2 but runs on TensorFlow 2.21 (tested) through tf-keras; its runtime
#: dependencies (tensorflow, numpy) come with signxai-tf. A plain `pip install innvestigate` picks 1.0.9 there.
INNVESTIGATE_STEP = ("--no-deps", "--ignore-requires-python", "innvestigate==2.1.2")
#: Environment of every session that runs signxai.tf on TensorFlow >= 2.16: tf.keras is tf-keras (Keras 2).
LEGACY_KERAS = {"TF_USE_LEGACY_KERAS": "1"}
#: parity-latest's default selection (CI budget): the float64 tier of the parity suite's models without VGG16 (the
#: 12-lead ECG CNN with every applicable method, the three small conversion models with SMALL_CI_METHODS).
PARITY_LATEST_ARGS = ("--models", "ecg_cnn", "batchnorm_cnn", "pooling_cnn", "reshape_cnn", "--tiers", "float64")

nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True
#: The default run is the full test suite (what CI runs); `docs` comes after `parity` so its parity page shows the
#: report just written. `demo` is the main job, run on its own (`nox -s demo`); its quick form is a parity test.
#: The `*-latest` sessions run the same tests on the newest toolchains (docs/toolchain.md).
nox.options.sessions = [
    "lint",
    "tests-common",
    "tests-torch",
    "tests-tf",
    "tests-torch-latest",
    "tests-tf-latest",
    "parity",
    "docs",
]


#: Set (``.ci/run`` does) to delete each session's virtualenv when the session ends. Every backend session holds a
#: CUDA build of torch (about 5.5 GB) or TensorFlow (about 2 GB); keeping all of them filled CI's disk (a run
#: ended in ``OSError: [Errno 28] No space left on device``). With it set, at most one environment exists at a time.
DROP_VENVS = os.environ.get("SIGNXAI_DROP_VENVS", "") not in ("", "0")


def dropping_venv(func: Callable[[nox.Session], None]) -> Callable[[nox.Session], None]:
    """Run the session, then delete its virtualenv when ``SIGNXAI_DROP_VENVS`` is set (pass or fail)."""

    @functools.wraps(func)
    def wrapper(session: nox.Session) -> None:
        try:
            func(session)
        finally:
            location = getattr(session.virtualenv, "location", None)
            if DROP_VENVS and location and Path(location).is_dir():
                shutil.rmtree(location, ignore_errors=True)
                session.log(f"removed {location} (SIGNXAI_DROP_VENVS)")

    return wrapper


def install(session: nox.Session, *requirements: str) -> None:
    session.install(*CONSTRAINTS, *requirements)


def require_versions(session: nox.Session, **minimum: str) -> None:
    """Print the installed version of every distribution named and fail unless each is at least ``minimum``.

    Keyword names are distributions with ``-`` written ``_``; a value ``""`` only prints the version.
    """
    script = (
        "import sys\n"
        "from importlib.metadata import version\n"
        "def key(v):\n"
        "    return tuple(int(''.join(c for c in p if c.isdigit()) or 0) for p in v.split('.')[:3])\n"
        "bad = []\n"
        f"for name, low in {minimum!r}.items():\n"
        "    name = name.replace('_', '-')\n"
        "    v = version(name)\n"
        "    print(f'{name}=={v}')\n"
        "    if low and key(v) < key(low):\n"
        "        bad.append(f'{name} {v} < {low}')\n"
        "print(f'python=={sys.version.split()[0]}')\n"
        "sys.exit('not the stack this session is for: ' + ', '.join(bad) if bad else 0)\n"
    )
    session.run("python", "-c", script)


@nox.session(python=PYTHON)
@dropping_venv
def lint(session: nox.Session) -> None:
    """ruff over the whole repository."""
    install(session, "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "--diff", ".")


@nox.session(name="tests-common", python=PYTHON)
@dropping_venv
def tests_common(session: nox.Session) -> None:
    """signxai-common: catalog, grammar, SIGN math, float64 reference, visualization."""
    install(session, f"{COMMON}[plot,test]")
    session.run("pytest", "packages/signxai-common/tests", *session.posargs)


@nox.session(name="tests-torch", python=PYTHON)
@dropping_venv
def tests_torch(session: nox.Session) -> None:
    """signxai-torch: every catalog method on PyTorch (Zennit) against the float64 reference; from_onnx."""
    install(session, f"{COMMON}[plot]", f"{TORCH}[onnx,quantus,test]")
    session.run("pytest", "packages/signxai-torch/tests", *session.posargs)


@nox.session(name="tests-tf", python=PYTHON)
@dropping_venv
def tests_tf(session: nox.Session) -> None:
    """signxai-tf: every catalog method on TensorFlow/Keras (iNNvestigate) against the float64 reference."""
    install(session, f"{COMMON}[plot]", f"{TF}[quantus,test]")
    session.run("pytest", "packages/signxai-tf/tests", *session.posargs)


@nox.session(name="tests-torch-latest", python=TORCH_LATEST_PYTHON)
@dropping_venv
def tests_torch_latest(session: nox.Session) -> None:
    """signxai-common + signxai-torch tests on the newest stack (Python 3.13, no pins).

    pip picks the newest torch it offers, numpy 2, Zennit 1.0, onnx and onnx2torch; the versions are printed.
    """
    session.install(f"{COMMON}[plot,test]", f"{TORCH}[onnx,test]")
    require_versions(session, numpy="2", torch="", torchvision="", zennit="1.0", onnx="", onnx2torch="")
    session.run("pytest", "packages/signxai-common/tests", *session.posargs)  # apart: both have test_quickstart.py
    session.run("pytest", "packages/signxai-torch/tests", *session.posargs)


@nox.session(name="tests-tf-latest", python=TF_LATEST_PYTHON)
@dropping_venv
def tests_tf_latest(session: nox.Session) -> None:
    """signxai-common + signxai-tf tests on the newest stack (Python 3.12, TensorFlow + tf-keras, no pins).

    Newest TensorFlow with the ``tf-keras`` extra, numpy 2, iNNvestigate 2.1.2 by the documented step,
    ``TF_USE_LEGACY_KERAS=1``; the versions are printed.
    """
    session.install(f"{COMMON}[plot,test]", f"{TF}[tf-keras,test]")
    session.install(*INNVESTIGATE_STEP)
    require_versions(session, numpy="2", tensorflow="2.16", tf_keras="2.16", keras="", innvestigate="2.1.2")
    session.run("pytest", "packages/signxai-common/tests", *session.posargs)  # apart: both have test_quickstart.py
    session.run("pytest", "packages/signxai-tf/tests", *session.posargs, env=LEGACY_KERAS)


@nox.session(python=PYTHON)
@dropping_venv
def parity(session: nox.Session) -> None:
    """Keras -> ONNX -> PyTorch: every applicable method in both backends, float64 and float32 tiers.

    Writes ``out/parity/report.{md,json}``; ``nox -s parity -- --profile full`` runs the whole catalog on VGG16 too.
    """
    install(session, COMMON, f"{TORCH}[onnx]", TF, f"{PARITY}[test]")
    session.run("pytest", "parity/tests")
    session.run("python", "-m", "signxai.parity", *session.posargs)


@nox.session(name="parity-applications", python=PYTHON)
@dropping_venv
def parity_applications(session: nox.Session) -> None:
    """``signxai.parity.check`` on keras.applications ResNet50, MobileNetV2, DenseNet121, EfficientNetB0 (32x32).

    Seeded weights, both tiers, one method per rule kind; writes ``out/parity-applications/report.{md,json}``. The
    way to check a model of your own (parity/README.md); not in the default run (about 15 minutes on 2 cores).
    """
    install(session, COMMON, f"{TORCH}[onnx]", TF, PARITY)
    session.run("python", "-m", "signxai.parity.applications", *session.posargs)


@nox.session(name="parity-latest", python=TF_LATEST_PYTHON)
@dropping_venv
def parity_latest(session: nox.Session) -> None:
    """Parity suite on the newest stack (Python 3.12): float64 tier of the ECG CNN and the three small models.

    Newest TensorFlow + tf-keras, numpy 2, Zennit 1.0, newest torch, onnx, tf2onnx, onnx2torch, no pins.

    Writes ``out/parity-latest/report.{md,json}``. Arguments (any of ``python -m signxai.parity``, e.g. ``--models
    ecg_cnn --tiers float64 float32`` or ``--profile ci``) replace the selection; the pinned ``parity`` stays the proof.
    """
    session.install(COMMON, f"{TORCH}[onnx]", f"{TF}[tf-keras]", PARITY)
    session.install(*INNVESTIGATE_STEP)
    # PyPI's torch wheel brings triton; importing triton after TensorFlow >= 2.16 segfaults (measured with TF 2.21 +
    # triton 3.8: TF's and triton's LLVM clash). The suite imports TensorFlow first and runs on the CPU, where
    # torch never needs triton: one environment with both frameworks goes without it (docs/toolchain.md).
    session.run("python", "-m", "pip", "uninstall", "--yes", "triton")
    require_versions(
        session, numpy="2", tensorflow="2.16", tf_keras="2.16", innvestigate="2.1.2", torch="", zennit="1.0",
        onnx="", tf2onnx="", onnx2torch="",
    )  # fmt: skip
    args = session.posargs or list(PARITY_LATEST_ARGS)
    session.run("python", "-m", "signxai.parity", "--out", "out/parity-latest", *args, env=LEGACY_KERAS)


@nox.session(python=PYTHON)
@dropping_venv
def demo(session: nox.Session) -> None:
    """The main job: train a digits CNN and a 12-lead ECG CNN in Keras, explain them in both backends, write a gallery.

    Ends by printing the path of ``out/demo/index.html``.
    """
    install(session, f"{COMMON}[plot]", f"{TORCH}[onnx]", TF, f"{PARITY}[demo]")
    session.run("python", "-m", "signxai.parity.demo", *session.posargs)


@nox.session(python=PYTHON)
@dropping_venv
def paper(session: nox.Session) -> None:
    """The SIGN paper's digits experiment: 12 Keras models, the same weights in PyTorch, faithfulness and input bias.

    Writes ``out/paper/table.{md,csv}`` and ``out/paper/morf.png`` (docs/paper.md); arguments go to
    ``python -m signxai.parity.paper`` (e.g. ``-- --samples 20 --architectures cnn``).
    """
    install(session, f"{COMMON}[plot]", f"{TORCH}[onnx]", TF, f"{PARITY}[demo]")
    session.run("python", "-m", "signxai.parity.paper", *session.posargs)


@nox.session(python=PYTHON)
@dropping_venv
def bench(session: nox.Session) -> None:
    """Method timings of both backends side by side with ratios (VGG16; ``-- --model ecg`` for the ECG CNN)."""
    install(session, COMMON, f"{TORCH}[onnx]", TF, PARITY)
    session.run("python", "-m", "signxai.parity.bench", *session.posargs)


@nox.session(python=PYTHON)
@dropping_venv
def docs(session: nox.Session) -> None:
    """Sphinx site (warnings are errors): catalog and parity pages generated from the code and the latest report."""
    # The backends are installed (pinned stack) so that autodoc imports them as they are: both check their
    # framework at import (Zennit's hook signature, signxai.tf's Keras 2 / iNNvestigate check), which mocks fail.
    install(session, COMMON, f"{TORCH}[onnx]", TF, "sphinx", "myst-parser", "furo")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html", *session.posargs)
