# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The wheel holds only the package, declares the console script, and carries the one version."""

from __future__ import annotations

import email.parser
import glob
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import unittest
import zipfile

import qiskit_qdeep
from test import QDeepTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


class TestPackaging(QDeepTestCase):
    """``pip wheel .`` with the hatchling backend (no build isolation: no download)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if importlib.util.find_spec("hatchling") is None:
            raise unittest.SkipTest("hatchling is not installed (pip install -e '.[test]')")
        cls._tmp = tempfile.TemporaryDirectory()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                ROOT,
                "--no-deps",
                "--no-build-isolation",
                "--disable-pip-version-check",
                "-q",
                "-w",
                cls._tmp.name,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            cls._tmp.cleanup()
            raise AssertionError(f"pip wheel failed:\n{proc.stdout}\n{proc.stderr}")
        (cls.wheel,) = glob.glob(os.path.join(cls._tmp.name, "qiskit_qdeep-*.whl"))
        with zipfile.ZipFile(cls.wheel) as archive:
            cls.names = archive.namelist()
            cls.dist_info = next(n.split("/")[0] for n in cls.names if ".dist-info/" in n)
            cls.metadata = email.parser.Parser().parsestr(
                archive.read(f"{cls.dist_info}/METADATA").decode()
            )
            cls.entry_points = archive.read(f"{cls.dist_info}/entry_points.txt").decode()

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()
        super().tearDownClass()

    def test_only_the_package_and_its_metadata(self):
        tops = {name.split("/")[0] for name in self.names}
        self.assertEqual(tops, {"qiskit_qdeep", self.dist_info})
        for name in self.names:
            with self.subTest(file=name):
                self.assertFalse(re.search(r"(^|/)(test|tests|tutorials|docs)/", name), name)
                self.assertFalse(name.endswith((".pyc", ".ipynb", ".gz", ".npz", ".pt")), name)
                self.assertNotIn("ubyte", name)  # MNIST IDX files
        self.assertIn("qiskit_qdeep/__init__.py", self.names)
        self.assertIn("qiskit_qdeep/cli.py", self.names)

    def test_every_source_module_is_packaged(self):
        sources = {
            os.path.relpath(path, ROOT).replace(os.sep, "/")
            for path in glob.glob(os.path.join(ROOT, "qiskit_qdeep", "**", "*.py"), recursive=True)
        }
        self.assertLessEqual(sources, set(self.names))

    def test_console_script(self):
        self.assertRegex(
            self.entry_points, r"\[console_scripts\]\s*\nqiskit-qdeep = qiskit_qdeep\.cli:main"
        )

    def test_version_single_source(self):
        self.assertEqual(self.metadata["Name"], "qiskit-qdeep")
        self.assertEqual(self.metadata["Version"], qiskit_qdeep.__version__)
        self.assertIn(f"-{qiskit_qdeep.__version__}-", os.path.basename(self.wheel))
        with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as handle:
            pyproject = handle.read()
        self.assertNotRegex(pyproject, r"(?m)^version\s*=", "version belongs in __init__.py only")
        self.assertRegex(qiskit_qdeep.__version__, r"^\d+\.\d+\.\d+")

    def test_metadata(self):
        self.assertEqual(self.metadata["Requires-Python"], ">=3.10")
        requires = self.metadata.get_all("Requires-Dist")
        unconditional = [r for r in requires if "extra ==" not in r]
        for package in ("qiskit", "qiskit-aer", "qiskit-ibm-runtime", "torch"):
            self.assertTrue(any(re.match(rf"{package}\b", r) for r in unconditional), package)

    def test_optional_extras(self):
        """qiskit-machine-learning and matplotlib are extras (ml, plot, all), not requirements."""
        requires = self.metadata.get_all("Requires-Dist")
        extras = set(self.metadata.get_all("Provides-Extra"))
        self.assertLessEqual({"ml", "plot", "all", "test", "docs"}, extras)

        def extras_of(package: str) -> set[str]:
            found = set()
            for requirement in requires:
                if re.match(rf"{package}(?![-\w])", requirement):
                    marker = re.search(r"extra\s*==\s*[\"']([\w-]+)[\"']", requirement)
                    found.add(marker.group(1) if marker else None)
            return found

        for package, extra in (("qiskit-machine-learning", "ml"), ("matplotlib", "plot")):
            with self.subTest(package=package):
                where = extras_of(package)
                self.assertNotIn(None, where, f"{package} must not be an unconditional requirement")
                self.assertLessEqual({extra, "test"}, where)
        # [all] pulls in both optional extras
        all_extra = [r for r in requires if re.search(r"extra\s*==\s*[\"']all[\"']", r)]
        self.assertTrue(all_extra, "the all extra has requirements")
        joined = " ".join(all_extra)
        self.assertTrue(
            ("qiskit-machine-learning" in joined and "matplotlib" in joined)
            or re.search(r"qiskit-qdeep\[(ml,plot|plot,ml)\]", joined),
            joined,
        )
        # docs and test extras serve MathJax with the site (docs that work offline)
        self.assertLessEqual({"docs", "test"}, extras_of("sphinx-mathjax-offline"))
