# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The reproductions' figures show their data, the paper's numbers and the quick setup."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from unittest import mock

import numpy as np
from matplotlib.colors import to_rgba

from qiskit_qdeep import _optional
from qiskit_qdeep.clustering import plot_adiabatic_success, plot_deep_clustering
from qiskit_qdeep.clustering.qmeans import AdiabaticSuccessCurve
from qiskit_qdeep.exceptions import (
    MissingOptionalDependencyError,
    QDeepTypeError,
    QDeepValueError,
)
from qiskit_qdeep.reproductions import ReproductionConfig, run_reproduction
from qiskit_qdeep.reproductions._plotting import (
    curves_figure,
    figures_enabled,
    format_value,
    new_figure,
    plot_curves,
)
from qiskit_qdeep.reproductions.clustering import plot_ari_curve
from test import QDeepTestCase

_REAL_AVAILABLE = _optional.available


def _without_matplotlib(module: str) -> bool:
    return False if module == "matplotlib" else _REAL_AVAILABLE(module)


def _data_lines(ax):
    """The curves of ``ax``: lines with more than the two points of a reference line."""
    return [line for line in ax.lines if not line.get_label().startswith("paper")]


def _visible_xticks(ax):
    low, high = ax.get_xlim()
    return [float(t) for t in ax.get_xticks() if low <= t <= high]


def _paper_lines(ax):
    return [line for line in ax.lines if line.get_label().startswith("paper")]


