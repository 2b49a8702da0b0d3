# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Options of the primitives and runners: precision, shots, integer checks and retries.

Precision given to an exact primitive is honoured (seeded Gaussian noise); NaN, infinite or
negative precision and bad shots are refused everywhere with qiskit-qdeep errors naming the
option (wrong type: :class:`QDeepTypeError`, wrong value: :class:`QDeepValueError`). Retries
only repeat transient failures; deterministic errors surface at once.
"""

from __future__ import annotations

import time
from unittest import mock

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.exceptions import QiskitError
from qiskit.primitives import (
    BaseEstimatorV2,
    PrimitiveJob,
    SamplerPub,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.quantum_info import SparsePauliOp

from qiskit_qdeep._validation import check_int, check_precision, check_shots
from qiskit_qdeep.exceptions import (
    PrimitiveJobError,
    PrimitiveResultError,
    QDeepTypeError,
    QDeepValueError,
    QiskitQDeepError,
    UnsupportedGateError,
)
from qiskit_qdeep.primitives import (
    EstimatorRunner,
    RetryPolicy,
    SamplerRunner,
    TorchStatevectorEstimator,
    TorchStatevectorSampler,
)
from qiskit_qdeep.primitives.retry import (
    DEFAULT_RETRY_POLICY,
    DETERMINISTIC_ERRORS,
    is_deterministic_error,
    submit,
)
from test import QDeepTestCase

NAN, INF = float("nan"), float("inf")


def circuit_1p():
    qc = QuantumCircuit(2)
    qc.ry(Parameter("a"), 0)
    qc.cx(0, 1)
    return qc


def measured():
    qc = circuit_1p()
    qc.measure_all()
    return qc


class TestValidationHelpers(QDeepTestCase):
    """check_int / check_shots / check_precision: wrong type -> QDeepTypeError, value -> Value."""

    def test_classes(self):
        self.assertTrue(issubclass(QDeepTypeError, (QiskitQDeepError, TypeError)))
        self.assertTrue(issubclass(QDeepValueError, (QiskitQDeepError, ValueError)))

    def test_check_int(self):
        self.assertEqual(check_int("n", 3), 3)
        self.assertEqual(check_int("n", np.int64(0), minimum=0), 0)
        self.assertIsInstance(check_int("n", np.int32(5)), int)
        for bad in (True, np.bool_(True), 2.5, 3.0, NAN, "3", None, [3]):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepTypeError, "n must be an integer >= 1"):
                    check_int("n", bad)
        for bad in (0, -4, np.int64(-1)):
            with self.assertRaisesRegex(QDeepValueError, "n must be an integer >= 1"):
                check_int("n", bad)

    def test_check_shots(self):
        self.assertIsNone(check_shots(None))
        self.assertEqual(check_shots(np.int64(100)), 100)
        for bad in (True, 2.5, 10.0, NAN, INF, "100", 1j):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepTypeError, "shots must be a positive integer"):
                    check_shots(bad)
        for bad in (0, -1):
            with self.assertRaisesRegex(QDeepValueError, "shots must be a positive integer"):
                check_shots(bad)
        with self.assertRaisesRegex(QDeepValueError, "default_shots must be"):
            check_shots(0, "default_shots")

    def test_check_precision(self):
        self.assertIsNone(check_precision(None))
        self.assertEqual(check_precision(0), 0.0)
        self.assertEqual(check_precision(np.float32(0.5)), 0.5)
        for bad in (True, False, "high", 1j, [0.1], np.bool_(False)):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepTypeError, "precision must be a finite number"):
                    check_precision(bad)
        for bad in (NAN, INF, -INF, -0.1, np.float64(NAN)):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepValueError, "precision must be a finite number"):
                    check_precision(bad)


class TestPrecision(QDeepTestCase):
    """Precision: honoured by the exact estimator, refused when NaN / inf / negative."""

    def setUp(self):
        super().setUp()
        self.qc = circuit_1p()
        self.values = self.rng.uniform(-np.pi, np.pi, (6, 1))

    def test_default_precision_refused(self):
        for bad in (INF, NAN, -1.0):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepValueError, "default_precision"):
                    TorchStatevectorEstimator(default_precision=bad)
        for bad in (True, "0.1", None, 1j):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepTypeError, "default_precision"):
                    TorchStatevectorEstimator(default_precision=bad)

    def test_run_precision_refused(self):
        estimator = TorchStatevectorEstimator()
        pub = (self.qc, "ZZ", self.values)
        for bad in (NAN, INF, -0.1):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepValueError, "precision"):
                    estimator.run([pub], precision=bad)
        with self.assertRaisesRegex(QDeepTypeError, "precision"):
            estimator.run([pub], precision=True)
        with self.assertRaisesRegex(QDeepTypeError, "precision"):
            estimator.run([pub], precision="0.1")

    def test_pub_precision_refused(self):
        estimator = TorchStatevectorEstimator()
        for bad in (NAN, INF):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepValueError, "precision of PUB 1"):
                    estimator.run([(self.qc, "ZZ", self.values), (self.qc, "ZZ", self.values, bad)])
        with self.assertRaisesRegex(QDeepValueError, "PUB 0.*precision"):
            estimator.run([(self.qc, "ZZ", self.values, -0.5)])
        with self.assertRaisesRegex(QDeepTypeError, "precision of PUB 0"):
            estimator.run([(self.qc, "ZZ", self.values, True)])
        with self.assertRaisesRegex(QDeepTypeError, "PUB 0.*precision"):
            estimator.run([(self.qc, "ZZ", self.values, "x")])

    def test_runner_precision_refused(self):
        for bad in (NAN, INF, -1e-3):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepValueError, "precision"):
                    EstimatorRunner(self.qc, "ZZ", precision=bad)
        with self.assertRaisesRegex(QDeepTypeError, "precision"):
            EstimatorRunner(self.qc, "ZZ", precision=False)
        runner = EstimatorRunner(self.qc, "ZZ", precision=0.1)
        with self.assertRaisesRegex(QDeepValueError, "precision"):
            runner.precision = NAN
        self.assertEqual(runner.precision, 0.1)
        runner.precision = None
        self.assertIsNone(runner.precision)

    def test_precision_is_honoured(self):
        """Gaussian noise of the given precision, seeded, the same as Qiskit's estimator."""
        exact = EstimatorRunner(self.qc, ["ZZ", "XI"]).run(self.values)
        runs = []
        for estimator in (
            TorchStatevectorEstimator(seed=5),
            TorchStatevectorEstimator(seed=5),
            StatevectorEstimator(seed=5),
        ):
            runner = EstimatorRunner(self.qc, ["ZZ", "XI"], estimator=estimator, precision=0.05)
            runs.append(runner.run(self.values))
        self.assertAllClose(runs[0], runs[1], atol=0)
        self.assertAllClose(runs[0], runs[2], atol=1e-12)
        noise = runs[0] - exact
        self.assertGreater(np.abs(noise).max(), 1e-3)
        self.assertLess(np.abs(noise).max(), 0.05 * 5)
        # precision 0 on the same estimator is exact again
        zero = EstimatorRunner(
            self.qc, ["ZZ", "XI"], estimator=TorchStatevectorEstimator(seed=5), precision=0.0
        )
        self.assertAllClose(zero.run(self.values), exact, atol=1e-12)

    def test_pub_precision_wins_and_stds(self):
        estimator = TorchStatevectorEstimator(default_precision=0.2, seed=1)
        result = estimator.run(
            [(self.qc, "ZZ", self.values), (self.qc, "ZZ", self.values, 0.0)], precision=0.3
        ).result()
        self.assertEqual(result[0].metadata["target_precision"], 0.3)
        self.assertEqual(result[1].metadata["target_precision"], 0.0)
        self.assertAllClose(result[0].data.stds, np.full(6, 0.3))
        self.assertAllClose(result[1].data.stds, np.zeros(6))


