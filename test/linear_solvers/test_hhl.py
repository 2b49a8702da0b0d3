# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""HHL: circuit blocks, exact simulation, sampled path (signs/phases), estimator path
(observables, success probability), dilation, padding, errors."""

from __future__ import annotations

import math
import pickle
import time
import tracemalloc
import warnings

import numpy as np
import scipy.linalg
from ddt import data, ddt, unpack
from qiskit.circuit import ParameterVector
from qiskit.circuit.library import UCRYGate
from qiskit.primitives import (
    BaseEstimatorV2,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

from qiskit_qdeep.circuit.library.hhl import (
    STANDARD_GATES,
    EigenvalueInversionGate,
    hhl_circuit,
    hhl_evolution_gate,
    signed_clock_values,
    state_pair_circuit,
    state_pair_template,
    to_standard_gates,
    uniformly_controlled_ry,
)
from qiskit_qdeep.circuit.library.swap_test import amplitude_encoding_angles
from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError, QubitLimitError
from qiskit_qdeep.linear_solvers import (
    HHL,
    HHL_MAX_AUTO_CLOCK_QUBITS,
    HHL_MAX_PAULI_ROTATIONS,
    HHL_MAX_QUBITS,
    HHL_MAX_UNITARY_BYTES,
    HHLResult,
    HHLWarning,
)
from test import QDeepTestCase
from test.counting import CountingSampler

TEXTBOOK_A = np.array([[1.0, -1.0 / 3.0], [-1.0 / 3.0, 1.0]])
TEXTBOOK_B = np.array([1.0, 0.0])
TEXTBOOK_X = np.array([9.0 / 8.0, 3.0 / 8.0])
#: <Z> and <X> of the normalised textbook solution [9, 3] / sqrt(90): (81 - 9) / 90, 2 * 27 / 90.
TEXTBOOK_Z = 0.8
TEXTBOOK_X_PAULI = 0.6


def random_hermitian(rng, size, complex_=False, low=1.0, high=3.0):
    """A random Hermitian matrix with eigenvalue magnitudes in [low, high] and random signs."""
    m = rng.normal(size=(size, size))
    if complex_:
        m = m + 1j * rng.normal(size=(size, size))
    q, _ = np.linalg.qr(m)
    lam = rng.uniform(low, high, size=size) * rng.choice([-1.0, 1.0], size=size)
    lam[0], lam[1] = abs(lam[0]), -abs(lam[1])  # always indefinite
    return (q * lam) @ q.conj().T


class CountingEstimator(BaseEstimatorV2):
    """Wraps a V2 estimator and records its ``run`` calls (numbers of PUBs)."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    def run(self, pubs, *, precision=None):
        pubs = list(pubs)
        self.calls.append(len(pubs))
        return self.inner.run(pubs, precision=precision)


def random_observable(rng, size, complex_=False):
    """A random Hermitian ``(size, size)`` matrix."""
    m = rng.normal(size=(size, size))
    if complex_:
        m = m + 1j * rng.normal(size=(size, size))
    return (m + m.conj().T) / 2


def random_pauli_observable(rng, num_qubits, num_terms=3):
    """A random real combination of Pauli strings (Hermitian)."""
    labels = ["".join(rng.choice(list("IXYZ"), size=num_qubits)) for _ in range(num_terms)]
    return SparsePauliOp(labels, rng.normal(size=num_terms))


def normalised_expectation(matrix, x):
    """<x|O|x> / <x|x>."""
    return float(np.real(np.vdot(x, matrix @ x)) / np.vdot(x, x).real)


