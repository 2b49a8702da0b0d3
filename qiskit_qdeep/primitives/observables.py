# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The one coercion of estimator observables: every form a Qiskit V2 estimator accepts.

:func:`as_sparse_pauli_ops` turns the observables of one estimator PUB (or of a runner, a layer,
an engine call) into a flat list of Hermitian :class:`~qiskit.quantum_info.SparsePauliOp` with
real coefficients. The runners, the quantum layers, the exact runners, the torch estimator and
:class:`~qiskit_qdeep.primitives.StatevectorEngine` all go through it, so every entry point
accepts the same forms, gives the same numbers as :class:`~qiskit.primitives.StatevectorEstimator`
and refuses the same bad inputs with the same messages.

Accepted forms of one observable (those of
:class:`~qiskit.primitives.containers.observables_array.ObservablesArray`):

* a label, Qiskit order (the rightmost character is qubit 0), over the letters of
  :class:`~qiskit.quantum_info.SparseObservable` (``IXYZ`` and the projectors ``0 1 + - r l``;
  as in Qiskit, ``"-Z"`` is the projector ``|-><-|`` on qubit 1 times ``Z`` on qubit 0, not
  ``-Z``: write ``{"Z": -1.0}``),
* a :class:`~qiskit.quantum_info.Pauli`, a :class:`~qiskit.quantum_info.SparsePauliOp`,
* a :class:`~qiskit.quantum_info.SparseObservable`, projector terms included (expanded into
  Pauli sums, as :meth:`SparsePauliOp.from_sparse_observable` does: ``0 = (I + Z) / 2``,
  ``+ = (I + X) / 2``, ``r = (I + Y) / 2``, ...),
* a mapping ``{label or Pauli: coefficient}``, the coefficients kept (``{"ZI": 2.0}`` is
  ``2 ZI``),
* a :class:`~qiskit.quantum_info.Operator` (an extension: Qiskit's estimators refuse it),

and for several observables a list, tuple, NumPy object array,
:class:`~qiskit.quantum_info.PauliList` or ``ObservablesArray`` of these (nested ones are
flattened in C order). A single observable gives a list of one.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.quantum_info import Operator, Pauli, PauliList, SparseObservable, SparsePauliOp

from ..exceptions import QDeepTypeError, QDeepValueError

__all__ = ["as_sparse_pauli_ops"]

#: Types that are one observable (never iterated over).
SINGLE_OBSERVABLE_TYPES = (str, Pauli, SparsePauliOp, SparseObservable, Mapping, Operator)

#: Relative tolerance on the imaginary parts of the simplified coefficients.
_HERMITIAN_RTOL = 1e-10

_FORMS = (
    "a Pauli label, Pauli, SparsePauliOp, SparseObservable, {label: coefficient} mapping or "
    "Operator"
)


def _flatten_observables(observables) -> list:
    """The observables of ``observables`` as a flat list of single (unchecked) observables.

    Raises:
        QDeepTypeError: If ``observables`` is neither one observable nor an array of them.
    """
    if isinstance(observables, SINGLE_OBSERVABLE_TYPES):
        return [observables]
    if _is_label_coefficient_pair(observables):
        raise QDeepTypeError(
            f"observables is a (label, coefficient) pair {tuple(observables)!r}; pass "
            "{label: coefficient} or SparsePauliOp.from_list([...]) instead."
        )
    if isinstance(observables, ObservablesArray):
        if hasattr(observables, "sparse_observables_array"):
            array = observables.sparse_observables_array()
        else:  # pragma: no cover - Qiskit < 2.2 stores mappings
            array = np.asarray(observables, dtype=object)
        return list(np.asarray(array, dtype=object).reshape(-1))
    if isinstance(observables, PauliList):
        return [observables[i] for i in range(len(observables))]
    if isinstance(observables, np.ndarray):
        if observables.dtype.kind not in "OUS":
            raise QDeepTypeError(
                f"observables must be {_FORMS}, or a sequence of them; got a numeric array of "
                f"shape {observables.shape} (wrap a matrix in qiskit.quantum_info.Operator)."
            )
        items = observables.reshape(-1).tolist() if observables.dtype.kind != "O" else None
        if items is None:
            items = list(observables.reshape(-1))
    elif isinstance(observables, (bytes, bytearray)) or observables is None:
        raise QDeepTypeError(
            f"observables must be {_FORMS}, or a sequence of them; got "
            f"{type(observables).__name__}."
        )
    else:
        try:
            items = list(observables)
        except TypeError as exc:
            raise QDeepTypeError(
                f"observables must be {_FORMS}, or a sequence of them; got "
                f"{type(observables).__name__}."
            ) from exc
    flat = []
    for item in items:
        if isinstance(item, SINGLE_OBSERVABLE_TYPES):
            flat.append(item)
        elif _is_label_coefficient_pair(item):
            raise QDeepTypeError(
                f"observables[{len(flat)}] is a (label, coefficient) pair {tuple(item)!r}; pass "
                "{label: coefficient} or SparsePauliOp.from_list([...]) instead."
            )
        elif isinstance(item, (list, tuple, np.ndarray, PauliList, ObservablesArray)):
            flat.extend(_flatten_observables(item))
        else:
            flat.append(item)  # refused with its index by _coerce_one
    return flat


def _is_label_coefficient_pair(item) -> bool:
    return (
        isinstance(item, tuple)
        and len(item) == 2
        and isinstance(item[0], (str, Pauli))
        and isinstance(item[1], numbers.Number)
    )


def _check_coefficient(k: int, key, value) -> complex:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Number):
        raise QDeepTypeError(
            f"observables[{k}] maps {key!r} to {value!r} ({type(value).__name__}); "
            "coefficients must be real (or complex) numbers."
        )
    return complex(value)


