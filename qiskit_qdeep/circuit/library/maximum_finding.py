# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Oracle blocks of Dürr-Høyer maximum finding over a table of small integers (vote counts).

The table :math:`c_0, \dots, c_{k-1}` (for example the votes of the ``k (k - 1) / 2`` pairwise
classifiers of an all-pair multiclass SVM) is searched with an ``n = ceil(log2 k)``-qubit index
register. Every index carries the ``n + m``-bit **key**

.. math::

    \kappa_i = c_i \cdot 2^n + (2^n - 1 - i),

the count in the high ``m`` bits and the complement of the index in the low ``n`` bits. Keys are
distinct, and the largest key belongs to the largest count with the **smallest index** among
equal counts: the tie rule of :class:`~qiskit_qdeep.algorithms.DurrHoyerMaximum`. Indices
``i >= k`` (padding of the register to ``2**n``) get count ``0``; their keys are below the key of
every real index, so they are never marked once the threshold is the key of a real index.

Blocks, all parameterized so that **one template serves every table and threshold**:

* :func:`vote_loader_circuit`: the QROM ``|i>|c>|0> -> |i>|c XOR c_i>|0>`` (unary iteration: a
  multi-controlled ``X`` with control state ``i`` raises a flag, ``CP(pi * v)`` writes the bits,
  the flag is lowered again); its own inverse.
* :func:`greater_than_phase_circuit`: the comparator phase oracle
  ``|x>|0> -> (-1)^{[x > T]} |x>|0>`` for a threshold ``T`` given by its bits as parameters.
* :func:`maximum_finding_oracle`: load, compare the key with ``T``, unload.

:func:`maximum_finding_parameter_values` turns tables and thresholds into bindings.

Qubits of the oracle: ``n + m + 1`` (index, count, one flag ancilla), e.g. 5 for up to 4 classes
with counts below 4, 7 for 5-8 classes with counts below 8, 9 for 9-16 classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector

from ..._validation import check_int
from ...exceptions import QDeepValueError

__all__ = [
    "vote_loader_circuit",
    "greater_than_phase_circuit",
    "maximum_finding_oracle",
    "maximum_finding_keys",
    "maximum_finding_parameter_values",
]


def _check_sizes(num_index_qubits: int, num_count_bits: int) -> tuple[int, int]:
    return check_int("num_index_qubits", num_index_qubits), check_int(
        "num_count_bits", num_count_bits
    )


def _check_parameters(parameters: Sequence | None, size: int, name: str, prefix: str):
    if parameters is None:
        return ParameterVector(prefix, size)
    if len(parameters) != size:
        raise QDeepValueError(f"{name} must hold {size} parameters, got {len(parameters)}.")
    return parameters


def _controlled_phase(qc: QuantumCircuit, angle, control, target) -> None:
    """``CP(angle)`` from single-qubit phases and CNOTs (the textbook identity).

    Parameterized *controlled* gates are avoided on purpose: Aer's primitives bind their
    parameters wrongly (qiskit-aer issues #2323, #2391, #2403), while single-qubit ones work.
    """
    qc.p(angle / 2, control)
    qc.cx(control, target)
    qc.p(-angle / 2, target)
    qc.cx(control, target)
    qc.p(angle / 2, target)


def vote_loader_circuit(
    num_index_qubits: int,
    num_count_bits: int,
    parameters: Sequence | None = None,
) -> QuantumCircuit:
    r"""Parameterized QROM ``|i>|c>|0> -> |i>|c XOR c_i>|0>`` over ``2**num_index_qubits`` entries.

    Unary iteration over the table: for every index ``i`` a multi-controlled ``X`` with control
    state ``i`` raises the flag qubit, a controlled phase ``CP(pi * v[i * m + j])`` from the flag
    to count qubit ``j`` (between Hadamards on the count register) writes bit ``j`` of
    :math:`c_i`, and a second multi-controlled ``X`` lowers the flag. For bits ``v in {0, 1}``,
    ``H CP(pi v) H`` is exactly ``CX^v`` (no phase), so the loader is its own inverse. ``CP`` is
    written as ``P(a/2)`` on the flag, ``CX``, ``P(-a/2)``, ``CX``, ``P(a/2)`` on the target, so
    only single-qubit ``p`` rotations carry parameters (no parameterized controlled gate: Aer's
    primitives bind those wrongly, qiskit-aer issues #2323/#2403).

    Args:
        num_index_qubits: Size ``n`` of the index register (qubits ``0 .. n-1``).
        num_count_bits: Size ``m`` of the count register (qubits ``n .. n+m-1``, little endian).
        parameters: ``2**n * m`` parameters, entry ``i * m + j`` is bit ``j`` of :math:`c_i`
            (default a new ``ParameterVector("v", 2**n * m)``).

    Returns:
        The loader on ``n + m + 1`` qubits; the last one is the flag (:math:`|0\rangle` in and
        out).

    Raises:
        QDeepValueError: For bad sizes or a wrong number of parameters.
    """
    n, m = _check_sizes(num_index_qubits, num_count_bits)
    parameters = _check_parameters(parameters, 2**n * m, "parameters", "v")
    index = QuantumRegister(n, "index")
    count = QuantumRegister(m, "count")
    flag = QuantumRegister(1, "flag")
    qc = QuantumCircuit(index, count, flag, name="vote_loader")
    qc.h(count)
    for i in range(2**n):
        qc.mcx(list(index), flag[0], ctrl_state=i)
        for j in range(m):
            _controlled_phase(qc, np.pi * parameters[i * m + j], flag[0], count[j])
        qc.mcx(list(index), flag[0], ctrl_state=i)
    qc.h(count)
    return qc


