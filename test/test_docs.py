# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The docs build with warnings as errors, cover every public module, and their code runs."""

from __future__ import annotations

import ast
import glob
import html
import importlib
import importlib.util
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
import typing
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
    """``sphinx-build -W`` (warnings are errors) succeeds, renders every page, and works offline.

    The site is built once per test session, in the background from the start of this module
    (:func:`setUpModule`) while :class:`TestDocsContent` runs, and every test here inspects that
    one build.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reason = _missing_docs_tools()
        if reason:
            raise unittest.SkipTest(f"docs build not checked: {reason}")
        build = _start_docs_build()
        cls.returncode, cls.log = build.wait()
        cls.html = build.html
        cls.pages = {}
        if cls.returncode == 0:
            for path in glob.glob(os.path.join(cls.html, "**", "*.html"), recursive=True):
                with open(path, encoding="utf-8") as handle:
                    cls.pages[os.path.relpath(path, cls.html).replace(os.sep, "/")] = _scan(
                        handle.read()
                    )

    def setUp(self):
        super().setUp()
        self.assertEqual(self.returncode, 0, f"sphinx-build -W failed:\n{self.log[-6000:]}")

    def _read(self, page: str) -> str:
        with open(os.path.join(self.html, page), encoding="utf-8") as handle:
            return handle.read()

    def test_every_page_is_rendered(self):
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
            self.assertIn(page + ".html", self.pages)

    def test_reproduction_results_and_release_notes(self):
        text = self._read("reproductions.html")
        for path in glob.glob(os.path.join(DOCS, "reproductions", "*.json")):
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            first = data["comparisons"][0]
            if first["unit"] == "%":
                self.assertIn(f"{first['ours'] * 100:.2f}", text, path)
        self.assertIn("New Features", self._read("release_notes.html"))

    def test_no_remote_scripts_or_stylesheets(self):
        """Viewed offline, every page has all its scripts, stylesheets, fonts and images."""
        self.assertGreater(len(self.pages), 20)
        for page, scan in self.pages.items():
            remote = [(tag, url) for tag, url in scan.assets if _is_remote(url)]
            self.assertEqual(remote, [], page)
        for path in glob.glob(os.path.join(self.html, "_static", "**", "*.css"), recursive=True):
            with open(path, encoding="utf-8") as handle:
                css = handle.read()
            remote = re.findall(r"(?:@import\s+|url\(\s*)[\"']?((?:[a-z]+:)?//[^\"')\s]+)", css)
            self.assertEqual(remote, [], os.path.relpath(path, self.html))

    def test_math_pages_load_the_local_mathjax(self):
        math_pages = [page for page, scan in self.pages.items() if scan.has_math]
        # the layers, the engine, HHL, ... document their maths: far fewer pages with math means
        # formulas are no longer rendered as math
        self.assertGreaterEqual(len(math_pages), 10)
        for page in math_pages:
            mathjax = [url for tag, url in self.pages[page].assets if "mathjax" in url.lower()]
            self.assertEqual(len(mathjax), 1, f"{page}: MathJax scripts {mathjax}")
            local = posixpath.normpath(
                posixpath.join(posixpath.dirname(page), mathjax[0].split("?")[0])
            )
            self.assertEqual(local, "_static/mathjax/tex-chtml.js", page)
        self.assertTrue(
            os.path.isfile(os.path.join(self.html, "_static", "mathjax", "tex-chtml.js"))
        )
        # the CommonHTML output's fonts, loaded by tex-chtml.js relative to its own folder
        fonts = os.path.join(self.html, "_static", "mathjax", "output", "chtml", "fonts", "woff-v2")
        self.assertTrue(os.path.isfile(os.path.join(fonts, "MathJax_Main-Regular.woff")), fonts)


#: Tags whose ``src`` the browser loads with the page. Plain hyperlinks (``<a href>``) are not
#: resources: a reader follows them or not.
_SRC_TAGS = ("script", "img", "iframe", "embed", "source", "audio", "video")
#: ``<link rel=...>`` values that make the browser fetch (or connect to) ``href``.
_FETCHING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "icon",
    "manifest",
}
_TAG = re.compile(
    r"<(link|{})\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>".format("|".join(_SRC_TAGS)), re.I
)
_ATTR = re.compile(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+)")


class _PageScan(typing.NamedTuple):
    """What a built page loads: ``(tag, url)`` of its scripts, stylesheets, images, ..."""

    assets: list[tuple[str, str]]
    #: Whether the page has a formula (Sphinx's math nodes: ``class="math ..."``).
    has_math: bool


def _scan(text: str) -> _PageScan:
    assets = []
    for match in _TAG.finditer(text):
        tag = match.group(1).lower()
        attrs = {k.lower(): html.unescape(v.strip("\"'")) for k, v in _ATTR.findall(match.group(2))}
        if tag == "link":
            if set(attrs.get("rel", "").lower().split()) & _FETCHING_RELS and "href" in attrs:
                assets.append((tag, attrs["href"]))
        elif attrs.get("src"):
            assets.append((tag, attrs["src"]))
    return _PageScan(assets, bool(re.search(r"class=\"math[\s\"]", text)))


def _is_remote(url: str) -> bool:
    return bool(re.match(r"(?i)^(?:[a-z][a-z0-9+.-]*:)?//", url.strip()))


class _DocsBuild:
    """One ``sphinx-build -W`` of the site, running in a subprocess.

    It builds a copy of ``docs/`` and the tutorial notebooks in a temporary folder, so it writes
    nothing into the checkout (autosummary's ``docs/stubs``, the notebook copies) and two builds
    running at the same time (another test session, a ``sphinx-build`` by hand) cannot delete each
    other's generated sources.
    """

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="qdeep-docs-")
        tmp = self._tmp.name
        src = os.path.join(tmp, "src")
        generated = {"_build", "stubs", "tutorials", ".ipynb_checkpoints", "__pycache__"}
        shutil.copytree(
            DOCS,
            os.path.join(src, "docs"),
            ignore=lambda folder, names: [
                n for n in names if n in generated and os.path.isdir(os.path.join(folder, n))
            ],
        )
        # the qdeep_docs extension copies ../tutorials/*.ipynb next to the docs it builds
        os.makedirs(os.path.join(src, "tutorials"))
        for notebook in glob.glob(os.path.join(ROOT, "tutorials", "*.ipynb")):
            shutil.copy2(notebook, os.path.join(src, "tutorials"))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
        env.setdefault("OMP_NUM_THREADS", "1")
        env["MPLBACKEND"] = "Agg"
        self.html = os.path.join(tmp, "html")
        self._log_path = os.path.join(tmp, "sphinx.log")
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
            os.path.join(src, "docs"),
            self.html,
        ]
        self._started = time.monotonic()
        with open(self._log_path, "w", encoding="utf-8") as log:
            # cwd: reno's release-notes directive scans the git repository it is run in
            self._process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        self._result: tuple[int, str] | None = None

    def wait(self) -> tuple[int, str]:
        """The build's exit status and output, once it has finished (at most BUILD_TIMEOUT)."""
        if self._result is None:
            remaining = BUILD_TIMEOUT - (time.monotonic() - self._started)
            try:
                returncode = self._process.wait(timeout=max(remaining, 1.0))
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
                returncode = -1
            with open(self._log_path, encoding="utf-8", errors="replace") as handle:
                log = handle.read()
            if returncode == -1:
                log += f"\nsphinx-build did not finish within {BUILD_TIMEOUT} s"
            self._result = (returncode, log)
        return self._result

    def cleanup(self) -> None:
        """Stops the build if it is still running and removes its folder."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._tmp.cleanup()


_BUILD: _DocsBuild | None = None


def _start_docs_build() -> _DocsBuild:
    """The session's docs build, started now unless it already was."""
    global _BUILD
    if _BUILD is None:
        _BUILD = _DocsBuild()
    return _BUILD


def setUpModule():
    # Start the build (a separate, single-threaded process for a minute or so) before the
    # in-process checks of TestDocsContent, so the two overlap on a machine with two cores.
    if _missing_docs_tools() is None:
        _start_docs_build()


def tearDownModule():
    global _BUILD
    if _BUILD is not None:
        _BUILD.cleanup()
        _BUILD = None
