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
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.quantum_info import Pauli, SparseObservable, SparsePauliOp

from .._validation import check_int, check_precision, check_shots
from ..exceptions import PrimitiveResultError, QDeepTypeError, QDeepValueError, QiskitQDeepError
from .observables import as_sparse_pauli_ops
from .parameter_shift import ParameterShiftPlan
from .resolution import (
    check_isa,
    check_pass_manager,
    primitive_backend,
    resolve_estimator,
    resolve_sampler,
)
from .retry import RetryPolicy, check_retry, submit

#: Default cap on the bindings of one PUB. Aer's cost per binding grows with the PUB size, so a
#: large batch goes out as a few PUBs of this size inside a single ``run`` call.
DEFAULT_MAX_BINDINGS_PER_PUB = 1024

#: Largest classical register (in bits) whose full outcome distribution a SamplerRunner returns.
MAX_SAMPLER_CLBITS = 20


def is_local_primitive(primitive: Any) -> bool:
    """Whether ``primitive`` is a local simulator without credentials (safe to pickle).

    True for qiskit-qdeep's torch primitives, Qiskit's ``StatevectorEstimator`` /
    ``StatevectorSampler`` and Aer's V2 primitives; everything else (IBM Runtime primitives,
    backend primitives, user classes) may hold credentials.
    """
    from qiskit.primitives import StatevectorEstimator, StatevectorSampler

    from .torch_primitives import TorchStatevectorEstimator, TorchStatevectorSampler

    local: tuple[type, ...] = (
        TorchStatevectorEstimator,
        TorchStatevectorSampler,
        StatevectorEstimator,
        StatevectorSampler,
    )
    try:
        from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
        from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

        local += (AerEstimatorV2, AerSamplerV2)
    except ImportError:  # pragma: no cover
        pass
    return type(primitive) in local


def _check_circuit(circuit: Any) -> QuantumCircuit:
    if not isinstance(circuit, QuantumCircuit):
        raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
    return circuit


def _check_wrt(wrt: Any, num_parameters: int) -> list[int] | None:
    if wrt is None:
        return None
    try:
        indices = [int(i) for i in wrt]
        valid = all(float(i) == int(i) for i in wrt)
    except (TypeError, ValueError) as exc:
        raise QDeepTypeError(f"wrt must be a sequence of parameter indices, got {wrt!r}.") from exc
    if not valid or any(not 0 <= i < num_parameters for i in indices):
        raise QDeepValueError(
            f"wrt must hold parameter indices in [0, {num_parameters}), got {list(wrt)!r}."
        )
    return indices


