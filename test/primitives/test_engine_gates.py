# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Conformance sweep of the statevector engine against ``qiskit.quantum_info.Statevector``.

Every parameterised gate family must give the exact statevector of the bound circuit (or raise
:class:`~qiskit_qdeep.exceptions.UnsupportedGateError` naming the gate), and resets of used
qubits must collapse like ``Statevector.reset``.
"""

from __future__ import annotations

import unittest

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import (
    AnnotatedOperation,
    ControlModifier,
    Gate,
    InverseModifier,
    Parameter,
    ParameterVector,
    PowerModifier,
)
from qiskit.circuit import library as lib
from qiskit.circuit.library import (
    CUGate,
    GlobalPhaseGate,
    HamiltonianGate,
    MCMTGate,
    MCPhaseGate,
    MSGate,
    PauliEvolutionGate,
    PauliProductRotationGate,
    RGate,
    RVGate,
    RXGate,
    RYGate,
    U2Gate,
    UCRYGate,
    UCRZGate,
    XGate,
    XXMinusYYGate,
    XXPlusYYGate,
    get_standard_gate_name_mapping,
)
from qiskit.quantum_info import Pauli, SparseObservable, SparsePauliOp, Statevector
from qiskit.synthesis import MatrixExponential, QDrift, SuzukiTrotter

from qiskit_qdeep.exceptions import QDeepTypeError, UnsupportedGateError
from qiskit_qdeep.primitives import StatevectorEngine
from test import QDeepTestCase

T = Parameter("t")
A, B = Parameter("a"), Parameter("b")
NON_COMMUTING = SparsePauliOp(["XX", "ZI"], [1.0, 0.7])
COMMUTING = SparsePauliOp(["ZZ", "XX", "YY"], [0.5, -0.3, 0.2])
NON_COMMUTING_3 = SparsePauliOp(["XYZ", "ZIX", "YYI", "IIZ"], [0.4, 0.7, -0.2, 0.9])


def _control(gate, num_ctrl=1, ctrl_state=None, annotated=False):
    """``gate.control(...)`` with an explicit ``annotated`` (its default is deprecated)."""
    return gate.control(num_ctrl, ctrl_state=ctrl_state, annotated=annotated)


def _single(gate, num_qubits=None) -> QuantumCircuit:
    """A circuit applying ``gate`` to its first qubits after a generic entangled state."""
    num_qubits = max(num_qubits or 0, gate.num_qubits, 1)
    circuit = QuantumCircuit(num_qubits)
    for qubit in range(num_qubits):
        circuit.ry(0.3 + 0.4 * qubit, qubit)
        circuit.rz(0.2 - 0.5 * qubit, qubit)
    if num_qubits > 1:
        circuit.cx(0, num_qubits - 1)
    circuit.append(gate, list(range(gate.num_qubits)))
    return circuit


class EngineConformance(QDeepTestCase):
    """Helpers comparing the engine with the reference ``Statevector``."""

    rng = np.random.default_rng(11)

    def assertMatchesStatevector(self, circuit, batch=2, atol=1e-10):  # pylint: disable=invalid-name
        """Engine statevectors of random bindings equal ``Statevector`` of the bound circuit."""
        engine = StatevectorEngine(circuit)
        parameters = engine.parameters
        if not parameters:
            batch = 1
        values = self.rng.uniform(-np.pi, np.pi, size=(batch, len(parameters)))
        ours = engine.statevector(values if parameters else None).numpy()
        ours = ours.reshape(batch, 2**circuit.num_qubits)
        for row, state in zip(values, ours, strict=True):
            bound = circuit.assign_parameters(dict(zip(parameters, row))) if parameters else circuit
            reference = Statevector(bound).data
            error = np.abs(state - reference).max()
            fidelity = abs(np.vdot(reference, state)) ** 2
            self.assertLess(error, atol, f"max |difference| {error:.2e}, fidelity {fidelity:.6f}")
        return engine


class TestStandardGates(EngineConformance):
    """Every parameterised gate of the standard mapping, plain and controlled."""

    @staticmethod
    def _parameterised():
        for name, gate in get_standard_gate_name_mapping().items():
            if gate.params and name != "delay":
                yield name, type(gate), len(gate.params)

    def test_numeric_symbolic_and_expressions(self):
        """Numeric, symbolic and affine/nonlinear expression parameters."""
        for name, cls, count in self._parameterised():
            vec = ParameterVector("p", count)
            cases = {
                "symbolic": list(vec),
                "expression": [2 * p + 0.3 for p in vec],
                "nonlinear": [p * p - p.sin() for p in vec],
                "numeric": list(self.rng.uniform(-3, 3, count)),
            }
            for case, params in cases.items():
                with self.subTest(gate=name, params=case):
                    self.assertMatchesStatevector(_single(cls(*params)))

    def test_controlled_versions(self):
        """``.control(1)`` and ``.control(2, ctrl_state=...)`` with symbolic parameters."""
        for name, cls, count in self._parameterised():
            if cls is GlobalPhaseGate:
                continue  # its controlled versions are in test_named_families
            vec = ParameterVector("p", count)
            for num_ctrl, ctrl_state in ((1, None), (2, 0), (2, 1), (2, 2), (2, 3)):
                for annotated in (False, True):  # ControlledGate / AnnotatedOperation
                    with self.subTest(
                        gate=name, num_ctrl=num_ctrl, ctrl_state=ctrl_state, annotated=annotated
                    ):
                        gate = _control(cls(*vec), num_ctrl, ctrl_state, annotated)
                        self.assertMatchesStatevector(_single(gate))

    def test_cu_numeric_keeps_gamma(self):
        """A numeric ``CUGate`` includes its phase ``gamma`` (the base ``UGate`` has none)."""
        self.assertMatchesStatevector(_single(CUGate(0.3, 0.4, 0.5, 0.6)))
        self.assertMatchesStatevector(_single(CUGate(A, 0.4, 0.5, B)))
        self.assertMatchesStatevector(_single(_control(CUGate(0.3, 0.4, 0.5, 0.6))))

    def test_named_families(self):
        """XX+YY, XX-YY, R, U2, global phase (plain and controlled) and friends."""
        gates = [
            XXPlusYYGate(A, B),
            XXMinusYYGate(A, 2 * B - 1),
            _control(XXPlusYYGate(A, B), 2, 2),
            RGate(A, B),
            _control(RGate(A, B), 2, 1),
            U2Gate(A, B),
            _control(U2Gate(A, B)),
            GlobalPhaseGate(A),
            _control(GlobalPhaseGate(A)),
            _control(GlobalPhaseGate(A * B), 2, 1),
            PauliProductRotationGate(Pauli("-XIY"), 2 * A + B),
            MSGate(3, A),
            MCPhaseGate(A, 3),
        ]
        for gate in gates:
            with self.subTest(gate=gate.name):
                self.assertMatchesStatevector(_single(gate, 3))


class TestEvolutionGates(EngineConformance):
    """``PauliEvolutionGate`` / ``HamiltonianGate`` with unbound times: exact, never Trotter."""

    def test_non_commuting_regression(self):
        """exp(-i t (XX + ZI)): the Lie-Trotter definition had fidelity 0.98."""
        circuit = QuantumCircuit(2)
        circuit.append(PauliEvolutionGate(SparsePauliOp(["XX", "ZI"]), time=T), [0, 1])
        engine = StatevectorEngine(circuit)
        ours = engine.statevector([0.8]).numpy()
        reference = Statevector(circuit.assign_parameters([0.8])).data
        np.testing.assert_allclose(ours, reference, atol=1e-12)

    def test_times_and_operators(self):
        """Commuting and non-commuting sums with times t, 2t+1 and t**2."""
        for label, operator in (
            ("commuting", COMMUTING),
            ("non-commuting", NON_COMMUTING),
            ("non-commuting-3", NON_COMMUTING_3),
        ):
            for time in (T, 2 * T + 1, T * T):
                with self.subTest(operator=label, time=str(time)):
                    gate = PauliEvolutionGate(operator, time=time)
                    self.assertMatchesStatevector(_single(gate))

    def test_lists_sparse_observables_and_controls(self):
        """List operators (their sum), SparseObservable projectors, controlled evolutions."""
        gates = {
            "list": PauliEvolutionGate([SparsePauliOp(["XX", "YY"]), SparsePauliOp(["ZI"])], T),
            "sparse-observable": PauliEvolutionGate(SparseObservable("X+"), time=T),
            "controlled": PauliEvolutionGate(NON_COMMUTING, time=T).control(1),
            "controlled-2": PauliEvolutionGate(NON_COMMUTING_3, time=T).control(2, ctrl_state=1),
            "controlled-commuting": PauliEvolutionGate(COMMUTING, time=T).control(1),
            "inverse": PauliEvolutionGate(NON_COMMUTING, time=T).inverse(),
            "power": PauliEvolutionGate(NON_COMMUTING, time=T).power(0.5),
            "repeat": PauliEvolutionGate(NON_COMMUTING, time=T).repeat(2),
            "single-pauli": PauliEvolutionGate(Pauli("XYZ"), time=3 * T),
        }
        for label, gate in gates.items():
            with self.subTest(gate=label):
                self.assertMatchesStatevector(_single(gate))

    def test_any_synthesis(self):
        """The synthesis strategy (Suzuki-Trotter, QDrift, matrix exponential) is ignored."""
        for synthesis in (
            SuzukiTrotter(order=2, reps=3),
            QDrift(reps=2, seed=1),
            MatrixExponential(),
        ):
            for operator in (NON_COMMUTING, COMMUTING):
                with self.subTest(synthesis=type(synthesis).__name__, operator=str(operator)):
                    gate = PauliEvolutionGate(operator, time=T, synthesis=synthesis)
                    self.assertMatchesStatevector(_single(gate))

    def test_hamiltonian_gate(self):
        """A symbolic-time ``HamiltonianGate`` is diagonalised like a non-commuting sum."""
        matrix = NON_COMMUTING_3.to_matrix()
        self.assertMatchesStatevector(_single(HamiltonianGate(matrix, time=T)))
        self.assertMatchesStatevector(_single(HamiltonianGate(matrix, time=0.7)))

    def test_large_evolutions(self):
        """Beyond the dense limits: commuting terms stay exact, the rest raises."""
        labels = ["ZZ" + "I" * 9, "IZZ" + "I" * 8, "X" * 11]
        self.assertMatchesStatevector(_single(PauliEvolutionGate(SparsePauliOp(labels), 0.4)))
        self.assertMatchesStatevector(_single(PauliEvolutionGate(SparsePauliOp(labels), T)), 1)
        mixed = SparsePauliOp(["ZZ" + "I" * 9, "X" + "I" * 10])
        for time in (0.4, T):
            with self.assertRaisesRegex(UnsupportedGateError, "PauliEvolution.*non-commuting"):
                StatevectorEngine(_single(PauliEvolutionGate(mixed, time)))
        nine = SparsePauliOp(["ZZ" + "I" * 7, "X" + "I" * 8])
        with self.assertRaisesRegex(UnsupportedGateError, "PauliEvolution.*9 qubits"):
            StatevectorEngine(_single(PauliEvolutionGate(nine, T)))


class TestCompositeGates(EngineConformance):
    """User gates, sub-circuits, multi-controlled, annotated operations, library blocks."""

    def test_user_gates(self):
        """A ``Gate`` subclass with a parameterised definition, plain and controlled."""

        class Custom(Gate):
            """Two-qubit gate defined by a parameterised circuit."""

            def __init__(self, a, b):
                super().__init__("custom", 2, [a, b])

            def _define(self):
                a, b = self.params
                body = QuantumCircuit(2, global_phase=b)
                body.rx(a, 0)
                body.cx(0, 1)
                body.rzz(a * b, 0, 1)
                body.append(XXPlusYYGate(a, b), [0, 1])
                self.definition = body

        self.assertMatchesStatevector(_single(Custom(A, B)))
        self.assertMatchesStatevector(_single(_control(Custom(A, B)), 3))

    def test_gates_without_exact_expansion_raise(self):
        """No definition, or one that cannot be built with unbound parameters: named errors."""
        circuit = QuantumCircuit(1)
        circuit.append(Gate("mystery", 1, [A]), [0])
        with self.assertRaisesRegex(UnsupportedGateError, "mystery"):
            StatevectorEngine(circuit)
        circuit = QuantumCircuit(1)
        circuit.append(RVGate(A, B, 0.3), [0])
        with self.assertRaisesRegex(UnsupportedGateError, "'rv'"):
            StatevectorEngine(circuit)
        circuit = QuantumCircuit(1)
        circuit.append(AnnotatedOperation(RXGate(A), [PowerModifier(0.5)]), [0])
        with self.assertRaisesRegex(UnsupportedGateError, "'rx'.*power 0.5"):
            StatevectorEngine(circuit)

    def test_subcircuits(self):
        """``to_gate`` / ``to_instruction`` with parameters and a phase, nested and controlled."""
        sub = QuantumCircuit(2, global_phase=A)
        sub.rx(A, 0)
        sub.crz(B, 0, 1)
        sub.append(XXMinusYYGate(A, B), [0, 1])
        outer = QuantumCircuit(3)
        outer.append(sub.to_gate(), [2, 0])
        outer.append(sub.to_instruction(), [0, 1])
        self.assertMatchesStatevector(_single(outer.to_instruction()))
        self.assertMatchesStatevector(_single(_control(sub.to_gate(), 2, 2)))

    def test_uniformly_controlled_and_multi_target(self):
        """UCRY/UCRZ (numeric only in qiskit) around symbolic gates; MCMT on several targets."""
        circuit = QuantumCircuit(3)
        circuit.ry(A, 0)
        circuit.append(UCRYGate(list(self.rng.uniform(-3, 3, 4))), [0, 1, 2])
        circuit.append(UCRZGate(list(self.rng.uniform(-3, 3, 4))), [2, 0, 1])
        circuit.rz(B, 2)
        self.assertMatchesStatevector(_single(circuit.to_gate()))
        for base in (RYGate(A), RYGate(0.7), XGate()):
            with self.subTest(base=base.name, params=str(base.params)):
                self.assertMatchesStatevector(_single(MCMTGate(base, 2, 2)))

    def test_annotated_operations(self):
        """Inverse, control and integer power modifiers (numeric and symbolic)."""
        modifiers = (
            [InverseModifier()],
            [ControlModifier(2, ctrl_state=1)],
            [PowerModifier(3)],
            [InverseModifier(), ControlModifier(1), PowerModifier(-2)],
        )
        bases = (
            RXGate(A),
            XXPlusYYGate(A, B),
            RXGate(0.4),
            PauliEvolutionGate(NON_COMMUTING, T),
        )
        for base in bases:
            for mods in modifiers:
                with self.subTest(base=base.name, modifiers=str(mods)):
                    self.assertMatchesStatevector(_single(AnnotatedOperation(base, mods)))

    def test_library_blocks(self):
        """Parameterised blocks of ``qiskit.circuit.library`` (and their decompositions)."""
        blocks = {
            "n_local": lib.n_local(3, ["ry", "rz"], "cx", reps=2),
            "efficient_su2": lib.efficient_su2(3, reps=1),
            "zz_feature_map": lib.zz_feature_map(3, reps=2),
            "pauli_feature_map": lib.pauli_feature_map(3, reps=1, paulis=["X", "YZ", "ZXY"]),
            "qaoa_ansatz": lib.qaoa_ansatz(SparsePauliOp(["ZZI", "IZZ", "XII"]), reps=2),
            "qaoa_mixer": lib.qaoa_ansatz(
                SparsePauliOp(["ZZI", "IZZ"]), reps=1, mixer_operator=SparsePauliOp(["XXI", "IYY"])
            ),
            "evolved_operator_ansatz": lib.evolved_operator_ansatz(
                [NON_COMMUTING, SparsePauliOp(["YY"])], reps=1
            ),
            "hamiltonian_variational_ansatz": lib.hamiltonian_variational_ansatz(
                SparsePauliOp(["XX", "ZI", "IZ"]), reps=1
            ),
            "excitation_preserving": lib.excitation_preserving(3, reps=1),
        }
        for name, circuit in blocks.items():
            with self.subTest(block=name):
                self.assertMatchesStatevector(_single(circuit.to_gate()))
                self.assertMatchesStatevector(_single(circuit.decompose().to_gate()))


class TestGradients(EngineConformance):
    """Adjoint gradients of expectation values against central finite differences."""

    def test_gradients_against_finite_differences(self):
        """A representative subset of the sweep, with reused parameters and expressions."""
        gates = {
            "evolution-non-commuting": PauliEvolutionGate(NON_COMMUTING_3, time=2 * A + 1),
            "evolution-nonlinear": PauliEvolutionGate(NON_COMMUTING, time=A * B),
            "evolution-controlled": PauliEvolutionGate(NON_COMMUTING, time=A).control(1),
            "evolution-commuting": PauliEvolutionGate(COMMUTING, time=A - B),
            "hamiltonian": HamiltonianGate(NON_COMMUTING.to_matrix(), time=B),
            "xx_plus_yy-c1": _control(XXPlusYYGate(A, B), 1, 0),
            "cu": CUGate(A, B, 0.3, A * B),
            "global-phase-c1": _control(GlobalPhaseGate(A + B)),
            "mcmt": MCMTGate(RYGate(A), 1, 2),
            "annotated": AnnotatedOperation(XXMinusYYGate(A, B), [ControlModifier(1)]),
            "qaoa": lib.qaoa_ansatz(SparsePauliOp(["ZZI", "IZZ", "XYI"]), reps=1).to_gate(),
        }
        observables = [SparsePauliOp(["XZI", "IYY", "ZII"], [0.5, -1.0, 0.8]), "IXX"]
        weights = torch.tensor([[1.0, -0.4], [0.3, 0.9]], dtype=torch.float64)
        for name, gate in gates.items():
            with self.subTest(gate=name):
                engine = StatevectorEngine(_single(gate, 3))
                base = self.rng.uniform(-2, 2, size=(2, engine.num_parameters))
                values = torch.tensor(base, requires_grad=True)
                (engine.expectation_values(values, observables) * weights).sum().backward()
                step = 1e-5
                numeric = np.zeros_like(base)
                for index in np.ndindex(base.shape):
                    shift = np.zeros_like(base)
                    shift[index] = step
                    plus = engine.expectation_values(base + shift, observables) * weights
                    minus = engine.expectation_values(base - shift, observables) * weights
                    numeric[index] = float((plus - minus).sum()) / (2 * step)
                np.testing.assert_allclose(values.grad.numpy(), numeric, atol=1e-6)


class TestReset(QDeepTestCase):
    """Resets of used qubits collapse at random, like ``Statevector.reset``."""

    @staticmethod
    def _bell_reset():
        circuit = QuantumCircuit(2)
        circuit.ry(A, 0)
        circuit.cx(0, 1)
        circuit.reset(0)
        circuit.h(0)
        return circuit

    @staticmethod
    def _reference(circuit, rows, generator):
        """``Statevector`` evolutions of the bindings in turn, sharing ``generator``."""
        states = []
        for row in rows:
            state = Statevector.from_int(0, 2**circuit.num_qubits)
            state.seed(generator)
            bound = circuit.assign_parameters(list(row)) if len(row) else circuit
            states.append(state.evolve(bound).data)
        return np.array(states)

    def test_deterministic_reset(self):
        """x then reset gives |0> for any draw; a reset of a fresh qubit needs no rng."""
        circuit = QuantumCircuit(2)
        circuit.x(0)
        circuit.reset(0)
        circuit.reset(1)
        engine = StatevectorEngine(circuit)
        self.assertTrue(engine.needs_rng)
        for seed in range(3):
            state = engine.statevector(rng=np.random.default_rng(seed)).numpy()
            np.testing.assert_allclose(state, Statevector(circuit).data, atol=1e-12)
        fresh = QuantumCircuit(2)
        fresh.reset(1)
        fresh.h(1)
        fresh.reset(0)
        engine = StatevectorEngine(fresh)
        self.assertFalse(engine.needs_rng)
        np.testing.assert_allclose(engine.statevector(), Statevector(fresh).data, atol=1e-12)
        generator = np.random.default_rng(0)
        before = generator.bit_generator.state
        engine.statevector(rng=generator)
        self.assertEqual(generator.bit_generator.state, before)  # not consumed

    def test_same_draws_as_statevector(self):
        """With the same generator, every binding collapses as ``Statevector`` does."""
        circuit = QuantumCircuit(3)
        circuit.ry(A, 0)
        circuit.cx(0, 1)
        circuit.h(2)
        circuit.reset(0)
        circuit.rx(B, 0)
        circuit.cx(0, 2)
        circuit.reset(1)
        circuit.reset(1)  # a no-op reset, which still takes a draw in Statevector
        circuit.h(1)
        circuit.initialize([0.6, 0.8], [2])  # Initialize resets a used qubit
        engine = StatevectorEngine(circuit)
        self.assertTrue(engine.needs_rng)
        values = np.random.default_rng(3).uniform(0, np.pi, size=(16, 2))
        ours = engine.statevector(values, rng=np.random.default_rng(7)).numpy()
        reference = self._reference(circuit, values, np.random.default_rng(7))
        np.testing.assert_allclose(ours, reference, atol=1e-12)
        # chunked batches and complex64 take the same draws
        small = StatevectorEngine(circuit, memory_limit=engine.bytes_per_binding() * 3)
        chunked = small.statevector(values, rng=np.random.default_rng(7)).numpy()
        np.testing.assert_allclose(chunked, reference, atol=1e-12)
        single = StatevectorEngine(circuit, dtype=torch.complex64)
        ours32 = single.statevector(values, rng=np.random.default_rng(7)).numpy()
        np.testing.assert_allclose(ours32, reference, atol=1e-5)

    def test_collapse_statistics(self):
        """Outcome frequencies over many seeds and over a batch follow the Born rule."""
        circuit = self._bell_reset()
        engine = StatevectorEngine(circuit)
        theta = 1.1
        p_one = np.sin(theta / 2) ** 2  # probability of measuring qubit 0 in |1>
        seeds = range(300)
        ours = np.array(
            [engine.statevector([theta], rng=np.random.default_rng(s)).numpy() for s in seeds]
        )
        reference = np.array(
            [self._reference(circuit, [[theta]], np.random.default_rng(s))[0] for s in seeds]
        )
        np.testing.assert_allclose(ours, reference, atol=1e-12)
        ones = np.abs(ours[:, 2]) > 0.5  # after the collapse qubit 1 holds the outcome
        sigma = np.sqrt(p_one * (1 - p_one) / len(seeds))
        self.assertLess(abs(ones.mean() - p_one), 4 * sigma)
        # one draw per binding: a batch of identical bindings collapses independently
        batch = 4000
        values = np.full((batch, 1), theta)
        probs = engine.probabilities(values, [1], rng=np.random.default_rng(1)).numpy()
        outcomes = probs[:, 1]
        self.assertTrue(np.all((np.abs(outcomes) < 1e-12) | (np.abs(outcomes - 1) < 1e-12)))
        self.assertLess(abs(outcomes.mean() - p_one), 4 * np.sqrt(p_one * (1 - p_one) / batch))
        evs = engine.expectation_values(values, ["ZI"], rng=np.random.default_rng(1)).numpy()
        np.testing.assert_allclose(evs[:, 0], 1 - 2 * outcomes, atol=1e-12)

    def test_errors(self):
        """Missing rng, gradients, a wrong rng type and a reset after a measurement."""
        engine = StatevectorEngine(self._bell_reset())
        with self.assertRaisesRegex(UnsupportedGateError, "random collapse.*rng="):
            engine.statevector([0.3])
        with self.assertRaisesRegex(UnsupportedGateError, "random collapse.*rng="):
            engine.expectation_values([0.3], ["ZZ"])
        values = torch.tensor([0.3], requires_grad=True, dtype=torch.float64)
        with self.assertRaisesRegex(UnsupportedGateError, "not differentiable"):
            engine.expectation_values(values, ["ZZ"], rng=np.random.default_rng(0))
        with torch.no_grad():
            engine.expectation_values(values, ["ZZ"], rng=np.random.default_rng(0))
        with self.assertRaisesRegex(QDeepTypeError, "numpy.random.Generator"):
            engine.statevector([0.3], rng=5)
        circuit = QuantumCircuit(1, 1)
        circuit.h(0)
        circuit.measure(0, 0)
        circuit.reset(0)
        with self.assertRaisesRegex(UnsupportedGateError, "reset.*measured"):
            StatevectorEngine(circuit)


if __name__ == "__main__":
    unittest.main()
