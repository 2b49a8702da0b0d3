# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""SWAP test gate, RY-tree amplitude encoding and the QuCNN filter ansatz."""

from __future__ import annotations

import numpy as np
from ddt import ddt, idata, unpack
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Operator, Statevector
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

from qiskit_qdeep.circuit.library.swap_test import (
    SwapTestGate,
    amplitude_encoding_angles,
    amplitude_encoding_circuit,
    num_amplitude_encoding_angles,
    num_qucnn_filter_weights,
    qucnn_filter_ansatz,
)
from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError
from test import QDeepTestCase


def random_state(rng, num_qubits, real=False):
    """A random (complex or real signed) unit vector."""
    vec = rng.normal(size=2**num_qubits)
    if not real:
        vec = vec + 1j * rng.normal(size=2**num_qubits)
    return vec / np.linalg.norm(vec)


def swap_test_value(gate: SwapTestGate, a: np.ndarray, b: np.ndarray) -> float:
    """``2 P(ancilla = 0) - 1`` of the gate applied to ``|0>|a>|b>`` (ancilla = qubit 0)."""
    state = Statevector(np.kron(b, np.kron(a, [1.0, 0.0])))
    p0 = state.evolve(gate).probabilities([0])[0]
    return 2 * p0 - 1


@ddt
class TestSwapTestGate(QDeepTestCase):
    """The SWAP test measures |<a|b>|^2."""

    @idata([1, 2, 3])
    def test_value_is_squared_overlap(self, n):
        gate = SwapTestGate(n)
        self.assertEqual(gate.num_qubits, 2 * n + 1)
        self.assertEqual(gate.num_state_qubits, n)
        for real in (False, True):
            a, b = random_state(self.rng, n, real), random_state(self.rng, n, real)
            self.assertAlmostEqual(swap_test_value(gate, a, b), abs(np.vdot(a, b)) ** 2, places=10)
        a = random_state(self.rng, n)
        self.assertAlmostEqual(swap_test_value(gate, a, a), 1.0, places=10)

    def test_definition_and_inverse(self):
        gate = SwapTestGate(2)
        ops = gate.definition.count_ops()
        self.assertEqual(ops["h"], 2)
        self.assertEqual(ops["cswap"], 2)
        self.assertEqual(gate.inverse(), gate)
        self.assertTrue(Operator(gate).compose(Operator(gate)).equiv(Operator(np.eye(32))))
        self.assertNotEqual(SwapTestGate(1), SwapTestGate(2))
        self.assertEqual(hash(SwapTestGate(3)), hash(SwapTestGate(3)))

    def test_aer_after_decompose(self):
        qc = QuantumCircuit(5, 1)
        qc.h([1, 3])  # a = b = |+>|0>: P(0) = 1
        qc.x(4)  # b = |+>|1> is orthogonal to a: P(0) = 1/2
        qc.append(SwapTestGate(2), range(5))
        qc.measure(0, 0)
        counts = (
            AerSamplerV2(seed=5)
            .run([(qc.decompose("swap_test"), None, 4000)])
            .result()[0]
            .data.c.get_counts()
        )
        self.assertAlmostEqual(counts.get("0", 0) / 4000, 0.5, delta=0.05)
        isa = transpile(qc, basis_gates=["cx", "rz", "sx", "x", "h"], optimization_level=0)
        self.assertNotIn("swap_test", isa.count_ops())

    def test_bad_size(self):
        for bad, error in ((0, QDeepValueError), (-1, QDeepValueError)) + tuple(
            (bad, QDeepTypeError) for bad in (1.5, True, "2")
        ):
            with self.subTest(bad=bad), self.assertRaisesRegex(error, "num_state_qubits"):
                SwapTestGate(bad)


