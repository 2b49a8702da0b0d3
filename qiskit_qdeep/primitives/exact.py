# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The one exact execution path: compiled torch statevector engines behind one cache.

Every exact result of the package (layers with ``gradient="backprop"``, the torch primitives,
exact q-means, QLSSVM and HHL statevectors, the SWAP-test overlap) comes from here.
:func:`exact_engine` returns the compiled
:class:`~qiskit_qdeep.primitives.StatevectorEngine` of a circuit from a per-process LRU cache
keyed by the circuit's content fingerprint
(:func:`~qiskit_qdeep.primitives.fingerprint.circuit_fingerprint`), the parameter order, the
dtype and the device: an edited circuit is a different key, never a stale hit.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
from qiskit.circuit import Parameter, QuantumCircuit

from .._validation import check_int
from ..exceptions import QDeepTypeError, QDeepValueError, QubitLimitError
from .fingerprint import circuit_fingerprint, parameters_key
from .statevector.engine import StatevectorEngine

__all__ = [
    "exact_engine",
    "clear_exact_cache",
    "exact_cache_info",
    "exact_statevector",
    "swap_test_overlap",
    "ExactEstimatorRunner",
    "ExactSamplerRunner",
    "ExactStatevectorRunner",
]

#: Largest number of compiled engines kept per process.
EXACT_CACHE_SIZE = 64
#: Largest total size (bytes, estimated) of the compiled engines kept per process.
EXACT_CACHE_BYTES = 1 << 30


class _EngineLRU:
    """Thread-safe LRU of compiled engines, bounded in count and estimated bytes."""

    def __init__(self, size: int, max_bytes: int) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[StatevectorEngine, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, build) -> StatevectorEngine:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0]
        engine = build()  # compile outside the lock (may take a while)
        cost = engine.compiled_bytes
        with self._lock:
            self.misses += 1
            if key in self._entries:
                return self._entries[key][0]
            self._entries[key] = (engine, cost)
            self._bytes += cost
            while len(self._entries) > 1 and (
                len(self._entries) > self._size or self._bytes > self._max_bytes
            ):
                _, (_, old) = self._entries.popitem(last=False)
                self._bytes -= old
        return engine

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def info(self) -> dict:
        with self._lock:
            return {
                "entries": len(self._entries),
                "bytes": self._bytes,
                "hits": self.hits,
                "misses": self.misses,
            }


_CACHE = _EngineLRU(EXACT_CACHE_SIZE, EXACT_CACHE_BYTES)


def _after_fork_in_child() -> None:
    # a forked child (DataLoader workers, multiprocessing) must not inherit a held lock
    _CACHE._lock = threading.Lock()  # pylint: disable=protected-access


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def exact_engine(
    circuit: QuantumCircuit,
    parameters: Sequence[Parameter] | None = None,
    *,
    dtype: torch.dtype = torch.complex128,
    device: str | torch.device | None = None,
    max_qubits: int = 20,
    fingerprint: str | None = None,
    parameters_id: tuple | None = None,
) -> StatevectorEngine:
    """The compiled engine of ``circuit`` from the process-wide cache (compiled on a miss).

    Args:
        circuit: The circuit.
        parameters: Order of the values' last axis (default ``circuit.parameters``).
        dtype: ``torch.complex128`` or ``torch.complex64``.
        device: Torch device (default CPU).
        max_qubits: Qubit limit, checked before anything is compiled or allocated.
        fingerprint: The circuit's :func:`circuit_fingerprint` if the caller already has it
            (a layer that owns a private copy of its template computes it once).
        parameters_id: ``parameters_key(parameters)`` if the caller already has it.

    Raises:
        QDeepTypeError: If ``circuit`` is not a ``QuantumCircuit``.
        QubitLimitError: If the circuit has more than ``max_qubits`` qubits.
        UnsupportedGateError: If an instruction cannot be simulated.
    """
    if not isinstance(circuit, QuantumCircuit):
        raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
    if circuit.num_qubits > max_qubits:
        raise QubitLimitError(
            f"The circuit has {circuit.num_qubits} qubits but the exact statevector engine is "
            f"limited to max_qubits={max_qubits}: memory grows as 2**n (2**{circuit.num_qubits} "
            "amplitudes per batch element). Pass a larger max_qubits=... to raise the limit if "
            "you have the memory."
        )
    params = list(circuit.parameters) if parameters is None else list(parameters)
    device = torch.device(device) if device is not None else torch.device("cpu")
    key = (
        fingerprint if fingerprint is not None else circuit_fingerprint(circuit),
        parameters_id if parameters_id is not None else parameters_key(params),
        dtype,
        str(device),
    )
    return _CACHE.get(
        key,
        lambda: StatevectorEngine(
            circuit, parameters=params, dtype=dtype, device=device, max_qubits=max_qubits
        ),
    )