def _check_values(values: Any, num_parameters: int) -> np.ndarray:
    """Parameter values as a finite real float array ``(..., num_parameters)``."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise QDeepValueError(f"values must be a numeric array, got {exc}.") from exc
    if np.iscomplexobj(array):
        raise QDeepTypeError(f"values must be real, got dtype {array.dtype}.")
    if array.dtype.kind not in "biuf":
        raise QDeepTypeError(f"values must be a real numeric array, got dtype {array.dtype}.")
    array = array.astype(float)
    if array.ndim == 0 or array.shape[-1] != num_parameters:
        raise QDeepValueError(
            f"values must have shape (..., {num_parameters}) (one column per parameter), "
            f"got {array.shape}."
        )
    if int(np.prod(array.shape[:-1])) == 0:
        raise QDeepValueError(f"values must hold at least one binding, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise QDeepValueError("values contain NaN or inf.")
    return array


class _Runner:
    """Shared template preparation and chunked submission."""

    def __init__(
        self,
        circuit: QuantumCircuit,
        primitive: Any,
        parameters: Sequence[Parameter] | None,
        pass_manager: BasePassManager | None,
        max_bindings_per_pub: int | None,
        retry: RetryPolicy | None = None,
    ) -> None:
        _check_circuit(circuit)
        if max_bindings_per_pub is not None:
            check_int("max_bindings_per_pub", max_bindings_per_pub)
        self.retry = check_retry(retry)
        self._circuit = circuit
        self._parameters = list(circuit.parameters if parameters is None else parameters)
        self._pass_manager = check_pass_manager(pass_manager)
        self._primitive = primitive
        self.max_bindings_per_pub = max_bindings_per_pub
        if pass_manager is not None:
            backend = primitive_backend(primitive)
            if backend is not None and circuit.num_qubits > backend.target.num_qubits:
                check_isa(circuit, primitive)  # raises: more qubits than the backend has
            try:
                self._isa_circuit = pass_manager.run(circuit)
            except Exception as exc:  # pylint: disable=broad-except
                raise QDeepValueError(
                    f"pass_manager could not transpile the circuit ({circuit.num_qubits} qubits, "
                    f"{circuit.size()} instructions): {type(exc).__name__}: {exc}"
                ) from exc
        else:
            check_isa(circuit, primitive)
            self._isa_circuit = circuit
        self._plan = ParameterShiftPlan(
            self._isa_circuit, self._parameters, allow_unroll=pass_manager is None
        )
        if pass_manager is not None:
            check_isa(self._plan.circuit, primitive)
        self.num_jobs = 0
        """Number of primitive jobs submitted so far: one per :meth:`run` call, plus one per
        retry of a failed job; a :func:`run_sampler_batch` / :func:`run_estimator_batch` call
        adds its jobs to every runner taking part."""

    def __repr__(self) -> str:
        # Names the primitive's type only: its repr may show options or credentials.
        return (
            f"{type(self).__name__}(num_qubits={self._circuit.num_qubits}, "
            f"num_parameters={len(self._parameters)}, primitive={type(self._primitive).__name__}, "
            f"pass_manager={self._pass_manager is not None}, num_jobs={self.num_jobs})"
        )

    def __getstate__(self) -> dict:
        # Primitives may hold credentials (IBM Runtime services, tokens in options): only the
        # local simulators below are pickled with the runner; others are left out, and the
        # unpickled runner refuses to run until it is rebuilt with a primitive.
        # The pass manager is not pickled either (preset ones hold unpicklable callables, and it
        # is only needed to build the ISA circuit, which is kept).
        state = self.__dict__.copy()
        state["_pass_manager"] = None
        if not is_local_primitive(self._primitive):
            state["_primitive"] = None
            state["_dropped_primitive"] = type(self._primitive).__name__
        return state

    @property
    def retry(self) -> RetryPolicy:
        """The :class:`RetryPolicy` of the primitive jobs (settable)."""
        return self._retry

    @retry.setter
    def retry(self, policy: RetryPolicy | None) -> None:
        self._retry = check_retry(policy)

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
        """The pass manager, if any (``None`` after unpickling: only its ISA circuit is kept)."""
        return self._pass_manager

    def _chunks(self, bindings: np.ndarray) -> list[np.ndarray]:
        size = self.max_bindings_per_pub or max(len(bindings), 1)
        if len(bindings) <= size:
            return [bindings]
        num = -(-len(bindings) // size)
        return np.array_split(bindings, num)  # a few PUBs of (nearly) equal size

    def _pub(self, chunk: np.ndarray) -> tuple:
        """The PUB over the bindings ``chunk`` ``(n, num_circuit_parameters)``."""
        raise NotImplementedError

    def _pubs(self, bindings: np.ndarray) -> tuple[list[tuple], list[int]]:
        """The PUBs of one job over ``bindings`` and their numbers of bindings."""
        chunks = self._chunks(bindings)
        return [self._pub(chunk) for chunk in chunks], [len(chunk) for chunk in chunks]

    def _decode(self, results: Sequence[Any], sizes: Sequence[int]) -> np.ndarray:
        """Checked outputs ``(num_outputs, sum(sizes))`` of PUB results of ``sizes`` bindings.

        Raises:
            PrimitiveResultError: For a malformed result.
        """
        raise NotImplementedError

    def _evaluate(self, bindings: np.ndarray) -> np.ndarray:
        """Outputs ``(num_outputs, num_bindings)`` in one (retried) primitive job."""
        self._check_primitive()
        pubs, sizes = self._pubs(bindings)

        def decode(result):
            return self._decode(check_num_results(result, len(pubs)), sizes)

        return submit(self._primitive, pubs, decode, self._retry, on_submit=self._count_job)

    def _forward_bindings(self, values: Any) -> tuple[np.ndarray, np.ndarray]:
        """Checked ``values`` and the flat circuit bindings ``(N, num_circuit_parameters)``."""
        values = _check_values(values, len(self._parameters))
        phi = self._plan.forward_bindings(values)
        return values, phi.reshape(int(np.prod(phi.shape[:-1])), phi.shape[-1])

    def _forward_output(self, outputs: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Outputs ``(num_outputs, N)`` of :meth:`_forward_bindings` as ``(..., num_outputs)``."""
        return outputs.T.reshape(*values.shape[:-1], outputs.shape[0])

    def _check_primitive(self) -> None:
        """Raises if the runner lost its primitive in a pickle round trip."""
        if self._primitive is None:
            raise QiskitQDeepError(
                f"This {type(self).__name__} was unpickled without its "
                f"{getattr(self, '_dropped_primitive', 'primitive')}: primitives other than local "
                "simulators are never pickled (they may hold credentials). Build the runner or "
                "layer again with the primitive."
            )

    def _count_job(self) -> None:
        self.num_jobs += 1


