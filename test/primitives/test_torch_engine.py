# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Tests of the torch statevector engine and the torch V2 primitives."""

from __future__ import annotations

import unittest

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Gate, Parameter, ParameterVector
from qiskit.circuit.library import (
    CRXGate,
    CU1Gate,
    CU3Gate,
    DCXGate,
    ECRGate,
    GlobalPhaseGate,
    PauliEvolutionGate,
    RXGate,
    StatePreparation,
    U1Gate,
    U2Gate,
    U3Gate,
    UnitaryGate,
    XGate,
    XXPlusYYGate,
    real_amplitudes,
)
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import (
    Pauli,
    SparsePauliOp,
    Statevector,
    random_statevector,
    random_unitary,
)

from qiskit_qdeep.exceptions import (
    QDeepTypeError,
    QDeepValueError,
    QubitLimitError,
    UnsupportedGateError,
)
from qiskit_qdeep.primitives import (
    StatevectorEngine,
    TorchStatevectorEstimator,
    TorchStatevectorSampler,
)
from test import QDeepTestCase

A, B, C = Parameter("a"), Parameter("b"), Parameter("c")

# angle expressions drawn by the property tests: numbers, parameters, reused/scaled/nonlinear ones
ANGLES = [0.0, 0.7, -2.3, np.pi, A, B, C, 2 * A, A + B, -0.5 * C + 1.0, B.sin(), A * B]


def _angle(draw):
    return draw(st.sampled_from(ANGLES))


# name: (number of qubits, number of angles, builder)
GATES = {
    "h": (1, 0, lambda qc, q, p: qc.h(*q)),
    "x": (1, 0, lambda qc, q, p: qc.x(*q)),
    "y": (1, 0, lambda qc, q, p: qc.y(*q)),
    "z": (1, 0, lambda qc, q, p: qc.z(*q)),
    "s": (1, 0, lambda qc, q, p: qc.s(*q)),
    "sdg": (1, 0, lambda qc, q, p: qc.sdg(*q)),
    "t": (1, 0, lambda qc, q, p: qc.t(*q)),
    "tdg": (1, 0, lambda qc, q, p: qc.tdg(*q)),
    "sx": (1, 0, lambda qc, q, p: qc.sx(*q)),
    "sxdg": (1, 0, lambda qc, q, p: qc.sxdg(*q)),
    "id": (1, 0, lambda qc, q, p: qc.id(*q)),
    "rx": (1, 1, lambda qc, q, p: qc.rx(*p, *q)),
    "ry": (1, 1, lambda qc, q, p: qc.ry(*p, *q)),
    "rz": (1, 1, lambda qc, q, p: qc.rz(*p, *q)),
    "p": (1, 1, lambda qc, q, p: qc.p(*p, *q)),
    "u1": (1, 1, lambda qc, q, p: qc.append(U1Gate(*p), q)),
    "u2": (1, 2, lambda qc, q, p: qc.append(U2Gate(*p), q)),
    "u": (1, 3, lambda qc, q, p: qc.u(*p, *q)),
    "u3": (1, 3, lambda qc, q, p: qc.append(U3Gate(*p), q)),
    "r": (1, 2, lambda qc, q, p: qc.r(*p, *q)),
    "cx": (2, 0, lambda qc, q, p: qc.cx(*q)),
    "cy": (2, 0, lambda qc, q, p: qc.cy(*q)),
    "cz": (2, 0, lambda qc, q, p: qc.cz(*q)),
    "ch": (2, 0, lambda qc, q, p: qc.ch(*q)),
    "swap": (2, 0, lambda qc, q, p: qc.swap(*q)),
    "iswap": (2, 0, lambda qc, q, p: qc.iswap(*q)),
    "ecr": (2, 0, lambda qc, q, p: qc.append(ECRGate(), q)),
    "dcx": (2, 0, lambda qc, q, p: qc.append(DCXGate(), q)),
    "crx": (2, 1, lambda qc, q, p: qc.crx(*p, *q)),
    "cry": (2, 1, lambda qc, q, p: qc.cry(*p, *q)),
    "crz": (2, 1, lambda qc, q, p: qc.crz(*p, *q)),
    "crx_open": (2, 1, lambda qc, q, p: qc.append(CRXGate(*p, ctrl_state=0), q)),
    "cp": (2, 1, lambda qc, q, p: qc.cp(*p, *q)),
    "cu1": (2, 1, lambda qc, q, p: qc.append(CU1Gate(*p), q)),
    "cu3": (2, 3, lambda qc, q, p: qc.append(CU3Gate(*p), q)),
    "cu": (2, 4, lambda qc, q, p: qc.cu(*p, *q)),
    "rxx": (2, 1, lambda qc, q, p: qc.rxx(*p, *q)),
    "ryy": (2, 1, lambda qc, q, p: qc.ryy(*p, *q)),
    "rzz": (2, 1, lambda qc, q, p: qc.rzz(*p, *q)),
    "rzx": (2, 1, lambda qc, q, p: qc.rzx(*p, *q)),
    "xx_plus_yy": (2, 2, lambda qc, q, p: qc.append(XXPlusYYGate(*p), q)),
    "pauli_evolution": (
        2,
        1,
        lambda qc, q, p: qc.append(PauliEvolutionGate(SparsePauliOp(["XZ", "YY"]), time=p[0]), q),
    ),
    "unitary": (2, 0, lambda qc, q, p: qc.append(UnitaryGate(random_unitary(4, seed=11)), q)),
    "ccx": (3, 0, lambda qc, q, p: qc.ccx(*q)),
    "cswap": (3, 0, lambda qc, q, p: qc.cswap(*q)),
    "mcx_open": (3, 0, lambda qc, q, p: qc.append(XGate().control(2, ctrl_state="01"), q)),
    "ccrx": (3, 1, lambda qc, q, p: qc.append(RXGate(*p).control(2), q)),
    "mcp": (3, 1, lambda qc, q, p: qc.mcp(*p, list(q[:2]), q[2])),
    "global_phase": (0, 1, lambda qc, q, p: qc.append(GlobalPhaseGate(*p), [])),
    "barrier": (1, 0, lambda qc, q, p: qc.barrier(*q)),
}


