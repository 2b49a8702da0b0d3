# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Circuit flattener: a circuit becomes a stream of rotations, fixed gates and phases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import (
    AnnotatedOperation,
    ControlFlowOp,
    ControlledGate,
    ControlModifier,
    Gate,
    InverseModifier,
    PowerModifier,
    QuantumCircuit,
)
from qiskit.circuit.library import (
    CUGate,
    GlobalPhaseGate,
    HamiltonianGate,
    PauliEvolutionGate,
    PhaseGate,
    RGate,
    RXGate,
    RXXGate,
    RYGate,
    RYYGate,
    RZGate,
    RZXGate,
    RZZGate,
    U1Gate,
    U2Gate,
    U3Gate,
    UGate,
)
from qiskit.quantum_info import SparseObservable, SparsePauliOp

from ...exceptions import UnsupportedGateError
from .gates import (
    _CX,
    _H,
    _MAX_DENSE_QUBITS,
    _S,
    _SDG,
    _SKIPPED,
    _is_symbolic,
    _monomial,
    _numeric,
    _rotation_matrix,
)

# The gate classes the rotation rules are exact for (a gate is matched by class, not only by
# name: a user gate called "rx" must not be taken for an RX rotation).
_ROTATION_CLASSES = {
    "rx": RXGate,
    "ry": RYGate,
    "rz": RZGate,
    "p": PhaseGate,
    "u1": U1Gate,
    "u": UGate,
    "u3": U3Gate,
    "u2": U2Gate,
    "r": RGate,
}
_TWO_QUBIT_CLASSES = {"rxx": RXXGate, "ryy": RYYGate, "rzz": RZZGate, "rzx": RZXGate}

#: Largest non-commuting generator (in qubits) of a symbolic-time evolution that is diagonalised.
_MAX_EIGH_QUBITS = 8
#: Largest integer power of a symbolic annotated operation that is expanded by repetition.
_MAX_REPEAT = 64
# Basis changes B with B P B^dagger = Z (apply B first): X -> H, Y -> H Sdg.
_TO_Z = {"X": _H, "Y": _H @ _SDG}


def _is_rotation(op, name) -> bool:
    cls = _ROTATION_CLASSES.get(name)
    return cls is not None and isinstance(op, cls)


def _same_params(first, second) -> bool:
    """Whether two parameter lists are equal (entries may be arrays or expressions)."""
    if len(first) != len(second):
        return False
    for a, b in zip(first, second, strict=True):
        if a is b:
            continue
        try:
            if not bool(np.all(a == b)):
                return False
        except Exception:  # pylint: disable=broad-except
            return False
    return True


def _walsh(values: np.ndarray) -> np.ndarray:
    """Coefficients ``c`` with ``values[x] = sum_S c[S] (-1)**popcount(x & S)``."""
    coeffs = np.array(values, dtype=float)
    size = len(coeffs)
    step = 1
    while step < size:
        view = coeffs.reshape(-1, 2, step)
        low, high = view[:, 0].copy(), view[:, 1].copy()
        view[:, 0], view[:, 1] = low + high, low - high
        step *= 2
    return coeffs / size


def _evolution_generator(op) -> SparsePauliOp | np.ndarray:
    """The Hamiltonian ``H`` of ``exp(-i t H)``: a Pauli sum, or the matrix of a HamiltonianGate."""
    if isinstance(op, HamiltonianGate):
        return np.asarray(op.params[0], dtype=complex)
    operators = op.operator if isinstance(op.operator, list) else [op.operator]
    terms = [
        SparsePauliOp.from_sparse_observable(item) if isinstance(item, SparseObservable) else item
        for item in operators
    ]
    # a list of operators is the sum of its elements (PauliEvolutionGate.to_matrix)
    total = terms[0] if len(terms) == 1 else SparsePauliOp.sum(terms)
    return total.simplify(atol=1e-14, rtol=0.0)


def _commuting(paulis) -> bool:
    """Whether all Paulis of a ``PauliList`` commute pairwise (symplectic products)."""
    x = paulis.x.astype(np.int64)
    z = paulis.z.astype(np.int64)
    return not np.any((x @ z.T + z @ x.T) % 2)


