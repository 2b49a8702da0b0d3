# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Tests of the noisy density-matrix engine and its V2 primitives (issue 17, validation)."""

from __future__ import annotations

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import efficient_su2
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.quantum_info import DensityMatrix, SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.noise import (
    NoiseModel,
    ReadoutError,
    amplitude_damping_error,
    depolarizing_error,
    pauli_error,
    phase_damping_error,
    thermal_relaxation_error,
)
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeNairobiV2

from qiskit_qdeep.exceptions import (
    QDeepTypeError,
    QDeepValueError,
    QubitLimitError,
    UnsupportedGateError,
)
from qiskit_qdeep.primitives import (
    DensityMatrixEngine,
    TorchDensityMatrixEstimator,
    TorchDensityMatrixSampler,
    TorchStatevectorEstimator,
    exact_engine,
)
from test import QDeepTestCase

#: One-qubit and two-qubit error of each channel type (asymmetric two-qubit errors, so that a
#: swapped qubit order would show).
CHANNELS = {
    "depolarizing": (depolarizing_error(0.05, 1), depolarizing_error(0.08, 2)),
    "amplitude_damping": (
        amplitude_damping_error(0.1),
        amplitude_damping_error(0.07).tensor(amplitude_damping_error(0.02)),
    ),
    "phase_damping": (
        phase_damping_error(0.1),
        phase_damping_error(0.2).tensor(phase_damping_error(0.05)),
    ),
    "thermal_relaxation": (
        thermal_relaxation_error(50e3, 30e3, 1000),
        thermal_relaxation_error(50e3, 70e3, 500, 0.1).expand(
            thermal_relaxation_error(40e3, 20e3, 500)
        ),
    ),
    "pauli": (
        pauli_error([("X", 0.05), ("Y", 0.02), ("I", 0.93)]),
        pauli_error([("XZ", 0.05), ("YI", 0.02), ("II", 0.93)]),
    ),
}


def _aer_evs(circuit, observables, values, noise_model) -> np.ndarray:
    """Aer's exact density-matrix expectation values ``(bindings, observables)``."""
    estimator = AerEstimatorV2(
        options={
            "backend_options": {"method": "density_matrix", "noise_model": noise_model},
            "default_precision": 0.0,
        }
    )
    pub = (circuit, [[obs] for obs in observables], values)
    return estimator.run([pub]).result()[0].data.evs.T


def _small_circuit(num_qubits: int = 3) -> QuantumCircuit:
    circuit = efficient_su2(num_qubits, reps=2)
    circuit.cx(0, num_qubits - 1)
    circuit.h(1)
    circuit.reset(0)
    circuit.ry(circuit.parameters[0], 0)
    return circuit


def _transpile(circuit, backend, seed=11):
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=seed)
    return pm.run(circuit)


class TestNoiselessLimit(QDeepTestCase):
    """Without a noise model the engine is the exact statevector path."""

    def test_matches_statevector_engine(self):
        """Random 2-4 qubit parameterized circuits: states, expectations and probabilities."""
        for num_qubits in (2, 3, 4):
            with self.subTest(num_qubits=num_qubits):
                circuit = efficient_su2(num_qubits, reps=2, entanglement="full")
                theta = circuit.parameters[0]
                circuit.rzz(2 * theta + 0.3, 0, 1)
                circuit.crx(circuit.parameters[1], 1, 0)
                if num_qubits > 2:
                    circuit.ccx(0, 1, 2)
                circuit.u(theta, circuit.parameters[2], 0.4, num_qubits - 1)
                values = self.rng.normal(size=(2, 3, circuit.num_parameters))
                labels = ["Z" * num_qubits, "X" + "I" * (num_qubits - 2) + "Y", "I" * num_qubits]
                ours = DensityMatrixEngine(circuit)
                reference = exact_engine(circuit)
                self.assertAllClose(
                    ours.expectation_values(values, labels).numpy(),
                    reference.expectation_values(values, labels).numpy(),
                    atol=1e-12,
                )
                self.assertAllClose(
                    ours.probabilities(values, [num_qubits - 1, 0]).numpy(),
                    reference.probabilities(values, [num_qubits - 1, 0]).numpy(),
                    atol=1e-12,
                )
                psi = reference.statevector(values).numpy()
                rho = ours.density_matrix(values).numpy()
                self.assertEqual(rho.shape, (2, 3, 2**num_qubits, 2**num_qubits))
                self.assertAllClose(rho, np.einsum("abi,abj->abij", psi, psi.conj()), atol=1e-12)

    def test_reset_is_the_exact_channel(self):
        """A reset of an entangled qubit mixes the state (as Qiskit's DensityMatrix does)."""
        circuit = _small_circuit(3)
        values = self.rng.normal(size=(2, circuit.num_parameters))
        rho = DensityMatrixEngine(circuit).density_matrix(values).numpy()
        for b in range(2):
            reference = DensityMatrix(circuit.assign_parameters(values[b])).data
            self.assertAllClose(rho[b], reference, atol=1e-12)
        self.assertLess(np.trace(rho[0] @ rho[0]).real, 1 - 1e-3)  # mixed