class TestHHLBlocks(QDeepTestCase):
    """The circuit-library blocks against dense linear algebra."""

    def test_signed_clock_values(self):
        self.assertEqual(signed_clock_values(3).tolist(), [0, 1, 2, 3, -4, -3, -2, -1])

    def test_uniformly_controlled_ry_matches_qiskit(self):
        for k in range(4):
            angles = list(self.rng.normal(size=2**k))
            ours = Operator(uniformly_controlled_ry(angles)).data
            self.assertAllClose(ours, Operator(UCRYGate(angles)).data, atol=1e-12)
        with self.assertRaisesRegex(QDeepValueError, "power-of-two"):
            uniformly_controlled_ry([0.1, 0.2, 0.3])

    def test_eigenvalue_inversion_amplitudes(self):
        gate = EigenvalueInversionGate(3, scale=0.5, constant=0.5)
        unitary = Operator(gate).data
        for k, ks in enumerate(signed_clock_values(3)):
            column = unitary[:, k]  # |k>_clock |0>_flag (flag = qubit 3)
            flag1 = column[k + 8]
            expected = 0.0 if ks == 0 else np.clip(0.5 / (0.5 * ks), -1, 1)
            self.assertAlmostEqual(flag1.real, expected, places=12)
            self.assertAlmostEqual(abs(column[k]) ** 2 + abs(flag1) ** 2, 1.0, places=12)
        self.assertTrue(set(gate.definition.count_ops()) <= {"ry", "cx"})
        with self.assertRaisesRegex(QDeepValueError, "constant"):
            EigenvalueInversionGate(3, scale=0.5, constant=0.0)

    def test_evolution_gates(self):
        a = random_hermitian(self.rng, 4, complex_=True)
        t = 0.7
        expected = np.kron(np.eye(4), np.diag([1, 0])) + np.kron(
            scipy.linalg.expm(1j * t * a), np.diag([0, 1])
        )
        self.assertAllClose(Operator(hhl_evolution_gate(a, t)).data, expected, atol=1e-12)

        def error(evolution, steps):
            gate = hhl_evolution_gate(a, t, evolution=evolution, trotter_steps=steps)
            return np.abs(Operator(gate).data - expected).max()

        # first order: error ~ 1/steps; second order: ~ 1/steps^2
        trotter_3, trotter_12 = error("trotter", 3), error("trotter", 12)
        suzuki_1, suzuki_4 = error("suzuki", 1), error("suzuki", 4)
        self.assertLess(trotter_12, 0.15)
        self.assertGreater(trotter_3 / trotter_12, 3.0)
        self.assertLess(suzuki_4, 3e-2)
        self.assertGreater(suzuki_1 / suzuki_4, 10.0)
        with self.assertRaisesRegex(QDeepValueError, "Hermitian"):
            hhl_evolution_gate(np.array([[0.0, 1.0], [0.0, 0.0]]), t)
        with self.assertRaisesRegex(QDeepValueError, "evolution"):
            hhl_evolution_gate(a, t, evolution="magnus")

    def test_state_pair_circuit(self):
        n = 3
        a0 = self.rng.normal(size=2**n)
        a1 = self.rng.normal(size=2**n)
        qc = state_pair_circuit(n, amplitude_encoding_angles(a0), amplitude_encoding_angles(a1))
        state = Statevector(qc).data.reshape(2**n, 2)  # (register, control)
        self.assertAllClose(state[:, 0], a0 / np.linalg.norm(a0), atol=1e-12)
        state = Statevector.from_label("0" * n + "1").evolve(qc).data.reshape(2**n, 2)
        self.assertAllClose(state[:, 1], a1 / np.linalg.norm(a1), atol=1e-12)
        self.assertTrue(set(qc.count_ops()) <= {"ry", "cx"})

    def test_state_pair_template_binds_to_the_same_circuit(self):
        n = 3
        a0 = self.rng.normal(size=2**n)
        a1 = self.rng.normal(size=2**n)
        tree = np.concatenate([amplitude_encoding_angles(a0), amplitude_encoding_angles(a1)])
        template, params, matrix = state_pair_template(n)
        self.assertEqual(len(params), 2 * (2**n - 1))
        self.assertEqual(matrix.shape, (len(params), len(params)))
        bound = template.assign_parameters(dict(zip(params, matrix @ tree)))
        direct = state_pair_circuit(n, tree[: 2**n - 1], tree[2**n - 1 :])
        self.assertAllClose(Statevector(bound).data, Statevector(direct).data, atol=1e-12)
        # symbolic branch-1 angles give the same circuit as the bound template
        symbols = list(ParameterVector("s", 2**n - 1))
        symbolic = state_pair_circuit(n, tree[: 2**n - 1], symbols)
        values = dict(zip(symbols, tree[2**n - 1 :]))
        self.assertAllClose(
            Statevector(symbolic.assign_parameters(values)).data,
            Statevector(bound).data,
            atol=1e-12,
        )

    def test_circuit_post_selection_and_standard_gates(self):
        a = random_hermitian(self.rng, 4)
        b = self.rng.normal(size=4)
        lam = np.abs(np.linalg.eigvalsh(a))
        t = 2 * np.pi * 0.75 * 32 / (64 * lam.max())
        qc = hhl_circuit(a, b, num_clock_qubits=6, evolution_time=t, constant=0.9 * lam.min())
        self.assertEqual([r.name for r in qc.qregs], ["b", "clock", "flag"])
        amps = Statevector(qc).data[(1 << 8) + np.arange(4)]
        x = np.linalg.solve(a, b)
        fid = abs(np.vdot(amps / np.linalg.norm(amps), x / np.linalg.norm(x))) ** 2
        self.assertGreater(fid, 0.99)
        standard = to_standard_gates(
            hhl_circuit(
                a, b, num_clock_qubits=3, evolution_time=t, constant=lam.min(), phase_reference=True
            )
        )
        self.assertTrue({i.operation.name for i in standard.data} <= STANDARD_GATES)
        self.assertEqual({p.name for p in standard.parameters}, {"phi", "gamma"})


