# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Circuits of qiskit-qdeep (see :mod:`qiskit_qdeep.circuit.library`)."""