def greater_than_phase_circuit(num_bits: int, parameters: Sequence | None = None) -> QuantumCircuit:
    r"""Comparator phase oracle ``|x>|0> -> (-1)^{[x > T]} |x>|0>`` with ``T`` from parameters.

    ``x > T`` exactly when, at the highest bit ``j`` where they differ, :math:`x_j = 1` and
    :math:`T_j = 0`. These events are disjoint, so the oracle is a product over ``j`` of phase
    flips on "bits above ``j`` equal those of ``T``, :math:`x_j = 1`, :math:`T_j = 0`". With
    :math:`x' = x \oplus \bar T` (``RX(pi (1 - t_l))`` on every qubit, undone at the end with
    ``RX(-pi (1 - t_l))``; the phases :math:`(-i)(+i)` cancel), event ``j`` is
    :math:`x'_{l} = 1` for ``l > j`` and :math:`x'_j = 0`: a multi-controlled ``X`` sets the flag,
    ``P(pi (1 - t_j))`` on the flag gives the sign, a second one clears it. Only ``rx`` and ``p``
    rotations carry parameters.

    Args:
        num_bits: Width ``w`` of the compared register (qubits ``0 .. w-1``, little endian).
        parameters: ``w`` parameters, the bits :math:`t_l` of ``T`` (default a new
            ``ParameterVector("t", w)``).

    Returns:
        The oracle on ``w + 1`` qubits; the last one is the flag (:math:`|0\rangle` in and out).

    Raises:
        QDeepValueError: For a bad size or a wrong number of parameters.
    """
    w = check_int("num_bits", num_bits)
    t = _check_parameters(parameters, w, "parameters", "t")
    x = QuantumRegister(w, "x")
    flag = QuantumRegister(1, "flag")
    qc = QuantumCircuit(x, flag, name="greater_than")
    for q in range(w):
        qc.rx(np.pi * (1 - t[q]), x[q])
    for j in range(w - 1, -1, -1):
        controls = [x[q] for q in range(j, w)]  # x'_j must be 0, x'_q (q > j) must be 1
        ctrl_state = (2 ** (w - j) - 1) - 1  # little endian over controls: bit 0 (x'_j) is 0
        qc.mcx(controls, flag[0], ctrl_state=ctrl_state)
        qc.p(np.pi * (1 - t[j]), flag[0])
        qc.mcx(controls, flag[0], ctrl_state=ctrl_state)
    for q in range(w):
        qc.rx(-np.pi * (1 - t[q]), x[q])
    return qc


