# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Sphinx configuration of the qiskit-qdeep documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (warnings are errors; the test suite
runs the same build on a copy of ``docs/`` in ``test/test_docs.py``). The build is offline:
notebooks are rendered from their stored outputs (never executed), pandoc comes from the
``pypandoc_binary`` wheel when none is on ``PATH``, and intersphinx links are only resolved with
``QDEEP_DOCS_INTERSPHINX=1``. The site works offline too: MathJax is served from its own
``_static/mathjax`` (the ``sphinx-mathjax-offline`` package), and no page links a remote script
or stylesheet.
"""

import os
import shutil
import sys

DOCS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(DOCS_DIR, "_ext"))
sys.path.insert(0, os.path.dirname(DOCS_DIR))

import qiskit_qdeep  # noqa: E402

if shutil.which("pandoc") is None:  # nbsphinx converts markdown cells with pandoc
    try:
        import pypandoc

        os.environ["PATH"] = (
            os.path.dirname(pypandoc.get_pandoc_path()) + os.pathsep + os.environ.get("PATH", "")
        )
    except (ImportError, OSError):
        pass

# nbsphinx renders through nbconvert's "rst" template, which lives in <prefix>/share/jupyter of
# the environment nbconvert was installed into. In a virtual environment that reuses a base
# installation (--system-site-packages), jupyter only looks in the venv's prefix: add the others.
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    dict.fromkeys(
        [
            *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep)),
            *(os.path.join(p, "share", "jupyter") for p in (sys.prefix, sys.base_prefix)),
        ]
    )
)

project = "qiskit-qdeep"
copyright = "2026, qiskit-qdeep developers"  # noqa: A001
author = "qiskit-qdeep developers"
release = qiskit_qdeep.__version__
version = release

extensions = [
    "sphinx.ext.napoleon",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax served from _static/mathjax (bundled by the sphinx-mathjax-offline package, which
    # sets mathjax_path) instead of a CDN, so the formulas render offline
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "nbsphinx",
    "reno.sphinxext",
    # loaded as an extension (not only as a theme) so it links furo's stylesheet in time
    "qiskit_sphinx_theme",
    "qdeep_docs",
]
# _templates/custom_templates/extra_head.html replaces the theme's, which links Google Fonts
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_ext", "_templates"]

# API pages: each docs/apidocs/<module>.rst holds one automodule; the module docstring holds the
# autosummary list whose stubs are generated into docs/stubs/. Stubs left from an earlier build
# (a renamed or removed object) would be pages outside any toctree, an error under -W: start clean.
shutil.rmtree(os.path.join(DOCS_DIR, "stubs"), ignore_errors=True)
autosummary_generate = True
# Class pages (docs/_templates/autosummary/class.rst) document the class's members and those it
# inherits from our own bases, not those of torch's Module, Qiskit's Gate/Instruction,
# scikit-learn's estimator bases or Python's exceptions (their docstrings point at labels of other
# projects' documentation).
_FOREIGN_BASES = [
    "Module",
    "Gate",
    "Instruction",
    "BaseEstimator",
    "ClassifierMixin",
    "ClusterMixin",
    "RegressorMixin",
    "TransformerMixin",
    "BaseException",
]
autodoc_default_options = {"inherited-members": ",".join(_FOREIGN_BASES)}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Tutorials: executed notebooks with stored outputs, rendered as they are.
nbsphinx_execute = "never"
nbsphinx_allow_errors = False
# nbsphinx adds require.js from a CDN to every page; it is only needed by notebooks with widget
# outputs, which the tutorials do not have (test/test_docs.py checks there is no remote script).
nbsphinx_requirejs_path = ""

html_theme = "qiskit-ecosystem"
html_title = f"{project} {release}"
html_last_updated_fmt = None

if os.environ.get("QDEEP_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "qiskit": ("https://quantum.cloud.ibm.com/docs/api/qiskit", None),
        "torch": ("https://pytorch.org/docs/stable", None),
    }
else:  # offline build (CI): no inventories to fetch
    intersphinx_mapping = {}
