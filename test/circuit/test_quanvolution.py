# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quanvolution circuit builders: encodings, the three papers' ansatzes, the kernel circuit."""

from __future__ import annotations

import numpy as np
from ddt import ddt, idata, unpack
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector

from qiskit_qdeep.circuit.library.quanvolution import (
    hqnn_quanv_ansatz,
    num_ansatz_weights,
    qccnn_ansatz,
    quanv_kernel_circuit,
    quanvolution_encoding,
    random_quanvolution_circuit,
)
from qiskit_qdeep.exceptions import QDeepValueError
from test import QDeepTestCase


def product_state(amplitudes):
    """Little-endian product state from per-qubit ``(a0, a1)`` (qubit 0 first)."""
    state = np.array([1.0])
    for a0, a1 in amplitudes:
        state = np.kron(np.array([a0, a1]), state)
    return state


@ddt
class TestEncodings(QDeepTestCase):
    """The two patch encodings give the documented product states."""

    def test_ry_pi(self):
        x = ParameterVector("x", 3)
        qc = quanvolution_encoding(3, "ry_pi", x)
        pixels = [0.0, 0.3, 1.0]
        sv = Statevector(qc.assign_parameters(dict(zip(x, pixels, strict=True))))
        want = product_state([(np.cos(np.pi * p / 2), np.sin(np.pi * p / 2)) for p in pixels])
        self.assertAllClose(sv.data, want, atol=1e-12)
        # pixel 0 -> |0>, pixel 1 -> |1>
        half = (np.cos(0.15 * np.pi), np.sin(0.15 * np.pi))
        self.assertAllClose(sv.data, product_state([(1, 0), half, (0, 1)]), atol=1e-12)

    def test_qccnn_is_cos_sin(self):
        qc = quanvolution_encoding(2, "qccnn")
        self.assertEqual(qc.num_parameters, 2)
        pixels = [0.2, 0.9]
        sv = Statevector(qc.assign_parameters(pixels))
        want = product_state([(np.cos(p), np.sin(p)) for p in pixels])
        self.assertAllClose(sv.data, want, atol=1e-12)

    @idata([("nope", 2, None, "kind must be one of"), ("ry_pi", 0, None, "num_qubits"),
            ("ry_pi", 3, ParameterVector("a", 2), "input_params must have 3")])  # fmt: skip
    @unpack
    def test_errors(self, kind, num_qubits, params, message):
        with self.assertRaisesRegex(QDeepValueError, message):
            quanvolution_encoding(num_qubits, kind, params)


