# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""qiskit-qdeep: hybrid quantum deep learning on Qiskit V2 primitives.

Subpackages
===========

.. autosummary::
   :toctree: ../stubs/

   primitives
   nn
   exceptions
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
