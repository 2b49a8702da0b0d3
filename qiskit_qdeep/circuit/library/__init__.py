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
]
