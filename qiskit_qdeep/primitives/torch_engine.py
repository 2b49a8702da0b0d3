# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Exact, batched, differentiable statevector simulation in torch.

:class:`StatevectorEngine` compiles a (parameterized) :class:`~qiskit.circuit.QuantumCircuit` once
into a short program of vectorised torch operations and then replays it on a whole batch of
parameter values. Gradients with respect to the parameter values come from torch autograd, so the
engine can sit inside any :class:`torch.nn.Module`.

This is an **exact classical simulation**: memory and time grow as ``2**num_qubits`` per batch
element. It is meant for simulation-only training of small circuits, not for hardware runs.

How the circuit is compiled
===========================

* Composite instructions are expanded through their ``definition``; every parameterized gate is
  rewritten as controlled or uncontrolled ``RX``/``RY``/``RZ`` rotations, fixed gates and a global
  phase. All rotation angles (and the global phase) are evaluated in one vectorised call of
  :class:`~qiskit_qdeep.primitives._expressions.ParameterMap`.
* Runs of single-qubit gates on the same qubit (with the same controls) are fused into one
  ``2 x 2`` matrix per batch element; fixed gates that only permute amplitudes and multiply them
  by phases (``x``, ``cx``, ``swap``, ``ccx``, ``cz``, ``s``, ...) become one index gather plus
  one phase multiplication, and neighbouring ones are merged into a single gather.
* The state is stored batch-last, shape ``(2**n, batch)``, so that every single-qubit update is a
  couple of broadcast element-wise kernels.
* Reverse mode is a hand-written *adjoint method* inside one :class:`torch.autograd.Function`
  (so autograd records a handful of nodes, not one per gate): the backward pass walks the
  program backwards from the stored intermediate states, or un-computes them gate by gate when
  they would not fit in a memory budget, and turns the per-gate outer products into
  gradients of the rotation angles. Expectation values are folded into the same function.
  Higher-order derivatives are not supported (``once_differentiable``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from qiskit.circuit import (
    ControlFlowOp,
    ControlledGate,
    Gate,
    Parameter,
    ParameterExpression,
    QuantumCircuit,
)
from qiskit.quantum_info import Operator, Pauli, SparseObservable, SparsePauliOp
from torch.autograd.function import once_differentiable

from ..exceptions import QDeepTypeError, QDeepValueError, QubitLimitError, UnsupportedGateError
from ._expressions import ParameterMap

__all__ = ["StatevectorEngine"]

_SKIPPED = frozenset({"barrier", "delay", "id", "i"})
# Largest gate (in qubits) whose dense matrix is built with ``to_matrix``.
_MAX_DENSE_QUBITS = 10
# Largest Pauli lookup table (entries) built in one block for expectation values.
_MAX_PAULI_TABLE = 1 << 22
_ATOL = 1e-12

_I2 = np.eye(2, dtype=complex)
_PAULI = {
    "x": np.array([[0, 1], [1, 0]], dtype=complex),
    "y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "z": np.array([[1, 0], [0, -1]], dtype=complex),
}
_H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
_S = np.diag([1, 1j]).astype(complex)
_SDG = np.diag([1, -1j]).astype(complex)
# CX with control = first qubit argument, target = second (little-endian 4x4).
_CX = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=complex)

_ONE_QUBIT_ROTATIONS = frozenset({"rx", "ry", "rz", "p", "u1", "u", "u3", "u2", "r"})
_TWO_QUBIT_ROTATIONS = frozenset({"rxx", "ryy", "rzz", "rzx"})


def _is_symbolic(value: Any) -> bool:
    return isinstance(value, ParameterExpression) and len(value.parameters) > 0


def _numeric(value: Any) -> float:
    if isinstance(value, ParameterExpression):
        value = complex(value.numeric())
    return float(np.real(value))


def _parity(values: np.ndarray) -> np.ndarray:
    """Parity of the set bits of non-negative 64-bit integers (works on NumPy 1 and 2)."""
    values = values.astype(np.uint64)
    for shift in (32, 16, 8, 4, 2, 1):
        values ^= values >> np.uint64(shift)
    return (values & np.uint64(1)).astype(np.int64)


def _rotation_matrix(axis: str, theta: float) -> np.ndarray:
    return math.cos(theta / 2) * _I2 - 1j * math.sin(theta / 2) * _PAULI[axis]


def _monomial(matrix: np.ndarray) -> np.ndarray | None:
    """Column index of the single non-zero of each row, or ``None`` if not a monomial matrix."""
    nonzero = np.abs(matrix) > _ATOL
    if not np.all(nonzero.sum(axis=1) == 1):
        return None
    cols = np.argmax(nonzero, axis=1)
    if len(set(cols.tolist())) != len(cols):
        return None
    return cols


# --------------------------------------------------------------------------------------------
# Compiled operations. Every op works on a state of shape (*lead, 2**n, batch), lead in {(), (2,)}.
# --------------------------------------------------------------------------------------------


class _Op:
    """Base class of compiled operations; ``support`` is the set of qubits the op acts on."""

    kind = "op"
    support: frozenset
    #: Whether :meth:`forward` may modify its input in place.
    inplace = False
    #: Index of the fused batched matrix this op applies (``None``: constant op).
    slot = None

    def forward(self, state, coeffs):  # pragma: no cover - interface
        """Apply the op to ``state`` of shape ``(*lead, 2**n, B)``."""
        raise NotImplementedError

    def adjoint(self, state, coeffs_h):  # pragma: no cover - interface
        """Apply the inverse (= adjoint) of the op; ``coeffs_h`` holds the daggered matrices."""
        raise NotImplementedError


