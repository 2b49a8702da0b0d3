# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Circuit flattener: a circuit becomes a stream of rotations, fixed gates and phases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import ControlFlowOp, ControlledGate, Gate, QuantumCircuit

from ...exceptions import UnsupportedGateError
from .gates import (
    _CX,
    _H,
    _MAX_DENSE_QUBITS,
    _ONE_QUBIT_ROTATIONS,
    _S,
    _SDG,
    _SKIPPED,
    _TWO_QUBIT_ROTATIONS,
    _is_symbolic,
    _monomial,
    _numeric,
    _rotation_matrix,
)


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
            if qargs[0] in self.touched or qargs[0] in self.measured:
                raise UnsupportedGateError(
                    f"'reset' on qubit {qargs[0]} after it was used is not supported by the "
                    "statevector engine (only resets of qubits still in |0>, e.g. from "
                    "Initialize, are allowed)."
                )
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
        if name == "global_phase":
            self.phase_terms.append((params[0], 1.0))
            return
        if symbolic:
            if self._add_symbolic(op, name, params, qargs):
                return
        elif isinstance(op, Gate) and self._add_fixed(op, qargs):
            return
        definition = getattr(op, "definition", None)
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
        if name in _ONE_QUBIT_ROTATIONS and not isinstance(op, ControlledGate):
            self.rotation_gate(name, params, qargs[0], ())
            return True
        if name in _TWO_QUBIT_ROTATIONS:
            self.two_qubit_rotation(name, params[0], qargs[0], qargs[1])
            return True
        if isinstance(op, ControlledGate):
            base = op.base_gate
            num_ctrl = op.num_ctrl_qubits
            controls = tuple((qargs[j], (op.ctrl_state >> j) & 1) for j in range(num_ctrl))
            if name == "cu":
                self.rotation_gate("u", params, qargs[num_ctrl], controls)
                return True
            if base.name in _ONE_QUBIT_ROTATIONS and base.num_qubits == 1:
                base_params = params if len(params) == len(base.params) else list(base.params)
                self.rotation_gate(base.name, base_params, qargs[num_ctrl], controls)
                return True
        return False

    def _add_fixed(self, op, qargs) -> bool:
        if isinstance(op, ControlledGate):
            base = op.base_gate
            num_ctrl = op.num_ctrl_qubits
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
