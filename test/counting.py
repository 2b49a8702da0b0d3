# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Test primitives: a sampler that counts jobs and one that cannot be pickled."""

from __future__ import annotations

import threading

from qiskit.primitives import BaseSamplerV2

from qiskit_qdeep.primitives import TorchStatevectorSampler


class CountingSampler(BaseSamplerV2):
    """Wraps a V2 sampler and counts its ``run`` calls."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def run(self, pubs, *, shots=None):
        self.calls += 1
        return self.inner.run(pubs, shots=shots)


class UnpicklableSampler(TorchStatevectorSampler):
    """A sampler holding a lock, like a primitive bound to a live session."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
