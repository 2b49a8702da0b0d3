# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Outcome probabilities of one circuit template: exact engine or a V2 sampler.

Private helper of :mod:`qiskit_qdeep.clustering`. With neither a sampler nor shots the template is
simulated **exactly** by :class:`~qiskit_qdeep.primitives.StatevectorEngine` (exact outcome
probabilities, no shot noise); otherwise it runs through a
:class:`~qiskit_qdeep.primitives.SamplerRunner` (one sampler job per call).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseSamplerV2

from ..primitives import SamplerRunner, StatevectorEngine

#: Largest ``bindings * 2**num_qubits`` amplitudes simulated in one exact engine chunk.
_EXACT_CHUNK_AMPLITUDES = 1 << 22


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
        self.num_jobs = 0
        """Executions so far: sampler jobs, or exact engine calls."""
        self._num_outcomes = 2**circuit.num_clbits
        if exact:
            self._engine = StatevectorEngine(circuit, parameters=list(parameters))
            clbits = self._engine.final_measurements
            self._qubits = [clbits[c] for c in range(circuit.num_clbits)]
            self._runner = None
        else:
            self._engine = None
            self._runner = SamplerRunner(
                circuit,
                parameters=list(parameters),
                sampler=sampler,
                pass_manager=pass_manager,
                shots=shots,
                seed=seed,
            )

    @property
    def runner(self) -> SamplerRunner | None:
        """The sampler runner (``None`` in exact mode)."""
        return self._runner

    def run(self, values: np.ndarray) -> np.ndarray:
        """Outcome probabilities ``(batch, 2**num_clbits)`` of ``values`` ``(batch, P)``."""
        values = np.asarray(values, dtype=float)
        self.num_jobs += 1
        if self._runner is not None:
            return np.asarray(self._runner.run(values), dtype=float)
        size = max(1, _EXACT_CHUNK_AMPLITUDES >> self._engine.num_qubits)
        out = []
        with torch.no_grad():
            for start in range(0, len(values), size):
                probs = self._engine.probabilities(values[start : start + size], self._qubits)
                out.append(probs.to("cpu", torch.float64).numpy())
        if not out:
            return np.zeros((0, self._num_outcomes))
        return np.concatenate(out, axis=0)