class TestPlotCurves(QDeepTestCase):
    """plot_curves: markers, %, paper reference lines, visible single points, quick titles."""

    def setUp(self):
        super().setUp()
        self.figure, self.ax = new_figure((6, 4))

    def test_accuracies_in_percent_with_markers(self):
        plot_curves(self.ax, {"HQNN": [0.5, 0.75, 0.9], "CNN": [[0.4, 0.6, 0.8], [0.6, 0.8, 1.0]]})
        lines = _data_lines(self.ax)
        # different numbers of runs: each label says how many
        labels = [line.get_label() for line in lines]
        self.assertEqual(labels, ["HQNN (1 run)", "CNN (mean ± std of 2 runs)"])
        self.assertAllClose(lines[0].get_ydata(), [50.0, 75.0, 90.0])
        self.assertAllClose(lines[1].get_ydata(), [50.0, 70.0, 90.0])  # mean of the two runs
        self.assertAllClose(lines[0].get_xdata(), [1, 2, 3])  # epochs count from 1
        for line in lines:
            self.assertNotIn(line.get_marker(), ("", "None", None, " "))
        markers = {line.get_marker() for line in lines}
        self.assertEqual(len(markers), 2)  # one shape per curve
        self.assertIn("%", self.ax.get_ylabel())
        self.assertEqual(_visible_xticks(self.ax), [1, 2, 3])
        self.assertEqual(self.ax.get_legend().get_title().get_text(), "")

    def test_band_clipped_to_100_percent(self):
        plot_curves(self.ax, {"QCCNN": [[0.9, 1.0], [1.0, 1.0], [0.8, 1.0]]})
        (band,) = self.ax.collections
        vertices = np.concatenate([path.vertices for path in band.get_paths()])
        self.assertLessEqual(vertices[:, 1].max(), 100.0)
        self.assertGreater(vertices[:, 1].max(), 95.0)
        self.assertEqual(self.ax.get_legend().get_title().get_text(), "mean ± std of 3 runs")

    def test_paper_reference_line_in_percent(self):
        plot_curves(
            self.ax,
            {"HQNN": [0.85], "CNN": [0.87]},
            paper={"HQNN": 0.9921, "CNN": (0.9871, 0.002)},
        )
        curves = {line.get_label(): line for line in _data_lines(self.ax)}
        lines = {line.get_label(): line for line in _paper_lines(self.ax)}
        self.assertEqual(set(lines), {"paper, HQNN: 99.21%", "paper, CNN: 98.71 ± 0.20%"})
        hqnn = lines["paper, HQNN: 99.21%"]
        self.assertAllClose(hqnn.get_ydata(), [99.21, 99.21])
        self.assertEqual(hqnn.get_linestyle(), "--")
        # a reference line has the colour of its curve
        self.assertEqual(to_rgba(hqnn.get_color()), to_rgba(curves["HQNN"].get_color()))
        legend = [text.get_text() for text in self.ax.get_legend().get_texts()]
        self.assertIn("paper, HQNN: 99.21%", legend)
        low, high = self.ax.get_ylim()
        self.assertTrue(low < 85.0 and high > 99.21, (low, high))

    def test_equal_paper_values_share_one_grey_line(self):
        plot_curves(
            self.ax,
            {"QCCNN 1-layer": [0.5, 0.9], "QCCNN 2-layer": [0.6, 1.0]},
            paper={"QCCNN 1-layer": 1.0, "QCCNN 2-layer": 1.0},
        )
        (line,) = _paper_lines(self.ax)
        self.assertEqual(line.get_label(), "paper, QCCNN 1-layer / QCCNN 2-layer: 100.00%")
        self.assertAllClose(line.get_ydata(), [100.0, 100.0])
        self.assertEqual(to_rgba(line.get_color()), to_rgba("0.35"))

    def test_single_point_is_visible(self):
        plot_curves(self.ax, {"HQNN": [0.853], "CNN": [0.871]}, quick="1 epoch")
        for line in _data_lines(self.ax):
            self.assertEqual(len(line.get_xdata()), 1)
            self.assertNotIn(line.get_marker(), ("", "None", None, " "))
        low, high = self.ax.get_xlim()
        self.assertLess(low, 1.0)
        self.assertGreater(high, 1.0)
        self.assertGreaterEqual(high - low, 1.0)
        self.assertEqual(_visible_xticks(self.ax), [1])  # an integer epoch tick, no 0.96 ... 1.04
        self.assertIn("quick", self.ax.get_title())
        self.assertIn("1 epoch", self.ax.get_title())

    def test_long_curves_get_spaced_markers_and_integer_ticks(self):
        plot_curves(self.ax, {"CNN": np.linspace(0.2, 0.9, 1000)}, xlabel="iteration")
        (line,) = _data_lines(self.ax)
        marked = line.get_markevery()
        self.assertTrue(10 <= len(marked) <= 30, marked)
        self.assertEqual(marked[0], 0)
        self.assertEqual(marked[-1], 999)  # the final value is marked
        ticks = _visible_xticks(self.ax)
        self.assertTrue(3 <= len(ticks) <= 11, ticks)
        self.assertTrue(all(t.is_integer() for t in ticks), ticks)

    def test_fidelity_curve_without_percent(self):
        plot_curves(
            self.ax,
            {"1 layer": [0.1, 0.5, 0.8]},
            ylabel="fidelity",
            percent=False,
            start=0,
        )
        (line,) = _data_lines(self.ax)
        self.assertAllClose(line.get_ydata(), [0.1, 0.5, 0.8])
        self.assertAllClose(line.get_xdata(), [0, 1, 2])
        self.assertEqual(self.ax.get_ylabel(), "fidelity")
        self.assertNotIn("quick", self.ax.get_title())

    def test_bad_input(self):
        with self.assertRaisesRegex(QDeepValueError, "curves must hold"):
            plot_curves(self.ax, {})
        with self.assertRaisesRegex(QDeepValueError, r"curves\['a'\]"):
            plot_curves(self.ax, {"a": []})
        with self.assertRaisesRegex(QDeepValueError, r"curves\['a'\]"):
            plot_curves(self.ax, {"a": [[0.1, 0.2], [0.3]]})
        with self.assertRaisesRegex(QDeepValueError, "not finite"):
            plot_curves(self.ax, {"a": [0.1, float("nan")]})
        with self.assertRaisesRegex(QDeepTypeError, r"paper\['a'\]"):
            plot_curves(self.ax, {"a": [0.1]}, paper={"a": "99%"})
        with self.assertRaisesRegex(QDeepValueError, r"paper\['a'\] must be finite"):
            plot_curves(self.ax, {"a": [0.1]}, paper={"a": float("inf")})

    def test_format_value_matches_the_table(self):
        self.assertEqual(format_value(0.9921), "99.21%")
        self.assertEqual(format_value(0.67, 0.01), "67.00 ± 1.00%")
        self.assertEqual(format_value(0.5, percent=False), "0.5")

    def test_curves_figure_writes_png(self):
        with tempfile.TemporaryDirectory() as folder:
            path = curves_figure(
                os.path.join(folder, "curves.png"), {"HQNN": [0.9]}, title="t", paper={"HQNN": 1.0}
            )
            self.assertGreater(os.path.getsize(path), 1000)


