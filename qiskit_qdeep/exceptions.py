# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Exceptions raised by qiskit-qdeep.

.. currentmodule:: qiskit_qdeep.exceptions

Every error raised by the package derives from :class:`QiskitQDeepError`, itself a
:class:`~qiskit.exceptions.QiskitError`. Errors about bad values or types also derive from the
built-in :class:`ValueError` / :class:`TypeError`, so ``except ValueError`` keeps working.

.. autosummary::
   :toctree: ../stubs/

   QiskitQDeepError
   QDeepValueError
   QDeepTypeError
   UnsupportedGateError
   QubitLimitError
   ISACircuitError
"""

from __future__ import annotations

from qiskit.exceptions import QiskitError


class QiskitQDeepError(QiskitError):
    """Base class for all errors raised by qiskit-qdeep."""


class QDeepValueError(QiskitQDeepError, ValueError):
    """An argument has the right type but a bad value (shape, NaN, range, ...)."""


class QDeepTypeError(QiskitQDeepError, TypeError):
    """An argument has the wrong type (e.g. a V1 primitive where a V2 one is required)."""


class UnsupportedGateError(QDeepValueError):
    """A circuit contains an instruction the chosen method cannot handle.

    The message names the instruction.
    """


class QubitLimitError(QDeepValueError):
    """A circuit or problem needs more qubits than the chosen method allows."""


class ISACircuitError(QDeepValueError):
    """A primitive bound to a backend received a circuit that is not an ISA circuit for it."""


__all__ = [
    "QiskitQDeepError",
    "QDeepValueError",
    "QDeepTypeError",
    "UnsupportedGateError",
    "QubitLimitError",
    "ISACircuitError",
]
