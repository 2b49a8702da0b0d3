# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Fusion of the flattened stream into the ops of a program."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from qiskit.circuit import Parameter, QuantumCircuit

from ...exceptions import UnsupportedGateError
from .._expressions import ParameterMap
from .compiler import _Flattener
from .gates import (
    _ATOL,
    _I2,
    _PAULI,
    _DenseOp,
    _is_symbolic,
    _monomial,
    _numeric,
    _Op,
    _PermPhaseOp,
    _ResetOp,
    _scalar,
    _SingleQubitOp,
    _tensor,
)
from .program import CompiledProgram, _Program


class _Group:
    """A pending run of single-qubit items on one target with fixed controls."""

    __slots__ = ("target", "controls", "items", "qubits")

    def __init__(self, target, controls):
        self.target = target
        self.controls = controls
        self.items: list[tuple[str, Any]] = []  # ("rot", index) / ("const", matrix)
        self.qubits = frozenset([target, *(q for q, _ in controls)])

    def append_const(self, matrix):
        if self.items and self.items[-1][0] == "const":
            self.items[-1] = ("const", matrix @ self.items[-1][1])
        else:
            self.items.append(("const", matrix))


def _perm_phase(num_qubits, matrix, qubits, controls):
    """Full-space ``(perm, phase)`` of a monomial ``matrix`` on ``qubits`` with ``controls``."""
    cols = _monomial(matrix)
    index = np.arange(1 << num_qubits)
    active = np.ones(index.shape, dtype=bool)
    for qubit, value in controls:
        active &= ((index >> qubit) & 1) == value
    sub = np.zeros_like(index)
    for j, qubit in enumerate(qubits):
        sub |= ((index >> qubit) & 1) << j
    col = cols[sub]
    src = index.copy()
    for j, qubit in enumerate(qubits):
        src &= ~(1 << qubit)
        src |= ((col >> j) & 1) << qubit
    phase = matrix[sub, col]
    perm = np.where(active, src, index)
    phase = np.where(active, phase, 1.0 + 0j)
    return perm, phase


class _Fuser:
    """Turns the flattened stream into fused ops (see the module docstring)."""

    def __init__(self, num_qubits):
        self.num_qubits = num_qubits
        self.ops: list[_Op] = []
        self.touch: dict[int, _Group] = {}
        self.pending: list[_Group] = []
        self.rot_exprs: list[Any] = []
        self.rot_scales: list[float] = []  # half angle = scale * expression
        self.rot_axes: list[str] = []
        self.slots: list[list[tuple[str, Any]]] = []
        self.slot_diagonal: list[bool] = []

    def _flush(self, group: _Group):
        for qubit in group.qubits:
            if self.touch.get(qubit) is group:
                del self.touch[qubit]
        self.pending.remove(group)
        if not any(kind == "rot" for kind, _ in group.items):
            matrix = _I2
            for _, item in group.items:
                matrix = item @ matrix
            if _monomial(matrix) is not None:
                perm, phase = _perm_phase(self.num_qubits, matrix, (group.target,), group.controls)
                self._emit_perm(perm, phase, group.qubits)
            else:
                self.ops.append(
                    _SingleQubitOp(self.num_qubits, group.target, group.controls, matrix=matrix)
                )
            return
        diagonal = all(
            (kind == "rot" and self.rot_axes[item] == "z")
            or (kind == "const" and abs(item[0, 1]) < _ATOL and abs(item[1, 0]) < _ATOL)
            for kind, item in group.items
        )
        slot = len(self.slots)
        self.slots.append(group.items)
        self.slot_diagonal.append(diagonal)
        self.ops.append(
            _SingleQubitOp(
                self.num_qubits, group.target, group.controls, slot=slot, diagonal=diagonal
            )
        )

    def _flush_qubits(self, qubits):
        groups = []
        for qubit in qubits:
            group = self.touch.get(qubit)
            if group is not None and group not in groups:
                groups.append(group)
        for group in sorted(groups, key=self.pending.index):
            self._flush(group)

    def _group_for(self, target, controls):
        group = self.touch.get(target)
        if group is not None and group.target == target and group.controls == controls:
            return group
        qubits = [target, *(q for q, _ in controls)]
        self._flush_qubits(qubits)
        group = _Group(target, controls)
        self.pending.append(group)
        for qubit in group.qubits:
            self.touch[qubit] = group
        return group

    def _emit_perm(self, perm, phase, support):
        while True:
            between: set[int] = set()
            found = None
            for k in range(len(self.ops) - 1, -1, -1):
                op = self.ops[k]
                if op.kind == "perm":
                    if not op.support & between:
                        found = k
                    break
                between |= op.support
            if found is None:
                break
            old = self.ops.pop(found)
            # old first, then new
            phase = phase * old.phase[perm]
            perm = old.perm[perm]
            support = support | old.support
        if np.array_equal(perm, np.arange(len(perm))) and np.allclose(phase, 1.0, rtol=0, atol=0):
            return
        self.ops.append(_PermPhaseOp(perm, phase, frozenset(support)))

    def add(self, item):
        """Add one flattened item."""
        if item[0] == "rot":
            _, axis, target, controls, (expr, scale) = item
            group = self._group_for(target, controls)
            group.items.append(("rot", len(self.rot_exprs)))
            self.rot_exprs.append(expr)
            self.rot_scales.append(scale)
            self.rot_axes.append(axis)
            return
        if item[0] == "reset":  # a random collapse: a barrier on its qubit
            _, qubit, draw = item
            self._flush_qubits([qubit])
            self.ops.append(_ResetOp(self.num_qubits, qubit, draw))
            return
        _, matrix, qubits, controls = item
        if len(qubits) == 1:
            self._group_for(qubits[0], controls).append_const(matrix)
            return
        support = frozenset([*qubits, *(q for q, _ in controls)])
        self._flush_qubits(sorted(support))
        if _monomial(matrix) is not None:
            perm, phase = _perm_phase(self.num_qubits, matrix, qubits, controls)
            self._emit_perm(perm, phase, support)
        else:
            if controls:  # pragma: no cover - controlled dense gates are expanded by _Flattener
                raise UnsupportedGateError("Controlled multi-qubit dense gates are not supported.")
            self.ops.append(_DenseOp(self.num_qubits, tuple(qubits), matrix))

    def finish(self):
        """Flush everything still pending."""
        for group in list(self.pending):
            self._flush(group)