def check_num_results(result: Any, num_pubs: int) -> list:
    """The PUB results of a primitive result, checking that there is one per PUB.

    Raises:
        PrimitiveResultError: If ``result`` is not a sequence of ``num_pubs`` PUB results.
    """
    try:
        results = list(result)
    except TypeError as exc:
        raise PrimitiveResultError(
            f"The primitive returned a {type(result).__name__}, not a sequence of PUB results."
        ) from exc
    if len(results) != num_pubs:
        raise PrimitiveResultError(
            f"The primitive returned {len(results)} PUB results for {num_pubs} PUBs."
        )
    return results


class EstimatorRunner(_Runner):
    """Expectation values (and parameter-shift Jacobians) of one template on a V2 estimator.

    Args:
        circuit: Parameterized circuit template.
        observables: Observables on the circuit's (virtual) qubits, in every form a V2
            estimator accepts (see :func:`~qiskit_qdeep.primitives.observables.as_sparse_pauli_ops`:
            labels, ``Pauli``, ``SparsePauliOp``, ``SparseObservable``, ``{label: coefficient}``
            mappings, ``ObservablesArray`` and sequences of these); one output each.
        parameters: Order of the parameter values' last axis; default ``circuit.parameters``.
        estimator: A V2 estimator; default a seeded
            :class:`~qiskit_qdeep.primitives.TorchStatevectorEstimator`.
        pass_manager: Transpiles the template once to an ISA circuit; observables are laid out
            with its layout.
        precision: Target precision per expectation value; ``None`` uses the estimator's default.
        max_bindings_per_pub: Largest number of bindings per PUB (``None``: one PUB).
        seed: Seed of the default estimator.
        retry: Retries, backoff and timeout of the jobs; default
            :data:`~qiskit_qdeep.primitives.DEFAULT_RETRY_POLICY`. Results are checked (one
            result per PUB, shapes, finite real values) before use; a job that keeps failing
            raises :class:`~qiskit_qdeep.exceptions.PrimitiveJobError`.

    Raises:
        QDeepTypeError: For a non-V2 estimator, a bad pass manager, an observable or precision
            of the wrong type.
        ISACircuitError: If the estimator is bound to a backend and no pass manager was given.
        QDeepValueError: For bad observables (NaN/inf or complex coefficients, qubit count),
            precision (negative, NaN, inf) or parameters; before any job is submitted.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        observables: Sequence[SparsePauliOp | SparseObservable | Pauli | str | dict]
        | SparsePauliOp
        | SparseObservable
        | Pauli
        | str
        | dict,
        *,
        parameters: Sequence[Parameter] | None = None,
        estimator: BaseEstimatorV2 | None = None,
        pass_manager: BasePassManager | None = None,
        precision: float | None = None,
        max_bindings_per_pub: int | None = DEFAULT_MAX_BINDINGS_PER_PUB,
        seed: int | np.random.Generator | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        _check_circuit(circuit)
        precision = check_precision(precision)
        observables = as_sparse_pauli_ops(observables, circuit.num_qubits)
        super().__init__(
            circuit,
            resolve_estimator(estimator, seed=seed),
            parameters,
            pass_manager,
            max_bindings_per_pub,
            retry,
        )
        self._observables = observables
        layout = self._isa_circuit.layout if pass_manager is not None else None
        self._isa_observables = [
            obs.apply_layout(layout) if layout is not None else obs for obs in observables
        ]
        self._obs_array = [[obs] for obs in self._isa_observables]  # shape (O, 1)
        self._precision = precision

    def __setstate__(self, state: dict) -> None:
        if "precision" in state:  # pickled before precision became a checked property
            state["_precision"] = state.pop("precision")
        self.__dict__.update(state)

    @property
    def precision(self) -> float | None:
        """Target precision of the PUBs (``None``: the estimator's default); settable, checked.

        Raises:
            QDeepTypeError: On set, for a bool or a non-number.
            QDeepValueError: On set, for a negative, NaN or infinite precision.
        """
        return self._precision

    @precision.setter
    def precision(self, value: float | None) -> None:
        self._precision = check_precision(value)

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

    def _pub(self, chunk: np.ndarray) -> tuple:
        pub = (self._plan.circuit, self._obs_array, chunk)
        return pub if self.precision is None else (*pub, self.precision)

    def _decode(self, results: Sequence[Any], sizes: Sequence[int]) -> np.ndarray:
        num_obs = len(self._obs_array)
        evs = []
        for i, (res, size) in enumerate(zip(results, sizes, strict=True)):
            try:
                values = np.asarray(res.data.evs)
            except (AttributeError, KeyError, TypeError) as exc:
                raise PrimitiveResultError(
                    f"PUB result {i} has no expectation values (data.evs): {exc}"
                ) from exc
            if values.shape != (num_obs, size):
                raise PrimitiveResultError(
                    f"PUB result {i} has expectation values of shape {values.shape}, expected "
                    f"{(num_obs, size)} (observables, bindings)."
                )
            if np.iscomplexobj(values) or values.dtype.kind not in "biuf":
                raise PrimitiveResultError(
                    f"PUB result {i} has expectation values of dtype {values.dtype}, expected real."
                )
            values = values.astype(float)
            if not np.all(np.isfinite(values)):
                raise PrimitiveResultError(f"PUB result {i} has NaN or inf expectation values.")
            evs.append(values)
        return np.concatenate(evs, axis=1)

    def run(self, values: np.ndarray) -> np.ndarray:
        """Expectation values for a batch of parameter values.

        Args:
            values: Array ``(..., num_parameters)``.

        Returns:
            Array ``(..., num_observables)``.

        Raises:
            QDeepValueError: For values of the wrong shape or with NaN/inf entries.
            QDeepTypeError: For complex or non-numeric values.
            PrimitiveJobError: If the job keeps failing after the retries of :attr:`retry`.
        """
        values, flat = self._forward_bindings(values)
        return self._forward_output(self._evaluate(flat), values)

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

        Raises:
            QDeepValueError: For values of the wrong shape or with NaN/inf entries.
            QDeepTypeError: For complex or non-numeric values.
            PrimitiveJobError: If the job keeps failing after the retries of :attr:`retry`.
        """
        values = _check_values(values, len(self._parameters))
        shift = self._plan.bindings(values, _check_wrt(wrt, len(self._parameters)))
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
        retry: Retries, backoff and timeout of the jobs; default
            :data:`~qiskit_qdeep.primitives.DEFAULT_RETRY_POLICY`. Results are checked (one
            result per PUB, bit-array shapes) before use; a job that keeps failing raises
            :class:`~qiskit_qdeep.exceptions.PrimitiveJobError`.

    Raises:
        QDeepTypeError: For ``shots`` that is not an integer (a bool, ``2.5``, NaN).
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
        retry: RetryPolicy | None = None,
    ) -> None:
        check_shots(shots)
        _check_circuit(circuit)
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
            retry,
        )
        self._shots = None if shots is None else int(shots)

    def __setstate__(self, state: dict) -> None:
        if "shots" in state:  # pickled before shots became a checked property
            state["_shots"] = state.pop("shots")
        self.__dict__.update(state)

    @property
    def shots(self) -> int | None:
        """Shots per binding (``None``: the sampler's default); settable, checked.

        Raises:
            QDeepTypeError: On set, for a bool or a non-integer (``2.5``, NaN).
            QDeepValueError: On set, for ``shots < 1``.
        """
        return self._shots

    @shots.setter
    def shots(self, value: int | None) -> None:
        self._shots = check_shots(value)

    @property
    def sampler(self) -> BaseSamplerV2:
        """The resolved sampler."""
        return self._primitive

    @property
    def num_outcomes(self) -> int:
        """``2 ** num_clbits``."""
        return 2**self._circuit.num_clbits

    def _pub(self, chunk: np.ndarray) -> tuple:
        circuit = self._plan.circuit
        return (circuit, chunk) if self.shots is None else (circuit, chunk, self.shots)

    def _decode(self, results: Sequence[Any], sizes: Sequence[int]) -> np.ndarray:
        num_bytes = -(-self._circuit.num_clbits // 8)
        freqs = []
        for i, (res, size) in enumerate(zip(results, sizes, strict=True)):
            try:
                bits = res.join_data()
                raw = np.asarray(bits.array)
                num_shots = int(bits.num_shots)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise PrimitiveResultError(
                    f"PUB result {i} has no measurement data (join_data() of a BitArray): {exc}"
                ) from exc
            if size == 1 and raw.shape == (num_shots, num_bytes):
                # a single binding of a circuit without parameters: some samplers (e.g. the
                # executor sampler of qiskit-ibm-runtime) return it without the bindings axis
                raw = raw[None]
            if num_shots < 1 or raw.shape != (size, num_shots, num_bytes):
                raise PrimitiveResultError(
                    f"PUB result {i} has bit array shape {raw.shape}, expected "
                    f"{(size, max(num_shots, 1), num_bytes)} (bindings, shots, bytes)."
                )
            array = raw.astype(np.uint64)
            weights = np.left_shift(
                np.uint64(1), 8 * np.arange(array.shape[-1] - 1, -1, -1, dtype=np.uint64)
            )
            outcomes = (array * weights).sum(axis=-1)  # (n, shots) integers
            if outcomes.size and int(outcomes.max()) >= self.num_outcomes:
                raise PrimitiveResultError(
                    f"PUB result {i} has outcomes beyond the {self._circuit.num_clbits} "
                    "classical bits of the circuit."
                )
            n = outcomes.shape[0]
            index = outcomes + (
                np.arange(n, dtype=np.uint64)[:, None] * np.uint64(self.num_outcomes)
            )
            counts = np.bincount(index.ravel().astype(np.int64), minlength=n * self.num_outcomes)
            freqs.append(counts.reshape(n, self.num_outcomes).T / num_shots)
        return np.concatenate(freqs, axis=1)

    def run(self, values: np.ndarray) -> np.ndarray:
        """Estimated outcome probabilities for a batch of parameter values.

        Args:
            values: Array ``(..., num_parameters)``.

        Returns:
            Array ``(..., 2 ** num_clbits)``.

        Raises:
            QDeepValueError: For values of the wrong shape or with NaN/inf entries.
            QDeepTypeError: For complex or non-numeric values.
            PrimitiveJobError: If the job keeps failing after the retries of :attr:`retry`.
        """
        values, flat = self._forward_bindings(values)
        return self._forward_output(self._evaluate(flat), values)

    def run_with_gradient(
        self, values: np.ndarray, wrt: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities and their parameter-shift Jacobian from one ``run`` call.

        Args:
            values: Array ``(..., num_parameters)``.
            wrt: Indices of the parameters to differentiate; default all.

        Returns:
            ``(probs, jacobian)`` with shapes ``(..., num_outcomes)`` and
            ``(..., num_outcomes, num_parameters)``.

        Raises:
            QDeepValueError: For values of the wrong shape or with NaN/inf entries.
            QDeepTypeError: For complex or non-numeric values.
            PrimitiveJobError: If the job keeps failing after the retries of :attr:`retry`.
        """
        values = _check_values(values, len(self._parameters))
        shift = self._plan.bindings(values, _check_wrt(wrt, len(self._parameters)))
        return self._plan.contract(self._evaluate(shift.values), shift)