class TestShots(QDeepTestCase):
    """Shots: 0, negative, 2.5, True, NaN, a PUB's shots -- all refused, named."""

    def setUp(self):
        super().setUp()
        self.qc = measured()

    def test_run_shots(self):
        sampler = TorchStatevectorSampler(seed=1)
        for bad in (0, -3):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepValueError, "shots"):
                    sampler.run([(self.qc, [0.1])], shots=bad)
        for bad in (2.5, True, NAN, "10", 10.0):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepTypeError, "shots"):
                    sampler.run([(self.qc, [0.1])], shots=bad)
        result = sampler.run([(self.qc, [0.1])], shots=np.int64(7)).result()
        self.assertEqual(result[0].data.meas.num_shots, 7)

    def test_pub_shots(self):
        sampler = TorchStatevectorSampler(seed=1)
        for bad in (0, -1):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepValueError, "PUB 1.*shots"):
                    sampler.run([(self.qc, [0.1]), (self.qc, [0.1], bad)])
        for bad in (2.5, True, NAN):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepTypeError, "PUB 0.*shots"):
                    sampler.run([(self.qc, [0.1], bad)])
        unchecked = SamplerPub(self.qc, np.array([0.1]), shots=0, validate=False)
        with self.assertRaisesRegex(QDeepValueError, "shots of PUB 0"):
            sampler.run([unchecked])

    def test_default_shots(self):
        for bad in (0, -2):
            with self.assertRaisesRegex(QDeepValueError, "default_shots"):
                TorchStatevectorSampler(default_shots=bad)
        for bad in (2.5, True, NAN, "many", None):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(QDeepTypeError, "default_shots"):
                    TorchStatevectorSampler(default_shots=bad)

    def test_runner_shots(self):
        for bad in (0, -1):
            with self.assertRaisesRegex(QDeepValueError, "shots"):
                SamplerRunner(self.qc, shots=bad)
        for bad in (2.5, True, NAN):
            with self.assertRaisesRegex(QDeepTypeError, "shots"):
                SamplerRunner(self.qc, shots=bad)
        runner = SamplerRunner(self.qc, shots=100)
        with self.assertRaisesRegex(QDeepValueError, "shots"):
            runner.shots = 0
        with self.assertRaisesRegex(QDeepTypeError, "shots"):
            runner.shots = 2.5
        runner.shots = np.int64(50)
        self.assertEqual(runner.shots, 50)

    def test_max_qubits_and_seed(self):
        with self.assertRaisesRegex(QDeepTypeError, "max_qubits"):
            TorchStatevectorSampler(max_qubits=2.0)
        with self.assertRaisesRegex(QDeepValueError, "max_qubits"):
            TorchStatevectorEstimator(max_qubits=0)
        with self.assertRaisesRegex(QDeepTypeError, "seed"):
            TorchStatevectorSampler(seed=True)
        with self.assertRaisesRegex(QDeepTypeError, "max_bindings_per_pub"):
            EstimatorRunner(circuit_1p(), "ZZ", max_bindings_per_pub=1.5)