@ddt
class TestHHLExact(QDeepTestCase):
    """Exact simulation against numpy solutions."""

    def test_textbook(self):
        result = HHL().solve(TEXTBOOK_A, TEXTBOOK_B)
        self.assertIsInstance(result, HHLResult)
        self.assertEqual(result.method, "exact simulation")
        self.assertEqual(result.num_jobs, 0)
        self.assertGreaterEqual(result.fidelity(TEXTBOOK_X), 0.99)
        self.assertAllClose(result.solution, TEXTBOOK_X / np.linalg.norm(TEXTBOOK_X), atol=1e-3)
        self.assertAlmostEqual(result.euclidean_norm, np.linalg.norm(TEXTBOOK_X), delta=0.02)
        self.assertAllClose(result.vector, TEXTBOOK_X, atol=0.02)
        self.assertEqual(result.num_qubits, 1 + result.num_clock_qubits + 1)
        self.assertEqual(result.state.num_qubits, result.num_qubits)
        self.assertEqual(result.solution.dtype, np.float64)
        self.assertGreater(result.circuit_depth, 0)
        self.assertIn("unitary", result.gate_counts)
        # p = C^2 |x|^2 / |b|^2
        self.assertAlmostEqual(
            result.success_probability,
            (result.constant * result.euclidean_norm) ** 2,
            places=10,
        )
        pickle.loads(pickle.dumps(result))

    @data(
        (4, False, 11),
        (4, True, 12),
        (8, False, 13),
        (8, True, 14),
    )
    @unpack
    def test_random_indefinite(self, size, complex_, seed):
        rng = np.random.default_rng(seed)
        a = random_hermitian(rng, size, complex_)
        b = rng.normal(size=size)
        x = np.linalg.solve(a, b)
        self.assertTrue(np.any(np.linalg.eigvalsh(a) < 0))
        result = HHL().solve(a, b)
        self.assertGreaterEqual(result.fidelity(x), 0.99)
        self.assertAlmostEqual(result.euclidean_norm / np.linalg.norm(x), 1.0, delta=0.05)
        self.assertEqual(np.iscomplexobj(result.solution), complex_)

    def test_ill_conditioned_textbook(self):
        a = np.array([[19.98, -10.0], [-10.0, 19.98]])
        for b in (np.array([1.0, 0.0]), np.array([1.0, -2.0])):
            x = np.linalg.solve(a, b)
            result = HHL().solve(a, b)
            self.assertGreaterEqual(result.fidelity(x), 0.99)
            self.assertAlmostEqual(result.euclidean_norm / np.linalg.norm(x), 1.0, delta=0.05)

    def test_non_hermitian_dilation(self):
        a = np.array([[2.0, 1.0], [-0.5, 1.5]])
        b = np.array([1.0, 2.0])
        x = np.linalg.solve(a, b)
        result = HHL().solve(a, b)
        self.assertEqual(result.num_qubits, 2 + result.num_clock_qubits + 1)  # 4x4 dilation
        self.assertGreaterEqual(result.fidelity(x), 0.99)
        self.assertAlmostEqual(result.euclidean_norm / np.linalg.norm(x), 1.0, delta=0.05)
        a = self.rng.normal(size=(3, 3)) + 1j * self.rng.normal(size=(3, 3)) + 3 * np.eye(3)
        b = self.rng.normal(size=3)
        x = np.linalg.solve(a, b)
        result = HHL().solve(a, b)
        self.assertEqual(len(result.solution), 3)
        self.assertGreaterEqual(result.fidelity(x), 0.99)

    @data(3, 5)
    def test_non_power_of_two(self, size):
        rng = np.random.default_rng(size)
        a = random_hermitian(rng, size)
        b = rng.normal(size=size)
        x = np.linalg.solve(a, b)
        result = HHL().solve(a, b)
        self.assertEqual(result.solution.shape, (size,))
        self.assertAlmostEqual(result.eigenvalue_bounds[1], np.abs(np.linalg.eigvalsh(a)).max())
        self.assertGreaterEqual(result.fidelity(x), 0.99)
        self.assertAlmostEqual(result.euclidean_norm / np.linalg.norm(x), 1.0, delta=0.05)

    def test_trotterized_evolution(self):
        a = np.array([[1.5, 0.5], [0.5, -1.0]])  # Z and X terms do not commute
        b = np.array([0.3, 1.0])
        x = np.linalg.solve(a, b)
        for evolution, steps in (("trotter", 4), ("suzuki", 3)):
            result = HHL(evolution=evolution, trotter_steps=steps, num_clock_qubits=4).solve(a, b)
            self.assertGreaterEqual(result.fidelity(x), 0.99, evolution)
            self.assertNotIn("unitary", result.gate_counts)

    def test_overrides(self):
        # k = t 2^n lambda / 2 pi: lambda = 2/3, 4/3 -> k = 2, 4 for n = 4, t = 3 pi / 8
        hhl = HHL(num_clock_qubits=4, evolution_time=3 * np.pi / 8)
        result = hhl.solve(TEXTBOOK_A, TEXTBOOK_B)
        self.assertEqual(result.num_clock_qubits, 4)
        self.assertAlmostEqual(result.evolution_time, 3 * np.pi / 8)
        self.assertAlmostEqual(result.fidelity(TEXTBOOK_X), 1.0, places=10)
        self.assertAlmostEqual(result.euclidean_norm, np.linalg.norm(TEXTBOOK_X), places=8)
        bounded = HHL(eigenvalue_bounds=(0.5, 2.0)).solve(TEXTBOOK_A, TEXTBOOK_B)
        self.assertEqual(bounded.eigenvalue_bounds, (0.5, 2.0))
        self.assertGreaterEqual(bounded.fidelity(TEXTBOOK_X), 0.99)
        circuit = hhl.construct_circuit(TEXTBOOK_A, TEXTBOOK_B)
        self.assertEqual(circuit.num_qubits, 6)


