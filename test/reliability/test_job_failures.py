# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Failing primitive jobs: retries with backoff, timeouts, result checks, PrimitiveJobError."""

from __future__ import annotations

from unittest import mock

import numpy as np
import torch
from ddt import data, ddt, unpack
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import BaseSamplerV2
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

from qiskit_qdeep.exceptions import (
    PrimitiveJobError,
    PrimitiveResultError,
    QDeepTypeError,
    QDeepValueError,
    QubitLimitError,
)
from qiskit_qdeep.nn import QuantumLayer, SwapTestConv2d
from qiskit_qdeep.primitives import (
    DEFAULT_RETRY_POLICY,
    EstimatorRunner,
    RetryPolicy,
    SamplerRunner,
    TorchStatevectorEstimator,
    is_permanent_runtime_error,
)
from test import QDeepTestCase
from test.reliability.flaky_primitives import FlakyEstimator, FlakySampler

ESTIMATOR_MODES = ("raise", "raise-result", "drop-pub", "shape", "nan", "missing")
SAMPLER_MODES = ("raise", "raise-result", "drop-pub", "shape", "missing")
#: Type of the error a failed attempt leaves as ``PrimitiveJobError.cause``.
CAUSES = {
    "raise": RuntimeError,
    "raise-result": RuntimeError,
    "hang": TimeoutError,
    "drop-pub": PrimitiveResultError,
    "shape": PrimitiveResultError,
    "nan": PrimitiveResultError,
    "missing": PrimitiveResultError,
}


def circuit_2q():
    theta = ParameterVector("t", 3)
    qc = QuantumCircuit(2)
    qc.ry(theta[0], 0)
    qc.ry(theta[1], 1)
    qc.cx(0, 1)
    qc.rx(theta[2], 0)
    return qc


def exact_evs(qc, observables, values):
    return np.array(
        [
            [
                Statevector(qc.assign_parameters(v)).expectation_value(SparsePauliOp(o)).real
                for o in observables
            ]
            for v in values
        ]
    )


def exact_probs(qc, values):
    return np.array([Statevector(qc.assign_parameters(v)).probabilities() for v in values])


