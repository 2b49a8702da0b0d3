# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The adjoint-method autograd function of the statevector engine."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from .observables import expectation, expectation_grad
from .program import CompiledProgram, dagger2, matmul2


def replay(half: torch.Tensor, compiled: CompiledProgram, tables, initial=None) -> torch.Tensor:
    """The forward pass in plain torch operations (autograd records every gate).

    Slower than :class:`Simulate`, but differentiable any number of times and usable under
    ``torch.func`` transforms.
    """
    batch = half.shape[-1]
    mats = compiled.fuse(half, last_only=True)
    state = compiled.program.run(mats, batch, differentiable=True, state=initial)
    return expectation(state, tables) if tables is not None else state


class Simulate(torch.autograd.Function):
    """Half rotation angles ``(R, B)`` -> state ``(2**n, B)`` or expectation values ``(O, B)``.

    The simulation starts from ``|0...0>``, or from the constant state ``initial``
    ``(2**n, B)`` when given (no gradient flows to it).

    The forward pass builds every rotation matrix, multiplies each fused run of single-qubit
    gates (keeping the running products ``pre[k] = M_{k-1} ... M_0``) and replays the program.
    The backward pass is the adjoint method: it walks the program backwards (from stored
    intermediate states, or un-computing them when they would not fit in memory), collects
    ``S = sum lambda psi^H`` for every fused matrix ``U`` and gets each rotation
    ``M_k = exp(h_k G_k)`` of ``U`` from ``dL/dh_k = Re <G_k, pre[k] U^H S U pre[k]^H>``
    (all factors are unitary).

    When the backward pass itself is recorded (``create_graph=True``: Hessians,
    ``torch.autograd.functional.hessian``, gradient penalties), the vector-Jacobian product is
    computed by differentiating :func:`replay` instead, so that second (and higher) derivatives
    are exact rather than silently zero.
    """

    @staticmethod
    def forward(ctx, half, compiled: CompiledProgram, tables, initial=None):  # pylint: disable=arguments-differ
        """Simulate and keep what the adjoint sweep needs."""
        pre = compiled.fuse(half.detach())
        mats = pre[-1]
        program = compiled.program
        batch = half.shape[-1]
        store = (len(program.ops) + 1) * program.dim * batch <= compiled.store_limit
        result = program.run(mats, batch, store=store, state=initial)
        state = result[-1] if store else result
        ctx.compiled = compiled
        ctx.tables = tables
        ctx.initial = initial
        ctx.states = result if store else None
        ctx.save_for_backward(half, pre, state)
        if tables is not None:
            return expectation(state, tables)
        return state

    @staticmethod
    def backward(ctx, grad_out):  # pylint: disable=arguments-differ
        """Adjoint sweep, or a differentiable vector-Jacobian product under ``create_graph``."""
        if torch.is_grad_enabled():
            half = ctx.saved_tensors[0]
            with torch.enable_grad():
                if not half.requires_grad:  # pragma: no cover - backward implies a graph
                    half = half.detach().requires_grad_()
                out = replay(half, ctx.compiled, ctx.tables, ctx.initial)
                (grad_half,) = torch.autograd.grad(out, half, grad_out, create_graph=True)
            return grad_half, None, None, None
        return Simulate._adjoint(ctx, grad_out)

    @staticmethod
    @once_differentiable
    def _adjoint(ctx, grad_out):
        half, pre, state = ctx.saved_tensors
        compiled = ctx.compiled
        if ctx.tables is not None:
            grad_state = expectation_grad(state, ctx.tables, grad_out)
        else:
            grad_state = grad_out
        mats = pre[-1]
        saved = ctx.states if ctx.states is not None else state
        smat = compiled.program.adjoint(mats, saved, grad_state)
        inner = matmul2(dagger2(mats), matmul2(smat, mats))  # U^H S U
        before = pre[:-1]
        conjugated = matmul2(matmul2(before, inner), dagger2(before))  # (K, slots, 2, 2, B)
        batch = half.shape[-1]
        per_rotation = conjugated.reshape(-1, 2, 2, batch).index_select(0, compiled.rot_pos)
        grad_half = (per_rotation * compiled.rot_gen_conj).sum((1, 2)).real
        return grad_half, None, None, None
