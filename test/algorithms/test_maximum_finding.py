# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Dürr-Høyer maximum finding: oracle blocks against exact statevectors, winners against argmax."""

from __future__ import annotations

import itertools
import math

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qiskit_qdeep.algorithms import (
    DurrHoyerMaximum,
    MaximumFindingResult,
    durr_hoyer_bound,
    find_maximum,
)
from qiskit_qdeep.circuit.library import (
    greater_than_phase_circuit,
    maximum_finding_keys,
    maximum_finding_oracle,
    maximum_finding_parameter_values,
    vote_loader_circuit,
)
from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError, QubitLimitError
from qiskit_qdeep.primitives import SamplerRunner
from test import QDeepTestCase


def _bind(circuit: QuantumCircuit, values: np.ndarray) -> QuantumCircuit:
    params = sorted(circuit.parameters, key=lambda p: (p.vector.name, p.index))
    return circuit.assign_parameters(dict(zip(params, values, strict=True)))


def _winner(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classical answer under the tie rule: numpy's argmax returns the first maximum."""
    return tables.argmax(axis=1), tables.max(axis=1)


class TestOracleBlocks(QDeepTestCase):
    """Every block checked amplitude by amplitude with ``Statevector``."""

    def test_greater_than_phase_exhaustive(self):
        w = 3
        for threshold in range(2**w):
            circuit = QuantumCircuit(w + 1)
            circuit.h(range(w))
            circuit.compose(greater_than_phase_circuit(w), range(w + 1), inplace=True)
            bits = (threshold >> np.arange(w)) & 1
            state = Statevector(_bind(circuit, bits)).data * np.sqrt(2**w)
            expected = np.where(np.arange(2**w) > threshold, -1.0, 1.0)
            self.assertAllClose(state[: 2**w], expected, atol=1e-10, msg=f"T={threshold}")
            self.assertAllClose(state[2**w :], 0.0, atol=1e-10)  # flag back to |0>

    def test_vote_loader_writes_table_and_is_self_inverse(self):
        n, m = 2, 2
        table = np.array([3, 0, 2, 1])
        values = maximum_finding_parameter_values(table[None], np.zeros(1), n, m)[0, n + m :]
        for i in range(2**n):
            circuit = QuantumCircuit(n + m + 1)
            for q in range(n):
                if (i >> q) & 1:
                    circuit.x(q)
            loader = vote_loader_circuit(n, m)
            circuit.compose(loader, range(n + m + 1), inplace=True)
            state = Statevector(_bind(circuit, values)).data
            self.assertAlmostEqual(abs(state[i + 2**n * table[i]]), 1.0, places=10)
            twice = circuit.compose(loader)
            state = Statevector(_bind(twice, values)).data
            self.assertAlmostEqual(state[i].real, 1.0, places=10)  # exactly, no phase

    def test_oracle_marks_keys_above_threshold(self):
        for n, m, k in [(1, 1, 2), (2, 2, 3), (2, 2, 4), (3, 2, 5)]:
            for _ in range(3):
                counts = self.rng.integers(0, 2**m, size=k)
                threshold = int(self.rng.integers(0, 2 ** (n + m)))
                values = maximum_finding_parameter_values(counts[None], [threshold], n, m)[0]
                oracle = maximum_finding_oracle(n, m)
                circuit = QuantumCircuit(oracle.num_qubits)
                circuit.h(range(n))
                circuit.compose(oracle, inplace=True)
                state = Statevector(_bind(circuit, values)).data * np.sqrt(2**n)
                keys = maximum_finding_keys(counts, n)
                self.assertAllClose(state[: 2**n], np.where(keys > threshold, -1.0, 1.0), 1e-10)
                self.assertAllClose(state[2**n :], 0.0, atol=1e-10)

    def test_keys_encode_tie_rule(self):
        keys = maximum_finding_keys(np.array([2, 5, 5, 1]), 2)
        self.assertEqual(int(np.argmax(keys)), 1)
        self.assertEqual(len(set(keys.tolist())), 4)
        padded = maximum_finding_keys(np.array([0, 0, 0]), 2)  # index 3 is padding
        self.assertLess(padded[3], padded[:3].min())

    def test_grover_template_amplifies_marked_indices(self):
        """The marked probability after j iterations is sin^2((2j + 1) theta) exactly."""
        n, m = 2, 2
        counts = np.array([1, 3, 0, 2])
        keys = maximum_finding_keys(counts, n)
        for threshold, power in itertools.product([keys[1] - 1, keys[3]], [0, 1, 2]):
            circuit = DurrHoyerMaximum.grover_circuit(n, m, power)
            values = maximum_finding_parameter_values(counts[None], [threshold], n, m)[0]
            if power == 0:
                values = values[n + m :]
            probs = Statevector(_bind(circuit.remove_final_measurements(inplace=False), values))
            probs = probs.probabilities(list(range(n + m)))  # index + count registers
            marked = keys > threshold
            theta = math.asin(math.sqrt(marked.sum() / 2**n))
            outcome = np.arange(2**n) + 2**n * counts  # the QROM read-out
            self.assertAlmostEqual(probs[outcome].sum(), 1.0, places=10)
            self.assertAlmostEqual(
                probs[outcome[marked]].sum(), math.sin((2 * power + 1) * theta) ** 2, places=10
            )

    def test_parameter_value_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "counts must be integers in"):
            maximum_finding_parameter_values([[4, 0]], [0], 1, 2)
        with self.assertRaisesRegex(QDeepValueError, "k <= 2"):
            maximum_finding_parameter_values([[1, 0, 1]], [0], 1, 2)
        with self.assertRaisesRegex(QDeepValueError, "thresholds must have shape"):
            maximum_finding_parameter_values([[1, 0]], [0, 1], 1, 2)
        with self.assertRaisesRegex(QDeepValueError, "thresholds must be integers"):
            maximum_finding_parameter_values([[1, 0]], [8], 1, 2)
        with self.assertRaisesRegex(QDeepValueError, "num_count_bits"):
            vote_loader_circuit(2, 0)
        with self.assertRaisesRegex(QDeepValueError, "must hold 3 parameters"):
            greater_than_phase_circuit(3, parameters=[1.0])


