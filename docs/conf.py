# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Sphinx configuration of the qiskit-qdeep documentation."""

import qiskit_qdeep

project = "qiskit-qdeep"
copyright = "2026, qiskit-qdeep developers"  # pylint: disable=redefined-builtin
author = "qiskit-qdeep developers"
release = qiskit_qdeep.__version__
version = release

extensions = [
    "sphinx.ext.napoleon",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "nbsphinx",
    "reno.sphinxext",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
autosummary_generate = True
autodoc_default_options = {"inherited-members": None}
napoleon_google_docstring = True
nbsphinx_execute = "never"
html_theme = "qiskit-ecosystem"
html_title = f"{project} {release}"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "qiskit": ("https://quantum.cloud.ibm.com/docs/api/qiskit", None),
    "torch": ("https://pytorch.org/docs/stable", None),
}
