# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The qiskit-qdeep command line and the quickstart demo."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from unittest import mock

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import qiskit_qdeep  # noqa: E402
from qiskit_qdeep.cli import build_parser, main  # noqa: E402
from qiskit_qdeep.demo import train_digits  # noqa: E402
from qiskit_qdeep.exceptions import QDeepValueError  # noqa: E402
from qiskit_qdeep.reproductions import REGISTRY, ReproductionResult  # noqa: E402
from qiskit_qdeep.reproductions._common import Comparison, Reproduction, output_path  # noqa: E402
from test import QDeepTestCase  # noqa: E402


def _mean_of_uniform(config):
    """A real (tiny) experiment: the sample mean of U(0, 1) against its exact value 1/2."""
    rng = np.random.default_rng(config.seed)
    samples = rng.random(1000 if config.quick else 100_000)
    figure = output_path(config, "uniform-mean.png")
    plt.figure()
    plt.hist(samples, bins=20)
    plt.savefig(figure)
    plt.close()
    return ReproductionResult(
        name="uniform-mean",
        comparisons=[Comparison("sample mean", float(samples.mean()), paper=0.5, unit="")],
        figures=[figure],
    )


def _missing_data(config):
    raise QDeepValueError("MNIST files not found in 'nowhere'; pass --data-dir or --download.")


def _capture(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


class TestCLI(QDeepTestCase):
    """Sub-commands parse and run."""

    def test_help_lists_commands_and_reproductions(self):
        text = build_parser().format_help()
        for command in ("demo", "reproduce", "benchmark"):
            self.assertIn(command, text)
        for name in REGISTRY:
            self.assertIn(name, text)
        reproduce = build_parser()._subparsers._group_actions[0].choices["reproduce"]
        for option in ("--quick", "--data-dir", "--seed", "--output", "--list", "--download"):
            self.assertIn(option, reproduce.format_help())

    def test_new_reproductions_appear_in_help(self):
        extra = Reproduction("uniform-mean", "mean of U(0,1) vs 1/2", "none", _mean_of_uniform)
        with mock.patch.dict(REGISTRY, {"uniform-mean": extra}):
            self.assertIn("uniform-mean", build_parser().format_help())

    def test_version(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as caught:
            main(["--version"])
        self.assertEqual(caught.exception.code, 0)
        self.assertEqual(out.getvalue().strip(), f"qiskit-qdeep {qiskit_qdeep.__version__}")

    def test_every_option_has_help(self):
        parser = build_parser()
        for name, sub in parser._subparsers._group_actions[0].choices.items():
            for action in sub._actions:
                with self.subTest(command=name, option=action.dest):
                    self.assertTrue(action.help, f"{name} {action.option_strings} has no help")

    def test_reproduce_writes_json_figures_and_summary(self):
        registry = {"uniform-mean": Reproduction("uniform-mean", "-", "-", _mean_of_uniform)}
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(REGISTRY, registry, clear=True):
            code, out, _ = _capture(
                ["reproduce", "all", "--quick", "--seed", "3", "--output", tmp, "--no-progress"]
            )
            self.assertEqual(code, 0)
            json_path = os.path.join(tmp, "uniform-mean-quick.json")
            figure = os.path.join(tmp, "uniform-mean-quick.png")
            with open(json_path, encoding="utf-8") as handle:
                data = json.load(handle)
            self.assertTrue(os.path.getsize(figure) > 1000)
        mean = np.random.default_rng(3).random(1000).mean()
        self.assertAlmostEqual(data["comparisons"][0]["ours"], mean, places=12)
        self.assertAlmostEqual(mean, 0.5, delta=4 * (1 / 12 / 1000) ** 0.5)  # 4 sigma
        self.assertIn(f"figure {figure}", out)
        self.assertIn(json_path, out)
        self.assertIn("| reproduction | quantity | ours | paper |", out)
        self.assertIn(f"| uniform-mean (quick) | sample mean | {mean:.4g} | 0.5 |", out)

    def test_reproduce_reports_failures_and_goes_on(self):
        registry = {
            "needs-data": Reproduction("needs-data", "-", "-", _missing_data),
            "uniform-mean": Reproduction("uniform-mean", "-", "-", _mean_of_uniform),
        }
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(REGISTRY, registry, clear=True):
            code, out, err = _capture(["reproduce", "all", "--output", tmp, "--no-progress"])
            self.assertTrue(os.path.exists(os.path.join(tmp, "uniform-mean.json")))
        self.assertEqual(code, 1)
        self.assertIn("needs-data failed: MNIST files not found", err)
        self.assertIn("| uniform-mean | sample mean |", out)

    def test_reproduce_unknown_name(self):
        code, _, err = _capture(["reproduce", "no-such-paper"])
        self.assertEqual(code, 2)
        self.assertIn("unknown reproduction(s) no-such-paper", err)
        for name in REGISTRY:
            self.assertIn(name, err)

    def test_reproduce_list(self):
        code, out, _ = _capture(["reproduce", "--list"])
        self.assertEqual(code, 0)
        self.assertEqual(len(out.strip().splitlines()), len(REGISTRY))

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
