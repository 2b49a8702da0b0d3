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
   SwapTestConv2d
"""

from .parallel import ParallelQuantumLayer
from .quantum_layer import GRADIENT_MODES, QuantumLayer
from .quanv import READOUTS, Quanv2d
from .swap_conv import (
    SWAP_TEST_GRADIENT_MODES,
    AncillaGradientCurve,
    SwapTestConv2d,
    ancilla_gradient_error_curve,
    plot_ancilla_gradient_error_curve,
)

__all__ = [
    "QuantumLayer",
    "ParallelQuantumLayer",
    "Quanv2d",
    "SwapTestConv2d",
    "GRADIENT_MODES",
    "READOUTS",
    "SWAP_TEST_GRADIENT_MODES",
    "AncillaGradientCurve",
    "ancilla_gradient_error_curve",
    "plot_ancilla_gradient_error_curve",
]
