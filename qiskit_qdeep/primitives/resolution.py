# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Resolution and validation of the V2 primitives and pass managers every algorithm receives."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2

from ..exceptions import ISACircuitError, QDeepTypeError

logger = logging.getLogger(__name__)

_ISA_HINT = (
    "Pass pass_manager=generate_preset_pass_manager(backend=backend, optimization_level=1) "
    "(from qiskit.transpiler) so the circuit is transpiled once to an ISA circuit for that backend."
)


def _v1_hint(obj: Any, kind: str) -> str:
    from qiskit.primitives import BaseEstimatorV1, BaseSamplerV1

    if not isinstance(obj, (BaseEstimatorV1, BaseSamplerV1)):
        return ""
    return (
        f" {type(obj).__name__} is a V1 primitive; qiskit-qdeep only runs on V2 primitives "
        f"(e.g. qiskit.primitives.Statevector{kind}, qiskit_aer.primitives.{kind}V2, or on IBM "
        f"Quantum qiskit_ibm_runtime.executor_{kind.lower()}.{kind}; the server-side "
        f"qiskit_ibm_runtime.{kind}V2 still works but is deprecated)."
    )


def seed_to_int(seed: int | np.random.Generator | None) -> int | None:
    """Turns a seed or generator into an ``int`` seed for primitives that only take integers."""
    if seed is None or isinstance(seed, (int, np.integer)):
        return None if seed is None else int(seed)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    raise QDeepTypeError(
        f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}."
    )


def resolve_estimator(
    estimator: BaseEstimatorV2 | None, *, seed: int | np.random.Generator | None = None
) -> BaseEstimatorV2:
    """Returns ``estimator`` after a type check, or the default local estimator.

    The default is :class:`~qiskit_qdeep.primitives.TorchStatevectorEstimator` (exact, seeded).

    Args:
        estimator: A V2 estimator or ``None``.
        seed: Seed for the default estimator.

    Returns:
        A :class:`~qiskit.primitives.BaseEstimatorV2`.

    Raises:
        QDeepTypeError: If ``estimator`` is not a V2 estimator (V1 primitives included).
    """
    if estimator is None:
        from .torch_primitives import TorchStatevectorEstimator

        return TorchStatevectorEstimator(seed=seed)
    if not isinstance(estimator, BaseEstimatorV2):
        raise QDeepTypeError(
            "estimator must be a qiskit.primitives.BaseEstimatorV2, got "
            f"{type(estimator).__name__}." + _v1_hint(estimator, "Estimator")
        )
    return estimator


def resolve_sampler(
    sampler: BaseSamplerV2 | None, *, seed: int | np.random.Generator | None = None
) -> BaseSamplerV2:
    """Returns ``sampler`` after a type check, or the default local sampler.

    The default is :class:`~qiskit_qdeep.primitives.TorchStatevectorSampler` (exact probabilities,
    seeded shot sampling).

    Args:
        sampler: A V2 sampler or ``None``.
        seed: Seed for the default sampler.

    Returns:
        A :class:`~qiskit.primitives.BaseSamplerV2`.

    Raises:
        QDeepTypeError: If ``sampler`` is not a V2 sampler (V1 primitives included).
    """
    if sampler is None:
        from .torch_primitives import TorchStatevectorSampler

        return TorchStatevectorSampler(seed=seed)
    if not isinstance(sampler, BaseSamplerV2):
        raise QDeepTypeError(
            f"sampler must be a qiskit.primitives.BaseSamplerV2, got {type(sampler).__name__}."
            + _v1_hint(sampler, "Sampler")
        )
    return sampler


def check_sampler(sampler: BaseSamplerV2 | None) -> BaseSamplerV2 | None:
    """``None`` (the caller picks its default later) or a type-checked V2 sampler.

    Raises:
        QDeepTypeError: If ``sampler`` is not a V2 sampler (V1 primitives included).
    """
    return None if sampler is None else resolve_sampler(sampler)


def check_pass_manager(pass_manager: BasePassManager | None) -> BasePassManager | None:
    """Type-checks an optional pass manager.

    Raises:
        QDeepTypeError: If ``pass_manager`` is neither ``None`` nor a ``BasePassManager``.
    """
    if pass_manager is not None and not isinstance(pass_manager, BasePassManager):
        raise QDeepTypeError(
            "pass_manager must be a qiskit.transpiler.BasePassManager (for example from "
            f"generate_preset_pass_manager), got {type(pass_manager).__name__}."
        )
    return pass_manager


def primitive_backend(primitive: Any) -> Any | None:
    """The hardware backend a primitive submits to, or ``None`` for local simulators.

    Works for qiskit-ibm-runtime primitives (``backend()``), Qiskit's ``BackendEstimatorV2`` /
    ``BackendSamplerV2`` (``backend``). Aer primitives run any circuit, so they count as local.
    """
    backend = getattr(primitive, "_backend", None)
    if backend is None:
        backend = getattr(primitive, "backend", None)
    if callable(backend) and not hasattr(backend, "target"):
        try:
            backend = backend()
        except Exception:  # pylint: disable=broad-except
            backend = None
    if backend is None or not hasattr(backend, "target"):
        return None
    try:
        from qiskit_aer import AerSimulator

        if isinstance(backend, AerSimulator) and not getattr(primitive, "_mode", None):
            return None
    except ImportError:  # pragma: no cover
        pass
    return backend


def check_isa(circuit: QuantumCircuit, primitive: Any, *, argument: str = "pass_manager") -> None:
    """Raises a clear error when ``primitive`` is bound to a backend and ``circuit`` is not ISA.

    Args:
        circuit: The circuit that is about to be submitted.
        primitive: The primitive it is submitted to.
        argument: Name of the argument the user should set, used in the message.

    Raises:
        ISACircuitError: If the backend's target does not support the circuit's instructions.
    """
    backend = primitive_backend(primitive)
    if backend is None:
        return
    target = backend.target
    name = getattr(backend, "name", type(backend).__name__)
    if circuit.num_qubits > target.num_qubits:
        raise ISACircuitError(
            f"The circuit has {circuit.num_qubits} qubits but backend '{name}' of "
            f"{type(primitive).__name__} has {target.num_qubits}: use a backend with at least "
            f"{circuit.num_qubits} qubits or a smaller problem (each algorithm documents its "
            "qubit count)."
        )
    for instruction in circuit.data:
        op_name = instruction.operation.name
        if op_name == "barrier":
            continue
        qargs = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        if not target.instruction_supported(op_name, qargs):
            raise ISACircuitError(
                f"{type(primitive).__name__} is bound to backend '{name}', which requires ISA "
                f"circuits, but instruction '{op_name}' on qubits {qargs} is not supported by "
                f"its target. {_ISA_HINT} Set it with the '{argument}' argument."
            )
