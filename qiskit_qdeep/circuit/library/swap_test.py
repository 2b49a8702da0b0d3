# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Building blocks of QuCNN: SWAP test, RY-tree amplitude encoding and filter ansatz.

* :class:`SwapTestGate` compares two ``n``-qubit states with one ancilla:
  :math:`\langle Z_{\text{anc}}\rangle = 2P(0) - 1 = |\langle a|b\rangle|^2`.
* :func:`amplitude_encoding_circuit` prepares any **real** unit vector (signed entries allowed)
  from :math:`|0\rangle^{\otimes n}` with ``2**n - 1`` tree angles as circuit parameters, so one
  template serves every data vector; :func:`amplitude_encoding_angles` computes the angles of a
  whole batch of vectors at once.
* :func:`qucnn_filter_ansatz` is the trainable filter state of QuCNN (RX/RZ rotations and CNOT
  entanglers, ``num_layers`` deep).

:class:`~qiskit_qdeep.nn.SwapTestConv2d` combines them into a convolution layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, Parameter, ParameterExpression, ParameterVector

from ..._validation import check_int
from ...exceptions import QDeepTypeError, QDeepValueError

__all__ = [
    "SwapTestGate",
    "amplitude_encoding_angles",
    "amplitude_encoding_circuit",
    "num_amplitude_encoding_angles",
    "qucnn_filter_ansatz",
    "num_qucnn_filter_weights",
]


class SwapTestGate(Gate):
    r"""The SWAP test between two ``n``-qubit registers, with the ancilla first.

    The gate acts on ``1 + 2 n`` qubits: qubit ``0`` is the ancilla, qubits ``1 .. n`` hold the
    state :math:`|a\rangle` and qubits ``n + 1 .. 2 n`` hold :math:`|b\rangle` (qubit ``1 + k`` is
    swapped with qubit ``n + 1 + k``). Its definition is

    .. math::

        (H \otimes I)\, \mathrm{CSWAP}\, (H \otimes I), \qquad
        \mathrm{CSWAP} = \prod_{k=0}^{n-1} \mathrm{CSWAP}_{0;\,1+k,\,n+1+k},

    which maps :math:`|0\rangle|a\rangle|b\rangle` to

    .. math::

        |0\rangle \tfrac{1}{2}(|ab\rangle + |ba\rangle)
        + |1\rangle \tfrac{1}{2}(|ab\rangle - |ba\rangle),

    so that measuring the ancilla gives

    .. math::

        P(0) = \frac{1 + |\langle a|b\rangle|^2}{2}, \qquad
        \langle Z_0\rangle = 2 P(0) - 1 = |\langle a|b\rangle|^2 .

    The gate is its own inverse. Like Qiskit's ``QFTGate`` it is a plain
    :class:`~qiskit.circuit.Gate`; the transpiler (or any simulator that expands definitions)
    unrolls it into ``h`` and ``cswap``. Primitives that do not expand custom gates (Aer's
    ``SamplerV2``) need ``circuit.decompose("swap_test")`` or a pass manager first.

    Example:

    .. code-block:: python

        from qiskit import QuantumCircuit
        from qiskit_qdeep.circuit.library import SwapTestGate

        qc = QuantumCircuit(5, 1)
        qc.h([1, 3])                        # |a> = |+>|0>, |b> = |+>|0>
        qc.append(SwapTestGate(2), range(5))
        qc.measure(0, 0)                    # P(0) = 1

    Args:
        num_state_qubits: Number of qubits ``n`` of each compared state (``>= 1``); the gate has
            ``1 + 2 * num_state_qubits`` qubits (the name follows Qiskit's arithmetic gates,
            whose ``num_qubits`` also counts more than the data register).
        label: Optional gate label.

    Raises:
        QDeepValueError: If ``num_state_qubits`` is not a positive integer.

    References:
        H. Buhrman, R. Cleve, J. Watrous and R. de Wolf, "Quantum fingerprinting",
        `arXiv:quant-ph/0102001 <https://arxiv.org/abs/quant-ph/0102001>`_.
    """

    def __init__(self, num_state_qubits: int, label: str | None = None) -> None:
        num_state_qubits = check_int("num_state_qubits", num_state_qubits)
        super().__init__("swap_test", 1 + 2 * num_state_qubits, [], label=label)

    @property
    def num_state_qubits(self) -> int:
        """Qubits ``n`` of each compared state."""
        return (self.num_qubits - 1) // 2

    def _define(self) -> None:
        n = self.num_state_qubits
        qc = QuantumCircuit(1 + 2 * n, name=self.name)
        qc.h(0)
        for k in range(n):
            qc.cswap(0, 1 + k, 1 + n + k)
        qc.h(0)
        self.definition = qc

    def inverse(self, annotated: bool = False) -> SwapTestGate:  # pylint: disable=unused-argument
        """The SWAP test is self-inverse."""
        return SwapTestGate(self.num_state_qubits, label=self.label)

    def __eq__(self, other) -> bool:
        return isinstance(other, SwapTestGate) and self.num_qubits == other.num_qubits

    def __hash__(self) -> int:
        return hash(("swap_test", self.num_qubits))