@st.composite
def random_circuits(draw):
    """A random circuit over the whole supported gate set with parameters a, b, c."""
    num_qubits = draw(st.integers(2, 4))
    names = [n for n, (k, _, _) in GATES.items() if k <= num_qubits]
    circuit = QuantumCircuit(num_qubits)
    circuit.global_phase = _angle(draw)
    for _ in range(draw(st.integers(1, 14))):
        name = draw(st.sampled_from(names))
        num, num_angles, build = GATES[name]
        qubits = draw(st.permutations(range(num_qubits)))[:num]
        build(circuit, list(qubits), [_angle(draw) for _ in range(num_angles)])
    return circuit


@st.composite
def random_observables(draw, num_qubits):
    """A random Hermitian Pauli sum on ``num_qubits`` qubits."""
    labels = draw(
        st.lists(st.text("IXYZ", min_size=num_qubits, max_size=num_qubits), min_size=1, max_size=4)
    )
    coeffs = draw(
        st.lists(st.floats(-2, 2, allow_nan=False), min_size=len(labels), max_size=len(labels))
    )
    return SparsePauliOp(labels, coeffs)


def _reference_statevector(circuit: QuantumCircuit, parameters, values) -> np.ndarray:
    binding = {p: v for p, v in zip(parameters, values, strict=True) if circuit.has_parameter(p)}
    return Statevector(circuit.assign_parameters(binding)).data


def _values(rng, shape, parameters):
    return rng.uniform(-np.pi, np.pi, size=tuple(shape) + (len(parameters),))


