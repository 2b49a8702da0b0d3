# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Exact, batched, differentiable statevector simulation in torch (import path kept).

The engine lives in :mod:`qiskit_qdeep.primitives.statevector`; this module re-exports it.
"""

from .statevector.engine import StatevectorEngine

__all__ = ["StatevectorEngine"]