class _PermPhaseOp(_Op):
    """``new[i] = phase[i] * old[perm[i]]`` on the amplitude axis (a monomial unitary)."""

    kind = "perm"

    def __init__(self, perm: np.ndarray, phase: np.ndarray, support: frozenset):
        self.perm = perm
        self.phase = phase
        self.support = support

    def finalize(self, device, dtype):
        """Create the torch index/phase tensors (called once after fusion)."""
        size = len(self.perm)
        identity = np.arange(size)
        inverse = np.empty_like(self.perm)
        inverse[self.perm] = identity
        self._is_identity = bool(np.array_equal(self.perm, identity))
        self._has_phase = not np.allclose(self.phase, 1.0, atol=0, rtol=0)
        self._perm = torch.as_tensor(self.perm, dtype=torch.long, device=device)
        self._inverse = torch.as_tensor(inverse, dtype=torch.long, device=device)
        self._phase = torch.as_tensor(self.phase, dtype=dtype, device=device).reshape(-1, 1)
        self._phase_inv = torch.as_tensor(
            np.conj(self.phase)[inverse], dtype=dtype, device=device
        ).reshape(-1, 1)

    def forward(self, state, coeffs):
        if not self._is_identity:
            state = state.index_select(-2, self._perm)
        elif self._has_phase:
            return state * self._phase
        if self._has_phase:
            state.mul_(self._phase)
        return state

    def adjoint(self, state, coeffs_h):
        if not self._is_identity:
            state = state.index_select(-2, self._inverse)
        elif self._has_phase:
            return state * self._phase_inv
        if self._has_phase:
            state.mul_(self._phase_inv)
        return state


class _Coefficients:
    """Per-slot views of the fused matrices ``(slots, 2, 2, B)`` in broadcast-ready layouts."""

    __slots__ = ("full", "diag", "mats")

    def __init__(self, mats: torch.Tensor, diagonal: bool):
        slots, _, _, batch = mats.shape
        self.mats = mats
        # (1, 2, 2, 1, B) per slot for the (L, 1, 2, R, B) state view
        self.full = mats.view(slots, 1, 2, 2, 1, batch).unbind(0)
        # (2, 1, B) per slot for the (L, 2, R, B) state view of diagonal ops
        self.diag = (
            torch.diagonal(mats, dim1=1, dim2=2).transpose(1, 2).unsqueeze(2).unbind(0)
            if diagonal
            else None
        )


class _SingleQubitOp(_Op):
    """A (controlled) 2x2 matrix on one target qubit, batched (``slot``) or constant.

    Uncontrolled ops use one broadcast multiply and one sum on the state viewed as
    ``(L, 1, 2, R, B)``; controlled ones update the controlled sub-block in place.
    """

    kind = "single"

    def __init__(
        self,
        num_qubits: int,
        target: int,
        controls: tuple[tuple[int, int], ...],
        *,
        slot: int | None = None,
        matrix: np.ndarray | None = None,
        diagonal: bool = False,
    ):
        self.target = target
        self.controls = controls
        self.slot = slot
        self.matrix = matrix
        self.diagonal = diagonal
        self.support = frozenset([target, *(q for q, _ in controls)])
        self.num_qubits = num_qubits
        right = 1 << target
        left = (1 << num_qubits) // (2 * right)
        self._mix_view = (left, 1, 2, right, -1)
        self._diag_view = (left, 2, right, -1)
        self._diag_shape = (left, 2, right)
        self._outer = ((left, 2, 1, right), (left, 1, 2, right))
        index = [slice(None)] * num_qubits
        for qubit, value in controls:
            index[num_qubits - 1 - qubit] = value
        idx0, idx1 = list(index), list(index)
        idx0[num_qubits - 1 - target] = 0
        idx1[num_qubits - 1 - target] = 1
        self._idx0 = (Ellipsis, *idx0, slice(None))
        self._idx1 = (Ellipsis, *idx1, slice(None))
        self._qshape = (2,) * num_qubits

    def finalize(self, device, dtype):
        """Create the constant matrix tensors (called once after fusion)."""
        if self.matrix is not None:
            self._const = [complex(v) for v in self.matrix.reshape(-1)]
            self._const_h = [complex(v) for v in self.matrix.conj().T.reshape(-1)]
            self._tensor = torch.as_tensor(self.matrix, dtype=dtype, device=device).view(
                1, 2, 2, 1, 1
            )
            self._tensor_h = torch.as_tensor(
                self.matrix.conj().T.copy(), dtype=dtype, device=device
            ).view(1, 2, 2, 1, 1)
        self.inplace = bool(self.controls)

    # ----- uncontrolled kernels
    def _mix(self, state, matrix):
        shape = self._mix_view if state.dim() == 2 else state.shape[:1] + self._mix_view
        return (matrix * state.view(shape)).sum(-3).view(state.shape)

    def _scale(self, state, diag):
        shape = self._diag_view if state.dim() == 2 else state.shape[:1] + self._diag_view
        return (state.view(shape) * diag).view(state.shape)

    # ----- controlled kernel (in place on the controlled block)
    def _views(self, state):
        view = state.view(state.shape[:-2] + self._qshape + state.shape[-1:])
        return view[self._idx0], view[self._idx1]

    def _apply_block(self, state, a, b, c, d, const):
        x0, x1 = self._views(state)
        if self.diagonal:
            x0.mul_(a)
            x1.mul_(d)
            return state
        new0 = x0 * a
        if const:
            new0.add_(x1, alpha=b)
            x1.mul_(d).add_(x0, alpha=c)
        else:
            new0.addcmul_(x1, b)
            x1.mul_(d).addcmul_(x0, c)
        x0.copy_(new0)
        return state

    def _apply(self, state, coeffs, hermitian):
        if self.slot is None:  # constant, never diagonal (those become permutation/phase ops)
            if self.controls:
                return self._apply_block(
                    state, *(self._const_h if hermitian else self._const), True
                )
            return self._mix(state, self._tensor_h if hermitian else self._tensor)
        if self.controls:
            mats = coeffs.mats[self.slot]
            return self._apply_block(state, mats[0, 0], mats[0, 1], mats[1, 0], mats[1, 1], False)
        if self.diagonal:
            return self._scale(state, coeffs.diag[self.slot])
        return self._mix(state, coeffs.full[self.slot])

    def forward(self, state, coeffs):
        return self._apply(state, coeffs, False)

    def adjoint(self, state, coeffs_h):
        return self._apply(state, coeffs_h, True)

    @property
    def batch_key(self):
        """Ops with equal keys get their :meth:`outer` computed in one stacked call."""
        return None if (self.controls or self.diagonal) else self.target

    def outer(self, psi, lam):
        """``S[i, k, b] = sum lam_i conj(psi_k)`` over this op's output (``psi``, ``lam``)."""
        batch = psi.shape[-1]
        if self.controls:
            view_shape = self._qshape + (batch,)
            psi_v, lam_v = psi.view(view_shape), lam.view(view_shape)
            psi_t = torch.stack((psi_v[self._idx0], psi_v[self._idx1])).reshape(2, -1, batch)
            lam_t = torch.stack((lam_v[self._idx0], lam_v[self._idx1])).reshape(2, -1, batch)
            return (lam_t.unsqueeze(1) * psi_t.conj().unsqueeze(0)).sum(2)
        if self.diagonal:
            prod = (lam * psi.conj()).view(self._diag_shape + (batch,))
            return torch.diag_embed(prod.sum((0, 2)).t()).permute(1, 2, 0)
        lead = lam.shape[:-2]
        prod = lam.view(lead + self._outer[0] + (batch,)) * psi.conj().view(
            lead + self._outer[1] + (batch,)
        )  # (*lead, L, 2, 2, R, B)
        left, _, _, right = self._outer[0]
        # single-axis reductions are much faster than a joint reduction over (L, R)
        if right == 1:
            out = prod.view(lead + (left, 4, batch)).sum(-3)
        elif left == 1:
            out = prod.view(lead + (4, right, batch)).sum(-2)
        else:
            out = prod.view(lead + (left, 4, right, batch)).sum(-2).sum(-3)
        return out.view(lead + (2, 2, batch))


