# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Angle embedding followed by strongly entangling layers (the HQNN-Parallel circuit)."""

from __future__ import annotations

from collections.abc import Sequence

from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector

from ...exceptions import QDeepValueError

_EMBEDDINGS = ("rx", "ry", "rz")


def strongly_entangling_circuit(
    num_qubits: int,
    reps: int = 3,
    *,
    embedding: str = "rx",
    input_params: Sequence[Parameter] | None = None,
    weight_params: Sequence[Parameter] | None = None,
) -> QuantumCircuit:
    r"""Angle embedding plus ``reps`` strongly entangling layers.

    The circuit of one parallel block of HQNN-Parallel (Senokosov et al. 2024): each input
    :math:`x_i` is embedded as ``RX(x_i)`` on qubit ``i``; each of the ``reps`` layers applies a
    general rotation ``RZ(w) RY(w) RZ(w)`` to every qubit, then a ring of CNOTs
    ``cx(0, 1), cx(1, 2), ..., cx(n-1, 0)`` (a single ``cx(0, 1)`` for two qubits, none for one).
    There are ``num_qubits`` input and ``3 * num_qubits * reps`` weight parameters; weight
    ``3 * (num_qubits * layer + qubit) + k`` is the ``k``-th rotation of that qubit in that layer.

    Args:
        num_qubits: Number of qubits (= number of inputs).
        reps: Number of entangling layers.
        embedding: Rotation used for the angle embedding: ``"rx"`` (the paper's), ``"ry"``,
            ``"rz"``.
        input_params: ``num_qubits`` parameters for the inputs; default ``ParameterVector("x")``.
        weight_params: ``3 * num_qubits * reps`` weight parameters; default
            ``ParameterVector("w")``.

    Returns:
        The circuit.

    Raises:
        QDeepValueError: For non-positive sizes, an unknown embedding or wrong parameter counts.

    References:
        A. Senokosov, A. Sedykh, A. Sagingalieva, B. Kyriacou, A. Melnikov, "Quantum machine
        learning for image classification", Mach. Learn.: Sci. Technol. 5, 015040 (2024),
        `arXiv:2304.09224 <https://arxiv.org/abs/2304.09224>`_.
    """
    if num_qubits < 1 or reps < 0:
        raise QDeepValueError(f"num_qubits must be >= 1 and reps >= 0, got {num_qubits}, {reps}.")
    if embedding not in _EMBEDDINGS:
        raise QDeepValueError(f"embedding must be one of {_EMBEDDINGS}, got {embedding!r}.")
    num_weights = 3 * num_qubits * reps
    x = ParameterVector("x", num_qubits) if input_params is None else list(input_params)
    w = ParameterVector("w", num_weights) if weight_params is None else list(weight_params)
    if len(x) != num_qubits:
        raise QDeepValueError(f"input_params must have {num_qubits} entries, got {len(x)}.")
    if len(w) != num_weights:
        raise QDeepValueError(f"weight_params must have {num_weights} entries, got {len(w)}.")
    circuit = QuantumCircuit(num_qubits, name="strongly_entangling")
    for qubit in range(num_qubits):
        getattr(circuit, embedding)(x[qubit], qubit)
    for layer in range(reps):
        for qubit in range(num_qubits):
            base = 3 * (num_qubits * layer + qubit)
            circuit.rz(w[base], qubit)
            circuit.ry(w[base + 1], qubit)
            circuit.rz(w[base + 2], qubit)
        if num_qubits == 2:
            circuit.cx(0, 1)
        elif num_qubits > 2:
            for qubit in range(num_qubits):
                circuit.cx(qubit, (qubit + 1) % num_qubits)
    return circuit