class TestChannels(QDeepTestCase):
    """Every channel type of a NoiseModel matches Aer's density-matrix estimator."""

    def test_each_channel_matches_aer(self):
        circuit = _small_circuit(3)
        values = self.rng.normal(size=(2, circuit.num_parameters))
        observables = ["ZZI", "XIY", "IZX", "ZII"]
        for name, (one, two) in CHANNELS.items():
            with self.subTest(channel=name):
                noise = NoiseModel()
                noise.add_all_qubit_quantum_error(one, ["ry", "rz", "h", "reset"])
                noise.add_all_qubit_quantum_error(two, ["cx"])
                ours = DensityMatrixEngine(circuit, noise_model=noise)
                evs = ours.expectation_values(values, observables).numpy()
                self.assertAllClose(evs, _aer_evs(circuit, observables, values, noise), atol=1e-6)
                noiseless = DensityMatrixEngine(circuit).expectation_values(values, observables)
                self.assertGreater(np.abs(evs - noiseless.numpy()).max(), 1e-3)

    def test_local_error_overrides_default(self):
        """A qubit-specific error replaces the all-qubit one there, as in Aer."""
        circuit = _small_circuit(3)
        values = self.rng.normal(size=(1, circuit.num_parameters))
        noise = NoiseModel()
        noise.add_all_qubit_quantum_error(depolarizing_error(0.02, 1), ["ry"])
        noise.add_quantum_error(amplitude_damping_error(0.3), ["ry"], [1])
        observables = ["ZZZ", "IXI", "ZIY"]
        evs = DensityMatrixEngine(circuit, noise_model=noise).expectation_values(
            values, observables
        )
        self.assertAllClose(evs.numpy(), _aer_evs(circuit, observables, values, noise), atol=1e-6)


