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

    def _execute(self, name):
        notebook = nbformat.read(os.path.join(TUTORIALS, name), as_version=4)
        with tempfile.TemporaryDirectory() as tmp:
            client = NotebookClient(
                notebook,
                timeout=600,
                kernel_name="python3",
                resources={"metadata": {"path": tmp}},
            )
            client.execute()

    def test_there_are_tutorials(self):
        self.assertGreaterEqual(len(NOTEBOOKS), 3)


NOTEBOOKS = sorted(n for n in os.listdir(TUTORIALS) if n.endswith(".ipynb"))


def _notebook_test(name):
    def test(self):
        self._execute(name)  # pylint: disable=protected-access

    test.__doc__ = f"{name} executes top to bottom."
    return test


# one test per notebook, so that each stays well under a minute on two cores
for _name in NOTEBOOKS:
    setattr(
        TestTutorials,
        "test_notebook_" + _name.split(".")[0].replace("-", "_"),
        _notebook_test(_name),
    )
