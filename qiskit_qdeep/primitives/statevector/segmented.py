# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Evaluation with shared parameters: the circuit split into per-row and shared segments.

A quantum layer evaluates one circuit template on a batch of inputs with *one* set of trainable
weights (or one set per group: the blocks of a parallel layer, the filters of a quanvolution).
Treating the weights as per-row values, as a plain batched simulation does, builds and fuses
every weight rotation once per row and accumulates per-row outer products in the backward
pass. Here the flattened circuit is split, in circuit order and moving gates only past gates on
other qubits, into maximal *segments* whose gates depend on per-row parameters (the inputs) or
only on shared ones (weights and fixed gates):

* a **shared** segment on few qubits becomes one dense unitary per group, built once per call
  by simulating the segment on the basis states (``2**n`` columns, not ``batch``) and applied
  to the batch as one matrix product;
* a **row** segment is simulated as usual, with its fused ``2 x 2`` matrices per row; a first
  row segment made only of single-qubit gates on ``|0...0>`` (an angle embedding) is built
  directly as the product state it is (one Kronecker product per qubit);
* a shared segment on many qubits (above :data:`DENSE_MAX_QUBITS`) is applied gate by gate with
  one matrix per group, broadcast over the group's rows.

Everything is plain differentiable torch, so gradients (with respect to the inputs and the
weights, of any order, and under ``torch.func``) come from autograd; the weight gradient of a
dense segment is the one matrix product ``sum_rows lambda psi^H`` chained through the small
unitary. The split is exact: it only reorders commuting gates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from qiskit.circuit import Parameter, ParameterExpression

from ...exceptions import QDeepValueError
from .adjoint import Simulate, replay
from .fusion import compile_items, flatten_circuit
from .gates import _is_functorch, _SingleQubitOp
from .program import CompiledProgram

#: Largest register on which a shared segment is turned into one dense unitary.
DENSE_MAX_QUBITS = 10


def _item_qubits(item: tuple) -> frozenset:
    if item[0] == "rot":
        _, _, target, controls, _ = item
        return frozenset([target, *(q for q, _ in controls)])
    if item[0] == "reset":
        return frozenset([item[1]])
    _, _, qubits, controls = item
    return frozenset([*qubits, *(q for q, _ in controls)])


def _item_parameters(item: tuple) -> frozenset:
    if item[0] != "rot":
        return frozenset()
    expr = item[4][0]
    if isinstance(expr, ParameterExpression):
        return frozenset(expr.parameters)
    return frozenset()


def split_items(items: Sequence[tuple], row_parameters: frozenset) -> list[tuple[str, list]]:
    """Split a flattened stream into ``("row" | "shared", items)`` segments.

    An item goes to the last segment of its kind if no later segment touches its qubits, else it
    opens a new segment; fixed gates join the segment that last touched their qubits. The
    product of the segments, in order, equals the circuit.
    """
    segments: list[tuple[str, list]] = []
    last_touch: dict[int, int] = {}
    prefix: list[tuple] = []  # fixed gates before the first rotation: they open segment 0
    for item in items:
        qubits = _item_qubits(item)
        if item[0] != "rot" and not segments:
            prefix.append(item)
            continue
        bound = max((last_touch.get(q, -1) for q in qubits), default=-1)
        if item[0] == "rot":
            kind = "row" if _item_parameters(item) & row_parameters else "shared"
            lowest = max(bound, 0)
            index = next(
                (k for k in range(len(segments) - 1, lowest - 1, -1) if segments[k][0] == kind),
                None,
            )
            if index is None:
                segments.append((kind, []))
                index = len(segments) - 1
                if index == 0:
                    segments[0][1].extend(prefix)
                    for fixed in prefix:
                        for qubit in _item_qubits(fixed):
                            last_touch[qubit] = 0
                    prefix = []
        else:
            index = max(bound, 0)
        segments[index][1].append(item)
        for qubit in qubits:
            last_touch[qubit] = max(last_touch.get(qubit, -1), index)
    if prefix:  # no rotation at all: one fixed segment
        segments.append(("shared", prefix))
    return segments


