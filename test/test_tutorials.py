# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The tutorial notebooks: checks of the committed files, and execution top to bottom.

The committed ``tutorials/*.ipynb`` files are the source of the tutorials (the docs render their
stored outputs). :class:`TestTutorialFiles` reads them: no stderr or error output, no machine path
in any stored text, every runtime ``Batch``/``Session`` opened in a ``with`` block, enough prose,
small outputs. :class:`TestTutorialExecution` executes every notebook on its local path
(``USE_IBM_QUANTUM = False``) in **one** kernel process, started once for the class; each
notebook starts from an emptied namespace (``%reset -f``) in its own temporary working folder, so
the imports of qiskit, torch and qiskit-ibm-runtime are paid once instead of once per notebook.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import re
import tempfile

import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from test import QDeepTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TUTORIALS = os.path.join(ROOT, "tutorials")
NOTEBOOKS = sorted(glob.glob(os.path.join(TUTORIALS, "*.ipynb")))

#: Fewest words of markdown prose a tutorial needs (formulas and code spans not counted).
MIN_PROSE_WORDS = 250
#: Largest committed notebook file and largest stored image (bytes of PNG).
MAX_NOTEBOOK_BYTES = 400_000
MAX_IMAGE_BYTES = 100_000
#: Seconds one cell may run in the execution tests.
CELL_TIMEOUT = 600

#: Paths that belong to the machine that executed a notebook, never to the tutorial.
MACHINE_PATH = re.compile(
    r"/root/|/home/|/Users/|/tmp/|/private/var/|/var/folders/|site-packages|dist-packages"
    r"|\.pyenv|/opt/conda|[A-Za-z]:\\+Users\\+|AppData",
    re.IGNORECASE,
)
#: Runtime execution modes that hold resources until closed.
EXECUTION_MODES = ("Batch", "Session")


def stderr_outputs(notebook) -> list[str]:
    """``"cell i"`` for every stored stream output written to stderr."""
    return [
        f"cell {index}: {output.get('text', '')[:200]!r}"
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stderr"
    ]


def error_outputs(notebook) -> list[str]:
    """``"cell i: ename"`` for every stored error output."""
    return [
        f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def _texts(notebook):
    """``(where, text)`` for every stored text: metadata, sources and outputs (no image data)."""
    yield "notebook metadata", json.dumps(notebook.get("metadata", {}))
    for index, cell in enumerate(notebook.cells):
        yield f"cell {index} metadata", json.dumps(cell.get("metadata", {}))
        yield f"cell {index} source", cell.get("source", "")
        for output in cell.get("outputs", []):
            where = f"cell {index} {output.get('output_type')} output"
            if "text" in output:
                yield where, output["text"]
            if "traceback" in output:
                yield where, "\n".join(output["traceback"])
            for mime, value in output.get("data", {}).items():
                if mime.startswith("image/") and mime != "image/svg+xml":
                    continue  # base64: any letters can occur
                yield f"{where} ({mime})", value if isinstance(value, str) else json.dumps(value)
            yield f"{where} metadata", json.dumps(output.get("metadata", {}))


def machine_paths(notebook) -> list[str]:
    """``"where: match"`` for every machine path in the notebook's stored text."""
    return [
        f"{where}: {match.group(0)!r} in ...{text[max(0, match.start() - 60) : match.end() + 60]!r}"
        for where, text in _texts(notebook)
        for match in MACHINE_PATH.finditer(text)
    ]


def unmanaged_execution_modes(source: str) -> list[str]:
    """Every ``Batch(...)``/``Session(...)`` call not opened as ``with Batch(...) as name:``.

    Args:
        source: A code cell (IPython syntax allowed).

    Returns:
        ``"line n: code"`` for each call that is not the context expression of a ``with`` item
        bound to a name, so the execution mode is closed when the block ends.

    Raises:
        SyntaxError: If the cell is not valid (IPython) Python.
    """
    tree = ast.parse(TransformerManager().transform_cell(source))
    managed = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            managed.update(id(item.context_expr) for item in node.items if item.optional_vars)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in EXECUTION_MODES and id(node) not in managed:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def prose_words(notebook) -> int:
    """Words of the markdown cells, without formulas, code spans and link targets."""
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\]\([^)]*\)", " ", text, flags=re.DOTALL)
    return len(re.findall(r"[A-Za-z][A-Za-z'-]+", text))


def image_sizes(notebook) -> list[tuple[int, int]]:
    """``(cell index, decoded bytes)`` of every stored PNG."""
    return [
        (index, len(output["data"]["image/png"]) * 3 // 4)
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]


def _read(path):
    return nbformat.read(path, as_version=4)


class TestNotebookChecks(QDeepTestCase):
    """The checkers find what they look for (so a clean result on the tutorials means something)."""

    def test_stderr_and_errors_found(self):
        cell = new_code_cell("import warnings; warnings.warn('x')")
        cell.outputs = [
            new_output("stream", name="stdout", text="fine\n"),
            new_output("stream", name="stderr", text="UserWarning: x\n"),
            new_output("error", ename="ValueError", evalue="bad", traceback=[]),
        ]
        notebook = new_notebook(cells=[new_markdown_cell("text"), cell])
        self.assertEqual(len(stderr_outputs(notebook)), 1)
        self.assertIn("cell 1", stderr_outputs(notebook)[0])
        self.assertEqual(error_outputs(notebook), ["cell 1: ValueError: bad"])

    def test_machine_paths_found(self):
        for path in (
            "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/tqdm/auto.py:21",
            "/home/alice/qdeep/x.png",
            "/Users/bob/work",
            "C:\\Users\\carol\\AppData\\Local",
            "/tmp/tmpab12/figure.png",
        ):
            cell = new_code_cell("print(1)")
            cell.outputs = [new_output("stream", name="stdout", text=f"see {path}\n")]
            self.assertTrue(machine_paths(new_notebook(cells=[cell])), path)
        image = new_code_cell("plot()")
        image.outputs = [
            new_output(
                "display_data", data={"image/png": "AAAA/tmp/home/BBBB", "text/plain": "<Figure>"}
            )
        ]
        self.assertEqual(machine_paths(new_notebook(cells=[image])), [])
        notebook = new_notebook(cells=[new_code_cell("x = 1")])
        notebook.metadata["kernelspec"] = {"argv": ["/home/alice/venv/bin/python"]}
        self.assertTrue(machine_paths(notebook))

    def test_unmanaged_execution_modes_found(self):
        self.assertEqual(len(unmanaged_execution_modes("batch = Batch(backend=backend)")), 1)
        self.assertEqual(
            len(unmanaged_execution_modes("import qiskit_ibm_runtime as r\ns = r.Session(b)")), 1
        )
        self.assertEqual(len(unmanaged_execution_modes("with Batch(backend=b):\n    pass")), 1)
        self.assertEqual(
            len(unmanaged_execution_modes("Estimator(mode=Batch(backend=b)).run([])")), 1
        )
        managed = (
            "%matplotlib inline\n"
            "with Batch(backend=b) as batch, torch.no_grad():\n"
            "    estimator = Estimator(mode=batch)\n"
            "with Session(\n    backend=b,\n) as session:\n    pass\n"
        )
        self.assertEqual(unmanaged_execution_modes(managed), [])

    def test_prose_words_ignore_formulas_and_code(self):
        notebook = new_notebook(
            cells=[
                new_markdown_cell("Two words $a + b = c$ `code span` [link](https://x.y/z)"),
                new_code_cell("# not prose either"),
            ]
        )
        self.assertEqual(prose_words(notebook), 3)  # "Two", "words", "link"


class TestTutorialFiles(QDeepTestCase):
    """The committed notebooks, as the docs render them."""

    def test_there_are_tutorials(self):
        self.assertGreaterEqual(len(NOTEBOOKS), 5)

    def test_no_stderr_or_error_outputs(self):
        for path in NOTEBOOKS:
            with self.subTest(notebook=os.path.basename(path)):
                notebook = _read(path)
                self.assertEqual(stderr_outputs(notebook), [], "stored stderr output")
                self.assertEqual(error_outputs(notebook), [], "stored error output")

    def test_no_machine_paths(self):
        for path in NOTEBOOKS:
            with self.subTest(notebook=os.path.basename(path)):
                self.assertEqual(machine_paths(_read(path)), [])

    def test_execution_modes_are_context_managers(self):
        for path in NOTEBOOKS:
            notebook = _read(path)
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                with self.subTest(notebook=os.path.basename(path), cell=index):
                    self.assertEqual(unmanaged_execution_modes(cell.source), [])

    def test_one_ibm_quantum_switch_left_off(self):
        for path in NOTEBOOKS:
            with self.subTest(notebook=os.path.basename(path)):
                sources = "\n".join(c.source for c in _read(path).cells if c.cell_type == "code")
                switches = re.findall(r"^USE_IBM_QUANTUM\s*=\s*(\w+)", sources, flags=re.M)
                if "Batch(" in sources or "Session(" in sources or switches:
                    self.assertEqual(switches, ["False"])

    def test_enough_prose(self):
        for path in NOTEBOOKS:
            with self.subTest(notebook=os.path.basename(path)):
                self.assertGreaterEqual(prose_words(_read(path)), MIN_PROSE_WORDS)

    def test_executed_and_small(self):
        for path in NOTEBOOKS:
            with self.subTest(notebook=os.path.basename(path)):
                notebook = _read(path)
                code = [c for c in notebook.cells if c.cell_type == "code"]
                self.assertTrue(code)
                self.assertTrue(all(c.execution_count for c in code), "cells not executed")
                self.assertLessEqual(os.path.getsize(path), MAX_NOTEBOOK_BYTES)
                for index, size in image_sizes(notebook):
                    self.assertLessEqual(size, MAX_IMAGE_BYTES, f"image of cell {index}")


class TestTutorialExecution(QDeepTestCase):
    """Every notebook runs top to bottom on its local path, in one shared kernel."""

    kernel = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._workdir = tempfile.TemporaryDirectory()  # pylint: disable=consider-using-with
        cls._start_kernel()

    @classmethod
    def _start_kernel(cls):
        env = dict(os.environ)
        # the kernel is a subprocess: make the working tree importable there without an install
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
        cls.kernel = AsyncKernelManager(kernel_name="python3")
        run_sync(cls.kernel.start_kernel)(cwd=cls._workdir.name, env=env)

    @classmethod
    def tearDownClass(cls):
        if cls.kernel is not None:
            run_sync(cls.kernel.shutdown_kernel)(now=True)
            cls.kernel = None
        cls._workdir.cleanup()
        super().tearDownClass()

    def _execute(self, path):
        if not run_sync(self.kernel.is_alive)():  # a previous notebook killed it
            self._start_kernel()
        notebook = _read(path)
        # a clean namespace and a fresh working folder (removed with the class), as in a new kernel
        folder = tempfile.mkdtemp(dir=self._workdir.name)
        notebook.cells.insert(0, new_code_cell(f"%reset -f\nimport os\nos.chdir({folder!r})"))
        client = NotebookClient(notebook, km=self.kernel, timeout=CELL_TIMEOUT)
        try:
            client.execute()
        finally:
            if client.kc is not None:
                client.kc.stop_channels()
        self.assertEqual(stderr_outputs(notebook), [], "the notebook now writes to stderr")


def _execution_test(path):
    def test(self):
        self._execute(path)  # pylint: disable=protected-access

    test.__doc__ = f"{os.path.basename(path)} executes top to bottom."
    return test


for _path in NOTEBOOKS:
    _name = os.path.basename(_path)[: -len(".ipynb")]
    setattr(TestTutorialExecution, "test_" + re.sub(r"\W", "_", _name), _execution_test(_path))
