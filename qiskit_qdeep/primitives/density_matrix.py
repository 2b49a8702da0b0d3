# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Exact, batched, differentiable density-matrix simulation with backend noise, in torch.

:class:`DensityMatrixEngine` evolves a batch of density matrices :math:`\rho` through a circuit,

.. math::

    \rho \;\to\; U \rho U^\dagger \quad\text{(every instruction)}, \qquad
    \rho \;\to\; \mathcal{E}(\rho) = \sum_k K_k \rho K_k^\dagger
    \quad\text{(the error the noise model attaches to it)},

and gives expectation values :math:`\operatorname{Tr}(O\rho)`, outcome probabilities (with the
noise model's readout error) and the density matrices themselves. Everything is plain torch, so
gradients with respect to the parameter values come from autograd (``gradient="backprop"``).

The noise comes from a :class:`qiskit_aer.noise.NoiseModel` (for example
``NoiseModel.from_backend(backend)``) and is matched the way Aer matches it: by the *name* of
each top-level instruction of the circuit and the circuit indices of its qubits. Pass the
backend-transpiled (ISA) circuit, so that instruction names and physical qubits are those the
noise model refers to; every instruction is matched *before* it is decomposed into rotations.

This is an **exact classical simulation**: memory and time grow as ``4**num_qubits`` per
binding (a 10-qubit density matrix has about a million complex entries).
:class:`TorchDensityMatrixEstimator` and :class:`TorchDensityMatrixSampler` expose it as V2
primitives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from qiskit.circuit import Parameter, QuantumCircuit
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
from qiskit.quantum_info import Kraus, SparsePauliOp, SuperOp

from .._validation import check_int, check_precision, check_shots
from ..exceptions import (
    QDeepTypeError,
    QDeepValueError,
    QubitLimitError,
    UnsupportedGateError,
)
from ._expressions import ParameterMap
from .fingerprint import circuit_fingerprint, parameters_key
from .observables import as_sparse_pauli_ops
from .statevector.compiler import _Flattener
from .torch_primitives import _observable_elements, _pub_error, _sample, _TorchPrimitiveMixin

__all__ = ["DensityMatrixEngine", "TorchDensityMatrixEstimator", "TorchDensityMatrixSampler"]

#: Default bound on the estimated memory of one evaluation (bytes).
DEFAULT_MAX_MEMORY_BYTES = 8 * 2**30
# Largest union of qubits whose items are multiplied into one unitary before they are applied.
_MAX_FUSED_QUBITS = 3
# Largest union of qubits whose consecutive superoperators are multiplied before they are applied.
_MAX_MERGED_QUBITS = 2
_CPTP_ATOL = 1e-8
# rho -> |0><0| Tr(rho) on one qubit (Kraus |0><0|, |0><1|), column-stacking superoperator
_RESET_SUPEROP = np.asarray(
    SuperOp(Kraus([np.array([[1, 0], [0, 0]]), np.array([[0, 1], [0, 0]])])).data, dtype=complex
)
_PAULI_2 = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def _real_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.complex128 else torch.float32


def _check_noise_model(noise_model) -> None:
    try:
        from qiskit_aer.noise import NoiseModel
    except ImportError:  # pragma: no cover - qiskit-aer is a dependency of the noise path
        NoiseModel = None  # noqa: N806
    if NoiseModel is not None and isinstance(noise_model, NoiseModel):
        return
    raise QDeepTypeError(
        f"noise_model must be a qiskit_aer.noise.NoiseModel or None, got "
        f"{type(noise_model).__name__}."
    )


def _channel(error, where: str) -> np.ndarray:
    """The superoperator matrix of a quantum error (column-stacking, qiskit convention)."""
    try:
        superop = SuperOp(error)
    except Exception as exc:  # pylint: disable=broad-except
        raise QDeepValueError(
            f"The noise model's error on {where} cannot be converted to a quantum channel "
            f"({type(exc).__name__}: {exc}); only quantum errors (Kraus, unitary, reset and "
            "Pauli circuits) are supported."
        ) from exc
    if not superop.is_cptp(atol=_CPTP_ATOL, rtol=0.0):
        raise QDeepValueError(
            f"The noise model's error on {where} is not a CPTP channel (not completely "
            "positive or not trace preserving)."
        )
    return np.asarray(superop.data, dtype=complex)


def _embed_controls(matrix, num_targets: int, controls: Sequence[tuple[int, int]]):
    """``matrix`` (``(..., d, d)``) as the full matrix on ``targets + controls``."""
    if not controls:
        return matrix
    dt = 1 << num_targets
    width = 1 << len(controls)
    cval = sum(value << j for j, (_, value) in enumerate(controls))
    dim = dt * width
    if isinstance(matrix, torch.Tensor):
        full = torch.eye(dim, dtype=matrix.dtype, device=matrix.device)
        full = full.expand(*matrix.shape[:-2], dim, dim).clone()
        # little-endian: the control bits sit above the target bits
        full[..., cval * dt : (cval + 1) * dt, cval * dt : (cval + 1) * dt] = matrix
        return full
    full = np.eye(dim, dtype=complex)
    full[cval * dt : (cval + 1) * dt, cval * dt : (cval + 1) * dt] = matrix
    return full


class _Step:
    """One step of the program: a unitary or a channel on a few qubits.

    ``kind`` is ``"unitary"`` (``parts``: a list of ``(matrix or rotation index, qubits)``
    multiplied in order) or ``"channel"`` (``matrix``: a superoperator on ``qubits``).
    """

    __slots__ = ("kind", "qubits", "parts", "matrix", "label")

    def __init__(self, kind, qubits, parts=None, matrix=None, label=""):
        self.kind = kind
        self.qubits = tuple(qubits)
        self.parts = parts
        self.matrix = matrix
        self.label = label


class DensityMatrixEngine:
    r"""Exact batched density-matrix simulation of a (noisy) circuit in torch, with autograd.

    The circuit starts in :math:`|0\rangle\langle 0|`. Every top-level instruction becomes a
    unitary :math:`U` on its qubits (rotations are built from the parameter values, so the
    simulation is differentiable with plain torch autograd), applied as
    :math:`\rho\to U\rho U^\dagger`, followed by the channel :math:`\mathcal{E}` that the
    noise model attaches to that instruction on those qubits (a local error for the qubits
    when there is one, else the default error for the instruction name, as Aer chooses),
    applied through its superoperator. Resets are the exact channel
    :math:`\rho\to|0\rangle\langle0|\otimes\operatorname{Tr}_q\rho`; final measurements are
    recorded (for :meth:`probabilities`), and errors on ``measure`` are applied before the
    measurement, as Aer does. Global phases cancel in :math:`\rho` and are dropped.

    **Layout.** Parameter values have shape ``(..., num_parameters)``; states are returned as
    ``(..., 2**n, 2**n)`` with row and column indices little-endian (qubit 0 is the lowest bit),
    as in :class:`~qiskit.quantum_info.DensityMatrix`.

    **Noise matching.** Instructions are matched by name and qubit indices *before* they are
    decomposed, so pass the backend-transpiled (ISA) circuit, for example from
    ``generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)``; its
    qubit ``i`` is the backend's physical qubit ``i``, which is what the noise model of
    ``NoiseModel.from_backend(backend)`` refers to. Errors of instructions that do not appear by
    name at the top level of the circuit are not applied (Aer would apply them only after
    decomposing an unsupported gate into the noise model's basis). Readout errors (single-qubit
    assignment errors) act on :meth:`probabilities`; on :meth:`expectation_values` only when
    ``readout_error=True`` (Aer's estimator applies none), where a Pauli term is taken as
    measured in its eigenbasis with a noiseless basis change followed by the noisy readout of
    each qubit of its support.

    **Cost.** This is an exact classical simulation: memory and time grow as ``4**n`` per
    binding. ``max_qubits`` bounds ``n`` when the engine is built, and every evaluation checks a
    memory estimate from the shapes (one state per applied step is kept for autograd when
    gradients are recorded) against ``max_memory_bytes`` before anything is allocated.

    Example:
        .. code-block:: python

            from qiskit import QuantumCircuit
            from qiskit.circuit import Parameter
            from qiskit_aer.noise import NoiseModel, depolarizing_error
            import torch
            from qiskit_qdeep.primitives import DensityMatrixEngine

            theta = Parameter("t")
            circuit = QuantumCircuit(2)
            circuit.ry(theta, 0)
            circuit.cx(0, 1)
            noise = NoiseModel()
            noise.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
            engine = DensityMatrixEngine(circuit, noise_model=noise)
            values = torch.tensor([[0.3]], dtype=torch.float64, requires_grad=True)
            evs = engine.expectation_values(values, ["ZZ", "XX"])  # (1, 2)
            evs.sum().backward()

    References:
        [1] M. A. Nielsen and I. L. Chuang, *Quantum Computation and Quantum Information*,
        ch. 8 (operator-sum representation of quantum channels).
        [2] Qiskit Aer noise models, `arXiv:2405.08810 <https://arxiv.org/abs/2405.08810>`_.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        *,
        parameters: Sequence[Parameter] | None = None,
        noise_model: Any = None,
        dtype: torch.dtype = torch.complex128,
        device: str | torch.device | None = None,
        max_qubits: int = 10,
        readout_error: bool = False,
        max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
    ) -> None:
        """Compile ``circuit`` (and its noise) into a program of unitaries and channels.

        Args:
            circuit: The circuit (for noise: the backend-transpiled ISA circuit). Measurements
                must be final.
            parameters: Order of the values' last axis (default ``circuit.parameters``).
            noise_model: A :class:`qiskit_aer.noise.NoiseModel`, or ``None`` for no noise.
            dtype: ``torch.complex128`` or ``torch.complex64``.
            device: Torch device (default CPU).
            max_qubits: Largest circuit accepted (memory grows as ``4**num_qubits``).
            readout_error: Whether :meth:`expectation_values` includes the readout error.
            max_memory_bytes: Bound on the estimated memory of one evaluation.

        Raises:
            QDeepTypeError: If an argument has the wrong type.
            QDeepValueError: If ``dtype`` is not complex, or the noise model holds an error that
                is not a CPTP channel, a correlated (multi-qubit) readout error, or noise for
                ``delay`` instructions of the circuit (relaxation passes are not supported).
            QubitLimitError: If the circuit has more than ``max_qubits`` qubits.
            UnsupportedGateError: If an instruction cannot be simulated.
        """
        if not isinstance(circuit, QuantumCircuit):
            raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
        check_int("max_qubits", max_qubits)
        check_int("max_memory_bytes", max_memory_bytes)
        if not isinstance(readout_error, (bool, np.bool_)):
            raise QDeepTypeError(
                f"readout_error must be a bool, got {type(readout_error).__name__}."
            )
        if dtype not in (torch.complex64, torch.complex128):
            raise QDeepValueError(
                f"dtype must be torch.complex64 or torch.complex128, got {dtype!r}."
            )
        n = circuit.num_qubits
        if n > max_qubits:
            raise QubitLimitError(
                f"The circuit has {n} qubits, more than max_qubits={max_qubits} of the density-"
                f"matrix engine (memory grows as 4**num_qubits: {4**n} entries per binding)."
            )
        if noise_model is not None:
            _check_noise_model(noise_model)
        self.num_qubits = n
        self.dtype = dtype
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.max_qubits = max_qubits
        self.max_memory_bytes = int(max_memory_bytes)
        self.readout_error = bool(readout_error)
        self.noise_model = noise_model
        self.parameters = list(circuit.parameters if parameters is None else parameters)
        self.num_parameters = len(self.parameters)
        self._channel_cache: dict[int, np.ndarray] = {}
        self._compile(circuit)
        self._readout = self._readout_matrices(noise_model)
        self._finalize()

    # ----- compilation
    def _error_for(self, name: str, qubits: tuple[int, ...]):
        noise = self.noise_model
        if noise is None:
            return None
        local = noise._local_quantum_errors.get(name, {})  # pylint: disable=protected-access
        if qubits in local:
            return local[qubits]
        return noise._default_quantum_errors.get(name)  # pylint: disable=protected-access

    def _channel_step(self, error, name, qubits) -> _Step:
        where = f"'{name}' on qubits {list(qubits)}"
        if error.num_qubits != len(qubits):
            raise QDeepValueError(
                f"The noise model's error on {where} acts on {error.num_qubits} qubits, not "
                f"{len(qubits)}."
            )
        key = id(error)
        if key not in self._channel_cache:
            self._channel_cache[key] = _channel(error, where)
        return _Step("channel", qubits, matrix=self._channel_cache[key], label=name)

    def _compile(self, circuit: QuantumCircuit) -> None:
        n = self.num_qubits
        flat = _Flattener(n)
        steps: list[_Step] = []
        rot_exprs: list[Any] = []
        rot_scales: list[float] = []
        rot_axes: list[str] = []
        noise = self.noise_model
        passes = bool(noise is not None and noise._custom_noise_passes)  # pylint: disable=W0212
        for instruction in circuit.data:
            op = instruction.operation
            name = op.name
            qargs = tuple(circuit.find_bit(q).index for q in instruction.qubits)
            cargs = tuple(circuit.find_bit(c).index for c in instruction.clbits)
            if name == "delay" and passes:
                raise QDeepValueError(
                    "The circuit has a 'delay' and the noise model adds relaxation noise to "
                    "delays through a noise pass, which the density-matrix engine does not "
                    "support; transpile without scheduling (no delays)."
                )
            error = self._error_for(name, qargs)
            if name == "measure":
                if error is not None:  # Aer applies measurement errors before the measurement
                    steps.append(self._channel_step(error, name, qargs))
                flat.add_operation(op, qargs, cargs)
                continue
            if name == "reset":
                flat.current = name
                if qargs[0] in flat.measured:
                    raise UnsupportedGateError(
                        f"'reset' on qubit {qargs[0]} after it was measured: mid-circuit "
                        "measurements are not supported by the density-matrix engine."
                    )
                flat.touched.add(qargs[0])
                steps.append(_Step("channel", qargs, matrix=_RESET_SUPEROP, label=name))
            else:
                start = len(flat.items)
                flat.add_operation(op, qargs, cargs)
                items = flat.items[start:]
                if any(item[0] == "reset" for item in items):
                    raise UnsupportedGateError(
                        f"Instruction '{name}' contains a reset; decompose it before simulation."
                    )
                steps.extend(self._unitary_steps(items, rot_exprs, rot_scales, rot_axes, name))
            if error is not None:
                steps.append(self._channel_step(error, name, qargs))
        self.final_measurements = dict(flat.clbit_map)
        self._steps = steps
        self._rot_axes = rot_axes
        self._angles = ParameterMap(rot_exprs, self.parameters, scales=rot_scales)

    @staticmethod
    def _unitary_steps(items, rot_exprs, rot_scales, rot_axes, label) -> list[_Step]:
        """The unitary steps of one instruction's items (fused while few qubits are involved)."""
        steps: list[_Step] = []
        parts: list[tuple[Any, tuple[int, ...]]] = []
        support: list[int] = []
        for item in items:
            if item[0] == "rot":
                _, axis, target, controls, (expr, scale) = item
                part = (len(rot_exprs), (target,), tuple(controls))
                rot_exprs.append(expr)
                rot_scales.append(scale)
                rot_axes.append(axis)
            else:
                _, matrix, qubits, controls = item
                part = (np.asarray(matrix, dtype=complex), tuple(qubits), tuple(controls))
            qubits = (*part[1], *(q for q, _ in part[2]))
            merged = support + [q for q in qubits if q not in support]
            if parts and len(merged) > _MAX_FUSED_QUBITS:
                steps.append(_Step("unitary", support, parts=parts, label=label))
                parts, merged = [], list(qubits)
            parts.append(part)
            support = merged
        if parts:
            steps.append(_Step("unitary", support, parts=parts, label=label))
        return steps

    def _readout_matrices(self, noise_model) -> dict[int, np.ndarray]:
        """``{qubit: P}`` with ``P[true, measured]`` of each qubit's assignment error."""
        if noise_model is None:
            return {}
        out = {}
        default = noise_model._default_readout_error  # pylint: disable=protected-access
        local = noise_model._local_readout_errors  # pylint: disable=protected-access
        for qubits, error in local.items():
            if len(qubits) != 1 or error.number_of_qubits != 1:
                raise QDeepValueError(
                    f"The noise model has a correlated readout error on qubits {list(qubits)}; "
                    "only single-qubit readout errors are supported."
                )
        if default is not None and default.number_of_qubits != 1:
            raise QDeepValueError(
                "The noise model's default readout error is a correlated multi-qubit one; only "
                "single-qubit readout errors are supported."
            )
        for q in range(self.num_qubits):
            error = local.get((q,), default)
            if error is not None:
                out[q] = np.asarray(error.probabilities, dtype=float)
        return out

    def _finalize(self) -> None:
        dtype, device = self.dtype, self.device
        for step in self._steps:
            if step.kind == "channel":
                k = len(step.qubits)
                d = 1 << k
                # column-stacking: S[(c', r'), (c, r)] -> rows/cols as little-endian bits
                tensor = np.asarray(step.matrix).reshape(d, d, d, d)  # c', r', c, r
                tensor = tensor.transpose(1, 0, 3, 2)  # r', c', r, c
                step.matrix = torch.as_tensor(
                    tensor.reshape(d * d, d * d).copy(), dtype=dtype, device=device
                ).unsqueeze(0)
            elif step.kind == "unitary":
                step.parts = [
                    (
                        part[0]
                        if isinstance(part[0], int)
                        else torch.as_tensor(part[0], dtype=dtype, device=device),
                        part[1],
                        part[2],
                    )
                    for part in step.parts
                ]

    # ----- properties
    @property
    def num_steps(self) -> int:
        """Number of unitaries and channels applied per evaluation."""
        return len(self._steps)

    @property
    def readout_matrices(self) -> dict[int, np.ndarray]:
        """``{qubit: P}``, ``P[true, measured]``: the single-qubit readout errors per qubit."""
        return {q: m.copy() for q, m in self._readout.items()}

    # ----- evaluation
    def _values(self, values) -> tuple[torch.Tensor, tuple[int, ...]]:
        real = _real_dtype(self.dtype)
        if values is None:
            if self.num_parameters:
                raise QDeepValueError(
                    f"values must have shape (..., {self.num_parameters}), got None."
                )
            values = torch.zeros(0, dtype=real, device=self.device)
        if isinstance(values, torch.Tensor):
            if values.is_complex():
                raise QDeepTypeError("values must be real, got a complex tensor.")
            tensor = values.to(device=self.device, dtype=real)
        else:
            try:
                array = np.asarray(values, dtype=float)
            except (TypeError, ValueError) as exc:
                raise QDeepTypeError(
                    f"values must be a real array or tensor, got {type(values).__name__}."
                ) from exc
            tensor = torch.as_tensor(array, dtype=real, device=self.device)
        if tensor.ndim == 0 or tensor.shape[-1] != self.num_parameters:
            raise QDeepValueError(
                f"values must have shape (..., {self.num_parameters}) (one column per circuit "
                f"parameter), got shape {tuple(tensor.shape)}."
            )
        if not bool(torch.isfinite(tensor).all()):
            raise QDeepValueError("values contain NaN or infinite entries.")
        lead = tuple(tensor.shape[:-1])
        return tensor.reshape(math.prod(lead), self.num_parameters), lead

    def _check_memory(self, batch: int) -> None:
        n = self.num_qubits
        itemsize = torch.empty((), dtype=self.dtype).element_size()
        states = 4 + (len(self._steps) if torch.is_grad_enabled() else 0)
        estimate = batch * 4**n * itemsize * states
        if estimate > self.max_memory_bytes:
            raise QubitLimitError(
                f"The density-matrix simulation of {n} qubits for {batch} bindings needs about "
                f"{estimate / 2**30:.2f} GiB ({batch} x 4**{n} entries x {states} states), more "
                f"than max_memory_bytes={self.max_memory_bytes}; use fewer bindings per call, "
                "fewer qubits, or evaluate under torch.no_grad()."
            )

    def _rotations(self, flat_values: torch.Tensor) -> list[torch.Tensor]:
        if not self._rot_axes:
            return []
        half = self._angles.torch(flat_values)  # (B, R) half angles
        cos = torch.cos(half).to(self.dtype)
        sin = torch.sin(half).to(self.dtype)
        mats = []
        for j, axis in enumerate(self._rot_axes):
            c, s = cos[:, j], sin[:, j]
            if axis == "x":
                m = torch.stack([c, -1j * s, -1j * s, c], dim=-1)
            elif axis == "y":
                m = torch.stack([c, -s, s, c], dim=-1)
            else:
                zero = torch.zeros_like(c)
                m = torch.stack([c - 1j * s, zero, zero, c + 1j * s], dim=-1)
            mats.append(m.reshape(-1, 2, 2))
        return mats

    def _step_unitary(self, step: _Step, rotations, batch: int) -> torch.Tensor:
        """The unitary ``(B or 1, d, d)`` of a step on ``step.qubits`` (little-endian)."""
        k = len(step.qubits)
        pos = {q: j for j, q in enumerate(step.qubits)}
        total = None
        for matrix, targets, controls in step.parts:
            if isinstance(matrix, int):
                matrix = rotations[matrix]
            else:
                matrix = matrix.unsqueeze(0)
            full = _embed_controls(matrix, len(targets), controls)
            local = (*targets, *(q for q, _ in controls))
            full = _lift(full, [pos[q] for q in local], k)
            total = full if total is None else full @ total
        return total

    def _step_superop(self, step: _Step, rotations, batch: int) -> torch.Tensor:
        """The superoperator ``(B or 1, d*d, d*d)`` of a step, index ``(row, column)``."""
        if step.kind == "channel":
            return step.matrix
        unitary = self._step_unitary(step, rotations, batch)
        d = unitary.shape[-1]
        # S[(r', c'), (r, c)] = U[r', r] conj(U[c', c])
        superop = unitary.unsqueeze(2).unsqueeze(-1) * unitary.conj().unsqueeze(1).unsqueeze(3)
        return superop.reshape(unitary.shape[0], d * d, d * d)

    def _evolve(self, flat_values: torch.Tensor) -> torch.Tensor:
        """Density matrices ``(B, 2, ..., 2)`` (``2n`` axes after the batch, logical order).

        Every step is a (batched) superoperator on the row and column axes of its qubits;
        consecutive steps on the same qubits are multiplied first. The state is kept in
        whatever axis order the last step left it in (``order``: the logical axis at every
        position), so every step costs one permuted copy and one batched matrix product.
        """
        n = self.num_qubits
        batch = flat_values.shape[0]
        self._check_memory(batch)
        rotations = self._rotations(flat_values)
        rho = torch.zeros((batch, 1 << (2 * n)), dtype=self.dtype, device=self.device)
        rho[:, 0] = 1.0
        rho = rho.reshape((batch,) + (2,) * (2 * n))
        order = list(range(2 * n))  # logical axes: rows (qubit n-1 .. 0), columns (same)
        pending = None
        qubits: tuple[int, ...] = ()
        for step in self._steps:
            superop = self._step_superop(step, rotations, batch)
            if pending is not None:
                union = qubits + tuple(q for q in step.qubits if q not in qubits)
                if len(union) <= _MAX_MERGED_QUBITS:
                    pending = _lift_superop(superop, step.qubits, union) @ _lift_superop(
                        pending, qubits, union
                    )
                    qubits = union
                    continue
            if pending is not None:
                rho, order = _apply_matrix(rho, order, pending, qubits, n)
            pending, qubits = superop, step.qubits
        if pending is not None:
            rho, order = _apply_matrix(rho, order, pending, qubits, n)
        return rho.permute(0, *[1 + order.index(axis) for axis in range(2 * n)])

    def density_matrix(self, values) -> torch.Tensor:
        """The density matrices ``(..., 2**n, 2**n)`` for ``values`` ``(..., num_parameters)``.

        Raises:
            QDeepTypeError: If ``values`` is not a real array or tensor.
            QDeepValueError: If ``values`` has the wrong width or NaN/infinite entries.
            QubitLimitError: If the memory estimate exceeds ``max_memory_bytes``.
        """
        flat, lead = self._values(values)
        dim = 1 << self.num_qubits
        return self._evolve(flat).reshape(lead + (dim, dim))

    def _observable_matrices(self, observables) -> torch.Tensor:
        ops = as_sparse_pauli_ops(observables, self.num_qubits)
        mats = [self._observable_matrix(op) for op in ops]
        return torch.as_tensor(np.stack(mats), dtype=self.dtype, device=self.device)

    def _observable_matrix(self, op: SparsePauliOp) -> np.ndarray:
        if not (self.readout_error and self._readout):
            return op.to_matrix()
        total = 0
        for label, coeff in zip(op.paulis.to_labels(), op.coeffs):
            matrix = np.ones((1, 1), dtype=complex)
            for k, char in enumerate(label):  # label[0] is the highest qubit
                qubit = self.num_qubits - 1 - k
                factor = _PAULI_2[char]
                probs = self._readout.get(qubit)
                if char != "I" and probs is not None:
                    # measured value d_t = P(0|t) - P(1|t): the readout maps Z to a I + b Z
                    d0, d1 = probs[0, 0] - probs[0, 1], probs[1, 0] - probs[1, 1]
                    factor = 0.5 * (d0 + d1) * _PAULI_2["I"] + 0.5 * (d0 - d1) * factor
                matrix = np.kron(matrix, factor)
            total = total + coeff * matrix
        return total

    def expectation_values(self, values, observables) -> torch.Tensor:
        r"""Real :math:`\operatorname{Tr}(O_k\rho)` of shape ``(..., K)``.

        Args:
            values: Parameter values ``(..., num_parameters)`` (a tensor keeps its graph).
            observables: Any form of
                :func:`~qiskit_qdeep.primitives.observables.as_sparse_pauli_ops` (``K`` of them).

        Returns:
            Expectation values ``(..., K)`` (real, the engine's real dtype).

        Raises:
            QDeepTypeError: If ``values`` or ``observables`` have the wrong type.
            QDeepValueError: If ``values`` has the wrong width or NaN/infinite entries, or an
                observable is invalid.
            QubitLimitError: If the memory estimate exceeds ``max_memory_bytes``.
        """
        mats = self._observable_matrices(observables)
        flat, lead = self._values(values)
        dim = 1 << self.num_qubits
        rho = self._evolve(flat).reshape(flat.shape[0], dim * dim)
        # Tr(O rho) = sum_ij O_ji rho_ij
        evs = rho @ mats.transpose(-1, -2).reshape(mats.shape[0], dim * dim).T
        return evs.real.reshape(lead + (mats.shape[0],))

    def probabilities(self, values, qargs: Sequence[int] | None = None, *, readout: bool = True):
        """Outcome probabilities ``(..., 2**len(qargs))`` of measuring ``qargs``.

        Args:
            values: Parameter values ``(..., num_parameters)``.
            qargs: Measured qubits (default all); bit ``j`` of an outcome is ``qargs[j]``.
            readout: Whether to apply the noise model's readout error to each measured qubit.

        Returns:
            Probabilities (real, the engine's real dtype), summing to 1 per binding.

        Raises:
            QDeepValueError: If ``values`` is invalid or ``qargs`` names a qubit twice or out of
                range.
            QubitLimitError: If the memory estimate exceeds ``max_memory_bytes``.
        """
        n = self.num_qubits
        qargs = list(range(n)) if qargs is None else [int(q) for q in qargs]
        if len(set(qargs)) != len(qargs) or any(q < 0 or q >= n for q in qargs):
            raise QDeepValueError(f"qargs must be distinct qubits in [0, {n}), got {qargs}.")
        flat, lead = self._values(values)
        batch = flat.shape[0]
        dim = 1 << n
        rho = self._evolve(flat).reshape(batch, dim, dim)
        diag = torch.diagonal(rho, dim1=-2, dim2=-1).real.reshape((batch,) + (2,) * n)
        # axis 1 + (n - 1 - q) is qubit q; keep qargs (highest first), sum the others
        keep = [1 + n - 1 - q for q in reversed(qargs)]
        others = [a for a in range(1, n + 1) if a not in keep]
        probs = diag.sum(dim=others) if others else diag
        # after the sum, the kept axes are in increasing axis order; reorder to reversed(qargs)
        order = sorted(keep)
        probs = probs.permute(0, *[1 + order.index(a) for a in keep])
        if readout and self._readout:
            for j, q in enumerate(reversed(qargs)):
                matrix = self._readout.get(q)
                if matrix is None:
                    continue
                m = torch.as_tensor(matrix, dtype=probs.dtype, device=probs.device)
                probs = torch.movedim(torch.tensordot(probs, m, dims=([1 + j], [0])), -1, 1 + j)
        return probs.reshape(lead + (1 << len(qargs),))


def _lift(matrix: torch.Tensor, positions: Sequence[int], k: int) -> torch.Tensor:
    """``matrix`` (``(B, 2**m, 2**m)``, on local ``positions``) as a ``(B, 2**k, 2**k)`` one."""
    m = len(positions)
    if m == k and list(positions) == list(range(k)):
        return matrix
    batch = matrix.shape[0]
    rest = [p for p in range(k) if p not in positions]
    # subscripts: batch 0, out bit of local position p: 1 + p, in bit: 1 + k + p
    t = matrix.reshape((batch,) + (2,) * (2 * m))
    t_sub = [0] + [1 + p for p in reversed(positions)] + [1 + k + p for p in reversed(positions)]
    eye = torch.eye(1 << len(rest), dtype=matrix.dtype, device=matrix.device)
    eye = eye.reshape((2,) * (2 * len(rest)))
    eye_sub = [1 + p for p in reversed(rest)] + [1 + k + p for p in reversed(rest)]
    out_sub = [0] + [1 + p for p in reversed(range(k))] + [1 + k + p for p in reversed(range(k))]
    result = torch.einsum(t, t_sub, eye, eye_sub, out_sub)
    return result.reshape(batch, 1 << k, 1 << k)


def _lift_superop(superop, qubits: tuple[int, ...], target: tuple[int, ...]) -> torch.Tensor:
    """A superoperator on ``qubits`` as one on ``target`` (a superset, identity elsewhere).

    Index ``(row, column)`` of ``d*d``: as an operator on ``2k`` virtual qubits, column bit
    ``j`` is virtual qubit ``j`` and row bit ``j`` is virtual qubit ``k + j``.
    """
    if qubits == target:
        return superop
    size = len(target)
    positions = [target.index(q) for q in qubits] + [size + target.index(q) for q in qubits]
    return _lift(superop, positions, 2 * size)


def _apply_matrix(rho, order, matrix, qubits, n):
    """Apply ``matrix`` (``(B or 1, D, D)``) to the row and column axes of ``qubits``.

    ``rho`` is ``(B, 2, ..., 2)`` with logical axis ``order[i]`` at position ``1 + i``; the
    result has the target axes last (the new order is returned with it).
    """
    targets = [n - 1 - q for q in reversed(qubits)]
    targets = targets + [n + axis for axis in targets]
    positions = [order.index(axis) for axis in targets]
    others = [i for i in range(len(order)) if i not in positions]
    batch = rho.shape[0]
    moved = rho.permute(0, *[1 + i for i in others], *[1 + i for i in positions])
    flat = moved.reshape(batch, -1, matrix.shape[-1])
    out = flat @ matrix.transpose(-1, -2)
    new_order = [order[i] for i in others] + targets
    return out.reshape((batch,) + (2,) * len(order)), new_order


class _DensityMatrixPrimitiveMixin:
    """Noise model, seed, dtype, device and the per-circuit engines of both primitives."""

    def _init_engine(self, noise_model, seed, dtype, device, max_qubits) -> None:
        if noise_model is not None:
            _check_noise_model(noise_model)
        # the same seed / dtype / qubit-limit checks as the statevector primitives
        _TorchPrimitiveMixin._init_engine(self, seed, dtype, device, max_qubits)
        self._noise_model = noise_model
        self._engines: dict[str, DensityMatrixEngine] = {}

    @classmethod
    def from_backend(cls, backend, **kwargs):
        """The primitive with the noise of ``backend`` (``NoiseModel.from_backend(backend)``).

        Args:
            backend: A backend with calibration data (a fake backend or an IBM backend).
            kwargs: Further arguments of the constructor.

        Returns:
            The primitive. Run it on circuits transpiled for ``backend``.

        Raises:
            QDeepTypeError: If ``backend`` gives no noise model.
        """
        return cls(noise_model=_noise_from_backend(backend), **kwargs)

    @property
    def noise_model(self):
        """The :class:`qiskit_aer.noise.NoiseModel` simulated (``None``: noiseless)."""
        return self._noise_model

    @property
    def seed(self) -> int | np.random.Generator | None:
        """Seed or generator of the shot / precision noise."""
        return self._seed

    def _engine(self, circuit: QuantumCircuit, readout_error: bool = False) -> DensityMatrixEngine:
        """The compiled engine of ``circuit``, cached by the circuit's content fingerprint."""
        key = (circuit_fingerprint(circuit), parameters_key(circuit.parameters), readout_error)
        engine = self._engines.get(key)
        if engine is None:
            engine = DensityMatrixEngine(
                circuit,
                noise_model=self._noise_model,
                dtype=self._dtype,
                device=self._device,
                max_qubits=self._max_qubits,
                readout_error=readout_error,
            )
            self._engines[key] = engine
        return engine


def _noise_from_backend(backend):
    try:
        from qiskit_aer.noise import NoiseModel
    except ImportError as exc:  # pragma: no cover - qiskit-aer is installed with the package
        raise QDeepValueError("from_backend needs qiskit-aer (pip install qiskit-aer).") from exc
    try:
        return NoiseModel.from_backend(backend)
    except Exception as exc:  # pylint: disable=broad-except
        raise QDeepTypeError(
            f"backend must be a Qiskit backend with calibration data, got "
            f"{type(backend).__name__} ({type(exc).__name__}: {exc})."
        ) from exc


class TorchDensityMatrixEstimator(_DensityMatrixPrimitiveMixin, BaseEstimatorV2):
    r"""Exact noisy V2 estimator on the batched torch density-matrix engine.

    Every PUB is simulated with **one** :class:`DensityMatrixEngine` call over all its
    parameter bindings, with the noise of ``noise_model`` (see the engine for how instructions
    are matched: pass ISA circuits), and gives

    .. math::

        \langle O_j\rangle_i = \operatorname{Tr}\big(O_j\,\mathcal{N}_{\theta_i}(|0\rangle
        \langle 0|)\big),

    broadcast to the PUB shape like :class:`~qiskit.primitives.StatevectorEstimator`. Readout
    error is not applied to expectation values unless ``readout_error=True`` (Aer's estimator
    applies none, so the default matches ``qiskit_aer.primitives.EstimatorV2`` with
    ``method="density_matrix"``). A positive ``precision`` adds seeded Gaussian noise of that
    standard deviation (``numpy.random.default_rng(seed)`` per PUB, as Qiskit does); the default
    ``0`` gives the exact values.

    This is an **exact classical simulation** (memory ``4**num_qubits`` per binding).

    Example:
        .. code-block:: python

            from qiskit.circuit.library import real_amplitudes
            from qiskit.quantum_info import SparsePauliOp
            from qiskit.transpiler import generate_preset_pass_manager
            from qiskit_ibm_runtime.fake_provider import FakeManilaV2
            from qiskit_qdeep.primitives import TorchDensityMatrixEstimator

            backend = FakeManilaV2()
            pass_manager = generate_preset_pass_manager(backend=backend, optimization_level=1)
            isa = pass_manager.run(real_amplitudes(2, reps=1))
            observable = SparsePauliOp("ZZ").apply_layout(isa.layout)
            estimator = TorchDensityMatrixEstimator.from_backend(backend)
            job = estimator.run([(isa, observable, [0.1, 0.2, 0.3, 0.4])])
            evs = job.result()[0].data.evs  # noisy <ZZ>, as Aer's density_matrix method gives

    References:
        [1] Qiskit primitives V2, `arXiv:2405.08810 <https://arxiv.org/abs/2405.08810>`_.
    """

    def __init__(
        self,
        *,
        noise_model: Any = None,
        default_precision: float = 0.0,
        readout_error: bool = False,
        seed: int | np.random.Generator | None = None,
        dtype: torch.dtype = torch.complex128,
        device: str | torch.device | None = None,
        max_qubits: int = 10,
    ) -> None:
        """Create the estimator (engines are compiled lazily, per circuit).

        Args:
            noise_model: A :class:`qiskit_aer.noise.NoiseModel` (``None``: noiseless).
            default_precision: Precision used when neither ``run`` nor the PUB sets one.
            readout_error: Whether expectation values include the readout error.
            seed: Seed or generator for the precision noise.
            dtype: ``torch.complex128`` or ``torch.complex64``.
            device: Torch device (default CPU).
            max_qubits: Largest circuit simulated (memory grows as ``4**num_qubits``).

        Raises:
            QDeepTypeError: If an argument has the wrong type.
            QDeepValueError: If ``default_precision`` is negative or not finite.
        """
        if default_precision is None:
            raise QDeepTypeError("default_precision must be a finite number >= 0, got None.")
        if not isinstance(readout_error, (bool, np.bool_)):
            raise QDeepTypeError(
                f"readout_error must be a bool, got {type(readout_error).__name__}."
            )
        self._default_precision = check_precision(default_precision, "default_precision")
        self._readout_error = bool(readout_error)
        self._init_engine(noise_model, seed, dtype, device, max_qubits)

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
            A job whose result holds one :class:`~qiskit.primitives.PubResult` (``evs``,
            ``stds``) per PUB.

        Raises:
            QDeepTypeError: If ``precision`` or a PUB has the wrong type.
            QDeepValueError: If ``precision`` or a PUB is invalid (the message names the PUB).
        """
        precision = (
            self._default_precision
            if precision is None
            else check_precision(precision, "precision")
        )
        coerced = []
        for i, pub in enumerate(pubs):
            try:
                item = EstimatorPub.coerce(pub, precision)
            except (TypeError, ValueError, QiskitError) as exc:
                raise _pub_error("estimator", i, exc) from exc
            check_precision(item.precision, f"precision of PUB {i}")
            coerced.append(item)
        job = PrimitiveJob(self._run, coerced)
        job._submit()  # pylint: disable=protected-access
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult[PubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        rng = np.random.default_rng(self._seed)
        circuit = pub.circuit
        engine = self._engine(circuit, self._readout_error)
        shape = pub.shape
        values = pub.parameter_values.as_array(engine.parameters)
        param_shape = values.shape[:-1]
        flat_values = values.reshape(math.prod(param_shape), values.shape[-1])
        elements = _observable_elements(pub.observables)
        ops = as_sparse_pauli_ops(list(elements.reshape(-1)), circuit.num_qubits)
        with torch.no_grad():
            table = engine.expectation_values(flat_values, ops)
        table = table.detach().to("cpu", torch.float64).numpy()  # (bindings, observables)
        rows = np.broadcast_to(np.arange(flat_values.shape[0]).reshape(param_shape), shape)
        cols = np.broadcast_to(np.arange(elements.size).reshape(elements.shape), shape)
        evs = np.array(table[rows, cols], dtype=np.float64)
        if pub.precision != 0:
            evs = evs + rng.normal(0.0, pub.precision, size=evs.shape)
        stds = np.full(shape, float(pub.precision), dtype=np.float64)
        return PubResult(
            DataBin(evs=evs, stds=stds, shape=shape),
            metadata={"target_precision": pub.precision, "circuit_metadata": circuit.metadata},
        )


class TorchDensityMatrixSampler(_DensityMatrixPrimitiveMixin, BaseSamplerV2):
    """Noisy V2 sampler on the batched torch density-matrix engine.

    The outcome probabilities of all bindings of a PUB come from **one**
    :class:`DensityMatrixEngine` call, with the quantum errors of ``noise_model`` and its
    readout (assignment) errors on the measured qubits, exactly as Aer's density-matrix
    simulation with that noise model defines them; shots are then drawn from them with the
    seeded NumPy generator (``numpy.random.default_rng(seed)`` per PUB). The circuits must end
    in measurements (final measurements only); the result has one
    :class:`~qiskit.primitives.BitArray` per classical register.

    This is an **exact classical simulation** (memory ``4**num_qubits`` per binding).

    Example:
        .. code-block:: python

            from qiskit import QuantumCircuit
            from qiskit_aer.noise import NoiseModel, ReadoutError
            from qiskit_qdeep.primitives import TorchDensityMatrixSampler

            bell = QuantumCircuit(2)
            bell.h(0)
            bell.cx(0, 1)
            bell.measure_all()
            noise = NoiseModel()
            noise.add_all_qubit_readout_error(ReadoutError([[0.95, 0.05], [0.1, 0.9]]))
            sampler = TorchDensityMatrixSampler(noise_model=noise, seed=1)
            counts = sampler.run([bell], shots=1000).result()[0].data.meas.get_counts()

    References:
        [1] Qiskit primitives V2, `arXiv:2405.08810 <https://arxiv.org/abs/2405.08810>`_.
    """

    def __init__(
        self,
        *,
        noise_model: Any = None,
        default_shots: int = 1024,
        seed: int | np.random.Generator | None = None,
        dtype: torch.dtype = torch.complex128,
        device: str | torch.device | None = None,
        max_qubits: int = 10,
    ) -> None:
        """Create the sampler (engines are compiled lazily, per circuit).

        Args:
            noise_model: A :class:`qiskit_aer.noise.NoiseModel` (``None``: noiseless).
            default_shots: Shots for PUBs that set none and ``run`` calls without ``shots``.
            seed: Seed or generator for sampling.
            dtype: ``torch.complex128`` or ``torch.complex64``.
            device: Torch device (default CPU).
            max_qubits: Largest circuit simulated (memory grows as ``4**num_qubits``).

        Raises:
            QDeepTypeError: If an argument has the wrong type.
            QDeepValueError: If ``default_shots`` is smaller than 1.
        """
        self._default_shots = check_int("default_shots", default_shots)
        self._init_engine(noise_model, seed, dtype, device, max_qubits)

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
            A job whose result holds one :class:`~qiskit.primitives.SamplerPubResult` per PUB.

        Raises:
            QDeepTypeError: If ``shots`` or a PUB has the wrong type.
            QDeepValueError: If ``shots`` is smaller than 1 or a PUB is invalid.
        """
        shots = self._default_shots if shots is None else check_shots(shots, "shots")
        coerced = []
        for i, pub in enumerate(pubs):
            try:
                item = SamplerPub.coerce(pub, shots)
            except (TypeError, ValueError, QiskitError) as exc:
                raise _pub_error("sampler", i, exc) from exc
            check_shots(item.shots, f"shots of PUB {i}")
            coerced.append(item)
        job = PrimitiveJob(self._run, coerced)
        job._submit()  # pylint: disable=protected-access
        return job

    def _run(self, pubs: list[SamplerPub]) -> PrimitiveResult[SamplerPubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

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
            with torch.no_grad():
                probs = engine.probabilities(flat_values, qargs)
            probs = probs.detach().to("cpu", torch.float64).numpy().reshape(num_bindings, -1)
            seed = self._seed
            rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
            outcomes = _sample(probs, rng.random((num_bindings, shots)))
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
