# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Pass-manager path, ISA checks, primitive type checks and the IBM Runtime client, locally."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import BackendEstimatorV2, StatevectorEstimator
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

from qiskit_qdeep.exceptions import ISACircuitError, QDeepTypeError
from qiskit_qdeep.nn import QuantumLayer
from qiskit_qdeep.primitives import EstimatorRunner, resolve_estimator, resolve_sampler
from test import QDeepTestCase


def small_layer_circuit():
    x = ParameterVector("x", 2)
    w = ParameterVector("w", 4)
    qc = QuantumCircuit(2)
    qc.rx(x[0], 0)
    qc.rx(x[1], 1)
    qc.ry(w[0], 0)
    qc.ry(w[1], 1)
    qc.cx(0, 1)
    qc.rz(w[2], 1)
    qc.ry(w[3], 0)
    return qc, list(x), list(w)


class TestPrimitiveChecks(QDeepTestCase):
    """Primitive resolution and ISA errors."""

    def test_v1_and_foreign_primitives_rejected(self):
        from qiskit_aer.primitives import Estimator as AerEstimatorV1
        from qiskit_aer.primitives import Sampler as AerSamplerV1

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v1_est, v1_samp = AerEstimatorV1(), AerSamplerV1()
        with self.assertRaisesRegex(QDeepTypeError, "V1 primitive"):
            resolve_estimator(v1_est)
        with self.assertRaisesRegex(QDeepTypeError, "V1 primitive"):
            resolve_sampler(v1_samp)
        with self.assertRaisesRegex(TypeError, "BaseEstimatorV2"):
            resolve_estimator("aer")
        with self.assertRaisesRegex(TypeError, "BaseSamplerV2"):
            resolve_sampler(StatevectorEstimator())

    def test_backend_primitive_without_pass_manager(self):
        qc, _, _ = small_layer_circuit()
        backend = GenericBackendV2(3, seed=5)
        with self.assertRaisesRegex(ISACircuitError, "pass_manager=generate_preset_pass_manager"):
            EstimatorRunner(qc, "ZZ", estimator=BackendEstimatorV2(backend=backend))

    def test_pass_manager_path_on_generic_backend(self):
        qc, _, _ = small_layer_circuit()
        backend = GenericBackendV2(4, seed=5)
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
        obs = [SparsePauliOp("ZI"), SparsePauliOp("XZ")]
        for estimator in (AerEstimatorV2(), BackendEstimatorV2(backend=backend)):
            with self.subTest(estimator=type(estimator).__name__):
                precision = 0.0 if isinstance(estimator, AerEstimatorV2) else 0.01
                runner = EstimatorRunner(
                    qc, obs, estimator=estimator, pass_manager=pm, precision=precision
                )
                self.assertEqual(runner.isa_circuit.num_qubits, 4)
                self.assertEqual(runner.isa_observables[0].num_qubits, 4)
                values = self.rng.uniform(-2, 2, (3, 6))
                evs = runner.run(values)
                exact = np.array(
                    [
                        [
                            Statevector(qc.assign_parameters(v)).expectation_value(o).real
                            for o in obs
                        ]
                        for v in values
                    ]
                )
                tol = 1e-6 if isinstance(estimator, AerEstimatorV2) else 0.25
                self.assertAllClose(evs, exact, atol=tol)


class TestRuntimeLocalMode(QDeepTestCase):
    """QuantumLayer through qiskit-ibm-runtime primitives in local testing mode (no network)."""

    def _check(self, estimator):
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        backend = FakeManilaV2()
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=7)
        qc, x, w = small_layer_circuit()
        obs = ["ZI", "IZ"]
        weights = self.rng.uniform(-1, 1, 4)
        layer = QuantumLayer(
            qc, obs, x, w, estimator=estimator, pass_manager=pm, initial_weights=weights
        )
        exact = QuantumLayer(qc, obs, x, w, initial_weights=weights).double()
        self.assertEqual(layer.gradient, "parameter-shift")
        inputs = torch.tensor(self.rng.uniform(-1, 1, (3, 2)), requires_grad=True)
        inputs_ref = inputs.detach().clone().requires_grad_(True)
        out = layer(inputs)
        out.sum().backward()
        ref = exact(inputs_ref)
        ref.sum().backward()
        self.assertEqual(layer.runner.num_jobs, 1)
        self.assertAllClose(out, ref, atol=0.15)  # shot noise + FakeManila's noise model
        self.assertAllClose(inputs.grad, inputs_ref.grad, atol=0.3)
        self.assertAllClose(layer.weight.grad, exact.weight.grad, atol=0.5)

    def test_legacy_estimator_v2(self):
        from qiskit_ibm_runtime import EstimatorV2
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            estimator = EstimatorV2(mode=FakeManilaV2())
        estimator.options.default_shots = 4000
        estimator.options.simulator.seed_simulator = 11
        self._check(estimator)

    def test_executor_estimator(self):
        from qiskit_ibm_runtime.executor_estimator import Estimator
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        estimator = Estimator(mode=FakeManilaV2())
        estimator.options.default_shots = 4000
        estimator.options.simulator.seed_simulator = 11
        self._check(estimator)

    def test_legacy_estimator_v2_in_session_mode(self):
        from qiskit_ibm_runtime import EstimatorV2, Session
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with Session(backend=FakeManilaV2()) as session:
                estimator = EstimatorV2(mode=session)
                estimator.options.default_shots = 4000
                estimator.options.simulator.seed_simulator = 11
                self._check(estimator)

    def test_executor_estimator_in_batch_mode(self):
        from qiskit_ibm_runtime import Batch
        from qiskit_ibm_runtime.executor_estimator import Estimator
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        with Batch(backend=FakeManilaV2()) as batch:
            estimator = Estimator(mode=batch)
            estimator.options.default_shots = 4000
            estimator.options.simulator.seed_simulator = 11
            self._check(estimator)

    def test_runtime_estimator_without_pass_manager(self):
        from qiskit_ibm_runtime.executor_estimator import Estimator
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        qc, x, w = small_layer_circuit()
        with self.assertRaisesRegex(ISACircuitError, "fake_manila"):
            QuantumLayer(qc, ["ZI"], x, w, estimator=Estimator(mode=FakeManilaV2()))