def _from_mapping(k: int, mapping: Mapping) -> SparsePauliOp:
    if not mapping:
        raise QDeepValueError(f"observables[{k}] is an empty mapping (no terms).")
    terms = []
    for key, value in mapping.items():
        coeff = _check_coefficient(k, key, value)
        if isinstance(key, Pauli):
            op = SparsePauliOp(key)  # the phase of the Pauli becomes part of the coefficient
            terms.append((op.paulis[0].to_label(), complex(op.coeffs[0]) * coeff))
        elif isinstance(key, str):
            terms.append((key, coeff))
        else:
            raise QDeepTypeError(
                f"observables[{k}] has a key of type {type(key).__name__} ({key!r}); mapping keys "
                "must be labels or Paulis (for terms on chosen qubits use "
                "SparseObservable.from_sparse_list)."
            )
    _check_finite(k, np.array([c for _, c in terms]))
    try:
        sparse = SparseObservable.from_list(terms)
    except (ValueError, TypeError) as exc:
        raise QDeepValueError(f"observables[{k}] has invalid labels: {exc}") from exc
    return SparsePauliOp.from_sparse_observable(sparse)


def _from_label(k: int, label: str) -> SparsePauliOp:
    try:
        return SparsePauliOp.from_sparse_observable(SparseObservable.from_label(label))
    except ValueError as exc:
        raise QDeepValueError(
            f"observables[{k}] = {label!r} is not a valid label ({exc}); labels use the letters "
            "'IXYZ+-rl01', rightmost character on qubit 0 (as in Qiskit, '-' and '+' are "
            "projectors, not signs: write {'Z': -1.0} for -Z)."
        ) from exc


def _check_finite(k: int, coeffs: np.ndarray) -> None:
    coeffs = np.asarray(coeffs, dtype=complex)
    if not np.all(np.isfinite(coeffs)):
        bad = coeffs[~np.isfinite(coeffs)][0]
        raise QDeepValueError(
            f"observables[{k}] has a non-finite coefficient ({bad}); every coefficient must be a "
            "finite number."
        )