class TestDurrHoyer(QDeepTestCase):
    """Winners equal the classical argmax under the tie rule; costs within the D-H bound."""

    def _check(self, tables, seed, **kwargs):
        finder = DurrHoyerMaximum(seed=seed, **kwargs)
        results = finder.find_maximum_batch(tables)
        index, value = _winner(np.asarray(tables))
        self.assertEqual([r.index for r in results], index.tolist())
        self.assertEqual([r.value for r in results], value.tolist())
        # lock-step batching: one job per round, as many rounds as the longest search
        self.assertEqual(finder.num_jobs, max(r.num_measurements for r in results))
        return results

    def test_exhaustive_tiny_tables(self):
        """Every table of k = 2 (values < 4) and k = 3 (values < 3): 43 tables, one batch each."""
        costs = {}
        for k, top in [(2, 4), (3, 3)]:
            tables = np.array(list(itertools.product(range(top), repeat=k)))
            results = self._check(tables, seed=k)
            costs[k] = np.mean([r.num_oracle_calls for r in results])
            self.assertFalse(any(r.budget_exhausted for r in results))
            for r in results:
                self.assertEqual(len(r.history), r.num_measurements)
                self.assertEqual(sum(h[0] for h in r.history), r.num_oracle_calls)
        self.assertLess(costs[2], durr_hoyer_bound(2))
        self.assertLess(costs[3], durr_hoyer_bound(4))

    def test_random_vote_vectors(self):
        """All-pair vote vectors of k = 4 and 6 classes (votes in [0, k - 1], with ties)."""
        for k in (4, 6):
            tables = self.rng.integers(0, k, size=(6, k))
            tables[0] = k - 1  # all tied: the smallest index must win
            results = self._check(tables, seed=10 + k)
            size = 2 ** (k - 1).bit_length()
            mean_calls = np.mean([r.num_oracle_calls for r in results])
            self.assertLess(mean_calls, durr_hoyer_bound(size))
            self.assertEqual(results[0].index, 0)

    def test_single_table_and_function(self):
        result = find_maximum([1, 3, 0, 3], seed=5)
        self.assertIsInstance(result, MaximumFindingResult)
        self.assertEqual((result.index, result.value), (1, 3))
        self.assertEqual(result.history[0][0], 0)  # starts from a uniform measurement
        self.assertGreaterEqual(result.num_searches, 1)
        self.assertEqual(find_maximum([7], seed=1).index, 0)

    def test_budget_stops_search(self):
        finder = DurrHoyerMaximum(seed=3, budget=1)
        result = finder.find_maximum([0, 1, 2, 3, 0, 1, 2, 5])
        self.assertTrue(result.budget_exhausted)
        self.assertLessEqual(result.num_oracle_calls, 3)

    def test_aer_sampler(self):
        from qiskit_aer.primitives import SamplerV2

        tables = np.array([[0, 2, 1], [2, 2, 0], [1, 0, 2], [1, 1, 1]])
        self._check(tables, seed=1, sampler=SamplerV2(seed=5))

    def test_fake_backend_readout(self):
        """QROM read-out of the transpiled template on FakeManilaV2 (noisy, local mode)."""
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime.executor_sampler import Sampler
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        backend = FakeManilaV2()
        sampler = Sampler(mode=backend)
        sampler.options.simulator.seed_simulator = 7
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=7)
        circuit = DurrHoyerMaximum.grover_circuit(1, 1, 0)
        params = sorted(circuit.parameters, key=lambda p: (p.vector.name, p.index))
        runner = SamplerRunner(
            circuit, parameters=params, sampler=sampler, pass_manager=pm, shots=400
        )
        tables = np.array([[0, 1], [1, 0], [1, 1]])
        probs = runner.run(maximum_finding_parameter_values(tables, np.zeros(3), 1, 1)[:, 2:])
        consistent = [probs[b, [i + 2 * tables[b, i] for i in range(2)]].sum() for b in range(3)]
        self.assertGreater(min(consistent), 0.85)  # read-out errors only
        self.assertEqual(runner.num_jobs, 1)

    def test_errors(self):
        with self.assertRaisesRegex(QDeepTypeError, "BaseSamplerV2"):
            DurrHoyerMaximum(sampler="aer")
        with self.assertRaisesRegex(QDeepValueError, "search_limit"):
            DurrHoyerMaximum(search_limit=0)
        with self.assertRaisesRegex(QDeepValueError, "growth"):
            DurrHoyerMaximum(growth=2.0)
        with self.assertRaisesRegex(QDeepValueError, "budget"):
            DurrHoyerMaximum(budget=0)
        finder = DurrHoyerMaximum(seed=0)
        with self.assertRaisesRegex(QDeepValueError, "non-negative integers"):
            finder.find_maximum([1, -2])
        with self.assertRaisesRegex(QDeepValueError, "non-negative integers"):
            finder.find_maximum([1.5, 2])
        with self.assertRaisesRegex(QDeepValueError, "1-D"):
            finder.find_maximum([[1, 2]])
        with self.assertRaisesRegex(QDeepValueError, r"shape \(batch, k\)"):
            finder.find_maximum_batch([1, 2])
        with self.assertRaisesRegex(QDeepValueError, "max_value=1"):
            finder.find_maximum_batch([[1, 2]], max_value=1)
        with self.assertRaisesRegex(QubitLimitError, "MAXIMUM_FINDING_MAX_QUBITS"):
            finder.find_maximum(np.arange(300))
        self.assertEqual(finder.num_jobs, 0)
