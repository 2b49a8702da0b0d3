# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Layers with gradient="backprop" on the noisy density-matrix estimator (a backend's noise)."""

from __future__ import annotations

import numpy as np
import torch
from qiskit.circuit import ParameterVector
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer.noise import NoiseModel, depolarizing_error
from qiskit_aer.primitives import EstimatorV2 as AerEstimator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qdeep.circuit.library import strongly_entangling_circuit
from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.nn import QuantumLayer
from qiskit_qdeep.primitives import TorchDensityMatrixEstimator
from qiskit_qdeep.primitives.noisy import DensityMatrixEstimatorRunner
from test import QDeepTestCase


def _layer(estimator, pass_manager=None, gradient="auto"):
    x, w = ParameterVector("x", 3), ParameterVector("w", 9)
    qc = strongly_entangling_circuit(3, 1, input_params=x, weight_params=w)
    return QuantumLayer(
        qc,
        ["IIZ", "IYI", "XII"],
        x,
        w,
        estimator=estimator,
        pass_manager=pass_manager,
        gradient=gradient,
        seed=3,
    ).double()


class TestNoisyBackpropLayers(QDeepTestCase):
    """Exact noisy expectation values, differentiable, on the backend-transpiled template."""

    def test_backend_noise_matches_aer_density_matrix(self):
        backend = FakeManilaV2()
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=5)
        layer = _layer(TorchDensityMatrixEstimator.from_backend(backend), pm)
        self.assertEqual(layer.gradient, "backprop")
        runner = layer.executor
        self.assertIsInstance(runner, DensityMatrixEstimatorRunner)
        inputs = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        out = layer(inputs).detach().numpy()
        # reference: Aer's density-matrix estimator with the same noise on the same ISA circuit
        aer = AerEstimator(
            options={
                "backend_options": {
                    "method": "density_matrix",
                    "noise_model": NoiseModel.from_backend(backend),
                },
                "default_precision": 0.0,
            }
        )
        isa = runner.isa_circuit
        params = layer.input_params + layer.weight_params
        weights = layer.weight.detach().numpy()
        values = np.hstack([inputs.numpy(), np.tile(weights, (4, 1))])
        order = [params.index(p) for p in isa.parameters]
        evs = aer.run([(isa, [[o] for o in runner.observables], values[:, order])]).result()[0]
        np.testing.assert_allclose(out, np.asarray(evs.data.evs).T, atol=1e-6)

    def test_gradients_and_noise_lowers_the_signal(self):
        noise = NoiseModel()
        noise.add_all_qubit_quantum_error(depolarizing_error(0.05, 1), ["rx", "ry", "rz"])
        noise.add_all_qubit_quantum_error(depolarizing_error(0.1, 2), ["cx"])
        noisy = _layer(TorchDensityMatrixEstimator(noise_model=noise))
        clean = _layer(None)
        inputs = torch.rand(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
        torch.testing.assert_close(clean.weight, noisy.weight)
        out_noisy, out_clean = noisy(inputs), clean(inputs)
        self.assertTrue(bool((out_noisy.abs() < out_clean.abs() + 1e-12).all()))
        self.assertGreater(float((out_noisy - out_clean).abs().max().detach()), 1e-3)
        # autograd through the noisy engine against central finite differences
        x = inputs[:2].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(noisy(x).sum(), x)
        eps = 1e-6
        for i, j in ((0, 0), (1, 2)):
            shift = torch.zeros_like(x)
            shift[i, j] = eps
            with torch.no_grad():
                fd = (noisy(x + shift).sum() - noisy(x - shift).sum()) / (2 * eps)
            self.assertAlmostEqual(float(grad[i, j]), float(fd), places=6)

    def test_precision_is_refused_and_parameter_shift_still_works(self):
        with self.assertRaisesRegex(QDeepValueError, "default_precision"):
            _layer(TorchDensityMatrixEstimator(default_precision=0.01), gradient="backprop")
        layer = _layer(TorchDensityMatrixEstimator(default_precision=0.01, seed=1))
        self.assertEqual(layer.gradient, "parameter-shift")
