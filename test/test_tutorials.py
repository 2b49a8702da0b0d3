# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The tutorial notebooks execute top to bottom on their local path."""

from __future__ import annotations

import os
import tempfile

import nbformat
from nbclient import NotebookClient

from test import QDeepTestCase

TUTORIALS = os.path.join(os.path.dirname(__file__), "..", "tutorials")


class TestTutorials(QDeepTestCase):
    """Each committed notebook runs without errors (IBM Quantum switch left off)."""

    def setUp(self):
        super().setUp()
        # The kernel is a subprocess: make the package importable there without an install too.
        root = os.path.abspath(os.path.join(TUTORIALS, ".."))
        self._pythonpath = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, self._pythonpath]))

    def tearDown(self):
        if self._pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = self._pythonpath
        super().tearDown()

    def test_notebooks_execute(self):
        names = sorted(n for n in os.listdir(TUTORIALS) if n.endswith(".ipynb"))
        self.assertGreaterEqual(len(names), 3)
        for name in names:
            with self.subTest(notebook=name):
                notebook = nbformat.read(os.path.join(TUTORIALS, name), as_version=4)
                with tempfile.TemporaryDirectory() as tmp:
                    client = NotebookClient(
                        notebook,
                        timeout=600,
                        kernel_name="python3",
                        resources={"metadata": {"path": tmp}},
                    )
                    client.execute()
