# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The one place that decides between the exact path and a primitive, for every caller.

:func:`estimator_runner` and :func:`sampler_runner` return either an exact runner
(:class:`~qiskit_qdeep.primitives.exact.ExactEstimatorRunner`,
:class:`~qiskit_qdeep.primitives.exact.ExactSamplerRunner`: the torch engine through the
process-wide cache) or a primitive runner (:class:`~qiskit_qdeep.primitives.EstimatorRunner`,
:class:`~qiskit_qdeep.primitives.SamplerRunner`). Both kinds share ``run``,
``run_with_gradient``, ``num_jobs`` and pickling; the exact ones add the differentiable
``evaluate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2

from ..exceptions import QDeepValueError
from .exact import ExactEstimatorRunner, ExactSamplerRunner
from .retry import RetryPolicy
from .runners import DEFAULT_MAX_BINDINGS_PER_PUB, EstimatorRunner, SamplerRunner

__all__ = ["estimator_runner", "sampler_runner", "check_exact_estimator_options"]


def _refuse_options(exact_reason: str, **options) -> None:
    given = {name: value for name, value in options.items() if value is not None}
    if given:
        names = ", ".join(f"{name}={value!r}" for name, value in given.items())
        raise QDeepValueError(
            f"{names} cannot be honoured on the exact path ({exact_reason}); drop it, or run "
            "on a primitive (gradient='parameter-shift' with an estimator / a sampler) to get "
            "shot noise."
        )


def check_exact_estimator_options(
    *,
    estimator: BaseEstimatorV2 | None = None,
    pass_manager: BasePassManager | None = None,
    precision: float | None = None,
) -> None:
    """Refuses the estimator options that the exact (``gradient="backprop"``) path cannot honour.

    An exact :class:`~qiskit_qdeep.primitives.TorchStatevectorEstimator` (default precision
    ``0``) is the same engine and is allowed; a
    :class:`~qiskit_qdeep.primitives.TorchDensityMatrixEstimator` (default precision ``0``) runs
    the noisy exact path, with an optional pass manager that transpiles the template to the
    backend of its noise model. Any other estimator, a non-zero precision (on the call or as the
    torch estimator's default) and, for the noiseless engine, a pass manager are refused.

    Raises:
        QDeepValueError: Naming the option and what to use instead.
    """
    if estimator is not None:
        from .density_matrix import TorchDensityMatrixEstimator
        from .torch_primitives import TorchStatevectorEstimator

        if isinstance(estimator, TorchDensityMatrixEstimator):  # exact and noisy
            if estimator.default_precision:
                raise QDeepValueError(
                    f"The estimator has default_precision={estimator.default_precision}, but "
                    "gradient='backprop' differentiates the exact noisy expectation values and "
                    "would silently ignore it. Use gradient='parameter-shift' to train with that "
                    "precision, or default_precision=0."
                )
            if precision is not None and precision != 0:
                _refuse_options("exact noisy expectation values", precision=precision)
            return
        if not isinstance(estimator, TorchStatevectorEstimator):
            raise QDeepValueError(
                "gradient='backprop' needs the exact torch engine, not "
                f"{type(estimator).__name__}; use gradient='parameter-shift' to run on this "
                "estimator."
            )
        if estimator.default_precision:
            raise QDeepValueError(
                f"The estimator has default_precision={estimator.default_precision}, but "
                "gradient='backprop' differentiates the exact expectation values and would "
                "silently ignore it. Use gradient='parameter-shift' to train with that "
                "precision, or default_precision=0."
            )
    if precision is not None and precision != 0:
        _refuse_options("exact expectation values", precision=precision)
    if pass_manager is not None:
        raise QDeepValueError(
            "gradient='backprop' simulates the circuit exactly in torch; a pass_manager only "
            "applies to gradient='parameter-shift' on an estimator."
        )


def estimator_runner(
    circuit: QuantumCircuit,
    observables,
    *,
    exact: bool,
    parameters: Sequence[Parameter] | None = None,
    estimator: BaseEstimatorV2 | None = None,
    pass_manager: BasePassManager | None = None,
    precision: float | None = None,
    max_bindings_per_pub: int | None = DEFAULT_MAX_BINDINGS_PER_PUB,
    seed: int | np.random.Generator | None = None,
    retry: RetryPolicy | None = None,
    max_qubits: int = 20,
) -> ExactEstimatorRunner | EstimatorRunner:
    """The runner of an expectation-value template.

    With ``exact=True`` the template is simulated exactly by the torch engine; a
    ``precision`` > 0, a pass manager, or an estimator with a non-zero default precision are
    refused (they cannot be honoured by an exact, differentiable simulation). An exact
    :class:`~qiskit_qdeep.primitives.TorchStatevectorEstimator` (default precision ``0``) may
    be given and is the same engine.

    Raises:
        QDeepValueError: For options the chosen path cannot honour.
    """
    if exact:
        check_exact_estimator_options(
            estimator=estimator, pass_manager=pass_manager, precision=precision
        )
        from .density_matrix import TorchDensityMatrixEstimator

        if isinstance(estimator, TorchDensityMatrixEstimator):
            from .noisy import DensityMatrixEstimatorRunner

            return DensityMatrixEstimatorRunner(
                circuit,
                observables,
                estimator=estimator,
                parameters=parameters,
                pass_manager=pass_manager,
            )
        return ExactEstimatorRunner(
            circuit, observables, parameters=parameters, max_qubits=max_qubits
        )
    return EstimatorRunner(
        circuit,
        observables,
        parameters=parameters,
        estimator=estimator,
        pass_manager=pass_manager,
        precision=precision,
        max_bindings_per_pub=max_bindings_per_pub,
        seed=seed,
        retry=retry,
    )


def sampler_runner(
    circuit: QuantumCircuit,
    *,
    exact: bool,
    parameters: Sequence[Parameter] | None = None,
    sampler: BaseSamplerV2 | None = None,
    pass_manager: BasePassManager | None = None,
    shots: int | None = None,
    max_bindings_per_pub: int | None = DEFAULT_MAX_BINDINGS_PER_PUB,
    seed: int | np.random.Generator | None = None,
    retry: RetryPolicy | None = None,
    max_qubits: int = 20,
) -> ExactSamplerRunner | SamplerRunner:
    """The runner of an outcome-probability template.

    With ``exact=True`` the exact outcome probabilities come from the torch engine; a
    sampler, shots or a pass manager are refused on that path.

    Raises:
        QDeepValueError: For options the chosen path cannot honour.
    """
    if exact:
        _refuse_options(
            "exact outcome probabilities", sampler=sampler, shots=shots, pass_manager=pass_manager
        )
        return ExactSamplerRunner(circuit, parameters=parameters, max_qubits=max_qubits)
    return SamplerRunner(
        circuit,
        parameters=parameters,
        sampler=sampler,
        pass_manager=pass_manager,
        shots=shots,
        max_bindings_per_pub=max_bindings_per_pub,
        seed=seed,
        retry=retry,
    )