# ----------------------------------------------------------------------------------------------
# Amplitude encoding
# ----------------------------------------------------------------------------------------------


def num_amplitude_encoding_angles(num_qubits: int) -> int:
    """Number of tree angles (``2**num_qubits - 1``) of :func:`amplitude_encoding_circuit`."""
    return (1 << check_int("num_qubits", num_qubits)) - 1


def amplitude_encoding_angles(vectors: np.ndarray) -> np.ndarray:
    r"""Tree angles that make :func:`amplitude_encoding_circuit` prepare ``vectors``, batched.

    For real vectors :math:`a` of length :math:`2^n` (not necessarily normalised; the angles are
    invariant under positive scaling), the state :math:`a / \|a\|` is built by a binary tree of
    :math:`RY(\theta) |0\rangle = \cos\tfrac{\theta}{2}|0\rangle + \sin\tfrac{\theta}{2}|1\rangle`
    rotations. Level ``l`` (``0 .. n-1``) splits on qubit ``n - 1 - l`` (the most significant
    bit first); its node ``j`` (the value of the ``l`` already fixed higher bits) covers the
    amplitudes with indices ``j * 2**(n-l) .. (j+1) * 2**(n-l) - 1``, whose norm is
    :math:`r_{l,j}`. Its angle is

    .. math::

        \theta_{l,j} = 2\,\mathrm{atan2}(r_{l+1,2j+1},\, r_{l+1,2j}) \in [0, \pi]
        \quad (l < n - 1), \qquad
        \theta_{n-1,j} = 2\,\mathrm{atan2}(a_{2j+1},\, a_{2j}) \in (-2\pi, 2\pi] .

    Inner levels only split non-negative norms; the **last level** uses the signed amplitudes
    themselves: for any signs, :math:`\cos(\theta/2) = a_{2j}/r` and
    :math:`\sin(\theta/2) = a_{2j+1}/r` with :math:`r = \sqrt{a_{2j}^2 + a_{2j+1}^2}`, so the
    product of the factors along the path to leaf :math:`i` is exactly :math:`a_i / \|a\|`.
    A zero subtree gets angle ``0`` (any value would do: its parent factor is ``0``); the zero
    vector therefore maps to :math:`|0\rangle^{\otimes n}` (callers decide what a zero vector
    means; :class:`~qiskit_qdeep.nn.SwapTestConv2d` never encodes one).

    The angles are ordered level by level and, within a level, by node ``j``:
    ``[theta_{0,0}, theta_{1,0}, theta_{1,1}, theta_{2,0}, ...]``. All vectors are processed
    with a handful of vectorised NumPy operations (no Python loop over vectors).

    Args:
        vectors: Real array ``(..., 2**n)`` with ``n >= 1``.

    Returns:
        Array ``(..., 2**n - 1)`` of float64 angles.

    Raises:
        QDeepValueError: For a last axis that is not a power of two ``>= 2`` or NaN/inf entries.
        QDeepTypeError: For complex entries.
    """
    array = np.asarray(vectors)
    if np.iscomplexobj(array):
        raise QDeepTypeError("vectors must be real; complex amplitudes are not supported.")
    array = array.astype(float, copy=False)
    if array.ndim == 0:
        raise QDeepValueError("vectors must have shape (..., 2**n), got a scalar.")
    dim = array.shape[-1]
    if dim < 2 or dim & (dim - 1):
        raise QDeepValueError(
            f"vectors must have a last axis of length 2**n with n >= 1, got {dim}."
        )
    if not np.all(np.isfinite(array)):
        raise QDeepValueError("vectors contain NaN or inf entries.")
    n = dim.bit_length() - 1
    lead = array.shape[:-1]
    levels = []
    # norms of the nodes of level l + 1 (l < n - 1), from the leaves upwards
    squares = array * array
    norms_by_level = {}
    sq = squares
    for level in range(n - 1, 0, -1):  # node norms of levels n-1 .. 1 (2**level nodes)
        sq = sq.reshape(*lead, 1 << level, 2).sum(axis=-1)
        norms_by_level[level] = np.sqrt(sq)
    for level in range(n - 1):
        children = norms_by_level[level + 1].reshape(*lead, 1 << level, 2)
        levels.append(2.0 * np.arctan2(children[..., 1], children[..., 0]))
    leaves = array.reshape(*lead, dim // 2, 2)
    levels.append(2.0 * np.arctan2(leaves[..., 1], leaves[..., 0]))
    return np.concatenate(levels, axis=-1)


def _gray_code_weights(num_controls: int) -> np.ndarray:
    r"""Matrix ``C`` with ``beta = C @ alpha`` for a uniformly controlled RY of ``k`` controls.

    ``C[i, j] = 2**-k (-1)^{popcount(j & gray(i))}``; see :func:`amplitude_encoding_circuit`.
    """
    size = 1 << num_controls
    i = np.arange(size)
    gray = i ^ (i >> 1)
    overlap = gray[:, None] & i[None, :]
    parity = np.zeros_like(overlap)
    for bit in range(num_controls):
        parity ^= (overlap >> bit) & 1
    return (1.0 - 2.0 * parity) / size


def _linear_combination(coeffs: np.ndarray, params: Sequence[Parameter]) -> ParameterExpression:
    expr = None
    for coeff, param in zip(coeffs, params):
        if abs(coeff) < 1e-15:
            continue
        term = float(coeff) * param
        expr = term if expr is None else expr + term
    return expr if expr is not None else 0.0 * params[0]


def amplitude_encoding_circuit(
    num_qubits: int, parameters: Sequence[Parameter] | None = None
) -> QuantumCircuit:
    r"""Parameterized RY-tree preparation of a real state, built from ``ry`` and ``cx`` only.

    Level ``l`` of the tree (see :func:`amplitude_encoding_angles`) is a *uniformly controlled*
    rotation: for every value ``j`` of the higher qubits ``n-l .. n-1`` (bit ``m`` of ``j`` is
    qubit ``n - l + m``) it applies :math:`RY(\alpha_{l,j})` to qubit ``n - 1 - l``. With
    ``k = l`` controls and :math:`N = 2^k` it is decomposed into ``N`` plain ``RY`` gates and
    ``N`` CNOTs (Möttönen et al.): gate ``i`` is :math:`RY(\beta_i)` on the target followed by a
    CNOT from the control whose bit changes between the Gray codes :math:`g_i = i \oplus
    \lfloor i/2 \rfloor` and :math:`g_{i+1}` (the highest control after the last gate). Since
    :math:`X\,RY(\beta)\,X = RY(-\beta)` and the CNOTs flip the target an even number of times
    in total, control value ``j`` sees the rotation
    :math:`\sum_i (-1)^{j \cdot g_i} \beta_i`, so

    .. math::

        \beta_i = 2^{-k} \sum_j (-1)^{j \cdot g_i}\, \alpha_{l,j},

    with :math:`j \cdot g_i` the parity of the common set bits. The ``ry`` angles are therefore
    linear :class:`~qiskit.circuit.ParameterExpression` s of the tree-angle parameters, and the
    circuit runs on any backend without a special gate. It has ``2**n - 1`` ``ry`` gates and
    ``2**n - 2`` CNOTs.

    Args:
        num_qubits: Number of qubits ``n >= 1`` (vectors of length ``2**n``).
        parameters: The ``2**n - 1`` tree-angle parameters, in the order of
            :func:`amplitude_encoding_angles`; default ``ParameterVector("x", 2**n - 1)``.

    Returns:
        The circuit; binding its parameters to ``amplitude_encoding_angles(a)`` prepares
        :math:`a / \|a\|`.

    Raises:
        QDeepValueError: For a bad ``num_qubits`` or a wrong number of parameters.
    """
    num_qubits = check_int("num_qubits", num_qubits)
    num_angles = (1 << num_qubits) - 1
    if parameters is None:
        parameters = list(ParameterVector("x", num_angles))
    else:
        parameters = list(parameters)
        if len(parameters) != num_angles:
            raise QDeepValueError(
                f"parameters must hold 2**{num_qubits} - 1 = {num_angles} tree angles, got "
                f"{len(parameters)}."
            )
    qc = QuantumCircuit(num_qubits, name="amplitude_encoding")
    start = 0
    for level in range(num_qubits):
        size = 1 << level
        alphas = parameters[start : start + size]
        start += size
        target = num_qubits - 1 - level
        if level == 0:
            qc.ry(alphas[0], target)
            continue
        controls = [num_qubits - level + m for m in range(level)]
        weights = _gray_code_weights(level)
        for i in range(size):
            qc.ry(_linear_combination(weights[i], alphas), target)
            if i + 1 < size:
                changed = ((i + 1) & -(i + 1)).bit_length() - 1  # lowest set bit of i + 1
            else:
                changed = level - 1
            qc.cx(controls[changed], target)
    return qc


# ----------------------------------------------------------------------------------------------
# Filter ansatz
# ----------------------------------------------------------------------------------------------


def num_qucnn_filter_weights(num_qubits: int, num_layers: int = 1) -> int:
    """Number of weights ``2 * num_qubits * num_layers`` of :func:`qucnn_filter_ansatz`."""
    return 2 * check_int("num_qubits", num_qubits) * check_int("num_layers", num_layers)


def qucnn_filter_ansatz(
    num_qubits: int, num_layers: int = 1, weight_params: Sequence[Parameter] | None = None
) -> QuantumCircuit:
    r"""The QuCNN filter state :math:`|f(\theta)\rangle = U(\theta)|0\rangle^{\otimes n}`.

    Each of the ``num_layers`` layers applies :math:`RZ(\theta_{l,q,1})\,RX(\theta_{l,q,0})` to
    every qubit ``q`` and then a CNOT chain ``q -> q + 1`` (``q = 0 .. n-2``), the Pauli-X/Z
    rotation plus CNOT-entanglement structure of Stein et al. (1-3 layers in the paper). Weight
    ``(l, q, r)`` is entry ``2 * (l * n + q) + r`` of ``weight_params``.

    Args:
        num_qubits: Number of qubits ``n >= 1``.
        num_layers: Number of layers ``>= 1``.
        weight_params: ``2 * n * num_layers`` parameters; default
            ``ParameterVector("w", 2 * n * num_layers)``.

    Returns:
        The ansatz circuit on ``n`` qubits.

    Raises:
        QDeepValueError: For bad sizes or a wrong number of parameters.

    References:
        S. A. Stein et al., "QuCNN: A Quantum Convolutional Neural Network with Entanglement Based
        Backpropagation", `arXiv:2210.05443 <https://arxiv.org/abs/2210.05443>`_.
    """
    num_weights = num_qucnn_filter_weights(num_qubits, num_layers)
    if weight_params is None:
        weight_params = list(ParameterVector("w", num_weights))
    else:
        weight_params = list(weight_params)
        if len(weight_params) != num_weights:
            raise QDeepValueError(
                f"weight_params must hold 2 * {num_qubits} * {num_layers} = {num_weights} "
                f"parameters, got {len(weight_params)}."
            )
    qc = QuantumCircuit(num_qubits, name="qucnn_filter")
    for layer in range(num_layers):
        for q in range(num_qubits):
            base = 2 * (layer * num_qubits + q)
            qc.rx(weight_params[base], q)
            qc.rz(weight_params[base + 1], q)
        for q in range(num_qubits - 1):
            qc.cx(q, q + 1)
    return qc
