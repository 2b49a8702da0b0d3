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

import threading
from collections import OrderedDict
from collections.abc import Sequence

import torch
from qiskit.circuit import Parameter, QuantumCircuit

from ..exceptions import QDeepTypeError, QubitLimitError
from .fingerprint import circuit_fingerprint, parameters_key
from .statevector.engine import StatevectorEngine

__all__ = ["exact_engine", "clear_exact_cache", "exact_cache_info"]

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


def exact_engine(
    circuit: QuantumCircuit,
    parameters: Sequence[Parameter] | None = None,
    *,
    dtype: torch.dtype = torch.complex128,
    device: str | torch.device | None = None,
    max_qubits: int = 20,
    fingerprint: str | None = None,
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
        parameters_key(params),
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