def _five_qubit_model():
    """5 RX inputs, 3 x (RZ RY RZ per qubit + CNOT ring), Y on each qubit; Y observables."""
    inputs, weights = ParameterVector("x", 5), ParameterVector("w", 45)
    circuit = QuantumCircuit(5)
    for i in range(5):
        circuit.rx(inputs[i], i)
    k = 0
    for _ in range(3):
        for i in range(5):
            circuit.rz(weights[k], i)
            circuit.ry(weights[k + 1], i)
            circuit.rz(weights[k + 2], i)
            k += 3
        for i in range(5):
            circuit.cx(i, (i + 1) % 5)
    for i in range(5):
        circuit.y(i)
    observables = [SparsePauliOp("I" * (4 - i) + "Y" + "I" * i) for i in range(5)]
    return circuit, list(inputs), list(weights), observables


class TestStatevectorEngineProperties(QDeepTestCase):
    """Property tests against qiskit.quantum_info.Statevector."""

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_statevector_matches_qiskit(self, data):
        """Statevectors (with global phase) and Pauli expectations match Qiskit."""
        circuit = data.draw(random_circuits())
        observable = data.draw(random_observables(circuit.num_qubits))
        engine = StatevectorEngine(circuit)
        parameters = engine.parameters
        values = _values(np.random.default_rng(data.draw(st.integers(0, 2**16))), (3,), parameters)
        states = engine.statevector(values).numpy()
        evs = engine.expectation_values(values, [observable, "Z" * circuit.num_qubits]).numpy()
        self.assertEqual(states.shape, (3, 2**circuit.num_qubits))
        for row, state, ev in zip(values, states, evs, strict=True):
            reference = Statevector(_reference_statevector(circuit, parameters, row))
            np.testing.assert_allclose(state, reference.data, atol=1e-10)
            np.testing.assert_allclose(
                ev[0], reference.expectation_value(observable).real, atol=1e-10
            )
            np.testing.assert_allclose(
                ev[1], reference.expectation_value(Pauli("Z" * circuit.num_qubits)).real, atol=1e-10
            )

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_probabilities_match_qiskit(self, data):
        """Marginal probabilities follow Qiskit's qubit ordering."""
        circuit = data.draw(random_circuits())
        qubits = data.draw(st.permutations(range(circuit.num_qubits)))[
            : data.draw(st.integers(1, circuit.num_qubits))
        ]
        engine = StatevectorEngine(circuit)
        values = _values(np.random.default_rng(3), (2,), engine.parameters)
        probs = engine.probabilities(values, qubits).numpy()
        for row, prob in zip(values, probs, strict=True):
            reference = Statevector(_reference_statevector(circuit, engine.parameters, row))
            np.testing.assert_allclose(prob, reference.probabilities(list(qubits)), atol=1e-10)

    def test_aer_estimator_agrees(self):
        """Exact Aer EstimatorV2 gives the same expectation values."""
        from qiskit_aer.primitives import EstimatorV2 as AerEstimator

        rng = np.random.default_rng(5)
        for seed in range(3):
            circuit = real_amplitudes(3, reps=2, entanglement="full")
            circuit.rzz(A, 0, 2)
            circuit.cu(B, 0.3, A, 0.1, 1, 0)
            observable = SparsePauliOp(["XYZ", "ZZI", "IXX"], rng.normal(size=3))
            values = _values(np.random.default_rng(seed), (4,), circuit.parameters)
            aer = AerEstimator(options={"default_precision": 0.0})
            reference = aer.run([(circuit, observable, values)]).result()[0].data.evs
            engine = StatevectorEngine(circuit)
            np.testing.assert_allclose(
                engine.expectation_values(values, [observable]).numpy()[:, 0], reference, atol=1e-8
            )


