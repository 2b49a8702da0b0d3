# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Broadcast execution of one circuit template on a V2 primitive.

:class:`EstimatorRunner` and :class:`SamplerRunner` are the only places in qiskit-qdeep that call a
primitive's ``run``. They

* resolve the primitive (seeded local default) and type-check it,
* transpile the template once with the pass manager (ISA circuit, observables laid out) or check
  that a backend-bound primitive is not handed a non-ISA circuit,
* send a whole batch, and with gradients all parameter-shifted bindings of the batch, in **one**
  ``run`` call, split into a few PUBs of at most ``max_bindings_per_pub`` bindings each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.quantum_info import Pauli, SparsePauliOp

from ..exceptions import QDeepValueError
from .parameter_shift import ParameterShiftPlan
from .resolution import check_isa, check_pass_manager, resolve_estimator, resolve_sampler

#: Default cap on the bindings of one PUB. Aer's cost per binding grows with the PUB size, so a
#: large batch goes out as a few PUBs of this size inside a single ``run`` call.
DEFAULT_MAX_BINDINGS_PER_PUB = 1024

#: Largest classical register (in bits) whose full outcome distribution a SamplerRunner returns.
MAX_SAMPLER_CLBITS = 20


def as_sparse_pauli_ops(
    observables: Sequence[SparsePauliOp | Pauli | str] | SparsePauliOp | Pauli | str,
    num_qubits: int,
) -> list[SparsePauliOp]:
    """Normalises observables to a list of Hermitian ``SparsePauliOp`` on ``num_qubits`` qubits.

    Raises:
        QDeepValueError: On an empty list, a qubit-count mismatch or a non-Hermitian observable.
    """
    if isinstance(observables, (SparsePauliOp, Pauli, str)):
        observables = [observables]
    ops = []
    for i, obs in enumerate(observables):
        op = SparsePauliOp(obs) if not isinstance(obs, SparsePauliOp) else obs
        if op.num_qubits != num_qubits:
            raise QDeepValueError(
                f"Observable {i} acts on {op.num_qubits} qubits but the circuit has {num_qubits}."
            )
        if np.any(np.abs(op.coeffs.imag) > 1e-10):
            raise QDeepValueError(f"Observable {i} is not Hermitian (complex Pauli coefficients).")
        ops.append(op)
    if not ops:
        raise QDeepValueError("At least one observable is required.")
    return ops


