# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Primitive wrappers that count jobs, for the one-job-per-batch assertions of the tests."""

from __future__ import annotations

from qiskit.primitives import BaseSamplerV2


class CountingSampler(BaseSamplerV2):
    """Wraps a V2 sampler and counts its ``run`` calls."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def run(self, pubs, *, shots=None):
        self.calls += 1
        return self.inner.run(pubs, shots=shots)
