# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Dürr-Høyer quantum maximum finding over tables of small integers (vote counts)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping, grover_operator
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseSamplerV2
from qiskit_algorithms import AmplificationProblem, Grover

from .._validation import check_int
from ..circuit.library.maximum_finding import (
    maximum_finding_oracle,
    maximum_finding_parameter_values,
    vote_loader_circuit,
)
from ..exceptions import QDeepValueError, QubitLimitError
from ..primitives import SamplerRunner, resolve_sampler, run_sampler_batch
from ..primitives.resolution import check_pass_manager, check_sampler

__all__ = [
    "DurrHoyerMaximum",
    "MaximumFindingResult",
    "find_maximum",
    "durr_hoyer_bound",
    "MAXIMUM_FINDING_MAX_QUBITS",
]

#: Largest circuit (index + count + flag qubits) :class:`DurrHoyerMaximum` builds: tables of up
#: to ``2**7`` entries with values below ``2**8``. The QROM alone has ``2**n (2 + m)`` gates.
MAXIMUM_FINDING_MAX_QUBITS = 16

_STANDARD_GATES = set(get_standard_gate_name_mapping()) | {"mcx", "measure", "barrier"}


def durr_hoyer_bound(num_items: int) -> float:
    r"""The Dürr-Høyer oracle budget :math:`22.5\sqrt N + 1.4 \log_2^2 N` for ``N`` items.

    Dürr and Høyer show that the expected number of Grover iterations before the threshold is
    the maximum is at most half of it, so running this long finds the maximum with probability
    at least 1/2 (Markov); :class:`DurrHoyerMaximum` uses it as its default hard budget.

    Args:
        num_items: Search space size ``N`` (``2**num_index_qubits``).

    Returns:
        The bound.
    """
    num_items = check_int("num_items", num_items)
    return 22.5 * math.sqrt(num_items) + 1.4 * math.log2(num_items) ** 2


@dataclass(frozen=True)
class MaximumFindingResult:
    """Outcome of one Dürr-Høyer search."""

    index: int
    """Index of the maximum found (the smallest index among equal maxima when successful)."""
    value: int
    """Its value, as read from the QROM by the last improving measurement."""
    num_oracle_calls: int
    """Grover iterations applied in total (each applies the comparator oracle once)."""
    num_measurements: int
    """Single-shot measurements (circuits executed for this table)."""
    num_searches: int
    """Exponential (BBHT) searches run: one per threshold improvement plus the last one."""
    history: tuple[tuple[int, int, int], ...]
    """``(grover_power, measured_index, measured_value)`` of every measurement, in order."""
    budget_exhausted: bool
    """``True`` if the search stopped on the oracle budget rather than the search limit."""


def _flatten(circuit: QuantumCircuit) -> QuantumCircuit:
    """Decomposes custom instructions until only standard gates (and ``mcx``) remain."""
    for _ in range(32):
        names = {inst.operation.name for inst in circuit.data} - _STANDARD_GATES
        if not names:
            return circuit
        circuit = circuit.decompose(sorted(names))
    raise QDeepValueError(  # pragma: no cover - the blocks decompose in a few levels
        f"Could not decompose {sorted(names)} into standard gates."
    )


