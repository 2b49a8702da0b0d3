# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Circuit blocks of q-means: inner-product (distance) estimation and adiabatic assignment.

* :func:`hadamard_overlap_circuit` estimates the **signed** inner product
  :math:`\langle\hat x|\hat y\rangle` of two real unit vectors with one ancilla (Hadamard test):
  :math:`P(0) = (1 + \langle\hat x|\hat y\rangle) / 2`.
* :func:`swap_overlap_circuit` estimates :math:`|\langle\hat x|\hat y\rangle|^2` with the SWAP
  test: :math:`P(0) = (1 + \langle\hat x|\hat y\rangle^2) / 2` (enough for non-negative data,
  whose inner products are non-negative).
* :func:`adiabatic_assignment_circuit` is the Trotterized adiabatic evolution of a cluster
  register from the uniform superposition to the ground state of the diagonal distance
  Hamiltonian (Lloyd, Mohseni, Rebentrost 2013).

The vectors are loaded with the RY tree of
:func:`~qiskit_qdeep.circuit.library.amplitude_encoding_circuit`: the tree angles
(:func:`~qiskit_qdeep.circuit.library.amplitude_encoding_angles`) are circuit parameters, so one
template serves every pair of vectors and a whole batch of pairs is one primitive call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterExpression, ParameterVector
from qiskit.circuit.library import PauliEvolutionGate
from qiskit.quantum_info import Pauli, SparsePauliOp

from ..._validation import check_int
from ...exceptions import QDeepValueError
from .hhl import state_pair_circuit
from .swap_test import amplitude_encoding_circuit

__all__ = [
    "hadamard_overlap_circuit",
    "swap_overlap_circuit",
    "overlap_from_probability",
    "adiabatic_assignment_circuit",
    "num_cluster_qubits",
    "OVERLAP_TESTS",
]

#: The inner-product estimators of :func:`overlap_from_probability`.
OVERLAP_TESTS = ("hadamard", "swap")


def _angle_parameters(given, name: str, size: int, arg: str) -> list[Parameter]:
    if given is None:
        return list(ParameterVector(name, size))
    given = list(given)
    if len(given) != size:
        raise QDeepValueError(f"{arg} must hold {size} tree-angle parameters, got {len(given)}.")
    return given


