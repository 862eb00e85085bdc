"""SignXAI sessions. `nox` (no arguments) runs the full test suite; `nox -l` lists every session.

Every session installs with `constraints.txt`, the toolchain verified to co-install on Python 3.11.
pip, not uv: uv ignores the machine's pip settings and would download torch.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
CONSTRAINTS = ("-c", str(ROOT / "constraints.txt"))
COMMON = str(ROOT / "packages" / "signxai-common")
TORCH = str(ROOT / "packages" / "signxai-torch")
TF = str(ROOT / "packages" / "signxai-tf")
PARITY = str(ROOT / "parity")
PYTHON = "3.11"

nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True
#: The default run is the full test suite (what CI runs); `docs` comes after `parity` so its parity page shows the
#: report just written. `demo` is the main job, run on its own (`nox -s demo`); its quick form is a parity test.
nox.options.sessions = ["lint", "tests-common", "tests-torch", "tests-tf", "parity", "docs"]


def install(session: nox.Session, *requirements: str) -> None:
    session.install(*CONSTRAINTS, *requirements)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the whole repository."""
    install(session, "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "--diff", ".")


@nox.session(name="tests-common", python=PYTHON)
def tests_common(session: nox.Session) -> None:
    """signxai-common: catalog, grammar, SIGN math, float64 reference, visualization."""
    install(session, f"{COMMON}[plot,test]")
    session.run("pytest", "packages/signxai-common/tests", *session.posargs)


@nox.session(name="tests-torch", python=PYTHON)
def tests_torch(session: nox.Session) -> None:
    """signxai-torch: every catalog method on PyTorch (Zennit) against the float64 reference; from_onnx."""
    install(session, f"{COMMON}[plot]", f"{TORCH}[onnx,test]")
    session.run("pytest", "packages/signxai-torch/tests", *session.posargs)


@nox.session(name="tests-tf", python=PYTHON)
def tests_tf(session: nox.Session) -> None:
    """signxai-tf: every catalog method on TensorFlow/Keras (iNNvestigate) against the float64 reference."""
    install(session, f"{COMMON}[plot]", f"{TF}[test]")
    session.run("pytest", "packages/signxai-tf/tests", *session.posargs)


@nox.session(python=PYTHON)
def parity(session: nox.Session) -> None:
    """Keras -> ONNX -> PyTorch: every applicable method in both backends, float64 and float32 tiers.

    Writes ``out/parity/report.{md,json}``; ``nox -s parity -- --profile full`` runs the whole catalog on VGG16 too.
    """
    install(session, COMMON, f"{TORCH}[onnx]", TF, f"{PARITY}[test]")
    session.run("pytest", "parity/tests")
    session.run("python", "-m", "signxai.parity", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: train a digits CNN and a 12-lead ECG CNN in Keras, explain them in both backends, write a gallery.

    Ends by printing the path of ``out/demo/index.html``.
    """
    install(session, f"{COMMON}[plot]", f"{TORCH}[onnx]", TF, f"{PARITY}[demo]")
    session.run("python", "-m", "signxai.parity.demo", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Method timings of both backends side by side with ratios (VGG16; ``-- --model ecg`` for the ECG CNN)."""
    install(session, COMMON, f"{TORCH}[onnx]", TF, PARITY)
    session.run("python", "-m", "signxai.parity.bench", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Sphinx site (warnings are errors): catalog and parity pages generated from the code and the latest report."""
    install(session, COMMON, "sphinx", "myst-parser", "furo")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html", *session.posargs)
