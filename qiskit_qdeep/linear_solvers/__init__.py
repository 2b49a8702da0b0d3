# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quantum linear solvers.

.. currentmodule:: qiskit_qdeep.linear_solvers

Qiskit removed its HHL implementation; qiskit-qdeep keeps one, built on V2 samplers (solution
amplitudes and signs), V2 estimators (observables of the solution, success probability) and the
circuit blocks of :mod:`qiskit_qdeep.circuit.library` (signed eigenvalue clock, Hermitian
dilation of non-Hermitian matrices, padding to a power-of-two size).

.. autosummary::
   :toctree: ../stubs/

   HHL
   HHLResult
   HHLWarning

.. autodata:: HHL_MAX_QUBITS
.. autodata:: HHL_MAX_AUTO_CLOCK_QUBITS
.. autodata:: HHL_MAX_UNITARY_BYTES
.. autodata:: HHL_MAX_PAULI_ROTATIONS
"""

from .hhl import (
    HHL,
    HHL_MAX_AUTO_CLOCK_QUBITS,
    HHL_MAX_PAULI_ROTATIONS,
    HHL_MAX_QUBITS,
    HHL_MAX_UNITARY_BYTES,
    HHLResult,
    HHLWarning,
)

__all__ = [
    "HHL",
    "HHLResult",
    "HHLWarning",
    "HHL_MAX_QUBITS",
    "HHL_MAX_AUTO_CLOCK_QUBITS",
    "HHL_MAX_UNITARY_BYTES",
    "HHL_MAX_PAULI_ROTATIONS",
]
