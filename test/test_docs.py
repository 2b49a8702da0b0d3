# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The docs build with warnings as errors, cover every public module, and their code runs."""

from __future__ import annotations

import ast
import glob
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import qiskit_qdeep
from test import QDeepTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DOCS = os.path.join(ROOT, "docs")
PACKAGE = os.path.join(ROOT, "qiskit_qdeep")

#: Seconds the docs build may take before the test fails (about 1 minute on a 2-core machine).
BUILD_TIMEOUT = 600


def _missing_docs_tools() -> str | None:
    """Why the docs cannot be built here, or ``None``."""
    for module in ("sphinx", "nbsphinx", "qiskit_sphinx_theme", "reno"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[docs]')"
    if shutil.which("pandoc") is None and importlib.util.find_spec("pypandoc") is None:
        return "pandoc is not available (pip install pypandoc_binary)"
    return None


def _python_blocks(path: str) -> list[str]:
    """The ``.. code-block:: python`` bodies of an RST file, dedented."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:(?: {3}.*)?\n)+)", text)
    return ["\n".join(line[3:] for line in block.splitlines()) for block in blocks]


def _public_modules() -> list[str]:
    """Subpackages and top-level modules of qiskit_qdeep whose docstring is an API page."""
    names = []
    for entry in sorted(os.listdir(PACKAGE)):
        if entry.startswith("_"):
            continue
        path = os.path.join(PACKAGE, entry)
        if os.path.isdir(path) and os.path.exists(os.path.join(path, "__init__.py")):
            names.append(entry)
        elif entry.endswith(".py"):
            with open(path, encoding="utf-8") as handle:
                docstring = ast.get_docstring(ast.parse(handle.read())) or ""
            if "autosummary::" in docstring:
                names.append(entry[:-3])
    return names


class TestDocsContent(QDeepTestCase):
    """Fast checks that keep the documentation true to the package."""

    def test_every_public_module_has_an_api_page(self):
        pages = {
            os.path.basename(p)[len("qiskit_qdeep.") : -len(".rst")]
            for p in glob.glob(os.path.join(DOCS, "apidocs", "qiskit_qdeep.*.rst"))
        }
        top_level = qiskit_qdeep.__doc__
        for name in _public_modules():
            with self.subTest(module=name):
                # a namespace package such as ``circuit`` is covered by its documented children
                covered = {p for p in pages if p == name or p.startswith(name + ".")}
                self.assertTrue(
                    covered,
                    f"qiskit_qdeep.{name} has no docs/apidocs/qiskit_qdeep.{name}.rst "
                    "(one automodule; the module docstring holds the autosummary list)",
                )
                for page in covered:
                    self.assertRegex(
                        top_level,
                        rf"\n   {re.escape(page)}\n",
                        f"qiskit_qdeep.{page} is missing from the subpackage list in "
                        "qiskit_qdeep/__init__.py",
                    )

    def test_api_pages_are_single_automodules(self):
        for path in glob.glob(os.path.join(DOCS, "apidocs", "qiskit_qdeep.*.rst")):
            module = os.path.basename(path)[: -len(".rst")]
            with self.subTest(page=module):
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
                self.assertIn(f".. automodule:: {module}\n", text)
                importlib.import_module(module)

    def test_every_stored_result_is_shown(self):
        from qiskit_qdeep.reproductions import REGISTRY

        with open(os.path.join(DOCS, "reproductions.rst"), encoding="utf-8") as handle:
            shown = set(re.findall(r"\.\. reproduction-results:: (\S+)", handle.read()))
        stored = {
            os.path.basename(p)[: -len(".json")]
            for p in glob.glob(os.path.join(DOCS, "reproductions", "*.json"))
        }
        self.assertEqual(stored, shown, "docs/reproductions/*.json vs docs/reproductions.rst")
        for name in stored:
            with self.subTest(reproduction=name):
                self.assertIn(name, REGISTRY)
                with open(os.path.join(DOCS, "reproductions", f"{name}.json")) as handle:
                    data = json.load(handle)
                self.assertFalse(data["quick"], "the docs show full runs, not quick variants")
                for figure in data["figures"]:
                    path = os.path.join(DOCS, "reproductions", os.path.basename(figure))
                    self.assertTrue(os.path.exists(path), f"{path} (figure of {name})")

    def test_getting_started_code_runs(self):
        blocks = _python_blocks(os.path.join(DOCS, "getting_started.rst"))
        self.assertGreaterEqual(len(blocks), 3)
        namespace: dict = {}
        for i, block in enumerate(blocks):
            with self.subTest(block=i):
                exec(compile(block, f"getting_started.rst[{i}]", "exec"), namespace)  # noqa: S102
        self.assertEqual(tuple(namespace["out"].shape), (64, 5))
        self.assertEqual(namespace["aer_layer"].runner.num_jobs, 1)
        self.assertGreater(namespace["history"].test_accuracy[-1], 0.8)  # 2 classes

    def test_ibm_quantum_guide_code(self):
        """Every block compiles and imports only names that exist; the local block runs."""
        blocks = _python_blocks(os.path.join(DOCS, "ibm_quantum.rst"))
        self.assertGreaterEqual(len(blocks), 4)
        local = [b for b in blocks if b.startswith("# Runs locally")]
        self.assertEqual(len(local), 1)
        for i, block in enumerate(blocks):
            with self.subTest(block=i):
                tree = ast.parse(block)
                for node in ast.walk(tree):
                    if isinstance(node, ast.ImportFrom):
                        module = importlib.import_module(node.module)
                        for alias in node.names:
                            self.assertTrue(
                                hasattr(module, alias.name), f"{node.module}.{alias.name}"
                            )
                    elif isinstance(node, ast.Import):
                        for alias in node.names:
                            importlib.import_module(alias.name)
        namespace: dict = {}
        exec(compile(local[0], "ibm_quantum.rst", "exec"), namespace)  # noqa: S102
        self.assertEqual(namespace["layer"].runner.num_jobs, 1)


class TestDocsBuild(QDeepTestCase):
    """``sphinx-build -W`` (warnings are errors) succeeds and renders every page."""

    def test_sphinx_build_warnings_are_errors(self):
        reason = _missing_docs_tools()
        if reason:
            raise unittest.SkipTest(f"docs build not checked: {reason}")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
        env.setdefault("OMP_NUM_THREADS", "1")
        env["MPLBACKEND"] = "Agg"
        with tempfile.TemporaryDirectory() as tmp:
            html = os.path.join(tmp, "html")
            command = [
                sys.executable,
                "-m",
                "sphinx",
                "-W",
                "--keep-going",
                "-q",
                "-b",
                "html",
                "-d",
                os.path.join(tmp, "doctrees"),
                DOCS,
                html,
            ]
            proc = subprocess.run(
                command,
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
            self.assertEqual(proc.returncode, 0, f"sphinx-build -W failed:\n{proc.stderr[-6000:]}")
            expected = ["index", "getting_started", "ibm_quantum", "reproductions", "release_notes"]
            expected += [
                "tutorials/" + os.path.basename(p)[: -len(".ipynb")]
                for p in glob.glob(os.path.join(ROOT, "tutorials", "*.ipynb"))
            ]
            expected += [
                "apidocs/" + os.path.basename(p)[: -len(".rst")]
                for p in glob.glob(os.path.join(DOCS, "apidocs", "*.rst"))
            ]
            for page in expected:
                self.assertTrue(os.path.exists(os.path.join(html, page + ".html")), page)
            with open(os.path.join(html, "reproductions.html"), encoding="utf-8") as handle:
                text = handle.read()
            for path in glob.glob(os.path.join(DOCS, "reproductions", "*.json")):
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
                first = data["comparisons"][0]
                if first["unit"] == "%":
                    self.assertIn(f"{first['ours'] * 100:.2f}", text, path)
            with open(os.path.join(html, "release_notes.html"), encoding="utf-8") as handle:
                self.assertIn("New Features", handle.read())
