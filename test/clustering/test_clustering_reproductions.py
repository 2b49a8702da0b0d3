# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The quick variants of the ``qmeans`` and ``deep-clustering`` reproductions."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from qiskit_qdeep.reproductions import REGISTRY, ReproductionConfig, run_reproduction
from test import SHARED_DATA, QDeepTestCase

MNIST_DIR = os.path.join(SHARED_DATA, "mnist")


class TestClusteringReproductions(QDeepTestCase):
    """Each quick run writes its JSON and figures."""

    def setUp(self):
        super().setUp()
        self._tmp = tempfile.TemporaryDirectory()
        self.output = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()
        super().tearDown()

    def _run(self, name):
        self.assertIn(name, REGISTRY)
        config = ReproductionConfig(
            quick=True, data_dir=MNIST_DIR, output=self.output, progress=False
        )
        result = run_reproduction(name, config)
        with open(os.path.join(self.output, f"{name}-quick.json"), encoding="utf-8") as handle:
            data = json.load(handle)
        self.assertEqual(data["name"], name)
        for figure in result.figures:
            self.assertGreater(os.path.getsize(figure), 1000, figure)
        return result, data

    def test_qmeans_quick(self):
        result, data = self._run("qmeans")
        self.assertEqual(len(result.figures), 3)
        for name, row in data["details"]["datasets"].items():
            with self.subTest(dataset=name):
                # exact q-means follows KMeans with the same initialisation
                self.assertGreater(row["exact"]["ari_kmeans"], 0.999)
                self.assertLessEqual(abs(row["exact"]["ari_true"] - row["kmeans_ari_true"]), 0.05)
        blobs = data["details"]["datasets"]["blobs"]
        self.assertLessEqual(abs(blobs["shots=500"]["ari_true"] - blobs["kmeans_ari_true"]), 0.05)
        success = data["details"]["adiabatic_success_blobs"]["success_probability"]
        self.assertGreater(success[-1], success[0])

    def test_deep_clustering_quick(self):
        result, data = self._run("deep-clustering")
        self.assertGreaterEqual(len(result.figures), 1)
        digits = data["details"]["digits"]
        (run,) = digits["runs"]["quantum"]  # one seed in the quick run
        self.assertEqual(len(run["nmi"]), data["details"]["epochs"] + 1)
        self.assertGreater(run["nmi"][-1], 0.4)
        summary = digits["summary"]["quantum"]
        self.assertAlmostEqual(summary["nmi_final_mean"], run["nmi"][-1])
        self.assertAlmostEqual(summary["nmi_last3_mean"], float(np.mean(run["nmi"][-3:])))
        paired = digits["quantum_minus_classical"]["nmi_final"]
        classical = digits["runs"]["classical"][0]["nmi"][-1]
        self.assertAlmostEqual(paired["mean"], run["nmi"][-1] - classical)
