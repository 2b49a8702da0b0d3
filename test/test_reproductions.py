# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The quick variants of the paper reproductions run end to end (what CI runs)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile

from qiskit_qdeep.cli import main
from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.reproductions import REGISTRY, ReproductionConfig, run_reproduction
from test import SHARED_DATA, QDeepTestCase

MNIST_DIR = os.path.join(SHARED_DATA, "mnist")
HAS_MNIST = os.path.exists(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz"))


class TestReproductions(QDeepTestCase):
    """Each quick reproduction writes its JSON and figures with the paper's numbers."""

    def setUp(self):
        super().setUp()
        self._tmp = tempfile.TemporaryDirectory()
        self.output = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()
        super().tearDown()

    def _check(self, name):
        config = ReproductionConfig(
            quick=True, data_dir=MNIST_DIR, output=self.output, progress=False
        )
        result = run_reproduction(name, config)
        with open(os.path.join(self.output, f"{name}-quick.json"), encoding="utf-8") as handle:
            data = json.load(handle)
        self.assertEqual(data["name"], name)
        self.assertTrue(data["quick"])
        self.assertTrue(result.comparisons)
        for figure in result.figures:
            self.assertTrue(os.path.getsize(figure) > 1000, figure)
        self.assertIn("| ours | paper |", result.table())
        return result

    def test_registry(self):
        expected = {"qccnn-tetris", "hqnn-quanv", "hqnn-parallel", "qucnn-validate"}
        expected |= {"qlssvm-6vs9", "deep-qsvm", "qmeans", "deep-clustering"}
        self.assertEqual(set(REGISTRY), expected)
        with self.assertRaisesRegex(QDeepValueError, "Unknown reproduction"):
            run_reproduction("nope", ReproductionConfig(output=self.output))

    def test_qccnn_tetris_quick(self):
        result = self._check("qccnn-tetris")
        self.assertEqual(len(result.comparisons), 8)

    def test_hqnn_quanv_quick(self):
        if not HAS_MNIST:
            self.skipTest("MNIST files not found beside the repository")
        self._check("hqnn-quanv")

    def test_hqnn_parallel_quick(self):
        if not HAS_MNIST:
            self.skipTest("MNIST files not found beside the repository")
        result = self._check("hqnn-parallel")
        names = [c.quantity for c in result.comparisons]
        self.assertIn("HQNN / CNN epoch time (target <= 1.5)", names)
        demo = result.details["parameter_shift_aer"]
        self.assertEqual(demo["jobs"], demo["steps"])  # one primitive job per training step

    def test_cli_lists_reproductions(self):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            self.assertEqual(main(["reproduce", "--list"]), 0)
        for name in REGISTRY:
            self.assertIn(name, buffer.getvalue())
