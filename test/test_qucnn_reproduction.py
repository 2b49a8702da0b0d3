# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The quick variant of the QuCNN validations runs end to end."""

from __future__ import annotations

import json
import os
import tempfile
import unittest

import qiskit_qdeep.reproductions.qucnn  # noqa: F401  (registers "qucnn-validate")
from qiskit_qdeep.reproductions import ReproductionConfig, run_reproduction
from test import SHARED_DATA, QDeepTestCase

MNIST_DIR = os.path.join(SHARED_DATA, "mnist")
HAS_MNIST = os.path.exists(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz"))


@unittest.skipUnless(HAS_MNIST, "needs the MNIST IDX files in shared/data/mnist")
class TestQuCNNReproduction(QDeepTestCase):
    """Forward pass, ancilla gradient slope, state learning and digits run in the quick variant."""

    def test_qucnn_validate_quick(self):
        with tempfile.TemporaryDirectory() as output:
            config = ReproductionConfig(
                quick=True, data_dir=MNIST_DIR, output=output, progress=False
            )
            result = run_reproduction("qucnn-validate", config)
            path = os.path.join(output, "qucnn-validate-quick.json")
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            self.assertEqual(data["name"], "qucnn-validate")
            self.assertTrue(data["quick"])
            self.assertEqual(len(result.figures), 3)
            for figure in result.figures:
                self.assertTrue(os.path.getsize(figure) > 1000, figure)

        values = {c.quantity: c.ours for c in result.comparisons}
        pearson = next(v for k, v in values.items() if "Pearson" in k)
        self.assertGreater(pearson, 0.95)
        slope = next(v for k, v in values.items() if "slope" in k)
        self.assertTrue(-0.9 < slope < -0.1, slope)
        fidelities = [v for k, v in values.items() if "fidelity" in k]
        self.assertEqual(len(fidelities), 3)
        for fidelity in fidelities:
            self.assertTrue(0.0 <= fidelity <= 1.0 + 1e-9, fidelity)
        accuracies = [v for k, v in values.items() if "accuracy" in k]
        self.assertEqual(len(accuracies), 2)
        self.assertEqual(
            len(result.details["state_learning"]["fidelity"]["3"]),
            result.details["state_learning"]["iterations"] + 1,
        )
        self.assertIn("| ours | paper |", result.table())


if __name__ == "__main__":
    unittest.main()
