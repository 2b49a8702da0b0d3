# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Gate matrices and the compiled state operations (the kernels of the statevector engine).

Every op works on a batch-last state of shape ``(*lead, 2**n, batch)`` with ``lead`` in
``{(), (2,)}`` (the adjoint sweep stacks the state and its adjoint).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from qiskit.circuit import ParameterExpression

from ...exceptions import UnsupportedGateError

_SKIPPED = frozenset({"barrier", "delay", "id", "i"})
# Largest gate (in qubits) whose dense matrix is built with ``to_matrix``.
_MAX_DENSE_QUBITS = 10
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


#: Amplitudes (times batch) from which :meth:`_SingleQubitOp._mix` uses the split kernel.
_SPLIT_MIX_MIN = 1 << 18


def _is_functorch(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is wrapped by a ``torch.func`` transform (jacrev, vmap, grad...)."""
    try:
        return bool(torch._C._functorch.is_functorch_wrapped_tensor(tensor))
    except AttributeError:  # pragma: no cover - very old torch
        return False


def _records_graph(*tensors: torch.Tensor) -> bool:
    """Whether autograd or a ``torch.func`` transform records operations on ``tensors``."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return True
    return any(_is_functorch(t) for t in tensors)


def _is_symbolic(value: Any) -> bool:
    return isinstance(value, ParameterExpression) and len(value.parameters) > 0


def _numeric(value: Any) -> float:
    if isinstance(value, ParameterExpression):
        value = complex(value.numeric())
    return float(np.real(value))


def _tensor(array, dtype: torch.dtype, device) -> torch.Tensor:
    """``array`` as a tensor of ``dtype``; a real ``dtype`` keeps the real part.

    The compiler asks for a real dtype only when every matrix of the program is real.
    """
    array = np.asarray(array)
    if not dtype.is_complex and np.iscomplexobj(array):
        array = array.real.copy()
    return torch.as_tensor(array, dtype=dtype, device=device)


def _scalar(value: complex, dtype: torch.dtype):
    return complex(value) if dtype.is_complex else float(np.real(value))


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
        self._phase = _tensor(self.phase, dtype, device).reshape(-1, 1)
        self._phase_inv = _tensor(np.conj(self.phase)[inverse], dtype=dtype, device=device).reshape(
            -1, 1
        )

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
            self._const = [_scalar(v, dtype) for v in self.matrix.reshape(-1)]
            self._const_h = [_scalar(v, dtype) for v in self.matrix.conj().T.reshape(-1)]
            self._tensor = _tensor(self.matrix, dtype, device).view(1, 2, 2, 1, 1)
            self._tensor_h = _tensor(self.matrix.conj().T.copy(), dtype, device).view(1, 2, 2, 1, 1)
        self.inplace = bool(self.controls)

    # ----- uncontrolled kernels
    def _mix(self, state, matrix):
        if state.numel() >= _SPLIT_MIX_MIN and not _records_graph(state, matrix):
            return self._mix_split(state, matrix)
        shape = self._mix_view if state.dim() == 2 else state.shape[:1] + self._mix_view
        return (matrix * state.view(shape)).sum(-3).view(state.shape)

    def _mix_split(self, state, matrix):
        """``new0 = a x0 + b x1``, ``new1 = c x0 + d x1`` written into one output.

        On large states this reads and writes the state once, where the broadcast product and
        sum of :meth:`_mix` materialise twice the state (4-5x faster above ~10 qubits). It uses
        ``out=`` kernels, so only where autograd records nothing.
        """
        shape = self._diag_view if state.dim() == 2 else state.shape[:1] + self._diag_view
        view = state.view(shape)
        x0, x1 = view.select(-3, 0), view.select(-3, 1)
        out = torch.empty_like(view)
        new0, new1 = out.select(-3, 0), out.select(-3, 1)
        m = matrix[0] if matrix.dim() == 5 else matrix  # (2, 2, 1, B)
        torch.mul(x0, m[0, 0], out=new0)
        new0.addcmul_(x1, m[0, 1])
        torch.mul(x0, m[1, 0], out=new1)
        new1.addcmul_(x1, m[1, 1])
        return out.view(state.shape)

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

    def forward_functional(self, state, coeffs):
        """:meth:`forward` without in-place updates (autograd can differentiate it twice)."""
        if not self.controls:
            return self._apply(state, coeffs, False)
        if self.slot is None:
            a, b, c, d = self._const
        else:
            mats = coeffs.mats[self.slot]
            a, b, c, d = mats[0, 0], mats[0, 1], mats[1, 0], mats[1, 1]
        view = state.view(state.shape[:-2] + self._qshape + state.shape[-1:])
        x0, x1 = view[self._idx0], view[self._idx1]
        if self.diagonal:
            new0, new1 = x0 * a, x1 * d
        else:
            new0, new1 = x0 * a + x1 * b, x0 * c + x1 * d
        out = view.clone()
        out[self._idx0] = new0
        out[self._idx1] = new1
        return out.view(state.shape)

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
        self._matrix = _tensor(self.matrix, dtype, device)
        self._matrix_h = _tensor(self.matrix.conj().T.copy(), dtype, device)

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


class _ResetOp(_Op):
    """A ``reset`` of a qubit that was used: a random collapse, not a unitary.

    The qubit is measured (probabilities from the state of each binding), the state is projected
    on the outcome and renormalised, and an outcome ``1`` is flipped back to ``|0>``, as
    :meth:`qiskit.quantum_info.Statevector.reset` does. The outcome of binding ``b`` is ``1``
    exactly when ``u[b] >= p0[b] / (p0[b] + p1[b])`` for a uniform draw ``u[b]`` in ``[0, 1)``,
    the rule of ``numpy.random.Generator.choice`` that ``Statevector`` uses, so the same draws
    give the same collapses. Not differentiable (the engine refuses gradients through it).
    """

    kind = "reset"

    def __init__(self, num_qubits: int, qubit: int, draw: int):
        self.qubit = qubit
        #: Column of this reset in the ``(draws, batch)`` table of uniform draws.
        self.draw = draw
        self.support = frozenset([qubit])
        right = 1 << qubit
        self._view = ((1 << num_qubits) // (2 * right), 2, right, -1)

    def collapse(self, state: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """Collapse ``state`` ``(2**n, B)`` with one uniform draw per binding (``(B,)``)."""
        view = state.view(self._view)
        x0, x1 = view[:, 0], view[:, 1]
        p0 = (x0.real.square() + x0.imag.square()).sum((0, 1))
        p1 = (x1.real.square() + x1.imag.square()).sum((0, 1))
        # never pick an outcome of probability zero (a float32 draw may round up to 1.0)
        one = ((uniforms * (p0 + p1) >= p0) & (p1 > 0)) | (p0 <= 0)
        scale = torch.rsqrt(torch.where(one, p1, p0))
        out = torch.zeros_like(view)
        out[:, 0] = torch.where(one, x1, x0) * scale
        return out.view(state.shape)

    def forward(self, state, coeffs):
        raise UnsupportedGateError(
            "A reset of a used qubit is a random collapse: it needs uniform draws (pass rng=...)."
        )

    def adjoint(self, state, coeffs_h):
        raise UnsupportedGateError(
            "A reset of a used qubit (a random collapse) is not differentiable."
        )
