# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The exact torch engine and QuantumLayer on CUDA agree with the CPU (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import torch
from ddt import ddt, idata
from qiskit.circuit import ParameterVector

from qiskit_qdeep.circuit.library import strongly_entangling_circuit
from qiskit_qdeep.nn import QuantumLayer
from qiskit_qdeep.primitives import StatevectorEngine, TorchStatevectorEstimator
from test import QDeepTestCase, gpu


def block(num_qubits=5, reps=3):
    x = ParameterVector("x", num_qubits)
    w = ParameterVector("w", 3 * num_qubits * reps)
    qc = strongly_entangling_circuit(num_qubits, reps, input_params=x, weight_params=w)
    qc.crx(x[0] * 2, 0, num_qubits - 1)
    qc.rzz(w[0] + x[1], 1, 2)
    obs = ["I" * (num_qubits - 1 - q) + "Y" + "I" * q for q in range(num_qubits)]
    return qc, obs, list(x), list(w)


@gpu
@ddt
class TestEngineOnCuda(QDeepTestCase):
    """CUDA results and gradients equal the CPU ones."""

    @idata([torch.complex128, torch.complex64])
    def test_expectations_and_gradients(self, dtype):
        qc, obs, x, w = block()
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        tol = 1e-10 if dtype == torch.complex128 else 2e-4
        values = torch.tensor(self.rng.uniform(-3, 3, (257, qc.num_parameters)), dtype=real)
        results = []
        for device in ("cpu", "cuda"):
            engine = StatevectorEngine(qc, parameters=x + w, dtype=dtype, device=device)
            vals = values.to(device).requires_grad_(True)
            out = engine.expectation_values(vals, obs)
            self.assertEqual(out.device.type, device)
            (out * torch.arange(1, 6, device=device, dtype=real)).sum().backward()
            probs = engine.probabilities(vals.detach(), qubits=[0, 2])
            results.append((out.cpu(), vals.grad.cpu(), probs.cpu()))
        for cpu, cuda in zip(*results):
            self.assertAllClose(cuda, cpu, atol=tol)

    def test_quantum_layer_moves_to_cuda(self):
        qc, obs, x, w = block(4, 2)
        layer = QuantumLayer(qc, obs, x, w, seed=3).double()
        inputs = torch.tensor(self.rng.uniform(-1, 1, (33, 4)))
        ref = layer(inputs)
        ref.sum().backward()
        ref_grad = layer.weight.grad.clone()
        layer.zero_grad()
        layer = layer.to("cuda")
        out = layer(inputs.to("cuda"))
        out.sum().backward()
        self.assertEqual(out.device.type, "cuda")
        self.assertAllClose(out, ref, atol=1e-10)
        self.assertAllClose(layer.weight.grad, ref_grad, atol=1e-10)

    def test_estimator_primitive_on_cuda(self):
        qc, obs, x, w = block(3, 1)
        values = self.rng.uniform(-1, 1, (5, qc.num_parameters))
        cpu = TorchStatevectorEstimator().run([(qc, [[o] for o in obs], values)]).result()
        cuda = (
            TorchStatevectorEstimator(device="cuda")
            .run([(qc, [[o] for o in obs], values)])
            .result()
        )
        self.assertAllClose(np.asarray(cuda[0].data.evs), np.asarray(cpu[0].data.evs), atol=1e-10)
