# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The compiled program: replay of the fused op list and its reverse (adjoint) sweep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ...exceptions import UnsupportedGateError
from .._expressions import ParameterMap
from .gates import _Coefficients


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
        #: Whether the program holds a random collapse (a reset of a used qubit).
        self.has_reset = any(op.kind == "reset" for op in ops)

    def initial(self, batch: int) -> torch.Tensor:
        """The (constant-phase) all-zeros state, shape ``(2**n, batch)``."""
        state = torch.zeros((self.dim, batch), dtype=self.dtype, device=self.device)
        state[0] = self.phase0
        return state

    def run(
        self,
        mats: torch.Tensor | None,
        batch: int,
        store: bool = False,
        differentiable: bool = False,
        draws: torch.Tensor | None = None,
        state: torch.Tensor | None = None,
    ):
        """Apply all ops; ``mats`` are the fused matrices ``(slots, 2, 2, batch)``.

        The simulation starts from ``state`` ``(2**n, batch)`` when given (it is not modified;
        ``mats`` of batch width 1 then broadcast over its columns), else from the all-zeros
        state with the constant global phase.

        Returns the final state ``(2**n, batch)``, or with ``store`` the list of the initial and
        every intermediate state (kept for the backward pass). With ``differentiable`` no op
        modifies a state in place, so that plain torch autograd can record the replay (used for
        second-order derivatives and under ``torch.func`` transforms).

        A program with random collapses (:attr:`has_reset`) needs ``draws``, the uniform draws
        ``(num_draws, batch)`` in ``[0, 1)``, and supports neither ``store`` nor
        ``differentiable``.
        """
        if self.has_reset:
            return self._run_collapsing(mats, batch, store or differentiable, draws)
        coeffs = _Coefficients(mats, self.has_diagonal) if mats is not None else None
        if state is None:
            state = self.initial(batch)
        elif not differentiable and any(op.inplace for op in self.ops):
            state = state.clone()
        states = [state] if store else None
        for op in self.ops:
            if differentiable and op.inplace:
                state = op.forward_functional(state, coeffs)
                continue
            if store and op.inplace:
                state = state.clone()
            state = op.forward(state, coeffs)
            if store:
                states.append(state)
        return states if store else state

    def _run_collapsing(self, mats, batch, grad, draws):
        if grad:
            raise UnsupportedGateError(
                "A reset of a used qubit is a random collapse and is not differentiable."
            )
        if draws is None:
            raise UnsupportedGateError(
                "A reset of a used qubit is a random collapse: it needs rng=... to sample it."
            )
        coeffs = _Coefficients(mats, self.has_diagonal) if mats is not None else None
        state = self.initial(batch)
        for op in self.ops:
            if op.kind == "reset":
                state = op.collapse(state, draws[op.draw])
            else:
                state = op.forward(state, coeffs)
        return state

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


def matmul2(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Batched 2x2 products of batch-last stacks ``(..., 2, 2, B)`` (element-wise kernels)."""
    if left.shape[-1] <= 256:  # fewer (reducing) kernels win while the batch is small
        return (left.unsqueeze(-2) * right.unsqueeze(-4)).sum(-3)
    return (
        left[..., :, 0:1, :] * right[..., 0:1, :, :] + left[..., :, 1:2, :] * right[..., 1:2, :, :]
    )


def dagger2(mats: torch.Tensor) -> torch.Tensor:
    """Conjugate transpose of a batch-last stack ``(..., 2, 2, B)``."""
    return mats.conj().transpose(-3, -2)


@dataclass(frozen=True, eq=False)
class CompiledProgram:
    """Everything the engine and its autograd function need to simulate one circuit.

    A value object built once by :func:`~.fusion.compile_circuit`: the fused op list, the map
    from parameter values to rotation half angles (and the symbolic global phase), and the
    tables that assemble the fused ``2 x 2`` matrices of every run of single-qubit gates.
    """

    num_qubits: int
    program: _Program
    pmap: ParameterMap | None
    num_rot: int
    has_symbolic_phase: bool
    rot_gen: torch.Tensor
    rot_gen_conj: torch.Tensor
    eye: torch.Tensor
    const_pool: torch.Tensor
    gather: torch.Tensor
    gather_width: int
    rot_pos: torch.Tensor
    clbit_map: dict
    store_limit: int
    expressions: tuple = ()
    #: Uniform draws per binding of a program with random collapses (one per ``reset`` of the
    #: circuit, no-op resets of fresh qubits included, so that the stream of draws matches
    #: :class:`~qiskit.quantum_info.Statevector`'s).
    num_draws: int = 0

    @property
    def needs_rng(self) -> bool:
        """Whether a simulation samples random collapses (a reset of a used qubit)."""
        return self.program.has_reset

    @property
    def nbytes(self) -> int:
        """Estimated bytes held by the compiled tensors (gather indices, phases, matrices)."""
        total = 0
        for op in self.program.ops:
            for name in ("_perm", "_inverse", "_phase", "_phase_inv", "_matrix", "_matrix_h"):
                tensor = getattr(op, name, None)
                if isinstance(tensor, torch.Tensor):
                    total += tensor.numel() * tensor.element_size()
        return total + 4096

    def fuse(self, half: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Running products ``(K + 1, slots, 2, 2, B)`` of the fused runs (last = fused).

        With ``last_only`` only the fused products ``(slots, 2, 2, B)`` (the forward pass
        without the custom backward needs nothing else; stacking the intermediate products
        took about a quarter of a large no-grad simulation).
        """
        batch = half.shape[-1]
        rows = half.shape[0]
        c = torch.cos(half).view(rows, 1, 1, batch)
        s = torch.sin(half).view(rows, 1, 1, batch)
        rot = c * self.eye + s * self.rot_gen  # (R, 2, 2, B)
        pool = torch.cat((rot, self.const_pool.expand(-1, -1, -1, batch)), dim=0)
        width, slots = self.gather_width, self.program.num_slots
        mats = pool.index_select(0, self.gather).view(width, slots, 2, 2, batch)
        if last_only:
            fused = mats[0]
            for k in range(1, width):
                fused = matmul2(mats[k], fused)
            return fused
        products = [self.eye.expand(slots, 2, 2, batch), mats[0]]
        for k in range(1, width):
            products.append(matmul2(mats[k], products[-1]))
        return torch.stack(products)