class _Flattener:
    """Expands a circuit into rotations, fixed gates and a global phase."""

    def __init__(self, num_qubits: int):
        self.num_qubits = num_qubits
        self.items: list[tuple] = []
        self.phase_terms: list[Any] = []
        self.touched: set[int] = set()
        self.measured: set[int] = set()
        self.clbit_map: dict[int, int] = {}
        self.current = ""
        self._depth = 0
        #: Number of resets seen (no-op ones included); each has one uniform draw per binding.
        self.num_resets = 0

    # ----- emission helpers
    def _touch(self, qubits):
        for qubit in qubits:
            if qubit in self.measured:
                raise UnsupportedGateError(
                    f"'{self.current}' acts on qubit {qubit} after it was measured: mid-circuit "
                    "measurements are not supported by the statevector engine (measurements "
                    "must be final)."
                )
            self.touched.add(qubit)

    def rot(self, axis, target, theta, controls=(), scale=1.0):
        """Emit ``R_axis(scale * theta)`` on ``target`` (optionally controlled).

        Symbolic angles keep the numeric ``scale`` (and the 1/2 of the half angle) apart from the
        expression: building ``theta / 2`` as a :class:`~qiskit.circuit.ParameterExpression` costs
        about a millisecond per rotation, which dominated the compile time of large templates.
        """
        self._touch([target, *(q for q, _ in controls)])
        if _is_symbolic(theta):
            self.items.append(("rot", axis, target, tuple(controls), (theta, 0.5 * scale)))
        else:
            self.items.append(
                (
                    "fixed",
                    _rotation_matrix(axis, scale * _numeric(theta)),
                    (target,),
                    tuple(controls),
                )
            )

    def fixed(self, matrix, qubits, controls=()):
        """Emit a constant matrix on ``qubits`` (little-endian)."""
        self._touch([*qubits, *(q for q, _ in controls)])
        self.items.append(
            ("fixed", np.array(matrix, dtype=complex), tuple(qubits), tuple(controls))
        )

    def phase(self, alpha, controls=(), scale=1.0):
        """Multiply the subspace where all ``controls`` match by ``exp(i scale alpha)``."""
        if not controls:
            self.phase_terms.append((alpha, scale))
            return
        (qubit, value), rest = controls[0], tuple(controls[1:])
        # diag phase on `qubit`: exp(i alpha) on |value>, i.e. exp(i alpha/2) RZ(+-alpha)
        self.rot("z", qubit, alpha, rest, scale if value else -scale)
        self.phase(alpha, rest, 0.5 * scale)

    # ----- parameterized gate rules
    def rotation_gate(self, name, params, target, controls):
        """Rewrite a (controlled) one-qubit parameterized gate as rotations + phase."""
        if name in ("rx", "ry", "rz"):
            self.rot(name[1], target, params[0], controls)
        elif name in ("p", "u1"):
            self.rot("z", target, params[0], controls)
            self.phase(params[0], controls, 0.5)
        elif name in ("u", "u3", "u2"):
            if name == "u2":
                theta, phi, lam = np.pi / 2, params[0], params[1]
            else:
                theta, phi, lam = params[:3]
            gamma = params[3] if len(params) > 3 else 0.0
            self.rot("z", target, lam, controls)
            self.rot("y", target, theta, controls)
            self.rot("z", target, phi, controls)
            self.phase(gamma, controls)
            self.phase(phi, controls, 0.5)
            self.phase(lam, controls, 0.5)
        elif name == "r":
            theta, phi = params
            self.rot("z", target, phi, controls, -1.0)
            self.rot("x", target, theta, controls)
            self.rot("z", target, phi, controls)
        else:  # pragma: no cover - guarded by the caller
            raise UnsupportedGateError(f"Unsupported rotation '{name}'.")

    def two_qubit_rotation(self, name, theta, qa, qb):
        """Rewrite ``rxx``/``ryy``/``rzz``/``rzx`` as CX conjugations of single rotations."""
        if name == "rzz":
            self.fixed(_CX, (qa, qb))
            self.rot("z", qb, theta)
            self.fixed(_CX, (qa, qb))
        elif name == "rxx":
            self.fixed(_CX, (qa, qb))
            self.rot("x", qa, theta)
            self.fixed(_CX, (qa, qb))
        elif name == "ryy":
            self.fixed(_SDG, (qa,))
            self.fixed(_SDG, (qb,))
            self.two_qubit_rotation("rxx", theta, qa, qb)
            self.fixed(_S, (qa,))
            self.fixed(_S, (qb,))
        else:  # rzx: Z on qa, X on qb
            self.fixed(_H, (qb,))
            self.two_qubit_rotation("rzz", theta, qa, qb)
            self.fixed(_H, (qb,))

    # ----- the walk
    def add_circuit(self, circuit: QuantumCircuit, qmap: Sequence[int], cmap: Sequence[int]):
        """Append the instructions of ``circuit`` (its qubit ``i`` is ``qmap[i]``)."""
        self.phase_terms.append((circuit.global_phase, 1.0))
        qindex = {bit: i for i, bit in enumerate(circuit.qubits)}
        cindex = {bit: i for i, bit in enumerate(circuit.clbits)}
        for instruction in circuit.data:
            qargs = tuple(qmap[qindex[q]] for q in instruction.qubits)
            cargs = tuple(cmap[cindex[c]] for c in instruction.clbits)
            self.add_operation(instruction.operation, qargs, cargs)

    def add_operation(self, op, qargs, cargs):  # pylint: disable=too-many-branches
        """Append one operation acting on (global) ``qargs``/``cargs``."""
        name = op.name
        if name in _SKIPPED:
            return
        if self._depth == 0:
            self.current = name
        if name == "measure":
            self.measured.add(qargs[0])
            self.clbit_map[cargs[0]] = qargs[0]
            return
        if name == "reset":
            qubit = qargs[0]
            if qubit in self.measured:
                raise UnsupportedGateError(
                    f"'reset' on qubit {qubit} after it was measured: mid-circuit measurements "
                    "are not supported by the statevector engine (measurements must be final)."
                )
            draw = self.num_resets
            self.num_resets += 1
            if qubit in self.touched:
                # a random collapse; afterwards the qubit is |0>, unentangled, as if fresh
                self.items.append(("reset", qubit, draw))
                self.touched.discard(qubit)
            # a reset of a qubit still in |0> is the identity
            return
        if name == "box" and isinstance(op, ControlFlowOp):
            body = op.blocks[0]
            self.add_circuit(body, qargs, cargs)
            return
        if isinstance(op, ControlFlowOp) or name in ("store",):
            raise UnsupportedGateError(
                f"Classical control flow ('{name}') is not supported by the statevector engine."
            )
        if getattr(op, "_condition", None) is not None:  # pragma: no cover - qiskit < 2
            raise UnsupportedGateError(
                f"Classically conditioned '{name}' is not supported by the statevector engine."
            )
        params = list(getattr(op, "params", []))
        symbolic = any(_is_symbolic(p) for p in params)
        if isinstance(op, GlobalPhaseGate):
            self.phase_terms.append((params[0], 1.0))
            return
        if isinstance(op, AnnotatedOperation):
            self._add_annotated(op, symbolic, qargs, cargs)
            return
        if isinstance(op, (PauliEvolutionGate, HamiltonianGate)) and (
            symbolic or op.num_qubits > _MAX_DENSE_QUBITS
        ):
            # the definition of a PauliEvolutionGate is its synthesis (by default a Lie-Trotter
            # product formula): approximate for non-commuting terms, so never expanded
            self._add_evolution(op, name, qargs)
            return
        if symbolic:
            if self._add_symbolic(op, name, params, qargs):
                return
        elif isinstance(op, Gate) and self._add_fixed(op, qargs):
            return
        try:
            definition = getattr(op, "definition", None)
        except Exception as exc:  # pylint: disable=broad-except
            raise UnsupportedGateError(
                f"Gate '{name}' is not supported by the statevector engine: its definition "
                f"cannot be built ({type(exc).__name__}: {exc})."
            ) from exc
        if definition is None:
            raise UnsupportedGateError(
                f"Gate '{name}' is not supported by the statevector engine: it has no matrix and "
                "no definition to expand."
            )
        self._depth += 1
        try:
            self.add_circuit(definition, qargs, cargs)
        finally:
            self._depth -= 1

    def _add_symbolic(self, op, name, params, qargs) -> bool:
        if _is_rotation(op, name) and not isinstance(op, ControlledGate):
            self.rotation_gate(name, params, qargs[0], ())
            return True
        if isinstance(op, _TWO_QUBIT_CLASSES.get(name, ())):
            self.two_qubit_rotation(name, params[0], qargs[0], qargs[1])
            return True
        if isinstance(op, ControlledGate):
            base = op.base_gate
            num_ctrl = op.num_ctrl_qubits
            if op.num_qubits != num_ctrl + 1:  # e.g. MCMTGate: the base acts on several targets
                return False
            controls = tuple((qargs[j], (op.ctrl_state >> j) & 1) for j in range(num_ctrl))
            if isinstance(op, CUGate):  # the base UGate lacks the phase gamma
                self.rotation_gate("u", params, qargs[num_ctrl], controls)
                return True
            if _is_rotation(base, base.name) and len(params) == len(base.params):
                self.rotation_gate(base.name, list(base.params), qargs[num_ctrl], controls)
                return True
        return False

    def _add_fixed(self, op, qargs) -> bool:
        if isinstance(op, ControlledGate):
            base = op.base_gate
            num_ctrl = op.num_ctrl_qubits
            consistent = op.num_qubits == num_ctrl + base.num_qubits
            if not consistent or not _same_params(op.params, base.params):
                # the base gate alone does not describe the gate (MCMTGate's several targets,
                # CUGate's phase gamma): take the controlled block of the full matrix instead
                return self._add_controlled_block(op, qargs)
            if base.num_qubits <= _MAX_DENSE_QUBITS:
                try:
                    base_matrix = base.to_matrix()
                except Exception:  # pylint: disable=broad-except
                    base_matrix = None
                if base_matrix is not None and (
                    base.num_qubits == 1 or _monomial(base_matrix) is not None
                ):
                    controls = tuple((qargs[j], (op.ctrl_state >> j) & 1) for j in range(num_ctrl))
                    self.fixed(base_matrix, qargs[num_ctrl:], controls)
                    return True
        if op.num_qubits > _MAX_DENSE_QUBITS:
            return False
        try:
            matrix = op.to_matrix()
        except Exception:  # pylint: disable=broad-except
            return False
        self.fixed(matrix, qargs)
        return True

    def _add_controlled_block(self, op, qargs) -> bool:
        """Emit a controlled gate from its full matrix, as a controlled block when possible."""
        if op.num_qubits > _MAX_DENSE_QUBITS:
            return False
        try:
            full = np.asarray(op.to_matrix(), dtype=complex)
        except Exception:  # pylint: disable=broad-except
            return False
        num_ctrl = op.num_ctrl_qubits
        width = 1 << num_ctrl
        dim = full.shape[0] // width
        # little-endian: index = control bits + (target index << num_ctrl)
        view = full.reshape(dim, width, dim, width)
        block = view[:, op.ctrl_state, :, op.ctrl_state].copy()
        expected = np.einsum("ij,kl->ikjl", np.eye(dim), np.eye(width)).astype(complex)
        expected[:, op.ctrl_state, :, op.ctrl_state] = block
        if np.allclose(view, expected, rtol=0.0, atol=1e-12) and (
            dim == 2 or _monomial(block) is not None
        ):
            controls = tuple((qargs[j], (op.ctrl_state >> j) & 1) for j in range(num_ctrl))
            self.fixed(block, qargs[num_ctrl:], controls)
        else:
            self.fixed(full, qargs)
        return True

    # ----- annotated operations
    def _add_annotated(self, op, symbolic, qargs, cargs):
        """Expand an :class:`~qiskit.circuit.AnnotatedOperation` (inverse/control/power)."""
        name = f"{op.base_op.name}' with modifiers {list(op.modifiers)}"
        if not symbolic and op.num_qubits <= _MAX_DENSE_QUBITS:
            try:
                matrix = op.to_matrix()
            except Exception:  # pylint: disable=broad-except
                matrix = None
            if matrix is not None:
                self.fixed(matrix, qargs)
                return
        gate = op.base_op
        try:
            for modifier in op.modifiers:
                if isinstance(modifier, InverseModifier):
                    gate = gate.inverse()
                elif isinstance(modifier, ControlModifier):
                    gate = gate.control(
                        modifier.num_ctrl_qubits, ctrl_state=modifier.ctrl_state, annotated=False
                    )
                elif isinstance(modifier, PowerModifier):
                    gate = self._integer_power(gate, modifier.power)
                else:  # pragma: no cover - future modifiers
                    raise UnsupportedGateError(f"unknown modifier {modifier!r}")
        except UnsupportedGateError as exc:
            raise UnsupportedGateError(
                f"Annotated operation '{name} is not supported by the statevector engine: "
                f"{exc.message}."
            ) from exc
        except Exception as exc:  # pylint: disable=broad-except
            raise UnsupportedGateError(
                f"Annotated operation '{name} is not supported by the statevector engine: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._depth += 1
        try:
            self.add_operation(gate, qargs, cargs)
        finally:
            self._depth -= 1

    @staticmethod
    def _integer_power(gate, power):
        """``gate ** power`` by repetition (exact); fractional powers of symbolic gates refused."""
        exponent = float(power)
        if exponent != round(exponent) or abs(exponent) > _MAX_REPEAT:
            raise UnsupportedGateError(
                f"the power {power} of a gate with unbound parameters has no exact expansion "
                f"(only integer powers up to {_MAX_REPEAT} are expanded)"
            )
        count = int(round(exponent))
        factor = gate if count >= 0 else gate.inverse()
        body = QuantumCircuit(gate.num_qubits, gate.num_clbits)
        for _ in range(abs(count)):
            body.append(factor, body.qubits, body.clbits)
        return body.to_instruction(label=f"{gate.name}^{count}")

    # ----- time evolutions
    def _add_evolution(self, op, name, qargs):
        """Emit ``exp(-i t H)`` of a PauliEvolutionGate / HamiltonianGate exactly.

        Commuting Pauli terms become a product of Pauli rotations ``exp(-i t c P)`` (basis
        change, CX ladder, ``RZ(2 c t)``). A non-commuting generator is diagonalised once,
        ``H = V diag(lambda) V^dagger``, and ``exp(-i t diag(lambda))`` is written as the
        product of the commuting ``exp(-i t c_S Z_S)`` of its Walsh expansion; ``V`` and
        ``V^dagger`` are fixed gates. Every angle is the (symbolic) time times a constant, so
        gradients need nothing new.
        """
        time = op.params[-1]
        generator = _evolution_generator(op)
        if isinstance(generator, SparsePauliOp):
            coeffs = np.asarray(generator.coeffs, dtype=complex)
            if np.any(np.abs(coeffs.imag) > 1e-12):
                raise UnsupportedGateError(
                    f"Gate '{name}' is not supported by the statevector engine: its operator has "
                    "complex coefficients (not Hermitian)."
                )
            if _commuting(generator.paulis):
                for pauli, coeff in zip(generator.paulis, coeffs.real):
                    self.pauli_exp(pauli, qargs, time, float(coeff))
                return
        k = op.num_qubits
        if k > _MAX_EIGH_QUBITS:
            raise UnsupportedGateError(
                f"Gate '{name}' on {k} qubits is not supported by the statevector engine: its "
                "generator has non-commuting terms and an unbound (or too large to exponentiate) "
                f"time; exact expansion by diagonalisation is limited to {_MAX_EIGH_QUBITS} "
                "qubits (its definition is an approximate product formula, never used). Bind "
                "the time, or split the operator into commuting groups."
            )
        matrix = generator.to_matrix() if isinstance(generator, SparsePauliOp) else generator
        if not np.allclose(matrix, matrix.conj().T, rtol=0.0, atol=1e-12):
            raise UnsupportedGateError(
                f"Gate '{name}' is not supported by the statevector engine: its generator is "
                "not Hermitian."
            )
        eigenvalues, vectors = np.linalg.eigh(matrix)
        self.fixed(vectors.conj().T, qargs)
        self.diagonal_exp(eigenvalues, qargs, time)
        self.fixed(vectors, qargs)

    def _parity_ladder(self, qubits, undo=False):
        """CX ladder that computes the parity of ``qubits`` on ``qubits[-1]`` (or undoes it)."""
        pairs = list(zip(qubits[:-1], qubits[1:]))
        for pair in reversed(pairs) if undo else pairs:
            self.fixed(_CX, pair)

    def pauli_exp(self, pauli, qargs, time, coeff):
        """Emit ``exp(-i coeff time P)`` for a phase-free ``Pauli`` on ``qargs``."""
        support = [j for j in range(len(qargs)) if pauli.x[j] or pauli.z[j]]
        if not support:
            self.phase(time, (), -coeff)
            return
        labels = {j: "YX"[not pauli.z[j]] if pauli.x[j] else "Z" for j in support}
        qubits = [qargs[j] for j in support]
        for j in support:
            if labels[j] != "Z":
                self.fixed(_TO_Z[labels[j]], (qargs[j],))
        self._parity_ladder(qubits)
        self.rot("z", qubits[-1], time, (), 2.0 * coeff)
        self._parity_ladder(qubits, undo=True)
        for j in support:
            if labels[j] != "Z":
                self.fixed(_TO_Z[labels[j]].conj().T, (qargs[j],))

    def diagonal_exp(self, eigenvalues, qargs, time):
        """Emit ``exp(-i time diag(eigenvalues))`` on ``qargs`` (little-endian) exactly."""
        coeffs = _walsh(eigenvalues)
        tol = 1e-14 * max(1.0, float(np.max(np.abs(eigenvalues))))
        self.phase(time, (), -float(coeffs[0]))
        for subset in range(1, len(coeffs)):
            if abs(coeffs[subset]) <= tol:
                continue
            qubits = [qargs[j] for j in range(len(qargs)) if (subset >> j) & 1]
            self._parity_ladder(qubits)
            self.rot("z", qubits[-1], time, (), 2.0 * float(coeffs[subset]))
            self._parity_ladder(qubits, undo=True)