class _DenseOp(_Op):
    """A constant ``2**k x 2**k`` matrix on ``k`` qubits (little-endian in ``qubits``)."""

    kind = "dense"

    def __init__(self, num_qubits: int, qubits: tuple[int, ...], matrix: np.ndarray):
        self.num_qubits = num_qubits
        self.qubits = qubits
        self.matrix = matrix
        self.support = frozenset(qubits)

    def finalize(self, device, dtype):
        """Create the torch matrices (called once after fusion)."""
        self._matrix = torch.as_tensor(self.matrix, dtype=dtype, device=device)
        self._matrix_h = torch.as_tensor(self.matrix.conj().T.copy(), dtype=dtype, device=device)

    def _apply(self, state, matrix):
        n = self.num_qubits
        lead = state.dim() - 2
        view = state.reshape(state.shape[:-2] + (2,) * n + state.shape[-1:])
        # big-endian axes of the gate qubits: qubits[-1] is the most significant
        axes = [lead + n - 1 - q for q in reversed(self.qubits)]
        rest = [a for a in range(view.dim()) if a not in axes]
        order = axes + rest
        moved = view.permute(order)
        shape = moved.shape
        out = (matrix @ moved.reshape(matrix.shape[0], -1)).reshape(shape)
        inverse = np.argsort(order).tolist()
        return out.permute(inverse).reshape(state.shape).contiguous()

    def forward(self, state, coeffs):
        return self._apply(state, self._matrix)

    def adjoint(self, state, coeffs_h):
        return self._apply(state, self._matrix_h)


class _Program:
    """The compiled op list plus what is needed to start a simulation."""

    def __init__(self, num_qubits, ops, num_slots, phase0, device, dtype):
        self.num_qubits = num_qubits
        self.dim = 1 << num_qubits
        self.ops = ops
        self.num_slots = num_slots
        self.phase0 = phase0
        self.device = device
        self.dtype = dtype
        self.has_diagonal = any(
            op.kind == "single" and op.slot is not None and op.diagonal and not op.controls
            for op in ops
        )

    def initial(self, batch: int) -> torch.Tensor:
        """The (constant-phase) all-zeros state, shape ``(2**n, batch)``."""
        state = torch.zeros((self.dim, batch), dtype=self.dtype, device=self.device)
        state[0] = self.phase0
        return state

    def run(self, mats: torch.Tensor | None, batch: int, store: bool = False):
        """Apply all ops; ``mats`` are the fused matrices ``(slots, 2, 2, batch)``.

        Returns the final state ``(2**n, batch)``, or with ``store`` the list of the initial and
        every intermediate state (kept for the backward pass).
        """
        coeffs = _Coefficients(mats, self.has_diagonal) if mats is not None else None
        state = self.initial(batch)
        states = [state] if store else None
        for op in self.ops:
            if store and op.inplace:
                state = state.clone()
            state = op.forward(state, coeffs)
            if store:
                states.append(state)
        return states if store else state

    def _stacked_outer(self, records):
        grads: list[torch.Tensor | None] = [None] * self.num_slots
        groups: dict[Any, list] = {}
        for op, psi, lam in records:
            key = op.batch_key
            if key is None:
                grads[op.slot] = op.outer(psi, lam)
            else:
                groups.setdefault(key, []).append((op, psi, lam))
        for items in groups.values():
            if len(items) == 1:
                op, psi, lam = items[0]
                grads[op.slot] = op.outer(psi, lam)
                continue
            smat = items[0][0].outer(
                torch.stack([psi for _, psi, _ in items]), torch.stack([lam for _, _, lam in items])
            )
            for (op, _, _), value in zip(items, smat.unbind(0), strict=True):
                grads[op.slot] = value
        return torch.stack(grads)

    def adjoint(self, mats: torch.Tensor, saved, grad: torch.Tensor) -> torch.Tensor:
        """Reverse sweep: ``S`` matrices ``(slots, 2, 2, batch)`` of every batched op.

        ``saved`` is either the list of stored states (from ``run(..., store=True)``) or the final
        state alone, in which case the states are un-computed on the way back.
        """
        coeffs_h = _Coefficients(mats.conj().transpose(1, 2).contiguous(), self.has_diagonal)
        if isinstance(saved, list):
            lam = grad.clone()
            records = []
            for position in range(len(self.ops) - 1, -1, -1):
                op = self.ops[position]
                if op.slot is not None:
                    records.append((op, saved[position + 1], lam))
                if op.inplace:
                    lam = lam.clone()
                lam = op.adjoint(lam, coeffs_h)
            return self._stacked_outer(records)
        zstate = torch.stack((saved, grad))
        grads: list[torch.Tensor | None] = [None] * self.num_slots
        for op in reversed(self.ops):
            if op.slot is not None:
                grads[op.slot] = op.outer(zstate[0], zstate[1])
            zstate = op.adjoint(zstate, coeffs_h)
        return torch.stack(grads)


