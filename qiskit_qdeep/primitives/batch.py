# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Several circuit templates in one primitive job.

:func:`run_sampler_batch` and :func:`run_estimator_batch` take runners of *different* templates
that share one primitive object and submit the PUBs of all of them in a **single** ``run``
call (each runner chunking its bindings into PUBs as its own :meth:`run` does). The results are
split back per item and checked by the runner they belong to, with the same retries as a
runner's own jobs.

Job accounting: the call is one primitive job (plus one per retry). That number is added to the
:attr:`num_jobs` counter of *every* runner taking part (a runner listed twice counts once), so
each counter still tells how many jobs the runner took part in; the number of jobs of the whole
program is the number of batch calls, not the sum of the counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import QDeepTypeError, QDeepValueError
from .retry import RetryPolicy, check_retry, submit
from .runners import EstimatorRunner, SamplerRunner, _Runner, check_num_results


def _check_items(items: Any, kind: type[_Runner], primitive_name: str) -> list[tuple[_Runner, Any]]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise QDeepTypeError(
            f"items must be a sequence of ({kind.__name__}, values) pairs, got "
            f"{type(items).__name__}."
        )
    if len(items) == 0:
        raise QDeepValueError(f"items must hold at least one ({kind.__name__}, values) pair.")
    checked = []
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise QDeepTypeError(
                f"items[{i}] must be a ({kind.__name__}, values) pair, got {type(item).__name__}."
            )
        runner, values = item
        if not isinstance(runner, kind):
            raise QDeepTypeError(
                f"items[{i}][0] must be a {kind.__name__}, got {type(runner).__name__}."
            )
        checked.append((runner, values))
    first = checked[0][0]._primitive  # pylint: disable=protected-access
    for i, (runner, _) in enumerate(checked[1:], start=1):
        primitive = runner._primitive  # pylint: disable=protected-access
        if primitive is not first:
            raise QDeepValueError(
                f"All runners of one batch must share the same {primitive_name} object: items[0] "
                f"uses {type(first).__name__} (id {id(first):#x}), items[{i}] uses "
                f"{type(primitive).__name__} (id {id(primitive):#x}). Build the runners with "
                f"{primitive_name}=<one shared {primitive_name}>, or run them separately."
            )
    return checked


def _run_batch(
    items: Any, kind: type[_Runner], primitive_name: str, retry: RetryPolicy | None
) -> list[np.ndarray]:
    checked = _check_items(items, kind, primitive_name)
    policy = check_retry(retry) if retry is not None else checked[0][0].retry
    pubs: list[tuple] = []
    parts = []  # (runner, checked values, first pub, pub sizes)
    for runner, values in checked:
        values, flat = runner._forward_bindings(values)  # pylint: disable=protected-access
        item_pubs, sizes = runner._pubs(flat)  # pylint: disable=protected-access
        parts.append((runner, values, len(pubs), sizes))
        pubs.extend(item_pubs)

    def decode(result):
        results = check_num_results(result, len(pubs))
        outputs = []
        for runner, values, start, sizes in parts:
            raw = runner._decode(results[start : start + len(sizes)], sizes)  # pylint: disable=protected-access
            outputs.append(runner._forward_output(raw, values))  # pylint: disable=protected-access
        return outputs

    runners = list({id(runner): runner for runner, _ in checked}.values())

    def count():
        for runner in runners:
            runner._count_job()  # pylint: disable=protected-access

    primitive = checked[0][0]._primitive  # pylint: disable=protected-access
    return submit(primitive, pubs, decode, policy, on_submit=count)


def run_sampler_batch(
    items: Sequence[tuple[SamplerRunner, Any]], *, retry: RetryPolicy | None = None
) -> list[np.ndarray]:
    """Probabilities of several sampler templates from **one** ``sampler.run`` call.

    Each item is a :class:`~qiskit_qdeep.primitives.SamplerRunner` and its parameter values; the
    runners may have different circuits, parameters, shots and pass managers but must share the
    same sampler object. Item ``i`` of the result equals ``items[i][0].run(items[i][1])`` (up to
    shot noise), but all PUBs go out in one job. Every participating runner's ``num_jobs`` grows
    by the number of jobs submitted (one, plus retries).

    Example:
        .. code-block:: python

            sampler = SamplerV2(seed=7)
            a = SamplerRunner(circuit_a, sampler=sampler, shots=1000)
            b = SamplerRunner(circuit_b, sampler=sampler, shots=1000)
            probs_a, probs_b = run_sampler_batch([(a, values_a), (b, values_b)])

    Args:
        items: ``(runner, values)`` pairs; ``values`` has shape ``(..., runner's num_parameters)``.
        retry: Retry policy of the job; default the first runner's :attr:`retry`.

    Returns:
        One array ``(..., 2 ** num_clbits)`` per item, in item order.

    Raises:
        QDeepTypeError: If an item is not a ``(SamplerRunner, values)`` pair.
        QDeepValueError: For no items, runners on different samplers or bad values.
        PrimitiveJobError: If the job keeps failing after the retries.
    """
    return _run_batch(items, SamplerRunner, "sampler", retry)


def run_estimator_batch(
    items: Sequence[tuple[EstimatorRunner, Any]], *, retry: RetryPolicy | None = None
) -> list[np.ndarray]:
    """Expectation values of several estimator templates from **one** ``estimator.run`` call.

    The estimator counterpart of :func:`run_sampler_batch`: runners with different circuits,
    observables and precisions that share one estimator object.

    Args:
        items: ``(runner, values)`` pairs; ``values`` has shape ``(..., runner's num_parameters)``.
        retry: Retry policy of the job; default the first runner's :attr:`retry`.

    Returns:
        One array ``(..., num_observables)`` per item, in item order.

    Raises:
        QDeepTypeError: If an item is not an ``(EstimatorRunner, values)`` pair.
        QDeepValueError: For no items, runners on different estimators or bad values.
        PrimitiveJobError: If the job keeps failing after the retries.
    """
    return _run_batch(items, EstimatorRunner, "estimator", retry)