class TestStatevectorEngine(QDeepTestCase):
    """Unit tests of StatevectorEngine."""

    def setUp(self):
        super().setUp()
        circuit = QuantumCircuit(3)
        circuit.h(0)
        circuit.rx(A, 0)
        circuit.ry(2 * B, 1)
        circuit.cx(0, 1)
        circuit.rz(A + C, 2)
        circuit.crx(B, 1, 2)
        circuit.ry(B.sin(), 0)
        circuit.rzz(A * C, 0, 2)
        circuit.u(A, B, C, 1)
        circuit.global_phase = A / 3
        self.circuit = circuit
        self.observables = [SparsePauliOp(["XYZ", "ZZI", "IIX"], [0.3, -1.0, 2.0]), "YYI"]

    def test_properties(self):
        """Read-only properties and the default parameter order."""
        engine = StatevectorEngine(self.circuit)
        self.assertEqual(engine.num_qubits, 3)
        self.assertEqual(engine.parameters, list(self.circuit.parameters))
        self.assertEqual(engine.num_parameters, 3)
        self.assertEqual(engine.dtype, torch.complex128)
        self.assertEqual(engine.device, torch.device("cpu"))
        self.assertIsNot(engine.circuit, self.circuit)
        engine.parameters.append(Parameter("z"))
        self.assertEqual(engine.num_parameters, 3)

    def test_custom_parameter_order_and_batch_shapes(self):
        """``parameters`` sets the column order; leading batch dims are kept."""
        order = [C, A, B, Parameter("unused")]
        engine = StatevectorEngine(self.circuit, parameters=order)
        values = self.rng.uniform(-3, 3, (2, 3, 4))
        states = engine.statevector(values)
        self.assertEqual(tuple(states.shape), (2, 3, 8))
        reference = _reference_statevector(self.circuit, order, values[1, 2])
        self.assertAllClose(states[1, 2], reference, atol=1e-12)
        self.assertEqual(
            tuple(engine.expectation_values(values, self.observables).shape), (2, 3, 2)
        )
        self.assertEqual(tuple(engine.probabilities(values, [2]).shape), (2, 3, 2))
        single = engine.statevector(torch.as_tensor(values[0, 0]))
        self.assertEqual(tuple(single.shape), (8,))

    def test_gradcheck(self):
        """Analytic gradients (adjoint method) pass gradcheck in double precision."""
        engine = StatevectorEngine(self.circuit)
        values = torch.tensor(self.rng.uniform(-3, 3, (3, 3)), requires_grad=True)
        self.assertTrue(
            torch.autograd.gradcheck(
                lambda x: engine.expectation_values(x, self.observables), (values,)
            )
        )
        self.assertTrue(torch.autograd.gradcheck(engine.statevector, (values,)))
        self.assertTrue(
            torch.autograd.gradcheck(lambda x: engine.probabilities(x, [2, 0]), (values,))
        )

    def test_gradcheck_without_stored_states(self):
        """The memory-saving (un-computing) backward pass gives the same gradients."""
        engine = StatevectorEngine(self.circuit)
        engine._store_limit = 0  # pylint: disable=protected-access
        values = torch.tensor(self.rng.uniform(-3, 3, (2, 3)), requires_grad=True)
        self.assertTrue(
            torch.autograd.gradcheck(
                lambda x: engine.expectation_values(x, self.observables), (values,)
            )
        )

    def test_gradient_matches_finite_differences(self):
        """``loss.backward()`` matches central finite differences of the Qiskit reference."""
        engine = StatevectorEngine(self.circuit)
        observable = SparsePauliOp.from_list([("XYZ", 0.3), ("ZZI", -1.0)])
        point = self.rng.uniform(-3, 3, 3)
        values = torch.tensor(point, requires_grad=True)
        engine.expectation_values(values, [observable]).sum().backward()

        def reference(x):
            state = Statevector(_reference_statevector(self.circuit, engine.parameters, x))
            return state.expectation_value(observable).real

        step = 1e-6
        numeric = [
            (reference(point + step * e) - reference(point - step * e)) / (2 * step)
            for e in np.eye(3)
        ]
        self.assertAllClose(values.grad, numeric, atol=1e-7)

    def test_five_qubit_model_gradients(self):
        """The benchmark model: gradients agree with torch autograd on dense matrices."""
        circuit, inputs, weights, observables = _five_qubit_model()
        engine = StatevectorEngine(circuit, parameters=inputs + weights)
        values = torch.tensor(self.rng.uniform(-3, 3, (4, 50)), requires_grad=True)
        engine.expectation_values(values, observables).sum().backward()
        grad = values.grad.clone()
        step = 1e-6
        rows = torch.eye(50, dtype=torch.float64)[[0, 7, 23, 49]]
        with torch.no_grad():
            for k, direction in zip([0, 7, 23, 49], rows, strict=True):
                plus = engine.expectation_values(values + step * direction, observables).sum(-1)
                minus = engine.expectation_values(values - step * direction, observables).sum(-1)
                self.assertAllClose(grad[:, k], (plus - minus) / (2 * step), atol=1e-7)

    def test_complex64(self):
        """complex64 runs with float32 values and agrees with complex128 to 1e-4."""
        engine64 = StatevectorEngine(self.circuit, dtype=torch.complex64)
        engine128 = StatevectorEngine(self.circuit)
        values = self.rng.uniform(-3, 3, (5, 3))
        x = torch.tensor(values, dtype=torch.float32, requires_grad=True)
        evs = engine64.expectation_values(x, self.observables)
        self.assertEqual(evs.dtype, torch.float32)
        self.assertEqual(engine64.statevector(values).dtype, torch.complex64)
        evs.sum().backward()
        self.assertEqual(x.grad.dtype, torch.float32)
        x128 = torch.tensor(values, requires_grad=True)
        evs128 = engine128.expectation_values(x128, self.observables)
        evs128.sum().backward()
        self.assertAllClose(evs, evs128, atol=1e-4)
        self.assertAllClose(x.grad, x128.grad, atol=1e-4)

    def test_no_grad_and_numpy_inputs(self):
        """numpy inputs, ``torch.no_grad`` and grad-enabled runs give the same numbers."""
        engine = StatevectorEngine(self.circuit)
        values = self.rng.uniform(-3, 3, (4, 3))
        with torch.no_grad():
            plain = engine.expectation_values(values, self.observables)
        tracked = engine.expectation_values(
            torch.tensor(values, requires_grad=True), self.observables
        )
        self.assertAllClose(plain, tracked.detach(), atol=1e-12)

    def test_unparameterized_and_measured(self):
        """A circuit without parameters and with final measurements."""
        circuit = QuantumCircuit(2, 2)
        circuit.h(0)
        circuit.cx(0, 1)
        circuit.measure([0, 1], [1, 0])
        engine = StatevectorEngine(circuit)
        self.assertAllClose(engine.statevector(), [2**-0.5, 0, 0, 2**-0.5], atol=1e-12)
        self.assertEqual(engine.final_measurements, {1: 0, 0: 1})
        self.assertAllClose(engine.expectation_values(None, ["ZZ", Pauli("XX")]), [1.0, 1.0])

    def test_initialize_and_state_preparation(self):
        """``Initialize`` (resets on fresh qubits) and ``StatePreparation`` are expanded."""
        target = random_statevector(8, seed=5)
        circuit = QuantumCircuit(3)
        circuit.initialize(target.data, [0, 1, 2])
        self.assertAllClose(StatevectorEngine(circuit).statevector(), target.data, atol=1e-10)
        circuit = QuantumCircuit(3)
        circuit.append(StatePreparation(target.data), [0, 1, 2])
        circuit.ry(A, 1)
        engine = StatevectorEngine(circuit)
        self.assertAllClose(
            engine.statevector([0.4]), _reference_statevector(circuit, [A], [0.4]), atol=1e-10
        )

    def test_fusion_compiles_target_circuit_compactly(self):
        """RZ-RY-RZ runs fuse and each CNOT ring becomes one permutation."""
        circuit, _, _, _ = _five_qubit_model()
        engine = StatevectorEngine(circuit)
        self.assertEqual(engine.num_ops, 18)


