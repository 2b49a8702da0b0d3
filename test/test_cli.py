# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The qiskit-qdeep command line and the quickstart demo."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import qiskit_qdeep  # noqa: E402
from qiskit_qdeep import _optional, cli, demo  # noqa: E402
from qiskit_qdeep._catalog import CATALOG  # noqa: E402
from qiskit_qdeep.benchmarks import execution_core  # noqa: E402
from qiskit_qdeep.cli import MAX_SEED, build_parser, main  # noqa: E402
from qiskit_qdeep.datasets import load_mnist  # noqa: E402
from qiskit_qdeep.demo import HQNNDigits, Timing, format_timings, train_digits  # noqa: E402
from qiskit_qdeep.exceptions import DatasetNotFoundError, QDeepValueError  # noqa: E402
from qiskit_qdeep.reproductions import REGISTRY, ReproductionResult  # noqa: E402
from qiskit_qdeep.reproductions._common import Comparison, Reproduction, output_path  # noqa: E402
from test import QDeepTestCase  # noqa: E402

HAS_QISKIT_ML = _optional.available("qiskit_machine_learning")

#: Commands that must answer without importing numpy, torch or qiskit, and their exit codes.
LIGHT_COMMANDS = (
    (["--help"], 0),
    (["--version"], 0),
    (["reproduce", "--help"], 0),
    (["reproduce", "--list"], 0),
    (["reproduce"], 0),
    (["demo", "--help"], 0),
    (["benchmark", "--help"], 0),
    (["reproduce", "no-such-paper"], 2),
    (["reproduce", "qmeans", "--seed", "-1"], 2),
    (["demo", "--epochs", "0"], 2),
)

#: Runs each of argv's commands in one fresh interpreter; reports the heavy modules after each.
_LIGHT_SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from qiskit_qdeep.cli import main

    report = []
    for argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
        heavy = sorted(m for m in ("numpy", "torch", "qiskit", "sklearn") if m in sys.modules)
        report.append({"argv": argv, "code": code, "heavy": heavy, "out": out.getvalue()})
    print(json.dumps(report))
    """
)


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


def _divide_by_zero(config):
    return 1 / (config.seed - config.seed)


def _load_real_mnist(config):
    load_mnist(config.data_dir, split="test", download=config.download)


def _capture(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _capture_exit(argv):
    """Runs ``main(argv)`` expecting an argparse exit; returns ``(code, stderr)``."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            return exc.code, err.getvalue()
    raise AssertionError(f"main({argv}) did not exit")


def _subparser(name):
    return build_parser()._subparsers._group_actions[0].choices[name]


