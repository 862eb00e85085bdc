"""Sphinx configuration of the SignXAI docs (`nox -s docs`, warnings are errors)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

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
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# The framework backends are documented from their docstrings without installing the frameworks.
autodoc_mock_imports = ["torch", "zennit", "onnx", "onnx2torch", "tensorflow", "keras", "innvestigate", "tf2onnx"]
nitpicky = False
