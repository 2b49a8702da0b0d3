# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quantum support vector machines (scikit-learn estimators).

.. currentmodule:: qiskit_qdeep.svm

.. autosummary::
   :toctree: ../stubs/

   QLSSVM

.. autodata:: QLSSVM_MAX_TRAINING_POINTS
"""

from .qlssvm import QLSSVM, QLSSVM_MAX_TRAINING_POINTS

__all__ = ["QLSSVM", "QLSSVM_MAX_TRAINING_POINTS"]