class TestBackendNoise(QDeepTestCase):
    """``from_backend`` of fake backends against Aer with ``NoiseModel.from_backend``."""

    def test_manila_estimator_matches_aer(self):
        backend = FakeManilaV2()
        circuit = efficient_su2(4, reps=2)
        isa = _transpile(circuit, backend)
        observables = [
            SparsePauliOp(label).apply_layout(isa.layout) for label in ("ZZII", "XIYI", "IIZX")
        ]
        values = self.rng.normal(size=(3, circuit.num_parameters))
        estimator = TorchDensityMatrixEstimator.from_backend(backend)
        self.assertIsInstance(estimator, BaseEstimatorV2)
        result = estimator.run([(isa, [[obs] for obs in observables], values)]).result()[0]
        self.assertEqual(result.data.evs.shape, (3, 3))
        reference = _aer_evs(isa, observables, values, NoiseModel.from_backend(backend))
        self.assertAllClose(result.data.evs.T, reference, atol=1e-6)
        self.assertAllClose(result.data.stds, np.zeros((3, 3)))

    def test_manila_probabilities_with_readout(self):
        """Exact: Aer's noisy probabilities times the readout matrices; sampled: Aer's shots."""
        backend = FakeManilaV2()
        noise = NoiseModel.from_backend(backend)
        circuit = efficient_su2(3, reps=1)
        values = self.rng.normal(size=circuit.num_parameters)
        # exact part: the state before the measurements (Aer's save_probabilities)
        isa = _transpile(circuit, backend)
        physical = [isa.layout.final_index_layout()[i] for i in range(3)]
        engine = DensityMatrixEngine(isa, noise_model=noise)
        saved = isa.assign_parameters(values)
        saved.save_probabilities(physical)
        simulator = AerSimulator(method="density_matrix", noise_model=noise)
        aer_probs = simulator.run(saved, shots=1).result().data()["probabilities"]
        ideal = engine.probabilities(values, physical, readout=False).numpy()
        # Aer drops the error terms of FakeManila's noise model of probability below its 1e-10
        # threshold without renormalising (its density matrix has trace 1 - 3e-9 here, ours 1),
        # so the agreement is to about 1e-9
        self.assertAllClose(ideal, aer_probs, atol=1e-8)
        confusion = np.ones((1, 1))
        for qubit in reversed(physical):
            readout = noise._local_readout_errors[(qubit,)].probabilities  # pylint: disable=W0212
            confusion = np.kron(confusion, readout)
        noisy = engine.probabilities(values, physical).numpy()
        self.assertAllClose(noisy, ideal @ confusion, atol=1e-12)
        self.assertAllClose(noisy, aer_probs @ confusion, atol=1e-8)
        self.assertGreater(np.abs(noisy - ideal).max(), 1e-3)
        # sampled part: measurements (with their relaxation errors) and readout, through Aer
        measured = circuit.copy()
        measured.measure_all()
        isa_m = _transpile(measured, backend)
        sampler = TorchDensityMatrixSampler.from_backend(backend, seed=5)
        self.assertIsInstance(sampler, BaseSamplerV2)
        engine_m = sampler._engine(isa_m)  # pylint: disable=protected-access
        qargs = [engine_m.final_measurements[c] for c in range(3)]
        probs = engine_m.probabilities(values, qargs).numpy()
        shots = 200_000
        counts = (
            simulator.run(isa_m.assign_parameters(values), shots=shots, seed_simulator=3)
            .result()
            .get_counts()
        )
        empirical = np.zeros(8)
        for key, count in counts.items():
            empirical[int(key, 2)] = count / shots
        sigma = np.sqrt(probs * (1 - probs) / shots) + 1e-12
        self.assertLess(np.max(np.abs(empirical - probs) / sigma), 5.0)
        ours = sampler.run([(isa_m, values)], shots=shots).result()[0].data.meas.get_counts()
        ours_probs = np.zeros(8)
        for key, count in ours.items():
            ours_probs[int(key, 2)] = count / shots
        self.assertLess(np.max(np.abs(ours_probs - probs) / sigma), 5.0)

    def test_nairobi_seven_qubits(self):
        """A 7-qubit backend (16384 entries per density matrix), a small batch."""
        backend = FakeNairobiV2()
        circuit = efficient_su2(7, reps=1, entanglement="linear")
        isa = _transpile(circuit, backend)
        self.assertEqual(isa.num_qubits, 7)
        observables = [SparsePauliOp(label).apply_layout(isa.layout) for label in ("Z" * 7,)]
        values = self.rng.normal(size=(2, circuit.num_parameters))
        evs = TorchDensityMatrixEstimator.from_backend(backend).run(
            [(isa, [[obs] for obs in observables], values)]
        )
        reference = _aer_evs(isa, observables, values, NoiseModel.from_backend(backend))
        self.assertAllClose(evs.result()[0].data.evs.T, reference, atol=1e-6)