def hadamard_overlap_circuit(
    num_qubits: int,
    x_parameters: Sequence[Parameter] | None = None,
    y_parameters: Sequence[Parameter] | None = None,
) -> QuantumCircuit:
    r"""Hadamard test of the real inner product :math:`\langle\hat x|\hat y\rangle`.

    Qubit ``0`` is the ancilla, qubits ``1 .. n`` the data register (data qubit ``q`` is circuit
    qubit ``1 + q``), and classical bit ``0`` holds the ancilla measurement. The circuit is

    .. math::

        |0\rangle|0\rangle^{\otimes n}
        \xrightarrow{H} \tfrac{1}{\sqrt 2}(|0\rangle + |1\rangle)|0\rangle^{\otimes n}
        \xrightarrow{\text{select}} \tfrac{1}{\sqrt 2}(|0\rangle|\hat x\rangle
        + |1\rangle|\hat y\rangle)
        \xrightarrow{H} \tfrac12 |0\rangle(|\hat x\rangle + |\hat y\rangle)
        + \tfrac12 |1\rangle(|\hat x\rangle - |\hat y\rangle),

    so :math:`P(0) = (1 + \langle\hat x|\hat y\rangle)/2` for real states, with the sign of the
    inner product (unlike the SWAP test). The *select* step loads :math:`\hat x` on the
    ancilla's :math:`|0\rangle` branch and :math:`\hat y` on its :math:`|1\rangle` branch
    (:func:`~qiskit_qdeep.circuit.library.state_pair_circuit`). It is built without
    multi-controlled gates: level ``l`` of the RY tree (see
    :func:`~qiskit_qdeep.circuit.library.amplitude_encoding_circuit`) is a uniformly controlled
    rotation over the ``l`` higher data qubits; adding the ancilla as one more (most significant)
    control gives a uniformly controlled rotation with ``l + 1`` controls whose angle table is
    :math:`x`'s level-``l`` angles for ancilla ``0`` and :math:`y`'s for ancilla ``1``. Its
    Gray-code decomposition has ``2**(l+1)`` ``ry`` and ``2**(l+1)`` ``cx`` gates, whose ``ry``
    angles are linear expressions of the tree-angle parameters. In total the circuit has
    ``2 (2**n - 1)`` ``ry``, ``2 (2**n - 1)`` ``cx`` and two ``h`` gates on ``n + 1`` qubits.

    Bind ``x_parameters`` to ``amplitude_encoding_angles(x)`` and ``y_parameters`` to
    ``amplitude_encoding_angles(y)``; the vectors need not be normalised (the angles are
    scale-invariant), signed entries are allowed.

    Example:

    .. code-block:: python

        import numpy as np
        from qiskit_qdeep.circuit.library import (
            amplitude_encoding_angles, hadamard_overlap_circuit)
        from qiskit_qdeep.primitives import SamplerRunner

        qc = hadamard_overlap_circuit(2)
        x, y = np.array([1.0, -2.0, 0.5, 0.0]), np.array([0.3, 0.1, -1.0, 2.0])
        values = np.concatenate([amplitude_encoding_angles(x), amplitude_encoding_angles(y)])
        p0 = SamplerRunner(qc, shots=4000, seed=1).run(values[None])[0, 0]
        overlap = 2 * p0 - 1  # ~ x @ y / (|x| |y|)

    Args:
        num_qubits: Data qubits ``n >= 1`` (vectors of length ``2**n``).
        x_parameters: The ``2**n - 1`` tree angles of :math:`x`; default ``ParameterVector("x")``.
        y_parameters: The ``2**n - 1`` tree angles of :math:`y`; default ``ParameterVector("y")``.

    Returns:
        The ``(n + 1)``-qubit circuit with one classical bit.

    Raises:
        QDeepValueError: For a bad ``num_qubits`` or wrong parameter counts.
    """
    n = check_int("num_qubits", num_qubits)
    size = (1 << n) - 1
    xs = _angle_parameters(x_parameters, "x", size, "x_parameters")
    ys = _angle_parameters(y_parameters, "y", size, "y_parameters")
    qc = QuantumCircuit(n + 1, 1, name="hadamard_overlap")
    qc.h(0)
    qc.compose(state_pair_circuit(n, xs, ys), range(n + 1), inplace=True)
    qc.h(0)
    qc.measure(0, 0)
    return qc


def swap_overlap_circuit(
    num_qubits: int,
    x_parameters: Sequence[Parameter] | None = None,
    y_parameters: Sequence[Parameter] | None = None,
) -> QuantumCircuit:
    r"""SWAP test of :math:`|\langle\hat x|\hat y\rangle|^2` between two RY-tree encoded vectors.

    Qubit ``0`` is the ancilla, qubits ``1 .. n`` hold :math:`|\hat x\rangle` and qubits
    ``n + 1 .. 2n`` hold :math:`|\hat y\rangle`; classical bit ``0`` is the ancilla and
    :math:`P(0) = (1 + \langle\hat x|\hat y\rangle^2)/2`. The sign of the inner product is lost,
    so use it only where the inner products are known to be non-negative (non-negative data and
    their centroids). The test is written with ``h`` and ``cswap`` (what
    :class:`~qiskit_qdeep.circuit.library.SwapTestGate` expands to), so every sampler runs it.

    Args:
        num_qubits: Qubits ``n >= 1`` per register (vectors of length ``2**n``).
        x_parameters: Tree angles of :math:`x`; default ``ParameterVector("x")``.
        y_parameters: Tree angles of :math:`y`; default ``ParameterVector("y")``.

    Returns:
        The ``(2n + 1)``-qubit circuit with one classical bit.

    Raises:
        QDeepValueError: For a bad ``num_qubits`` or wrong parameter counts.
    """
    n = check_int("num_qubits", num_qubits)
    size = (1 << n) - 1
    xs = _angle_parameters(x_parameters, "x", size, "x_parameters")
    ys = _angle_parameters(y_parameters, "y", size, "y_parameters")
    qc = QuantumCircuit(2 * n + 1, 1, name="swap_overlap")
    qc.compose(amplitude_encoding_circuit(n, xs), range(1, n + 1), inplace=True)
    qc.compose(amplitude_encoding_circuit(n, ys), range(n + 1, 2 * n + 1), inplace=True)
    qc.h(0)
    for k in range(n):
        qc.cswap(0, 1 + k, n + 1 + k)
    qc.h(0)
    qc.measure(0, 0)
    return qc


