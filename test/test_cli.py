# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The qiskit-qdeep command line and the quickstart demo."""

from __future__ import annotations

import contextlib
import io

from qiskit_qdeep.cli import build_parser, main
from qiskit_qdeep.demo import train_digits
from test import QDeepTestCase


class TestCLI(QDeepTestCase):
    """Sub-commands parse and run."""

    def test_help_lists_commands(self):
        text = build_parser().format_help()
        for command in ("demo", "benchmark"):
            self.assertIn(command, text)

    def test_demo_trains_on_digits(self):
        _, accuracy, _ = train_digits(epochs=3, seed=0, progress=False)
        self.assertGreater(accuracy, 0.6)  # 10 classes: chance is 0.1

    def test_demo_command_without_timing(self):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            self.assertEqual(main(["demo", "--epochs", "1", "--skip-timing"]), 0)
        self.assertIn("test accuracy", buffer.getvalue())

    def test_benchmark_fast_paths(self):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(
                [
                    "benchmark",
                    "--skip-qiskit-ml",
                    "--batches",
                    "4",
                    "--blocks",
                    "1",
                    "--repeats",
                    "1",
                ]
            )
        self.assertEqual(code, 0)
        self.assertIn("QuantumLayer backprop", buffer.getvalue())
