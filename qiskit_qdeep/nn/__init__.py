# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""PyTorch layers backed by quantum circuits.

.. currentmodule:: qiskit_qdeep.nn

.. autosummary::
   :toctree: ../stubs/

   QuantumLayer
   ParallelQuantumLayer
   Quanv2d
"""

from .parallel import ParallelQuantumLayer
from .quantum_layer import GRADIENT_MODES, QuantumLayer
from .quanv import READOUTS, Quanv2d

__all__ = ["QuantumLayer", "ParallelQuantumLayer", "Quanv2d", "GRADIENT_MODES", "READOUTS"]