class _RaisingEstimator(BaseEstimatorV2):
    """``run`` raises ``errors[k]`` on call ``k`` (then delegates to the torch estimator)."""

    def __init__(self, *errors, on_result=False):
        self.errors = list(errors)
        self.on_result = on_result
        self.calls = 0
        self.inner = TorchStatevectorEstimator(seed=0)

    def run(self, pubs, *, precision=None):
        self.calls += 1
        if self.errors:
            error = self.errors.pop(0)
            if self.on_result:

                def fail():
                    raise error

                job = PrimitiveJob(fail)
                job._submit()  # pylint: disable=protected-access
                return job
            raise error
        return self.inner.run(pubs, precision=precision)


class TestRetryClassification(QDeepTestCase):
    """Only transient failures are retried; deterministic ones surface at once."""

    def setUp(self):
        super().setUp()
        self.qc = circuit_1p()
        patcher = mock.patch("qiskit_qdeep.primitives.retry._sleep")
        self.sleep = patcher.start()
        self.addCleanup(patcher.stop)

    def _runner(self, estimator, **kwargs):
        return EstimatorRunner(self.qc, "ZZ", estimator=estimator, **kwargs)

    def test_deterministic_errors_surface_at_once(self):
        cases = [
            QDeepValueError("bad value"),
            UnsupportedGateError("mystery gate"),
            TypeError("unexpected keyword"),
            ValueError("Non-Hermitian input observable"),
            NotImplementedError("no"),
            KeyError("evs"),
            AttributeError("no data"),
            IndexError("out of range"),
            ZeroDivisionError("division by zero"),
            ImportError("no module named qiskit_aer"),
            QiskitError("StatevectorSampler cannot handle ControlFlowOp"),
            QiskitError("'unknown instruction: mystery'"),
            QiskitError("Simulation device 'GPU' is not supported"),
            RuntimeError("Found no NVIDIA driver on your system"),
            RuntimeError("CUDA is not available"),
            AssertionError("Torch not compiled with CUDA enabled"),
            RuntimeError("the expectation value is NaN"),
        ]
        for on_result in (False, True):
            for error in cases:
                with self.subTest(error=repr(error), on_result=on_result):
                    estimator = _RaisingEstimator(error, on_result=on_result)
                    with self.assertRaises(type(error)):
                        self._runner(estimator).run([[0.1]])
                    self.assertEqual(estimator.calls, 1)
                    self.assertTrue(is_deterministic_error(error))
        self.sleep.assert_not_called()

    def test_transient_errors_still_retry(self):
        cases = [
            RuntimeError("injected failure"),
            ConnectionError("connection reset by peer"),
            TimeoutError("read timed out"),
            OSError("network unreachable"),
            QiskitError("Job failed: internal server error"),
            PrimitiveResultError("PUB result 0 has NaN or inf expectation values."),
        ]
        try:
            from qiskit_ibm_runtime.exceptions import (
                IBMRuntimeError,
                RuntimeJobFailureError,
                RuntimeJobTimeoutError,
            )

            cases += [
                RuntimeJobFailureError("Unable to retrieve job result. Job failed."),
                RuntimeJobTimeoutError("Timed out waiting for job"),
                IBMRuntimeError("Service temporarily unavailable"),
            ]
        except ImportError:  # pragma: no cover
            pass
        for on_result in (False, True):
            for error in cases:
                with self.subTest(error=repr(error), on_result=on_result):
                    self.sleep.reset_mock()
                    estimator = _RaisingEstimator(error, error, on_result=on_result)
                    evs = self._runner(estimator).run([[0.1]])
                    self.assertEqual(estimator.calls, 3)
                    self.assertEqual(self.sleep.call_count, 2)
                    self.assertAllClose(evs, [[1.0]], atol=1e-12)  # <ZZ> of a Bell-like state
                    self.assertFalse(is_deterministic_error(error))

    def test_permanent_runtime_errors(self):
        from qiskit_ibm_runtime.exceptions import IBMInputValueError, RuntimeJobMaxTimeoutError

        for error in (IBMInputValueError("bad input"), RuntimeJobMaxTimeoutError("max time")):
            estimator = _RaisingEstimator(error)
            with self.assertRaises(type(error)):
                self._runner(estimator).run([[0.1]])
            self.assertEqual(estimator.calls, 1)
        self.sleep.assert_not_called()

    def test_policy_fields(self):
        self.assertEqual(DEFAULT_RETRY_POLICY.fail_fast_on, DETERMINISTIC_ERRORS)
        for cls in (QiskitQDeepError, TypeError, ValueError, NotImplementedError, KeyError):
            self.assertTrue(issubclass(cls, DETERMINISTIC_ERRORS), cls)
        for cls in (RuntimeError, ConnectionError, TimeoutError, QiskitError):
            self.assertFalse(issubclass(cls, DETERMINISTIC_ERRORS), cls)
        # a custom fail_fast_on: retry ValueError, fail fast on ConnectionError
        policy = RetryPolicy(fail_fast_on=(ConnectionError,), max_retries=1)
        estimator = _RaisingEstimator(ValueError("flaky decode"))
        self.assertAllClose(self._runner(estimator, retry=policy).run([[0.0]]), [[1.0]])
        self.assertEqual(estimator.calls, 2)
        estimator = _RaisingEstimator(ConnectionError("reset"))
        with self.assertRaises(ConnectionError):
            self._runner(estimator, retry=policy).run([[0.0]])
        self.assertEqual(estimator.calls, 1)
        # a transient error that keeps failing is reported after the retries
        estimator = _RaisingEstimator(*[ConnectionError("reset")] * 5)
        with self.assertRaises(PrimitiveJobError) as caught:
            self._runner(estimator, retry=RetryPolicy(max_retries=2)).run([[0.0]])
        self.assertIsInstance(caught.exception.cause, ConnectionError)
        self.assertEqual(caught.exception.attempts, 3)

    def test_nan_observable_on_qiskit_estimator_fails_fast(self):
        """Qiskit's own estimator refuses a NaN observable with a ValueError ("Non-Hermitian");
        submitted directly it is raised at once, without the old 7 s of backoff."""
        self.sleep.side_effect = time.sleep  # real pauses, if any
        pubs = [(self.qc, SparsePauliOp("ZZ", NAN), [0.1])]
        start = time.perf_counter()
        with self.assertRaisesRegex(ValueError, "Hermitian"):
            submit(StatevectorEstimator(), pubs, lambda result: result, DEFAULT_RETRY_POLICY)
        self.assertLess(time.perf_counter() - start, 0.1)
        self.sleep.assert_not_called()
        start = time.perf_counter()
        with self.assertRaisesRegex(QDeepValueError, "non-finite"):
            EstimatorRunner(self.qc, SparsePauliOp("ZZ", NAN), estimator=StatevectorEstimator())
        self.assertLess(time.perf_counter() - start, 0.1)

    def test_sampler_errors_fail_fast(self):
        """A sampler that cannot run the circuit (mid-circuit measurement) fails at once."""
        qc = QuantumCircuit(1, 1)
        qc.h(0)
        qc.measure(0, 0)
        qc.h(0)
        qc.measure(0, 0)
        for sampler in (StatevectorSampler(seed=1), TorchStatevectorSampler(seed=1)):
            with self.subTest(sampler=type(sampler).__name__):
                with self.assertRaises(QiskitError):
                    SamplerRunner(qc, sampler=sampler, shots=10).run(np.zeros((1, 0)))
        self.sleep.assert_not_called()


if __name__ == "__main__":
    import unittest

    unittest.main()