class TestCLI(QDeepTestCase):
    """Sub-commands parse and run."""

    def test_help_lists_commands_and_reproductions(self):
        text = build_parser().format_help()
        for command in ("demo", "reproduce", "benchmark"):
            self.assertIn(command, text)
        for name in REGISTRY:
            self.assertIn(name, text)
        reproduce = _subparser("reproduce")
        for option in (
            "--quick",
            "--data-dir",
            "--seed",
            "--output",
            "--list",
            "--download",
            "--traceback",
        ):
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

    def test_data_dir_help_shows_the_cache(self):
        with (
            tempfile.TemporaryDirectory() as root,
            mock.patch.dict(os.environ, {"QISKIT_QDEEP_DATA": root, "COLUMNS": "300"}),
        ):
            text = _subparser("reproduce").format_help()
            self.assertEqual(cli.default_mnist_dir(), os.path.join(root, "mnist"))
        self.assertIn(f"default: the cache {os.path.join(root, 'mnist')} ", text)
        self.assertIn("$QISKIT_QDEEP_DATA/mnist", text)

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
        header = "| reproduction | quantity | ours (quick smoke test: not comparable) | paper |"
        row = f"| uniform-mean (quick) | sample mean | {mean:.4g} | 0.5 |"
        self.assertEqual(out.count(header), 1)
        self.assertEqual(out.count(row), 1)
        self.assertEqual(out.count("sample mean"), 1)  # the table is printed once

    def test_full_run_summary_is_not_marked_quick(self):
        registry = {"uniform-mean": Reproduction("uniform-mean", "-", "-", _mean_of_uniform)}
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(REGISTRY, registry, clear=True):
            code, out, _ = _capture(["reproduce", "uniform-mean", "--output", tmp])
        self.assertEqual(code, 0)
        self.assertIn("| reproduction | quantity | ours | paper |", out)
        self.assertNotIn("quick", out)

    def test_result_table_header_marks_quick_results(self):
        result = ReproductionResult("demo", [Comparison("accuracy", 0.5, paper=0.9)])
        self.assertEqual(result.table().splitlines()[0], "| demo | ours | paper |")
        result.quick = True
        self.assertEqual(
            result.table().splitlines()[0],
            "| demo (quick smoke test: not comparable) | ours | paper |",
        )
        self.assertEqual(result.table().splitlines()[2], "| accuracy | 50.00% | 90.00% |")

    def test_reproduce_reports_failures_and_goes_on(self):
        registry = {
            "needs-data": Reproduction("needs-data", "-", "-", _missing_data),
            "uniform-mean": Reproduction("uniform-mean", "-", "-", _mean_of_uniform),
        }
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(REGISTRY, registry, clear=True):
            code, out, err = _capture(["reproduce", "all", "--output", tmp, "--no-progress"])
            self.assertTrue(os.path.exists(os.path.join(tmp, "uniform-mean.json")))
        self.assertEqual(code, 1)
        self.assertIn("needs-data failed: QDeepValueError: MNIST files not found", err)
        self.assertIn("| uniform-mean | sample mean |", out)

    def test_any_exception_is_reported_and_the_rest_still_run(self):
        registry = {
            "boom": Reproduction("boom", "-", "-", _divide_by_zero),
            "uniform-mean": Reproduction("uniform-mean", "-", "-", _mean_of_uniform),
        }
        for flags in ([], ["--traceback"]):
            with self.subTest(flags=flags), tempfile.TemporaryDirectory() as tmp:
                with mock.patch.dict(REGISTRY, registry, clear=True):
                    argv = ["reproduce", "boom", "uniform-mean", "--output", tmp, *flags]
                    code, out, err = _capture(argv)
                    self.assertTrue(os.path.exists(os.path.join(tmp, "uniform-mean.json")))
                    self.assertFalse(os.path.exists(os.path.join(tmp, "boom.json")))
                self.assertEqual(code, 1)
                lines = err.splitlines()
                self.assertIn("boom failed: ZeroDivisionError: division by zero", lines)
                self.assertIn("| uniform-mean | sample mean |", out)
                if flags:
                    self.assertIn("Traceback (most recent call last)", err)
                    self.assertIn("_divide_by_zero", err)
                    self.assertIn("failed: boom", lines)
                else:
                    self.assertNotIn("Traceback", err)
                    self.assertIn("failed: boom (rerun with --traceback for the tracebacks)", lines)

    def test_keyboard_interrupt_stops_the_run(self):
        ran = []

        def interrupted(config):
            raise KeyboardInterrupt

        def second(config):
            ran.append("second")
            return _mean_of_uniform(config)

        registry = {
            "interrupted": Reproduction("interrupted", "-", "-", interrupted),
            "second": Reproduction("second", "-", "-", second),
        }
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(REGISTRY, registry, clear=True):
            code, _, err = _capture(["reproduce", "all", "--output", tmp])
        self.assertEqual(code, cli.EXIT_INTERRUPTED)
        self.assertEqual(ran, [])
        self.assertIn("interrupted", err)

    def test_missing_dataset_names_the_cli_flags(self):
        registry = {"needs-mnist": Reproduction("needs-mnist", "-", "-", _load_real_mnist)}
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(REGISTRY, registry, clear=True):
            empty = os.path.join(tmp, "empty")
            os.mkdir(empty)
            code, _, err = _capture(
                ["reproduce", "needs-mnist", "--data-dir", empty, "--output", tmp]
            )
            with self.assertRaises(DatasetNotFoundError) as caught:
                load_mnist(empty, split="test")
        self.assertEqual(code, 1)
        line = next(line for line in err.splitlines() if line.startswith("needs-mnist failed"))
        self.assertIn(f"DatasetNotFoundError: mnist test files not found in {empty}", line)
        self.assertIn("t10k-images-idx3-ubyte", line)
        self.assertIn("--download", line)
        self.assertIn("--data-dir DIR", line)
        self.assertNotIn("download=True", line)
        self.assertNotIn("data_dir=", line)
        # The library keeps its Python wording.
        self.assertIn("download=True", caught.exception.message)
        self.assertIn("data_dir=", caught.exception.message)
        self.assertEqual(caught.exception.directory, empty)

    def test_reproduce_unknown_name(self):
        code, err = _capture_exit(["reproduce", "no-such-paper", "qmeans", "other"])
        self.assertEqual(code, 2)
        self.assertIn(
            "error: argument NAME: unknown reproduction(s) no-such-paper, other; available:", err
        )
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
            self.assertEqual(main(["demo", "--epochs", "1", "--skip-timing", "--no-progress"]), 0)
        self.assertIn("test accuracy", buffer.getvalue())
        self.assertNotIn("timing", buffer.getvalue())

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

    def test_benchmark_options_match_the_benchmark_module(self):
        ours, theirs = argparse.ArgumentParser(), argparse.ArgumentParser()
        cli.add_benchmark_arguments(ours)
        execution_core.add_arguments(theirs)

        def options(parser):
            return {
                a.dest: (tuple(a.option_strings), a.default, a.nargs, a.const)
                for a in parser._actions
            }

        self.assertEqual(options(ours), options(theirs))


