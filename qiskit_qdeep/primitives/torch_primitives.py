# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""V2 primitives backed by the exact torch statevector engine.

:class:`TorchStatevectorEstimator` and :class:`TorchStatevectorSampler` are drop-in replacements
for Qiskit's :class:`~qiskit.primitives.StatevectorEstimator` and
:class:`~qiskit.primitives.StatevectorSampler`. They evaluate every PUB with *one* batched call of
:class:`~qiskit_qdeep.primitives.StatevectorEngine` over all its parameter bindings instead of
one ``Statevector`` per binding. Compiled engines come from the process-wide cache
:func:`~qiskit_qdeep.primitives.exact.exact_engine`, keyed by the circuit's content, so a circuit
edited in place between two runs is compiled again.

Both are **exact classical statevector simulations** (memory and time grow as
``2**num_qubits``), meant for simulation-only training and testing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np
import torch
from qiskit.circuit import QuantumCircuit
from qiskit.exceptions import QiskitError
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

from .._validation import check_int, check_precision, check_shots
from ..exceptions import QDeepTypeError, QDeepValueError, QiskitQDeepError
from .exact import exact_engine
from .observables import as_sparse_pauli_ops, observable_key
from .torch_engine import StatevectorEngine

__all__ = ["TorchStatevectorEstimator", "TorchStatevectorSampler"]


def _pub_error(kind: str, index: int, exc: Exception) -> QiskitQDeepError:
    """A qiskit-qdeep error for a PUB that Qiskit's coercion refused (type or value)."""
    if isinstance(exc, QiskitQDeepError):
        return exc
    cls = QDeepTypeError if isinstance(exc, TypeError) else QDeepValueError
    return cls(f"Invalid {kind} PUB {index}: {exc}")