class DurrHoyerMaximum:
    r"""Dürr-Høyer maximum finding with Boyer-Brassard-Høyer-Tapp exponential Grover search.

    For a table :math:`c_0, \dots, c_{k-1}` of non-negative integers (for example the votes of
    the pairwise classifiers of :class:`~qiskit_qdeep.svm.AllPairQSVM`), the index register
    holds ``n = ceil(log2 k)`` qubits (``N = 2**n``) and each index the key
    :math:`\kappa_i = c_i 2^n + (2^n - 1 - i)` (see
    :mod:`~qiskit_qdeep.circuit.library.maximum_finding`). **Tie rule:** the maximal key is the
    largest value with the smallest index, so among equal maxima the smallest index wins.

    Algorithm (Dürr & Høyer 1996, with the search of Boyer et al. 1998):

    1. Measure the uniform superposition, read the QROM: ``(y, c_y)``, threshold
       :math:`T = \kappa_y`.
    2. Exponential search for a key above ``T``: ``m = 1``; repeat: draw ``j`` uniformly from
       ``{0, ..., ceil(m) - 1}``, apply ``j`` Grover iterations with the oracle
       :func:`~qiskit_qdeep.circuit.library.maximum_finding_oracle` (threshold ``T``), then
       apply the QROM once more and measure index and count registers (one shot). If the
       measured key exceeds ``T`` the threshold moves there and a new search starts; otherwise
       ``m = min(6/5 m, sqrt(N))``.
    3. A search that has spent ``search_limit * sqrt(N)`` Grover iterations without improving
       ends the algorithm (``T`` is then the maximum with high probability); so does a total
       of ``budget`` iterations (default :func:`durr_hoyer_bound`).

    Both the verification and the answer come from measurements of the QROM register, never
    from a classical look-up of the table. The Grover circuits are built with
    qiskit-algorithms' :class:`~qiskit_algorithms.AmplificationProblem` and
    :meth:`Grover.construct_circuit <qiskit_algorithms.Grover.construct_circuit>`
    (zero reflection on the index register only) and executed through
    :class:`~qiskit_qdeep.primitives.SamplerRunner` with one shot per binding.

    **Batching.** :meth:`find_maximum_batch` runs many tables in lock-step: in every round each
    unfinished table draws its Grover power ``j``, and all tables go out as bindings of the
    ``j``-templates (table bits and threshold bits are circuit parameters), all templates in
    **one** sampler job per round (:func:`~qiskit_qdeep.primitives.run_sampler_batch`), so a
    batch costs as many jobs as its longest search has measurements. :attr:`num_jobs` counts
    them.

    **Cost.** ``n + m + 1`` qubits (index, count, one flag; at most
    :data:`MAXIMUM_FINDING_MAX_QUBITS`). Measured with the exact default sampler on random
    tables (``python3 -m qiskit_qdeep.algorithms.maximum_finding`` reproduces it, 400 tables
    per size):

    ========  ====  ==========================  ================  ===========
    ``k``     N     mean Grover iterations      D-H bound         errors
    ========  ====  ==========================  ================  ===========
    3, 4      4     see the release note        50.6              0
    5 - 8     8     see the release note        76.2              0
    ========  ====  ==========================  ================  ===========

    Example:

    .. code-block:: python

        from qiskit_qdeep.algorithms import DurrHoyerMaximum

        finder = DurrHoyerMaximum(seed=7)
        result = finder.find_maximum([1, 3, 0, 3])
        result.index, result.value      # (1, 3): the smallest index among the maxima

    Args:
        sampler: A V2 sampler; default a seeded exact
            :class:`~qiskit_qdeep.primitives.TorchStatevectorSampler` (shots drawn from exact
            probabilities).
        pass_manager: Transpiles each template once (needed for hardware backends).
        seed: Seeds the Grover powers, the first thresholds and the default sampler.
        search_limit: A search ends unsuccessfully after ``ceil(search_limit * sqrt(N))`` Grover
            iterations without improvement (BBHT's expected cost is at most
            ``9/4 sqrt(N / t)`` for ``t`` marked items; the default ``9`` is four times that).
        budget: Hard cap on the total Grover iterations per table; default
            :func:`durr_hoyer_bound` of ``N``.
        growth: BBHT growth factor :math:`\lambda` (``1 < growth < 4/3``), default ``6/5``.

    Raises:
        QDeepTypeError: For a non-V2 sampler or a bad pass manager.
        QDeepValueError: For a bad ``search_limit``, ``budget`` or ``growth``.

    References:
        [1] C. Dürr, P. Høyer, *A quantum algorithm for finding the minimum*,
        `arXiv:quant-ph/9607014 <https://arxiv.org/abs/quant-ph/9607014>`_.

        [2] M. Boyer, G. Brassard, P. Høyer, A. Tapp, *Tight bounds on quantum searching*,
        `arXiv:quant-ph/9605034 <https://arxiv.org/abs/quant-ph/9605034>`_.
    """

    def __init__(
        self,
        *,
        sampler: BaseSamplerV2 | None = None,
        pass_manager: BasePassManager | None = None,
        seed: int | np.random.Generator | None = None,
        search_limit: float = 9.0,
        budget: int | None = None,
        growth: float = 1.2,
    ) -> None:
        check_sampler(sampler)
        check_pass_manager(pass_manager)
        if isinstance(search_limit, bool) or not (
            isinstance(search_limit, (int, float, np.integer, np.floating)) and search_limit > 0
        ):
            raise QDeepValueError(f"search_limit must be a number > 0, got {search_limit!r}.")
        if budget is not None:
            budget = check_int("budget", budget)
        if isinstance(growth, bool) or not (
            isinstance(growth, (int, float, np.integer, np.floating)) and 1 < growth < 4 / 3
        ):
            raise QDeepValueError(f"growth must be a number in (1, 4/3), got {growth!r}.")
        self._rng = np.random.default_rng(seed)
        # a generator (not an int) so that successive jobs draw fresh single shots
        sampler_seed = np.random.default_rng(self._rng.integers(2**63))
        self._sampler = resolve_sampler(sampler, seed=sampler_seed)
        self._pass_manager = pass_manager
        self.search_limit = float(search_limit)
        self.budget = budget
        self.growth = float(growth)
        self._runners: dict[tuple[int, int, int], SamplerRunner] = {}
        self.num_jobs = 0
        """Sampler jobs submitted so far."""

    @property
    def sampler(self) -> BaseSamplerV2:
        """The resolved sampler."""
        return self._sampler

    @property
    def pass_manager(self) -> BasePassManager | None:
        """The pass manager, if any."""
        return self._pass_manager

    # ------------------------------------------------------------------------------------------
    # Circuits
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def register_sizes(num_items: int, max_value: int) -> tuple[int, int]:
        """Index and count register sizes ``(n, m)`` for ``num_items`` values ``<= max_value``.

        Raises:
            QubitLimitError: If ``n + m + 1`` exceeds :data:`MAXIMUM_FINDING_MAX_QUBITS`.
        """
        n = max(1, (int(num_items) - 1).bit_length())
        m = max(1, int(max_value).bit_length())
        if n + m + 1 > MAXIMUM_FINDING_MAX_QUBITS:
            raise QubitLimitError(
                f"Maximum finding over {num_items} values below {2**m} needs {n} index + {m} "
                f"count + 1 flag = {n + m + 1} qubits, more than MAXIMUM_FINDING_MAX_QUBITS = "
                f"{MAXIMUM_FINDING_MAX_QUBITS}."
            )
        return n, m

    @staticmethod
    def grover_circuit(num_index_qubits: int, num_count_bits: int, power: int) -> QuantumCircuit:
        """The measured template: ``power`` Grover iterations, QROM read-out, measurements.

        Built from an :class:`~qiskit_algorithms.AmplificationProblem` whose oracle is
        :func:`~qiskit_qdeep.circuit.library.maximum_finding_oracle` and whose Grover operator
        reflects about the uniform superposition of the index register, with
        ``Grover().construct_circuit(problem, power)``; then the QROM
        (:func:`~qiskit_qdeep.circuit.library.vote_loader_circuit`) writes the count of the
        index into the count register and both registers are measured (classical registers
        ``index`` then ``count``: outcome ``i + 2**n * c``). Custom blocks are decomposed into
        standard gates.

        Args:
            num_index_qubits: Index register size ``n``.
            num_count_bits: Count register size ``m``.
            power: Number of Grover iterations ``>= 0``.

        Returns:
            The template; its parameters are the oracle's ``t`` (threshold bits, only when
            ``power > 0``) and ``v`` (table bits).
        """
        n = check_int("num_index_qubits", num_index_qubits)
        m = check_int("num_count_bits", num_count_bits)
        power = check_int("power", power, minimum=0)
        oracle = maximum_finding_oracle(n, m)
        index = list(range(n))
        prep = QuantumCircuit(oracle.num_qubits)
        prep.h(index)
        problem = AmplificationProblem(
            oracle,
            state_preparation=prep,
            objective_qubits=index,
            grover_operator=grover_operator(oracle, prep, reflection_qubits=index),
        )
        circuit = Grover().construct_circuit(problem, power=power, measurement=False)
        votes = [p for p in oracle.parameters if p.name.startswith("v")]
        circuit.compose(vote_loader_circuit(n, m, votes), circuit.qubits, inplace=True)
        index_bits = ClassicalRegister(n, "index")
        count_bits = ClassicalRegister(m, "count")
        circuit.add_register(index_bits, count_bits)
        circuit.measure(index, index_bits)
        circuit.measure(range(n, n + m), count_bits)
        circuit.name = f"durr_hoyer_{power}"
        return _flatten(circuit)

    def _runner(self, n: int, m: int, power: int) -> SamplerRunner:
        key = (n, m, power)
        if key not in self._runners:
            circuit = self.grover_circuit(n, m, power)
            parameters = sorted(circuit.parameters, key=lambda p: (p.vector.name, p.index))
            self._runners[key] = SamplerRunner(
                circuit,
                parameters=parameters,
                sampler=self._sampler,
                pass_manager=self._pass_manager,
                shots=1,
            )
        return self._runners[key]

    def _measure(
        self, groups: dict[int, np.ndarray], n: int, m: int, counts, thresholds
    ) -> dict[int, np.ndarray]:
        """Runs every power group (rows of ``counts``) and returns measured outcomes per group."""
        items = []
        for power, rows in groups.items():
            values = maximum_finding_parameter_values(counts[rows], thresholds[rows], n, m)
            if power == 0:
                values = values[:, n + m :]  # no oracle, no threshold parameters
            items.append((power, self._runner(n, m, power), values))
        probs = run_sampler_batch([(runner, values) for _, runner, values in items])
        self.num_jobs += 1
        return {power: np.argmax(p, axis=1) for (power, _, _), p in zip(items, probs, strict=True)}

    # ------------------------------------------------------------------------------------------
    # Search
    # ------------------------------------------------------------------------------------------
    def find_maximum(self, values: Sequence[int] | np.ndarray) -> MaximumFindingResult:
        """Finds the maximum of one table (see :meth:`find_maximum_batch`)."""
        values = np.asarray(values)
        if values.ndim != 1:
            raise QDeepValueError(f"values must be a 1-D table, got shape {values.shape}.")
        return self.find_maximum_batch(values[None, :])[0]

    def find_maximum_batch(
        self, tables: Sequence[Sequence[int]] | np.ndarray, *, max_value: int | None = None
    ) -> list[MaximumFindingResult]:
        """Finds the maximum of every row of ``tables``, all rows in the same jobs.

        Args:
            tables: Non-negative integers ``(batch, k)``.
            max_value: Largest value the count register must hold (default the largest entry);
                fixing it (e.g. ``k - 1`` votes) lets every call share the same templates.

        Returns:
            One :class:`MaximumFindingResult` per row.

        Raises:
            QDeepValueError: For tables that are not non-negative integers ``(batch, k)``.
            QubitLimitError: If the registers exceed :data:`MAXIMUM_FINDING_MAX_QUBITS`.
        """
        tables = _check_tables(tables)
        batch, k = tables.shape
        top = int(tables.max()) if max_value is None else check_int("max_value", max_value, 0)
        if top < tables.max():
            raise QDeepValueError(f"max_value={top} is below the largest entry {tables.max()}.")
        n, m = self.register_sizes(k, top)
        size = 2**n
        sqrt_n = math.sqrt(size)
        limit = math.ceil(self.search_limit * sqrt_n)
        budget = self.budget if self.budget is not None else math.ceil(durr_hoyer_bound(size))

        thresholds = np.zeros(batch, dtype=np.int64)
        growth_m = np.ones(batch)
        search_cost = np.zeros(batch, dtype=np.int64)
        calls = np.zeros(batch, dtype=np.int64)
        measurements = np.zeros(batch, dtype=np.int64)
        searches = np.ones(batch, dtype=np.int64)
        exhausted = np.zeros(batch, dtype=bool)
        active = np.ones(batch, dtype=bool)
        history: list[list[tuple[int, int, int]]] = [[] for _ in range(batch)]

        # step 1: a uniformly random index and its value, from the power-0 template
        outcomes = self._measure({0: np.arange(batch)}, n, m, tables, thresholds)[0]
        first_index, first_value = outcomes % size, outcomes // size
        thresholds = (first_value * size + (size - 1 - first_index)).astype(np.int64)
        best_index, best_value = first_index.astype(np.int64), first_value.astype(np.int64)
        # a padding index (>= k): start just below every real key, so that all real indices
        # and no padding index are marked
        padding = best_index >= k
        thresholds[padding] = size - k - 1
        best_index[padding], best_value[padding] = k - 1, 0
        measurements += 1
        for row in range(batch):
            history[row].append((0, int(first_index[row]), int(first_value[row])))

        while active.any():
            rows = np.flatnonzero(active)
            powers = np.array([self._rng.integers(math.ceil(growth_m[r])) for r in rows])
            groups = {int(p): rows[powers == p] for p in np.unique(powers)}
            measured = self._measure(groups, n, m, tables, thresholds)
            for power, group in groups.items():
                outcome = measured[power]
                for row, out in zip(group, outcome, strict=True):
                    index, value = int(out % size), int(out // size)
                    history[row].append((power, index, value))
                    measurements[row] += 1
                    calls[row] += power
                    search_cost[row] += power
                    key = value * size + (size - 1 - index)
                    # padding indices (>= k) are never marked in exact arithmetic; under
                    # hardware noise a corrupted read-out could propose one: never accept it
                    if index < k and key > thresholds[row]:
                        thresholds[row] = key
                        best_index[row], best_value[row] = index, value
                        growth_m[row], search_cost[row] = 1.0, 0
                        searches[row] += 1
                    else:
                        growth_m[row] = min(self.growth * growth_m[row], sqrt_n)
                        if search_cost[row] >= limit:
                            active[row] = False
                    if active[row] and calls[row] >= budget:
                        active[row], exhausted[row] = False, True
        return [
            MaximumFindingResult(
                index=int(best_index[r]),
                value=int(best_value[r]),
                num_oracle_calls=int(calls[r]),
                num_measurements=int(measurements[r]),
                num_searches=int(searches[r]),
                history=tuple(history[r]),
                budget_exhausted=bool(exhausted[r]),
            )
            for r in range(batch)
        ]


def _check_tables(tables: Any) -> np.ndarray:
    try:
        array = np.asarray(tables)
    except (TypeError, ValueError) as exc:
        raise QDeepValueError(f"tables must be an integer array, got {exc}.") from exc
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise QDeepValueError(f"tables must have shape (batch, k) with k >= 1, got {array.shape}.")
    if array.dtype.kind not in "biuf" or not np.all(np.isfinite(array)):
        raise QDeepValueError("tables must hold finite numbers.")
    if np.any(array < 0) or np.any(array != np.round(array)):
        raise QDeepValueError("tables must hold non-negative integers (e.g. vote counts).")
    return array.astype(np.int64)


def find_maximum(
    values: Sequence[int] | np.ndarray,
    *,
    sampler: BaseSamplerV2 | None = None,
    pass_manager: BasePassManager | None = None,
    seed: int | np.random.Generator | None = None,
) -> MaximumFindingResult:
    """Index and value of the maximum of ``values`` by Dürr-Høyer maximum finding.

    A shortcut for ``DurrHoyerMaximum(sampler=..., pass_manager=..., seed=...).find_maximum``.
    Among equal maxima the smallest index is returned (with high probability; see
    :class:`DurrHoyerMaximum`).

    Args:
        values: Non-negative integers ``(k,)``.
        sampler: A V2 sampler (default the exact seeded torch sampler).
        pass_manager: Transpiles the templates.
        seed: Seed of the search and of the default sampler.

    Returns:
        The :class:`MaximumFindingResult`.
    """
    finder = DurrHoyerMaximum(sampler=sampler, pass_manager=pass_manager, seed=seed)
    return finder.find_maximum(values)