class TestOptions(QDeepTestCase):
    """Readout error on expectation values, shot noise, sampler registers."""

    def test_readout_error_on_expectation_values(self):
        """``readout_error=True``: each Pauli factor Z becomes the noisy readout's a I + b Z."""
        circuit = QuantumCircuit(2)
        circuit.ry(Parameter("a"), 0)
        circuit.cx(0, 1)
        noise = NoiseModel()
        p0, p1 = [[0.9, 0.1], [0.2, 0.8]], [[0.97, 0.03], [0.05, 0.95]]
        noise.add_readout_error(ReadoutError(p0), [0])
        noise.add_readout_error(ReadoutError(p1), [1])
        values = np.array([[0.7]])
        plain = DensityMatrixEngine(circuit, noise_model=noise)
        noisy = DensityMatrixEngine(circuit, noise_model=noise, readout_error=True)
        labels = ["ZZ", "IZ", "XX"]
        self.assertAllClose(
            plain.expectation_values(values, labels).numpy(),
            DensityMatrixEngine(circuit).expectation_values(values, labels).numpy(),
        )
        # <Z0 Z1> from the noisy outcome distribution
        probs = plain.probabilities(values).numpy()[0]  # readout included
        signs = np.array([1, -1, -1, 1])
        got = noisy.expectation_values(values, labels).numpy()[0]
        self.assertAlmostEqual(got[0], float(probs @ signs), places=12)
        self.assertAlmostEqual(got[1], float(probs @ np.array([1, -1, 1, -1])), places=12)
        # XX: measured after a noiseless basis change, same affine map on each factor
        rho = plain.density_matrix(values).numpy()[0]
        ideal_xx = np.trace(SparsePauliOp("XX").to_matrix() @ rho).real
        self.assertNotAlmostEqual(got[2], ideal_xx, places=3)

    def test_noiseless_primitives_match_statevector_primitives(self):
        """Broadcasting of PUB shapes, observable forms and registers as the exact twins."""
        circuit = efficient_su2(2, reps=2)  # no reset: the statevector twin samples collapses
        values = self.rng.normal(size=(3, circuit.num_parameters))
        observables = [["ZZ"], [SparsePauliOp(["XY", "IZ"], [0.5, -1.0])]]  # shape (2, 1)
        ours = TorchDensityMatrixEstimator().run([(circuit, observables, values)]).result()[0]
        reference = TorchStatevectorEstimator().run([(circuit, observables, values)]).result()[0]
        self.assertEqual(ours.data.evs.shape, (2, 3))
        self.assertAllClose(ours.data.evs, reference.data.evs, atol=1e-12)
        measured = efficient_su2(2, reps=1)
        measured.measure_all()
        bound = self.rng.normal(size=(2, measured.num_parameters))
        result = TorchDensityMatrixSampler(seed=4).run([(measured, bound)], shots=50).result()
        self.assertEqual(result[0].data.meas.shape, (2,))
        self.assertEqual(result[0].data.meas.num_shots, 50)

    def test_precision_noise_is_seeded(self):
        circuit = _small_circuit(2)
        values = self.rng.normal(size=(4, circuit.num_parameters))
        exact = TorchDensityMatrixEstimator().run([(circuit, "ZZ", values)]).result()[0].data.evs
        runs = [
            TorchDensityMatrixEstimator(seed=3, default_precision=0.01)
            .run([(circuit, "ZZ", values)])
            .result()[0]
            .data
            for _ in range(2)
        ]
        self.assertAllClose(runs[0].evs, runs[1].evs)
        self.assertAllClose(runs[0].stds, np.full(4, 0.01))
        self.assertGreater(np.abs(runs[0].evs - exact).max(), 1e-4)
        self.assertLess(np.abs(runs[0].evs - exact).max(), 0.1)

    def test_sampler_registers_and_readout(self):
        circuit = QuantumCircuit(2, 2)
        circuit.x(0)
        circuit.measure([0, 1], [1, 0])  # qubit 0 -> clbit 1
        noise = NoiseModel()
        noise.add_all_qubit_readout_error(ReadoutError([[0.9, 0.1], [0.25, 0.75]]))
        result = TorchDensityMatrixSampler(noise_model=noise, seed=2).run([circuit], shots=20000)
        counts = result.result()[0].data.c.get_counts()
        # clbit 1 = qubit 0 (|1>): '1' with 0.75; clbit 0 = qubit 1 (|0>): '0' with 0.9
        frac = {key: value / 20000 for key, value in counts.items()}
        self.assertAlmostEqual(frac.get("10", 0), 0.75 * 0.9, delta=0.015)
        self.assertAlmostEqual(frac.get("01", 0), 0.25 * 0.1, delta=0.01)


class TestGradients(QDeepTestCase):
    """Autograd through the noisy engine against central finite differences."""

    def test_gradients_match_finite_differences(self):
        backend = FakeManilaV2()
        circuit = efficient_su2(2, reps=1)
        isa = _transpile(circuit, backend)
        engine = DensityMatrixEngine(isa, noise_model=NoiseModel.from_backend(backend))
        observables = [SparsePauliOp(label).apply_layout(isa.layout) for label in ("ZZ", "XY")]
        values = torch.tensor(self.rng.normal(size=(2, circuit.num_parameters)), requires_grad=True)
        weights = torch.tensor([[0.7, -1.3]], dtype=torch.float64)
        (engine.expectation_values(values, observables) * weights).sum().backward()
        eps = 1e-5
        numeric = np.zeros(values.shape)
        base = values.detach().numpy()
        for i in range(base.shape[0]):
            for j in range(base.shape[1]):
                plus, minus = base.copy(), base.copy()
                plus[i, j] += eps
                minus[i, j] -= eps
                fp = (engine.expectation_values(plus, observables) * weights).sum().item()
                fm = (engine.expectation_values(minus, observables) * weights).sum().item()
                numeric[i, j] = (fp - fm) / (2 * eps)
        self.assertAllClose(values.grad.numpy(), numeric, atol=1e-7)
        self.assertGreater(np.abs(numeric).max(), 1e-2)

    def test_gradcheck_nonlinear_expressions_and_probabilities(self):
        a, b = Parameter("a"), Parameter("b")
        circuit = QuantumCircuit(2)
        circuit.rx(a * b, 0)
        circuit.cry(2 * b + 0.1, 0, 1)
        circuit.rz(a, 1)
        circuit.h(1)
        noise = NoiseModel()
        noise.add_all_qubit_quantum_error(thermal_relaxation_error(30, 20, 3), ["rx", "h"])
        noise.add_all_qubit_quantum_error(depolarizing_error(0.1, 2), ["cry"])
        noise.add_all_qubit_readout_error(ReadoutError([[0.9, 0.1], [0.2, 0.8]]))
        engine = DensityMatrixEngine(circuit, noise_model=noise)
        values = torch.tensor([[0.4, -0.8], [1.1, 0.3]], dtype=torch.float64, requires_grad=True)
        self.assertTrue(
            torch.autograd.gradcheck(
                lambda v: engine.expectation_values(v, ["ZX", "YI"]), (values,), atol=1e-7
            )
        )
        self.assertTrue(
            torch.autograd.gradcheck(lambda v: engine.probabilities(v, [1]), (values,), atol=1e-7)
        )


