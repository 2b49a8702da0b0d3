# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Circuit library.

.. currentmodule:: qiskit_qdeep.circuit.library

Parameterized templates
-----------------------

.. autosummary::
   :toctree: ../stubs/

   strongly_entangling_circuit
   quanv_kernel_circuit
   quanvolution_encoding
   random_quanvolution_circuit
   hqnn_quanv_ansatz
   qccnn_ansatz

Blocks
------

.. autosummary::
   :toctree: ../stubs/

   SwapTestGate
   amplitude_encoding_circuit
   amplitude_encoding_angles
   qucnn_filter_ansatz
"""

from .quanvolution import (
    ANSATZES,
    ENCODINGS,
    hqnn_quanv_ansatz,
    num_ansatz_weights,
    qccnn_ansatz,
    quanv_kernel_circuit,
    quanvolution_encoding,
    random_quanvolution_circuit,
)
from .strongly_entangling import strongly_entangling_circuit
from .swap_test import (
    SwapTestGate,
    amplitude_encoding_angles,
    amplitude_encoding_circuit,
    num_amplitude_encoding_angles,
    num_qucnn_filter_weights,
    qucnn_filter_ansatz,
)

__all__ = [
    "strongly_entangling_circuit",
    "quanv_kernel_circuit",
    "quanvolution_encoding",
    "random_quanvolution_circuit",
    "hqnn_quanv_ansatz",
    "qccnn_ansatz",
    "num_ansatz_weights",
    "ENCODINGS",
    "ANSATZES",
    "SwapTestGate",
    "amplitude_encoding_angles",
    "amplitude_encoding_circuit",
    "num_amplitude_encoding_angles",
    "num_qucnn_filter_weights",
    "qucnn_filter_ansatz",
]
