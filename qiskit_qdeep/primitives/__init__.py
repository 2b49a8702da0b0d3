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
   resolve_estimator
   resolve_sampler
   check_isa

Exact statevector simulation in torch
-------------------------------------

A classical, exact simulation (memory ``2**num_qubits``) for simulation-only training with
autograd (``gradient="backprop"``), also exposed as V2 primitives.

.. autosummary::
   :toctree: ../stubs/

   StatevectorEngine
   TorchStatevectorEstimator
   TorchStatevectorSampler
"""

from .parameter_shift import SHIFTABLE_GATES, ParameterShiftPlan, ShiftBindings
from .resolution import check_isa, primitive_backend, resolve_estimator, resolve_sampler
from .runners import DEFAULT_MAX_BINDINGS_PER_PUB, EstimatorRunner, SamplerRunner
from .torch_engine import StatevectorEngine
from .torch_primitives import TorchStatevectorEstimator, TorchStatevectorSampler

__all__ = [
    "EstimatorRunner",
    "SamplerRunner",
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
]