def _coerce_one(k: int, obs, num_qubits: int) -> SparsePauliOp:
    """One observable as a simplified Hermitian ``SparsePauliOp`` with real coefficients."""
    if isinstance(obs, str):
        op = _from_label(k, obs)
    elif isinstance(obs, Pauli):
        op = SparsePauliOp(obs)
    elif isinstance(obs, SparsePauliOp):
        if obs.coeffs.dtype == object:
            raise QDeepTypeError(
                f"observables[{k}] has parameterized (object) coefficients; assign them first "
                "(SparsePauliOp.assign_parameters)."
            )
        op = obs
    elif isinstance(obs, SparseObservable):
        _check_finite(k, np.asarray(obs.coeffs))
        op = SparsePauliOp.from_sparse_observable(obs)
    elif isinstance(obs, Mapping):
        op = _from_mapping(k, obs)
    elif isinstance(obs, Operator):
        data = np.asarray(obs.data)
        if not np.all(np.isfinite(data)):
            raise QDeepValueError(f"observables[{k}] is an Operator with NaN or inf entries.")
        try:
            op = SparsePauliOp.from_operator(obs)
        except Exception as exc:  # pylint: disable=broad-except
            raise QDeepValueError(
                f"observables[{k}] is an Operator that is not on qubits: {exc}"
            ) from exc
    else:
        raise QDeepTypeError(
            f"observables[{k}] must be {_FORMS}; got {type(obs).__name__} ({obs!r})."
        )
    if op.num_qubits != num_qubits:
        raise QDeepValueError(
            f"observables[{k}] acts on {op.num_qubits} qubits but the circuit has {num_qubits}."
        )
    _check_finite(k, op.coeffs)
    op = op.simplify(atol=0.0, rtol=0.0)
    coeffs = np.asarray(op.coeffs, dtype=complex)
    scale = max(1.0, float(np.max(np.abs(coeffs))))
    if np.any(np.abs(coeffs.imag) > _HERMITIAN_RTOL * scale):
        raise QDeepValueError(
            f"observables[{k}] is not Hermitian (complex coefficients {coeffs}); only Hermitian "
            "observables have real expectation values."
        )
    return SparsePauliOp(op.paulis, coeffs.real.astype(complex))


def as_sparse_pauli_ops(observables, num_qubits: int) -> list[SparsePauliOp]:
    """Normalises observables to a flat list of Hermitian ``SparsePauliOp`` on ``num_qubits``.

    Accepts every form a Qiskit V2 estimator accepts for the observables of one PUB (see the
    module documentation): a label, ``Pauli``, ``SparsePauliOp``, ``SparseObservable`` (projector
    terms expanded into Pauli sums), a ``{label or Pauli: coefficient}`` mapping (coefficients
    kept), an ``Operator``, or a list / tuple / NumPy object array / ``PauliList`` /
    ``ObservablesArray`` of these, flattened in C order. A single observable gives a list of one.

    The operators are simplified (equal terms combined) and have real coefficients.

    Args:
        observables: The observables.
        num_qubits: Qubits of the circuit they are measured on.

    Returns:
        One ``SparsePauliOp`` per observable.

    Raises:
        QDeepTypeError: For a type that is not an observable (named with its index), a
            non-numeric coefficient or parameterized coefficients.
        QDeepValueError: For no observables, an invalid label, a qubit-count mismatch, a NaN or
            infinite coefficient or a non-Hermitian observable (complex coefficients that do not
            cancel); the message names the observable's index. (A zero observable is accepted:
            its expectation value is 0; Qiskit's own estimators refuse it.)
    """
    items = _flatten_observables(observables)
    ops = [_coerce_one(k, obs, num_qubits) for k, obs in enumerate(items)]
    if not ops:
        raise QDeepValueError("observables must hold at least one observable.")
    return ops


def observable_key(obs) -> tuple | None:
    """A hashable content key of one observable (``None`` if its type has none).

    Equal keys mean equal observables (exact bytes of their terms and coefficients), so the key
    can index caches of lookup tables and de-duplicate the observables of a PUB.
    """
    if isinstance(obs, str):
        return ("label", obs)
    if isinstance(obs, SparsePauliOp):
        if obs.coeffs.dtype == object:
            return None
        paulis = obs.paulis
        return (
            "spo",
            paulis.num_qubits,
            paulis.x.tobytes(),
            paulis.z.tobytes(),
            paulis.phase.tobytes(),
            np.asarray(obs.coeffs, dtype=complex).tobytes(),
        )
    if isinstance(obs, Pauli):
        return ("pauli", obs.num_qubits, obs.x.tobytes(), obs.z.tobytes(), int(obs.phase))
    if isinstance(obs, SparseObservable):
        return (
            "sparse",
            obs.num_qubits,
            np.asarray(obs.coeffs, dtype=complex).tobytes(),
            np.asarray(obs.bit_terms, dtype=np.uint8).tobytes(),
            np.asarray(obs.indices, dtype=np.uint32).tobytes(),
            np.asarray(obs.boundaries, dtype=np.uint64).tobytes(),
        )
    if isinstance(obs, Mapping):
        items = []
        for key, value in obs.items():
            if isinstance(key, str):
                label = ("s", key)
            elif isinstance(key, Pauli):
                label = ("p", key.to_label())
            else:
                return None
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Number):
                return None
            items.append((label, complex(value)))
        return ("mapping", tuple(items))
    return None