class TestReproductionPlots(QDeepTestCase):
    """The other figure helpers of the reproductions."""

    def test_ari_curve_quick_title(self):
        curve = {
            "shots": np.array([10, 100]),
            "ari_true": np.array([[0.7, 0.72]]),
            "ari_kmeans": np.array([[0.8, 1.0]]),
            "kmeans_ari_true": np.array([0.72]),
        }
        with tempfile.TemporaryDirectory() as folder:
            path = plot_ari_curve(
                curve, "shots", os.path.join(folder, "ari.png"), "q-means", "1 seed"
            )
            self.assertGreater(os.path.getsize(path), 1000)


class TestWithoutMatplotlib(QDeepTestCase):
    """Without matplotlib a reproduction still writes its JSON, skips figures with a note."""

    def test_figures_enabled(self):
        self.assertTrue(figures_enabled("x"))
        buffer = io.StringIO()
        with (
            mock.patch.object(_optional, "available", _without_matplotlib),
            contextlib.redirect_stdout(buffer),
        ):
            self.assertFalse(figures_enabled("qlssvm-6vs9"))
        note = buffer.getvalue()
        self.assertEqual(len(note.strip().splitlines()), 1)
        self.assertIn("qlssvm-6vs9: figures skipped", note)
        self.assertIn("pip install 'qiskit-qdeep[plot]'", note)

    def test_plot_functions_raise_install_hint(self):
        curve = AdiabaticSuccessCurve(
            evolution_times=np.array([1.0]),
            success_probability=np.array([0.5]),
            success_std=np.array([0.0]),
            argmax_accuracy=np.array([1.0]),
            trotter_steps=np.array([4]),
            num_jobs=1,
        )
        with mock.patch.object(_optional, "available", _without_matplotlib):
            for call, feature in (
                (lambda: new_figure((4, 3)), "reproduction figures"),
                (lambda: plot_adiabatic_success(curve), "plot_adiabatic_success"),
                (lambda: plot_deep_clustering({}, "nmi"), "plot_deep_clustering"),
            ):
                with self.subTest(feature=feature):
                    with self.assertRaisesRegex(
                        MissingOptionalDependencyError, f"{feature}.*qiskit-qdeep\\[plot\\]"
                    ):
                        call()

    def test_reproduction_writes_json_and_no_figure(self):
        buffer = io.StringIO()
        with (
            tempfile.TemporaryDirectory() as output,
            mock.patch.object(_optional, "available", _without_matplotlib),
            contextlib.redirect_stdout(buffer),
        ):
            config = ReproductionConfig(quick=True, output=output, progress=False)
            result = run_reproduction("qlssvm-6vs9", config)
            files = sorted(os.listdir(output))
            with open(os.path.join(output, "qlssvm-6vs9-quick.json"), encoding="utf-8") as handle:
                data = json.load(handle)
        self.assertEqual(files, ["qlssvm-6vs9-quick.json"])
        self.assertEqual(result.figures, [])
        self.assertEqual(data["figures"], [])
        self.assertTrue(data["comparisons"])
        printed = buffer.getvalue()
        self.assertIn("qlssvm-6vs9: figures skipped", printed)
        self.assertNotIn("| ours | paper |", printed)  # the CLI prints the table, not the run


if __name__ == "__main__":
    import unittest

    unittest.main()