class TestStatevectorEngineErrors(QDeepTestCase):
    """Validation and error messages."""

    def test_mid_circuit_measurement(self):
        """Gates after a measurement are rejected, naming the gate."""
        circuit = QuantumCircuit(2, 1)
        circuit.h(0)
        circuit.measure(0, 0)
        circuit.x(0)
        with self.assertRaisesRegex(UnsupportedGateError, "'x'.*mid-circuit"):
            StatevectorEngine(circuit)

    def test_unknown_gate(self):
        """A custom gate without matrix or definition is named in the error."""
        circuit = QuantumCircuit(2)
        circuit.append(Gate("mystery", 1, [A]), [0])
        with self.assertRaisesRegex(UnsupportedGateError, "mystery"):
            StatevectorEngine(circuit)

    def test_control_flow_and_reset(self):
        """Classical control flow is rejected; a reset of a used qubit needs an rng."""
        circuit = QuantumCircuit(2, 1)
        circuit.h(0)
        circuit.measure(0, 0)
        with circuit.if_test((circuit.clbits[0], 1)):
            circuit.x(1)
        with self.assertRaisesRegex(UnsupportedGateError, "if_else"):
            StatevectorEngine(circuit)
        circuit = QuantumCircuit(1)
        circuit.x(0)
        circuit.reset(0)
        engine = StatevectorEngine(circuit)
        self.assertTrue(engine.needs_rng)
        with self.assertRaisesRegex(UnsupportedGateError, "reset"):
            engine.statevector()
        state = engine.statevector(rng=np.random.default_rng(0)).numpy()
        np.testing.assert_allclose(state, [1.0, 0.0], atol=1e-12)

    def test_qubit_limit(self):
        """More qubits than ``max_qubits`` raises with a helpful message."""
        with self.assertRaisesRegex(QubitLimitError, r"6 qubits.*max_qubits=5.*2\*\*n"):
            StatevectorEngine(QuantumCircuit(6), max_qubits=5)
        with self.assertRaises(QDeepValueError):  # QubitLimitError is a QDeepValueError
            StatevectorEngine(QuantumCircuit(21))

    def test_bad_values(self):
        """Wrong width, NaN/inf, complex values and missing parameters."""
        circuit = QuantumCircuit(1)
        circuit.rx(A, 0)
        circuit.ry(B, 0)
        engine = StatevectorEngine(circuit)
        with self.assertRaisesRegex(QDeepValueError, r"\(\.\.\., 2\).*\(3, 5\)"):
            engine.statevector(np.zeros((3, 5)))
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            engine.statevector(np.array([0.1, np.nan]))
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            engine.expectation_values(torch.tensor([np.inf, 0.0]), ["Z"])
        with self.assertRaises(QDeepTypeError):
            engine.statevector(np.array([1j, 0.0]))
        with self.assertRaisesRegex(QDeepValueError, "parameters"):
            engine.statevector(None)
        with self.assertRaisesRegex(QDeepValueError, r"\['b'\]"):
            StatevectorEngine(circuit, parameters=[A])

    def test_bad_observables(self):
        """Observables on the wrong number of qubits or non-Hermitian ones."""
        engine = StatevectorEngine(QuantumCircuit(2))
        with self.assertRaisesRegex(QDeepValueError, "1 qubits"):
            engine.expectation_values(None, ["Z"])
        with self.assertRaisesRegex(QDeepValueError, "Hermitian"):
            engine.expectation_values(None, [SparsePauliOp("ZZ", 1j)])
        with self.assertRaises(QDeepTypeError):
            engine.expectation_values(None, "ZZ")

    def test_bad_qubits(self):
        """Repeated or out-of-range qubits in ``probabilities``."""
        engine = StatevectorEngine(QuantumCircuit(2))
        with self.assertRaises(QDeepValueError):
            engine.probabilities(None, [0, 0])
        with self.assertRaises(QDeepValueError):
            engine.probabilities(None, [2])


