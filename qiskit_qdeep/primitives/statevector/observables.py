# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Pauli lookup tables and expectation values (and their state gradients) of Pauli sums."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from qiskit.quantum_info import Pauli, SparsePauliOp

from ...exceptions import QDeepTypeError
from ..observables import (
    SINGLE_OBSERVABLE_TYPES,
    _flatten_observables,
    as_sparse_pauli_ops,
    observable_key,
)

# Largest Pauli lookup table (entries) built in one block for expectation values.
_MAX_PAULI_TABLE = 1 << 22
_ATOL = 1e-12


def _parity(values: np.ndarray) -> np.ndarray:
    """Parity of the set bits of non-negative 64-bit integers (works on NumPy 1 and 2)."""
    values = values.astype(np.uint64)
    for shift in (32, 16, 8, 4, 2, 1):
        values ^= values >> np.uint64(shift)
    return (values & np.uint64(1)).astype(np.int64)


class _LocalTerms:
    """Observables that are all ``c P_q`` (one Pauli on one qubit, or ``c I``).

    ``diag`` holds the ``Z``/``I`` terms as one table ``(D, 2**n)`` of signed coefficients
    applied to the probabilities (one matrix product), ``pairs`` the ``X``/``Y`` terms by
    qubit, computed from the amplitude pairs that differ in that qubit.
    """

    __slots__ = ("num", "diag_columns", "diag_table", "pairs")

    def __init__(self, terms, num_qubits: int, device, real_dtype) -> None:
        self.num = len(terms)
        index = np.arange(1 << num_qubits)
        diag_columns, rows = [], []
        self.pairs: dict[int, list] = {}
        for column, (qubit, axis, coeff) in enumerate(terms):
            if axis in ("Z", "I"):
                sign = 1.0 - 2.0 * ((index >> qubit) & 1) if axis == "Z" else np.ones(index.size)
                diag_columns.append(column)
                rows.append(coeff * sign)
            else:
                self.pairs.setdefault(qubit, []).append((column, axis, coeff))
        self.diag_columns = diag_columns
        self.diag_table = (
            torch.as_tensor(np.array(rows), dtype=real_dtype, device=device) if rows else None
        )


def _local_expectation(state: torch.Tensor, local: _LocalTerms) -> torch.Tensor:
    """``(O, B)`` expectation values of single-qubit Paulis, without gathers.

    ``<Z_q>`` and ``<I>`` come from the probabilities (one matrix product for all of them),
    ``<X_q>`` and ``<Y_q>`` from twice the real and imaginary parts of ``sum conj(a0) a1`` over
    the amplitude pairs ``(a0, a1)`` that differ in qubit ``q``.
    """
    dim, batch = state.shape
    rows: list = [None] * local.num
    if local.diag_table is not None:
        probs = state.real.square() + state.imag.square() if state.is_complex() else state.square()
        values = local.diag_table.to(probs.dtype) @ probs
        for k, column in enumerate(local.diag_columns):
            rows[column] = values[k]
    for qubit, terms in local.pairs.items():
        view = state.view(dim >> (qubit + 1), 2, 1 << qubit, batch)
        cross = (view[:, 0].conj() * view[:, 1]).sum((0, 1))
        for column, axis, coeff in terms:
            if axis == "X":
                rows[column] = (2.0 * coeff) * cross.real
            elif state.is_complex():
                rows[column] = (2.0 * coeff) * cross.imag
            else:  # a real state has <Y> = 0
                rows[column] = torch.zeros_like(cross)
    return torch.stack(rows)


def _local_expectation_grad(
    state: torch.Tensor, local: _LocalTerms, grad: torch.Tensor
) -> torch.Tensor:
    """``2 sum_o g_o O_o psi`` for single-qubit Paulis (see :func:`expectation_grad`)."""
    dim, batch = state.shape
    real = state.real.dtype if state.is_complex() else state.dtype
    grad = grad.to(real)
    result = None
    if local.diag_table is not None:
        weight = local.diag_table.to(real).t() @ grad[local.diag_columns]  # (2**n, B)
        result = weight * state
    for qubit, terms in local.pairs.items():
        cx = cy = None
        for column, axis, coeff in terms:
            value = coeff * grad[column]
            if axis == "X":
                cx = value if cx is None else cx + value
            else:
                cy = value if cy is None else cy + value
        view = state.view(dim >> (qubit + 1), 2, 1 << qubit, batch)
        a0, a1 = view[:, 0], view[:, 1]
        if state.is_complex():
            zero = torch.zeros_like(grad[0])
            off = torch.complex(zero if cx is None else cx, zero if cy is None else cy)
            new0, new1 = off.conj() * a1, off * a0
        elif cx is not None:
            new0, new1 = cx * a1, cx * a0
        else:
            continue
        part = torch.stack((new0, new1), dim=1).view(dim, batch)
        result = part if result is None else result + part
    if result is None:
        return torch.zeros_like(state)
    return 2 * result


