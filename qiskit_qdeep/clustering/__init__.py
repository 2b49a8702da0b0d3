# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quantum clustering: q-means and quantum deep clustering.

.. currentmodule:: qiskit_qdeep.clustering

q-means
-------

.. autosummary::
   :toctree: ../stubs/

   QMeans
   adiabatic_success_curve
   plot_adiabatic_success
   AdiabaticSuccessCurve

Quantum deep clustering
-----------------------

.. autosummary::
   :toctree: ../stubs/

   QuantumDeepClustering
   ClassicalDeepClustering
   DeepClusteringHistory
   small_cnn
   plot_deep_clustering
"""

from .deep_clustering import (
    HEADS,
    ClassicalDeepClustering,
    DeepClusteringHistory,
    QuantumDeepClustering,
    plot_deep_clustering,
    small_cnn,
)
from .qmeans import (
    MAX_DATA_QUBITS,
    METHODS,
    AdiabaticSuccessCurve,
    QMeans,
    adiabatic_success_curve,
    plot_adiabatic_success,
)

__all__ = [
    "QMeans",
    "AdiabaticSuccessCurve",
    "adiabatic_success_curve",
    "plot_adiabatic_success",
    "MAX_DATA_QUBITS",
    "METHODS",
    "QuantumDeepClustering",
    "ClassicalDeepClustering",
    "DeepClusteringHistory",
    "small_cnn",
    "plot_deep_clustering",
    "HEADS",
]