def _check_values(values: Any, num_parameters: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim == 0 or values.shape[-1] != num_parameters:
        raise QDeepValueError(
            f"Parameter values must have shape (..., {num_parameters}), got {values.shape}."
        )
    if not np.all(np.isfinite(values)):
        raise QDeepValueError("Parameter values contain NaN or inf.")
    return values


class _Runner:
    """Shared template preparation and chunked submission."""

    def __init__(
        self,
        circuit: QuantumCircuit,
        primitive: Any,
        parameters: Sequence[Parameter] | None,
        pass_manager: BasePassManager | None,
        max_bindings_per_pub: int | None,
    ) -> None:
        if not isinstance(circuit, QuantumCircuit):
            raise QDeepValueError(
                f"circuit must be a QuantumCircuit, got {type(circuit).__name__}."
            )
        if max_bindings_per_pub is not None and max_bindings_per_pub < 1:
            raise QDeepValueError(f"max_bindings_per_pub must be >= 1, got {max_bindings_per_pub}.")
        self._circuit = circuit
        self._parameters = list(circuit.parameters if parameters is None else parameters)
        self._pass_manager = check_pass_manager(pass_manager)
        self._primitive = primitive
        self.max_bindings_per_pub = max_bindings_per_pub
        if pass_manager is not None:
            self._isa_circuit = pass_manager.run(circuit)
        else:
            check_isa(circuit, primitive)
            self._isa_circuit = circuit
        self._plan = ParameterShiftPlan(
            self._isa_circuit, self._parameters, allow_unroll=pass_manager is None
        )
        if pass_manager is not None:
            check_isa(self._plan.circuit, primitive)
        self.num_jobs = 0
        """Number of primitive jobs submitted so far (one per :meth:`run` call)."""

    @property
    def circuit(self) -> QuantumCircuit:
        """The circuit template as given."""
        return self._circuit.copy()

    @property
    def isa_circuit(self) -> QuantumCircuit:
        """The template after the pass manager (the template itself when there is none)."""
        return self._isa_circuit.copy()

    @property
    def parameters(self) -> list[Parameter]:
        """The parameter order of the last axis of the values."""
        return list(self._parameters)

    @property
    def pass_manager(self) -> BasePassManager | None:
        """The pass manager, if any."""
        return self._pass_manager

    def _chunks(self, bindings: np.ndarray) -> list[np.ndarray]:
        size = self.max_bindings_per_pub or max(len(bindings), 1)
        if len(bindings) <= size:
            return [bindings]
        num = -(-len(bindings) // size)
        return np.array_split(bindings, num)  # a few PUBs of (nearly) equal size

    def _submit(self, pubs: list[tuple]) -> Any:
        job = self._primitive.run(pubs)
        self.num_jobs += 1
        return job.result()


class EstimatorRunner(_Runner):
    """Expectation values (and parameter-shift Jacobians) of one template on a V2 estimator.

    Args:
        circuit: Parameterized circuit template.
        observables: Observables on the circuit's (virtual) qubits.
        parameters: Order of the parameter values' last axis; default ``circuit.parameters``.
        estimator: A V2 estimator; default a seeded
            :class:`~qiskit_qdeep.primitives.TorchStatevectorEstimator`.
        pass_manager: Transpiles the template once to an ISA circuit; observables are laid out
            with its layout.
        precision: Target precision per expectation value; ``None`` uses the estimator's default.
        max_bindings_per_pub: Largest number of bindings per PUB (``None``: one PUB).
        seed: Seed of the default estimator.

    Raises:
        QDeepTypeError: For a non-V2 estimator or a bad pass manager.
        ISACircuitError: If the estimator is bound to a backend and no pass manager was given.
        QDeepValueError: For bad observables, precision or parameters.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        observables: Sequence[SparsePauliOp | Pauli | str] | SparsePauliOp | Pauli | str,
        *,
        parameters: Sequence[Parameter] | None = None,
        estimator: BaseEstimatorV2 | None = None,
        pass_manager: BasePassManager | None = None,
        precision: float | None = None,
        max_bindings_per_pub: int | None = DEFAULT_MAX_BINDINGS_PER_PUB,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if precision is not None and not precision >= 0:
            raise QDeepValueError(f"precision must be >= 0, got {precision}.")
        observables = as_sparse_pauli_ops(observables, circuit.num_qubits)
        super().__init__(
            circuit,
            resolve_estimator(estimator, seed=seed),
            parameters,
            pass_manager,
            max_bindings_per_pub,
        )
        self._observables = observables
        layout = self._isa_circuit.layout if pass_manager is not None else None
        self._isa_observables = [
            obs.apply_layout(layout) if layout is not None else obs for obs in observables
        ]
        self._obs_array = [[obs] for obs in self._isa_observables]  # shape (O, 1)
        self.precision = precision

    @property
    def estimator(self) -> BaseEstimatorV2:
        """The resolved estimator."""
        return self._primitive

    @property
    def observables(self) -> list[SparsePauliOp]:
        """The observables on the template's qubits."""
        return list(self._observables)

    @property
    def isa_observables(self) -> list[SparsePauliOp]:
        """The observables laid out on the ISA circuit's qubits."""
        return list(self._isa_observables)

    def _evaluate(self, bindings: np.ndarray) -> np.ndarray:
        """Expectation values ``(num_observables, num_bindings)`` in one ``run`` call."""
        circuit = self._plan.circuit
        pubs = []
        for chunk in self._chunks(bindings):
            pub = (circuit, self._obs_array, chunk)
            pubs.append(pub if self.precision is None else (*pub, self.precision))
        result = self._submit(pubs)
        evs = [
            np.asarray(res.data.evs, dtype=float).reshape(len(self._obs_array), -1)
            for res in result
        ]
        return np.concatenate(evs, axis=1)

    def run(self, values: np.ndarray) -> np.ndarray:
        """Expectation values for a batch of parameter values.

        Args:
            values: Array ``(..., num_parameters)``.

        Returns:
            Array ``(..., num_observables)``.
        """
        values = _check_values(values, len(self._parameters))
        phi = self._plan.forward_bindings(values)
        flat = phi.reshape(-1, phi.shape[-1])
        evs = self._evaluate(flat)  # (O, N)
        return evs.T.reshape(*values.shape[:-1], len(self._observables))

    def run_with_gradient(
        self, values: np.ndarray, wrt: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Expectation values and their parameter-shift Jacobian from one ``run`` call.

        Args:
            values: Array ``(..., num_parameters)``.
            wrt: Indices of the parameters to differentiate; default all. Jacobian columns of
                other parameters are zero.

        Returns:
            ``(evs, jacobian)`` with shapes ``(..., num_observables)`` and
            ``(..., num_observables, num_parameters)`` (``None`` if ``wrt`` selects nothing).
        """
        values = _check_values(values, len(self._parameters))
        shift = self._plan.bindings(values, wrt)
        evs = self._evaluate(shift.values)  # (O, N)
        return self._plan.contract(evs, shift)


class SamplerRunner(_Runner):
    """Outcome probabilities (and parameter-shift Jacobians) of one template on a V2 sampler.

    The probabilities are estimated from the sampler's counts over all classical bits (joined
    registers; bit ``i`` of the outcome index is clbit ``i``). A template without classical bits
    gets ``measure_all``.

    Args:
        circuit: Parameterized circuit template.
        parameters: Order of the parameter values' last axis; default ``circuit.parameters``.
        sampler: A V2 sampler; default a seeded
            :class:`~qiskit_qdeep.primitives.TorchStatevectorSampler`.
        pass_manager: Transpiles the template once to an ISA circuit.
        shots: Shots per binding; ``None`` uses the sampler's default.
        max_bindings_per_pub: Largest number of bindings per PUB (``None``: one PUB).
        seed: Seed of the default sampler.

    Raises:
        QDeepValueError: For ``shots < 1`` or more than :data:`MAX_SAMPLER_CLBITS` classical bits.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        *,
        parameters: Sequence[Parameter] | None = None,
        sampler: BaseSamplerV2 | None = None,
        pass_manager: BasePassManager | None = None,
        shots: int | None = None,
        max_bindings_per_pub: int | None = DEFAULT_MAX_BINDINGS_PER_PUB,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if shots is not None and (int(shots) != shots or shots < 1):
            raise QDeepValueError(f"shots must be a positive integer, got {shots}.")
        if circuit.num_clbits == 0:
            circuit = circuit.measure_all(inplace=False)
        if circuit.num_clbits > MAX_SAMPLER_CLBITS:
            raise QDeepValueError(
                f"The circuit has {circuit.num_clbits} classical bits; full outcome distributions "
                f"are limited to {MAX_SAMPLER_CLBITS} bits (2**{MAX_SAMPLER_CLBITS} outcomes)."
            )
        super().__init__(
            circuit,
            resolve_sampler(sampler, seed=seed),
            parameters,
            pass_manager,
            max_bindings_per_pub,
        )
        self.shots = None if shots is None else int(shots)

    @property
    def sampler(self) -> BaseSamplerV2:
        """The resolved sampler."""
        return self._primitive

    @property
    def num_outcomes(self) -> int:
        """``2 ** num_clbits``."""
        return 2**self._circuit.num_clbits

    def _evaluate(self, bindings: np.ndarray) -> np.ndarray:
        """Outcome frequencies ``(num_outcomes, num_bindings)`` in one ``run`` call."""
        circuit = self._plan.circuit
        chunks = self._chunks(bindings)
        pubs = [
            (circuit, chunk) if self.shots is None else (circuit, chunk, self.shots)
            for chunk in chunks
        ]
        result = self._submit(pubs)
        freqs = []
        for res in result:
            bits = res.join_data()
            array = np.asarray(bits.array, dtype=np.uint64).reshape(
                -1, bits.num_shots, bits.array.shape[-1]
            )
            weights = np.left_shift(
                np.uint64(1), 8 * np.arange(array.shape[-1] - 1, -1, -1, dtype=np.uint64)
            )
            outcomes = (array * weights).sum(axis=-1)  # (n, shots) integers
            n = outcomes.shape[0]
            index = outcomes + (
                np.arange(n, dtype=np.uint64)[:, None] * np.uint64(self.num_outcomes)
            )
            counts = np.bincount(index.ravel().astype(np.int64), minlength=n * self.num_outcomes)
            freqs.append(counts.reshape(n, self.num_outcomes).T / bits.num_shots)
        return np.concatenate(freqs, axis=1)

    def run(self, values: np.ndarray) -> np.ndarray:
        """Estimated outcome probabilities for a batch of parameter values.

        Args:
            values: Array ``(..., num_parameters)``.

        Returns:
            Array ``(..., 2 ** num_clbits)``.
        """
        values = _check_values(values, len(self._parameters))
        phi = self._plan.forward_bindings(values)
        probs = self._evaluate(phi.reshape(-1, phi.shape[-1]))
        return probs.T.reshape(*values.shape[:-1], self.num_outcomes)

    def run_with_gradient(
        self, values: np.ndarray, wrt: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities and their parameter-shift Jacobian from one ``run`` call.

        Returns:
            ``(probs, jacobian)`` with shapes ``(..., num_outcomes)`` and
            ``(..., num_outcomes, num_parameters)``.
        """
        values = _check_values(values, len(self._parameters))
        shift = self._plan.bindings(values, wrt)
        return self._plan.contract(self._evaluate(shift.values), shift)