def clear_exact_cache() -> None:
    """Empties the process-wide cache of compiled engines."""
    _CACHE.clear()


def exact_cache_info() -> dict:
    """Entries, estimated bytes, hits and misses of the process-wide engine cache."""
    return _CACHE.info()


def _eager(function):
    """Runs ``function`` outside ``torch.compile`` graphs (a graph break, then plain eager).

    The engine compiles circuits with NumPy and dispatches on shapes; TorchDynamo cannot trace
    that (it fails on the bit tricks), so compiled models call it eagerly, with autograd intact.
    """
    compiler = getattr(torch, "compiler", None)
    disable = getattr(compiler, "disable", None)
    return disable(function) if disable is not None else function


def _complex_dtype(real: torch.dtype) -> torch.dtype:
    return torch.complex128 if real == torch.float64 else torch.complex64


class _ExactRunner:
    """Shared part of the exact runners: a private template copy, its fingerprint, counters."""

    def __init__(
        self,
        circuit: QuantumCircuit,
        parameters: Sequence[Parameter] | None,
        max_qubits: int,
    ) -> None:
        if not isinstance(circuit, QuantumCircuit):
            raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
        check_int("max_qubits", max_qubits)
        self._circuit = circuit.copy()
        self._parameters = list(circuit.parameters if parameters is None else parameters)
        self._max_qubits = int(max_qubits)
        self._fingerprint = circuit_fingerprint(self._circuit)
        self._parameters_id = parameters_key(self._parameters)
        self.num_jobs = 0
        """Exact evaluations so far (one per :meth:`run` / :meth:`evaluate` call)."""
        self.engine()  # compile (and validate gates, qubit limit, parameters) at construction

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_qubits={self._circuit.num_qubits}, "
            f"num_parameters={len(self._parameters)}, num_jobs={self.num_jobs})"
        )

    @property
    def exact(self) -> bool:
        """Always ``True``: results are exact (no shot noise)."""
        return True

    @property
    def circuit(self) -> QuantumCircuit:
        """A copy of the circuit template."""
        return self._circuit.copy()

    @property
    def parameters(self) -> list[Parameter]:
        """The parameter order of the last axis of the values."""
        return list(self._parameters)

    @property
    def fingerprint(self) -> str:
        """Content fingerprint of the template (the cache key)."""
        return self._fingerprint

    def engine(
        self, dtype: torch.dtype = torch.complex128, device: str | torch.device | None = None
    ) -> StatevectorEngine:
        """The compiled engine of the template for ``dtype`` / ``device`` (from the cache)."""
        return exact_engine(
            self._circuit,
            self._parameters,
            dtype=dtype,
            device=device,
            max_qubits=self._max_qubits,
            fingerprint=self._fingerprint,
            parameters_id=self._parameters_id,
        )

    def _engine_for(self, values: torch.Tensor) -> StatevectorEngine:
        real = values.dtype if values.is_floating_point() else torch.float64
        return self.engine(_complex_dtype(real), values.device)

    def _tensor(self, values) -> torch.Tensor:
        if isinstance(values, torch.Tensor):
            return values.detach().to(torch.float64)
        from .runners import _check_values

        return torch.as_tensor(_check_values(values, len(self._parameters)), dtype=torch.float64)

    def evaluate(self, values: torch.Tensor) -> torch.Tensor:
        """The differentiable torch result for ``values`` ``(..., num_parameters)``."""
        raise NotImplementedError

    @_eager
    def statevector(self, values=None) -> torch.Tensor:
        """Final statevectors ``(..., 2**num_qubits)``, measurements ignored.

        A real tensor gives a differentiable result (complex128 for float64, else complex64,
        on its device); arrays give complex128 without gradients.
        """
        self.num_jobs += 1
        if values is None:
            return self.engine().statevector(None)
        if isinstance(values, torch.Tensor) and values.is_floating_point():
            return self._engine_for(values).statevector(values)
        return self.engine().statevector(self._tensor(values))

    def run(self, values) -> np.ndarray:
        """Exact results for a batch of parameter values ``(..., num_parameters)``."""
        with torch.no_grad():
            out = self.evaluate(self._tensor(values))
        return out.to("cpu", torch.float64).numpy()

    def run_with_gradient(
        self, values, wrt: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Exact results and their exact Jacobian (torch autograd through the engine).

        Returns:
            ``(outputs, jacobian)`` with shapes ``(..., K)`` and ``(..., K, num_parameters)``;
            Jacobian columns outside ``wrt`` are zero (``None`` if ``wrt`` selects nothing).
        """
        from .runners import _check_values, _check_wrt

        values = _check_values(values, len(self._parameters))
        indices = _check_wrt(wrt, len(self._parameters))
        flat = torch.as_tensor(values.reshape(-1, values.shape[-1]), dtype=torch.float64)
        if indices is not None and not indices:
            return self.run(values), None
        flat.requires_grad_(True)
        with torch.enable_grad():
            out = self.evaluate(flat)  # (N, K)
            rows = []
            for k in range(out.shape[-1]):
                (grad,) = torch.autograd.grad(
                    out[:, k].sum(), flat, retain_graph=k + 1 < out.shape[-1]
                )
                rows.append(grad)
        jac = torch.stack(rows, dim=1).numpy()  # (N, K, P)
        if indices is not None:
            mask = np.zeros(values.shape[-1], dtype=bool)
            mask[indices] = True
            jac[..., ~mask] = 0.0
        lead = values.shape[:-1]
        outputs = out.detach().numpy().reshape(*lead, out.shape[-1])
        return outputs, jac.reshape(*lead, out.shape[-1], values.shape[-1])


class ExactEstimatorRunner(_ExactRunner):
    """Exact expectation values of one template: the exact twin of :class:`EstimatorRunner`.

    Same interface (``run``, ``run_with_gradient``, ``num_jobs``, pickling) plus the torch path
    :meth:`evaluate`, differentiable with autograd (the ``gradient="backprop"`` path of every
    layer). The compiled engine comes from the process-wide cache (:func:`exact_engine`). An
    **exact classical simulation**: memory grows as ``2**num_qubits`` per binding.

    Args:
        circuit: Parameterized circuit template (copied).
        observables: Observables on the circuit's qubits (every form a V2 estimator accepts).
        parameters: Order of the values' last axis; default ``circuit.parameters``.
        max_qubits: Qubit limit of the engine.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        observables,
        *,
        parameters: Sequence[Parameter] | None = None,
        max_qubits: int = 20,
    ) -> None:
        from .runners import as_sparse_pauli_ops

        if not isinstance(circuit, QuantumCircuit):
            raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
        self._observables = as_sparse_pauli_ops(observables, circuit.num_qubits)
        super().__init__(circuit, parameters, max_qubits)

    @property
    def observables(self):
        """The observables (``SparsePauliOp``), one output each."""
        return list(self._observables)

    @_eager
    def evaluate(self, values: torch.Tensor) -> torch.Tensor:
        """Expectation values ``(..., num_observables)`` of ``values``, differentiable.

        Real outputs in the real dtype matching ``values`` (float64 -> complex128 simulation,
        anything else complex64), on ``values``' device.
        """
        self.num_jobs += 1
        engine = self._engine_for(values)
        out = engine.expectation_values(values, self._observables)
        return out.to(values.dtype) if values.is_floating_point() else out

    @_eager
    def evaluate_shared(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Expectation values with weights shared by groups of rows, differentiable.

        The parameter order of the runner must be the ``P_in`` input parameters followed by
        the ``P_w`` weight parameters. Row ``(..., g)`` is evaluated at
        ``concat(inputs[..., g, :], weights[g])``, the same numbers as :meth:`evaluate` on the
        concatenation, computed without repeating the weights per row (see
        :meth:`StatevectorEngine.expectation_values_shared
        <qiskit_qdeep.primitives.torch_engine.StatevectorEngine.expectation_values_shared>`).

        Args:
            inputs: ``(..., G, P_in)`` real tensor.
            weights: ``(G, P_w)`` real tensor (one row of weights per group).

        Returns:
            ``(..., G, num_observables)`` in the dtype of ``inputs``.
        """
        self.num_jobs += 1
        engine = self._engine_for(inputs)
        out = engine.expectation_values_shared(inputs, weights, self._observables)
        return out.to(inputs.dtype) if inputs.is_floating_point() else out


class ExactSamplerRunner(_ExactRunner):
    """Exact outcome probabilities of one template: the exact twin of :class:`SamplerRunner`.

    Bit ``i`` of the outcome index is clbit ``i`` (joined registers), as for
    :class:`SamplerRunner`; a template without classical bits gets ``measure_all``. Only final
    measurements are supported. :meth:`statevector` gives the final (unmeasured) states.

    Args:
        circuit: Parameterized circuit template with final measurements (copied).
        parameters: Order of the values' last axis; default ``circuit.parameters``.
        max_qubits: Qubit limit of the engine.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        *,
        parameters: Sequence[Parameter] | None = None,
        max_qubits: int = 20,
    ) -> None:
        if isinstance(circuit, QuantumCircuit) and circuit.num_clbits == 0:
            circuit = circuit.measure_all(inplace=False)
        super().__init__(circuit, parameters, max_qubits)
        clbits = self.engine().final_measurements
        measured = [c for c in range(self._circuit.num_clbits) if c in clbits]
        self._qubits = [clbits[c] for c in measured]
        # outcome index of the measured marginal in the full register (unwritten clbits read 0)
        self._embed = None
        if len(measured) < self._circuit.num_clbits:
            self._embed = torch.tensor(
                [
                    sum(((outcome >> j) & 1) << c for j, c in enumerate(measured))
                    for outcome in range(1 << len(measured))
                ],
                dtype=torch.long,
            )

    @property
    def num_outcomes(self) -> int:
        """``2 ** num_clbits``."""
        return 2**self._circuit.num_clbits

    @_eager
    def evaluate(self, values: torch.Tensor) -> torch.Tensor:
        """Outcome probabilities ``(..., 2**num_clbits)`` of ``values``, differentiable."""
        self.num_jobs += 1
        engine = self._engine_for(values)
        if self._embed is None:
            probs = engine.probabilities(values, self._qubits)
            return probs.to(values.dtype) if values.is_floating_point() else probs
        lead = values.shape[:-1]
        full = torch.zeros(
            lead + (self.num_outcomes,), dtype=engine_real(engine), device=engine.device
        )
        if not self._qubits:  # nothing measured: every shot reads all zeros
            full[..., 0] = 1.0
        else:
            probs = engine.probabilities(values, self._qubits)
            full = full.index_add(-1, self._embed.to(engine.device), probs)
        return full.to(values.dtype) if values.is_floating_point() else full


