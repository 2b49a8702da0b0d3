# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The job counts of ``docs/ibm_quantum.rst``, measured by ``benchmarks/job_counts.py``."""

from __future__ import annotations

import importlib.util
import os
import sys

from test import QDeepTestCase

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "job_counts.py")

#: ``(family, operation) -> jobs`` as in the table of docs/ibm_quantum.rst. Grover-vote rows are
#: checked by their parts (one decision job per all-pair unit, then the Durr-Hoyer rounds).
EXPECTED = {
    ("QuantumLayer", "training step, batch 16"): 1,
    ("ParallelQuantumLayer", "training step, batch 16"): 1,
    ("HQNNParallel", "training step, batch 4"): 1,
    ("Quanv2d", "training step, batch 4"): 1,
    ("HQNNQuanv", "training step, batch 4"): 1,
    ("QCCNN", "training step, batch 4, num_layers=1"): 1,
    ("QCCNN", "training step, batch 4, num_layers=2"): 2,
    ("SwapTestConv2d", "training step, batch 4, gradient='parameter-shift'"): 1,
    ("SwapTestConv2d", "training step, batch 4, gradient='ancilla'"): 2,
    ("SwapTestConv2d", "evaluation under no_grad, batch 4"): 1,
    ("HHL", "solve"): 1,
    ("QLSSVM", "fit"): 1,
    ("QLSSVM", "predict, 20 points"): 1,
    ("AllPairQSVM", "fit, 3 classes"): 3,
    ("AllPairQSVM", "predict, 3 classes, 20 points, voting='classical'"): 1,
    ("DeepQSVM", "fit, hidden_layers=(2,), 3 classes"): 10,
    ("QMeans", "fit, method='distance', max_iter=3"): 3,
    ("QMeans", "one assignment step (iteration or predict), method='distance'"): 1,
    ("QMeans", "fit, method='adiabatic', max_iter=3"): 8,
    ("QMeans", "one assignment step (iteration or predict), method='adiabatic'"): 2,
    ("QuantumDeepClustering", "one epoch, QMeans clusterer (max_iter=2)"): 3,
    ("QuantumDeepClustering", "fit, 1 epoch (+ the final clustering)"): 6,
}

#: Grover-vote predictions: ``(family, operation) -> decision jobs`` before the vote rounds.
GROVER_DECISION_JOBS = {
    ("AllPairQSVM", "predict, 3 classes, 20 points, voting='grover'"): 1,
    ("DeepQSVM", "predict, hidden_layers=(2,), 3 classes, 20 points"): 2,
}


def _load_script():
    spec = importlib.util.spec_from_file_location("qdeep_benchmark_job_counts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks the module up
    spec.loader.exec_module(module)
    return module


class TestJobCounts(QDeepTestCase):
    """One primitive ``run`` call per batch and layer, counted on wrapped primitives."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.script = _load_script()

    def _check(self, group: str) -> None:
        rows = self.script.measure((group,))
        self.assertTrue(rows)
        for row in rows:
            key = (row.family, row.operation)
            with self.subTest(key=key):
                if key in GROVER_DECISION_JOBS:
                    rounds = row.jobs - GROVER_DECISION_JOBS[key]
                    self.assertIn(f"{rounds} Durr-Hoyer rounds", row.note)
                    self.assertGreater(rounds, 0)
                else:
                    self.assertEqual(row.jobs, EXPECTED[key])

    def test_torch_layers_and_models(self):
        self._check("layers")

    def test_svm_family(self):
        self._check("svm")

    def test_clustering(self):
        self._check("clustering")
