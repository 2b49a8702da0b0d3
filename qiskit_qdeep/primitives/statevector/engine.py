# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Exact, batched, differentiable statevector simulation in torch.

:class:`StatevectorEngine` compiles a (parameterized) :class:`~qiskit.circuit.QuantumCircuit` once
into a short program of vectorised torch operations and then replays it on a whole batch of
parameter values. Gradients with respect to the parameter values come from torch autograd, so the
engine can sit inside any :class:`torch.nn.Module`.

This is an **exact classical simulation**: memory and time grow as ``2**num_qubits`` per batch
element. It is meant for simulation-only training of small circuits, not for hardware runs.

How the circuit is compiled
===========================

* Composite instructions are expanded through their ``definition``; every parameterized gate is
  rewritten as controlled or uncontrolled ``RX``/``RY``/``RZ`` rotations, fixed gates and a global
  phase. All rotation angles (and the global phase) are evaluated in one vectorised call of
  :class:`~qiskit_qdeep.primitives._expressions.ParameterMap`.
* Time evolutions (``PauliEvolutionGate``, ``HamiltonianGate``) with an unbound time are never
  expanded through their (Trotterised, approximate) definition: commuting Pauli terms become
  Pauli rotations, a non-commuting generator (up to 8 qubits) is diagonalised once and its
  diagonal written as a product of ``Z`` parity rotations between two fixed gates. Anything
  that cannot be expanded exactly raises :class:`~qiskit_qdeep.exceptions.UnsupportedGateError`.
* A ``reset`` of a used qubit is a random collapse (as in
  :class:`~qiskit.quantum_info.Statevector`): it is sampled from the ``rng=`` of each evaluation,
  one outcome per binding, and is not differentiable (:attr:`StatevectorEngine.needs_rng`).
* Runs of single-qubit gates on the same qubit (with the same controls) are fused into one
  ``2 x 2`` matrix per batch element; fixed gates that only permute amplitudes and multiply them
  by phases (``x``, ``cx``, ``swap``, ``ccx``, ``cz``, ``s``, ...) become one index gather plus
  one phase multiplication, and neighbouring ones are merged into a single gather.
* The state is stored batch-last, shape ``(2**n, batch)``, so that every single-qubit update is a
  couple of broadcast element-wise kernels.
* Reverse mode is a hand-written *adjoint method* inside one :class:`torch.autograd.Function`
  (so autograd records a handful of nodes, not one per gate): the backward pass walks the
  program backwards from the stored intermediate states, or un-computes them gate by gate when
  they would not fit in a memory budget, and turns the per-gate outer products into
  gradients of the rotation angles. Expectation values are folded into the same function.
  When the backward pass is itself recorded (``create_graph=True``, Hessians) or the values
  are wrapped by a ``torch.func`` transform, a plain-autograd replay of the program is
  differentiated instead, so higher derivatives are exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.quantum_info import Pauli, SparsePauliOp

from ...exceptions import QDeepTypeError, QDeepValueError, QubitLimitError, UnsupportedGateError
from .adjoint import Simulate
from .fusion import compile_circuit
from .gates import _is_functorch
from .observables import Expectation, ObservableTables, expectation
from .segmented import SegmentedProgram

__all__ = ["StatevectorEngine"]

#: Default working-memory budget of one simulation chunk (bytes).
DEFAULT_MEMORY_LIMIT = 2 << 30