def overlap_from_probability(p0: np.ndarray, test: str = "hadamard") -> np.ndarray:
    r"""Inner products :math:`\langle\hat x|\hat y\rangle` from the ancilla's ``P(0)``.

    ``"hadamard"``: :math:`2P(0) - 1`; ``"swap"``: :math:`\sqrt{\max(2P(0) - 1, 0)}` (the
    non-negative root). Shot noise can push the estimate outside ``[-1, 1]``; it is clipped.

    Args:
        p0: Estimated probabilities of ancilla outcome ``0``.
        test: ``"hadamard"`` or ``"swap"``.

    Returns:
        Array of the shape of ``p0``.

    Raises:
        QDeepValueError: For an unknown ``test``.
    """
    if test not in OVERLAP_TESTS:
        raise QDeepValueError(f"test must be one of {OVERLAP_TESTS}, got {test!r}.")
    value = 2.0 * np.asarray(p0, dtype=float) - 1.0
    if test == "swap":
        return np.sqrt(np.clip(value, 0.0, 1.0))
    return np.clip(value, -1.0, 1.0)


def num_cluster_qubits(num_clusters: int) -> int:
    """Qubits of the cluster register, ``max(1, ceil(log2(num_clusters)))``."""
    k = check_int("num_clusters", num_clusters, 2)
    return max(1, int(k - 1).bit_length())


def _walsh_expressions(
    diagonal: list[ParameterExpression | float], num_qubits: int
) -> list[tuple[int, ParameterExpression | float]]:
    """Coefficients ``w_z`` of ``diag(D) = sum_z w_z Z^z`` for ``z != 0`` (non-zero terms)."""
    size = 1 << num_qubits
    terms = []
    for z in range(1, size):
        coeff = None
        for j, value in enumerate(diagonal):
            sign = -1.0 if bin(j & z).count("1") % 2 else 1.0
            term = (sign / size) * value
            coeff = term if coeff is None else coeff + term
        if isinstance(coeff, ParameterExpression) or abs(coeff) > 1e-15:
            terms.append((z, coeff))
    return terms