def maximum_finding_oracle(num_index_qubits: int, num_count_bits: int) -> QuantumCircuit:
    r"""Phase oracle marking the indices whose key exceeds a threshold key, both from parameters.

    .. math::

        |i\rangle|0\rangle_{\text{count}}|0\rangle_{\text{flag}} \mapsto
        (-1)^{[\kappa_i > T]}\,|i\rangle|0\rangle|0\rangle, \qquad
        \kappa_i = c_i 2^n + (2^n - 1 - i).

    Steps: load the counts (:func:`vote_loader_circuit`), complement the index qubits (the low
    key bits), apply :func:`greater_than_phase_circuit` to the key register ``(index, count)``,
    undo the complement and the load.

    Registers in qubit order: ``index`` (``n``), ``count`` (``m``), ``flag`` (1); parameters
    ``t`` (``n + m`` threshold bits, little endian) and ``v`` (``2**n * m`` count bits, entry
    ``i * m + j``), bound with :func:`maximum_finding_parameter_values`.

    Args:
        num_index_qubits: Index register size ``n``.
        num_count_bits: Count register size ``m`` (counts up to ``2**m - 1``).

    Returns:
        The oracle on ``n + m + 1`` qubits.

    Raises:
        QDeepValueError: For bad sizes.
    """
    n, m = _check_sizes(num_index_qubits, num_count_bits)
    votes = ParameterVector("v", 2**n * m)
    threshold = ParameterVector("t", n + m)
    index = QuantumRegister(n, "index")
    count = QuantumRegister(m, "count")
    flag = QuantumRegister(1, "flag")
    qc = QuantumCircuit(index, count, flag, name="max_oracle")
    loader = vote_loader_circuit(n, m, votes)
    qc.compose(loader, qc.qubits, inplace=True)
    qc.x(index)
    qc.compose(greater_than_phase_circuit(n + m, threshold), qc.qubits, inplace=True)
    qc.x(index)
    qc.compose(loader, qc.qubits, inplace=True)
    return qc


def maximum_finding_keys(counts: np.ndarray, num_index_qubits: int) -> np.ndarray:
    """Keys ``c_i * 2**n + (2**n - 1 - i)`` of a batch of count tables (the tie rule's order).

    Args:
        counts: Non-negative integers ``(..., k)`` with ``k <= 2**num_index_qubits``.
        num_index_qubits: Index register size ``n``.

    Returns:
        Integer keys ``(..., 2**n)``; indices ``>= k`` get count ``0``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(num_index_qubits)
    padded = np.zeros(counts.shape[:-1] + (2**n,), dtype=np.int64)
    padded[..., : counts.shape[-1]] = counts
    return padded * 2**n + (2**n - 1 - np.arange(2**n))


def maximum_finding_parameter_values(
    counts: np.ndarray, thresholds: np.ndarray, num_index_qubits: int, num_count_bits: int
) -> np.ndarray:
    """Bindings of :func:`maximum_finding_oracle` for a batch of tables and threshold keys.

    Args:
        counts: Integer counts ``(batch, k)``, ``0 <= c < 2**num_count_bits``,
            ``k <= 2**num_index_qubits``.
        thresholds: Threshold keys ``(batch,)`` in ``[0, 2**(n + m))``.
        num_index_qubits: Index register size ``n``.
        num_count_bits: Count register size ``m``.

    Returns:
        Values ``(batch, n + m + 2**n * m)``: the threshold bits ``t`` then the count bits ``v``,
        the order of the oracle's :attr:`~qiskit.circuit.QuantumCircuit.parameters`.

    Raises:
        QDeepValueError: For counts or thresholds out of range or of the wrong shape.
    """
    n, m = _check_sizes(num_index_qubits, num_count_bits)
    counts = np.asarray(counts)
    thresholds = np.asarray(thresholds)
    if counts.ndim != 2 or counts.shape[1] > 2**n:
        raise QDeepValueError(
            f"counts must have shape (batch, k) with k <= 2**{n} = {2**n}, got {counts.shape}."
        )
    if np.any(counts < 0) or np.any(counts >= 2**m) or np.any(counts != np.round(counts)):
        raise QDeepValueError(f"counts must be integers in [0, {2**m}), got {counts.tolist()}.")
    if thresholds.shape != counts.shape[:1]:
        raise QDeepValueError(
            f"thresholds must have shape {counts.shape[:1]}, got {thresholds.shape}."
        )
    if (
        np.any(thresholds < 0)
        or np.any(thresholds >= 2 ** (n + m))
        or np.any(thresholds != np.round(thresholds))
    ):
        raise QDeepValueError(f"thresholds must be integers in [0, {2 ** (n + m)}).")
    counts = counts.astype(np.int64)
    thresholds = thresholds.astype(np.int64)
    padded = np.zeros((counts.shape[0], 2**n), dtype=np.int64)
    padded[:, : counts.shape[1]] = counts
    vote_bits = (padded[:, :, None] >> np.arange(m)) & 1  # (batch, 2**n, m)
    threshold_bits = (thresholds[:, None] >> np.arange(n + m)) & 1
    return np.concatenate([threshold_bits, vote_bits.reshape(counts.shape[0], -1)], axis=1).astype(
        float
    )
