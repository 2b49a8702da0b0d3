# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Several templates in one primitive job: run_sampler_batch / run_estimator_batch."""

from __future__ import annotations

from unittest import mock

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

from qiskit_qdeep.exceptions import PrimitiveJobError, QDeepTypeError, QDeepValueError
from qiskit_qdeep.primitives import (
    EstimatorRunner,
    RetryPolicy,
    SamplerRunner,
    TorchStatevectorEstimator,
    TorchStatevectorSampler,
    run_estimator_batch,
    run_sampler_batch,
)
from test import QDeepTestCase
from test.reliability.flaky_primitives import FlakyEstimator, FlakySampler


def template(num_qubits: int, name: str) -> QuantumCircuit:
    """A small entangling template with ``2 * num_qubits`` parameters."""
    theta = ParameterVector(name, 2 * num_qubits)
    qc = QuantumCircuit(num_qubits)
    for q in range(num_qubits):
        qc.ry(theta[q], q)
    for q in range(num_qubits - 1):
        qc.cx(q, q + 1)
    for q in range(num_qubits):
        qc.rx(theta[num_qubits + q], q)
    return qc


def exact_probabilities(circuit: QuantumCircuit, values: np.ndarray) -> np.ndarray:
    return np.array([Statevector(circuit.assign_parameters(v)).probabilities() for v in values])


def exact_expectations(circuit, observables, values):
    return np.array(
        [
            [
                Statevector(circuit.assign_parameters(v)).expectation_value(o).real
                for o in observables
            ]
            for v in values
        ]
    )


class TestRunSamplerBatch(QDeepTestCase):
    """Three sampler templates in one job."""

    def setUp(self):
        super().setUp()
        self.circuits = [template(1, "a"), template(2, "b"), template(3, "c")]
        self.values = [
            self.rng.uniform(-np.pi, np.pi, (n, 2 * q)) for n, q in ((4, 1), (3, 2), (5, 3))
        ]

    def test_one_job_for_three_templates(self):
        sampler = FlakySampler(TorchStatevectorSampler(seed=3, default_shots=40000))
        runners = [SamplerRunner(qc, sampler=sampler) for qc in self.circuits]
        results = run_sampler_batch(list(zip(runners, self.values)))
        self.assertEqual(sampler.calls, 1)
        self.assertEqual(sampler.pubs_per_call, [3])
        self.assertEqual([r.num_jobs for r in runners], [1, 1, 1])
        for qc, values, probs in zip(self.circuits, self.values, results):
            self.assertEqual(probs.shape, (len(values), 2**qc.num_qubits))
            self.assertAllClose(probs, exact_probabilities(qc, values), atol=0.015)

    def test_chunks_and_batch_shapes_as_the_runners(self):
        sampler = FlakySampler(TorchStatevectorSampler(seed=3))
        runners = [
            SamplerRunner(self.circuits[0], sampler=sampler, max_bindings_per_pub=2, shots=30000),
            SamplerRunner(self.circuits[1], sampler=sampler, shots=30000),
        ]
        values = [self.rng.uniform(-1, 1, (2, 3, 2)), self.rng.uniform(-1, 1, (4,))]
        first, second = run_sampler_batch(list(zip(runners, values)))
        self.assertEqual(sampler.pubs_per_call, [3 + 1])  # 6 bindings in PUBs of <= 2
        self.assertEqual(first.shape, (2, 3, 2))
        self.assertEqual(second.shape, (4,))
        self.assertAllClose(
            first.reshape(6, 2),
            exact_probabilities(self.circuits[0], values[0].reshape(6, 2)),
            atol=0.02,
        )
        self.assertAllClose(
            second, exact_probabilities(self.circuits[1], values[1][None])[0], atol=0.02
        )

    def test_seeded_aer_sampler(self):
        sampler = AerSamplerV2(seed=11)
        runners = [SamplerRunner(qc, sampler=sampler, shots=20000) for qc in self.circuits]
        results = run_sampler_batch(list(zip(runners, self.values)))
        again = run_sampler_batch(list(zip(runners, self.values)))
        for qc, values, probs, probs2 in zip(self.circuits, self.values, results, again):
            self.assertAllClose(probs, exact_probabilities(qc, values), atol=0.02)
            self.assertTrue(np.array_equal(probs, probs2))  # Aer reseeds every run: same counts
        self.assertEqual([r.num_jobs for r in runners], [2, 2, 2])

    def test_same_runner_twice_counts_once(self):
        sampler = FlakySampler()
        runner = SamplerRunner(self.circuits[0], sampler=sampler)
        run_sampler_batch([(runner, self.values[0]), (runner, self.values[0][:1])])
        self.assertEqual(runner.num_jobs, 1)
        self.assertEqual(sampler.calls, 1)

    def test_retry_covers_the_whole_batch(self):
        sampler = FlakySampler(
            TorchStatevectorSampler(seed=1, default_shots=20000), failures=1, mode="drop-pub"
        )
        runners = [SamplerRunner(qc, sampler=sampler) for qc in self.circuits]
        with mock.patch("qiskit_qdeep.primitives.retry._sleep") as sleep:
            results = run_sampler_batch(list(zip(runners, self.values)))
        sleep.assert_called_once_with(1.0)
        self.assertEqual(sampler.calls, 2)
        self.assertEqual([r.num_jobs for r in runners], [2, 2, 2])
        self.assertAllClose(
            results[2], exact_probabilities(self.circuits[2], self.values[2]), atol=0.02
        )
        sampler = FlakySampler(failures=5, mode="shape")
        runners = [SamplerRunner(qc, sampler=sampler) for qc in self.circuits]
        with self.assertRaisesRegex(PrimitiveJobError, "failed 2 time"):
            run_sampler_batch(
                list(zip(runners, self.values)), retry=RetryPolicy(max_retries=1, backoff=0)
            )

    def test_bad_items(self):
        a = SamplerRunner(self.circuits[0], sampler=TorchStatevectorSampler(seed=1))
        b = SamplerRunner(self.circuits[1], sampler=TorchStatevectorSampler(seed=1))
        with self.assertRaisesRegex(QDeepValueError, "share the same sampler object.*items\\[1\\]"):
            run_sampler_batch([(a, self.values[0]), (b, self.values[1])])
        with self.assertRaisesRegex(QDeepValueError, "at least one"):
            run_sampler_batch([])
        with self.assertRaisesRegex(QDeepTypeError, "items\\[0\\]\\[0\\] must be a SamplerRunner"):
            run_sampler_batch([(EstimatorRunner(self.circuits[0], "Z"), self.values[0])])
        with self.assertRaisesRegex(QDeepTypeError, "items\\[0\\] must be a"):
            run_sampler_batch([a])
        with self.assertRaisesRegex(QDeepTypeError, "items must be a sequence"):
            run_sampler_batch(a)
        with self.assertRaisesRegex(QDeepValueError, "values must have shape \\(\\.\\.\\., 2\\)"):
            run_sampler_batch([(a, self.values[1])])


