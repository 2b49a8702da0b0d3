# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The shared autograd bridge: shared and per-row weights."""

from __future__ import annotations

import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import StatevectorEstimator

from qiskit_qdeep.nn._autograd import primitive_apply
from qiskit_qdeep.primitives import EstimatorRunner
from test import QDeepTestCase


class TestPrimitiveApply(QDeepTestCase):
    """Gradients through ``primitive_apply`` pass gradcheck."""

    def setUp(self):
        super().setUp()
        x, w = ParameterVector("x", 2), ParameterVector("w", 3)
        qc = QuantumCircuit(2)
        qc.ry(x[0], 0)
        qc.rx(x[1], 1)
        qc.cx(0, 1)
        qc.ry(w[0], 0)
        qc.rz(w[1] * 2, 1)
        qc.rx(w[2], 1)
        runner = EstimatorRunner(
            qc, ["ZI", "XX"], parameters=list(x) + list(w), estimator=StatevectorEstimator()
        )

        def run(values, wrt):
            if wrt is None:
                return runner.run(values), None
            return runner.run_with_gradient(values, wrt)

        self.run_fn = run

    def test_shared_weights(self):
        inputs = torch.tensor(self.rng.uniform(-1, 1, (3, 2)), requires_grad=True)
        weights = torch.tensor(self.rng.uniform(-1, 1, 3), requires_grad=True)
        self.assertTrue(
            torch.autograd.gradcheck(
                lambda i, w: primitive_apply(i, w, self.run_fn), (inputs, weights)
            )
        )

    def test_per_row_weights_scatter_back(self):
        inputs = torch.tensor(self.rng.uniform(-1, 1, (4, 2)), requires_grad=True)
        table = torch.tensor(self.rng.uniform(-1, 1, (2, 3)), requires_grad=True)
        rows = torch.tensor([0, 1, 1, 0])

        def fn(i, t):
            return primitive_apply(i, t[rows], self.run_fn)

        self.assertTrue(torch.autograd.gradcheck(fn, (inputs, table)))
