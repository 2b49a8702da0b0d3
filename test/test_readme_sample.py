# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The README's local code sample runs as written."""

from __future__ import annotations

import os
import re

from test import QDeepTestCase

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


class TestReadmeSample(QDeepTestCase):
    """Runs the first Python block of the README (the local one; the next needs an IBM account)."""

    def test_first_python_block(self):
        with open(README, encoding="utf-8") as handle:
            blocks = re.findall(r"```python\n(.*?)```", handle.read(), flags=re.S)
        self.assertGreaterEqual(len(blocks), 1)
        namespace: dict = {}
        exec(compile(blocks[0], "README.md", "exec"), namespace)  # pylint: disable=exec-used
        self.assertEqual(tuple(namespace["out"].shape), (64, 5))
