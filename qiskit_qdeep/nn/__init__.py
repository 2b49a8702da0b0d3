# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""PyTorch layers backed by quantum circuits.

.. currentmodule:: qiskit_qdeep.nn

.. autosummary::
   :toctree: ../stubs/

   QuantumLayer
"""

from .quantum_layer import GRADIENT_MODES, QuantumLayer

__all__ = ["QuantumLayer", "GRADIENT_MODES"]
