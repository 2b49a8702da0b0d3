# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Shared test base for qiskit-qdeep."""

from __future__ import annotations

import os
import unittest
import warnings

import numpy as np
import pytest
import torch

#: Marks long reproduction runs: opt in with ``pytest -m slow``.
slow = pytest.mark.slow

#: Marks tests that need a CUDA device; skipped without one.
gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


class QDeepTestCase(unittest.TestCase):
    """Base class of all qiskit-qdeep tests: seeded, warnings from our code are errors."""

    seed = 1234

    def setUp(self) -> None:
        super().setUp()
        self.rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        warnings.filterwarnings("error", module="qiskit_qdeep")

    def tearDown(self) -> None:
        warnings.resetwarnings()
        super().tearDown()

    def assertAllClose(self, actual, desired, atol: float = 1e-8, rtol: float = 0.0, msg: str = ""):
        """``numpy.testing.assert_allclose`` for arrays and tensors."""
        if isinstance(actual, torch.Tensor):
            actual = actual.detach().cpu().numpy()
        if isinstance(desired, torch.Tensor):
            desired = desired.detach().cpu().numpy()
        np.testing.assert_allclose(actual, desired, atol=atol, rtol=rtol, err_msg=msg)
