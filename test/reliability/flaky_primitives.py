# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""V2 primitives that fail on purpose, around the exact default primitives (test helpers).

:class:`FlakyEstimator` and :class:`FlakySampler` pass every job to an inner primitive (default the
exact seeded torch primitives) except ``failures`` jobs from job number ``start`` (1-based, default
the first) on, which fail in the way ``mode`` names:

* ``"raise"``: ``run`` raises :class:`RuntimeError` (submission failure),
* ``"raise-result"``: the job's ``result()`` raises :class:`RuntimeError`,
* ``"hang"``: the job never finishes (``result()`` blocks until :meth:`release`),
* ``"drop-pub"``: one PUB result fewer than PUBs,
* ``"shape"``: data of the wrong shape (one binding short),
* ``"nan"`` (estimator only): NaN expectation values,
* ``"missing"``: the data bin lacks the ``evs`` / measurement fields.

They count ``calls`` and record the number of PUBs of every call in ``pubs_per_call``.
"""

from __future__ import annotations

import threading

import numpy as np
from qiskit.primitives import (
    BaseEstimatorV2,
    BasePrimitiveJob,
    BaseSamplerV2,
    BitArray,
    DataBin,
    PrimitiveJob,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit.providers import JobStatus

from qiskit_qdeep.primitives import TorchStatevectorEstimator, TorchStatevectorSampler

MODES = ("raise", "raise-result", "hang", "drop-pub", "shape", "nan", "missing")


class HangingJob(BasePrimitiveJob):
    """A job that stays RUNNING until :meth:`release` (or its cancellation)."""

    def __init__(self):
        super().__init__("hanging-job")
        self._event = threading.Event()
        self.cancel_calls = 0

    def result(self):
        self._event.wait(timeout=30)
        raise RuntimeError("the hanging job was released without a result")

    def status(self):
        return JobStatus.CANCELLED if self._event.is_set() else JobStatus.RUNNING

    def done(self):
        return False

    def running(self):
        return not self._event.is_set()

    def cancelled(self):
        return self._event.is_set()

    def in_final_state(self):
        return self._event.is_set()

    def cancel(self):
        self.cancel_calls += 1
        self._event.set()

    def release(self):
        """Lets a waiting ``result()`` return."""
        self._event.set()


def finished_job(result=None, error: BaseException | None = None) -> PrimitiveJob:
    """A local job that returns ``result`` or raises ``error``."""

    def work():
        if error is not None:
            raise error
        return result

    job = PrimitiveJob(work)
    job._submit()  # pylint: disable=protected-access
    return job


class _FlakyMixin:
    def _setup(self, inner, failures: int, mode: str, start: int):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.inner = inner
        self.failures = failures
        self.start = start
        self.mode = mode
        self.calls = 0
        self.pubs_per_call: list[int] = []
        self.jobs: list = []

    def release(self):
        """Releases every hanging job."""
        for job in self.jobs:
            if isinstance(job, HangingJob):
                job.release()

    def _fail(self, run_inner):
        if self.mode == "raise":
            raise RuntimeError(f"injected failure of job {self.calls}")
        if self.mode == "raise-result":
            return finished_job(error=RuntimeError(f"injected result failure of job {self.calls}"))
        if self.mode == "hang":
            job = HangingJob()
            self.jobs.append(job)
            return job
        good = run_inner().result()
        if self.mode == "drop-pub":
            return finished_job(PrimitiveResult(list(good)[:-1], metadata=good.metadata))
        return finished_job(
            PrimitiveResult([self._corrupt(res) for res in good], metadata=good.metadata)
        )

    def run(self, pubs, **kwargs):  # pylint: disable=missing-function-docstring
        pubs = list(pubs)
        self.calls += 1
        self.pubs_per_call.append(len(pubs))

        def run_inner():
            return self.inner.run(pubs, **kwargs)

        if self.start <= self.calls < self.start + self.failures:
            return self._fail(run_inner)
        return run_inner()


class FlakyEstimator(_FlakyMixin, BaseEstimatorV2):
    """An estimator whose first ``failures`` jobs fail in the way ``mode`` names."""

    def __init__(self, inner: BaseEstimatorV2 | None = None, *, failures=0, mode="raise", start=1):
        self._setup(inner or TorchStatevectorEstimator(seed=0), failures, mode, start)

    def _corrupt(self, res):
        evs, stds = np.asarray(res.data.evs), np.asarray(res.data.stds)
        if self.mode == "nan":
            evs = np.full_like(evs, np.nan)
        elif self.mode == "shape":
            evs, stds = evs[..., :-1], stds[..., :-1]
        elif self.mode == "missing":
            return PubResult(DataBin(stds=stds, shape=stds.shape), metadata=res.metadata)
        return PubResult(DataBin(evs=evs, stds=stds, shape=evs.shape), metadata=res.metadata)


class FlakySampler(_FlakyMixin, BaseSamplerV2):
    """A sampler whose first ``failures`` jobs fail in the way ``mode`` names."""

    def __init__(self, inner: BaseSamplerV2 | None = None, *, failures=0, mode="raise", start=1):
        if mode == "nan":
            raise ValueError("a sampler returns bits, there is no NaN mode")
        self._setup(inner or TorchStatevectorSampler(seed=0), failures, mode, start)

    def _corrupt(self, res):
        if self.mode == "missing":
            return SamplerPubResult(DataBin(shape=res.data.shape), metadata=res.metadata)
        fields = {}
        for name in res.data:
            bits = res.data[name]
            fields[name] = BitArray(np.asarray(bits.array)[:-1], bits.num_bits)
        shape = (res.data.shape[0] - 1, *res.data.shape[1:])
        return SamplerPubResult(DataBin(**fields, shape=shape), metadata=res.metadata)