@ddt
class TestRetries(QDeepTestCase):
    """Every failure mode is retried with backoff, then reported with its cause."""

    def setUp(self):
        super().setUp()
        self.qc = circuit_2q()
        self.values = self.rng.uniform(-np.pi, np.pi, (5, 3))
        patcher = mock.patch("qiskit_qdeep.primitives.retry._sleep")
        self.sleep = patcher.start()
        self.addCleanup(patcher.stop)

    @data(*ESTIMATOR_MODES)
    def test_estimator_recovers(self, mode):
        flaky = FlakyEstimator(failures=2, mode=mode)
        runner = EstimatorRunner(self.qc, ["ZZ", "XI"], estimator=flaky, max_bindings_per_pub=2)
        with self.assertLogs("qiskit_qdeep.primitives.retry", "WARNING") as logs:
            evs, jac = runner.run_with_gradient(self.values)
        self.assertEqual(len(logs.records), 2)
        self.assertEqual([c.args[0] for c in self.sleep.call_args_list], [1.0, 2.0])
        self.assertEqual(flaky.calls, 3)
        self.assertEqual(runner.num_jobs, 3 if mode != "raise" else 1)
        self.assertAllClose(evs, exact_evs(self.qc, ["ZZ", "XI"], self.values), atol=1e-10)
        exact = TorchStatevectorEstimator(seed=0)
        ref = EstimatorRunner(self.qc, ["ZZ", "XI"], estimator=exact).run_with_gradient(self.values)
        self.assertTrue(np.array_equal(jac, ref[1]))  # the gradient of the good job, unchanged

    @data(*SAMPLER_MODES)
    def test_sampler_recovers(self, mode):
        flaky = FlakySampler(failures=1, mode=mode)
        runner = SamplerRunner(self.qc, sampler=flaky, shots=20000)
        probs = runner.run(self.values)
        self.assertEqual(flaky.calls, 2)
        self.assertAllClose(probs, exact_probs(self.qc, self.values), atol=0.02)

    @data(*[(m, "estimator") for m in ESTIMATOR_MODES] + [(m, "sampler") for m in SAMPLER_MODES])
    @unpack
    def test_gives_up_with_cause(self, mode, kind):
        policy = RetryPolicy(max_retries=2, backoff=0.5, factor=3.0)
        if kind == "estimator":
            flaky = FlakyEstimator(failures=100, mode=mode)
            runner = EstimatorRunner(self.qc, "ZZ", estimator=flaky, retry=policy)
        else:
            flaky = FlakySampler(failures=100, mode=mode)
            runner = SamplerRunner(self.qc, sampler=flaky, retry=policy)
        with self.assertRaises(PrimitiveJobError) as caught:
            runner.run(self.values)
        error = caught.exception
        self.assertIsInstance(error.cause, CAUSES[mode])
        self.assertIs(error.__cause__, error.cause)
        self.assertEqual(error.attempts, 3)
        self.assertEqual(flaky.calls, 3)
        self.assertRegex(error.message, f"Flaky{kind.title()} job failed 3 time.*max_retries=2")
        self.assertEqual([c.args[0] for c in self.sleep.call_args_list], [0.5, 1.5])

    def test_timeout_cancels_and_retries(self):
        flaky = FlakyEstimator(failures=1, mode="hang")
        self.addCleanup(flaky.release)
        runner = EstimatorRunner(self.qc, "ZZ", estimator=flaky, retry=RetryPolicy(timeout=0.05))
        evs = runner.run(self.values)
        self.assertEqual(flaky.jobs[0].cancel_calls, 1)
        self.assertAllClose(evs, exact_evs(self.qc, ["ZZ"], self.values), atol=1e-10)
        flaky = FlakySampler(failures=10, mode="hang")
        self.addCleanup(flaky.release)
        runner = SamplerRunner(
            self.qc, sampler=flaky, retry=RetryPolicy(max_retries=1, timeout=0.02)
        )
        with self.assertRaisesRegex(PrimitiveJobError, "did not finish within 0.02 s") as caught:
            runner.run(self.values)
        self.assertIsInstance(caught.exception.cause, TimeoutError)
        self.assertEqual(len(flaky.jobs), 2)

    def test_deterministic_errors_are_not_retried(self):
        big = QuantumCircuit(3)
        big.h(range(3))
        small = TorchStatevectorEstimator(seed=0, max_qubits=2)
        runner = EstimatorRunner(big, "ZZZ", estimator=FlakyEstimator(small))
        with self.assertRaises(QubitLimitError):
            runner.run(np.zeros((1, 0)))
        self.sleep.assert_not_called()
        # exceptions outside retry_on are raised as they are
        flaky = FlakyEstimator(failures=5, mode="raise")
        policy = RetryPolicy(retry_on=(ConnectionError,))
        with self.assertRaisesRegex(RuntimeError, "injected failure"):
            EstimatorRunner(self.qc, "ZZ", estimator=flaky, retry=policy).run(self.values)
        self.assertEqual(flaky.calls, 1)

    def test_closed_session_is_not_retried(self):
        """Runtime errors a retry cannot fix (a closed session) fail at once, without backoff."""
        from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeInvalidStateError

        class ClosedSessionSampler(BaseSamplerV2):
            """What a runtime sampler bound to a closed Session raises on ``run``."""

            calls = 0

            def run(self, pubs, *, shots=None):
                self.calls += 1
                raise IBMRuntimeError("The session is closed.")

        sampler = ClosedSessionSampler()
        runner = SamplerRunner(self.qc, sampler=sampler, shots=10)
        with self.assertRaisesRegex(IBMRuntimeError, "session is closed"):
            runner.run(self.values)
        self.assertEqual(sampler.calls, 1)
        self.sleep.assert_not_called()
        cases = {
            RuntimeInvalidStateError("job cancelled"): True,
            IBMRuntimeError("The session is closed."): True,
            IBMRuntimeError("Service temporarily unavailable"): False,
            ConnectionError("reset"): False,
        }
        for error, permanent in cases.items():
            with self.subTest(error=repr(error)):
                self.assertEqual(is_permanent_runtime_error(error), permanent)

    def test_executor_sampler_without_parameters(self):
        """The executor sampler returns a single unparameterised binding without its axis."""
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime import Session
        from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        qc = QuantumCircuit(2)
        qc.x(0)
        qc.measure_all()
        backend = FakeManilaV2()
        pass_manager = generate_preset_pass_manager(
            backend=backend, optimization_level=1, seed_transpiler=0
        )
        with Session(backend=backend) as session:
            sampler = ExecutorSampler(mode=session)
            sampler.options.simulator.seed_simulator = 3
            runner = SamplerRunner(qc, sampler=sampler, shots=200, pass_manager=pass_manager)
            probs = runner.run(np.zeros((1, 0)))
        self.assertEqual(probs.shape, (1, 4))
        self.assertGreater(probs[0, 1], 0.8)  # |01>: x on qubit 0, readout noise aside
        self.assertEqual(runner.num_jobs, 1)
        self.sleep.assert_not_called()

    def test_layers_pass_the_policy(self):
        flaky = FlakyEstimator(failures=1, mode="nan")
        qc = circuit_2q()
        params = list(qc.parameters)
        policy = RetryPolicy(max_retries=0)
        layer = QuantumLayer(qc, "ZZ", params[:2], params[2:], estimator=flaky, retry=policy)
        self.assertIs(layer.runner.retry, policy)
        with self.assertRaisesRegex(PrimitiveJobError, "NaN or inf expectation values"):
            layer(torch.zeros(2, 2))
        layer.runner.retry = None  # back to the default
        self.assertIs(layer.runner.retry, DEFAULT_RETRY_POLICY)
        out = layer(torch.zeros(2, 2))
        self.assertEqual(tuple(out.shape), (2, 1))
        conv = SwapTestConv2d(
            2,
            1,
            2,
            sampler=FlakySampler(failures=1, mode="shape"),
            gradient="ancilla",
            retry=RetryPolicy(backoff=0),
        )
        self.assertEqual(conv.runner.retry.backoff, 0)
        self.assertEqual(conv.ancilla_runner.retry.backoff, 0)
        self.assertEqual(tuple(conv(torch.rand(1, 1, 2, 2)).shape), (1, 1, 1, 1))
        with self.assertRaisesRegex(
            QDeepTypeError, "retry must be a qiskit_qdeep.primitives.RetryPolicy"
        ):
            QuantumLayer(qc, "ZZ", params[:2], params[2:], retry={"max_retries": 2})

    @data(
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"max_retries": 1.5}, "max_retries must be an integer >= 0"),
        ({"backoff": -1.0}, "backoff must be a finite number >= 0"),
        ({"backoff": float("nan")}, "backoff must be a finite number >= 0"),
        ({"factor": 0.5}, "factor must be a finite number >= 1"),
        ({"timeout": 0}, "timeout must be None or a number > 0"),
        ({"retry_on": RuntimeError}, "retry_on must be a tuple of exception classes"),
        ({"fail_fast_on": (int,)}, "fail_fast_on must be a tuple of exception classes"),
    )
    @unpack
    def test_policy_validation(self, kwargs, message):
        with self.assertRaisesRegex((QDeepValueError, QDeepTypeError), message):
            RetryPolicy(**kwargs)

    def test_backoff_schedule(self):
        policy = RetryPolicy(max_retries=8, backoff=1.0, factor=2.0, max_backoff=10.0)
        self.assertEqual([policy.delay(k) for k in range(6)], [0.0, 1.0, 2.0, 4.0, 8.0, 10.0])