class ExactStatevectorRunner(_ExactRunner):
    """Exact final statevectors of one template (measurements ignored).

    :meth:`evaluate` (and :meth:`statevector`) return ``(..., 2**num_qubits)`` complex states,
    differentiable for real tensor inputs; :meth:`run` gives them as a complex numpy array.

    Args:
        circuit: Parameterized circuit template (copied).
        parameters: Order of the values' last axis; default ``circuit.parameters``.
        max_qubits: Qubit limit of the engine.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        *,
        parameters: Sequence[Parameter] | None = None,
        max_qubits: int = 20,
    ) -> None:
        super().__init__(circuit, parameters, max_qubits)

    def evaluate(self, values: torch.Tensor) -> torch.Tensor:
        """Statevectors ``(..., 2**num_qubits)`` of ``values``, differentiable."""
        return self.statevector(values)

    def run(self, values) -> np.ndarray:
        """Statevectors ``(..., 2**num_qubits)`` as a complex128 numpy array."""
        with torch.no_grad():
            return self.statevector(self._tensor(values)).to("cpu", torch.complex128).numpy()

    def run_with_gradient(self, values, wrt=None):  # noqa: D102 - states are complex
        raise QDeepTypeError(
            "ExactStatevectorRunner returns complex states; differentiate evaluate() with "
            "torch autograd instead of asking for a real Jacobian."
        )


def engine_real(engine: StatevectorEngine) -> torch.dtype:
    """The real dtype matching an engine's complex dtype."""
    return torch.float64 if engine.dtype == torch.complex128 else torch.float32


