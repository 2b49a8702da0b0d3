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
"""

from .strongly_entangling import strongly_entangling_circuit

__all__ = ["strongly_entangling_circuit"]