def expectation(state: torch.Tensor, tables) -> torch.Tensor:
    """``<psi|O_o|psi>`` of shape ``(O, B)`` from a batch-last state and Pauli tables."""
    entry, real, _, local = tables
    if local is not None:
        return _local_expectation(state, local)
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


def expectation_grad(state: torch.Tensor, tables, grad: torch.Tensor) -> torch.Tensor:
    """Gradient (torch convention) of ``sum grad * <psi|O|psi>`` w.r.t. ``psi``: ``2 O_g psi``."""
    entry, _, _, local = tables
    if local is not None:
        return _local_expectation_grad(state, local, grad)
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


def _single_qubit_terms(observables) -> list | None:
    """``[(qubit, axis, coeff)]`` when every observable is ``c P_q`` (``qubit=-1``: ``c I``)."""
    local = []
    for op in observables:
        if len(op) != 1:
            return None
        pauli = op.paulis[0]
        support = np.flatnonzero(pauli.x | pauli.z)
        coeff = complex(op.coeffs[0]) * (-1j) ** int(pauli.phase)
        if abs(coeff.imag) > _ATOL or len(support) > 1:
            return None
        if not len(support):
            local.append((-1, "I", coeff.real))
            continue
        qubit = int(support[0])
        axis = {(True, False): "X", (True, True): "Y", (False, True): "Z"}[
            (bool(pauli.x[qubit]), bool(pauli.z[qubit]))
        ]
        local.append((qubit, axis, coeff.real))
    return local


class Expectation(torch.autograd.Function):
    """``state (2**n, B)`` -> ``<psi|O_o|psi>`` ``(O, B)`` with a one-pass backward.

    The backward pass is :func:`expectation_grad` (``2 O psi`` contracted with the incoming
    gradient) instead of autograd's record of every gather and product; when the backward pass
    is itself recorded (``create_graph=True``) the plain expression is differentiated instead,
    so higher derivatives stay exact.
    """

    @staticmethod
    def forward(ctx, state, tables):  # pylint: disable=arguments-differ
        """Expectation values of every observable of ``tables``."""
        ctx.tables = tables
        ctx.save_for_backward(state)
        return expectation(state, tables)

    @staticmethod
    def backward(ctx, grad_out):  # pylint: disable=arguments-differ
        """``2 sum_o g_o O_o psi`` (torch's convention for a real loss of a complex input)."""
        (state,) = ctx.saved_tensors
        if torch.is_grad_enabled():
            with torch.enable_grad():
                if not state.requires_grad:  # pragma: no cover - backward implies a graph
                    state = state.detach().requires_grad_()
                out = expectation(state, ctx.tables)
                (grad,) = torch.autograd.grad(out, state, grad_out, create_graph=True)
            return grad, None
        return expectation_grad(state, ctx.tables, grad_out), None


class ObservableTables:
    """Per-engine LRU cache of the Pauli lookup tables of observable lists.

    Args:
        num_qubits: Qubits of the simulated circuit.
        device: Torch device of the tables.
        dtype: Complex dtype of the simulation.
        real_dtype: The matching real dtype.
    """

    def __init__(self, num_qubits: int, device, dtype, real_dtype) -> None:
        self._num_qubits = num_qubits
        self._device = device
        self._dtype = dtype
        self._real_dtype = real_dtype
        self._pauli_cache: OrderedDict = OrderedDict()
        self._last_observables: tuple | None = None

    def get(self, observables):
        """Tables of ``observables`` (see :meth:`_observable_tables`)."""
        return self._observable_tables(observables)

    @staticmethod
    def _observable_key(observables) -> tuple | None:
        """Content key of a list of single observables (``None`` if one has no key)."""
        key = []
        for obs in observables:
            item = observable_key(obs)
            if item is None:
                return None
            key.append(item)
        return tuple(key)

    def _observable_tables(self, observables):
        """Cached Pauli lookup tables for ``observables`` (coerced and validated on a miss)."""
        if isinstance(observables, SINGLE_OBSERVABLE_TYPES):
            raise QDeepTypeError(
                "observables must be a sequence of observables, e.g. [SparsePauliOp('ZI')] or "
                f"[{{'ZI': 2.0}}], got a single {type(observables).__name__} (one output column "
                "per entry of the sequence)."
            )
        if isinstance(observables, (list, tuple)) and all(
            isinstance(obs, SINGLE_OBSERVABLE_TYPES) for obs in observables
        ):
            observables = list(observables)
        else:  # arrays, ObservablesArray, PauliList, nested sequences
            observables = _flatten_observables(observables)
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
            return [], True, 0, None
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
        terms = _single_qubit_terms(observables)
        local = (
            None
            if terms is None
            else _LocalTerms(terms, self._num_qubits, self._device, self._real_dtype)
        )
        return entry, real, len(observables), local

    def _coerce_observables(self, observables) -> list[SparsePauliOp]:
        """Hermitian Pauli sums with real coefficients (the shared coercion of every entry point).

        An empty list gives no tables (a zero-column result).
        """
        if not observables:
            return []
        return as_sparse_pauli_ops(observables, self._num_qubits)