def exact_statevector(circuit: QuantumCircuit, *, max_qubits: int = 20) -> np.ndarray:
    """The exact final statevector of a circuit without free parameters (numpy, complex128).

    Final measurements are ignored. Equals ``qiskit.quantum_info.Statevector(circuit).data``
    for unitary circuits, through the one exact engine and its cache.

    Raises:
        QDeepValueError: If the circuit has free parameters.
        QubitLimitError: Above ``max_qubits``.
    """
    if isinstance(circuit, QuantumCircuit) and circuit.num_parameters:
        raise QDeepValueError(
            f"exact_statevector needs a circuit without free parameters; this one has "
            f"{circuit.num_parameters} ({[p.name for p in circuit.parameters][:5]}...)."
        )
    engine = exact_engine(circuit, [], max_qubits=max_qubits)
    with torch.no_grad():
        return engine.statevector(None).numpy()


def swap_test_overlap(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    r"""Named exact fast path of the SWAP test: :math:`|\langle a|b\rangle|^2` for all pairs.

    A SWAP test of :math:`|a\rangle` against :math:`|b\rangle` measures its ancilla in
    :math:`|0\rangle` with probability :math:`(1 + |\langle a|b\rangle|^2)/2`, so
    :math:`P(0) - P(1) = |\langle a|b\rangle|^2`. Instead of simulating the
    :math:`2n + 1`-qubit circuit this contracts the two :math:`n`-qubit states directly; the test
    suite checks it against the circuit simulated by the engine.

    Args:
        left: ``(..., D, L)`` real states along axis ``-2`` (e.g. unit patches).
        right: ``(F, D)`` states (e.g. filter statevectors).

    Returns:
        ``(..., F, L)`` real overlaps, differentiable in both arguments.
    """
    if left.is_complex():
        raise QDeepTypeError("swap_test_overlap takes real left states (e.g. unit patches).")
    if right.is_complex():
        real = torch.einsum("...dl,fd->...fl", left, right.real.to(left.dtype))
        imag = torch.einsum("...dl,fd->...fl", left, right.imag.to(left.dtype))
        return real.square() + imag.square()
    return torch.einsum("...dl,fd->...fl", left, right).square()