@ddt
class TestAmplitudeEncoding(QDeepTestCase):
    """RY tree versus Statevector."""

    @idata([1, 2, 3, 4])
    def test_random_signed_vectors_with_zeros(self, n):
        dim = 2**n
        vectors = self.rng.normal(size=(6, dim))
        vectors[1, : dim // 2] = 0.0  # a zero subtree at the root
        vectors[2, 1::2] = 0.0  # zero odd entries (last level)
        vectors[3] = 0.0
        vectors[3, -1] = -3.0  # a single negative entry
        vectors[4] = -np.abs(vectors[4])  # all negative
        vectors[5, ::2] = 0.0
        circuit = amplitude_encoding_circuit(n)
        self.assertEqual(circuit.num_parameters, dim - 1)
        angles = amplitude_encoding_angles(vectors)
        self.assertEqual(angles.shape, (6, dim - 1))
        for vec, ang in zip(vectors, angles):
            state = Statevector(circuit.assign_parameters(ang)).data
            self.assertAllClose(state, vec / np.linalg.norm(vec), atol=1e-10)

    def test_batch_shape_scale_invariance_and_zero_vector(self):
        vectors = self.rng.uniform(-1, 1, size=(2, 3, 8))
        angles = amplitude_encoding_angles(vectors)
        self.assertEqual(angles.shape, (2, 3, 7))
        self.assertAllClose(amplitude_encoding_angles(5.0 * vectors), angles, atol=1e-12)
        self.assertAllClose(amplitude_encoding_angles(vectors[1, 2]), angles[1, 2], atol=1e-12)
        self.assertEqual(amplitude_encoding_angles(np.zeros((0, 8))).shape, (0, 7))
        zero = amplitude_encoding_angles(np.zeros(4))
        self.assertAllClose(zero, np.zeros(3))
        state = Statevector(amplitude_encoding_circuit(2).assign_parameters(zero))
        self.assertAllClose(state.data, [1, 0, 0, 0], atol=1e-12)

    def test_non_negative_vectors_have_angles_in_range(self):
        angles = amplitude_encoding_angles(self.rng.uniform(0, 1, size=(20, 16)))
        self.assertTrue(np.all(angles >= 0) and np.all(angles <= np.pi + 1e-12))

    def test_only_ry_and_cx(self):
        for n in (1, 2, 3, 4):
            ops = amplitude_encoding_circuit(n).count_ops()
            self.assertEqual(set(ops), {"ry"} if n == 1 else {"ry", "cx"})
            self.assertEqual(ops["ry"], 2**n - 1)
            self.assertEqual(ops.get("cx", 0), 2**n - 2)
            self.assertEqual(num_amplitude_encoding_angles(n), 2**n - 1)

    def test_custom_parameters(self):
        params = ParameterVector("a", 3)
        circuit = amplitude_encoding_circuit(2, params)
        self.assertEqual(set(circuit.parameters), set(params))
        vec = np.array([0.5, -0.5, 0.5, 0.5])
        bound = circuit.assign_parameters(dict(zip(params, amplitude_encoding_angles(vec))))
        self.assertAllClose(Statevector(bound).data, vec, atol=1e-12)

    def test_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "length 2\\*\\*n"):
            amplitude_encoding_angles(np.ones(3))
        with self.assertRaisesRegex(QDeepValueError, "length 2\\*\\*n"):
            amplitude_encoding_angles(np.ones((2, 1)))
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            amplitude_encoding_angles(np.array([1.0, np.nan]))
        with self.assertRaisesRegex(QDeepTypeError, "real"):
            amplitude_encoding_angles(np.array([1.0, 1j]))
        with self.assertRaisesRegex(QDeepValueError, "scalar"):
            amplitude_encoding_angles(1.0)
        with self.assertRaisesRegex(QDeepValueError, "parameters"):
            amplitude_encoding_circuit(2, ParameterVector("a", 4))
        with self.assertRaisesRegex(QDeepValueError, "num_qubits"):
            amplitude_encoding_circuit(0)


class TestQuCNNFilterAnsatz(QDeepTestCase):
    """Structure of the filter ansatz."""

    def test_structure(self):
        for n, layers in ((1, 1), (2, 1), (3, 2), (4, 3)):
            circuit = qucnn_filter_ansatz(n, layers)
            self.assertEqual(circuit.num_qubits, n)
            self.assertEqual(circuit.num_parameters, 2 * n * layers)
            self.assertEqual(num_qucnn_filter_weights(n, layers), 2 * n * layers)
            ops = circuit.count_ops()
            self.assertEqual(ops["rx"], n * layers)
            self.assertEqual(ops["rz"], n * layers)
            self.assertEqual(ops.get("cx", 0), (n - 1) * layers)

    def test_weight_order(self):
        w = ParameterVector("t", 8)
        circuit = qucnn_filter_ansatz(2, 2, w)
        first = circuit.data[0]
        self.assertEqual(first.operation.name, "rx")
        self.assertEqual(first.operation.params[0], w[0])
        self.assertEqual(circuit.data[1].operation.name, "rz")
        self.assertEqual(circuit.data[1].operation.params[0], w[1])
        # zero weights: the ansatz is a product of CNOT chains on |0>, i.e. |0>
        zero = Statevector(circuit.assign_parameters(np.zeros(8)))
        self.assertAllClose(zero.data, [1, 0, 0, 0], atol=1e-12)

    def test_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "num_layers"):
            qucnn_filter_ansatz(2, 0)
        with self.assertRaisesRegex(QDeepValueError, "num_qubits"):
            qucnn_filter_ansatz(0, 1)
        with self.assertRaisesRegex(QDeepValueError, "weight_params"):
            qucnn_filter_ansatz(2, 1, ParameterVector("w", 3))


@ddt
class TestSwapTestOfEncodedStates(QDeepTestCase):
    """Encoding + ansatz + SWAP test composed in one circuit gives |<f|x>|^2."""

    @idata([(1, 1), (2, 2), (3, 1)])
    @unpack
    def test_composed(self, n, layers):
        x = ParameterVector("x", 2**n - 1)
        w = ParameterVector("w", 2 * n * layers)
        qc = QuantumCircuit(2 * n + 1)
        qc.compose(amplitude_encoding_circuit(n, x), range(1, n + 1), inplace=True)
        qc.compose(qucnn_filter_ansatz(n, layers, w), range(n + 1, 2 * n + 1), inplace=True)
        qc.append(SwapTestGate(n), range(2 * n + 1))
        vec = self.rng.normal(size=2**n)
        weights = self.rng.uniform(0, 2 * np.pi, size=len(w))
        bound = qc.assign_parameters(
            {**dict(zip(x, amplitude_encoding_angles(vec))), **dict(zip(w, weights))}
        )
        p0 = Statevector(bound).probabilities([0])[0]
        filt = Statevector(qucnn_filter_ansatz(n, layers, w).assign_parameters(weights)).data
        expected = abs(np.vdot(filt, vec / np.linalg.norm(vec))) ** 2
        self.assertAlmostEqual(2 * p0 - 1, expected, places=10)