def compile_circuit(
    circuit: QuantumCircuit,
    parameters: Sequence[Parameter],
    dtype: torch.dtype,
    device: torch.device,
) -> CompiledProgram:
    """Flatten, fuse and finalise ``circuit`` into a :class:`~.program.CompiledProgram`.

    Raises:
        UnsupportedGateError: If an instruction cannot be simulated (the message names it).
        QDeepValueError: If an expression uses a parameter outside ``parameters``.
    """
    flat = flatten_circuit(circuit)
    return compile_items(
        circuit.num_qubits,
        flat.items,
        parameters,
        dtype,
        device,
        phase_terms=flat.phase_terms,
        clbit_map=flat.clbit_map,
        num_resets=flat.num_resets,
    )


def flatten_circuit(circuit: QuantumCircuit) -> _Flattener:
    """The flattened item stream of ``circuit`` (rotations, fixed gates, resets, phases).

    Raises:
        UnsupportedGateError: If an instruction cannot be simulated (the message names it).
    """
    n = circuit.num_qubits
    flat = _Flattener(n)
    flat.add_circuit(circuit, list(range(n)), list(range(circuit.num_clbits)))
    return flat


def compile_items(
    n: int,
    items: Sequence[tuple],
    parameters: Sequence[Parameter],
    dtype: torch.dtype,
    device: torch.device,
    *,
    phase_terms: Sequence[tuple] = (),
    clbit_map: dict | None = None,
    num_resets: int = 0,
) -> CompiledProgram:
    """Fuse and finalise a flattened item stream (see :func:`flatten_circuit`).

    Raises:
        QDeepValueError: If an expression uses a parameter outside ``parameters``.
    """
    fuser = _Fuser(n)
    for item in items:
        fuser.add(item)
    fuser.finish()
    for op in fuser.ops:
        if hasattr(op, "finalize"):
            op.finalize(device, dtype)

    # global phase: constant part folded into the initial state, symbolic terms via the map
    constant_phase = 0.0
    phase_exprs, phase_scales = [], []
    for term, scale in phase_terms:
        if _is_symbolic(term):
            phase_exprs.append(term)
            phase_scales.append(scale)
        else:
            constant_phase += scale * _numeric(term)
    expressions = list(fuser.rot_exprs) + phase_exprs
    scales = list(fuser.rot_scales) + phase_scales
    num_rot = len(fuser.rot_exprs)
    pmap = ParameterMap(expressions, parameters, scales=scales) if expressions else None

    # rotation generators: R(2h) = cos(h) I + sin(h) G, G = -i sigma
    gens = np.array([-1j * _PAULI[a] for a in fuser.rot_axes], dtype=complex).reshape(-1, 2, 2, 1)

    # pool = [rotations | constants]; constant 0 is the identity (padding)
    consts = [_I2]
    gather = []
    width = 1
    for items in fuser.slots:
        row = []
        for kind, item in items:
            if kind == "rot":
                row.append(item)
            else:
                row.append(num_rot + len(consts))
                consts.append(item)
        gather.append(row)
        width = max(width, len(row))
    width = 1 << (width - 1).bit_length()
    pad = num_rot  # identity
    gather = np.array([row + [pad] * (width - len(row)) for row in gather], dtype=np.int64)
    gather = gather.reshape(-1, width).T.reshape(-1)  # (K, slots) order
    # flat (K, slots) position of every rotation occurrence
    rot_pos = np.zeros(num_rot, dtype=np.int64)
    for position, entry in enumerate(gather.tolist()):
        if entry < num_rot:
            rot_pos[entry] = position
    program = _Program(
        n,
        fuser.ops,
        len(fuser.slots),
        _scalar(np.exp(1j * constant_phase), dtype),
        device,
        dtype,
    )
    return CompiledProgram(
        num_qubits=n,
        program=program,
        pmap=pmap,
        num_rot=num_rot,
        has_symbolic_phase=bool(phase_exprs),
        rot_gen=_tensor(gens, dtype, device),
        rot_gen_conj=_tensor(gens.conj(), dtype, device),
        eye=_tensor(_I2.reshape(2, 2, 1), dtype, device),
        const_pool=_tensor(np.array(consts).reshape(-1, 2, 2, 1), dtype=dtype, device=device),
        gather=torch.as_tensor(gather, dtype=torch.long, device=device),
        gather_width=width,
        rot_pos=torch.as_tensor(rot_pos, dtype=torch.long, device=device),
        clbit_map=dict(clbit_map or {}),
        # amplitudes (states x 2**n x batch) the backward pass may keep instead of un-computing
        store_limit=(1 << 24) if dtype == torch.complex128 else (1 << 25),
        expressions=tuple(expressions),
        num_draws=num_resets if program.has_reset else 0,
    )
