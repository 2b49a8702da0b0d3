# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The execution core of qiskit-qdeep.

.. currentmodule:: qiskit_qdeep.primitives

Every algorithm and layer of the package runs its circuits through this module: nothing else
calls a primitive's ``run``.

Running templates on V2 primitives
----------------------------------

.. autosummary::
   :toctree: ../stubs/

   EstimatorRunner
   SamplerRunner
   ParameterShiftPlan
   run_sampler_batch
   run_estimator_batch
   resolve_estimator
   resolve_sampler
   check_isa

Failing jobs
------------

Every job is checked (one result per PUB, shapes, finite values) and repeated with exponential
backoff when it raises, times out or returns malformed results; after the last retry the runners
raise :class:`~qiskit_qdeep.exceptions.PrimitiveJobError`.

.. autosummary::
   :toctree: ../stubs/

   RetryPolicy
   is_permanent_runtime_error

.. autodata:: DEFAULT_RETRY_POLICY

Exact statevector simulation in torch
-------------------------------------

A classical, exact simulation (memory ``2**num_qubits``) for simulation-only training with
autograd (``gradient="backprop"``), also exposed as V2 primitives. There is one exact path:
the exact runners below (the exact twins of the primitive runners, plus a differentiable
``evaluate``) and the torch primitives get their compiled engines from one process-wide cache
keyed by a content fingerprint of the circuit (an edited circuit is a new key, never a stale
hit). :func:`estimator_runner` / :func:`sampler_runner` decide between the exact path and a
primitive for every layer, model and algorithm of the package.

.. autosummary::
   :toctree: ../stubs/

   estimator_runner
   sampler_runner
   ExactEstimatorRunner
   ExactSamplerRunner
   ExactStatevectorRunner
   exact_engine
   exact_statevector
   swap_test_overlap
   circuit_fingerprint
   clear_exact_cache
   exact_cache_info
   StatevectorEngine
   TorchStatevectorEstimator
   TorchStatevectorSampler

Exact noisy density-matrix simulation in torch
----------------------------------------------

An exact classical density-matrix simulation (memory ``4**num_qubits``) with the noise of a
``qiskit_aer`` noise model or of a backend (``from_backend``), differentiable with autograd,
also exposed as V2 primitives.

.. autosummary::
   :toctree: ../stubs/

   DensityMatrixEngine
   TorchDensityMatrixEstimator
   TorchDensityMatrixSampler
   DensityMatrixEstimatorRunner
"""

from .batch import run_estimator_batch, run_sampler_batch
from .density_matrix import (
    DensityMatrixEngine,
    TorchDensityMatrixEstimator,
    TorchDensityMatrixSampler,
)
from .exact import (
    ExactEstimatorRunner,
    ExactSamplerRunner,
    ExactStatevectorRunner,
    clear_exact_cache,
    exact_cache_info,
    exact_engine,
    exact_statevector,
    swap_test_overlap,
)
from .factory import estimator_runner, sampler_runner
from .fingerprint import circuit_fingerprint
from .noisy import DensityMatrixEstimatorRunner
from .parameter_shift import SHIFTABLE_GATES, ParameterShiftPlan, ShiftBindings
from .resolution import check_isa, primitive_backend, resolve_estimator, resolve_sampler
from .retry import DEFAULT_RETRY_POLICY, RetryPolicy, is_permanent_runtime_error
from .runners import DEFAULT_MAX_BINDINGS_PER_PUB, EstimatorRunner, SamplerRunner
from .torch_engine import StatevectorEngine
from .torch_primitives import TorchStatevectorEstimator, TorchStatevectorSampler

__all__ = [
    "EstimatorRunner",
    "SamplerRunner",
    "run_sampler_batch",
    "run_estimator_batch",
    "RetryPolicy",
    "is_permanent_runtime_error",
    "DEFAULT_RETRY_POLICY",
    "ParameterShiftPlan",
    "ShiftBindings",
    "SHIFTABLE_GATES",
    "DEFAULT_MAX_BINDINGS_PER_PUB",
    "resolve_estimator",
    "resolve_sampler",
    "check_isa",
    "primitive_backend",
    "StatevectorEngine",
    "TorchStatevectorEstimator",
    "TorchStatevectorSampler",
    "DensityMatrixEngine",
    "TorchDensityMatrixEstimator",
    "TorchDensityMatrixSampler",
    "DensityMatrixEstimatorRunner",
    "estimator_runner",
    "sampler_runner",
    "ExactEstimatorRunner",
    "ExactSamplerRunner",
    "ExactStatevectorRunner",
    "exact_engine",
    "exact_statevector",
    "swap_test_overlap",
    "circuit_fingerprint",
    "clear_exact_cache",
    "exact_cache_info",
]