class TestDeterministicSeeds(QDeepTestCase):
    """The same seed gives the same results, on the exact engine and on seeded Aer."""

    def test_exact_and_aer_runs_repeat(self):
        qc = circuit_2q()
        values = self.rng.uniform(-1, 1, (4, 3))
        cases = {
            "torch-estimator": lambda: EstimatorRunner(qc, ["ZZ", "XX"], precision=0.05, seed=3),
            "aer-estimator": lambda: EstimatorRunner(
                qc,
                ["ZZ", "XX"],
                estimator=AerEstimatorV2(options={"run_options": {"seed_simulator": 3}}),
                precision=0.05,
            ),
            "torch-sampler": lambda: SamplerRunner(qc, shots=300, seed=3),
            "aer-sampler": lambda: SamplerRunner(qc, sampler=AerSamplerV2(seed=3), shots=300),
        }
        for name, build in cases.items():
            with self.subTest(name):
                first = build().run_with_gradient(values)
                second = build().run_with_gradient(values)
                for a, b in zip(first, second):
                    self.assertTrue(np.array_equal(a, b))

    def test_layer_training_repeats(self):
        def train(estimator_factory):
            qc = circuit_2q()
            params = list(qc.parameters)
            layer = QuantumLayer(
                qc,
                ["ZZ", "ZI"],
                params[:2],
                params[2:],
                estimator=estimator_factory(),
                gradient="parameter-shift",
                seed=4,
            )
            opt = torch.optim.SGD(layer.parameters(), lr=0.1)
            x = torch.tensor(self.rng.uniform(-1, 1, (6, 2)))
            for _ in range(3):
                opt.zero_grad()
                layer(x).sum().backward()
                opt.step()
            return layer.weight.detach().clone()

        for name, factory in {
            "exact": lambda: TorchStatevectorEstimator(seed=9),
            "aer": lambda: AerEstimatorV2(
                options={"default_precision": 0.02, "run_options": {"seed_simulator": 9}}
            ),
        }.items():
            with self.subTest(name):
                self.rng = np.random.default_rng(0)
                a = train(factory)
                self.rng = np.random.default_rng(0)
                b = train(factory)
                self.assertTrue(torch.equal(a, b))
