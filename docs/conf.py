"""Sphinx configuration of the SignXAI docs (`nox -s docs`, warnings are errors)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
# The docs environment installs only signxai-common; the backends and the parity suite are documented from their
# sources. `signxai` is a PEP 420 namespace package (no signxai/__init__.py anywhere), so these entries add
# signxai.torch, signxai.tf and signxai.parity to it.
for src in ("packages/signxai-torch/src", "packages/signxai-tf/src", "parity/src"):
    sys.path.append(str(ROOT / src))

project = "SignXAI"
author = "SignXAI developers"
copyright = "2026, SignXAI developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "signxai_pages",
]
source_suffix = {".md": "markdown"}
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "README.md"]
html_theme = "furo"
html_title = "SignXAI"
html_static_path = ["_static"]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# nox -s docs installs the backends with their frameworks (both inspect them at import: Zennit's hook signature,
# signxai.tf's Keras 2 / iNNvestigate check); the parity suite's converter and matplotlib stay mocked.
autodoc_mock_imports = [
    "tf2onnx",
    "matplotlib",
]
nitpicky = False