class TestErrors(QDeepTestCase):
    """Clear errors for bad input."""

    def test_too_many_qubits(self):
        with self.assertRaisesRegex(QubitLimitError, "4\\*\\*num_qubits"):
            DensityMatrixEngine(QuantumCircuit(11))
        with self.assertRaisesRegex(QubitLimitError, "max_qubits=3"):
            DensityMatrixEngine(QuantumCircuit(4), max_qubits=3)
        engine = DensityMatrixEngine(QuantumCircuit(6), max_memory_bytes=2**20)
        with self.assertRaisesRegex(QubitLimitError, "max_memory_bytes"):
            engine.density_matrix(np.zeros((100, 0)))

    def test_bad_noise_models(self):
        circuit = _small_circuit(2)
        with self.assertRaisesRegex(QDeepTypeError, "noise_model"):
            DensityMatrixEngine(circuit, noise_model={"cx": 0.1})
        broken = pauli_error([("X", 0.5), ("I", 0.5)])
        broken._probs = np.array([0.7, 0.7])  # pylint: disable=protected-access
        noise = NoiseModel()
        noise.add_all_qubit_quantum_error(broken, ["h"])
        with self.assertRaisesRegex(QDeepValueError, "'h' on qubits \\[1\\].*not a CPTP"):
            DensityMatrixEngine(circuit, noise_model=noise)
        correlated = NoiseModel()
        correlated.add_readout_error(ReadoutError(0.9 * np.eye(4) + 0.025), [0, 1])
        with self.assertRaisesRegex(QDeepValueError, "correlated readout error"):
            DensityMatrixEngine(circuit, noise_model=correlated)
        delayed = QuantumCircuit(5)
        delayed.delay(100, 0)
        with self.assertRaisesRegex(QDeepValueError, "delay"):
            DensityMatrixEngine(delayed, noise_model=NoiseModel.from_backend(FakeManilaV2()))

    def test_bad_values(self):
        engine = DensityMatrixEngine(_small_circuit(2))
        width = engine.num_parameters
        with self.assertRaisesRegex(QDeepValueError, f"\\(\\.\\.\\., {width}\\)"):
            engine.expectation_values(np.zeros((2, width + 1)), ["ZZ"])
        bad = np.zeros((1, width))
        bad[0, 1] = np.nan
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            engine.probabilities(bad)
        with self.assertRaisesRegex(QDeepTypeError, "real"):
            engine.density_matrix(torch.zeros((1, width), dtype=torch.complex128))
        with self.assertRaisesRegex(QDeepValueError, "qargs"):
            engine.probabilities(np.zeros(width), [0, 0])

    def test_bad_arguments(self):
        with self.assertRaisesRegex(QDeepTypeError, "circuit"):
            DensityMatrixEngine("not a circuit")
        with self.assertRaisesRegex(QDeepValueError, "dtype"):
            DensityMatrixEngine(QuantumCircuit(1), dtype=torch.float64)
        with self.assertRaisesRegex(QDeepTypeError, "readout_error"):
            TorchDensityMatrixEstimator(readout_error="yes")
        with self.assertRaisesRegex(QDeepTypeError, "seed"):
            TorchDensityMatrixSampler(seed=1.5)
        with self.assertRaisesRegex(QDeepTypeError, "backend"):
            TorchDensityMatrixEstimator.from_backend("manila")
        measured = QuantumCircuit(1, 1)
        measured.measure(0, 0)
        measured.x(0)
        with self.assertRaises(UnsupportedGateError):
            DensityMatrixEngine(measured)
