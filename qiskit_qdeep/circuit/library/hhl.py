# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Building blocks of the HHL linear solver (Harrow, Hassidim, Lloyd 2009).

The HHL circuit on a Hermitian :math:`A` (size :math:`2^{n_b}`) and a vector :math:`b` uses three
registers: ``b`` (:math:`n_b` system qubits), ``clock`` (:math:`n_c` phase-estimation qubits) and
``flag`` (one ancilla); :func:`hhl_circuit` builds

.. math::

    \mathrm{QPE}^\dagger R\, \mathrm{QPE}\, (S_b \otimes I) |0\rangle_b|0\rangle_c|0\rangle_f,

* :math:`S_b |0\rangle = |b\rangle / \|b\|` (an RY tree for real :math:`b`, plus a diagonal phase
  gate for complex :math:`b`),
* :math:`\mathrm{QPE}` = Hadamards on the clock, controlled powers
  :math:`(e^{iAt})^{2^j}` (:func:`hhl_evolution_gate`) controlled by clock qubit ``j``, and the
  inverse QFT: an eigenvector with eigenvalue :math:`\lambda` ends on clock value
  :math:`k \approx \lambda t 2^{n_c} / (2\pi) \bmod 2^{n_c}`,
* :math:`R` = :class:`EigenvalueInversionGate`: for each clock value ``k`` read as a **signed**
  (two's complement) integer :math:`k_s \in [-2^{n_c-1}, 2^{n_c-1})`, so negative eigenvalues are
  supported, a uniformly controlled RY on the flag with
  :math:`\sin(\theta_k/2) = C / \lambda_k`, :math:`\lambda_k = 2\pi k_s / (t\, 2^{n_c})`.

Post-selecting ``flag = 1`` and ``clock = 0`` leaves the system register in
:math:`C A^{-1} |b\rangle / \|b\|`, with probability :math:`C^2 \|A^{-1} b\|^2 / \|b\|^2`.

Every block is built from ``ry``, ``rz``, ``h``, ``cx``, ``cp``, ``swap``, ``p`` and ``unitary``
gates (after :func:`to_standard_gates`), which Aer, the torch engine and the transpiler accept.

References:
    A. W. Harrow, A. Hassidim and S. Lloyd, "Quantum algorithm for linear systems of equations",
    `arXiv:0811.3171 <https://arxiv.org/abs/0811.3171>`_.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import scipy.linalg
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import Gate, Parameter, ParameterExpression, ParameterVector
from qiskit.circuit.library import DiagonalGate, QFTGate, UnitaryGate
from qiskit.quantum_info import SparsePauliOp

from ..._validation import check_int
from ...exceptions import QDeepValueError, QubitLimitError
from .swap_test import _gray_code_weights, amplitude_encoding_angles, amplitude_encoding_circuit

__all__ = [
    "HHL_MAX_PAULI_ROTATIONS",
    "HHL_MAX_UNITARY_BYTES",
    "EigenvalueInversionGate",
    "hhl_circuit",
    "hhl_evolution_gate",
    "signed_clock_values",
    "state_pair_circuit",
    "state_pair_template",
    "to_standard_gates",
    "uniformly_controlled_ry",
]

#: Evolution methods of :func:`hhl_evolution_gate`.
EVOLUTIONS = ("exact", "trotter", "suzuki")

#: Largest memory (bytes) of the dense controlled unitaries of an ``"exact"``
#: :func:`hhl_circuit`: the ``2 n_c`` gates :math:`(e^{iAt})^{2^j}` of the phase estimation and
#: its inverse, each ``2**(n_b + 1)`` square and complex: ``2 n_c 16 * 4**(n_b + 1)`` bytes.
HHL_MAX_UNITARY_BYTES = 2 << 30

#: Largest number of controlled Pauli rotations of a ``"trotter"`` / ``"suzuki"``
#: :func:`hhl_circuit`: ``2 x terms x trotter_steps x (2**n_c - 1)`` (twice that for
#: ``"suzuki"``) for the phase estimation and its inverse. Each is a basis change, a CNOT ladder
#: and a controlled RZ, so construction and simulation time grow with the count.
HHL_MAX_PAULI_ROTATIONS = 1 << 15


def _exact_evolution_bytes(num_system_qubits: int, num_clock_qubits: int) -> int:
    """Bytes of the dense controlled unitaries of an ``"exact"`` :func:`hhl_circuit`.

    ``2 n_c`` gates (phase estimation and its inverse) of ``2**(n_b + 1)`` square complex
    entries (16 bytes each).
    """
    return 2 * num_clock_qubits * 16 * (1 << (2 * (num_system_qubits + 1)))


def _pauli_rotation_count(
    num_terms: int, num_clock_qubits: int, evolution: str, trotter_steps: int
) -> int:
    """Controlled Pauli rotations of a product-formula :func:`hhl_circuit`.

    The phase estimation applies :math:`e^{iAt}` ``2**n_c - 1`` times (powers ``2**j``), each
    with ``trotter_steps`` steps of ``num_terms`` rotations (twice that for ``"suzuki"``), and
    its inverse as many again.
    """
    per_step = 2 if evolution == "suzuki" else 1
    return 2 * per_step * num_terms * trotter_steps * ((1 << num_clock_qubits) - 1)


def _check_exact_evolution(num_system_qubits: int, num_clock_qubits: int, lower: bool) -> None:
    """Refuses an ``"exact"`` circuit whose dense unitaries exceed ``HHL_MAX_UNITARY_BYTES``."""
    needed = _exact_evolution_bytes(num_system_qubits, num_clock_qubits)
    if needed > HHL_MAX_UNITARY_BYTES:
        dim = 1 << (num_system_qubits + 1)
        raise QubitLimitError(
            f"evolution='exact' needs {'at least ' if lower else ''}{needed / 2**30:.3g} GiB for "
            f"the 2 x {num_clock_qubits} dense controlled unitaries (e^(iAt))^(2^j) of the phase "
            f"estimation and its inverse ({dim}x{dim} complex each: {num_system_qubits} system "
            f"qubits + 1 control, {num_clock_qubits} clock qubits), more than "
            f"HHL_MAX_UNITARY_BYTES = {HHL_MAX_UNITARY_BYTES / 2**30:.3g} GiB; use "
            "evolution='trotter' or 'suzuki', fewer clock qubits or a smaller system."
        )


def _check_pauli_rotations(
    num_terms: int,
    num_clock_qubits: int,
    evolution: str,
    trotter_steps: int,
    lower: bool,
) -> None:
    """Refuses a product formula with more than ``HHL_MAX_PAULI_ROTATIONS`` rotations."""
    count = _pauli_rotation_count(num_terms, num_clock_qubits, evolution, trotter_steps)
    if count > HHL_MAX_PAULI_ROTATIONS:
        per_step = "2 x " if evolution == "suzuki" else ""
        terms = "at least 1 Pauli term" if lower else f"{num_terms} Pauli terms"
        raise QDeepValueError(
            f"evolution={evolution!r} needs {'at least ' if lower else ''}{count} controlled "
            f"Pauli rotations (2 (phase estimation and inverse) x {per_step}{terms} x "
            f"trotter_steps = {trotter_steps} x (2**{num_clock_qubits} - 1) powers of e^(iAt) "
            f"for {num_clock_qubits} clock qubits), more than HHL_MAX_PAULI_ROTATIONS = "
            f"{HHL_MAX_PAULI_ROTATIONS}; use fewer trotter_steps or clock qubits, or "
            "evolution='exact'."
        )


#: Gates left alone by :func:`to_standard_gates` (every V2 simulator and the transpiler know them).
STANDARD_GATES = frozenset(
    {
        "ry",
        "rz",
        "rx",
        "h",
        "x",
        "s",
        "sdg",
        "cx",
        "cp",
        "p",
        "swap",
        "unitary",
        "measure",
        "barrier",
        "u",
        "global_phase",
    }
)


def signed_clock_values(num_clock_qubits: int) -> np.ndarray:
    """The two's-complement value of every clock register state, ``k`` from 0 to ``2**n - 1``.

    Args:
        num_clock_qubits: Number of clock qubits ``n >= 1``.

    Returns:
        Integer array ``(2**n,)``: ``k`` for ``k < 2**(n-1)``, ``k - 2**n`` otherwise.
    """
    n = check_int("num_clock_qubits", num_clock_qubits)
    k = np.arange(1 << n)
    return np.where(k < (1 << (n - 1)), k, k - (1 << n))


def _combine(weights: np.ndarray, angles: Sequence) -> float | ParameterExpression:
    """``sum_j weights[j] * angles[j]`` for numbers or parameter expressions."""
    if all(not isinstance(a, ParameterExpression) for a in angles):
        return float(np.dot(weights, np.asarray(angles, dtype=float)))
    expr = 0.0
    for w, a in zip(weights, angles):
        if abs(w) > 1e-15:
            expr = expr + float(w) * a
    return expr


def _walsh_hadamard(values: Sequence[float]) -> np.ndarray:
    r"""Unnormalised Walsh-Hadamard transform of a power-of-two length vector.

    Entry ``i`` is :math:`\sum_j (-1)^{\mathrm{popcount}(i\,\&\,j)} v_j` (fast butterfly,
    :math:`O(k 2^k)` for length :math:`2^k`).
    """
    out = np.array(values, dtype=float)
    size = len(out)
    half = 1
    while half < size:
        blocks = out.reshape(-1, 2, half)
        out = np.stack([blocks[:, 0] + blocks[:, 1], blocks[:, 0] - blocks[:, 1]], axis=1)
        out = out.reshape(size)
        half *= 2
    return out


def uniformly_controlled_ry(
    angles: Sequence[float | ParameterExpression], num_controls: int | None = None
) -> QuantumCircuit:
    r"""A uniformly controlled RY from ``ry`` and ``cx`` gates (Möttönen et al., Gray code).

    Qubit ``0`` is the target, qubits ``1 .. k`` the controls; control value ``j`` (bit ``m`` of
    ``j`` is qubit ``1 + m``) applies :math:`RY(\alpha_j)`. With :math:`N = 2^k` the circuit is
    ``N`` RY gates :math:`RY(\beta_i)`, each followed by a CNOT from the control whose bit changes
    between the Gray codes :math:`g_i` and :math:`g_{i+1}` (the highest control after the last),
    with :math:`\beta_i = 2^{-k} \sum_j (-1)^{\mathrm{popcount}(j\, \&\, g_i)} \alpha_j`.
    Angles may be :class:`~qiskit.circuit.ParameterExpression` s.

    Args:
        angles: ``2**k`` rotation angles, indexed by the control value.
        num_controls: ``k``; default ``log2(len(angles))``.

    Returns:
        Circuit on ``1 + k`` qubits.

    Raises:
        QDeepValueError: If the number of angles is not a power of two (or not ``2**k``).
    """
    angles = list(angles)
    size = len(angles)
    if size < 1 or size & (size - 1):
        raise QDeepValueError(f"angles must have a power-of-two length, got {size}.")
    k = size.bit_length() - 1
    if num_controls is not None and num_controls != k:
        raise QDeepValueError(f"{num_controls} controls need 2**{num_controls} angles, got {size}.")
    qc = QuantumCircuit(1 + k, name="ucry")
    if k == 0:
        qc.ry(angles[0], 0)
        return qc
    if all(not isinstance(a, ParameterExpression) for a in angles):
        # numbers: beta = WHT(alpha)[gray] / 2**k, O(k 2**k) instead of a 4**k weight matrix
        indices = np.arange(size)
        betas = [float(b) for b in _walsh_hadamard(angles)[indices ^ (indices >> 1)] / size]
    else:
        weights = _gray_code_weights(k)
        betas = [_combine(weights[i], angles) for i in range(size)]
    for i in range(size):
        qc.ry(betas[i], 0)
        changed = ((i + 1) & -(i + 1)).bit_length() - 1 if i + 1 < size else k - 1
        qc.cx(1 + changed, 0)
    return qc


def _inversion_angles(num_clock_qubits: int, scale: float, constant: float) -> np.ndarray:
    r"""RY angles :math:`2 \arcsin(\mathrm{clip}(C / \lambda_k, -1, 1))`, zero for ``k = 0``."""
    values = scale * signed_clock_values(num_clock_qubits).astype(float)
    ratio = np.zeros_like(values)
    nonzero = values != 0
    ratio[nonzero] = np.clip(constant / values[nonzero], -1.0, 1.0)
    return 2.0 * np.arcsin(ratio)


class EigenvalueInversionGate(Gate):
    r"""The HHL eigenvalue inversion: a uniformly controlled RY on a flag qubit.

    Acts on ``num_clock_qubits + 1`` qubits: the clock register first (qubit ``j`` is bit ``j``
    of the clock value ``k``), the flag qubit last. Clock value ``k`` is read as the signed
    integer :math:`k_s` (:func:`signed_clock_values`) and the eigenvalue estimate
    :math:`\lambda_k = \mathrm{scale} \cdot k_s`; the flag is rotated by :math:`RY(\theta_k)` with

    .. math::

        \sin(\theta_k / 2) = \mathrm{clip}\!\left(\frac{C}{\lambda_k}, -1, 1\right), \qquad
        \theta_0 = 0,

    so that :math:`|k\rangle|0\rangle \mapsto |k\rangle(\sqrt{1 - C^2/\lambda_k^2}\,|0\rangle
    + (C/\lambda_k)|1\rangle)`, with the sign of :math:`\lambda_k` (negative eigenvalues).
    Clock values with :math:`|\lambda_k| < C` are clipped to amplitude :math:`\pm 1`. For
    :math:`e^{iAt}` phase estimation, ``scale`` is :math:`2\pi / (t\, 2^{n_c})`.

    The definition is :func:`uniformly_controlled_ry` (``2**n_c`` RY gates and CNOTs).

    Args:
        num_clock_qubits: Number of clock qubits ``n_c >= 1``.
        scale: Eigenvalue per clock step (``> 0``).
        constant: The constant :math:`C > 0` (at most the smallest eigenvalue magnitude).
        label: Optional label.

    Raises:
        QDeepValueError: For a bad clock size, scale or constant.
    """

    def __init__(
        self, num_clock_qubits: int, scale: float, constant: float, label: str | None = None
    ) -> None:
        num_clock_qubits = check_int("num_clock_qubits", num_clock_qubits)
        if not (np.isfinite(scale) and scale > 0):
            raise QDeepValueError(f"scale must be a finite number > 0, got {scale!r}.")
        if not (np.isfinite(constant) and constant > 0):
            raise QDeepValueError(f"constant must be a finite number > 0, got {constant!r}.")
        super().__init__(
            "eigenvalue_inversion",
            num_clock_qubits + 1,
            [float(scale), float(constant)],
            label=label,
        )

    @property
    def num_clock_qubits(self) -> int:
        """Number of clock qubits."""
        return self.num_qubits - 1

    def angles(self) -> np.ndarray:
        """The RY angle of every clock value ``k = 0 .. 2**n_c - 1``."""
        scale, constant = (float(p) for p in self.params)
        return _inversion_angles(self.num_clock_qubits, scale, constant)

    def _define(self) -> None:
        n = self.num_clock_qubits
        ucry = uniformly_controlled_ry(list(self.angles()))
        qc = QuantumCircuit(n + 1, name=self.name)
        # ucry: target qubit 0, controls 1..n  ->  flag (qubit n), clock qubits 0..n-1
        qc.compose(ucry, [n, *range(n)], inplace=True)
        self.definition = qc


def _check_hermitian(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise QDeepValueError(f"matrix must be square, got shape {matrix.shape}.")
    size = matrix.shape[0]
    if size < 2 or size & (size - 1):
        raise QDeepValueError(f"matrix size must be a power of two >= 2, got {size}.")
    if not np.all(np.isfinite(matrix)):
        raise QDeepValueError("matrix contains NaN or inf entries.")
    if not np.allclose(matrix, matrix.conj().T, atol=1e-10 * max(1.0, np.abs(matrix).max())):
        raise QDeepValueError("matrix must be Hermitian (use HHL for the Hermitian dilation).")
    return matrix


def _pauli_rotation(qc: QuantumCircuit, label: str, angle: float, control: int) -> None:
    r"""Appends controlled :math:`e^{i\,\mathrm{angle}\, P}` (``label`` over qubits ``1..n``)."""
    support = [q for q, char in enumerate(reversed(label)) if char != "I"]
    if not support:
        qc.p(angle, control)  # identity term: a phase on the controlled branch
        return
    qubits = [1 + q for q in support]
    chars = [label[::-1][q] for q in support]
    for qubit, char in zip(qubits, chars):
        if char == "X":
            qc.h(qubit)
        elif char == "Y":
            qc.sdg(qubit)
            qc.h(qubit)
    for a, b in zip(qubits[:-1], qubits[1:]):
        qc.cx(a, b)
    # exp(i angle Z) = RZ(-2 angle); controlled on `control`, as CX-RZ-CX with half angles
    target = qubits[-1]
    qc.rz(-angle, target)
    qc.cx(control, target)
    qc.rz(angle, target)
    qc.cx(control, target)
    for a, b in reversed(list(zip(qubits[:-1], qubits[1:]))):
        qc.cx(a, b)
    for qubit, char in zip(qubits, chars):
        if char == "X":
            qc.h(qubit)
        elif char == "Y":
            qc.h(qubit)
            qc.s(qubit)


def hhl_evolution_gate(
    matrix: np.ndarray,
    time: float,
    *,
    evolution: str = "exact",
    trotter_steps: int = 1,
) -> Gate:
    r"""Controlled :math:`e^{iAt}` on ``1 + n_b`` qubits (control first, then the system).

    * ``"exact"``: one :class:`~qiskit.circuit.library.UnitaryGate` of the controlled matrix
      :math:`|0\rangle\langle 0| \otimes I + |1\rangle\langle 1| \otimes e^{iAt}` (dense, exact;
      the transpiler synthesises it for hardware).
    * ``"trotter"``: first-order product formula of the Pauli decomposition
      :math:`A = \sum_P c_P P` (:meth:`~qiskit.quantum_info.SparsePauliOp.from_operator`),
      ``trotter_steps`` steps :math:`\prod_P e^{i c_P P t / r}`; each controlled Pauli rotation
      is a basis change, a CNOT parity ladder and a controlled RZ (as two CNOTs and two RZ).
    * ``"suzuki"``: the symmetric second-order formula (terms forward then backward with half
      the step).

    Args:
        matrix: Hermitian matrix of size ``2**n_b``.
        time: Evolution time :math:`t`.
        evolution: ``"exact"``, ``"trotter"`` or ``"suzuki"``.
        trotter_steps: Product-formula steps for ``"trotter"`` / ``"suzuki"``.

    Returns:
        The controlled-evolution gate.

    Raises:
        QDeepValueError: For a non-Hermitian matrix, a bad time, evolution or step count.
    """
    matrix = _check_hermitian(matrix)
    if not np.isfinite(time):
        raise QDeepValueError(f"time must be finite, got {time!r}.")
    if evolution not in EVOLUTIONS:
        raise QDeepValueError(f"evolution must be one of {EVOLUTIONS}, got {evolution!r}.")
    steps = check_int("trotter_steps", trotter_steps)
    if evolution == "exact":
        return _exact_evolution_gate(matrix, time)
    return _product_formula_gate(_pauli_terms(matrix), matrix, time, evolution, steps)


def _exact_evolution_gate(matrix: np.ndarray, time: float) -> Gate:
    size = matrix.shape[0]
    unitary = scipy.linalg.expm(1j * float(time) * matrix)
    controlled = np.kron(np.eye(size), np.diag([1.0, 0.0])) + np.kron(unitary, np.diag([0.0, 1.0]))
    return UnitaryGate(controlled, label="c-exp(iAt)", check_input=False)


def _pauli_terms(matrix: np.ndarray) -> SparsePauliOp:
    """The Pauli decomposition of a product-formula evolution."""
    return SparsePauliOp.from_operator(matrix).simplify(atol=1e-12)


def _product_formula_gate(
    op: SparsePauliOp, matrix: np.ndarray, time: float, evolution: str, steps: int
) -> Gate:
    n = matrix.shape[0].bit_length() - 1
    terms = [(label, float(np.real(c))) for label, c in op.to_list()]
    qc = QuantumCircuit(1 + n, name=f"c-exp(iAt)_{evolution}")
    step = float(time) / steps
    for _ in range(steps):
        if evolution == "trotter":
            for label, coeff in terms:
                _pauli_rotation(qc, label, coeff * step, 0)
        else:
            for label, coeff in terms:
                _pauli_rotation(qc, label, coeff * step / 2, 0)
            for label, coeff in reversed(terms):
                _pauli_rotation(qc, label, coeff * step / 2, 0)
    return qc.to_gate()


@functools.lru_cache(maxsize=16)
def _state_pair_layout(n: int) -> tuple[tuple[tuple, ...], np.ndarray]:
    """Gate sequence of the state-pair circuit and its angle map.

    Returns ``(ops, matrix)``: ``ops`` holds ``("ry", target, row)`` and ``("cx", control,
    target)`` in circuit order (qubit 0 is the branch control), and row ``row`` of ``matrix``
    (shape ``(2 * (2**n - 1), 2 * (2**n - 1))``) gives that RY's angle from the concatenated tree
    angles ``[angles_0, angles_1]``.
    """
    count = (1 << n) - 1
    matrix = np.zeros((2 * count, 2 * count))
    ops: list[tuple] = []
    start = 0
    row = 0
    # Level l of the RY tree (amplitude_encoding_circuit, data qubits offset by 1) is a uniformly
    # controlled RY over the l higher data qubits; the branch qubit 0 is one more, most
    # significant control: its angle table is branch 0's level angles, then branch 1's.
    for level in range(n):
        size = 1 << level
        target = 1 + n - 1 - level
        controls = [1 + n - level + m for m in range(level)] + [0]
        num_controls = level + 1
        weights = _gray_code_weights(num_controls)
        columns = np.r_[start : start + size, count + start : count + start + size]
        for i in range(2 * size):
            matrix[row, columns] = weights[i]
            changed = ((i + 1) & -(i + 1)).bit_length() - 1 if i + 1 < 2 * size else level
            ops += [("ry", target, row), ("cx", controls[changed], target)]
            row += 1
        start += size
    matrix.setflags(write=False)  # cached: shared by every caller
    return tuple(ops), matrix


def _build_state_pair(n: int, ops: Sequence[tuple], angles: Sequence) -> QuantumCircuit:
    qc = QuantumCircuit(1 + n, name="state_pair")
    for kind, first, second in ops:
        if kind == "ry":
            qc.ry(angles[second], first)
        else:
            qc.cx(first, second)
    return qc


def _check_pair_angles(n: int, angles_0: Sequence, angles_1: Sequence) -> int:
    count = (1 << n) - 1
    if len(angles_0) != count or len(angles_1) != count:
        raise QDeepValueError(
            f"Each branch needs 2**{n} - 1 = {count} tree angles, got {len(angles_0)} and "
            f"{len(angles_1)}."
        )
    return count


def state_pair_circuit(
    num_qubits: int,
    angles_0: Sequence[float | ParameterExpression],
    angles_1: Sequence[float | ParameterExpression],
) -> QuantumCircuit:
    r"""Prepares one real state if a control qubit is ``|0>`` and another if it is ``|1>``.

    The *select* step of a Hadamard test between two RY-tree encoded states: level ``l`` of the
    tree of :func:`~qiskit_qdeep.circuit.library.amplitude_encoding_circuit` is a uniformly
    controlled rotation over the ``l`` higher state qubits; with the control qubit as one more
    (most significant) control it becomes a uniformly controlled rotation with ``l + 1``
    controls whose angle table is branch 0's level-``l`` angles followed by branch 1's. Its
    Gray-code decomposition has ``2**(l+1)`` ``ry`` and as many ``cx`` gates, so the circuit has
    ``2 (2**n - 1)`` of each and no multi-controlled gate. Qubit ``0`` is the control, qubits
    ``1 .. n`` the state register. Angles may be numbers or parameter expressions. For a
    template that serves many state pairs, prefer :func:`state_pair_template`: its parameters
    are the RY angles themselves, bound from the tree angles by a numeric matrix, where symbolic
    tree angles here give every RY a long linear expression (slow to build and to simulate for
    large registers).

    Args:
        num_qubits: Size ``n`` of the state register.
        angles_0: ``2**n - 1`` tree angles of the branch-0 state
            (:func:`~qiskit_qdeep.circuit.library.amplitude_encoding_angles`).
        angles_1: ``2**n - 1`` tree angles of the branch-1 state.

    Returns:
        Circuit on ``1 + n`` qubits.

    Raises:
        QDeepValueError: For a wrong number of angles.
    """
    n = check_int("num_qubits", num_qubits)
    angles_0, angles_1 = list(angles_0), list(angles_1)
    _check_pair_angles(n, angles_0, angles_1)
    ops, matrix = _state_pair_layout(n)
    tree = angles_0 + angles_1
    ry_angles = [_combine(row, tree) for row in matrix]
    return _build_state_pair(n, ops, ry_angles)


def state_pair_template(
    num_qubits: int, prefix: str = "θ"
) -> tuple[QuantumCircuit, ParameterVector, np.ndarray]:
    r"""The :func:`state_pair_circuit` skeleton with one parameter per RY gate.

    Binding ``matrix @ concatenate([angles_0, angles_1])`` to the parameters gives exactly
    ``state_pair_circuit(num_qubits, angles_0, angles_1)``; for a batch of state pairs the
    bindings are one matrix product (``tree_angles @ matrix.T``), and the circuit holds plain
    parameters, which primitives and the statevector engine handle fastest.

    Args:
        num_qubits: Size ``n`` of the state register.
        prefix: Name of the :class:`~qiskit.circuit.ParameterVector`.

    Returns:
        ``(circuit, parameters, matrix)``: a circuit on ``1 + n`` qubits, its
        ``2 * (2**n - 1)`` parameters in binding order, and the (read-only)
        ``(2 * (2**n - 1), 2 * (2**n - 1))`` angle map.
    """
    n = check_int("num_qubits", num_qubits)
    ops, matrix = _state_pair_layout(n)
    params = ParameterVector(prefix, matrix.shape[0])
    return _build_state_pair(n, ops, list(params)), params, matrix


def _prepare_b(vector: np.ndarray, phase_reference: bool) -> QuantumCircuit:
    """|b> (and, with a reference qubit first, the uniform state in its |0> branch)."""
    n = len(vector).bit_length() - 1
    complex_b = np.iscomplexobj(vector) and np.any(np.abs(np.imag(vector)) > 1e-14)
    real_part = np.abs(vector) if complex_b else np.real(vector)
    angles = amplitude_encoding_angles(real_part)
    offset = 1 if phase_reference else 0
    qc = QuantumCircuit(n + offset, name="prep_b")
    if phase_reference:
        uniform = amplitude_encoding_angles(np.ones(1 << n))
        qc.compose(state_pair_circuit(n, uniform, angles), range(n + 1), inplace=True)
    else:
        qc.compose(amplitude_encoding_circuit(n).assign_parameters(angles), range(n), inplace=True)
    if complex_b:
        phases = np.exp(1j * np.angle(vector))
        if phase_reference:  # phases only in the |1> branch of the reference qubit
            diag = np.stack([np.ones_like(phases), phases], axis=1).ravel()
            qc.append(DiagonalGate(list(diag)), range(n + 1))
        else:
            qc.append(DiagonalGate(list(phases)), range(n))
    return qc


def hhl_circuit(
    matrix: np.ndarray,
    vector: np.ndarray,
    *,
    num_clock_qubits: int,
    evolution_time: float,
    constant: float,
    evolution: str = "exact",
    trotter_steps: int = 1,
    phase_reference: bool = False,
) -> QuantumCircuit:
    r"""The HHL circuit (without measurements) for a Hermitian ``matrix`` of size ``2**n_b``.

    Registers, in qubit order: ``b`` (:math:`n_b`), ``clock`` (:math:`n_c`), ``flag`` (1) and,
    with ``phase_reference=True``, ``ref`` (1). Post-selecting ``flag = 1``, ``clock = 0``
    leaves :math:`C A^{-1}|b\rangle/\|b\|` on ``b`` (see the module docstring).

    **Phase reference.** Measurement of ``b`` alone gives the magnitudes :math:`|x_i|` but not
    the signs or phases. With ``phase_reference=True`` the circuit also contains a known
    reference branch: ``ref`` is put in :math:`|+\rangle`; its :math:`|1\rangle` branch runs
    HHL on :math:`|b\rangle`, its :math:`|0\rangle` branch prepares the uniform state
    :math:`|+\rangle^{\otimes n_b}` instead and flips the flag unconditionally (so there
    :math:`\mathrm{QPE}^\dagger \mathrm{QPE} = I` and the branch ends in
    :math:`|+\rangle^{\otimes n_b}|0\rangle_c|1\rangle_f`). Finally ``ref`` gets
    :math:`P(\varphi)` and :math:`RY(\gamma)` with two circuit parameters ``phi`` and
    ``gamma``. For :math:`\gamma = \pi/2` the outcome probabilities with ``flag = 1``,
    ``clock = 0``, ``b = i`` satisfy

    .. math::

        P(\mathrm{ref}{=}1) - P(\mathrm{ref}{=}0) =
        \mathrm{Re}\big(e^{i\varphi} h_i\big) / \sqrt{2^{n_b}},

    where :math:`h_i = C (A^{-1} b)_i / \|b\|` is the post-selected HHL amplitude: ``phi = 0``
    gives its real part, ``phi = -pi/2`` its imaginary part. With :math:`\gamma = 0`,
    :math:`P(\mathrm{ref}{=}1, \mathrm{flag}{=}1, \mathrm{clock}{=}0, b{=}i) = |h_i|^2 / 2`.

    Args:
        matrix: Hermitian matrix of size ``2**n_b`` (``n_b >= 1``).
        vector: Right-hand side of length ``2**n_b`` (normalised here; not zero).
        num_clock_qubits: Clock size :math:`n_c`.
        evolution_time: :math:`t` of :math:`e^{iAt}`.
        constant: :math:`C` of :class:`EigenvalueInversionGate`.
        evolution: See :func:`hhl_evolution_gate`.
        trotter_steps: Product-formula steps per application of :math:`e^{iAt}`; the power
            :math:`2^j` uses :math:`2^j` times as many.
        phase_reference: Add the reference qubit and the ``phi``/``gamma`` parameters.

    Returns:
        The circuit.

    Raises:
        QDeepValueError: For bad sizes, a zero or non-finite vector or bad parameters, or a
            product formula with more controlled Pauli rotations than
            :data:`~qiskit_qdeep.linear_solvers.HHL_MAX_PAULI_ROTATIONS`.
        QubitLimitError: If the dense unitaries of ``evolution="exact"`` need more than
            :data:`~qiskit_qdeep.linear_solvers.HHL_MAX_UNITARY_BYTES`.
    """
    matrix = _check_hermitian(matrix)
    n_c = check_int("num_clock_qubits", num_clock_qubits)
    vector = np.asarray(vector)
    size = matrix.shape[0]
    if vector.shape != (size,):
        raise QDeepValueError(f"vector must have shape ({size},), got {vector.shape}.")
    if not np.all(np.isfinite(vector)) or np.linalg.norm(vector) == 0:
        raise QDeepValueError("vector must be finite and non-zero.")
    if not (np.isfinite(evolution_time) and evolution_time > 0):
        raise QDeepValueError(f"evolution_time must be > 0, got {evolution_time!r}.")
    if evolution not in EVOLUTIONS:
        raise QDeepValueError(f"evolution must be one of {EVOLUTIONS}, got {evolution!r}.")
    trotter_steps = check_int("trotter_steps", trotter_steps)
    n_b = size.bit_length() - 1
    # sizes first: refuse huge dense unitaries or product formulas before building any gate
    if evolution == "exact":
        _check_exact_evolution(n_b, n_c, lower=False)
        pauli_terms = None
    else:
        _check_pauli_rotations(1, n_c, evolution, trotter_steps, lower=True)
        pauli_terms = _pauli_terms(matrix)
        _check_pauli_rotations(len(pauli_terms), n_c, evolution, trotter_steps, lower=False)
    b = QuantumRegister(n_b, "b")
    clock = QuantumRegister(n_c, "clock")
    flag = QuantumRegister(1, "flag")
    registers = [b, clock, flag]
    if phase_reference:
        ref = QuantumRegister(1, "ref")
        registers.append(ref)
    qc = QuantumCircuit(*registers, name="hhl")
    if phase_reference:
        qc.h(ref[0])
        qc.compose(_prepare_b(vector, True), [ref[0], *b], inplace=True)
    else:
        qc.compose(_prepare_b(vector, False), b, inplace=True)
    qpe = QuantumCircuit(b, clock, name="qpe")
    qpe.h(clock)
    for j in range(n_c):
        time = evolution_time * (1 << j)
        if pauli_terms is None:
            gate = _exact_evolution_gate(matrix, time)
        else:  # one Pauli decomposition for every power
            gate = _product_formula_gate(
                pauli_terms, matrix, time, evolution, trotter_steps * (1 << j)
            )
        qpe.append(gate, [clock[j], *b])
    qpe.append(QFTGate(n_c).inverse(), clock)
    qc.compose(qpe, [*b, *clock], inplace=True)
    scale = 2 * np.pi / (evolution_time * (1 << n_c))
    inversion = EigenvalueInversionGate(n_c, scale, constant)
    if phase_reference:
        # ref = 1: the inversion rotation; ref = 0: RY(pi), i.e. flag -> |1> whatever the clock
        angles = np.concatenate([np.full(1 << n_c, np.pi), inversion.angles()])
        qc.compose(uniformly_controlled_ry(list(angles)), [flag[0], *clock, ref[0]], inplace=True)
    else:
        qc.append(inversion, [*clock, flag[0]])
    qc.compose(qpe.inverse(), [*b, *clock], inplace=True)
    if phase_reference:
        qc.p(Parameter("phi"), ref[0])
        qc.ry(Parameter("gamma"), ref[0])
    return qc


def to_standard_gates(circuit: QuantumCircuit, max_rounds: int = 20) -> QuantumCircuit:
    """Decomposes every instruction outside :data:`STANDARD_GATES` until none is left.

    Args:
        circuit: Any circuit.
        max_rounds: Safety bound on the decomposition rounds.

    Returns:
        An equivalent circuit of standard gates (``ry``, ``cx``, ``unitary``, ...) that Aer's
        ``SamplerV2`` and the torch engine run without a pass manager.
    """
    for _ in range(max_rounds):
        names = {inst.operation.name for inst in circuit.data} - STANDARD_GATES
        if not names:
            break
        circuit = circuit.decompose(gates_to_decompose=sorted(names))
    return circuit
