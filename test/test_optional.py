# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Without qiskit-machine-learning (the ``ml`` extra) its two uses say how to install it."""

from __future__ import annotations

import contextlib
import io
from unittest import mock

from qiskit_qdeep import _optional
from qiskit_qdeep.benchmarks import execution_core
from qiskit_qdeep.exceptions import MissingOptionalDependencyError, QiskitQDeepError
from qiskit_qdeep.nn import ParallelQuantumLayer
from test import QDeepTestCase

_REAL_AVAILABLE = _optional.available


def _without(module: str):
    """Patch :func:`qiskit_qdeep._optional.available` to report ``module`` as not installed."""
    return mock.patch.object(
        _optional, "available", side_effect=lambda name: name != module and _REAL_AVAILABLE(name)
    )


class TestWithoutQiskitMachineLearning(QDeepTestCase):
    """``ParallelQuantumLayer.to_qiskit_ml`` and the benchmark's baseline need the ``ml`` extra."""

    hint = "pip install 'qiskit-qdeep[ml]'"

    def test_interop_raises_with_the_install_hint(self):
        layer = ParallelQuantumLayer(4, num_qubits=2, reps=1, seed=0)
        with _without("qiskit_machine_learning"):
            with self.assertRaises(MissingOptionalDependencyError) as caught:
                layer.to_qiskit_ml(0)
        message = str(caught.exception)
        self.assertIn("ParallelQuantumLayer.to_qiskit_ml", message)
        self.assertIn("qiskit-machine-learning", message)
        self.assertIn(self.hint, message)
        self.assertIsInstance(caught.exception, QiskitQDeepError)
        self.assertIsInstance(caught.exception, ImportError)

    def test_interop_works_when_installed(self):
        if not _REAL_AVAILABLE("qiskit_machine_learning"):
            self.skipTest("qiskit-machine-learning is not installed")
        layer = ParallelQuantumLayer(4, num_qubits=2, reps=1, seed=0)
        connector = layer.to_qiskit_ml(1)
        self.assertEqual(type(connector).__name__, "TorchConnector")

    def test_baseline_layers_raise_with_the_install_hint(self):
        blocks = [execution_core.hqnn_block(num_qubits=2, reps=1)]
        with _without("qiskit_machine_learning"):
            with self.assertRaises(MissingOptionalDependencyError) as caught:
                execution_core._qiskit_ml_layers(blocks, estimator=None)
        self.assertIn(self.hint, str(caught.exception))

    def test_benchmark_skips_the_baseline_with_a_note(self):
        out = io.StringIO()
        with _without("qiskit_machine_learning"), contextlib.redirect_stdout(out):
            rows = execution_core.run_benchmark(
                batches=(2,), blocks_list=(1,), repeats=1, baseline_samples=1
            )
        printed = out.getvalue()
        self.assertRegex(printed, r"note: .*qiskit-machine-learning.* is skipped")
        self.assertIn(self.hint, printed)
        paths = [row.path for row in rows]
        self.assertNotIn("qiskit-ML (Aer)", paths)
        # the other paths are still measured, with no ratio against a baseline that did not run
        self.assertIn("QuantumLayer PS/Aer", paths)
        self.assertIn("QuantumLayer backprop", paths)
        for row in rows:
            self.assertGreater(row.seconds, 0.0)
            self.assertNotIn("speed-up vs qiskit-ML", row.ratios)
        self.assertNotIn("qiskit-ML (Aer)", execution_core.format_table(rows))

    def test_other_optional_modules_are_unaffected(self):
        with _without("qiskit_machine_learning"):
            self.assertFalse(_optional.available("qiskit_machine_learning"))
            self.assertEqual(_optional.available("matplotlib"), _REAL_AVAILABLE("matplotlib"))