class _TorchPrimitiveMixin:
    """Seed, dtype, device and the compiled engines shared by both primitives."""

    def _init_engine(self, seed, dtype, device, max_qubits) -> None:
        if seed is not None and (
            isinstance(seed, (bool, np.bool_))
            or not isinstance(seed, (int, np.integer, np.random.Generator))
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

    def __setstate__(self, state: dict) -> None:
        state.pop("_engines", None)  # the private engine cache of older versions
        self.__dict__.update(state)

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

    def _engine(self, circuit: QuantumCircuit) -> StatevectorEngine:
        """The compiled engine of ``circuit`` from the process-wide cache.

        The cache (:func:`~qiskit_qdeep.primitives.exact.exact_engine`) is keyed by the
        circuit's content fingerprint, so a circuit edited in place between two runs is
        compiled again instead of reusing a stale engine.
        """
        return exact_engine(
            circuit, dtype=self._dtype, device=self._device, max_qubits=self._max_qubits
        )


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

    and the result is broadcast back to the PUB shape. Compiled engines are cached by circuit
    content (process-wide), so running the same template again does not recompile it.

    Observables take every form of
    :func:`~qiskit_qdeep.primitives.observables.as_sparse_pauli_ops` (``SparseObservable``
    projector terms included). The noise of every PUB is drawn from
    ``numpy.random.default_rng(seed)``, as in Qiskit, so an ``int`` seed gives the same noise as
    ``StatevectorEstimator(seed=...)``. A circuit that resets a used qubit is a random collapse
    drawn from the same generator, one simulation per broadcast element (as Qiskit evolves one
    statevector per element); ``stds`` report the precision (Qiskit's reference reports 0).

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
            QDeepTypeError: If ``default_precision`` is a bool or not a number.
            QDeepValueError: If ``default_precision`` is negative, NaN or infinite.
        """
        if default_precision is None:
            raise QDeepTypeError("default_precision must be a finite number >= 0, got None.")
        self._default_precision = check_precision(default_precision, "default_precision")
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
                The observables take every form of
                :func:`~qiskit_qdeep.primitives.observables.as_sparse_pauli_ops` that Qiskit's
                ``ObservablesArray`` accepts, projector terms of ``SparseObservable`` included.
            precision: Target precision for PUBs that set none (default: ``default_precision``).

        Returns:
            A job whose result is a :class:`~qiskit.primitives.PrimitiveResult` of
            :class:`~qiskit.primitives.PubResult` with ``evs``, ``stds`` and ``shape``.

        Raises:
            QDeepTypeError: If ``precision`` (of the call or of a PUB) is a bool or not a number,
                or a PUB has parts of the wrong type.
            QDeepValueError: If ``precision`` (of the call or of a PUB) is negative, NaN or
                infinite, or a PUB is invalid (an observable with NaN/inf or non-Hermitian
                coefficients, qubit counts, parameter values); the message names the PUB.
        """
        if precision is None:
            precision = self._default_precision
        else:
            precision = check_precision(precision, "precision")
        coerced = [self._coerce_pub(i, pub, precision) for i, pub in enumerate(pubs)]
        job = PrimitiveJob(self._run, coerced)
        job._submit()  # pylint: disable=protected-access
        return job

    @staticmethod
    def _coerce_pub(index: int, pub, precision: float) -> EstimatorPub:
        try:
            coerced = EstimatorPub.coerce(pub, precision)
        except (TypeError, ValueError, QiskitError) as exc:
            if isinstance(pub, (tuple, list)) and len(pub) >= 2:
                circuit = pub[0]
                if isinstance(circuit, QuantumCircuit):
                    try:  # name the observable and the cause (Qiskit calls NaN "non-Hermitian")
                        as_sparse_pauli_ops(pub[1], circuit.num_qubits)
                    except (QDeepTypeError, QDeepValueError) as ours:
                        raise type(ours)(f"Invalid estimator PUB {index}: {ours}") from exc
            raise _pub_error("estimator", index, exc) from exc
        check_precision(coerced.precision, f"precision of PUB {index}")
        return coerced

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult[PubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        rng = np.random.default_rng(self._seed)
        circuit = pub.circuit
        engine = self._engine(circuit)
        shape = pub.shape
        values = pub.parameter_values.as_array(engine.parameters)
        param_shape = values.shape[:-1]
        flat_values = values.reshape(math.prod(param_shape), values.shape[-1])
        # distinct observables, through the one coercion of the package
        elements = _observable_elements(pub.observables)
        keys: dict = {}
        distinct_raw: list = []
        obs_index = np.empty(elements.size, dtype=int)
        for k, obs in enumerate(elements.reshape(-1)):
            key = observable_key(obs)
            if key is None or key not in keys:
                if key is not None:
                    keys[key] = len(distinct_raw)
                obs_index[k] = len(distinct_raw)
                distinct_raw.append(obs)
            else:
                obs_index[k] = keys[key]
        obs_index = obs_index.reshape(elements.shape)
        distinct = as_sparse_pauli_ops(distinct_raw, circuit.num_qubits)
        if getattr(engine, "needs_rng", False):
            # a reset of a used qubit collapses the state at random: like Qiskit, which evolves
            # one statevector per broadcast element with the PUB's generator, every element gets
            # its own simulation (no de-duplication of bindings or observables)
            num = math.prod(shape)
            rows = np.broadcast_to(
                np.arange(flat_values.shape[0]).reshape(param_shape), shape
            ).reshape(num)
            cols = np.broadcast_to(obs_index, shape).reshape(num)
            with torch.no_grad():
                table = engine.expectation_values(flat_values[rows], distinct, rng=rng)
            table = table.detach().to("cpu", torch.float64).numpy()
            evs = np.array(table[np.arange(num), cols].reshape(shape), dtype=np.float64)
        else:
            if flat_values.shape[0] > 1 and flat_values.shape[1] > 0:
                unique_values, value_index = np.unique(flat_values, axis=0, return_inverse=True)
            else:
                unique_values = flat_values[:1]
                value_index = np.zeros(flat_values.shape[0], dtype=int)
            value_index = np.asarray(value_index).reshape(param_shape)
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


def _observable_elements(observables) -> np.ndarray:
    """The observables of an ``ObservablesArray`` as an object array of its shape."""
    if hasattr(observables, "sparse_observables_array"):
        array = observables.sparse_observables_array()
    else:  # pragma: no cover - Qiskit < 2.2 stores mappings
        array = np.asarray(observables, dtype=object)
    return np.asarray(array, dtype=object).reshape(observables.shape)


class TorchStatevectorSampler(_TorchPrimitiveMixin, BaseSamplerV2):
    """Exact V2 sampler on the batched torch statevector engine.

    Semantics follow :class:`~qiskit.primitives.StatevectorSampler`: the circuits must end in
    measurements (final measurements only), and the result has one
    :class:`~qiskit.primitives.BitArray` per classical register, named like the register, with
    shape ``(*pub_shape, shots)``. The exact outcome probabilities of all bindings of a PUB come
    from **one** engine call; shots are then drawn from them with the seeded NumPy generator,
    vectorised over bindings and shots, exactly as Qiskit draws them (``rng.choice`` of the
    outcomes: uniform variates through the cumulative distribution). With an ``int`` seed every
    binding uses ``numpy.random.default_rng(seed)``, so a binding gives the same samples alone or
    anywhere in a batch, and the same samples as ``StatevectorSampler(seed=...)``; with a
    ``Generator`` the bindings draw from it in turn (again as Qiskit); with ``None`` the samples
    are independent (see :meth:`_uniforms`). A circuit that resets a used qubit collapses it once
    per binding, from that binding's generator before its shots.

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
            QDeepTypeError: If ``default_shots`` is a bool or not an integer.
            QDeepValueError: If ``default_shots`` is smaller than 1.
        """
        self._default_shots = check_int("default_shots", default_shots)
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
            QDeepTypeError: If ``shots`` (of the call or of a PUB) is a bool or not an integer
                (``2.5``, NaN), or a PUB has parts of the wrong type.
            QDeepValueError: If ``shots`` (of the call or of a PUB) is smaller than 1, or a PUB
                is invalid (parameter values); the message names the PUB.
        """
        shots = self._default_shots if shots is None else check_shots(shots, "shots")
        coerced = []
        for i, pub in enumerate(pubs):
            try:
                item = SamplerPub.coerce(pub, shots)
            except (TypeError, ValueError, QiskitError) as exc:
                raise _pub_error("sampler", i, exc) from exc
            if item.shots is None:
                raise QDeepValueError(f"shots of PUB {i} must be a positive integer, got None.")
            check_shots(item.shots, f"shots of PUB {i}")
            coerced.append(item)
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

    def _uniforms(self, num_bindings: int, shots: int) -> np.ndarray:
        """The uniform variates ``(bindings, shots)`` of the shots, seeded like Qiskit.

        Qiskit's ``StatevectorSampler`` seeds the statevector of every binding with the
        sampler's seed and draws ``rng.choice(outcomes, p=probs, size=shots)``, i.e. ``shots``
        uniform variates of that generator mapped through the cumulative distribution:

        * an ``int`` seed: every binding uses ``np.random.default_rng(seed)``, so a binding
          gives the same samples wherever it stands in a batch, alone or in another PUB;
        * a ``Generator``: the bindings draw from it one after the other (C order), and later
          PUBs and runs continue its stream;
        * ``None``: fresh OS entropy (one new generator per PUB here, one per binding in Qiskit:
          the samples are independent either way).
        """
        seed = self._seed
        if isinstance(seed, np.random.Generator):
            return seed.random((num_bindings, shots))
        if seed is None:
            return np.random.default_rng().random((num_bindings, shots))
        return np.broadcast_to(np.random.default_rng(seed).random(shots), (num_bindings, shots))

    def _probabilities(self, engine, values: np.ndarray, qargs: list[int], shots: int):
        """Outcome probabilities ``(bindings, 2**len(qargs))`` and the uniforms of the shots."""
        if not getattr(engine, "needs_rng", False):
            with torch.no_grad():
                probs = engine.probabilities(values, qargs)
            return _numpy(probs), self._uniforms(values.shape[0], shots)
        # A reset of a used qubit collapses the state at random. The collapse draws from the
        # binding's generator before its shots do, so an int seed still makes every binding
        # reproducible on its own (one engine call per binding); a Generator (or None) is one
        # stream for the whole PUB.
        seed = self._seed
        if seed is None or isinstance(seed, np.random.Generator):
            rng = seed if seed is not None else np.random.default_rng()
            with torch.no_grad():
                probs = engine.probabilities(values, qargs, rng=rng)
            return _numpy(probs), rng.random((values.shape[0], shots))
        rows, uniforms = [], np.empty((values.shape[0], shots))
        for b in range(values.shape[0]):
            rng = np.random.default_rng(seed)
            with torch.no_grad():
                rows.append(_numpy(engine.probabilities(values[b : b + 1], qargs, rng=rng)))
            uniforms[b] = rng.random(shots)
        return np.concatenate(rows, axis=0), uniforms

    def _run_pub(self, pub: SamplerPub) -> SamplerPubResult:
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
            probs, uniforms = self._probabilities(engine, flat_values, qargs, shots)
            outcomes = _sample(probs, uniforms)  # (bindings, shots) int
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


def _numpy(probs: torch.Tensor) -> np.ndarray:
    return probs.detach().to("cpu", torch.float64).numpy().reshape(probs.shape[0], -1)


def _sample(probs: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Outcome indices ``(bindings, shots)``: ``uniforms`` through each row's cumulative law.

    The same mapping as NumPy's ``Generator.choice(K, p=row, size=shots)`` (cumulative sum
    normalised by its last entry, ``searchsorted(..., side="right")``), vectorised over the
    bindings with ``torch.searchsorted``.
    """
    cdf = np.cumsum(np.clip(probs, 0.0, None), axis=1)
    cdf /= cdf[:, -1:]
    index = torch.searchsorted(
        torch.from_numpy(np.ascontiguousarray(cdf)),
        torch.tensor(uniforms, dtype=torch.float64),  # a copy: int seeds give a broadcast view
        right=True,
    ).numpy()
    return np.minimum(index, probs.shape[1] - 1).astype(np.int64, copy=False)