def adiabatic_assignment_circuit(
    num_clusters: int,
    evolution_time: float,
    trotter_steps: int,
    distances: Sequence[Parameter] | None = None,
    *,
    padding_distance: float = 1.5,
) -> QuantumCircuit:
    r"""Trotterized adiabatic evolution of a cluster register towards the nearest centroid.

    The register has :math:`m = \max(1, \lceil\log_2 k\rceil)` qubits (basis state
    :math:`|j\rangle` = cluster :math:`j`, with qubit ``q`` the bit ``q`` of ``j``). It starts in
    :math:`|\phi\rangle = H^{\otimes m}|0\rangle`, the uniform superposition of the register's
    :math:`2^m` basis states, and evolves under

    .. math::

        H(s) = (1 - s) H_0 + s H_f, \qquad H_0 = I - |\phi\rangle\langle\phi|,
        \qquad H_f = \sum_{j < 2^m} d_j |j\rangle\langle j|,

    where :math:`d_j` (``j < k``) are the circuit parameters ``distances`` (bind normalised
    squared distances of one point to the ``k`` centroids, e.g. in ``[0, 1]``) and the padding
    states :math:`j \ge k` get the constant ``padding_distance``, larger than every cluster's.
    :math:`|\phi\rangle` is the ground state of :math:`H_0` and, if the evolution is slow enough
    (adiabatic theorem; time :math:`\gg 1/\Delta^2` for the minimum gap :math:`\Delta`), the
    register ends in the ground state of :math:`H_f`: the nearest centroid.

    The evolution is discretised into ``trotter_steps`` first-order steps of length
    :math:`\delta t = T / R` at the midpoints :math:`s_r = (r + \tfrac12)/R`:

    .. math::

        U = \prod_{r=0}^{R-1} e^{-i\,\delta t\, s_r H_f}\; e^{-i\,\delta t\,(1 - s_r) H_0} .

    Both factors are :class:`~qiskit.circuit.library.PauliEvolutionGate` s of Pauli
    decompositions that are exact because their terms commute:
    :math:`H_0 = I - 2^{-m}\sum_{x} X^{x}` (all ``X`` strings; the identity is a global phase) and
    :math:`H_f = \sum_z w_z Z^{z}` with the Walsh coefficients
    :math:`w_z = 2^{-m}\sum_j (-1)^{z\cdot j} d_j`, linear expressions of the parameters. So
    one template serves every point: bind each point's distances. The register is measured into
    ``m`` classical bits (bit ``q`` = qubit ``q``, outcome index = cluster index).

    Simulation cost is tiny (``m`` qubits), but the gate count grows as
    ``trotter_steps * 2**(m+1)`` Pauli rotations.

    Args:
        num_clusters: Number of clusters ``k >= 2``.
        evolution_time: Total time :math:`T > 0` (in units of the inverse distance scale).
        trotter_steps: Number of Trotter steps :math:`R \ge 1`.
        distances: The ``k`` distance parameters; default ``ParameterVector("d", k)``.
        padding_distance: Energy of the padding states :math:`j \ge k`.

    Returns:
        The ``m``-qubit circuit with ``m`` classical bits.

    Raises:
        QDeepValueError: For bad sizes, a non-positive time or wrong parameter counts.

    References:
        S. Lloyd, M. Mohseni, P. Rebentrost, "Quantum algorithms for supervised and unsupervised
        machine learning", `arXiv:1307.0411 <https://arxiv.org/abs/1307.0411>`_.
    """
    k = check_int("num_clusters", num_clusters, 2)
    steps = check_int("trotter_steps", trotter_steps)
    if not (np.isfinite(evolution_time) and evolution_time > 0):
        raise QDeepValueError(f"evolution_time must be a positive number, got {evolution_time}.")
    if not np.isfinite(padding_distance):
        raise QDeepValueError(f"padding_distance must be finite, got {padding_distance}.")
    m = num_cluster_qubits(k)
    if distances is None:
        distances = list(ParameterVector("d", k))
    else:
        distances = list(distances)
        if len(distances) != k:
            raise QDeepValueError(f"distances must hold {k} parameters, got {len(distances)}.")
    diagonal = distances + [float(padding_distance)] * ((1 << m) - k)
    hf_terms = _walsh_expressions(diagonal, m)
    labels = [
        "".join("X" if (x >> q) & 1 else "I" for q in reversed(range(m))) for x in range(1, 1 << m)
    ]
    h0 = SparsePauliOp(labels, np.full(len(labels), -(2.0**-m)))
    dt = float(evolution_time) / steps
    qc = QuantumCircuit(m, m, name="adiabatic_assignment")
    qc.h(range(m))
    for r in range(steps):
        s = (r + 0.5) / steps
        qc.append(PauliEvolutionGate(h0, time=dt * (1.0 - s)), range(m))
        for z, coeff in hf_terms:
            label = "".join("Z" if (z >> q) & 1 else "I" for q in reversed(range(m)))
            qc.append(PauliEvolutionGate(Pauli(label), time=(dt * s) * coeff), range(m))
    qc.measure(range(m), range(m))
    return qc
