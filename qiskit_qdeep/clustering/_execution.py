# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Outcome probabilities of one circuit template: exact engine or a V2 sampler.

Private helper of :mod:`qiskit_qdeep.clustering`. The runner comes from the execution core's
factory (:func:`~qiskit_qdeep.primitives.factory.sampler_runner`): with neither a sampler nor
shots the template is simulated **exactly** (exact outcome probabilities through the one exact
executor, no shot noise); otherwise it runs through a
:class:`~qiskit_qdeep.primitives.SamplerRunner` (one sampler job per call).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseSamplerV2

from ..primitives import SamplerRunner
from ..primitives.factory import sampler_runner


class ProbabilityExecutor:
    """Runs a template for a batch of bindings and returns outcome probabilities.

    Args:
        circuit: Template with final measurements.
        parameters: Order of the values' last axis.
        sampler: A V2 sampler, or ``None``.
        pass_manager: Pass manager for the sampler's backend.
        shots: Shots per binding (``None``: the sampler's default).
        seed: Seed (or generator) of the default sampler.
        exact: Simulate exactly with the torch engine instead of sampling.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        parameters: Sequence[Parameter],
        *,
        sampler: BaseSamplerV2 | None,
        pass_manager: BasePassManager | None,
        shots: int | None,
        seed: int | np.random.Generator | None,
        exact: bool,
    ) -> None:
        self.exact = exact
        self._num_outcomes = 2**circuit.num_clbits
        if exact:
            self._execution = sampler_runner(circuit, exact=True, parameters=list(parameters))
        else:
            self._execution = sampler_runner(
                circuit,
                exact=False,
                parameters=list(parameters),
                sampler=sampler,
                pass_manager=pass_manager,
                shots=shots,
                seed=seed,
            )

    @property
    def num_jobs(self) -> int:
        """Executions so far: sampler jobs, or exact engine calls."""
        return self._execution.num_jobs

    @property
    def runner(self) -> SamplerRunner | None:
        """The sampler runner (``None`` in exact mode)."""
        return None if self.exact else self._execution

    def run(self, values: np.ndarray) -> np.ndarray:
        """Outcome probabilities ``(batch, 2**num_clbits)`` of ``values`` ``(batch, P)``."""
        values = np.asarray(values, dtype=float)
        if not len(values):
            return np.zeros((0, self._num_outcomes))
        return np.asarray(self._execution.run(values), dtype=float)
