# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The noisy exact path of the layers: ``gradient="backprop"`` on a density-matrix estimator.

A layer built with ``estimator=TorchDensityMatrixEstimator(noise_model=...)`` (or
``TorchDensityMatrixEstimator.from_backend(backend)``) and ``gradient="backprop"`` (or
``"auto"``) trains on exact noisy expectation values, differentiated by torch autograd through
the density-matrix engine. The noise model refers to a backend's physical qubits and gates, so
the template is transpiled with the ``pass_manager`` given to the layer (for example
``generate_preset_pass_manager(backend=backend, optimization_level=1)``) and the observables are
moved to the transpiled layout, exactly as on the hardware path.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.passmanager import BasePassManager

from ..exceptions import QDeepTypeError, QDeepValueError
from .density_matrix import DensityMatrixEngine, TorchDensityMatrixEstimator
from .exact import _eager, _ExactRunner
from .fingerprint import circuit_fingerprint, parameters_key
from .observables import as_sparse_pauli_ops

__all__ = ["DensityMatrixEstimatorRunner"]


class DensityMatrixEstimatorRunner(_ExactRunner):
    """Exact noisy expectation values of one template, differentiable with autograd.

    The interface of :class:`~qiskit_qdeep.primitives.ExactEstimatorRunner` (``run``,
    ``run_with_gradient``, ``evaluate``, ``evaluate_shared``, ``num_jobs``) on the
    :class:`~qiskit_qdeep.primitives.DensityMatrixEngine` with the estimator's noise model. An
    **exact classical simulation**: memory grows as ``4**num_qubits`` per binding.

    Args:
        circuit: Parameterized circuit template (logical qubits).
        observables: Observables on the template's qubits.
        estimator: The :class:`~qiskit_qdeep.primitives.TorchDensityMatrixEstimator` whose noise
            model, readout-error setting and qubit limit are used (its default precision must be
            0: backprop differentiates exact values).
        parameters: Order of the values' last axis; default ``circuit.parameters``.
        pass_manager: Transpiles the template to the backend the noise model describes.

    Raises:
        QDeepTypeError: If ``estimator`` is not a ``TorchDensityMatrixEstimator``.
        QDeepValueError: If the estimator has a non-zero default precision.
    """

    def __init__(  # pylint: disable=super-init-not-called
        self,
        circuit: QuantumCircuit,
        observables,
        *,
        estimator: TorchDensityMatrixEstimator,
        parameters: Sequence[Parameter] | None = None,
        pass_manager: BasePassManager | None = None,
    ) -> None:
        if not isinstance(circuit, QuantumCircuit):
            raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
        if not isinstance(estimator, TorchDensityMatrixEstimator):
            raise QDeepTypeError(
                f"estimator must be a TorchDensityMatrixEstimator, got {type(estimator).__name__}."
            )
        if estimator.default_precision:
            raise QDeepValueError(
                f"The estimator has default_precision={estimator.default_precision}, but "
                "gradient='backprop' differentiates the exact noisy expectation values and would "
                "silently ignore it. Use gradient='parameter-shift' to train with that "
                "precision, or default_precision=0."
            )
        observables = as_sparse_pauli_ops(observables, circuit.num_qubits)
        self._circuit = circuit.copy()
        self._parameters = list(circuit.parameters if parameters is None else parameters)
        isa = pass_manager.run(circuit) if pass_manager is not None else circuit.copy()
        if isa.layout is not None:
            observables = [obs.apply_layout(isa.layout) for obs in observables]
        self._isa = isa
        self._observables = observables
        self._estimator = estimator
        self._max_qubits = estimator._max_qubits  # pylint: disable=protected-access
        self._fingerprint = circuit_fingerprint(isa)
        self._parameters_id = parameters_key(self._parameters)
        self._engines: dict[tuple, DensityMatrixEngine] = {}
        self.num_jobs = 0
        """Exact evaluations so far (one per :meth:`run` / :meth:`evaluate` call)."""
        self.engine()  # compile (gates, noise, qubit limit) at construction

    @property
    def isa_circuit(self) -> QuantumCircuit:
        """A copy of the transpiled circuit that is simulated."""
        return self._isa.copy()

    @property
    def observables(self):
        """The observables on the transpiled circuit's qubits, one output each."""
        return list(self._observables)

    @property
    def noise_model(self):
        """The simulated noise model."""
        return self._estimator.noise_model

    def engine(self, dtype: torch.dtype = torch.complex128, device=None) -> DensityMatrixEngine:
        """The compiled density-matrix engine for ``dtype`` / ``device``."""
        device = torch.device(device) if device is not None else torch.device("cpu")
        key = (dtype, str(device))
        engine = self._engines.get(key)
        if engine is None:
            engine = DensityMatrixEngine(
                self._isa,
                parameters=self._parameters,
                noise_model=self._estimator.noise_model,
                dtype=dtype,
                device=device,
                max_qubits=self._max_qubits,
                readout_error=self._estimator._readout_error,  # pylint: disable=protected-access
            )
            self._engines[key] = engine
        return engine

    def statevector(self, values=None):  # noqa: D102 - a noisy state is no statevector
        raise QDeepValueError(
            "A noisy simulation has a density matrix, not a statevector: use "
            "runner.engine().density_matrix(values)."
        )

    @_eager
    def evaluate(self, values: torch.Tensor) -> torch.Tensor:
        """Noisy expectation values ``(..., num_observables)`` of ``values``, differentiable."""
        self.num_jobs += 1
        engine = self._engine_for(values)
        out = engine.expectation_values(values, self._observables)
        return out.to(values.dtype) if values.is_floating_point() else out

    def evaluate_shared(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """:meth:`evaluate` of ``concat(inputs[..., g, :], weights[g])``, shape ``(..., G, K)``."""
        lead = inputs.shape[:-2]
        values = torch.cat((inputs, weights.to(inputs.dtype).expand(lead + weights.shape)), -1)
        return self.evaluate(values)