class TestHHLSampled(QDeepTestCase):
    """The sampled path: magnitudes from counts, signs/phases from the phase reference."""

    def test_aer_real_signs(self):
        rng = np.random.default_rng(7)
        a = random_hermitian(rng, 4)
        b = rng.normal(size=4)
        x = np.linalg.solve(a, b)
        exact = HHL().solve(a, b)
        sampler = CountingSampler(AerSamplerV2(seed=11))
        result = HHL(sampler=sampler, shots=100_000).solve(a, b)
        self.assertEqual(result.method, "sampled")
        self.assertEqual(result.num_jobs, 1)
        self.assertEqual(sampler.calls, 1)
        self.assertTrue(np.all(np.sign(result.solution) == np.sign(x)))
        self.assertGreaterEqual(result.fidelity(x), 0.99)
        self.assertAllClose(result.solution, exact.solution, atol=0.03)
        self.assertAlmostEqual(result.success_probability, exact.success_probability, delta=0.01)
        self.assertAlmostEqual(result.euclidean_norm / exact.euclidean_norm, 1.0, delta=0.03)

    def test_aer_complex_phases(self):
        rng = np.random.default_rng(8)
        a = random_hermitian(rng, 2, complex_=True)
        b = np.array([1.0, 0.5 - 0.5j])
        exact = HHL().solve(a, b)
        result = HHL(sampler=AerSamplerV2(seed=3), shots=100_000).solve(a, b)
        # the global phase is physical here: compare amplitudes, not only the fidelity
        self.assertAllClose(result.solution, exact.solution, atol=0.03)
        self.assertGreaterEqual(result.fidelity(np.linalg.solve(a, b)), 0.99)

    def test_default_sampler_converges_to_exact(self):
        rng = np.random.default_rng(9)
        a = random_hermitian(rng, 4, complex_=True)
        b = rng.normal(size=4) + 1j * rng.normal(size=4)
        exact = HHL().solve(a, b)
        first = HHL(shots=400_000, seed=5).solve(a, b)
        second = HHL(shots=400_000, seed=5).solve(a, b)
        self.assertAllClose(first.solution, second.solution, atol=0)  # seeded
        self.assertAllClose(first.solution, exact.solution, atol=0.03)
        self.assertAlmostEqual(first.success_probability, exact.success_probability, delta=5e-3)

    def test_fake_backend_with_pass_manager(self):
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime import SamplerV2
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        backend = FakeManilaV2()
        a = np.array([[0.6, 0.8], [0.8, -0.6]])  # eigenvalues +-1
        b = np.array([1.0, 0.5])
        x = np.linalg.solve(a, b)
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=7)
        sampler = SamplerV2(mode=backend)
        sampler.options.simulator.seed_simulator = 7  # seeded noise simulation
        hhl = HHL(num_clock_qubits=2, sampler=sampler, pass_manager=pm, shots=4000)
        result = hhl.solve(a, b)  # 1 + 2 + 1 + 1 (reference) = 5 qubits
        self.assertEqual(result.num_jobs, 1)
        self.assertTrue(np.all(np.sign(result.solution) == np.sign(x)))
        self.assertGreaterEqual(result.fidelity(x), 0.9)


