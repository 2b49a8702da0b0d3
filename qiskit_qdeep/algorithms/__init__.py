# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quantum algorithms used by the estimators of qiskit-qdeep.

.. currentmodule:: qiskit_qdeep.algorithms

Maximum finding
---------------

Dürr-Høyer maximum finding (Grover search with a threshold oracle), used for the multiclass
vote of :class:`~qiskit_qdeep.svm.AllPairQSVM`.

.. autosummary::
   :toctree: ../stubs/

   DurrHoyerMaximum
   MaximumFindingResult
   find_maximum
   durr_hoyer_bound

.. autodata:: MAXIMUM_FINDING_MAX_QUBITS
"""

from .maximum_finding import (
    MAXIMUM_FINDING_MAX_QUBITS,
    DurrHoyerMaximum,
    MaximumFindingResult,
    durr_hoyer_bound,
    find_maximum,
)

__all__ = [
    "DurrHoyerMaximum",
    "MaximumFindingResult",
    "find_maximum",
    "durr_hoyer_bound",
    "MAXIMUM_FINDING_MAX_QUBITS",
]
