# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""V2 primitives backed by the exact torch statevector engine.

:class:`TorchStatevectorEstimator` and :class:`TorchStatevectorSampler` are drop-in replacements
for Qiskit's :class:`~qiskit.primitives.StatevectorEstimator` and
:class:`~qiskit.primitives.StatevectorSampler`. They evaluate every PUB with *one* batched call of
:class:`~qiskit_qdeep.primitives.StatevectorEngine` over all its parameter bindings instead of
one ``Statevector`` per binding, and cache the compiled engine per circuit.

Both are **exact classical statevector simulations** (memory and time grow as
``2**num_qubits``), meant for simulation-only training and testing.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
import torch
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import (
    BaseEstimatorV2,
    BaseSamplerV2,
    BitArray,
    DataBin,
    PrimitiveJob,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.estimator_pub import EstimatorPub, EstimatorPubLike
from qiskit.primitives.containers.sampler_pub import SamplerPub, SamplerPubLike
from qiskit.quantum_info import SparsePauliOp

from .._validation import check_int
from ..exceptions import QDeepTypeError, QDeepValueError
from .torch_engine import StatevectorEngine

__all__ = ["TorchStatevectorEstimator", "TorchStatevectorSampler"]

_CACHE_SIZE = 16


class _EngineCache:
    """Small LRU cache of compiled engines keyed by circuit identity (with a staleness check).

    The key is ``id(circuit)``; a weak reference makes sure the id was not recycled, and a cheap
    fingerprint (size, parameters, global phase) catches most in-place edits of the circuit.
    """

    def __init__(self, factory, size: int = _CACHE_SIZE):
        self._factory = factory
        self._size = size
        self._entries: OrderedDict[int, tuple] = OrderedDict()

    @staticmethod
    def _fingerprint(circuit: QuantumCircuit) -> tuple:
        return (
            len(circuit.data),
            circuit.num_qubits,
            circuit.num_clbits,
            tuple(circuit.parameters),
            str(circuit.global_phase),
        )

    def get(self, circuit: QuantumCircuit) -> StatevectorEngine:
        """The engine of ``circuit`` (built on a miss)."""
        key = id(circuit)
        fingerprint = self._fingerprint(circuit)
        entry = self._entries.get(key)
        if entry is not None:
            ref, stored_fingerprint, engine = entry
            if ref() is circuit and stored_fingerprint == fingerprint:
                self._entries.move_to_end(key)
                return engine
        engine = self._factory(circuit)
        try:
            ref = weakref.ref(circuit)
        except TypeError:  # pragma: no cover - QuantumCircuit supports weak references
            return engine
        self._entries[key] = (ref, fingerprint, engine)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return engine


def _observable_to_sparse(observable: dict) -> SparsePauliOp:
    labels, coeffs = zip(*observable.items(), strict=True)
    return SparsePauliOp(list(labels), np.asarray(coeffs, dtype=complex))


class _TorchPrimitiveMixin:
    """Seed, dtype, device and the per-circuit engine cache shared by both primitives."""

    def _init_engine(self, seed, dtype, device, max_qubits) -> None:
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer, np.random.Generator))
        ):
            raise QDeepTypeError(
                f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}."
            )
        if dtype not in (torch.complex64, torch.complex128):
            raise QDeepValueError(
                f"dtype must be torch.complex64 or torch.complex128, got {dtype!r}."
            )
        check_int("max_qubits", max_qubits)
        self._seed = seed
        self._dtype = dtype
        self._device = device
        self._max_qubits = max_qubits
        self._engines = _EngineCache(self._build_engine)

    def __getstate__(self) -> dict:
        # compiled engines (weak references to circuits) are rebuilt after unpickling
        state = self.__dict__.copy()
        state["_engines"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._engines = _EngineCache(self._build_engine)

    @property
    def seed(self) -> int | np.random.Generator | None:
        """Seed or generator of the sampling / precision noise."""
        return self._seed

    @property
    def dtype(self) -> torch.dtype:
        """Complex dtype of the simulation."""
        return self._dtype

    @property
    def device(self) -> str | torch.device | None:
        """Torch device of the simulation."""
        return self._device

    def _build_engine(self, circuit: QuantumCircuit) -> StatevectorEngine:
        return StatevectorEngine(
            circuit, dtype=self._dtype, device=self._device, max_qubits=self._max_qubits
        )

    def _engine(self, circuit: QuantumCircuit) -> StatevectorEngine:
        """The cached engine of ``circuit`` (compiled on first use)."""
        return self._engines.get(circuit)


class TorchStatevectorEstimator(_TorchPrimitiveMixin, BaseEstimatorV2):
    r"""Exact V2 estimator on the batched torch statevector engine.

    Semantics follow :class:`~qiskit.primitives.StatevectorEstimator`: PUBs are coerced with
    :meth:`~qiskit.primitives.containers.estimator_pub.EstimatorPub.coerce`, parameter values and
    observables broadcast to the PUB shape, and a positive ``precision`` adds Gaussian noise of
    standard deviation ``precision`` drawn from the seeded generator (``stds`` then report
    ``precision``). Each PUB is evaluated with **one** engine call over all its distinct parameter
    bindings and all its distinct observables,

    .. math::

        \langle O_j \rangle_i = \langle 0|U(\theta_i)^\dagger O_j U(\theta_i)|0\rangle ,

    and the result is broadcast back to the PUB shape. Compiled engines are cached per circuit,
    so running the same template again does not recompile it.

    This is an **exact classical simulation** (memory ``2**num_qubits`` per binding) meant for
    simulation-only training; it never touches hardware.

    Example:
        .. code-block:: python

            from qiskit.circuit.library import real_amplitudes
            from qiskit_qdeep.primitives import TorchStatevectorEstimator

            circuit = real_amplitudes(2, reps=1)
            estimator = TorchStatevectorEstimator(seed=7)
            job = estimator.run([(circuit, ["ZZ", "XI"], [[0.1, 0.2, 0.3, 0.4]])])
            evs = job.result()[0].data.evs  # shape (2,)

    References:
        [1] Qiskit primitives V2 (``StatevectorEstimator``),
        `arXiv:2405.08810 <https://arxiv.org/abs/2405.08810>`_.
    """

    def __init__(
        self,
        *,
        default_precision: float = 0.0,
        seed: int | np.random.Generator | None = None,
        dtype: torch.dtype = torch.complex128,
        device: str | torch.device | None = None,
        max_qubits: int = 20,
    ) -> None:
        """Create the estimator (engines are compiled lazily, per circuit).

        Args:
            default_precision: Precision used when neither ``run`` nor the PUB sets one;
                ``0`` gives exact expectation values.
            seed: Seed or generator for the precision noise.
            dtype: Complex dtype of the simulation (``torch.complex128`` or ``torch.complex64``).
            device: Torch device of the simulation (default: CPU).
            max_qubits: Largest circuit simulated (memory grows as ``2**num_qubits``).

        Raises:
            QDeepValueError: If ``default_precision`` is negative.
        """
        if (
            isinstance(default_precision, bool)
            or not isinstance(default_precision, (int, float, np.integer, np.floating))
            or not default_precision >= 0
        ):
            raise QDeepValueError(
                f"default_precision must be non-negative, got {default_precision}."
            )
        self._default_precision = default_precision
        self._init_engine(seed, dtype, device, max_qubits)

    @property
    def default_precision(self) -> float:
        """Precision used when ``run`` gets none."""
        return self._default_precision

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> PrimitiveJob[PrimitiveResult[PubResult]]:
        """Estimate expectation values of PUBs.

        Args:
            pubs: Estimator PUBs ``(circuit, observables[, parameter_values[, precision]])``.
            precision: Target precision for PUBs that set none (default: ``default_precision``).

        Returns:
            A job whose result is a :class:`~qiskit.primitives.PrimitiveResult` of
            :class:`~qiskit.primitives.PubResult` with ``evs``, ``stds`` and ``shape``.

        Raises:
            QDeepValueError: If ``precision`` is negative.
        """
        if precision is None:
            precision = self._default_precision
        if precision < 0:
            raise QDeepValueError(f"precision must be non-negative, got {precision}.")
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()  # pylint: disable=protected-access
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult[PubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        rng = np.random.default_rng(self._seed)
        circuit = pub.circuit
        engine = self._engine(circuit)
        shape = pub.shape
        # distinct parameter bindings
        values = pub.parameter_values.as_array(engine.parameters)
        param_shape = values.shape[:-1]
        flat_values = values.reshape(math.prod(param_shape), values.shape[-1])
        if flat_values.shape[0] > 1 and flat_values.shape[1] > 0:
            unique_values, value_index = np.unique(flat_values, axis=0, return_inverse=True)
        else:
            unique_values = flat_values[:1]
            value_index = np.zeros(flat_values.shape[0], dtype=int)
        value_index = np.asarray(value_index).reshape(param_shape)
        # distinct observables
        observables = pub.observables
        obs_list = observables.ravel().tolist()
        keys: dict[tuple, int] = {}
        distinct: list[SparsePauliOp] = []
        obs_index = np.empty(len(obs_list), dtype=int)
        for k, obs in enumerate(obs_list):
            key = tuple(sorted((label, complex(c)) for label, c in obs.items()))
            if key not in keys:
                keys[key] = len(distinct)
                distinct.append(_observable_to_sparse(obs))
            obs_index[k] = keys[key]
        obs_index = obs_index.reshape(observables.shape)
        with torch.no_grad():
            table = engine.expectation_values(unique_values, distinct)
        table = table.detach().to("cpu", torch.float64).numpy()
        rows = np.broadcast_to(value_index, shape)
        cols = np.broadcast_to(obs_index, shape)
        evs = np.array(table[rows, cols], dtype=np.float64)
        precision = pub.precision
        if precision != 0:
            evs = evs + rng.normal(0.0, precision, size=evs.shape)
        stds = np.full(shape, float(precision), dtype=np.float64)
        data = DataBin(evs=evs, stds=stds, shape=shape)
        return PubResult(
            data, metadata={"target_precision": precision, "circuit_metadata": circuit.metadata}
        )


class TorchStatevectorSampler(_TorchPrimitiveMixin, BaseSamplerV2):
    """Exact V2 sampler on the batched torch statevector engine.

    Semantics follow :class:`~qiskit.primitives.StatevectorSampler`: the circuits must end in
    measurements (final measurements only), and the result has one
    :class:`~qiskit.primitives.BitArray` per classical register, named like the register, with
    shape ``(*pub_shape, shots)``. The exact outcome probabilities of all bindings of a PUB come
    from **one** engine call; shots are then drawn from them with the seeded NumPy generator,
    vectorised over bindings and shots.

    This is an **exact classical simulation** (memory ``2**num_qubits`` per binding) meant for
    simulation-only training; it never touches hardware.

    Example:
        .. code-block:: python

            from qiskit import QuantumCircuit
            from qiskit_qdeep.primitives import TorchStatevectorSampler

            bell = QuantumCircuit(2)
            bell.h(0)
            bell.cx(0, 1)
            bell.measure_all()
            result = TorchStatevectorSampler(seed=1).run([bell], shots=1000).result()
            counts = result[0].data.meas.get_counts()  # about 500 '00' and 500 '11'

    References:
        [1] Qiskit primitives V2 (``StatevectorSampler``),
        `arXiv:2405.08810 <https://arxiv.org/abs/2405.08810>`_.
    """

    def __init__(
        self,
        *,
        default_shots: int = 1024,
        seed: int | np.random.Generator | None = None,
        dtype: torch.dtype = torch.complex128,
        device: str | torch.device | None = None,
        max_qubits: int = 20,
    ) -> None:
        """Create the sampler (engines are compiled lazily, per circuit).

        Args:
            default_shots: Shots for PUBs that set none and ``run`` calls without ``shots``.
            seed: Seed or generator for sampling.
            dtype: Complex dtype of the simulation (``torch.complex128`` or ``torch.complex64``).
            device: Torch device of the simulation (default: CPU).
            max_qubits: Largest circuit simulated (memory grows as ``2**num_qubits``).

        Raises:
            QDeepValueError: If ``default_shots`` is smaller than 1.
        """
        check_int("default_shots", default_shots)
        self._default_shots = int(default_shots)
        self._init_engine(seed, dtype, device, max_qubits)

    @property
    def default_shots(self) -> int:
        """Shots used when ``run`` gets none."""
        return self._default_shots

    def run(
        self, pubs: Iterable[SamplerPubLike], *, shots: int | None = None
    ) -> PrimitiveJob[PrimitiveResult[SamplerPubResult]]:
        """Sample PUBs.

        Args:
            pubs: Sampler PUBs ``(circuit[, parameter_values[, shots]])``.
            shots: Shots for PUBs that set none (default: ``default_shots``).

        Returns:
            A job whose result is a :class:`~qiskit.primitives.PrimitiveResult` of
            :class:`~qiskit.primitives.SamplerPubResult`, one ``BitArray`` per register.

        Raises:
            QDeepValueError: If ``shots`` (or a PUB's shots) is smaller than 1.
        """
        if shots is None:
            shots = self._default_shots
        if int(shots) < 1:
            raise QDeepValueError(f"shots must be at least 1, got {shots}.")
        coerced = []
        for pub in pubs:
            try:
                coerced.append(SamplerPub.coerce(pub, int(shots)))
            except ValueError as exc:
                raise QDeepValueError(f"Invalid sampler PUB: {exc}") from exc
        for pub in coerced:
            if pub.shots is None or pub.shots < 1:
                raise QDeepValueError(f"shots must be at least 1, got {pub.shots}.")
        if any(len(pub.circuit.cregs) == 0 for pub in coerced):
            warnings.warn(
                "One of your circuits has no output classical registers and so the result "
                "will be empty. Did you mean to add measurement instructions?",
                UserWarning,
                stacklevel=2,
            )
        job = PrimitiveJob(self._run, coerced)
        job._submit()  # pylint: disable=protected-access
        return job

    def _run(self, pubs: list[SamplerPub]) -> PrimitiveResult[SamplerPubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: SamplerPub) -> SamplerPubResult:
        rng = np.random.default_rng(self._seed)
        circuit = pub.circuit
        engine = self._engine(circuit)
        clbit_map = engine.final_measurements  # {clbit index: qubit index}
        qargs = sorted(set(clbit_map.values()))
        position = {qubit: k for k, qubit in enumerate(qargs)}
        shots = pub.shots
        values = pub.parameter_values.as_array(engine.parameters)
        shape = values.shape[:-1]
        flat_values = values.reshape(math.prod(shape), values.shape[-1])
        num_bindings = flat_values.shape[0]
        if qargs:
            with torch.no_grad():
                probs = engine.probabilities(flat_values, qargs)
            probs = probs.detach().to("cpu", torch.float64).numpy()
            outcomes = _sample(probs, shots, rng)  # (bindings, shots) int
        else:
            outcomes = np.zeros((num_bindings, shots), dtype=np.int64)
        meas = {}
        for creg in circuit.cregs:
            bits = np.zeros((num_bindings, shots, creg.size), dtype=bool)
            for j, clbit in enumerate(creg):
                index = circuit.find_bit(clbit).index
                if index in clbit_map:
                    bits[..., j] = (outcomes >> position[clbit_map[index]]) & 1
            bits = bits.reshape(shape + (shots, creg.size))
            meas[creg.name] = BitArray.from_bool_array(bits, order="little")
        return SamplerPubResult(
            DataBin(**meas, shape=pub.shape),
            metadata={"shots": shots, "circuit_metadata": circuit.metadata},
        )


def _sample(probs: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``shots`` outcome indices per row of ``probs`` ``(bindings, K)``, vectorised."""
    probs = np.clip(probs, 0.0, None)
    probs = probs / probs.sum(axis=1, keepdims=True)
    num_bindings, num_outcomes = probs.shape
    counts = rng.multinomial(shots, probs)  # (bindings, K)
    outcomes = np.repeat(
        np.tile(np.arange(num_outcomes, dtype=np.int64), num_bindings), counts.reshape(-1)
    ).reshape(num_bindings, shots)
    return rng.permuted(outcomes, axis=1)
