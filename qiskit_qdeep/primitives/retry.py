# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Fault-tolerant submission of primitive jobs: retries with exponential backoff and timeouts.

Every ``run`` call of the runners goes through :func:`submit`, which

1. submits the PUBs with ``primitive.run``,
2. waits for the result (at most :attr:`RetryPolicy.timeout` seconds, cancelling a job that takes
   longer),
3. checks the result with the runner's decoder (number of PUB results, shapes, finiteness,
   data fields; a failed check raises :class:`~qiskit_qdeep.exceptions.PrimitiveResultError`),

and repeats the job after ``backoff * factor**(attempt - 1)`` seconds when any of these steps
fails with a *transient* error, at most :attr:`RetryPolicy.max_retries` times. Then it raises
:class:`~qiskit_qdeep.exceptions.PrimitiveJobError` carrying the last error.

Transient versus deterministic failures
=======================================

Only failures that a repeated job can fix are retried:

* **retried** -- a timeout (:class:`TimeoutError`, the wait of :func:`wait_for_result`), a result
  that fails the runner's checks (:class:`~qiskit_qdeep.exceptions.PrimitiveResultError`:
  missing PUB results, wrong shapes, NaN values returned by the primitive), network errors
  (:class:`ConnectionError`, ``requests`` / ``http.client`` errors), qiskit-ibm-runtime job
  failures and timeouts (``RuntimeJobFailureError``, ``RuntimeJobTimeoutError``,
  ``IBMRuntimeError``), and any other exception of :attr:`RetryPolicy.retry_on` that is not
  deterministic;
* **raised at once** (:func:`is_deterministic_error`) -- the exception types of
  :attr:`RetryPolicy.fail_fast_on` (default :data:`DETERMINISTIC_ERRORS`: qiskit-qdeep's own
  validation errors, ``TypeError``, ``ValueError``, ``NotImplementedError``, ``KeyError`` /
  ``IndexError``, ``AttributeError``, ``ImportError``, ``MemoryError``, ...), qiskit-ibm-runtime
  errors that no retry fixes (:func:`is_permanent_runtime_error`), and errors whose message says
  that the input itself is wrong: a non-Hermitian observable, NaN or infinite values, an
  instruction or simulation device the primitive does not support, CUDA not available.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qiskit.exceptions import QiskitError

from ..exceptions import (
    PrimitiveJobError,
    PrimitiveResultError,
    QDeepTypeError,
    QDeepValueError,
    QiskitQDeepError,
)

logger = logging.getLogger(__name__)

#: Exception types whose failures repeat on every attempt with the same PUBs: the default
#: :attr:`RetryPolicy.fail_fast_on`. qiskit-qdeep's own errors (validation, qubit limits,
#: unsupported gates, ISA checks) and Python's errors of a wrong input or a bug (type, value,
#: missing key or attribute, missing module, out of memory) surface at once.
#: :class:`~qiskit_qdeep.exceptions.PrimitiveResultError` (a malformed result) is the exception:
#: it is always retried.
DETERMINISTIC_ERRORS: tuple[type[BaseException], ...] = (
    QiskitQDeepError,
    TypeError,
    ValueError,
    NotImplementedError,
    LookupError,
    AttributeError,
    ArithmeticError,
    AssertionError,
    ImportError,
    MemoryError,
)

#: Messages of errors that a retry cannot fix, whatever their type: the input is wrong (a
#: non-Hermitian observable, NaN or infinite values).
_BAD_INPUT_MESSAGE = re.compile(
    r"non-hermitian|not hermitian|\bnan\b|not a number|non-finite|\binfinite\b",
    re.IGNORECASE,
)
#: Messages of Qiskit errors (Statevector, reference primitives, Aer) about an instruction or a
#: simulation device that the primitive does not support.
_UNSUPPORTED_MESSAGE = re.compile(
    r"unsupported|not supported|unknown instruction|cannot handle|cannot apply"
    r"|invalid simulation device|simulation device .*not available",
    re.IGNORECASE,
)
#: Messages of torch / CUDA errors of a machine without a usable GPU or of misplaced tensors.
_CUDA_MESSAGE = re.compile(
    r"cuda is not available|no cuda gpus|not compiled with cuda|no nvidia driver"
    r"|cuda driver version is insufficient|invalid device ordinal"
    r"|expected all tensors to be on the same device",
    re.IGNORECASE,
)


#: Sleep function of the backoff (a module attribute so tests can replace it).
_sleep = time.sleep


