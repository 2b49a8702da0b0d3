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
   PrimitiveJobError
   PrimitiveResultError
   CheckpointError
   DatasetNotFoundError
   MissingOptionalDependencyError
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


class DatasetNotFoundError(QiskitQDeepError, FileNotFoundError):
    """Dataset files are missing from the given data directory (and no download was asked).

    Args:
        message: The full message (the problem and how to fix it).
        directory: The absolute directory that was searched (``None`` if not known).
        missing: The names of the missing files.
        problem: The message without the remedy, so that a caller (the command line) can word
            its own (``--download`` / ``--data-dir`` instead of ``download=True`` /
            ``data_dir=``).
    """

    def __init__(
        self,
        message: str,
        *,
        directory: str | None = None,
        missing: list[str] | None = None,
        problem: str | None = None,
    ) -> None:
        super().__init__(message)
        self.directory = directory
        self.missing = list(missing or [])
        self.problem = problem if problem is not None else message

    def __reduce__(self):
        return (_rebuild_dataset_error, (self.message, self.directory, self.missing, self.problem))


class ISACircuitError(QDeepValueError):
    """A primitive bound to a backend received a circuit that is not an ISA circuit for it."""


class PrimitiveResultError(QiskitQDeepError):
    """A primitive returned a result that does not fit the submitted PUBs.

    Raised by the runners' result checks (wrong number of PUB results, wrong shapes, NaN or inf
    values, missing data fields). The runners retry such jobs; after the last attempt the error
    becomes the :attr:`~PrimitiveJobError.cause` of a :class:`PrimitiveJobError`.
    """


class PrimitiveJobError(QiskitQDeepError):
    """A primitive job kept failing (raised, timed out or returned malformed results).

    Raised by :class:`~qiskit_qdeep.primitives.EstimatorRunner` and
    :class:`~qiskit_qdeep.primitives.SamplerRunner` after the retries of their
    :class:`~qiskit_qdeep.primitives.RetryPolicy` are used up.

    Args:
        message: What failed.
        cause: The error of the last attempt.
        attempts: Number of jobs submitted.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None, attempts: int = 0):
        super().__init__(message)
        self.cause = cause
        """The error of the last attempt (also ``__cause__``)."""
        self.attempts = attempts
        """Number of jobs submitted before giving up."""

    def __reduce__(self):
        return (_rebuild_job_error, (self.message, self.cause, self.attempts))


class CheckpointError(QDeepValueError):
    """A checkpoint cannot be used: the file is unreadable or of the wrong kind, or unwritable.

    Raised by :func:`~qiskit_qdeep.training.fit_classifier` and
    :meth:`QuantumDeepClustering.fit <qiskit_qdeep.clustering.QuantumDeepClustering.fit>` for a
    checkpoint file that is empty, truncated or corrupt, holds objects other than tensors and plain
    data (it is never unpickled with code execution), is not a checkpoint of that function, was
    written for another model (other parameter names or shapes) or with other settings than the
    resuming call, and for a checkpoint path that cannot be written (checked before training
    starts). The message names the file and what is wrong with it; nothing is modified (neither
    the model nor the file) before the error.
    """


class MissingOptionalDependencyError(QiskitQDeepError, ImportError):
    """A feature needs a package that is an optional extra of qiskit-qdeep and is not installed.

    The message names the feature, the missing package and the ``pip install`` command of the
    extra that provides it (for example ``pip install 'qiskit-qdeep[plot]'``).
    """


def _rebuild_dataset_error(message, directory, missing, problem):
    return DatasetNotFoundError(message, directory=directory, missing=missing, problem=problem)


def _rebuild_job_error(message, cause, attempts):
    return PrimitiveJobError(message, cause=cause, attempts=attempts)


__all__ = [
    "QiskitQDeepError",
    "QDeepValueError",
    "QDeepTypeError",
    "UnsupportedGateError",
    "QubitLimitError",
    "ISACircuitError",
    "PrimitiveJobError",
    "PrimitiveResultError",
    "CheckpointError",
    "DatasetNotFoundError",
    "MissingOptionalDependencyError",
]