class TestTorchEstimator(QDeepTestCase):
    """TorchStatevectorEstimator against StatevectorEstimator."""

    def setUp(self):
        super().setUp()
        self.circuit = real_amplitudes(2, reps=1)
        self.observables = [[SparsePauliOp(["XX", "IY"], [0.5, 0.5])], [SparsePauliOp("ZZ")]]
        self.values = self.rng.uniform(-3, 3, (2, 3, 4))

    def test_broadcasting(self):
        """Parameter shape (2, 3) with observables shape (2, 1) broadcasts to (2, 3)."""
        pub = (self.circuit, self.observables, self.values)
        expected = StatevectorEstimator().run([pub]).result()[0]
        result = TorchStatevectorEstimator().run([pub]).result()
        self.assertEqual(result.metadata, {"version": 2})
        data = result[0].data
        self.assertEqual(data.evs.shape, (2, 3))
        self.assertEqual(data.evs.dtype, np.float64)
        self.assertAllClose(data.evs, expected.data.evs, atol=1e-12)
        self.assertAllClose(data.stds, np.zeros((2, 3)))
        self.assertEqual(result[0].metadata["target_precision"], 0.0)

    def test_precision_noise(self):
        """Seeded noise is reproducible and matches Qiskit's sampling of the same seed."""
        pub = (self.circuit, self.observables, self.values)
        first = TorchStatevectorEstimator(seed=7).run([pub], precision=0.1).result()[0]
        second = TorchStatevectorEstimator(seed=7).run([pub], precision=0.1).result()[0]
        qiskit = StatevectorEstimator(seed=7).run([pub], precision=0.1).result()[0]
        exact = TorchStatevectorEstimator().run([pub]).result()[0]
        self.assertAllClose(first.data.evs, second.data.evs, atol=0)
        self.assertAllClose(first.data.evs, qiskit.data.evs, atol=1e-12)
        self.assertGreater(np.abs(first.data.evs - exact.data.evs).max(), 1e-3)
        self.assertAllClose(first.data.stds, np.full((2, 3), 0.1))
        estimator = TorchStatevectorEstimator(default_precision=0.05, seed=3)
        self.assertEqual(estimator.run([pub]).result()[0].metadata["target_precision"], 0.05)

    def test_several_pubs_and_engine_cache(self):
        """Several PUBs (with and without parameters) reuse the compiled engine."""
        estimator = TorchStatevectorEstimator()
        bound = self.circuit.assign_parameters(self.values[0, 0])
        pubs = [
            (self.circuit, "ZI", self.values[0]),
            (bound, ["XX", "ZZ"]),
            (self.circuit, "ZZ", self.values[1, 0]),
        ]
        results = estimator.run(pubs).result()
        expected = StatevectorEstimator().run(pubs).result()
        for got, want in zip(results, expected, strict=True):
            self.assertEqual(got.data.evs.shape, want.data.evs.shape)
            self.assertAllClose(got.data.evs, want.data.evs, atol=1e-12)
        engine = estimator._engine(self.circuit)  # pylint: disable=protected-access
        self.assertIs(estimator._engine(self.circuit), engine)  # pylint: disable=protected-access

    def test_invalid_precision(self):
        """Negative precision is rejected."""
        with self.assertRaises(QDeepValueError):
            TorchStatevectorEstimator(default_precision=-1.0)
        with self.assertRaises(QDeepValueError):
            TorchStatevectorEstimator().run(
                [(self.circuit, "ZZ", self.values[0, 0])], precision=-0.1
            )

    def test_estimator_qnn_forward(self):
        """qiskit-machine-learning's EstimatorQNN gives the same forward pass."""
        from qiskit_machine_learning.neural_networks import EstimatorQNN

        circuit, inputs, weights, observables = _five_qubit_model()
        features = self.rng.uniform(-1, 1, (6, 5))
        weight_values = self.rng.uniform(-1, 1, 45)
        outputs = []
        for estimator in (TorchStatevectorEstimator(), StatevectorEstimator()):
            qnn = EstimatorQNN(
                circuit=circuit,
                estimator=estimator,
                observables=observables,
                input_params=inputs,
                weight_params=weights,
                default_precision=0.0,
            )
            outputs.append(qnn.forward(features, weight_values))
        self.assertEqual(outputs[0].shape, (6, 5))
        self.assertAllClose(outputs[0], outputs[1], atol=1e-10)


