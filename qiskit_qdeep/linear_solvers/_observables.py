# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Observables of the original linear system mapped onto the HHL registers.

A user observable :math:`O` acts on the solution :math:`x` of the *original* ``N x N`` system.
The HHL circuit works on a Hermitian matrix of size :math:`P = 2^{n_b}` whose solution holds
:math:`x` in the components ``start .. start + N - 1`` (``start = 0`` for a Hermitian matrix,
``start = N`` for the Hermitian dilation of a non-Hermitian one) and (ideally) zeros elsewhere:
the first half of a dilation and the padding block. :func:`embed_observables` places :math:`O`
on that block of the ``b`` register, with zeros everywhere else, so that the other components
(non-zero in practice through phase-estimation errors) never contribute; the normalisation uses
the projector :math:`P_x` onto the same block (:func:`block_projector`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from qiskit.quantum_info import Operator, Pauli, SparsePauliOp

from ..exceptions import QDeepTypeError, QDeepValueError

#: Relative tolerance of the Hermiticity checks of observables.
HERMITIAN_RTOL = 1e-10


@dataclass(frozen=True)
class EmbeddedObservable:
    """One observable: its ``N x N`` block and its Pauli form on the ``b`` register."""

    block: np.ndarray | scipy.sparse.spmatrix
    """The ``(N, N)`` matrix acting on the original solution (dense or sparse)."""
    register: SparsePauliOp
    """The observable on the ``n_b`` qubits of the ``b`` register (zero outside the block)."""


def diagonal_to_paulis(diagonal: np.ndarray, atol: float = 1e-12) -> SparsePauliOp:
    r"""The Z-string expansion of a real diagonal operator (fast Walsh-Hadamard transform).

    The coefficient of :math:`Z^{z}` (``Z`` on the qubits of the bits of ``z``) is
    :math:`2^{-n} \sum_k d_k (-1)^{|k \wedge z|}`.

    Args:
        diagonal: Real diagonal of length ``2**n`` (qubit 0 is the least significant bit).
        atol: Coefficients below this magnitude are dropped.

    Returns:
        The operator as a ``SparsePauliOp`` of ``I``/``Z`` strings on ``n`` qubits.
    """
    coeffs = np.array(diagonal, dtype=float)
    num_qubits = len(coeffs).bit_length() - 1
    half = 1
    while half < len(coeffs):
        pairs = coeffs.reshape(-1, 2, half)
        coeffs = np.stack([pairs[:, 0] + pairs[:, 1], pairs[:, 0] - pairs[:, 1]], axis=1).ravel()
        half *= 2
    coeffs /= len(coeffs)
    terms = []
    for z in np.flatnonzero(np.abs(coeffs) > atol):
        qubits = [q for q in range(num_qubits) if (int(z) >> q) & 1]
        terms.append(("Z" * len(qubits), qubits, float(coeffs[z])))
    if not terms:
        terms.append(("", [], 0.0))
    return SparsePauliOp.from_sparse_list(terms, num_qubits=num_qubits)


def post_selection_projector(num_clock_qubits: int) -> SparsePauliOp:
    r"""The HHL post-selection projector on the ``clock`` + ``flag`` qubits (flag on top).

    :math:`|1\rangle\langle 1|_\mathrm{flag} \otimes |0\rangle\langle 0|^{\otimes
    n_c}_\mathrm{clock}`; as a ``SparsePauliOp`` it is the product of :math:`(I - Z)/2` on the
    flag and :math:`(I + Z)/2` on every clock qubit: :math:`2^{n_c + 1}` Z-strings.
    """
    diagonal = np.zeros(1 << (num_clock_qubits + 1))
    diagonal[1 << num_clock_qubits] = 1.0
    return diagonal_to_paulis(diagonal)


def block_projector(start: int, size: int, num_qubits: int) -> SparsePauliOp:
    """The projector onto the components ``start .. start + size - 1`` of ``num_qubits`` qubits."""
    diagonal = np.zeros(1 << num_qubits)
    diagonal[start : start + size] = 1.0
    return diagonal_to_paulis(diagonal)


def _is_single(observables: Any) -> bool:
    if isinstance(observables, (SparsePauliOp, Pauli, str, Operator, np.ndarray)):
        return True
    if isinstance(observables, (list, tuple)) and observables:
        # a nested list of numbers is one matrix; a list of arrays, labels or operators is a list
        try:
            array = np.asarray(observables)
        except (TypeError, ValueError):
            return False
        return array.ndim == 2 and array.dtype.kind in "biufc"
    return False


def _check_hermitian(matrix: np.ndarray, name: str) -> None:
    scale = max(float(np.abs(matrix).max()), 1e-300)
    if not np.allclose(matrix, matrix.conj().T, rtol=0, atol=HERMITIAN_RTOL * scale):
        raise QDeepValueError(f"{name} is not Hermitian: expectation values need O = O^dagger.")


def embed_observables(
    observables: Any, *, size: int, start: int, num_qubits: int
) -> list[EmbeddedObservable]:
    r"""Checks observables of the original ``size x size`` system and maps them onto ``b``.

    Args:
        observables: One observable or a sequence of them. Each is a ``SparsePauliOp``,
            ``Pauli`` or Pauli label on :math:`m = \max(1, \lceil \log_2 N \rceil)` qubits, or a
            Hermitian ``(N, N)`` array / :class:`~qiskit.quantum_info.Operator`. A nested list of
            numbers is read as one matrix. For ``N < 2**m`` a Pauli observable stands for the
            leading ``N x N`` block of its matrix.
        size: ``N``, the size of the original system.
        start: First component of the solution in the HHL register (``0`` or ``N``).
        num_qubits: Qubits :math:`n_b` of the ``b`` register.

    Returns:
        One :class:`EmbeddedObservable` per observable.

    Raises:
        QDeepTypeError: For an observable of an unsupported type.
        QDeepValueError: For an empty list, a wrong size, non-finite entries or a non-Hermitian
            observable.
    """
    items = [observables] if _is_single(observables) else observables
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise QDeepTypeError(
            "observables must be a SparsePauliOp, Pauli, Pauli label, Hermitian (N, N) array or "
            f"a list of them, got {type(observables).__name__}."
        )
    if len(items) == 0:
        raise QDeepValueError("observables must hold at least one observable (or be None).")
    pauli_qubits = max(1, (size - 1).bit_length())
    dim = 1 << num_qubits
    embedded = []
    for i, obs in enumerate(items):
        name = f"observables[{i}]"
        if isinstance(obs, (SparsePauliOp, Pauli, str)):
            embedded.append(_embed_pauli(obs, name, size, start, num_qubits, pauli_qubits))
            continue
        if isinstance(obs, Operator):
            obs = obs.data
        try:
            matrix = np.asarray(obs)
        except (TypeError, ValueError) as exc:
            raise QDeepTypeError(
                f"{name} must be a SparsePauliOp, Pauli, Pauli label or a Hermitian ({size}, "
                f"{size}) array, got {type(obs).__name__}."
            ) from exc
        if matrix.dtype.kind not in "biufc":
            raise QDeepTypeError(
                f"{name} must be a SparsePauliOp, Pauli, Pauli label or a numeric Hermitian "
                f"({size}, {size}) array, got {type(obs).__name__} of dtype {matrix.dtype}."
            )
        if matrix.shape != (size, size):
            raise QDeepValueError(
                f"{name} has shape {matrix.shape}; matrix observables of the {size}x{size} "
                f"system must have shape ({size}, {size}) (Pauli observables act on "
                f"{pauli_qubits} qubit{'s' if pauli_qubits > 1 else ''})."
            )
        if not np.all(np.isfinite(matrix)):
            raise QDeepValueError(f"{name} contains NaN or inf entries.")
        matrix = matrix.astype(complex)
        _check_hermitian(matrix, name)
        matrix = (matrix + matrix.conj().T) / 2
        full = np.zeros((dim, dim), dtype=complex)
        full[start : start + size, start : start + size] = matrix
        embedded.append(EmbeddedObservable(matrix, _real_paulis(Operator(full))))
    return embedded


def _embed_pauli(
    obs: Any, name: str, size: int, start: int, num_qubits: int, pauli_qubits: int
) -> EmbeddedObservable:
    try:
        op = obs if isinstance(obs, SparsePauliOp) else SparsePauliOp(obs)
    except Exception as exc:  # pylint: disable=broad-except
        raise QDeepValueError(f"{name} is not a valid Pauli observable: {obs!r}.") from exc
    if op.num_qubits != pauli_qubits:
        raise QDeepValueError(
            f"{name} acts on {op.num_qubits} qubit{'s' if op.num_qubits != 1 else ''}; Pauli "
            f"observables of the {size}x{size} system act on {pauli_qubits} (matrix observables "
            f"have shape ({size}, {size}))."
        )
    coeffs = np.asarray(op.coeffs)
    if not np.all(np.isfinite(coeffs)):
        raise QDeepValueError(f"{name} has NaN or inf coefficients.")
    scale = max(float(np.abs(coeffs).max(initial=0.0)), 1.0)
    op = op.simplify(atol=0)
    if np.any(np.abs(np.asarray(op.coeffs).imag) > HERMITIAN_RTOL * scale):
        raise QDeepValueError(
            f"{name} is not Hermitian (complex Pauli coefficients): expectation values need "
            "O = O^dagger."
        )
    op = SparsePauliOp(op.paulis, np.asarray(op.coeffs).real)
    block = op.to_matrix(sparse=True)[:size, :size]
    if size == 1 << pauli_qubits:
        if start == 0 and num_qubits == pauli_qubits:
            return EmbeddedObservable(block, op)
        if start == size and num_qubits == pauli_qubits + 1:  # dilation: top qubit is 1
            return EmbeddedObservable(block, SparsePauliOp(["I", "Z"], [0.5, -0.5]).tensor(op))
    dim = 1 << num_qubits
    full = np.zeros((dim, dim), dtype=complex)
    full[start : start + size, start : start + size] = block.toarray()
    return EmbeddedObservable(block, _real_paulis(Operator(full)))


def _real_paulis(operator: Operator) -> SparsePauliOp:
    """Pauli expansion of a Hermitian operator with real coefficients."""
    op = SparsePauliOp.from_operator(operator, atol=1e-12)
    return SparsePauliOp(op.paulis, np.asarray(op.coeffs).real)


def expectation(block: np.ndarray | scipy.sparse.spmatrix, state: np.ndarray) -> float:
    r""":math:`\langle s | O | s \rangle` of a normalised ``state`` (real part)."""
    return float(np.real(np.vdot(state, block @ state)))