@ddt
class TestHHLObservables(QDeepTestCase):
    """Observables of the solution: exact path, estimator path (one job), sampler + estimator."""

    def test_textbook_exact_and_statevector_estimator(self):
        observables = ["Z", SparsePauliOp("X"), np.diag([1.0, -1.0])]
        expected = [TEXTBOOK_Z, TEXTBOOK_X_PAULI, TEXTBOOK_Z]
        exact = HHL().solve(TEXTBOOK_A, TEXTBOOK_B, observables=observables)
        self.assertEqual(exact.num_jobs, 0)
        self.assertEqual(exact.observables.shape, (3,))
        self.assertAllClose(exact.observables, expected, atol=1e-3)
        estimator = CountingEstimator(StatevectorEstimator())
        result = HHL(estimator=estimator).solve(TEXTBOOK_A, TEXTBOOK_B, observables=observables)
        self.assertEqual(estimator.calls, [1])  # one job, one PUB
        self.assertEqual(result.num_jobs, 1)
        self.assertEqual(result.method, "estimated")
        self.assertAllClose(result.observables, expected, atol=1e-3)
        self.assertAllClose(result.observables, exact.observables, atol=1e-10)
        self.assertAlmostEqual(result.success_probability, exact.success_probability, places=10)
        self.assertAlmostEqual(result.euclidean_norm, exact.euclidean_norm, places=10)
        self.assertAlmostEqual(result.euclidean_norm, np.linalg.norm(TEXTBOOK_X), delta=0.02)
        # an estimator gives no amplitudes
        self.assertIsNone(result.solution)
        self.assertIsNone(result.vector)
        with self.assertRaisesRegex(QDeepValueError, "no solution amplitudes"):
            result.fidelity(TEXTBOOK_X)
        # a single observable still gives an array; no observables: p and the norm only
        single = HHL(estimator=StatevectorEstimator()).solve(TEXTBOOK_A, TEXTBOOK_B, "Z")
        self.assertEqual(single.observables.shape, (1,))
        bare = HHL(estimator=StatevectorEstimator()).solve(TEXTBOOK_A, TEXTBOOK_B)
        self.assertIsNone(bare.observables)
        self.assertEqual(bare.num_jobs, 1)
        self.assertAlmostEqual(bare.success_probability, exact.success_probability, places=10)
        self.assertAlmostEqual(bare.euclidean_norm, exact.euclidean_norm, places=10)
        self.assertIsNone(HHL().solve(TEXTBOOK_A, TEXTBOOK_B).observables)

    def test_textbook_aer_estimator(self):
        estimator = AerEstimatorV2(options={"run_options": {"seed_simulator": 7}})
        hhl = HHL(estimator=estimator, precision=0.005)
        result = hhl.solve(TEXTBOOK_A, TEXTBOOK_B, observables=["Z", "X"])
        self.assertEqual(result.num_jobs, 1)
        self.assertAllClose(result.observables, [TEXTBOOK_Z, TEXTBOOK_X_PAULI], atol=0.05)
        self.assertAlmostEqual(result.success_probability, 0.625, delta=0.02)
        self.assertAlmostEqual(result.euclidean_norm, np.linalg.norm(TEXTBOOK_X), delta=0.05)
        again = HHL(estimator=estimator, precision=0.005).solve(
            TEXTBOOK_A, TEXTBOOK_B, observables=["Z", "X"]
        )
        self.assertAllClose(again.observables, result.observables, atol=0)  # seeded

    def test_default_estimator_with_precision(self):
        first = HHL(precision=0.005, seed=3).solve(TEXTBOOK_A, TEXTBOOK_B, observables="Z")
        second = HHL(precision=0.005, seed=3).solve(TEXTBOOK_A, TEXTBOOK_B, observables="Z")
        self.assertEqual(first.method, "estimated")
        self.assertEqual(first.num_jobs, 1)
        self.assertAllClose(first.observables, second.observables, atol=0)  # seeded
        self.assertAlmostEqual(first.observables[0], TEXTBOOK_Z, delta=0.05)

    @data(
        (4, False, True, 21),  # real Hermitian, indefinite
        (4, True, True, 23),  # complex Hermitian
        (3, False, True, 22),  # padded to 4 with the identity block
        (2, False, False, 24),  # Hermitian dilation
        (3, True, False, 25),  # dilation of a complex 3x3, padded 6 -> 8
    )
    @unpack
    def test_random_systems(self, size, complex_, hermitian, seed):
        rng = np.random.default_rng(seed)
        if hermitian:
            a = random_hermitian(rng, size, complex_)
        else:
            a = rng.normal(size=(size, size)) + 3 * np.eye(size)
            if complex_:
                a = a + 1j * rng.normal(size=(size, size))
        b = rng.normal(size=size)
        x = np.linalg.solve(a, b)
        num_qubits = max(1, (size - 1).bit_length())
        matrices = [random_observable(rng, size, complex_) for _ in range(3)]
        pauli = random_pauli_observable(rng, num_qubits)
        observables = [*matrices, pauli]
        blocks = [*matrices, pauli.to_matrix()[:size, :size]]  # leading N x N block
        reference = [normalised_expectation(m, x) for m in blocks]
        exact = HHL().solve(a, b, observables=observables)
        scale = max(np.linalg.norm(m, 2) for m in blocks)
        self.assertAllClose(exact.observables, reference, atol=0.03 * scale)
        # exact path = amplitudes of the original components; estimator = Pi (x) O~ on the
        # circuit: equal only if the embedding of O and the normalisation match
        result = HHL(estimator=StatevectorEstimator()).solve(a, b, observables=observables)
        self.assertEqual(result.num_jobs, 1)
        self.assertAllClose(result.observables, exact.observables, atol=1e-9)
        self.assertAlmostEqual(result.success_probability, exact.success_probability, places=10)
        self.assertAlmostEqual(result.euclidean_norm, exact.euclidean_norm, places=9)

    def test_padding_does_not_contribute_under_noise(self):
        from qiskit_aer.noise import NoiseModel, depolarizing_error

        rng = np.random.default_rng(22)
        a = random_hermitian(rng, 3)  # padded to 4: the noise leaks weight into component 3
        b = rng.normal(size=3)
        noise = NoiseModel()
        noise.add_all_qubit_quantum_error(depolarizing_error(0.01, 2), ["cx"])
        noise.add_all_qubit_quantum_error(depolarizing_error(0.002, 1), ["ry", "h", "p"])
        estimator = AerEstimatorV2(
            options={"backend_options": {"noise_model": noise, "method": "density_matrix"}}
        )
        hhl = HHL(num_clock_qubits=3, estimator=estimator)
        result = hhl.solve(a, b, observables=[np.eye(3), "ZZ"])
        # the identity of the original system: exactly 1 whatever leaked into the padding
        self.assertAlmostEqual(result.observables[0], 1.0, places=12)
        weight = result.euclidean_norm / (
            np.sqrt(result.success_probability) * np.linalg.norm(b) / result.constant
        )
        self.assertLess(weight, 0.999)  # the leak is real (and left out of the norm)
        self.assertGreater(weight, 0.9)

    def test_sampler_and_estimator(self):
        sampler = CountingSampler(AerSamplerV2(seed=11))
        estimator = CountingEstimator(StatevectorEstimator())
        hhl = HHL(sampler=sampler, estimator=estimator, shots=50_000)
        result = hhl.solve(TEXTBOOK_A, TEXTBOOK_B, observables="Z")
        exact = HHL().solve(TEXTBOOK_A, TEXTBOOK_B)
        self.assertEqual(result.method, "sampled and estimated")
        self.assertEqual((sampler.calls, estimator.calls, result.num_jobs), (1, [1], 2))
        # sampler: amplitudes and signs; estimator: observables, p and the norm
        self.assertGreaterEqual(result.fidelity(TEXTBOOK_X), 0.99)
        self.assertAllClose(result.observables, [TEXTBOOK_Z], atol=1e-3)
        self.assertAlmostEqual(result.success_probability, exact.success_probability, places=10)
        self.assertAlmostEqual(result.euclidean_norm, exact.euclidean_norm, places=10)

    def test_sampler_only_evaluates_on_the_solution(self):
        result = HHL(sampler=AerSamplerV2(seed=5), shots=50_000).solve(
            TEXTBOOK_A, TEXTBOOK_B, observables=["Z", "X"]
        )
        self.assertEqual(result.num_jobs, 1)
        expected = [
            normalised_expectation(m, result.solution) for m in (np.diag([1, -1]), [[0, 1], [1, 0]])
        ]
        self.assertAllClose(result.observables, expected, atol=1e-12)
        self.assertAllClose(result.observables, [TEXTBOOK_Z, TEXTBOOK_X_PAULI], atol=0.03)

    def test_fake_backend_estimator_with_pass_manager(self):
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime.executor_estimator import Estimator
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        backend = FakeManilaV2()  # 5 qubits: 1 + 2 (clock) + 1 (flag) fit
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
        estimator = Estimator(mode=backend)
        estimator.options.simulator.seed_simulator = 7  # seeded noise simulation
        calls = []
        run = estimator.run

        def counted(*args, **kwargs):  # keeps the runtime primitive's own type
            calls.append(1)
            return run(*args, **kwargs)

        estimator.run = counted
        hhl = HHL(num_clock_qubits=2, estimator=estimator, pass_manager=pm)
        result = hhl.solve(TEXTBOOK_A, TEXTBOOK_B, observables="Z")
        # two clock qubits cannot resolve 2/3 and 4/3 exactly: compare with the same
        # configuration simulated exactly (<Z> ~ 0.35, p ~ 0.30)
        exact = HHL(num_clock_qubits=2).solve(TEXTBOOK_A, TEXTBOOK_B, observables="Z")
        self.assertEqual((len(calls), result.num_jobs), (1, 1))
        self.assertAlmostEqual(result.observables[0], exact.observables[0], delta=0.15)
        self.assertAlmostEqual(result.success_probability, exact.success_probability, delta=0.05)
        self.assertAlmostEqual(result.euclidean_norm, exact.euclidean_norm, delta=0.1)