@dataclass(frozen=True)
class RetryPolicy:
    """How the runners handle failing primitive jobs.

    A job is repeated when ``primitive.run`` or ``job.result()`` raises an exception of one of
    :attr:`retry_on` (and not of :attr:`fail_fast_on`), when it does not finish within
    :attr:`timeout` seconds, or when its result fails the runner's checks. Attempt ``k >= 1`` is
    preceded by a pause of ``backoff * factor**(k - 1)`` seconds (capped at :attr:`max_backoff`).

    Example:
        .. code-block:: python

            from qiskit_qdeep.primitives import EstimatorRunner, RetryPolicy

            runner = EstimatorRunner(circuit, "ZZ", estimator=estimator,
                                     retry=RetryPolicy(max_retries=5, timeout=600))
            layer.runner.retry = RetryPolicy(max_retries=0)  # fail at the first error
    """

    max_retries: int = 3
    """Repetitions after the first attempt (``0``: no retry)."""
    backoff: float = 1.0
    """Pause before the first retry, in seconds."""
    factor: float = 2.0
    """Growth of the pause from one retry to the next."""
    max_backoff: float = 60.0
    """Longest pause between two attempts, in seconds."""
    timeout: float | None = None
    """Longest wait for one job's result, in seconds (``None``: no limit)."""
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    """Exception types of ``run`` / ``result`` that may count as transient failures (those that
    are not deterministic, see :func:`is_deterministic_error`)."""
    fail_fast_on: tuple[type[BaseException], ...] = DETERMINISTIC_ERRORS
    """Exception types raised at once, without retry (default :data:`DETERMINISTIC_ERRORS`:
    qiskit-qdeep's validation errors, ``TypeError``, ``ValueError``, ``NotImplementedError``,
    ``KeyError``, ``AttributeError``, ...): the same PUBs fail the same way on every attempt, so
    a retry only adds the backoff pauses. qiskit-ibm-runtime errors that a retry cannot fix
    (:func:`is_permanent_runtime_error`) and errors whose message names a deterministic cause
    (non-Hermitian observable, NaN, unsupported instruction or device, CUDA not available) are
    never retried either. :class:`~qiskit_qdeep.exceptions.PrimitiveResultError` (a malformed
    result) and timeouts are always retried."""

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise QDeepValueError(f"max_retries must be an integer >= 0, got {self.max_retries!r}.")
        for name in ("backoff", "max_backoff"):
            value = getattr(self, name)
            if not _is_real(value) or not value >= 0 or not math.isfinite(value):
                raise QDeepValueError(f"{name} must be a finite number >= 0, got {value!r}.")
        if not _is_real(self.factor) or not self.factor >= 1 or not math.isfinite(self.factor):
            raise QDeepValueError(f"factor must be a finite number >= 1, got {self.factor!r}.")
        if self.timeout is not None and (not _is_real(self.timeout) or not self.timeout > 0):
            raise QDeepValueError(f"timeout must be None or a number > 0, got {self.timeout!r}.")
        for name in ("retry_on", "fail_fast_on"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(
                isinstance(t, type) and issubclass(t, BaseException) for t in value
            ):
                raise QDeepTypeError(f"{name} must be a tuple of exception classes, got {value!r}.")

    def delay(self, attempt: int) -> float:
        """Pause in seconds before attempt ``attempt`` (``0`` is the first, without pause)."""
        if attempt <= 0:
            return 0.0
        return min(self.backoff * self.factor ** (attempt - 1), self.max_backoff)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: The policy of runners built without ``retry``: three retries after 1, 2 and 4 seconds.
DEFAULT_RETRY_POLICY = RetryPolicy()


def check_retry(retry: RetryPolicy | None) -> RetryPolicy:
    """``retry`` after a type check, or :data:`DEFAULT_RETRY_POLICY`.

    Raises:
        QDeepTypeError: If ``retry`` is not a :class:`RetryPolicy`.
    """
    if retry is None:
        return DEFAULT_RETRY_POLICY
    if not isinstance(retry, RetryPolicy):
        raise QDeepTypeError(
            f"retry must be a qiskit_qdeep.primitives.RetryPolicy or None, got "
            f"{type(retry).__name__}."
        )
    return retry


def wait_for_result(job: Any, timeout: float | None) -> Any:
    """``job.result()``, waiting at most ``timeout`` seconds for the job to finish.

    The wait polls ``job.in_final_state()`` (or ``job.done()``) with growing intervals; a job
    still running at the deadline is cancelled (where the job allows it).

    Raises:
        TimeoutError: If the job is not finished after ``timeout`` seconds.
    """
    if timeout is None:
        return job.result()
    finished = getattr(job, "in_final_state", None) or getattr(job, "done", None)
    if finished is None:  # no status API: rely on result(timeout=...) (IBM Runtime jobs)
        return job.result(timeout=timeout)
    deadline = time.monotonic() + timeout
    interval = 1e-3
    while not finished():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            try:
                job.cancel()
            except Exception:  # pylint: disable=broad-except
                pass
            raise TimeoutError(f"the primitive job did not finish within {timeout} s")
        time.sleep(min(interval, remaining))
        interval = min(2 * interval, 0.5)
    return job.result()


def is_permanent_runtime_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a qiskit-ibm-runtime error that a retry cannot fix.

    A closed or cancelled ``Session``/``Batch``, a job in a state that does not allow the
    request, a missing program, an account or authorisation problem, an invalid input and a job
    that ran past its maximum execution time (it would again) are raised at once instead of
    being retried (the retries would only add the backoff pauses). Other runtime errors (a
    failed or timed-out job, a service that is temporarily unavailable) are retried.
    """
    try:
        from qiskit_ibm_runtime import exceptions as runtime_exceptions
    except ImportError:  # pragma: no cover - qiskit-ibm-runtime is a dependency
        return False
    permanent = (
        runtime_exceptions.IBMAccountError,
        runtime_exceptions.IBMNotAuthorizedError,
        runtime_exceptions.IBMInputValueError,
        runtime_exceptions.RuntimeInvalidStateError,
        runtime_exceptions.RuntimeProgramNotFound,
    )
    permanent += tuple(
        getattr(runtime_exceptions, name)
        for name in ("RuntimeJobMaxTimeoutError",)
        if hasattr(runtime_exceptions, name)
    )
    if isinstance(exc, permanent):
        return True
    if isinstance(exc, runtime_exceptions.IBMRuntimeError):
        message = str(exc).lower()
        return "session is closed" in message or "session was closed" in message
    return False


def is_deterministic_error(
    exc: BaseException, fail_fast_on: tuple[type[BaseException], ...] = DETERMINISTIC_ERRORS
) -> bool:
    """Whether ``exc`` would fail the same way on every retry of the same PUBs.

    True for an instance of ``fail_fast_on`` (default :data:`DETERMINISTIC_ERRORS`), a
    qiskit-ibm-runtime error that a retry cannot fix (:func:`is_permanent_runtime_error`) and an
    error whose message names a deterministic cause (a non-Hermitian observable, NaN or infinite
    values, an unsupported instruction or simulation device, CUDA not available). False for a
    malformed result (:class:`~qiskit_qdeep.exceptions.PrimitiveResultError`) and a timeout of
    the wait (:class:`TimeoutError`), which are always worth a retry.
    """
    if isinstance(exc, (PrimitiveResultError, TimeoutError)):
        return False
    if isinstance(exc, fail_fast_on) or is_permanent_runtime_error(exc):
        return True
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit, GeneratorExit
        return True
    message = str(exc)
    if _BAD_INPUT_MESSAGE.search(message):
        return True
    if isinstance(exc, QiskitError) and _UNSUPPORTED_MESSAGE.search(message):
        return True
    return isinstance(exc, RuntimeError) and bool(_CUDA_MESSAGE.search(message))


def submit(
    primitive: Any,
    pubs: list,
    decode: Callable[[Any], Any],
    policy: RetryPolicy,
    *,
    on_submit: Callable[[], None] | None = None,
) -> Any:
    """Runs ``pubs`` on ``primitive`` in one job and returns ``decode(result)``, with retries.

    Args:
        primitive: A V2 primitive.
        pubs: The PUBs of the job.
        decode: Turns the primitive result into arrays; raises
            :class:`~qiskit_qdeep.exceptions.PrimitiveResultError` for a malformed result.
        policy: Retries, backoff and timeout.
        on_submit: Called after every successful ``primitive.run`` (job counters).

    Returns:
        ``decode(result)`` of the first attempt that succeeds.

    Raises:
        PrimitiveJobError: After ``1 + policy.max_retries`` failed attempts; ``cause`` and
            ``__cause__`` hold the last error.
    """
    attempts = policy.max_retries + 1
    last: BaseException | None = None
    for attempt in range(attempts):
        if attempt:
            pause = policy.delay(attempt)
            logger.warning(
                "Primitive job failed (attempt %d of %d): %s: %s. Retrying in %.3g s.",
                attempt,
                attempts,
                type(last).__name__,
                last,
                pause,
            )
            _sleep(pause)
        try:
            job = primitive.run(pubs)
            if on_submit is not None:
                on_submit()
            return decode(wait_for_result(job, policy.timeout))
        except (PrimitiveResultError, TimeoutError) as exc:
            last = exc
        except BaseException as exc:  # pylint: disable=broad-except
            if is_deterministic_error(exc, policy.fail_fast_on) or not isinstance(
                exc, policy.retry_on
            ):
                raise
            last = exc
    raise PrimitiveJobError(
        f"The {type(primitive).__name__} job failed {attempts} time(s) "
        f"(retry policy: max_retries={policy.max_retries}, timeout={policy.timeout}); "
        f"last error: {type(last).__name__}: {last}",
        cause=last,
        attempts=attempts,
    ) from last