class TestCatalog(QDeepTestCase):
    """The static catalogue the CLI lists equals the registry of the reproduction modules."""

    def test_catalog_equals_registry(self):
        catalog = {e.name: (e.summary, e.paper, e.module) for e in CATALOG}
        registry = {r.name: (r.summary, r.paper, r.run.__module__) for r in REGISTRY.values()}
        self.assertEqual(catalog, registry)
        self.assertEqual([e.name for e in CATALOG], list(REGISTRY))

    def test_light_commands_import_nothing_heavy(self):
        commands = [argv for argv, _ in LIGHT_COMMANDS]
        result = subprocess.run(
            [sys.executable, "-c", _LIGHT_SCRIPT, json.dumps(commands)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        report = json.loads(result.stdout)
        self.assertEqual(len(report), len(LIGHT_COMMANDS))
        for entry, (argv, code) in zip(report, LIGHT_COMMANDS):
            with self.subTest(argv=argv):
                self.assertEqual(entry["argv"], argv)
                self.assertEqual(entry["heavy"], [])
                self.assertEqual(entry["code"], code)
        listing = next(e["out"] for e in report if e["argv"] == ["reproduce", "--list"])
        self.assertEqual([line.split()[0] for line in listing.splitlines()], list(REGISTRY))

    def test_python_dash_m_help(self):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "qiskit_qdeep", "--help"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        self.assertIn("usage: qiskit-qdeep", result.stdout)
        imported = {
            line.rsplit("|", 1)[1].strip().split(".")[0]
            for line in result.stderr.splitlines()
            if line.startswith("import time:") and "|" in line
        }
        self.assertIn("argparse", imported)
        self.assertFalse(imported & {"numpy", "torch", "qiskit"}, sorted(imported))


class TestArgumentChecks(QDeepTestCase):
    """Bad options are argparse errors (exit code 2) naming the flag, before any work."""

    def assertArgumentError(self, argv, flag, message):  # noqa: N802
        code, err = _capture_exit(argv)
        self.assertEqual(code, 2, err)
        self.assertIn(f"error: argument {flag}: ", err)
        self.assertIn(message, err)

    def test_seed_range(self):
        for command in ("reproduce", "demo", "benchmark"):
            for value, message in (
                ("-1", "got -1"),
                (str(2**32), f"got {2**32}"),
                (str(MAX_SEED + 1), f"got {MAX_SEED + 1}"),
                ("1.5", "got '1.5'"),
                ("abc", "got 'abc'"),
            ):
                with self.subTest(command=command, seed=value):
                    names = ["qmeans"] if command == "reproduce" else []
                    argv = [command, "--seed", value, *names]
                    self.assertArgumentError(argv, "--seed", f"from 0 to {MAX_SEED}")
                    self.assertArgumentError(argv, "--seed", message)
        for value in (0, MAX_SEED):
            args = build_parser().parse_args(["reproduce", "qmeans", "--seed", str(value)])
            self.assertEqual(args.seed, value)

    def test_output_must_be_a_creatable_directory(self):
        with tempfile.TemporaryDirectory() as tmp:
            existing_file = os.path.join(tmp, "file.txt")
            with open(existing_file, "w", encoding="utf-8") as handle:
                handle.write("x")
            self.assertArgumentError(
                ["reproduce", "qmeans", "--output", existing_file],
                "--output",
                f"{existing_file} exists and is not a directory",
            )
            below_file = os.path.join(existing_file, "a", "b")
            self.assertArgumentError(
                ["reproduce", "qmeans", "--output", below_file],
                "--output",
                f"cannot create {below_file}: {existing_file} is not a directory",
            )
            self.assertArgumentError(["reproduce", "qmeans", "--output", ""], "--output", "empty")
            new = os.path.join(tmp, "new", "deeper")
            args = build_parser().parse_args(["reproduce", "qmeans", "--output", new])
            args.check(args)  # fine: creatable, and nothing is created by the check
            self.assertFalse(os.path.exists(os.path.join(tmp, "new")))
            with mock.patch("os.access", return_value=False):
                self.assertArgumentError(
                    ["reproduce", "qmeans", "--output", tmp], "--output", "is not writable"
                )
                self.assertArgumentError(
                    ["reproduce", "qmeans", "--output", new], "--output", f"{tmp} is not writable"
                )

    def test_data_dir(self):
        with tempfile.TemporaryDirectory() as tmp:
            missing = os.path.join(tmp, "mnist")
            output = ["--output", os.path.join(tmp, "out")]
            self.assertArgumentError(
                ["reproduce", "hqnn-quanv", "--data-dir", missing, *output],
                "--data-dir",
                f"no directory {missing} (add --download",
            )
            for extra in ([], ["--download"]):
                args = build_parser().parse_args(
                    ["reproduce", "hqnn-quanv", "--data-dir", tmp, *output, *extra]
                )
                args.check(args)
            args = build_parser().parse_args(
                ["reproduce", "hqnn-quanv", "--data-dir", missing, "--download", *output]
            )
            args.check(args)
            self.assertFalse(os.path.exists(missing))
            existing_file = os.path.join(tmp, "file")
            open(existing_file, "w", encoding="utf-8").close()
            self.assertArgumentError(
                ["reproduce", "hqnn-quanv", "--data-dir", existing_file, "--download", *output],
                "--data-dir",
                "exists and is not a directory",
            )
            with mock.patch.dict(os.environ, {"QISKIT_QDEEP_DATA": existing_file}):
                self.assertArgumentError(
                    ["reproduce", "hqnn-quanv", "--download", *output],
                    "--download",
                    f"cannot download into the cache: cannot create {existing_file}",
                )

    def test_list_needs_no_valid_output(self):
        code, out, _ = _capture(["reproduce", "--list", "--output", __file__])
        self.assertEqual(code, 0)
        self.assertIn("qmeans", out)

    def test_demo_options(self):
        self.assertArgumentError(["demo", "--epochs", "0"], "--epochs", "positive integer, got 0")
        self.assertArgumentError(["demo", "--epochs", "x"], "--epochs", "got 'x'")
        self.assertArgumentError(
            ["demo", "--baseline-samples", "65"], "--baseline-samples", "from 1 to 64, got 65"
        )
        self.assertArgumentError(
            ["demo", "--baseline-samples", "0"], "--baseline-samples", "from 1 to 64, got 0"
        )

    def test_benchmark_options(self):
        for flag, value, message in (
            ("--batches", "0", "positive integer, got 0"),
            ("--blocks", "-2", "positive integer, got -2"),
            ("--baseline-samples", "0", "positive integer, got 0"),
            ("--repeats", "0", "positive integer, got 0"),
            ("--threads", "0", "positive integer, got 0"),
            ("--raw-single-max", "-1", "an integer >= 0, got -1"),
        ):
            with self.subTest(flag=flag):
                self.assertArgumentError(["benchmark", flag, value], flag, message)
        args = build_parser().parse_args(["benchmark", "--batches", "4", "8", "--threads", "2"])
        self.assertEqual((args.batches, args.threads), ([4, 8], 2))


class TestDemoTiming(QDeepTestCase):
    """The demo compares like with like and skips qiskit-ML when it is missing."""

    def test_format_pairs_like_with_like(self):
        times = {
            demo.QDEEP_AER: Timing(0.5, 64),
            demo.QML_AER: Timing(20.0, 2),
            demo.QDEEP_EXACT: Timing(0.01, 64),
            demo.QML_EXACT: Timing(8.0, 2),
        }
        text = format_timings(times)
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("parameter shift on Aer"))
        self.assertIn(demo.LABELS[demo.QDEEP_AER], lines[1])
        self.assertIn(demo.LABELS[demo.QML_AER], lines[2])
        self.assertIn("(scaled from 2 samples)", lines[2])
        self.assertEqual(lines[3], "  => qiskit-qdeep is 40.0x faster than qiskit-ML on this pair")
        self.assertTrue(lines[4].startswith("exact simulation"))
        self.assertIn("StatevectorEstimator", lines[6])
        self.assertEqual(lines[7], "  => qiskit-qdeep is 800x faster than qiskit-ML on this pair")
        self.assertEqual(text.count("faster"), 2)  # no cross-path ratio
        times[demo.QDEEP_AER] = Timing(40.0, 64)
        self.assertIn("qiskit-qdeep is 2.0x slower than qiskit-ML", format_timings(times))

    def test_without_qiskit_ml(self):
        times = {demo.QDEEP_AER: Timing(0.5, 64), demo.QDEEP_EXACT: Timing(0.01, 64)}
        text = format_timings(times)
        self.assertNotIn("qiskit-ML", text)
        self.assertNotIn("faster", text)
        buffer = io.StringIO()
        with (
            mock.patch.object(_optional, "available", return_value=False),
            mock.patch.object(demo, "time_quantum_part", return_value=times) as timed,
            contextlib.redirect_stdout(buffer),
        ):
            self.assertEqual(main(["demo", "--epochs", "1", "--no-progress"]), 0)
        self.assertFalse(timed.call_args.kwargs["qiskit_ml"])
        self.assertIn(demo.QISKIT_ML_MISSING, buffer.getvalue().splitlines())
        self.assertIn(demo.LABELS[demo.QDEEP_EXACT], buffer.getvalue())

    def test_time_quantum_part_paths(self):
        model = HQNNDigits(num_blocks=1, reps=1, seed=0)
        times = demo.time_quantum_part(model, batch=3, baseline_samples=1, qiskit_ml=False)
        self.assertEqual(set(times), {demo.QDEEP_AER, demo.QDEEP_EXACT})
        for timing in times.values():
            self.assertEqual(timing.samples, 3)
            self.assertGreater(timing.seconds, 0)
        for bad in (0, 4, 1.0, True):
            with self.subTest(baseline_samples=bad):
                with self.assertRaisesRegex(QDeepValueError, "baseline_samples"):
                    demo.time_quantum_part(model, batch=3, baseline_samples=bad, qiskit_ml=False)
        with self.assertRaisesRegex(QDeepValueError, "batch"):
            demo.time_quantum_part(model, batch=0, baseline_samples=1, qiskit_ml=False)

    @unittest.skipUnless(HAS_QISKIT_ML, "qiskit-machine-learning is not installed")
    def test_time_quantum_part_with_qiskit_ml(self):
        model = HQNNDigits(num_blocks=1, reps=1, seed=0)
        times = demo.time_quantum_part(model, batch=2, baseline_samples=1)
        self.assertEqual(
            set(times), {demo.QDEEP_AER, demo.QML_AER, demo.QDEEP_EXACT, demo.QML_EXACT}
        )
        self.assertEqual((times[demo.QML_AER].samples, times[demo.QML_EXACT].samples), (1, 1))
        self.assertGreater(times[demo.QML_EXACT].seconds, 0)


if __name__ == "__main__":
    unittest.main()


class TestPeerBenchmarkCommand(unittest.TestCase):
    """``qiskit-qdeep benchmark --peers`` reaches the peer benchmark's own options."""

    def test_help_and_quick_run(self):
        import contextlib
        import io

        from qiskit_qdeep import cli

        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as ctx:
            cli.main(["benchmark", "--peers", "--help"])
        self.assertEqual(ctx.exception.code, 0)
        self.assertIn("--workloads", out.getvalue())
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["benchmark", "--peers", "--quick", "--frameworks", "qdeep-f64"])
        self.assertEqual(code, 0)
        self.assertIn("qdeep-f64", out.getvalue())