class TestHHLErrors(QDeepTestCase):
    """Clear errors for bad input."""

    def test_bad_systems(self):
        hhl = HHL()
        cases = [
            (np.ones((2, 3)), np.ones(2), "square"),
            (np.array([[1.0, np.nan], [np.nan, 1.0]]), np.ones(2), "NaN"),
            (np.eye(2), np.array([1.0, np.inf]), "NaN or inf"),
            (np.eye(2), np.ones(3), r"shape \(2,\)"),
            (np.eye(2), np.zeros(2), "zero vector"),
            (np.array([[1.0, 1.0], [1.0, 1.0]]), np.ones(2), "singular"),
            (np.array([["a", "b"], ["c", "d"]]), np.ones(2), "numeric"),
        ]
        for matrix, vector, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesRegex(QDeepValueError, message):
                    hhl.solve(matrix, vector)

    def test_bad_arguments(self):
        cases = [
            ({"num_clock_qubits": 0}, "num_clock_qubits"),
            ({"evolution": "exactly"}, "evolution"),
            ({"evolution_time": -1.0}, "evolution_time"),
            ({"trotter_steps": 0}, "trotter_steps"),
            ({"eigenvalue_bounds": (2.0, 1.0)}, "eigenvalue_bounds"),
            ({"resolution": 0}, "resolution"),
            ({"shots": 0}, "shots"),
        ]
        for kwargs, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesRegex(QDeepValueError, message):
                    HHL(**kwargs)
        with self.assertRaisesRegex(QDeepTypeError, "BaseSamplerV2"):
            HHL(sampler="aer")
        for precision in (-0.1, np.nan, "0.1", True):
            with self.subTest(precision=precision):
                # a non-number may be reported as a type error
                with self.assertRaisesRegex((QDeepValueError, QDeepTypeError), "precision"):
                    HHL(precision=precision)

    def test_bad_estimators(self):
        from qiskit_aer.primitives import Estimator as AerEstimatorV1

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            v1 = AerEstimatorV1()
        with self.assertRaisesRegex(QDeepTypeError, "estimator must be.*V1 primitive"):
            HHL(estimator=v1)
        for wrong in ("aer", StatevectorSampler(), StatevectorEstimator):
            with self.subTest(wrong=wrong):
                with self.assertRaisesRegex(QDeepTypeError, "BaseEstimatorV2"):
                    HHL(estimator=wrong)

    def test_bad_observables(self):
        nan = np.array([[1.0, np.nan], [np.nan, 1.0]])
        cases = [
            ("ZZ", QDeepValueError, "acts on 2 qubits.*act on 1"),
            (np.eye(3), QDeepValueError, r"shape \(3, 3\).*\(2, 2\)"),
            (np.ones(2), QDeepValueError, r"shape \(2,\)"),
            (nan, QDeepValueError, "NaN"),
            (np.array([[1.0, 2.0], [0.0, 1.0]]), QDeepValueError, "not Hermitian"),
            (np.array([[1.0, 1j], [1j, 1.0]]), QDeepValueError, "not Hermitian"),
            (SparsePauliOp("Z", 1j), QDeepValueError, "not Hermitian"),
            (SparsePauliOp("Z", np.nan), QDeepValueError, "NaN"),
            ("Q", QDeepValueError, "not a valid Pauli"),
            ([], QDeepValueError, "at least one"),
            ({"Z": 1.0}, QDeepTypeError, "observables must be"),
            ([np.array([["a", "b"], ["c", "d"]])], QDeepTypeError, "numeric"),
            (["Z", np.eye(3)], QDeepValueError, r"observables\[1\]"),
        ]
        for hhl in (HHL(), HHL(estimator=StatevectorEstimator())):
            for observables, error, message in cases:
                with self.subTest(observables=observables, exact=hhl.exact):
                    with self.assertRaisesRegex(error, message):
                        hhl.solve(TEXTBOOK_A, TEXTBOOK_B, observables=observables)
        # padded 3x3 (2 qubits) and the dilation of a non-Hermitian 2x2 (1 qubit)
        with self.assertRaisesRegex(QDeepValueError, "acts on 1 qubit.*act on 2"):
            HHL().solve(np.diag([1.0, 2.0, 3.0]), np.ones(3), observables="Z")
        with self.assertRaisesRegex(QDeepValueError, "acts on 2 qubits.*act on 1"):
            HHL().solve(np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2), observables="ZZ")

    def test_qubit_limit(self):
        a = np.eye(16) + 0.1 * np.ones((16, 16))
        with self.assertRaisesRegex(QubitLimitError, str(HHL_MAX_QUBITS)):
            HHL(num_clock_qubits=12).construct_circuit(a, np.ones(16))
        # the automatic clock shrinks to fit, with a warning (kappa = 30 asks for 10 clock qubits,
        # 9 fit next to 6 system qubits; 7 would still put lambda_min on one clock step)
        ill = np.diag(np.linspace(1 / 30, 1.0, 64))
        with self.assertWarnsRegex(HHLWarning, "clock qubits"):
            circuit = HHL().construct_circuit(ill, np.ones(64))
        self.assertEqual(circuit.num_qubits, HHL_MAX_QUBITS)
        # checked before any eigenvalue computation: 2048 (dilated to 4096) + 3 + 1 + 1 > 16
        with self.assertRaisesRegex(QubitLimitError, "at least"):
            HHL(shots=10).construct_circuit(np.triu(np.ones((2048, 2048))), np.ones(2048))

    def test_fidelity_errors(self):
        result = HHL().solve(TEXTBOOK_A, TEXTBOOK_B)
        with self.assertRaisesRegex(QDeepValueError, "shape"):
            result.fidelity(np.ones(3))
        with self.assertRaisesRegex(QDeepValueError, "non-zero"):
            result.fidelity(np.zeros(2))