class TestRunEstimatorBatch(QDeepTestCase):
    """Three estimator templates in one job, exact."""

    def test_one_job_exact(self):
        estimator = FlakyEstimator(TorchStatevectorEstimator(seed=0))
        circuits = [template(1, "a"), template(2, "b"), template(3, "c")]
        observables = [["Z", "X"], ["ZZ", "XI", "IY"], [SparsePauliOp(["ZZZ", "XXI"], [0.5, -1.0])]]
        runners = [
            EstimatorRunner(qc, obs, estimator=estimator, max_bindings_per_pub=2)
            for qc, obs in zip(circuits, observables)
        ]
        values = [
            self.rng.uniform(-np.pi, np.pi, (n, 2 * qc.num_qubits))
            for n, qc in zip((3, 4, 1), circuits)
        ]
        results = run_estimator_batch(list(zip(runners, values)))
        self.assertEqual(estimator.calls, 1)
        self.assertEqual(estimator.pubs_per_call, [2 + 2 + 1])
        self.assertEqual([r.num_jobs for r in runners], [1, 1, 1])
        for qc, obs, vals, evs, runner in zip(circuits, observables, values, results, runners):
            exact = exact_expectations(qc, [SparsePauliOp(o) for o in obs], vals)
            self.assertAllClose(evs, exact, atol=1e-10)
            self.assertAllClose(evs, runner.run(vals), atol=1e-12)

    def test_nan_result_then_success(self):
        estimator = FlakyEstimator(failures=2, mode="nan")
        circuits = [template(1, "a"), template(2, "b")]
        runners = [EstimatorRunner(qc, "Z" * qc.num_qubits, estimator=estimator) for qc in circuits]
        values = [np.zeros((2, 2)), np.zeros((1, 4))]
        with mock.patch("qiskit_qdeep.primitives.retry._sleep") as sleep:
            first, second = run_estimator_batch(list(zip(runners, values)))
        self.assertEqual([c.args[0] for c in sleep.call_args_list], [1.0, 2.0])
        self.assertAllClose(first, np.ones((2, 1)), atol=1e-12)
        self.assertAllClose(second, np.ones((1, 1)), atol=1e-12)
        with self.assertRaisesRegex(QDeepValueError, "same estimator"):
            run_estimator_batch(
                [(runners[0], values[0]), (EstimatorRunner(circuits[1], "ZZ"), values[1])]
            )