class _Segment:
    """One compiled segment: its kind, program and how it is applied."""

    __slots__ = ("kind", "compiled", "dense", "product", "columns", "columns_plan")

    def __init__(self, kind: str, compiled: CompiledProgram, dense: bool, product: bool, columns):
        self.kind = kind
        self.compiled = compiled
        self.dense = dense
        self.product = product
        #: value columns the segment's parameter map reads (row: inputs [+ weights])
        self.columns = columns
        #: per target qubit of a product segment: its gates, ("rot", row of half, G) or
        #: ("const", -1, matrix), in circuit order
        self.columns_plan = _columns_plan(compiled) if product else None


class SegmentedProgram:
    """The circuit of an engine compiled as row and shared segments (see the module docstring).

    Args:
        circuit: The circuit (without random resets).
        parameters: The full parameter order; the first ``split`` are per-row, the rest shared.
        split: Number of per-row parameters.
        dtype: Complex dtype.
        device: Torch device.
    """

    def __init__(
        self,
        circuit,
        parameters: Sequence[Parameter],
        split: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        n = circuit.num_qubits
        self.num_qubits = n
        self.dim = 1 << n
        self.split = split
        self.dtype = dtype
        self.device = device
        parameters = list(parameters)
        row_params, shared_params = parameters[:split], parameters[split:]
        flat = flatten_circuit(circuit)
        #: Whether the circuit can be evaluated this way (no random collapse).
        self.supported = flat.num_resets == 0 or not any(i[0] == "reset" for i in flat.items)
        self.segments: list[_Segment] = []
        self.real = False
        if not self.supported:
            return
        pieces = split_items(flat.items, frozenset(row_params))
        #: Whether every gate is real (``RY`` rotations, real fixed gates): the whole split
        #: then runs in real arithmetic (a real state, real unitaries), a quarter of the
        #: multiplications of the complex simulation.
        self.real = all(_is_real_item(item) for item in flat.items)
        if self.real:
            dtype = torch.float64 if dtype == torch.complex128 else torch.float32
            self.dtype = dtype
        for position, (kind, items) in enumerate(pieces):
            if kind == "row":
                uses_shared = any(_item_parameters(i) & frozenset(shared_params) for i in items)
                params = parameters if uses_shared else row_params
                columns = "all" if uses_shared else "row"
            else:
                params, columns = shared_params, "shared"
            compiled = compile_items(n, items, params, dtype, device)
            dense = kind == "shared" and n <= DENSE_MAX_QUBITS
            product = position == 0 and kind == "row" and _is_product(compiled)
            self.segments.append(_Segment(kind, compiled, dense, product, columns))

    @property
    def useful(self) -> bool:
        """Whether the split can save work: some shared segment becomes a dense unitary."""
        return self.supported and any(s.dense for s in self.segments)

    def worthwhile(self, rows: int) -> bool:
        """Whether ``rows`` rows per group are enough for the dense unitaries to pay off.

        Building a segment's unitary costs about ``ops * 2**n`` amplitude updates per group
        (the segment simulated on the basis states) and applying it ``2**n`` multiply-adds per
        amplitude of every row, in one matrix product (counted at an eighth of an element-wise
        update); simulating the segment gate by gate costs ``ops`` updates per amplitude of
        every row. The split is used when the first is at most half the second.
        """
        if not self.useful:
            return False
        ops = sum(len(s.compiled.program.ops) for s in self.segments if s.dense)
        dim = self.dim
        saving = ops - dim / 8.0
        return saving > 0 and rows * saving >= 2.0 * ops * dim

    def num_stored_states(self) -> int:
        """States autograd may keep per row (a bound for the memory budget)."""
        count = 2
        for segment in self.segments:
            if segment.kind == "row" and not segment.product:
                count += len(segment.compiled.program.ops)
            else:
                count += 2
        return count

    # ----- pieces
    def _half(self, compiled: CompiledProgram, values: torch.Tensor) -> torch.Tensor:
        """Half rotation angles ``(R, B)`` of a segment for values ``(B, P_segment)``."""
        half = compiled.pmap.torch_transposed(values)[: compiled.num_rot]
        if half.numel() and not _is_functorch(half):
            if not bool(torch.isfinite(half.detach().sum())):
                bad = int((~torch.isfinite(half.detach())).any(1).nonzero()[0, 0])
                raise QDeepValueError(
                    f"The gate-parameter expression '{compiled.expressions[bad]}' evaluates to "
                    "a non-finite angle for some binding; every expression must be finite on the "
                    "given parameter values."
                )
        return half

    def _mats(self, compiled: CompiledProgram, values: torch.Tensor) -> torch.Tensor | None:
        """Fused matrices ``(slots, 2, 2, B)`` of a segment for values ``(B, P_segment)``."""
        if compiled.pmap is None or not compiled.num_rot:
            return None
        return compiled.fuse(self._half(compiled, values), last_only=True)

    def _product_state(self, segment: _Segment, values: torch.Tensor, batch: int) -> torch.Tensor:
        """The product state ``(2**n, B)`` of single-qubit gates on ``|0...0>``.

        Only the first column of each qubit's fused gates is needed: it is built by applying
        the rotations ``cos(h) I + sin(h) G`` (and fixed matrices) to ``|0>`` one after the
        other, a few element-wise products per gate instead of the fused ``2 x 2`` matrices.
        """
        compiled = segment.compiled
        half = None
        if compiled.pmap is not None and compiled.num_rot:
            half = self._half(compiled, values)
            cos, sin = torch.cos(half), torch.sin(half)
        columns = {}
        for target, steps in segment.columns_plan:
            v0, v1 = 1.0, 0.0
            for kind, index, matrix in steps:
                if kind == "const":
                    v0, v1 = (
                        _lin(matrix[0, 0], v0, matrix[0, 1], v1),
                        _lin(matrix[1, 0], v0, matrix[1, 1], v1),
                    )
                    continue
                c, si = cos[index], sin[index]
                g0 = _lin(matrix[0, 0], v0, matrix[0, 1], v1)
                g1 = _lin(matrix[1, 0], v0, matrix[1, 1], v1)
                v0 = _add(_scale(c, v0), _scale(si, g0))
                v1 = _add(_scale(c, v1), _scale(si, g1))
            columns[target] = (v0, v1)
        real = torch.float64 if self.dtype == torch.complex128 else torch.float32
        state = None
        for qubit in range(self.num_qubits):
            v0, v1 = columns.get(qubit, (1.0, 0.0))
            column = torch.stack(
                [_as_column(v, batch, self.dtype, real, self.device) for v in (v0, v1)]
            )
            state = column if state is None else (column.unsqueeze(1) * state.unsqueeze(0))
            state = state.reshape(-1, batch)
        return state

    def unitaries(self, segment: _Segment, weights: torch.Tensor) -> torch.Tensor:
        """Dense unitaries ``(G, 2**n, 2**n)`` of a shared segment for weights ``(G, P_w)``.

        The segment is simulated on the ``2**n`` basis states of each group (one column per
        basis state), through the adjoint-method function of the engine, so building the
        unitary and its backward pass cost a few kernels per gate, independent of the batch.
        """
        groups, dim = weights.shape[0], self.dim
        compiled = segment.compiled
        basis = torch.eye(dim, dtype=self.dtype, device=self.device).repeat(1, groups)
        if compiled.pmap is None or not compiled.num_rot:
            out = compiled.program.run(None, groups * dim, state=basis)
        else:
            half = self._half(compiled, weights).repeat_interleave(dim, dim=-1)
            grad = torch.is_grad_enabled() and half.requires_grad
            if grad and not _is_functorch(half):
                out = Simulate.apply(half, compiled, None, basis)
            else:
                out = replay(half, compiled, None, basis)
        return out.view(dim, groups, dim).permute(1, 0, 2)  # column g * dim + j = U_g e_j

    # ----- evaluation
    def prepare(self, weights: torch.Tensor) -> list:
        """Per-segment data that depends on the weights only (built once per call)."""
        prepared = []
        for segment in self.segments:
            if segment.kind == "shared":
                if segment.dense:
                    prepared.append(self.unitaries(segment, weights))
                else:
                    prepared.append(self._mats(segment.compiled, weights))
            else:
                prepared.append(None)
        return prepared

    def state(self, inputs: torch.Tensor, weights: torch.Tensor, prepared: list) -> torch.Tensor:
        """Final states ``(2**n, G * N)`` (column ``g * N + r``) for inputs ``(G, N, P_in)``."""
        groups, rows, _ = inputs.shape
        batch = groups * rows
        dim = self.dim
        flat_inputs = inputs.reshape(batch, -1)
        state = None
        for segment, data in zip(self.segments, prepared, strict=True):
            program = segment.compiled.program
            if segment.kind == "row":
                if segment.columns == "row":
                    values = flat_inputs
                else:
                    values = torch.cat(
                        (inputs, weights.unsqueeze(1).expand(groups, rows, -1)), dim=-1
                    ).reshape(batch, -1)
                if segment.product:
                    state = self._product_state(segment, values, batch)
                else:
                    mats = self._mats(segment.compiled, values)
                    state = program.run(mats, batch, differentiable=True, state=state)
                continue
            if state is None:
                state = program.initial(batch)
            if segment.dense:
                if groups == 1:
                    state = data[0] @ state
                else:
                    grouped = state.view(dim, groups, rows).permute(1, 0, 2)
                    state = (data @ grouped).permute(1, 0, 2).reshape(dim, batch)
            else:
                mats = data
                if mats is not None and groups > 1:
                    mats = mats.repeat_interleave(rows, dim=-1)
                state = program.run(mats, batch, differentiable=True, state=state)
        if state is None:
            state = self.segments[0].compiled.program.initial(batch)
        return state


def _is_real_item(item: tuple) -> bool:
    """Whether a flattened item is a real matrix (a ``Y`` rotation or a real fixed gate)."""
    if item[0] == "rot":
        return item[1] == "y"
    if item[0] == "reset":
        return False
    matrix = item[1]
    return not np.iscomplexobj(matrix) or bool(np.all(np.abs(np.imag(matrix)) < 1e-15))


def _columns_plan(compiled: CompiledProgram) -> list:
    width, slots = compiled.gather_width, compiled.program.num_slots
    gather = compiled.gather.view(width, slots).cpu().numpy()
    gens = compiled.rot_gen[..., 0].cpu().numpy()
    consts = compiled.const_pool[..., 0].cpu().numpy()
    plan = []
    for op in compiled.program.ops:
        if op.slot is None:
            plan.append((op.target, [("const", -1, op.matrix)]))
            continue
        steps = []
        for entry in gather[:, op.slot].tolist():
            if entry < compiled.num_rot:
                steps.append(("rot", entry, gens[entry]))
            elif entry != compiled.num_rot:  # constant 0 is the identity padding
                steps.append(("const", -1, consts[entry - compiled.num_rot]))
        plan.append((op.target, steps))
    return plan


def _scale(a, x):
    """``a * x`` for a tensor or number ``a`` and a tensor or number ``x`` (0 and 1 skipped)."""
    if isinstance(x, (int, float, complex)):
        if x == 0:
            return 0.0
        if x == 1:
            return a
    if isinstance(a, (int, float, complex)) and a == 1:
        return x
    return a * x


def _add(x, y):
    if isinstance(x, (int, float, complex)) and x == 0:
        return y
    if isinstance(y, (int, float, complex)) and y == 0:
        return x
    return x + y


def _coefficient(value: complex):
    value = complex(value)
    return value.real if abs(value.imag) < 1e-15 else value


def _lin(a, x, b, y):
    """``a x + b y`` with numbers ``a``, ``b`` (zero terms skipped)."""
    a, b = _coefficient(a), _coefficient(b)
    first = 0.0 if a == 0 else _scale(a, x)
    second = 0.0 if b == 0 else _scale(b, y)
    return _add(first, second)


def _as_column(value, batch: int, dtype, real, device) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if value.is_complex() and not dtype.is_complex:
            return value.real
        return value.to(dtype)
    value = complex(value) if dtype.is_complex else float(np.real(value))
    return torch.full((batch,), value, dtype=dtype, device=device)


def _is_product(compiled: CompiledProgram) -> bool:
    """Whether a program is single-qubit uncontrolled gates, at most one per qubit."""
    targets = set()
    for op in compiled.program.ops:
        if not isinstance(op, _SingleQubitOp) or op.controls or op.target in targets:
            return False
        targets.add(op.target)
    return True