def lazy_matrix(size, value=1.0):
    """A ``(size, size)`` matrix that allocates nothing (one element, zero strides)."""
    return np.broadcast_to(np.float64(value), (size, size))


class TestHHLLimits(QDeepTestCase):
    """Limits from the shapes before any allocation, a bounded automatic clock, and settings
    checked against the spectrum (issue 13)."""

    def assertRefusedFromShapes(self, call, error, *patterns):
        """``call`` raises ``error`` within a second and allocates under 1 MiB on the way."""
        tracemalloc.start()
        start = time.perf_counter()
        try:
            with self.assertRaises(error) as caught:
                call()
        finally:
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        message = str(caught.exception)
        for pattern in patterns:
            self.assertRegex(message, pattern)
        self.assertLess(peak, 1 << 20, f"{peak} bytes allocated before refusing")
        self.assertLess(elapsed, 1.0)
        return message

    def assertNoHHLWarning(self, call):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = call()
        self.assertEqual([str(w.message) for w in caught if w.category is HHLWarning], [])
        return result

    # -- 1. qubit count and big allocations from the shapes -------------------------------------

    def test_too_many_qubits_refused_from_shapes(self):
        # HHL().solve(np.eye(2**14), b) spent 26-60 s and 10 GiB before raising
        vector = np.ones(2**14)
        self.assertRefusedFromShapes(
            lambda: HHL().solve(lazy_matrix(2**14), vector),
            QubitLimitError,
            "at least 18 qubits",
            "14 system",
            "16384x16384",
            "3 clock",
            "1 flag",
            f"HHL_MAX_QUBITS = {HHL_MAX_QUBITS}",
        )
        # padding and the phase reference of the sampled path are counted
        self.assertRefusedFromShapes(
            lambda: HHL(shots=10).construct_circuit(lazy_matrix(3000), np.ones(3000)),
            QubitLimitError,
            "at least 17 qubits",
            "12 system",
            "padded to 4096x4096",
            "1 phase reference",
        )

    def test_explicit_clock_above_limit_refused(self):
        # from the settings alone: even a 2x2 system has no room for 15 clock qubits
        with self.assertRaisesRegex(QubitLimitError, "num_clock_qubits = 15.*17 qubits.*<= 14"):
            HHL(num_clock_qubits=15)
        with self.assertRaisesRegex(QubitLimitError, "phase reference.*<= 13"):
            HHL(num_clock_qubits=14, shots=100)
        # from the shapes: 6 system + 12 clock + 1 flag
        self.assertRefusedFromShapes(
            lambda: HHL(num_clock_qubits=12).solve(lazy_matrix(64), np.ones(64)),
            QubitLimitError,
            r"needs at least 19 qubits = 6 system .* \+ 12 clock \(num_clock_qubits\) \+ 1 flag",
            "num_clock_qubits <= 9",
        )

    def test_huge_exact_unitaries_refused_from_shapes(self):
        # 12 system qubits fit the qubit limit, but 2 x 3 dense 8192x8192 unitaries are 6 GiB
        message = self.assertRefusedFromShapes(
            lambda: HHL().solve(lazy_matrix(4096), np.ones(4096)),
            QubitLimitError,
            "evolution='exact' needs at least 6 GiB",
            "8192x8192",
            "HHL_MAX_UNITARY_BYTES",
            "trotter",
        )
        self.assertIn(f"{HHL_MAX_UNITARY_BYTES / 2**30:.3g} GiB", message)

    def test_huge_product_formulas_refused(self):
        a = np.array([[1.5, 0.5], [0.5, -1.0]])  # I, X and Z terms
        b = np.array([0.3, 1.0])
        # from the settings: 2 x 10**5 steps x 15 powers, even with a single Pauli term
        self.assertRefusedFromShapes(
            lambda: HHL(evolution="trotter", trotter_steps=10**5, num_clock_qubits=4).solve(a, b),
            QDeepValueError,
            "at least 3000000 controlled Pauli rotations",
            "trotter_steps = 100000",
            "HHL_MAX_PAULI_ROTATIONS",
        )
        # counted on the Pauli decomposition, before any gate: 2 x 3 terms x 30 steps x 255
        hhl = HHL(evolution="trotter", trotter_steps=30, num_clock_qubits=8)
        start = time.perf_counter()
        with self.assertRaisesRegex(QDeepValueError, "45900 controlled Pauli rotations.*3 Pauli"):
            hhl.construct_circuit(a, b)
        self.assertLess(time.perf_counter() - start, 1.0)
        self.assertGreater(45900, HHL_MAX_PAULI_ROTATIONS)
        self.assertLessEqual(2 * 30 * 255, HHL_MAX_PAULI_ROTATIONS)  # passed the first check

    # -- 2. the automatic clock is bounded ------------------------------------------------------

    def test_automatic_clock_bounded(self):
        # HHL().solve(diag([1, 1e-3]), [1, 1]) picked 14 clock qubits and ran for minutes
        message = self.assertRefusedFromShapes(
            lambda: HHL().solve(np.diag([1.0, 1e-3]), [1.0, 1.0]),
            QubitLimitError,
            "kappa = .* = 1000",
            "needs 15 clock qubits",
            "resolution=8",
            f"max_clock_qubits = {HHL_MAX_AUTO_CLOCK_QUBITS}",
            "num_clock_qubits",
        )
        self.assertIn("at most 14 fit", message)
        # kappa = 30 needs 10 clock qubits: fine by default, refused with max_clock_qubits=8,
        # which names the resolution that fits
        a, b = np.diag([1.0, 1 / 30]), np.array([1.0, 1.0])
        self.assertEqual(HHL().construct_circuit(a, b).num_qubits, 1 + 10 + 1)
        with self.assertRaisesRegex(
            QubitLimitError, r"needs 10 clock qubits.*max_clock_qubits = 8.*resolution <= 3\.2"
        ):
            HHL(max_clock_qubits=8).solve(a, b)
        result = self.assertNoHHLWarning(lambda: HHL(max_clock_qubits=8, resolution=2).solve(a, b))
        self.assertEqual(result.num_clock_qubits, 8)
        self.assertGreaterEqual(result.fidelity(np.linalg.solve(a, b)), 0.99)
        for bad in (2, 2.5, True):
            with self.subTest(max_clock_qubits=bad):
                with self.assertRaisesRegex(QDeepValueError, "max_clock_qubits"):
                    HHL(max_clock_qubits=bad)

    def test_automatic_clock_that_cannot_fit(self):
        # 9 system qubits leave 6 clock qubits; kappa = 30 needs 7 for one clock step
        ill = np.diag(np.linspace(1 / 30, 1.0, 512))
        with self.assertRaisesRegex(QubitLimitError, "kappa = 30.*at least 7.*only 6 fit"):
            HHL().construct_circuit(ill, np.ones(512))

    # -- 3. given settings checked against the eigenvalues --------------------------------------

    def test_consistent_settings_do_not_warn(self):
        for kwargs in (
            {},
            {"num_clock_qubits": 4, "evolution_time": 3 * np.pi / 8},
            {"eigenvalue_bounds": (0.5, 2.0)},
            {"num_clock_qubits": 2},  # coarse, but every eigenvalue lands on its own clock value
            {"num_clock_qubits": 5, "evolution_time": 2.0, "eigenvalue_bounds": (2 / 3, 4 / 3)},
        ):
            with self.subTest(**kwargs):
                result = self.assertNoHHLWarning(
                    lambda: HHL(**kwargs).solve(TEXTBOOK_A, TEXTBOOK_B)  # noqa: B023
                )
                if "num_clock_qubits" not in kwargs or kwargs["num_clock_qubits"] > 2:
                    self.assertGreaterEqual(result.fidelity(TEXTBOOK_X), 0.99)

    def test_bounds_that_miss_the_spectrum_warn(self):
        # eigenvalues 2/3 and 4/3: bounds (1, 1.2) clip the inversion of 2/3 (fidelity 0.97,
        # without a warning before)
        with self.assertWarnsRegex(
            HHLWarning, r"eigenvalue_bounds = \(1, 1\.2\).*\[0\.6667, 1\.333\].*2 of 2"
        ) as caught:
            result = HHL(eigenvalue_bounds=(1.0, 1.2)).solve(TEXTBOOK_A, TEXTBOOK_B)
        self.assertEqual(caught.filename, __file__)  # attributed to the caller
        self.assertLess(result.fidelity(TEXTBOOK_X), 0.99)

    def test_evolution_time_that_wraps_warns(self):
        # 4/3 * 10 > pi: the largest eigenvalue is read as a negative one (fidelity 0.90)
        with self.assertWarnsRegex(
            HHLWarning, r"evolution_time: .*t = 10 .*wrap.*evolution_time < 2\.3"
        ) as caught:
            result = HHL(evolution_time=10.0).solve(TEXTBOOK_A, TEXTBOOK_B)
        self.assertEqual(caught.filename, __file__)
        self.assertLess(result.fidelity(TEXTBOOK_X), 0.99)
        # bounds that understate lambda_max make the default time wrap too
        with self.assertWarnsRegex(HHLWarning, "eigenvalue_bounds: .*wrap"):
            HHL(eigenvalue_bounds=(0.5, 0.8)).construct_circuit(TEXTBOOK_A, TEXTBOOK_B)
        # one clock qubit has no positive value at all
        with self.assertWarnsRegex(HHLWarning, "num_clock_qubits: .*wrap"):
            HHL(num_clock_qubits=1).construct_circuit(TEXTBOOK_A, TEXTBOOK_B)

    def test_eigenvalues_below_clock_resolution_warn(self):
        # t = 0.01: every eigenvalue is far below half a clock step (zero clock value)
        with self.assertWarnsRegex(
            HHLWarning, r"evolution_time: 2 of 2 eigenvalues .*\(all of them\).*zero clock value"
        ):
            HHL(evolution_time=0.01).construct_circuit(TEXTBOOK_A, TEXTBOOK_B)
        # kappa = 30 on 3 clock qubits: lambda_min is 0.1 clock steps
        a = np.diag([1.0, 1 / 30])
        needed = 1 + math.ceil(math.log2(30 / 0.75))
        with self.assertWarnsRegex(
            HHLWarning, rf"num_clock_qubits: 1 of 2 .*num_clock_qubits >= {needed}"
        ):
            HHL(num_clock_qubits=3).construct_circuit(a, np.ones(2))