class StatevectorEngine:
    r"""Exact batched statevector simulator in torch, differentiable with autograd.

    The circuit is compiled once when the engine is built. :meth:`statevector`,
    :meth:`expectation_values` and :meth:`probabilities` then evaluate it for a whole batch of
    parameter values with a fixed, small number of vectorised torch operations; the batch is never
    looped over in Python. All outputs are differentiable with respect to ``values``:

    .. math::

        |\psi(\theta)\rangle = U(\theta)|0\rangle^{\otimes n}, \qquad
        \langle O_k \rangle(\theta) = \langle\psi(\theta)|O_k|\psi(\theta)\rangle .

    Amplitudes use Qiskit's little-endian order (bit ``k`` of the index is qubit ``k``) and include
    the circuit's global phase, so :meth:`statevector` equals
    ``qiskit.quantum_info.Statevector(circuit.assign_parameters(values)).data``.

    This is an **exact classical simulation**: memory and run time grow as ``2**num_qubits`` per
    batch element. Use it for simulation-only training of small circuits.

    Example:
        .. code-block:: python

            import torch
            from qiskit.circuit import QuantumCircuit, Parameter
            from qiskit_qdeep.primitives.torch_engine import StatevectorEngine

            x, w = Parameter("x"), Parameter("w")
            qc = QuantumCircuit(2)
            qc.rx(x, 0)
            qc.ry(2 * w, 1)
            qc.cx(0, 1)
            engine = StatevectorEngine(qc)  # parameters: [w, x] (Qiskit's sorted order)
            values = torch.rand(64, 2, dtype=torch.float64, requires_grad=True)
            evs = engine.expectation_values(values, ["ZZ", "XI"])  # (64, 2)
            evs.sum().backward()

    References:
        [1] T. Jones and J. Gacon, *Efficient calculation of gradients in classical simulations of
        variational quantum algorithms*, `arXiv:2009.02823 <https://arxiv.org/abs/2009.02823>`_
        (the adjoint method used for the backward pass).
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        *,
        parameters: Sequence[Parameter] | None = None,
        dtype: torch.dtype = torch.complex128,
        device: str | torch.device | None = None,
        max_qubits: int = 20,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        """Compile ``circuit`` into a replayable program.

        Args:
            circuit: The circuit to simulate. Final measurements are allowed (and ignored by
                :meth:`statevector`). A ``reset`` of a qubit still in ``|0>`` is the identity;
                a ``reset`` of a used qubit is a random collapse, sampled from the ``rng`` of
                each evaluation (see :attr:`needs_rng`).
            parameters: Order of the circuit parameters on the last axis of ``values``.
                Defaults to ``list(circuit.parameters)`` (Qiskit's sorted order). It may hold
                parameters the circuit does not use.
            dtype: ``torch.complex128`` (default) or ``torch.complex64``. Real inputs and
                outputs use the matching real dtype (``float64`` / ``float32``).
            device: Torch device of all tensors (default: CPU).
            max_qubits: Largest number of qubits accepted.
            memory_limit: Working-memory budget in bytes of one simulation chunk; larger
                batches are simulated in chunks of at most this size (estimated from the shapes,
                before anything is allocated). A single binding above it raises
                :class:`~qiskit_qdeep.exceptions.QubitLimitError`.

        Raises:
            QDeepTypeError: If ``circuit`` is not a ``QuantumCircuit`` or ``dtype`` is not complex.
            QubitLimitError: If the circuit has more than ``max_qubits`` qubits.
            QDeepValueError: If ``parameters`` misses parameters of the circuit.
            UnsupportedGateError: If an instruction cannot be simulated (the message names it).
        """
        if not isinstance(circuit, QuantumCircuit):
            raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
        if dtype not in (torch.complex64, torch.complex128):
            raise QDeepTypeError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}.")
        num_qubits = circuit.num_qubits
        if num_qubits > max_qubits:
            raise QubitLimitError(
                f"The circuit has {num_qubits} qubits but this statevector engine is limited to "
                f"max_qubits={max_qubits}: memory grows as 2**n (2**{num_qubits} = "
                f"{2**num_qubits} amplitudes per batch element). Pass a larger max_qubits=... "
                "to raise the limit if you have the memory."
            )
        if parameters is None:
            parameters = list(circuit.parameters)
        else:
            parameters = list(parameters)
            known = set(parameters)
            missing = [p for p in circuit.parameters if p not in known]
            if missing:
                raise QDeepValueError(
                    "The circuit parameters "
                    f"{[p.name for p in missing]} are not among the given parameters."
                )
        self._circuit = circuit.copy()
        self._num_qubits = num_qubits
        self._parameters = parameters
        self._dtype = dtype
        self._real_dtype = torch.float64 if dtype == torch.complex128 else torch.float32
        self._device = torch.device(device) if device is not None else torch.device("cpu")
        if (
            isinstance(memory_limit, bool)
            or not isinstance(memory_limit, (int, np.integer))
            or memory_limit < 1
        ):
            raise QDeepValueError(f"memory_limit must be a positive integer, got {memory_limit!r}.")
        self._memory_limit = int(memory_limit)
        self._tables = ObservableTables(num_qubits, self._device, dtype, self._real_dtype)
        self._compiled = compile_circuit(circuit, self._parameters, dtype, self._device)
        self._segmented: dict[int, SegmentedProgram] = {}

    # ----- properties
    @property
    def circuit(self) -> QuantumCircuit:
        """A copy of the simulated circuit."""
        return self._circuit.copy()

    @property
    def num_qubits(self) -> int:
        """Number of qubits."""
        return self._num_qubits

    @property
    def parameters(self) -> list[Parameter]:
        """The parameters in the order of the last axis of ``values``."""
        return list(self._parameters)

    @property
    def num_parameters(self) -> int:
        """Length of the last axis of ``values``."""
        return len(self._parameters)

    @property
    def dtype(self) -> torch.dtype:
        """Complex dtype of the statevector."""
        return self._dtype

    @property
    def device(self) -> torch.device:
        """Torch device of the simulation."""
        return self._device

    @property
    def final_measurements(self) -> dict[int, int]:
        """Final measurements of the circuit as ``{clbit index: qubit index}``."""
        return dict(self._compiled.clbit_map)

    @property
    def needs_rng(self) -> bool:
        """Whether the circuit resets a qubit after it was used.

        Such a reset is a random collapse, as in :class:`~qiskit.quantum_info.Statevector`:
        the qubit is measured, the state projected on the outcome and renormalised, and an
        outcome ``1`` flipped back to ``|0>``. Every evaluation then needs ``rng=`` (a
        :class:`numpy.random.Generator`), samples one outcome per binding and reset, and is not
        differentiable.
        """
        return self._compiled.needs_rng

    @property
    def compiled_bytes(self) -> int:
        """Estimated bytes held by the compiled program (for cache budgets)."""
        return self._compiled.nbytes

    @property
    def num_ops(self) -> int:
        """Number of compiled (fused) state operations; a cost indicator."""
        return len(self._compiled.program.ops)

    # ----- compilation
    def _prepare_values(self, values) -> tuple[torch.Tensor, tuple[int, ...]]:
        num_params = len(self._parameters)
        if values is None:
            if num_params:
                raise QDeepValueError(
                    f"The circuit has {num_params} parameters; pass values of shape "
                    f"(..., {num_params})."
                )
            return torch.zeros((1, 0), dtype=self._real_dtype, device=self._device), ()
        if isinstance(values, torch.Tensor):
            if values.is_complex():
                raise QDeepTypeError("values must be real, got a complex tensor.")
            values = values.to(device=self._device, dtype=self._real_dtype)
        else:
            array = np.asarray(values)
            if np.iscomplexobj(array):
                raise QDeepTypeError("values must be real, got complex numbers.")
            values = torch.as_tensor(array, dtype=self._real_dtype, device=self._device)
        if values.dim() == 0 or values.shape[-1] != num_params:
            got = tuple(values.shape)
            raise QDeepValueError(
                f"values must have shape (..., {num_params}) (one column per parameter), "
                f"got shape {got}."
            )
        # one reduction + one sync in the common case; the exact check only if the sum is off
        if (
            values.numel()
            and not _is_functorch(values)
            and not bool(torch.isfinite(values.detach().sum()))
        ):
            finite = torch.isfinite(values.detach()).reshape(-1, num_params)
            if not bool(finite.all()):
                column = int((~finite).any(0).nonzero()[0, 0])
                raise QDeepValueError(
                    f"values contain NaN or infinite entries (column {column}, parameter "
                    f"'{self._parameters[column].name}')."
                )
        batch_shape = tuple(values.shape[:-1])
        return values.reshape(math.prod(batch_shape), num_params), batch_shape

    def _check_angles(self, angles: torch.Tensor, values: torch.Tensor) -> None:
        """Raises if a gate-parameter expression evaluated to NaN or inf (e.g. ``log(-1)``)."""
        if _is_functorch(angles) or not angles.numel():
            return
        if bool(torch.isfinite(angles.detach().sum())):
            return
        bad = ~torch.isfinite(angles.detach())  # (B, J)
        column = int(bad.any(0).nonzero()[0, 0])
        row = int(bad[:, column].nonzero()[0, 0])
        expressions = self._compiled.expressions
        expression = expressions[column] if column < len(expressions) else "?"
        binding = {
            p.name: float(v) for p, v in zip(self._parameters, values[row].tolist(), strict=True)
        }
        raise QDeepValueError(
            f"The gate-parameter expression '{expression}' evaluates to "
            f"{float(angles.detach()[row, column])} for binding {row} (values {binding}); "
            "every expression must be finite on the given parameter values."
        )

    def _chunk_size(self, batch: int, grad: bool) -> int:
        """Bindings simulated at once so that the working states stay within the budget.

        Raises:
            QubitLimitError: If a single binding does not fit (names the estimate).
        """
        per_binding = self.bytes_per_binding(grad)
        if per_binding > self._memory_limit:
            raise QubitLimitError(
                f"One binding of this {self._num_qubits}-qubit circuit needs about "
                f"{per_binding / 2**30:.2f} GiB of working memory (2**{self._num_qubits} "
                f"amplitudes x {torch.empty((), dtype=self._dtype).element_size()} bytes x "
                f"working copies), above memory_limit={self._memory_limit} bytes. Use fewer "
                "qubits, complex64, or pass a larger memory_limit=... (and max_qubits=...)."
            )
        return max(1, min(batch, self._memory_limit // per_binding))

    def bytes_per_binding(self, grad: bool = False) -> int:
        """Estimated working memory of one binding: live states plus gradient buffers."""
        item = torch.empty((), dtype=self._dtype).element_size()
        copies = 6 if grad else 3
        return (1 << self._num_qubits) * item * copies

    def _draws(self, values: torch.Tensor, rng) -> torch.Tensor | None:
        """Uniform draws ``(num_draws, B)`` for the random collapses (``None`` if there are none).

        Binding ``b`` takes the draws ``rng.random((B, num_draws))[b]``: one per ``reset`` in
        circuit order, the stream a :class:`~qiskit.quantum_info.Statevector` seeded with the
        same generator consumes when the bindings are evolved one after the other.

        Raises:
            UnsupportedGateError: Without ``rng``, or if gradients are requested.
            QDeepTypeError: If ``rng`` is not a ``numpy.random.Generator``.
        """
        compiled = self._compiled
        if not compiled.needs_rng:
            return None
        if _is_functorch(values) or (torch.is_grad_enabled() and values.requires_grad):
            raise UnsupportedGateError(
                "The circuit resets a qubit after it was used: such a reset is a random collapse "
                "(a measurement, then a flip to |0>), which is not differentiable. Evaluate it "
                "without gradients (values.requires_grad=False or torch.no_grad())."
            )
        if rng is None:
            raise UnsupportedGateError(
                "The circuit resets a qubit after it was used: such a reset is a random collapse "
                "(a measurement, then a flip to |0>, as in qiskit.quantum_info.Statevector). "
                "Pass rng=numpy.random.default_rng(seed) to sample it."
            )
        if not isinstance(rng, np.random.Generator):
            raise QDeepTypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}.")
        uniforms = rng.random((values.shape[0], compiled.num_draws))
        return torch.as_tensor(uniforms.T.copy(), dtype=self._real_dtype, device=self._device)

    def _simulate(
        self, values: torch.Tensor, tables=None, phase: bool = True, rng=None
    ) -> torch.Tensor:
        """``(B, P)`` real -> batch-last state ``(2**n, B)``, or ``(O, B)`` with ``tables``.

        The symbolic global phase is applied only when ``phase`` is true (it cancels in
        expectation values and probabilities). Large batches run in chunks that respect the
        memory budget (see :meth:`bytes_per_binding`). ``rng`` samples the random collapses of a
        circuit with :attr:`needs_rng` (ignored otherwise).
        """
        batch = values.shape[0]
        grad = torch.is_grad_enabled() and values.requires_grad
        draws = self._draws(values, rng)
        size = self._chunk_size(batch, grad) if batch else 1
        if batch > size and not _is_functorch(values):
            parts = [
                self._simulate_chunk(
                    values[start : start + size],
                    tables,
                    phase,
                    grad,
                    None if draws is None else draws[:, start : start + size],
                )
                for start in range(0, batch, size)
            ]
            return torch.cat(parts, dim=-1)
        return self._simulate_chunk(values, tables, phase, grad, draws)

    def _simulate_chunk(self, values, tables, phase, grad, draws=None) -> torch.Tensor:
        batch = values.shape[0]
        half = None
        phase_values = None
        compiled = self._compiled
        if compiled.pmap is not None:
            angles = compiled.pmap.torch_transposed(values)  # (J, B)
            self._check_angles(angles.t(), values)
            if compiled.has_symbolic_phase and phase:
                phase_values = angles[compiled.num_rot :].sum(0)
            if compiled.num_rot:
                half = angles[: compiled.num_rot].contiguous()
        functorch = _is_functorch(values)
        if half is not None and grad and batch and not functorch:
            out = Simulate.apply(half, compiled, tables)
            if tables is not None:
                return out
        else:
            differentiable = grad or functorch
            mats = None
            if half is not None:
                mats = compiled.fuse(half if differentiable else half.detach(), last_only=True)
            state = compiled.program.run(mats, batch, differentiable=differentiable, draws=draws)
            if tables is not None:
                return expectation(state, tables)
            out = state
        if phase_values is not None:
            out = out * torch.polar(torch.ones_like(phase_values), phase_values)
        return out

    # ----- shared parameters
    def segmented(self, split: int) -> SegmentedProgram:
        """The circuit split into row and shared segments, the first ``split`` parameters per row.

        Compiled on first use and kept by the engine (see
        :mod:`~qiskit_qdeep.primitives.statevector.segmented`).
        """
        program = self._segmented.get(split)
        if program is None:
            program = SegmentedProgram(
                self._circuit, self._parameters, split, self._dtype, self._device
            )
            self._segmented[split] = program
        return program

    def _real_tensor(self, name: str, value, width: int, offset: int = 0) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            if value.is_complex():
                raise QDeepTypeError(f"{name} must be real, got a complex tensor.")
            value = value.to(device=self._device, dtype=self._real_dtype)
        else:
            array = np.asarray(value)
            if np.iscomplexobj(array):
                raise QDeepTypeError(f"{name} must be real, got complex numbers.")
            value = torch.as_tensor(array, dtype=self._real_dtype, device=self._device)
        if value.dim() < 2 or value.shape[-1] != width:
            raise QDeepValueError(
                f"{name} must have shape (..., groups, {width}), got {tuple(value.shape)}."
            )
        if value.numel() and not _is_functorch(value):
            if not bool(torch.isfinite(value.detach().sum())):
                finite = torch.isfinite(value.detach()).reshape(-1, width)
                column = int((~finite).any(0).nonzero()[0, 0])
                parameter = self._parameters[offset + column].name
                raise QDeepValueError(
                    f"{name} contain NaN or infinite entries (column {column}, parameter "
                    f"'{parameter}')."
                )
        return value

    def expectation_values_shared(
        self,
        inputs: torch.Tensor | np.ndarray,
        weights: torch.Tensor | np.ndarray,
        observables: Sequence[SparsePauliOp | Pauli | str],
    ) -> torch.Tensor:
        """Expectation values with per-row inputs and weights shared by groups of rows.

        The parameter order of the engine is the ``P_in`` input parameters followed by the
        ``P_w`` weight parameters. Row ``(..., g)`` is evaluated at
        ``concat(inputs[..., g, :], weights[g])``: the same numbers as
        :meth:`expectation_values` on the concatenated values, computed without repeating the
        weights per row (the weight-only parts of the circuit are fused once per group and
        applied to all its rows as one matrix product, see
        :mod:`~qiskit_qdeep.primitives.statevector.segmented`).

        Args:
            inputs: ``(..., G, P_in)`` real values.
            weights: ``(G, P_w)`` real values, shared by the rows of each group.
            observables: As for :meth:`expectation_values`.

        Returns:
            Real tensor ``(..., G, len(observables))``, differentiable with respect to both.

        Raises:
            QDeepValueError: On shapes that do not add up to the engine's parameters, or NaN.
        """
        num_params = len(self._parameters)
        if isinstance(weights, torch.Tensor) or isinstance(weights, np.ndarray):
            width = weights.shape[-1] if weights.ndim else -1
        else:
            width = np.asarray(weights).shape[-1]
        split = num_params - width
        weights = self._real_tensor("weights", weights, width, offset=num_params - width)
        inputs = self._real_tensor("inputs", inputs, split)
        if weights.dim() != 2 or inputs.shape[-2] != weights.shape[0]:
            raise QDeepValueError(
                f"inputs (..., G, P_in) and weights (G, P_w) must agree on the groups G, got "
                f"shapes {tuple(inputs.shape)} and {tuple(weights.shape)}."
            )
        groups = weights.shape[0]
        lead = tuple(inputs.shape[:-2])
        rows = math.prod(lead)
        functorch = _is_functorch(inputs) or _is_functorch(weights)
        program = self.segmented(split) if split >= 0 else None
        tables = self._tables.get(observables)
        num_obs = tables[2]
        usable = program is not None and program.worthwhile(rows)
        if not usable or not num_obs or not rows:
            values = torch.cat(
                (inputs, weights.expand(lead + weights.shape) if lead else weights), dim=-1
            )
            return self.expectation_values(values, observables)
        grouped = inputs.reshape(rows, groups, split).transpose(0, 1)  # (G, N, P_in)
        prepared = program.prepare(weights)
        item = torch.empty((), dtype=self._dtype).element_size()
        per_row = groups * (1 << self._num_qubits) * item * program.num_stored_states()
        size = rows if functorch else max(1, min(rows, self._memory_limit // max(per_row, 1)))
        parts = []
        for start in range(0, rows, size):
            chunk = grouped[:, start : start + size]
            state = program.state(chunk, weights, prepared)
            if not state.is_complex() and tables[3] is None:
                state = state.to(self._dtype)  # the Pauli tables are complex
            values = (
                expectation(state, tables)
                if functorch or not state.requires_grad
                else Expectation.apply(state, tables)
            )
            parts.append(values.view(num_obs, groups, chunk.shape[1]))
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)  # (O, G, N)
        return out.permute(2, 1, 0).reshape(lead + (groups, num_obs))

    # ----- public evaluation
    def statevector(
        self,
        values: torch.Tensor | np.ndarray | None = None,
        *,
        rng: np.random.Generator | None = None,
    ) -> torch.Tensor:
        """Final statevectors.

        Args:
            values: Real parameter values of shape ``(*batch, num_parameters)`` (or ``None`` for a
                circuit without parameters). ``torch`` tensors with ``requires_grad`` get
                gradients.
            rng: Generator that samples the random collapse of every reset of a used qubit,
                independently for each binding (required when :attr:`needs_rng`, ignored and not
                consumed otherwise).

        Returns:
            Complex tensor of shape ``(*batch, 2**num_qubits)`` in Qiskit's little-endian order.

        Raises:
            QDeepValueError: On a wrong last-axis width or NaN/inf values.
            UnsupportedGateError: If the circuit :attr:`needs_rng` and ``rng`` is missing or
                gradients are requested.
        """
        values2d, batch_shape = self._prepare_values(values)
        state = self._simulate(values2d, rng=rng).t().contiguous()
        return state.reshape(batch_shape + (1 << self._num_qubits,))

    def expectation_values(
        self,
        values: torch.Tensor | np.ndarray | None,
        observables: Sequence[SparsePauliOp | Pauli | str],
        *,
        rng: np.random.Generator | None = None,
    ) -> torch.Tensor:
        """Expectation values of Hermitian Pauli-sum observables.

        Args:
            values: Parameter values of shape ``(*batch, num_parameters)`` (see
                :meth:`statevector`).
            observables: Observables on all ``num_qubits`` qubits: ``SparsePauliOp``, ``Pauli``,
                Pauli labels (Qiskit order: the rightmost character is qubit 0),
                ``SparseObservable`` or ``Operator``. Their lookup tables are cached (by
                content, and by identity for a repeated list of the same objects), so do not
                modify an observable in place between calls.
            rng: Generator for the random collapses of a circuit with :attr:`needs_rng` (see
                :meth:`statevector`).

        Returns:
            Real tensor of shape ``(*batch, len(observables))``. The symbolic part of the global
            phase cancels and is not evaluated.

        Raises:
            QDeepValueError: On a qubit-count mismatch, a non-Hermitian observable, or bad values.
            QDeepTypeError: On an observable of unsupported type.
            UnsupportedGateError: If the circuit :attr:`needs_rng` and ``rng`` is missing or
                gradients are requested.
        """
        tables = self._tables.get(observables)
        values2d, batch_shape = self._prepare_values(values)
        num_obs = tables[2]
        if not num_obs:
            return torch.zeros(batch_shape + (0,), dtype=self._real_dtype, device=self._device)
        result = self._simulate(values2d, tables, rng=rng)  # (O, B)
        return result.t().reshape(batch_shape + (num_obs,))

    def probabilities(
        self,
        values: torch.Tensor | np.ndarray | None = None,
        qubits: Sequence[int] | None = None,
        *,
        rng: np.random.Generator | None = None,
    ) -> torch.Tensor:
        """Measurement probabilities in the computational basis.

        Args:
            values: Parameter values of shape ``(*batch, num_parameters)``.
            qubits: Qubits to keep (marginalizing the others); ``qubits[0]`` is the least
                significant bit of the outcome index. Default: all qubits in order.
            rng: Generator for the random collapses of a circuit with :attr:`needs_rng` (see
                :meth:`statevector`).

        Returns:
            Real tensor of shape ``(*batch, 2**len(qubits))``.

        Raises:
            QDeepValueError: On repeated or out-of-range qubits, or bad values.
            UnsupportedGateError: If the circuit :attr:`needs_rng` and ``rng`` is missing or
                gradients are requested.
        """
        n = self._num_qubits
        if qubits is not None:
            qubits = [int(q) for q in qubits]
            if len(set(qubits)) != len(qubits) or any(q < 0 or q >= n for q in qubits):
                raise QDeepValueError(f"qubits must be distinct indices in [0, {n}), got {qubits}.")
        values2d, batch_shape = self._prepare_values(values)
        state = self._simulate(values2d, phase=False, rng=rng)  # (2**n, B)
        probs = state.real.square() + state.imag.square()
        if qubits is not None and qubits != list(range(n)):
            batch = probs.shape[-1]
            view = probs.view((2,) * n + (batch,))
            drop = [n - 1 - q for q in range(n) if q not in qubits]
            if drop:
                view = view.sum(dim=drop)
            kept = sorted(qubits, reverse=True)  # remaining axes, most significant first
            order = [kept.index(q) for q in reversed(qubits)] + [len(qubits)]
            probs = view.permute(order).reshape(-1, batch)
        return probs.t().reshape(batch_shape + (probs.shape[0],))
