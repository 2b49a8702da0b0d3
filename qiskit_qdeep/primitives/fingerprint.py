# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Content fingerprints of circuits: the keys of the exact executor's cache.

Two circuits get the same fingerprint exactly when they hold the same instructions (names, gate
types, parameters and their identities, qubit and clbit positions, matrices, operators and
definitions of non-standard gates) and the same global phase. Editing a circuit in place
changes its fingerprint, so a cached compilation can never be reused for an edited circuit.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from qiskit.circuit import ControlledGate, Parameter, ParameterExpression, QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping

__all__ = ["circuit_fingerprint", "parameters_key"]

_STANDARD = {name: type(gate) for name, gate in get_standard_gate_name_mapping().items()}


def parameters_key(parameters) -> tuple:
    """Identity of an ordered parameter list (names and UUIDs)."""
    return tuple((p.name, str(p.uuid)) for p in parameters)


def _param_token(value: Any) -> str:
    if isinstance(value, ParameterExpression):
        if not value.parameters:
            return repr(complex(value.numeric()))
        idents = sorted(f"{p.name}:{p.uuid}" for p in value.parameters)
        return f"expr[{value}|{','.join(idents)}]"
    if isinstance(value, Parameter):  # pragma: no cover - a Parameter is an expression
        return f"param[{value.name}:{value.uuid}]"
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return f"array[{array.dtype}|{array.shape}|{hashlib.blake2b(array.tobytes()).hexdigest()}]"
    if isinstance(value, (int, float, complex, np.number)):
        return repr(complex(value))
    if isinstance(value, QuantumCircuit):
        return "circuit[" + circuit_fingerprint(value) + "]"
    return f"{type(value).__qualname__}[{value!r}]"


def _operation_tokens(op: Any, feed) -> None:
    name = getattr(op, "name", type(op).__name__)
    cls = type(op)
    feed(f"op:{name}:{cls.__module__}.{cls.__qualname__}:{getattr(op, 'num_qubits', 0)}")
    for value in getattr(op, "params", []) or []:
        feed(_param_token(value))
    if isinstance(op, ControlledGate):
        feed(f"ctrl:{op.num_ctrl_qubits}:{op.ctrl_state}")
        _operation_tokens(op.base_gate, feed)
        return
    blocks = getattr(op, "blocks", None)
    if blocks:
        for block in blocks:
            feed("block[" + circuit_fingerprint(block) + "]")
    if _STANDARD.get(name) is cls:
        return  # a standard gate is fixed by its name and parameters
    operator = getattr(op, "operator", None)
    if operator is not None:  # PauliEvolutionGate and the like
        operators = operator if isinstance(operator, (list, tuple)) else [operator]
        for item in operators:
            feed(f"operator[{item!r}]")
        synthesis = getattr(op, "synthesis", None)
        if synthesis is not None:
            feed(f"synthesis[{type(synthesis).__qualname__}|{vars(synthesis)!r}]")
    if blocks:
        return
    try:
        definition = op.definition
    except Exception:  # pylint: disable=broad-except
        definition = None
    if definition is not None:
        feed("def[" + circuit_fingerprint(definition) + "]")


def circuit_fingerprint(circuit: QuantumCircuit) -> str:
    """A content hash of ``circuit`` (hex string).

    Covers every instruction (operation type and name, parameters with the identity of their
    :class:`~qiskit.circuit.Parameter` objects, qubit and clbit positions, controls, matrices,
    evolution operators and the definitions of non-standard gates) and the global phase.
    """
    digest = hashlib.blake2b(digest_size=20)

    def feed(token: str) -> None:
        digest.update(token.encode())
        digest.update(b"\x00")

    feed(f"circuit:{circuit.num_qubits}:{circuit.num_clbits}")
    feed(_param_token(circuit.global_phase))
    qindex = {bit: i for i, bit in enumerate(circuit.qubits)}
    cindex = {bit: i for i, bit in enumerate(circuit.clbits)}
    for instruction in circuit.data:
        _operation_tokens(instruction.operation, feed)
        feed("q" + ",".join(str(qindex[q]) for q in instruction.qubits))
        feed("c" + ",".join(str(cindex[c]) for c in instruction.clbits))
    return digest.hexdigest()