class TestAnsatzes(QDeepTestCase):
    """Structure and parameters of the Henderson, HQNN-Quanv and QCCNN blocks."""

    def test_random_is_seeded_and_fixed(self):
        a = random_quanvolution_circuit(4, 2, seed=11)
        b = random_quanvolution_circuit(4, 2, seed=11)
        c = random_quanvolution_circuit(4, 2, seed=12)
        self.assertEqual(a.num_parameters, 0)
        self.assertTrue(Operator(a).equiv(Operator(b)))
        self.assertFalse(Operator(a).equiv(Operator(c)))
        ops = a.count_ops()
        self.assertEqual(ops.get("cx", 0), 2 * 3)
        self.assertEqual(sum(ops.get(g, 0) for g in ("rx", "ry", "rz")), 8)
        gen = np.random.default_rng(11)
        self.assertTrue(Operator(random_quanvolution_circuit(4, 2, seed=gen)).equiv(Operator(a)))

    def test_random_with_parameters_has_same_structure(self):
        w = ParameterVector("w", 6)
        param = random_quanvolution_circuit(3, 2, seed=5, weight_params=w)
        numeric = random_quanvolution_circuit(3, 2, seed=5)
        self.assertEqual(param.num_parameters, 6)
        angles = [float(inst.operation.params[0]) for inst in numeric.data if inst.operation.params]
        self.assertEqual(len(angles), 6)
        bound = param.assign_parameters(dict(zip(w, angles, strict=True)))
        self.assertTrue(Operator(bound).equiv(Operator(numeric)))
        # the numeric angles are the uniform draws that follow the structure in the generator
        rng = np.random.default_rng(5)
        random_quanvolution_circuit(3, 2, seed=rng, weight_params=w)
        self.assertAllClose(angles, rng.uniform(0, 2 * np.pi, 6), atol=1e-12)

    def test_random_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "num_layers"):
            random_quanvolution_circuit(2, 0)
        with self.assertRaisesRegex(QDeepValueError, "weight_params must have 2"):
            random_quanvolution_circuit(2, 1, weight_params=ParameterVector("w", 3))

    def test_hqnn(self):
        qc = hqnn_quanv_ansatz()
        self.assertEqual(qc.num_qubits, 4)
        self.assertEqual(qc.num_parameters, 4)
        self.assertEqual(dict(qc.count_ops()), {"ry": 4, "cx": 3})
        self.assertEqual(dict(hqnn_quanv_ansatz(rotation="rx").count_ops()), {"rx": 4, "cx": 3})
        with self.assertRaisesRegex(QDeepValueError, "rotation must be one of"):
            hqnn_quanv_ansatz(rotation="rz")
        with self.assertRaisesRegex(QDeepValueError, "weight_params must have 4"):
            hqnn_quanv_ansatz(ParameterVector("w", 3))

    def test_hqnn_outputs_are_cnot_ladder_products(self):
        # <Z_q> after RY(pi x) RY(w) and the CNOT ladder = prod_{i <= q} cos(pi x_i + w_i)
        x, w = ParameterVector("x", 4), ParameterVector("w", 4)
        qc = quanv_kernel_circuit(4, ansatz="hqnn", input_params=x, weight_params=w)
        pixels, weights = self.rng.uniform(0, 1, 4), self.rng.uniform(0, 6, 4)
        sv = Statevector(
            qc.assign_parameters(dict(zip(list(x) + list(w), [*pixels, *weights], strict=True)))
        )
        cos = np.cos(np.pi * pixels + weights)
        for q in range(4):
            label = "I" * (3 - q) + "Z" + "I" * q
            self.assertAlmostEqual(
                sv.expectation_value(SparsePauliOp(label)).real, np.prod(cos[: q + 1]), places=10
            )

    def test_qccnn(self):
        qc = qccnn_ansatz(4)
        self.assertEqual(qc.num_parameters, 20)
        self.assertEqual(dict(qc.count_ops()), {"ry": 20, "cx": 12})
        first_cx = [
            tuple(qc.find_bit(q).index for q in inst.qubits)
            for inst in qc.data
            if inst.operation.name == "cx"
        ][:3]
        self.assertEqual(first_cx, [(0, 1), (1, 2), (2, 3)])
        self.assertEqual(qccnn_ansatz(3, depth=0).count_ops().get("cx", 0), 0)
        self.assertEqual(num_ansatz_weights("qccnn", 4, 2), 12)
        with self.assertRaisesRegex(QDeepValueError, "depth"):
            qccnn_ansatz(4, depth=-1)


class TestKernelCircuit(QDeepTestCase):
    """Encoding + ansatz composition."""

    def test_parameters_and_order(self):
        x, w = ParameterVector("x", 4), ParameterVector("w", 12)
        qc = quanv_kernel_circuit(
            4, encoding="qccnn", ansatz="qccnn", reps=2, input_params=x, weight_params=w
        )
        self.assertEqual(set(qc.parameters), set(x) | set(w))
        self.assertEqual(qc.data[0].operation.name, "ry")
        self.assertEqual(quanv_kernel_circuit(9, ansatz="none").num_parameters, 9)
        self.assertEqual(
            quanv_kernel_circuit(4, ansatz="random", reps=2, seed=1).num_parameters, 12
        )

    def test_custom_ansatz(self):
        a = Parameter("a")
        custom = QuantumCircuit(2)
        custom.rx(a, 0)
        custom.cz(0, 1)
        qc = quanv_kernel_circuit(2, ansatz=custom)
        self.assertEqual(qc.num_parameters, 3)
        b = Parameter("b")
        self.assertIn(b, quanv_kernel_circuit(2, ansatz=custom, weight_params=[b]).parameters)
        with self.assertRaisesRegex(QDeepValueError, "acts on 2 qubits but the kernel has 4"):
            quanv_kernel_circuit(4, ansatz=custom)

    def test_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "4-qubit HQNN-Quanv"):
            quanv_kernel_circuit(9, ansatz="hqnn")
        with self.assertRaisesRegex(QDeepValueError, "ansatz must be one of"):
            quanv_kernel_circuit(4, ansatz="resnet")
        with self.assertRaisesRegex(QDeepValueError, "ansatz must be one of"):
            num_ansatz_weights("resnet", 4)
        with self.assertRaisesRegex(QDeepValueError, "weight_params must have 20"):
            quanv_kernel_circuit(4, weight_params=ParameterVector("w", 3))
