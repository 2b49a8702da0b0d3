# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quantum support vector machines (scikit-learn estimators).

.. currentmodule:: qiskit_qdeep.svm

.. autosummary::
   :toctree: ../stubs/

   QLSSVM
   AllPairQSVM
   AllPairVote
   DeepQSVM

Classical reference
-------------------

The exact classical twin of :class:`QLSSVM` (same system, same kernel, same output), for
baselines and tests only; no quantum class uses it.

.. autosummary::
   :toctree: ../stubs/

   ClassicalLSSVM

.. autodata:: QLSSVM_MAX_TRAINING_POINTS
"""

from .allpair import VOTING_METHODS, AllPairQSVM, AllPairVote
from .classical_lssvm import ClassicalLSSVM
from .deep import DeepQSVM
from .qlssvm import QLSSVM, QLSSVM_MAX_TRAINING_POINTS

__all__ = [
    "QLSSVM",
    "QLSSVM_MAX_TRAINING_POINTS",
    "AllPairQSVM",
    "AllPairVote",
    "VOTING_METHODS",
    "DeepQSVM",
    "ClassicalLSSVM",
]
