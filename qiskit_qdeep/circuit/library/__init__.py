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
   hadamard_overlap_circuit
   swap_overlap_circuit
   adiabatic_assignment_circuit

Blocks
------

.. autosummary::
   :toctree: ../stubs/

   SwapTestGate
   amplitude_encoding_circuit
   amplitude_encoding_angles
   qucnn_filter_ansatz
   overlap_from_probability

Maximum finding (Dürr-Høyer oracle)
-----------------------------------

.. autosummary::
   :toctree: ../stubs/

   maximum_finding_oracle
   vote_loader_circuit
   greater_than_phase_circuit
   maximum_finding_keys
   maximum_finding_parameter_values

HHL linear solver
-----------------

.. autosummary::
   :toctree: ../stubs/

   EigenvalueInversionGate
   hhl_circuit
   hhl_evolution_gate
   state_pair_circuit
   state_pair_template
   uniformly_controlled_ry
   signed_clock_values
   to_standard_gates
"""

from .distance_estimation import (
    OVERLAP_TESTS,
    adiabatic_assignment_circuit,
    hadamard_overlap_circuit,
    num_cluster_qubits,
    overlap_from_probability,
    swap_overlap_circuit,
)
from .hhl import (
    EigenvalueInversionGate,
    hhl_circuit,
    hhl_evolution_gate,
    signed_clock_values,
    state_pair_circuit,
    state_pair_template,
    to_standard_gates,
    uniformly_controlled_ry,
)
from .maximum_finding import (
    greater_than_phase_circuit,
    maximum_finding_keys,
    maximum_finding_oracle,
    maximum_finding_parameter_values,
    vote_loader_circuit,
)
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
    "hadamard_overlap_circuit",
    "swap_overlap_circuit",
    "adiabatic_assignment_circuit",
    "overlap_from_probability",
    "num_cluster_qubits",
    "OVERLAP_TESTS",
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
    "maximum_finding_oracle",
    "vote_loader_circuit",
    "greater_than_phase_circuit",
    "maximum_finding_keys",
    "maximum_finding_parameter_values",
    "EigenvalueInversionGate",
    "hhl_circuit",
    "hhl_evolution_gate",
    "signed_clock_values",
    "state_pair_circuit",
    "state_pair_template",
    "to_standard_gates",
    "uniformly_controlled_ry",
]