def _matmul2(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Batched 2x2 products of batch-last stacks ``(..., 2, 2, B)`` (element-wise kernels)."""
    if left.shape[-1] <= 256:  # fewer (reducing) kernels win while the batch is small
        return (left.unsqueeze(-2) * right.unsqueeze(-4)).sum(-3)
    return (
        left[..., :, 0:1, :] * right[..., 0:1, :, :] + left[..., :, 1:2, :] * right[..., 1:2, :, :]
    )


def _dagger2(mats: torch.Tensor) -> torch.Tensor:
    """Conjugate transpose of a batch-last stack ``(..., 2, 2, B)``."""
    return mats.conj().transpose(-3, -2)


def _expectation(state: torch.Tensor, tables) -> torch.Tensor:
    """``<psi|O_o|psi>`` of shape ``(O, B)`` from a batch-last state and Pauli tables."""
    entry, real, _ = tables
    conj = state.conj()
    batch = state.shape[-1]
    result = None
    for gather, table, blocks in entry:
        if gather is None:  # diagonal (Z/I-only) terms
            weight = (conj * state).real if real else conj * state
        else:
            shifted = state.index_select(0, gather).view(blocks, -1, batch)
            weight = (conj * shifted).view(-1, batch)
            weight = weight.real if real else weight
        part = table @ weight if real else (table @ weight).real
        result = part if result is None else result + part
    return result


def _expectation_grad(state: torch.Tensor, tables, grad: torch.Tensor) -> torch.Tensor:
    """Gradient (torch convention) of ``sum grad * <psi|O|psi>`` w.r.t. ``psi``: ``2 O_g psi``."""
    entry, _, _ = tables
    batch = state.shape[-1]
    result = None
    for gather, table, blocks in entry:
        weight = table.t() @ grad.to(table.dtype)  # (blocks * 2**n, B)
        if gather is None:
            part = weight * state
        else:
            shifted = state.index_select(0, gather).view(blocks, -1, batch)
            part = (weight.view(blocks, -1, batch) * shifted).sum(0)
        result = part if result is None else result + part
    return 2 * result


class _Simulate(torch.autograd.Function):
    """Half rotation angles ``(R, B)`` -> state ``(2**n, B)`` or expectation values ``(O, B)``.

    The forward pass builds every rotation matrix, multiplies each fused run of single-qubit
    gates (keeping the running products ``pre[k] = M_{k-1} ... M_0``) and replays the program.
    The backward pass is the adjoint method: it walks the program backwards (from stored
    intermediate states, or un-computing them when they would not fit in memory), collects
    ``S = sum lambda psi^H`` for every fused matrix ``U`` and gets each rotation
    ``M_k = exp(h_k G_k)`` of ``U`` from ``dL/dh_k = Re <G_k, pre[k] U^H S U pre[k]^H>``
    (all factors are unitary).
    """

    @staticmethod
    def forward(ctx, half, engine, tables):  # pylint: disable=arguments-differ
        pre = engine._fuse(half.detach())
        mats = pre[-1]
        program = engine._program
        batch = half.shape[-1]
        store = (len(program.ops) + 1) * program.dim * batch <= engine._store_limit
        result = program.run(mats, batch, store=store)
        state = result[-1] if store else result
        ctx.engine = engine
        ctx.tables = tables
        ctx.states = result if store else None
        ctx.save_for_backward(half, pre, state)
        if tables is not None:
            return _expectation(state, tables)
        return state

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # pylint: disable=arguments-differ
        half, pre, state = ctx.saved_tensors
        engine = ctx.engine
        if ctx.tables is not None:
            grad_state = _expectation_grad(state, ctx.tables, grad_out)
        else:
            grad_state = grad_out
        mats = pre[-1]
        saved = ctx.states if ctx.states is not None else state
        smat = engine._program.adjoint(mats, saved, grad_state)
        inner = _matmul2(_dagger2(mats), _matmul2(smat, mats))  # U^H S U
        before = pre[:-1]
        conjugated = _matmul2(_matmul2(before, inner), _dagger2(before))  # (K, slots, 2, 2, B)
        batch = half.shape[-1]
        per_rotation = conjugated.reshape(-1, 2, 2, batch).index_select(0, engine._rot_pos)
        grad_half = (per_rotation * engine._rot_gen_conj).sum((1, 2)).real
        return grad_half, None, None


# --------------------------------------------------------------------------------------------
# Circuit -> primitive op stream
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Fusion of the primitive stream into a _Program
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Public engine
# --------------------------------------------------------------------------------------------


class StatevectorEngine:
    r"""Exact batched statevector simulator in torch, differentiable with autograd.

    The circuit is compiled once when the engine is built. :meth:`statevector`,
    :meth:`expectation_values` and :meth:`probabilities` then evaluate it for a whole batch of
    parameter values with a fixed, small number of vectorised torch operations; the batch is never
    looped over in Python. All outputs are differentiable with respect to ``values``:

    .. math::

        |\psi(\theta)\rangle = U(\theta)|0\rangle^{\otimes n}, \qquad
        \langle O_k \rangle(\theta) = \langle\psi(\theta)|O_k|\psi(\theta)\rangle .

    Amplitudes use Qiskit's little-endian order (bit ``k`` of the index is qubit ``k``) and include
    the circuit's global phase, so :meth:`statevector` equals
    ``qiskit.quantum_info.Statevector(circuit.assign_parameters(values)).data``.

    This is an **exact classical simulation**: memory and run time grow as ``2**num_qubits`` per
    batch element. Use it for simulation-only training of small circuits.

    Example:
        .. code-block:: python

            import torch
            from qiskit.circuit import QuantumCircuit, Parameter
            from qiskit_qdeep.primitives.torch_engine import StatevectorEngine

            x, w = Parameter("x"), Parameter("w")
            qc = QuantumCircuit(2)
            qc.rx(x, 0)
            qc.ry(2 * w, 1)
            qc.cx(0, 1)
            engine = StatevectorEngine(qc)  # parameters: [w, x] (Qiskit's sorted order)
            values = torch.rand(64, 2, dtype=torch.float64, requires_grad=True)
            evs = engine.expectation_values(values, ["ZZ", "XI"])  # (64, 2)
            evs.sum().backward()

    References:
        [1] T. Jones and J. Gacon, *Efficient calculation of gradients in classical simulations of
        variational quantum algorithms*, `arXiv:2009.02823 <https://arxiv.org/abs/2009.02823>`_
        (the adjoint method used for the backward pass).
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        *,
        parameters: Sequence[Parameter] | None = None,
        dtype: torch.dtype = torch.complex128,
        device: str | torch.device | None = None,
        max_qubits: int = 20,
    ) -> None:
        """Compile ``circuit`` into a replayable program.

        Args:
            circuit: The circuit to simulate. Final measurements are allowed (and ignored by
                :meth:`statevector`); a ``reset`` is allowed only on a qubit still in ``|0>``.
            parameters: Order of the circuit parameters on the last axis of ``values``.
                Defaults to ``list(circuit.parameters)`` (Qiskit's sorted order). It may hold
                parameters the circuit does not use.
            dtype: ``torch.complex128`` (default) or ``torch.complex64``. Real inputs and
                outputs use the matching real dtype (``float64`` / ``float32``).
            device: Torch device of all tensors (default: CPU).
            max_qubits: Largest number of qubits accepted.

        Raises:
            QDeepTypeError: If ``circuit`` is not a ``QuantumCircuit`` or ``dtype`` is not complex.
            QubitLimitError: If the circuit has more than ``max_qubits`` qubits.
            QDeepValueError: If ``parameters`` misses parameters of the circuit.
            UnsupportedGateError: If an instruction cannot be simulated (the message names it).
        """
        if not isinstance(circuit, QuantumCircuit):
            raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
        if dtype not in (torch.complex64, torch.complex128):
            raise QDeepTypeError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}.")
        num_qubits = circuit.num_qubits
        if num_qubits > max_qubits:
            raise QubitLimitError(
                f"The circuit has {num_qubits} qubits but this statevector engine is limited to "
                f"max_qubits={max_qubits}: memory grows as 2**n (2**{num_qubits} = "
                f"{2**num_qubits} amplitudes per batch element). Pass a larger max_qubits=... "
                "to raise the limit if you have the memory."
            )
        if parameters is None:
            parameters = list(circuit.parameters)
        else:
            parameters = list(parameters)
            known = set(parameters)
            missing = [p for p in circuit.parameters if p not in known]
            if missing:
                raise QDeepValueError(
                    "The circuit parameters "
                    f"{[p.name for p in missing]} are not among the given parameters."
                )
        self._circuit = circuit.copy()
        self._num_qubits = num_qubits
        self._parameters = parameters
        self._dtype = dtype
        self._real_dtype = torch.float64 if dtype == torch.complex128 else torch.float32
        self._device = torch.device(device) if device is not None else torch.device("cpu")
        self._pauli_cache: OrderedDict = OrderedDict()
        self._last_observables: tuple | None = None
        # amplitudes (states x 2**n x batch) the backward pass may keep instead of un-computing
        self._store_limit = (1 << 24) if dtype == torch.complex128 else (1 << 25)
        self._compile(circuit)

    # ----- properties
    @property
    def circuit(self) -> QuantumCircuit:
        """A copy of the simulated circuit."""
        return self._circuit.copy()

    @property
    def num_qubits(self) -> int:
        """Number of qubits."""
        return self._num_qubits

    @property
    def parameters(self) -> list[Parameter]:
        """The parameters in the order of the last axis of ``values``."""
        return list(self._parameters)

    @property
    def num_parameters(self) -> int:
        """Length of the last axis of ``values``."""
        return len(self._parameters)

    @property
    def dtype(self) -> torch.dtype:
        """Complex dtype of the statevector."""
        return self._dtype

    @property
    def device(self) -> torch.device:
        """Torch device of the simulation."""
        return self._device

    @property
    def final_measurements(self) -> dict[int, int]:
        """Final measurements of the circuit as ``{clbit index: qubit index}``."""
        return dict(self._clbit_map)

    @property
    def num_ops(self) -> int:
        """Number of compiled (fused) state operations; a cost indicator."""
        return len(self._program.ops)

    # ----- compilation
    def _compile(self, circuit: QuantumCircuit) -> None:
        n = self._num_qubits
        flat = _Flattener(n)
        flat.add_circuit(circuit, list(range(n)), list(range(circuit.num_clbits)))
        self._clbit_map = dict(flat.clbit_map)
        fuser = _Fuser(n)
        for item in flat.items:
            fuser.add(item)
        fuser.finish()

        device, dtype = self._device, self._dtype
        for op in fuser.ops:
            if hasattr(op, "finalize"):
                op.finalize(device, dtype)

        # global phase: constant part folded into the initial state, symbolic terms via the map
        constant_phase = 0.0
        phase_exprs, phase_scales = [], []
        for term, scale in flat.phase_terms:
            if _is_symbolic(term):
                phase_exprs.append(term)
                phase_scales.append(scale)
            else:
                constant_phase += scale * _numeric(term)
        expressions = list(fuser.rot_exprs) + phase_exprs
        scales = list(fuser.rot_scales) + phase_scales
        self._has_symbolic_phase = bool(phase_exprs)
        self._num_rot = len(fuser.rot_exprs)
        self._pmap = (
            ParameterMap(expressions, self._parameters, scales=scales) if expressions else None
        )

        # rotation generators: R(2h) = cos(h) I + sin(h) G, G = -i sigma
        gens = np.array([-1j * _PAULI[a] for a in fuser.rot_axes], dtype=complex).reshape(
            -1, 2, 2, 1
        )
        self._rot_gen = torch.as_tensor(gens, dtype=dtype, device=device)
        self._rot_gen_conj = torch.as_tensor(gens.conj(), dtype=dtype, device=device)
        self._eye = torch.as_tensor(_I2.reshape(2, 2, 1), dtype=dtype, device=device)

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
                    row.append(self._num_rot + len(consts))
                    consts.append(item)
            gather.append(row)
            width = max(width, len(row))
        width = 1 << (width - 1).bit_length()
        pad = self._num_rot  # identity
        gather = np.array([row + [pad] * (width - len(row)) for row in gather], dtype=np.int64)
        gather = gather.reshape(-1, width).T.reshape(-1)  # (K, slots) order
        self._const_pool = torch.as_tensor(
            np.array(consts).reshape(-1, 2, 2, 1), dtype=dtype, device=device
        )
        self._gather = torch.as_tensor(gather, dtype=torch.long, device=device)
        # flat (K, slots) position of every rotation occurrence
        rot_pos = np.zeros(self._num_rot, dtype=np.int64)
        for position, entry in enumerate(gather.tolist()):
            if entry < self._num_rot:
                rot_pos[entry] = position
        self._rot_pos = torch.as_tensor(rot_pos, dtype=torch.long, device=device)
        self._gather_width = width
        self._program = _Program(
            n, fuser.ops, len(fuser.slots), complex(np.exp(1j * constant_phase)), device, dtype
        )

    # ----- value handling
    def _prepare_values(self, values) -> tuple[torch.Tensor, tuple[int, ...]]:
        num_params = len(self._parameters)
        if values is None:
            if num_params:
                raise QDeepValueError(
                    f"The circuit has {num_params} parameters; pass values of shape "
                    f"(..., {num_params})."
                )
            return torch.zeros((1, 0), dtype=self._real_dtype, device=self._device), ()
        if isinstance(values, torch.Tensor):
            if values.is_complex():
                raise QDeepTypeError("values must be real, got a complex tensor.")
            values = values.to(device=self._device, dtype=self._real_dtype)
        else:
            array = np.asarray(values)
            if np.iscomplexobj(array):
                raise QDeepTypeError("values must be real, got complex numbers.")
            values = torch.as_tensor(array, dtype=self._real_dtype, device=self._device)
        if values.dim() == 0 or values.shape[-1] != num_params:
            got = tuple(values.shape)
            raise QDeepValueError(
                f"values must have shape (..., {num_params}) (one column per parameter), "
                f"got shape {got}."
            )
        # one reduction + one sync in the common case; the exact check only if the sum is off
        if values.numel() and not bool(torch.isfinite(values.detach().sum())):
            if not bool(torch.isfinite(values).all()):
                raise QDeepValueError("values contain NaN or infinite entries.")
        batch_shape = tuple(values.shape[:-1])
        return values.reshape(math.prod(batch_shape), num_params), batch_shape

    def _fuse(self, half: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Running products ``(K + 1, slots, 2, 2, B)`` of the fused runs (last = fused).

        With ``last_only`` only the fused products ``(slots, 2, 2, B)`` (the forward pass
        without the custom backward needs nothing else; stacking the intermediate products
        took about a quarter of a large no-grad simulation).
        """
        batch = half.shape[-1]
        rows = half.shape[0]
        c = torch.cos(half).view(rows, 1, 1, batch)
        s = torch.sin(half).view(rows, 1, 1, batch)
        rot = c * self._eye + s * self._rot_gen  # (R, 2, 2, B)
        pool = torch.cat((rot, self._const_pool.expand(-1, -1, -1, batch)), dim=0)
        width, slots = self._gather_width, self._program.num_slots
        mats = pool.index_select(0, self._gather).view(width, slots, 2, 2, batch)
        if last_only:
            fused = mats[0]
            for k in range(1, width):
                fused = _matmul2(mats[k], fused)
            return fused
        products = [self._eye.expand(slots, 2, 2, batch), mats[0]]
        for k in range(1, width):
            products.append(_matmul2(mats[k], products[-1]))
        return torch.stack(products)

    def _simulate(self, values: torch.Tensor, tables=None, phase: bool = True) -> torch.Tensor:
        """``(B, P)`` real -> batch-last state ``(2**n, B)``, or ``(O, B)`` with ``tables``.

        The symbolic global phase is applied only when ``phase`` is true (it cancels in
        expectation values and probabilities).
        """
        batch = values.shape[0]
        grad = torch.is_grad_enabled() and values.requires_grad
        half = None
        phase_values = None
        if self._pmap is not None:
            angles = self._pmap.torch(values).t()  # (J, B)
            if self._has_symbolic_phase and phase:
                phase_values = angles[self._num_rot :].sum(0)
            if self._num_rot:
                half = angles[: self._num_rot].contiguous()
        if half is not None and grad and batch:
            out = _Simulate.apply(half, self, tables)
            if tables is not None:
                return out
        else:
            state = self._program.run(
                None
                if half is None
                else self._fuse(half.detach() if not grad else half, last_only=True),
                batch,
            )
            if tables is not None:
                return _expectation(state, tables)
            out = state
        if phase_values is not None:
            out = out * torch.polar(torch.ones_like(phase_values), phase_values)
        return out

    # ----- public evaluation
    def statevector(self, values: torch.Tensor | np.ndarray | None = None) -> torch.Tensor:
        """Final statevectors.

        Args:
            values: Real parameter values of shape ``(*batch, num_parameters)`` (or ``None`` for a
                circuit without parameters). ``torch`` tensors with ``requires_grad`` get
                gradients.

        Returns:
            Complex tensor of shape ``(*batch, 2**num_qubits)`` in Qiskit's little-endian order.

        Raises:
            QDeepValueError: On a wrong last-axis width or NaN/inf values.
        """
        values2d, batch_shape = self._prepare_values(values)
        state = self._simulate(values2d).t().contiguous()
        return state.reshape(batch_shape + (1 << self._num_qubits,))

    @staticmethod
    def _observable_key(observables) -> tuple | None:
        key = []
        for obs in observables:
            if isinstance(obs, str):
                key.append(obs)
            elif isinstance(obs, SparsePauliOp):
                paulis = obs.paulis
                key.append(
                    (
                        paulis.num_qubits,
                        paulis.x.tobytes(),
                        paulis.z.tobytes(),
                        paulis.phase.tobytes(),
                        np.asarray(obs.coeffs, dtype=complex).tobytes(),
                    )
                )
            elif isinstance(obs, Pauli):
                key.append(("pauli", obs.num_qubits, obs.x.tobytes(), obs.z.tobytes(), obs.phase))
            else:
                return None
        return tuple(key)

    def _observable_tables(self, observables):
        """Cached Pauli lookup tables for ``observables`` (coerced and validated on a miss)."""
        if isinstance(observables, (str, Pauli, SparsePauliOp)):
            raise QDeepTypeError(
                "observables must be a sequence of observables, e.g. [SparsePauliOp('ZI')]."
            )
        observables = list(observables)
        last = self._last_observables
        if last is not None and len(last[0]) == len(observables):
            if all(a is b for a, b in zip(last[0], observables, strict=True)):
                return last[1]
        key = self._observable_key(observables)
        if key is not None:
            cached = self._pauli_cache.get(key)
            if cached is not None:
                self._pauli_cache.move_to_end(key)
                self._remember(observables, cached)
                return cached
        result = self._pauli_tables(self._coerce_observables(observables))
        if key is not None:
            self._pauli_cache[key] = result
            if len(self._pauli_cache) > 32:
                self._pauli_cache.popitem(last=False)
            self._remember(observables, result)
        return result

    def _remember(self, observables, tables) -> None:
        # identity fast path for the common "same list of objects at every step" pattern
        if all(isinstance(obs, (SparsePauliOp, Pauli)) for obs in observables):
            self._last_observables = (tuple(observables), tables)

    def _pauli_tables(self, observables):
        """Gather indices and coefficient tables so that ``<O_o> = T_o . conj(psi) psi[i ^ x]``.

        A Pauli string with X-mask ``x`` and Z-mask ``z`` maps ``psi`` to
        ``(P psi)[i] = c (-1)^popcount((i ^ x) & z) psi[i ^ x]``. Terms are grouped by ``x``;
        each group needs one gather of the state.
        """
        if not observables:
            return [], True, 0
        n = self._num_qubits
        dim = 1 << n
        index = np.arange(dim, dtype=np.int64)
        weights = 1 << np.arange(n, dtype=np.int64)
        blocks: OrderedDict[int, dict[int, np.ndarray]] = OrderedDict()
        for col, op in enumerate(observables):
            paulis = op.paulis
            xmask = paulis.x.astype(np.int64) @ weights
            zmask = paulis.z.astype(np.int64) @ weights
            num_y = np.sum(paulis.x & paulis.z, axis=1)
            coeffs = np.asarray(op.coeffs, dtype=complex) * (-1j) ** paulis.phase * 1j**num_y
            for x, z, coeff in zip(xmask.tolist(), zmask.tolist(), coeffs, strict=True):
                parity = _parity((index ^ x) & z)
                vector = coeff * (1.0 - 2.0 * parity)
                block = blocks.setdefault(x, {})
                block[col] = block.get(col, 0) + vector
        masks = list(blocks)
        num_obs = len(observables)
        real = all(np.all(np.abs(np.imag(v)) < _ATOL) for b in blocks.values() for v in b.values())
        table_dtype = self._real_dtype if real else self._dtype
        if len(masks) * dim * num_obs <= _MAX_PAULI_TABLE:
            table = np.zeros((len(masks) * dim, num_obs), dtype=complex)
            for u, x in enumerate(masks):
                for col, vector in blocks[x].items():
                    table[u * dim : (u + 1) * dim, col] = vector
            gather = np.concatenate([index ^ x for x in masks])
            entry = [
                (
                    None
                    if masks == [0]
                    else torch.as_tensor(gather, dtype=torch.long, device=self._device),
                    torch.as_tensor(
                        (table.real if real else table).T.copy(),
                        dtype=table_dtype,
                        device=self._device,
                    ),
                    len(masks),
                )
            ]
        else:
            entry = []
            for x in masks:
                cols = sorted(blocks[x])
                table = np.zeros((dim, num_obs), dtype=complex)
                for col in cols:
                    table[:, col] = blocks[x][col]
                entry.append(
                    (
                        None
                        if x == 0
                        else torch.as_tensor(index ^ x, dtype=torch.long, device=self._device),
                        torch.as_tensor(
                            (table.real if real else table).T.copy(),
                            dtype=table_dtype,
                            device=self._device,
                        ),
                        1,
                    )
                )
        return entry, real, len(observables)

    def _coerce_observables(self, observables) -> list[SparsePauliOp]:
        out = []
        for k, obs in enumerate(observables):
            if isinstance(obs, (str, Pauli)):
                obs = SparsePauliOp(obs)
            elif isinstance(obs, SparseObservable):
                obs = SparsePauliOp.from_sparse_observable(obs)
            elif isinstance(obs, Operator):
                obs = SparsePauliOp.from_operator(obs)
            elif not isinstance(obs, SparsePauliOp):
                raise QDeepTypeError(
                    f"Observable {k} must be a SparsePauliOp, Pauli, Pauli label, SparseObservable "
                    f"or Operator, got {type(obs).__name__}."
                )
            if obs.num_qubits != self._num_qubits:
                raise QDeepValueError(
                    f"Observable {k} acts on {obs.num_qubits} qubits but the circuit has "
                    f"{self._num_qubits}."
                )
            obs = obs.simplify(atol=0.0, rtol=0.0)
            coeffs = np.asarray(obs.coeffs, dtype=complex)
            if np.any(np.abs(coeffs.imag) > 1e-10):
                raise QDeepValueError(
                    f"Observable {k} is not Hermitian (complex coefficients {coeffs}); only "
                    "Hermitian observables have real expectation values."
                )
            out.append(SparsePauliOp(obs.paulis, coeffs.real))
        return out

    def expectation_values(
        self,
        values: torch.Tensor | np.ndarray | None,
        observables: Sequence[SparsePauliOp | Pauli | str],
    ) -> torch.Tensor:
        """Expectation values of Hermitian Pauli-sum observables.

        Args:
            values: Parameter values of shape ``(*batch, num_parameters)`` (see
                :meth:`statevector`).
            observables: Observables on all ``num_qubits`` qubits: ``SparsePauliOp``, ``Pauli``,
                Pauli labels (Qiskit order: the rightmost character is qubit 0),
                ``SparseObservable`` or ``Operator``. Their lookup tables are cached (by
                content, and by identity for a repeated list of the same objects), so do not
                modify an observable in place between calls.

        Returns:
            Real tensor of shape ``(*batch, len(observables))``. The symbolic part of the global
            phase cancels and is not evaluated.

        Raises:
            QDeepValueError: On a qubit-count mismatch, a non-Hermitian observable, or bad values.
            QDeepTypeError: On an observable of unsupported type.
        """
        tables = self._observable_tables(observables)
        values2d, batch_shape = self._prepare_values(values)
        num_obs = tables[2]
        if not num_obs:
            return torch.zeros(batch_shape + (0,), dtype=self._real_dtype, device=self._device)
        result = self._simulate(values2d, tables)  # (O, B)
        return result.t().reshape(batch_shape + (num_obs,))

    def probabilities(
        self,
        values: torch.Tensor | np.ndarray | None = None,
        qubits: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Measurement probabilities in the computational basis.

        Args:
            values: Parameter values of shape ``(*batch, num_parameters)``.
            qubits: Qubits to keep (marginalizing the others); ``qubits[0]`` is the least
                significant bit of the outcome index. Default: all qubits in order.

        Returns:
            Real tensor of shape ``(*batch, 2**len(qubits))``.

        Raises:
            QDeepValueError: On repeated or out-of-range qubits, or bad values.
        """
        n = self._num_qubits
        if qubits is not None:
            qubits = [int(q) for q in qubits]
            if len(set(qubits)) != len(qubits) or any(q < 0 or q >= n for q in qubits):
                raise QDeepValueError(f"qubits must be distinct indices in [0, {n}), got {qubits}.")
        values2d, batch_shape = self._prepare_values(values)
        state = self._simulate(values2d, phase=False)  # (2**n, B)
        probs = state.real.square() + state.imag.square()
        if qubits is not None and qubits != list(range(n)):
            batch = probs.shape[-1]
            view = probs.view((2,) * n + (batch,))
            drop = [n - 1 - q for q in range(n) if q not in qubits]
            if drop:
                view = view.sum(dim=drop)
            kept = sorted(qubits, reverse=True)  # remaining axes, most significant first
            order = [kept.index(q) for q in reversed(qubits)] + [len(qubits)]
            probs = view.permute(order).reshape(-1, batch)
        return probs.t().reshape(batch_shape + (probs.shape[0],))
