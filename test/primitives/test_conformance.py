# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Conformance of the torch primitives with Qiskit's reference primitives.

The behaviours that Qiskit's own tests check for ``StatevectorEstimator`` and
``StatevectorSampler`` (PUB coercion, broadcasting, parameter forms, precision and seeds,
metadata, shots, registers, empty circuits and warnings, errors, resets), checked here on
:class:`~qiskit_qdeep.primitives.TorchStatevectorEstimator` and
:class:`~qiskit_qdeep.primitives.TorchStatevectorSampler` by comparing their outputs with those of
Qiskit's primitives for the same PUBs. With an ``int`` seed or a ``Generator`` the sampler draws
the same samples as Qiskit's (same generator stream, same inverse-CDF mapping), so bit arrays are
compared exactly.

Known, documented differences: ``stds`` report the precision (Qiskit reports 0), and Qiskit's
sampler collapses resets without its seed (ours are seeded, per binding).
"""

from __future__ import annotations

import math
import unittest
import warnings

import numpy as np
from qiskit import ClassicalRegister, QiskitError, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.circuit.library import UnitaryGate, real_amplitudes
from qiskit.primitives import (
    BitArray,
    DataBin,
    PrimitiveResult,
    PubResult,
    SamplerPub,
    SamplerPubResult,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError, QiskitQDeepError
from qiskit_qdeep.primitives import (
    StatevectorEngine,
    TorchStatevectorEstimator,
    TorchStatevectorSampler,
    torch_primitives,
)
from qiskit_qdeep.primitives.exact import exact_engine
from test import QDeepTestCase

HAS_RESET = hasattr(StatevectorEngine, "needs_rng")


def ansatz(reps=2):
    qc = QuantumCircuit(2)
    qc.append(real_amplitudes(num_qubits=2, reps=reps), [0, 1])
    return qc


H1 = SparsePauliOp.from_list([("II", 1), ("IZ", 2), ("XI", 3)])
H2 = SparsePauliOp.from_list([("IZ", 1)])
H3 = SparsePauliOp.from_list([("ZI", 1), ("ZZ", 1)])
THETA1 = [0, 1, 1, 2, 3, 5]
THETA2 = [0, 1, 1, 2, 3, 5, 8, 13]
THETA3 = [1, 2, 3, 4, 5, 6]


class _Compare:
    def assert_estimator_results(self, ours, theirs, atol=1e-10):
        self.assertIsInstance(ours, PrimitiveResult)
        self.assertEqual(ours.metadata, theirs.metadata)
        self.assertEqual(len(ours), len(theirs))
        for got, want in zip(ours, theirs, strict=True):
            self.assertIsInstance(got, PubResult)
            self.assertEqual(got.data.evs.shape, want.data.evs.shape)
            self.assertEqual(got.data.shape, want.data.shape)
            self.assertEqual(got.data.evs.dtype, np.float64)
            self.assertAllClose(got.data.evs, want.data.evs, atol=atol)
            self.assertEqual(got.metadata.keys(), want.metadata.keys())
            self.assertEqual(got.metadata["circuit_metadata"], want.metadata["circuit_metadata"])
            self.assertEqual(got.metadata["target_precision"], want.metadata["target_precision"])

    def assert_sampler_results(self, ours, theirs, exact=True):
        self.assertIsInstance(ours, PrimitiveResult)
        self.assertEqual(ours.metadata, theirs.metadata)
        self.assertEqual(len(ours), len(theirs))
        for got, want in zip(ours, theirs, strict=True):
            self.assertIsInstance(got, SamplerPubResult)
            self.assertEqual(got.metadata, want.metadata)
            self.assertEqual(got.data.shape, want.data.shape)
            self.assertEqual(list(got.data.keys()), list(want.data.keys()))
            for name in want.data:
                ours_bits, theirs_bits = got.data[name], want.data[name]
                self.assertIsInstance(ours_bits, BitArray)
                self.assertEqual(ours_bits.shape, theirs_bits.shape)
                self.assertEqual(ours_bits.num_bits, theirs_bits.num_bits)
                self.assertEqual(ours_bits.num_shots, theirs_bits.num_shots)
                if exact:
                    np.testing.assert_array_equal(ours_bits.array, theirs_bits.array, err_msg=name)


class TestEstimatorConformance(_Compare, QDeepTestCase):
    """TorchStatevectorEstimator against StatevectorEstimator."""

    def both(self, pubs, **kwargs):
        init = {k: kwargs.pop(k) for k in ("seed", "default_precision") if k in kwargs}
        ours = TorchStatevectorEstimator(**init).run(pubs, **kwargs).result()
        theirs = StatevectorEstimator(**init).run(pubs, **kwargs).result()
        return ours, theirs

    def test_run_and_pub_coercion(self):
        psi1, psi2 = ansatz(2), ansatz(3)
        for pubs in (
            [(psi1, H1, [THETA1])],
            [(psi2, H1, THETA2)],
            [(psi1, [H2, H3], THETA1)],
            [(psi1, [H1, H3], [THETA1, THETA3]), (psi2, H2, THETA2)],
        ):
            self.assert_estimator_results(*self.both(pubs))
        ours, _ = self.both([(psi1, H1, [THETA1])])
        self.assertAllClose(ours[0].data.evs, [1.5555572817900956], atol=1e-10)

    def test_explicit_pubs(self):
        psi1, psi2 = ansatz(2), ansatz(3)
        obs1 = ObservablesArray.coerce([H1, H3])
        bind1 = BindingsArray.coerce({tuple(psi1.parameters): [THETA1, THETA3]})
        obs2 = ObservablesArray.coerce(H2)
        bind2 = BindingsArray.coerce({tuple(psi2.parameters): THETA2})
        pubs = [EstimatorPub(psi1, obs1, bind1), EstimatorPub(psi2, obs2, bind2)]
        self.assert_estimator_results(*self.both(pubs))

    def test_parameter_forms(self):
        qc = QuantumCircuit(1)
        qc.x(0)
        for values in (None, [], [[]], np.array([]), np.array([[]]), [np.array([])]):
            with self.subTest(values=values):
                ours, theirs = self.both([(qc, "Z", values)])
                self.assert_estimator_results(ours, theirs)
                self.assertAllClose(ours[0].data.evs, np.full(ours[0].data.shape, -1.0))
        x = Parameter("x")
        qc = QuantumCircuit(1)
        qc.ry(x, 0)
        for values in ([np.pi], np.array([np.pi]), [[np.pi]], {"x": np.pi}, {x: [np.pi, 0]}):
            with self.subTest(values=values):
                self.assert_estimator_results(*self.both([(qc, "Z", values)]))
        psi = ansatz(2)
        for values in (
            THETA1,
            [THETA1],
            np.array(THETA1),
            np.array([THETA1]),
            [np.array(THETA1)],
            BindingsArray.coerce({tuple(psi.parameters): np.array([THETA1, THETA3])}),
            {tuple(psi.parameters): np.array([[THETA1], [THETA3]])},
        ):
            with self.subTest(values=values):
                self.assert_estimator_results(*self.both([(psi, H1, values)]))

    def test_numpy_params(self):
        qc = ansatz(2)
        op = SparsePauliOp.from_list([("IZ", 1), ("XI", 2), ("ZY", -1)])
        params = self.rng.random((5, qc.num_parameters))
        target = TorchStatevectorEstimator().run([(qc, op, params.tolist())]).result()
        for values in (params, list(params)):
            result = TorchStatevectorEstimator().run([(qc, op, values)]).result()
            self.assertEqual(len(result[0].data.evs), 5)
            self.assertAllClose(result[0].data.evs, target[0].data.evs, atol=0)
        self.assert_estimator_results(*self.both([(qc, op, params)]))

    def test_broadcasting_shapes(self):
        psi = ansatz(1)
        values = self.rng.uniform(-3, 3, (2, 3, 4))
        cases = [
            ([[H2.apply_layout(None)], ["ZZ"]], values),  # (2, 1) x (2, 3) -> (2, 3)
            (["ZZ", "XI", "IY"], values[0]),  # (3,) x (3,) -> (3,)
            ([["ZZ"], ["XX"]], values[0]),  # (2, 1) x (3,) -> (2, 3)
            ("ZZ", values),  # () x (2, 3) -> (2, 3)
            ([["ZZ", "XX", "YY"]], values[:1, 0]),  # (1, 3) x (1,) -> (1, 3)
        ]
        for obs, vals in cases:
            with self.subTest(obs=obs, shape=vals.shape):
                ours, theirs = self.both([(psi, obs, vals)])
                self.assert_estimator_results(ours, theirs)
                self.assertEqual(ours[0].data.stds.shape, ours[0].data.evs.shape)
        with self.assertRaises(ValueError):
            TorchStatevectorEstimator().run([(psi, ["ZZ", "XX"], values)])

    def test_one_and_two_qubits_endian(self):
        qc, qc2 = QuantumCircuit(2), QuantumCircuit(2)
        qc2.x(0)
        for circuit in (qc, qc2):
            for op in ("II", "ZI", "IZ"):
                self.assert_estimator_results(*self.both([(circuit, op)]))
        ours = TorchStatevectorEstimator().run([(qc2, "IZ"), (qc2, "ZI")]).result()
        self.assertEqual([float(r.data.evs) for r in ours], [-1.0, 1.0])

    def test_errors(self):
        qc, qc2 = QuantumCircuit(1), QuantumCircuit(2)
        op, op2 = SparsePauliOp("I"), SparsePauliOp("II")
        est = TorchStatevectorEstimator()
        bad = [
            ([(qc, op2)], {}),
            ([(qc, op, [[1e4]])], {}),
            ([(qc2, op2, [[1, 2]])], {}),
            ([(qc, [op, op2], [[1]])], {}),
            ([(qc, op)], {"precision": -1}),
            ([(qc, 1j * op)], {"precision": 0.1}),
        ]
        for pubs, kwargs in bad:
            with self.subTest(pubs=pubs, kwargs=kwargs):
                with self.assertRaises(ValueError):
                    StatevectorEstimator().run(pubs, **kwargs).result()
                with self.assertRaises(QDeepValueError):
                    est.run(pubs, **kwargs).result()
        with self.assertRaisesRegex(QDeepValueError, "An invalid Estimator pub-like was given"):
            est.run((qc, op)).result()
        with self.assertRaises(QDeepTypeError):
            est.run([(qc, op, None, "high")])

    def test_precision_and_seed(self):
        psi = ansatz(2)
        ours, theirs = self.both([(psi, H1, [THETA1])], seed=1, default_precision=1.0)
        self.assertAllClose(ours[0].data.evs, theirs[0].data.evs, atol=1e-10)
        self.assertAllClose(ours[0].data.evs, [1.901141473854881], atol=1e-10)
        estimator = TorchStatevectorEstimator(default_precision=1.0, seed=1)
        twice = estimator.run([(psi, H1, [THETA1]), (psi, H1, [THETA1])]).result()
        for result in twice:  # every PUB starts again from the seed
            self.assertAllClose(result.data.evs, [1.901141473854881], atol=1e-10)
        exact = estimator.run([(psi, H1, [THETA1])], precision=0).result()
        self.assertAllClose(exact[0].data.evs, [1.5555572817900956], atol=1e-10)
        # stds report the precision (Qiskit's reference estimator reports 0)
        self.assertAllClose(twice[0].data.stds, [1.0])
        self.assertAllClose(theirs[0].data.stds, [0.0])

    def test_generator_seed(self):
        psi = ansatz(2)
        pubs = [(psi, [H1, H2], [THETA1, THETA3]), (psi, H3, THETA1)]
        ours = TorchStatevectorEstimator(seed=np.random.default_rng(4)).run(pubs, precision=0.2)
        theirs = StatevectorEstimator(seed=np.random.default_rng(4)).run(pubs, precision=0.2)
        self.assert_estimator_results(ours.result(), theirs.result())

    def test_iterable_of_pubs_and_metadata(self):
        circuit = ansatz(2).assign_parameters(THETA1)
        pubs = iter([(circuit, H1), (circuit, H1)])
        ours = TorchStatevectorEstimator().run(pubs).result()
        self.assertEqual(len(ours), 2)
        qc, qc2 = QuantumCircuit(2), QuantumCircuit(2)
        qc2.metadata = {"a": 1}
        ours, theirs = self.both([(qc, "ZZ"), (qc2, "ZZ")], precision=0.1, seed=3)
        self.assertEqual(ours.metadata, {"version": 2})
        self.assertEqual(ours[0].metadata, {"target_precision": 0.1, "circuit_metadata": {}})
        self.assertEqual(ours[1].metadata, {"target_precision": 0.1, "circuit_metadata": {"a": 1}})
        self.assertEqual(ours[1].metadata, theirs[1].metadata)

    def test_job_status(self):
        job = TorchStatevectorEstimator().run([(QuantumCircuit(1), "Z")])
        job.result()
        self.assertEqual(job.status(), JobStatus.DONE)

    @unittest.skipUnless(HAS_RESET, "the engine has no random reset collapse")
    def test_reset(self):
        qc = QuantumCircuit(2)
        qc.h(0)
        qc.cx(0, 1)
        qc.reset(0)
        op = SparsePauliOp("ZI")
        estimator = TorchStatevectorEstimator(seed=12)
        for precision in (0.0, 0.01):
            with self.subTest(precision=precision):
                first = estimator.run([(qc, [op] * 1000)], precision=precision).result()[0]
                evs = first.data.evs
                self.assertAllClose(evs.mean(), 0.0, atol=0.1)  # stochastic per element
                if precision == 0:
                    self.assertEqual(set(np.round(evs, 8).tolist()), {-1.0, 1.0})
                again = estimator.run([(qc, [op] * 1000)], precision=precision).result()[0]
                self.assertAllClose(evs, again.data.evs, atol=0)  # reproducible with the seed
        # a reset of an unused qubit is the identity
        fresh = QuantumCircuit(2)
        fresh.reset(0)
        fresh.h(1)
        self.assert_estimator_results(*self.both([(fresh, ["XI", "IZ"])]))


class TestSamplerConformance(_Compare, QDeepTestCase):
    """TorchStatevectorSampler against StatevectorSampler (same seed, same samples)."""

    shots = 10000
    seed = 123

    def setUp(self):
        super().setUp()
        bell = QuantumCircuit(2, name="Bell")
        bell.h(0)
        bell.cx(0, 1)
        bell.measure_all()
        self.bell = bell
        pqc = real_amplitudes(num_qubits=2, reps=2)
        pqc.measure_all()
        self.pqc = pqc
        pqc2 = real_amplitudes(num_qubits=2, reps=3)
        pqc2.measure_all()
        self.pqc2 = pqc2

    def both(self, pubs, seed=123, **kwargs):
        init = {k: kwargs.pop(k) for k in ("default_shots",) if k in kwargs}
        ours = TorchStatevectorSampler(seed=seed, **init).run(pubs, **kwargs).result()
        theirs = StatevectorSampler(seed=seed, **init).run(pubs, **kwargs).result()
        return ours, theirs

    def test_run_forms(self):
        for pubs in (
            [self.bell],
            [(self.bell, ())],
            [(self.bell, [()])],
            [(self.bell, [(), (), ()])],
            [self.bell, self.bell, self.bell],
            [(self.pqc, THETA1), (self.pqc, THETA3), (self.pqc2, list(range(8)))],
        ):
            with self.subTest(pubs=len(pubs)):
                self.assert_sampler_results(*self.both(pubs, shots=self.shots))
        ours, _ = self.both([self.bell], shots=self.shots)
        counts = ours[0].data.meas.get_int_counts()
        self.assertEqual(set(counts), {0, 3})
        self.assertAllClose(counts[0] / self.shots, 0.5, atol=0.02)

    def test_same_input_same_result(self):
        sampler = TorchStatevectorSampler(seed=self.seed)
        first = sampler.run([self.bell], shots=self.shots).result()[0].data.meas
        second = sampler.run([self.bell], shots=self.shots).result()[0].data.meas
        np.testing.assert_array_equal(first.array, second.array)

    def test_parameter_forms(self):
        bell = self.bell
        for values in (None, (), [], np.array([]), ((),), ([],), [[]], [()], np.array([[]])):
            with self.subTest(values=values):
                self.assert_sampler_results(*self.both([(bell, values)], shots=100))
        x = Parameter("x")
        qc = QuantumCircuit(1, 1)
        qc.ry(x, 0)
        qc.measure(0, 0)
        for values in ([np.pi], (np.pi,), np.array([np.pi]), [[np.pi]], {"x": [np.pi, 0.3]}):
            with self.subTest(values=values):
                ours, theirs = self.both([(qc, values)], shots=100)
                self.assert_sampler_results(ours, theirs)
        theta = [1] * 6
        for values in (theta, tuple(theta), np.array(theta), (theta,), [theta], np.array([theta])):
            with self.subTest(values=values):
                self.assert_sampler_results(*self.both([(self.pqc, values)], shots=100))
        bindings = BindingsArray.coerce({tuple(self.pqc.parameters): self.rng.random((2, 3, 6))})
        ours, theirs = self.both([(self.pqc, bindings)], shots=50)
        self.assert_sampler_results(ours, theirs)
        self.assertEqual(ours[0].data.meas.shape, (2, 3))

    def test_numpy_params_each_binding_alone_or_batched(self):
        """Qiskit re-seeds every binding: the same binding gives the same counts whether it is
        sent alone or inside a batch (this failed before the per-binding seeding)."""
        k = 5
        params = np.linspace(0, 1, k * 6).reshape(k, 6)
        sampler = TorchStatevectorSampler(seed=self.seed)
        target = sampler.run([(self.pqc, params.tolist())], shots=self.shots).result()
        again = TorchStatevectorSampler(seed=self.seed).run([(self.pqc, params)], shots=self.shots)
        np.testing.assert_array_equal(again.result()[0].data.meas.array, target[0].data.meas.array)
        split = sampler.run([(self.pqc, p) for p in params], shots=self.shots).result()
        self.assertEqual(len(split), k)
        for i in range(k):
            self.assertEqual(
                split[i].data.meas.get_int_counts(), target[0].data.meas.get_int_counts(i)
            )
        reversed_batch = sampler.run([(self.pqc, params[::-1])], shots=self.shots).result()
        for i in range(k):
            self.assertEqual(
                reversed_batch[0].data.meas.get_int_counts(k - 1 - i),
                target[0].data.meas.get_int_counts(i),
            )
        self.assert_sampler_results(*self.both([(self.pqc, params)], shots=self.shots))

    def test_generator_and_no_seed(self):
        pubs = [(self.pqc, self.rng.random((3, 6))), self.bell, (self.pqc, THETA1)]
        ours = TorchStatevectorSampler(seed=np.random.default_rng(9)).run(pubs, shots=64).result()
        theirs = StatevectorSampler(seed=np.random.default_rng(9)).run(pubs, shots=64).result()
        self.assert_sampler_results(ours, theirs)  # one stream, consumed binding by binding
        unseeded = TorchStatevectorSampler().run([self.bell], shots=4000).result()[0].data.meas
        self.assertEqual(set(unseeded.get_int_counts()), {0, 3})

    def test_one_and_two_qubits(self):
        circuits = []
        for flips in ([], [0]):
            qc = QuantumCircuit(1)
            if flips:
                qc.x(flips)
            qc.measure_all()
            circuits.append(qc)
        for flips in ([], [0], [1], [0, 1]):
            qc = QuantumCircuit(2)
            if flips:
                qc.x(flips)
            qc.measure_all()
            circuits.append(qc)
        ours, theirs = self.both(circuits, shots=100)
        self.assert_sampler_results(ours, theirs)
        for result, value in zip(ours, [0, 1, 0, 1, 2, 3], strict=True):
            self.assertEqual(result.data.meas.get_int_counts(), {value: 100})

    def test_reverse_measurement_order(self):
        x, y = Parameter("x"), Parameter("y")
        qc = QuantumCircuit(3, 3)
        qc.rx(x, 0)
        qc.rx(y, 1)
        qc.x(2)
        qc.measure(0, 2)
        qc.measure(1, 1)
        qc.measure(2, 0)
        ours, theirs = self.both([(qc, [0, 0]), (qc, [np.pi / 2, 0])], shots=self.shots)
        self.assert_sampler_results(ours, theirs)
        self.assertEqual(ours[0].data.c.get_int_counts(), {1: self.shots})
        self.assertEqual(set(ours[1].data.c.get_int_counts()), {1, 5})

    def test_errors(self):
        qc1 = QuantumCircuit(1)
        qc1.measure_all()
        qc2 = real_amplitudes(num_qubits=1, reps=1)
        qc2.measure_all()
        qc4 = QuantumCircuit(1, 1)
        with qc4.for_loop(range(5)):
            qc4.h(0)
        mid = QuantumCircuit(1, 1)
        mid.h(0)
        mid.measure(0, 0)
        mid.x(0)
        mid.measure(0, 0)
        sampler = TorchStatevectorSampler()
        value_errors = [
            ([(qc1, [1e2])], {}),
            ([qc2], {}),
            ([(qc2, [])], {}),
            ([(qc2, None)], {}),
            ([(qc2, [1e2])], {}),
            ([(qc2, [1e2] * 100)], {}),
            ([qc1], {"shots": -1}),
            ([qc1], {"shots": 0}),
            ([(qc1, None, -1)], {}),
            ([(qc1, None, 0)], {}),
        ]
        for pubs, kwargs in value_errors:
            with self.subTest(pubs=pubs, kwargs=kwargs):
                with self.assertRaises(ValueError):
                    StatevectorSampler().run(pubs, **kwargs).result()
                with self.assertRaises(QDeepValueError):
                    sampler.run(pubs, **kwargs).result()
        for circuit in (qc4, mid):
            with self.subTest(circuit=circuit.count_ops()):
                with self.assertRaises(QiskitError):
                    StatevectorSampler().run([circuit]).result()
                with self.assertRaises(QiskitQDeepError):  # a QiskitError too
                    sampler.run([circuit]).result()
        with self.assertRaises(ValueError):
            SamplerPub(qc1, shots=-1)

    def test_empty_parameter_and_unmeasured_bits(self):
        n = 5
        qc = QuantumCircuit(n, n - 1)
        qc.measure(range(n - 1), range(n - 1))
        ours, theirs = self.both([qc, qc], shots=self.shots)
        self.assert_sampler_results(ours, theirs)
        for result in ours:
            self.assertEqual(result.data.c.get_int_counts(), {0: self.shots})

    def test_shots_options(self):
        shots = 100
        sampler = TorchStatevectorSampler(seed=self.seed)
        cases = [
            (sampler.run([self.bell], shots=shots), shots),
            (sampler.run([self.bell]), sampler.default_shots),
            (TorchStatevectorSampler(default_shots=shots).run([self.bell]), shots),
            (sampler.run([(self.bell, None, shots)]), shots),
            (sampler.run([SamplerPub(self.bell, shots=shots)]), shots),
        ]
        for job, expected in cases:
            result = job.result()
            self.assertEqual(len(result), 1)
            self.assertEqual(result[0].data.meas.num_shots, expected)
            self.assertEqual(sum(result[0].data.meas.get_counts().values()), expected)
            self.assertEqual(result[0].metadata["shots"], expected)
        self.assertEqual(sampler.default_shots, 1024)
        multi = sampler.run(
            [SamplerPub(self.bell, shots=100), SamplerPub(self.bell, shots=200)], shots=self.shots
        ).result()
        self.assertEqual([r.data.meas.num_shots for r in multi], [100, 200])
        self.assert_sampler_results(
            *self.both([SamplerPub(self.bell, shots=100), (self.bell, None, 7)], shots=50)
        )

    def test_shots_result_size(self):
        n = 10
        qc = QuantumCircuit(n)
        qc.h(range(n))
        qc.measure_all()
        ours, theirs = self.both([qc], shots=self.shots)
        self.assert_sampler_results(ours, theirs)
        self.assertEqual(sum(ours[0].data.meas.get_counts().values()), self.shots)

    def test_job_status_and_seed_property(self):
        job = TorchStatevectorSampler(seed=self.seed).run([self.bell], shots=10)
        job.result()
        self.assertEqual(job.status(), JobStatus.DONE)
        self.assertIsNone(TorchStatevectorSampler().seed)
        self.assertEqual(TorchStatevectorSampler(seed=self.seed).seed, self.seed)
        generator = np.random.default_rng(self.seed)
        self.assertIs(TorchStatevectorSampler(seed=generator).seed, generator)

    def test_unitary_gates(self):
        for matrix, value in ((np.eye(2), 0), ([[0, 1], [1, 0]], 1)):
            circuit = QuantumCircuit(1)
            circuit.append(UnitaryGate(matrix), [0])
            circuit.measure_all()
            ours, theirs = self.both([circuit], shots=100)
            self.assert_sampler_results(ours, theirs)
            self.assertEqual(ours[0].data.meas.get_int_counts(), {value: 100})

    def test_multiple_registers(self):
        def regs(sizes):
            return [ClassicalRegister(size, name) for name, size in zip("abc", sizes, strict=True)]

        cases = []
        qc = QuantumCircuit(QuantumRegister(3), *regs((1, 2, 3)))
        qc.h(range(3))
        qc.measure([0, 1, 2, 2], [0, 2, 4, 5])
        cases.append(("use all cregs", qc))
        qc = QuantumCircuit(QuantumRegister(3), *regs((1, 5, 3)))
        qc.h(range(3))
        qc.measure([0, 1, 2, 2], [0, 2, 4, 5])
        cases.append(("use only a and b", qc))
        qc = QuantumCircuit(QuantumRegister(3), *regs((1, 2, 3)))
        qc.h(range(3))
        qc.measure(1, 5)
        cases.append(("use only c", qc))
        qc = QuantumCircuit(QuantumRegister(3), *regs((1, 2, 3)))
        qc.h(range(3))
        qc.measure([0, 1, 2], [5, 5, 5])  # the last measurement into a clbit wins
        cases.append(("use only c multiple qubits", qc))
        qc = QuantumCircuit(QuantumRegister(3), *regs((1, 2, 3)))
        qc.h(range(3))
        cases.append(("no measure", qc))
        for title, circuit in cases:
            with self.subTest(title):
                ours, theirs = self.both([circuit], shots=self.shots)
                self.assert_sampler_results(ours, theirs)
                self.assertEqual(len(ours[0].data), 3)
        ours, _ = self.both([cases[4][1]], shots=10)
        for name in "abc":
            self.assertEqual(ours[0].data[name].get_int_counts(), {0: 10})

    def test_aliased_registers_and_measured_then_unused(self):
        qreg = QuantumRegister(3, "q")
        creg = ClassicalRegister(3, "c")
        qc = QuantumCircuit(qreg, creg)
        alias = ClassicalRegister(bits=[creg[2], creg[0]], name="alias")
        qc.add_register(alias)
        qc.ry(np.pi / 3, 0)
        qc.cx(0, 1)
        qc.measure(0, creg[0])  # measured, then qubit 0 is never used again
        qc.h(2)  # gates on other qubits after that measurement
        qc.cx(1, 2)
        qc.measure(2, creg[2])
        qc.measure(1, creg[1])
        ours, theirs = self.both([qc], shots=2000)
        self.assert_sampler_results(ours, theirs)
        self.assertEqual(list(ours[0].data.keys()), ["c", "alias"])
        c_bits, alias_bits = ours[0].data.c.array, ours[0].data.alias.array
        self.assertAllClose(alias_bits & 1, (c_bits >> 2) & 1, atol=0)  # alias[0] = c[2]
        self.assertAllClose((alias_bits >> 1) & 1, c_bits & 1, atol=0)  # alias[1] = c[0]

    def test_no_classical_registers_warns(self):
        qc = QuantumCircuit(2)
        qc.h(0)
        for sampler in (TorchStatevectorSampler(seed=1), StatevectorSampler(seed=1)):
            with self.subTest(sampler=type(sampler).__name__):
                with self.assertWarnsRegex(UserWarning, "no output classical registers"):
                    result = sampler.run([qc], shots=5).result()
                self.assertEqual(len(result[0].data), 0)
                self.assertIsInstance(result[0].data, DataBin)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            TorchStatevectorSampler(seed=1).run([self.bell], shots=5).result()

    def test_metadata(self):
        qc = self.bell.copy()
        qc.metadata = {"name": "bell", "k": 2}
        ours, theirs = self.both([qc, self.bell], shots=20)
        self.assertEqual(ours.metadata, {"version": 2})
        self.assertEqual(ours[0].metadata, {"shots": 20, "circuit_metadata": qc.metadata})
        self.assert_sampler_results(ours, theirs)

    @unittest.skipUnless(HAS_RESET, "the engine has no random reset collapse")
    def test_reset(self):
        """One random collapse per binding (as Qiskit), seeded per binding with an int seed."""
        x = Parameter("x")
        qc = QuantumCircuit(2)
        qc.ry(x, 0)
        qc.cx(0, 1)
        qc.reset(0)
        qc.measure_all()
        values = np.linspace(0.5, 2.5, 6)[:, None]
        sampler = TorchStatevectorSampler(seed=7)
        batch = sampler.run([(qc, values)], shots=50).result()[0].data.meas
        for i, value in enumerate(values):
            alone = sampler.run([(qc, value)], shots=50).result()[0].data.meas
            self.assertEqual(alone.get_int_counts(), batch.get_int_counts(i))
            counts = batch.get_int_counts(i)
            self.assertEqual(len(counts), 1)  # the shots sample one collapsed state
            self.assertIn(next(iter(counts)), {0, 2})  # qubit 0 is reset to |0>
        again = sampler.run([(qc, values)], shots=50).result()[0].data.meas
        np.testing.assert_array_equal(again.array, batch.array)
        many = TorchStatevectorSampler(seed=np.random.default_rng(3)).run(
            [(qc, np.full((400, 1), np.pi / 2))], shots=1
        )
        ones = many.result()[0].data.meas.bitcount()
        self.assertAllClose(ones.mean(), 0.5, atol=0.1)  # P(qubit 1 = 1) = sin^2(pi/4)


class _RecordingEngine:
    """A real engine that claims to need ``rng`` and records how it is called."""

    def __init__(self, engine):
        self._engine = engine
        self.calls = []
        self.needs_rng = True

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def probabilities(self, values, qubits=None, *, rng=None):
        self.calls.append(("probabilities", np.asarray(values).shape, rng))
        return self._engine.probabilities(values, qubits)

    def expectation_values(self, values, observables, *, rng=None):
        self.calls.append(("expectation_values", np.asarray(values).shape, rng))
        return self._engine.expectation_values(values, observables)


class TestRngWiring(QDeepTestCase):
    """The primitives pass ``rng=`` to an engine that ``needs_rng``, as Qiskit seeds."""

    def setUp(self):
        super().setUp()
        x = Parameter("x")
        qc = QuantumCircuit(1)
        qc.ry(x, 0)
        self.qc = qc
        self.measured = qc.measure_all(inplace=False)

    def patched(self, primitive, circuit):
        recorder = _RecordingEngine(exact_engine(circuit))
        primitive._engine = lambda _: recorder  # pylint: disable=protected-access
        return recorder

    def test_sampler_int_seed_one_generator_per_binding(self):
        sampler = TorchStatevectorSampler(seed=5)
        recorder = self.patched(sampler, self.measured)
        values = np.array([[0.3], [1.2], [0.3]])
        bits = sampler.run([(self.measured, values)], shots=30).result()[0].data.meas
        self.assertEqual([c[1] for c in recorder.calls], [(1, 1)] * 3)
        self.assertTrue(all(isinstance(c[2], np.random.Generator) for c in recorder.calls))
        self.assertEqual(len({id(c[2]) for c in recorder.calls}), 3)
        np.testing.assert_array_equal(bits.array[0], bits.array[2])  # same binding, same shots
        plain = TorchStatevectorSampler(seed=5).run([(self.measured, values)], shots=30).result()
        np.testing.assert_array_equal(plain[0].data.meas.array, bits.array)

    def test_sampler_generator_one_stream(self):
        generator = np.random.default_rng(2)
        sampler = TorchStatevectorSampler(seed=generator)
        recorder = self.patched(sampler, self.measured)
        sampler.run([(self.measured, [[0.3], [1.2]])], shots=5).result()
        self.assertEqual(len(recorder.calls), 1)
        self.assertIs(recorder.calls[0][2], generator)
        self.assertEqual(recorder.calls[0][1], (2, 1))

    def test_estimator_per_pub_rng_and_no_deduplication(self):
        estimator = TorchStatevectorEstimator(seed=3)
        recorder = self.patched(estimator, self.qc)
        result = estimator.run([(self.qc, ["Z", "Z", "X"], np.full((2, 1, 1), 0.4))]).result()[0]
        self.assertEqual(result.data.evs.shape, (2, 3))
        (call,) = recorder.calls
        self.assertEqual(call[0], "expectation_values")
        self.assertEqual(call[1], (6, 1))  # one simulation per broadcast element
        self.assertIsInstance(call[2], np.random.Generator)
        self.assertAllClose(result.data.evs[:, :2], np.cos(0.4), atol=1e-12)
        self.assertAllClose(result.data.evs[:, 2], np.sin(0.4), atol=1e-12)

    def test_no_rng_without_reset(self):
        sampler = TorchStatevectorSampler(seed=1)
        engine = sampler._engine(self.measured)  # pylint: disable=protected-access
        self.assertFalse(getattr(engine, "needs_rng", False))


class TestEngineCache(QDeepTestCase):
    """The primitives use the process-wide content-keyed cache: in-place edits are seen."""

    def test_in_place_edit_estimator(self):
        qc = QuantumCircuit(2)
        qc.h(0)
        estimator = TorchStatevectorEstimator()
        first = estimator.run([(qc, ["ZI", "IX"])]).result()[0].data.evs
        self.assertAllClose(first, [1.0, 1.0], atol=1e-12)
        qc.cx(0, 1)  # same object, edited in place
        qc.x(1)
        second = estimator.run([(qc, ["ZI", "IX"])]).result()[0].data.evs
        expected = StatevectorEstimator().run([(qc, ["ZI", "IX"])]).result()[0].data.evs
        self.assertAllClose(second, expected, atol=1e-12)
        qc.global_phase = 0.3  # an edit that does not change the size: still a new key
        qc.data[0] = qc.data[0].replace(operation=qc.data[0].operation.__class__())
        self.assertAllClose(
            estimator.run([(qc, ["ZI", "IX"])]).result()[0].data.evs, expected, atol=1e-12
        )

    def test_in_place_edit_same_size(self):
        """Replacing one gate by another keeps the circuit's size: still no stale engine."""
        qc = QuantumCircuit(1)
        qc.x(0)
        estimator = TorchStatevectorEstimator()
        self.assertAllClose(estimator.run([(qc, "Z")]).result()[0].data.evs, -1.0)
        qc.data.pop(0)
        qc.h(0)
        self.assertAllClose(estimator.run([(qc, "Z")]).result()[0].data.evs, 0.0, atol=1e-12)
        self.assertAllClose(estimator.run([(qc, "X")]).result()[0].data.evs, 1.0, atol=1e-12)

    def test_in_place_edit_sampler(self):
        qc = QuantumCircuit(1, 1)
        qc.measure(0, 0)
        sampler = TorchStatevectorSampler(seed=1)
        self.assertEqual(sampler.run([qc], shots=10).result()[0].data.c.get_int_counts(), {0: 10})
        qc.data.insert(0, qc.data[0].replace(operation=UnitaryGate([[0, 1], [1, 0]]), clbits=()))
        self.assertEqual(sampler.run([qc], shots=10).result()[0].data.c.get_int_counts(), {1: 10})

    def test_shared_process_cache(self):
        qc = QuantumCircuit(2)
        qc.ry(Parameter("a"), 0)
        estimator = TorchStatevectorEstimator()
        engine = estimator._engine(qc)  # pylint: disable=protected-access
        self.assertIs(engine, exact_engine(qc))
        self.assertIs(engine, TorchStatevectorSampler()._engine(qc))  # pylint: disable=protected-access
        self.assertFalse(hasattr(torch_primitives, "_EngineCache"))
        self.assertEqual(math.prod(engine.statevector([[0.0]]).shape), 4)


if __name__ == "__main__":
    unittest.main()
