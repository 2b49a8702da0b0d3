# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The exact torch statevector engine, split by concept.

* :mod:`.gates`: gate matrices and the compiled state operations (kernels);
* :mod:`.compiler`: the circuit flattener (rotations, fixed gates, phases);
* :mod:`.fusion`: fusion of the flattened stream into a :class:`~.program.CompiledProgram`;
* :mod:`.program`: replay of the program and its reverse sweep;
* :mod:`.adjoint`: the adjoint-method autograd function;
* :mod:`.observables`: Pauli tables and expectation values;
* :mod:`.engine`: the public :class:`StatevectorEngine`.
"""

from .engine import StatevectorEngine

__all__ = ["StatevectorEngine"]