class TestTorchSampler(QDeepTestCase):
    """TorchStatevectorSampler against exact probabilities and StatevectorSampler."""

    def _circuit(self):
        qreg = QuantumRegister(3)
        circuit = QuantumCircuit(qreg, ClassicalRegister(2, "alpha"), ClassicalRegister(3, "beta"))
        circuit.ry(A, 0)
        circuit.cx(0, 1)
        circuit.rx(B, 2)
        circuit.measure(0, 0)
        circuit.measure(2, 1)
        circuit.measure(1, 2)  # beta[0]; beta[1], beta[2] stay 0
        return circuit

    def test_registers_and_distribution(self):
        """Register names/shapes are right and counts follow the exact probabilities."""
        circuit = self._circuit()
        values = np.array([[[0.3, 1.2]], [[2.0, -0.7]]])  # shape (2, 1)
        shots = 4000
        result = TorchStatevectorSampler(seed=11).run([(circuit, values)], shots=shots).result()
        self.assertEqual(result.metadata, {"version": 2})
        data = result[0].data
        self.assertEqual(sorted(data.keys()), ["alpha", "beta"])
        self.assertEqual(data.alpha.shape, (2, 1))
        self.assertEqual(data.alpha.num_shots, shots)
        self.assertEqual(data.alpha.num_bits, 2)
        self.assertEqual(data.beta.num_bits, 3)
        self.assertEqual(result[0].metadata["shots"], shots)
        for index in np.ndindex(2, 1):
            theta, phi = values[index]
            bound = circuit.assign_parameters({A: theta, B: phi}).remove_final_measurements(
                inplace=False
            )
            probs = Statevector(bound).probabilities_dict([0, 2])  # alpha[0] = q0, alpha[1] = q2
            counts = data.alpha[index].get_counts()
            chi2 = 0.0
            for outcome, prob in probs.items():
                expected = prob * shots
                if expected > 5:
                    chi2 += (counts.get(outcome, 0) - expected) ** 2 / expected
            self.assertLess(chi2, 20.0)  # 3 degrees of freedom: p-value ~ 2e-4
            beta = data.beta[index].get_counts()
            self.assertTrue(set(beta) <= {"000", "001"})
            # beta[0] copies q1 which equals q0 (alpha[0]) after the CNOT
            self.assertAllClose(
                data.beta[index].array[:, 0] & 1, data.alpha[index].array[:, 0] & 1, atol=0
            )

    def test_seeded_reproducible_and_qiskit_conventions(self):
        """Same seed, same samples; bit conventions match StatevectorSampler."""
        circuit = self._circuit()
        pub = (circuit, [0.9, 2.1])
        first = TorchStatevectorSampler(seed=5).run([pub], shots=300).result()[0].data
        second = TorchStatevectorSampler(seed=5).run([pub], shots=300).result()[0].data
        np.testing.assert_array_equal(first.alpha.array, second.alpha.array)
        deterministic = QuantumCircuit(3, 3)
        deterministic.x(0)
        deterministic.x(2)
        deterministic.measure([0, 1, 2], [2, 0, 1])
        ours = TorchStatevectorSampler(seed=1).run([deterministic], shots=10).result()[0]
        theirs = StatevectorSampler(seed=1).run([deterministic], shots=10).result()[0]
        self.assertEqual(ours.data.c.get_counts(), theirs.data.c.get_counts())

    def test_errors(self):
        """Bad shots and mid-circuit measurements."""
        circuit = self._circuit()
        sampler = TorchStatevectorSampler()
        with self.assertRaises(QDeepValueError):
            sampler.run([(circuit, [0.1, 0.2])], shots=0)
        with self.assertRaises(QDeepValueError):
            TorchStatevectorSampler(default_shots=0)
        mid = QuantumCircuit(1, 1)
        mid.h(0)
        mid.measure(0, 0)
        mid.h(0)
        with self.assertRaisesRegex(UnsupportedGateError, "mid-circuit"):
            sampler.run([mid]).result()


if __name__ == "__main__":
    unittest.main()
