# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Tests of the q-means circuits and the QMeans clusterer."""

from __future__ import annotations

import pickle

import numpy as np
from ddt import data, ddt
from qiskit.quantum_info import Operator, Statevector
from scipy.linalg import expm
from sklearn.base import clone
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from qiskit_qdeep.circuit.library import (
    adiabatic_assignment_circuit,
    amplitude_encoding_angles,
    hadamard_overlap_circuit,
    overlap_from_probability,
    swap_overlap_circuit,
)
from qiskit_qdeep.clustering import QMeans, adiabatic_success_curve, plot_adiabatic_success
from qiskit_qdeep.clustering.qmeans import QMeans as _QMeans
from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError, QubitLimitError
from qiskit_qdeep.primitives import TorchStatevectorSampler
from test import QDeepTestCase
from test.counting import UnpicklableSampler


def _bind_overlap(circuit, x, y):
    xs = sorted((p for p in circuit.parameters if p.name.startswith("x")), key=lambda p: p.index)
    ys = sorted((p for p in circuit.parameters if p.name.startswith("y")), key=lambda p: p.index)
    binding = dict(zip(xs, amplitude_encoding_angles(x))) | dict(
        zip(ys, amplitude_encoding_angles(y))
    )
    return circuit.assign_parameters(binding).remove_final_measurements(inplace=False)


def _blobs(n=90, k=3, std=1.0, seed=1):
    X, y = make_blobs(n, n_features=4, centers=k, random_state=seed, cluster_std=std)
    return X, y


def _kmeans(X, k, seed=0):
    init, _ = kmeans_plusplus(X, k, random_state=seed)
    return init, KMeans(k, init=init, n_init=1).fit(X)


@ddt
class TestDistanceCircuits(QDeepTestCase):
    """Overlap circuits and the adiabatic template against exact linear algebra."""

    @data(1, 2, 3)
    def test_hadamard_overlap_is_signed_inner_product(self, n):
        circuit = hadamard_overlap_circuit(n)
        ops = circuit.count_ops()
        self.assertEqual(ops["ry"], 2 * (2**n - 1))
        self.assertEqual(ops["cx"], 2 * (2**n - 1))
        self.assertEqual(circuit.num_qubits, n + 1)
        for _ in range(4):
            x, y = self.rng.normal(size=(2, 2**n))
            p0 = Statevector(_bind_overlap(circuit, x, y)).probabilities([0])[0]
            exact = x @ y / np.linalg.norm(x) / np.linalg.norm(y)
            self.assertAlmostEqual(float(overlap_from_probability(p0)), exact, places=10)

    @data(1, 2)
    def test_swap_overlap_is_squared_inner_product(self, n):
        circuit = swap_overlap_circuit(n)
        for _ in range(3):
            x, y = self.rng.uniform(0, 1, size=(2, 2**n))
            p0 = Statevector(_bind_overlap(circuit, x, y)).probabilities([0])[0]
            exact = x @ y / np.linalg.norm(x) / np.linalg.norm(y)
            self.assertAlmostEqual(2 * p0 - 1, exact**2, places=10)
            self.assertAlmostEqual(float(overlap_from_probability(p0, "swap")), exact, places=6)

    @data(2, 3, 5)
    def test_adiabatic_circuit_is_the_trotter_product(self, k):
        """The Pauli decompositions reproduce the product of exact matrix exponentials."""
        time, steps, pad = 4.0, 5, 1.5
        circuit = adiabatic_assignment_circuit(k, time, steps, padding_distance=pad)
        m = circuit.num_qubits
        d = self.rng.uniform(0, 1, k)
        params = sorted(circuit.parameters, key=lambda p: p.index)
        bound = circuit.assign_parameters(dict(zip(params, d)))
        unitary = Operator(bound.remove_final_measurements(inplace=False)).data
        diag = np.concatenate([d, np.full(2**m - k, pad)])
        phi = np.full(2**m, 2 ** (-m / 2))
        h0 = np.eye(2**m) - np.outer(phi, phi)
        hf = np.diag(diag)
        state = phi.astype(complex)
        dt = time / steps
        for r in range(steps):
            s = (r + 0.5) / steps
            state = expm(-1j * dt * s * hf) @ expm(-1j * dt * (1 - s) * h0) @ state
        ref = np.abs(state) ** 2
        got = np.abs(unitary[:, 0]) ** 2  # the circuit starts from |0> and applies H itself
        self.assertAllClose(got, ref, atol=1e-10)

    def test_adiabatic_long_time_finds_nearest(self):
        circuit = adiabatic_assignment_circuit(3, 60.0, 120)
        params = sorted(circuit.parameters, key=lambda p: p.index)
        d = np.array([0.9, 0.2, 1.0])
        bound = circuit.assign_parameters(dict(zip(params, d))).remove_final_measurements(
            inplace=False
        )
        bound = bound.decompose(gates_to_decompose=["PauliEvolution"])
        probs = Statevector(bound).probabilities()
        self.assertGreater(probs[1], 0.99)

    def test_circuit_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "num_qubits"):
            hadamard_overlap_circuit(0)
        with self.assertRaisesRegex(QDeepValueError, "x_parameters"):
            hadamard_overlap_circuit(2, x_parameters=[])
        with self.assertRaisesRegex(QDeepValueError, "evolution_time"):
            adiabatic_assignment_circuit(3, 0.0, 2)
        with self.assertRaisesRegex(QDeepValueError, "num_clusters"):
            adiabatic_assignment_circuit(1, 1.0, 2)
        with self.assertRaisesRegex(QDeepValueError, "test"):
            overlap_from_probability(0.5, "bad")


class TestQMeansExact(QDeepTestCase):
    """Exact circuits (no shot noise) reproduce scikit-learn's Lloyd iterations."""

    def _compare(self, X, k, **kwargs):
        init, km = _kmeans(X, k)
        q = QMeans(k, init=init, random_state=0, **kwargs).fit(X)
        self.assertGreater(adjusted_rand_score(km.labels_, q.labels_), 0.999)
        self.assertAllClose(q.cluster_centers_, km.cluster_centers_, atol=1e-6)
        self.assertAlmostEqual(q.inertia_, km.inertia_, delta=1e-6 * km.inertia_)
        self.assertEqual(q.n_iter_, km.n_iter_)
        return q

    def test_blobs(self):
        X, _ = _blobs()
        q = self._compare(X, 3)
        # one execution per Lloyd iteration (+ the final assignment unless labels converged)
        self.assertIn(q.fit_num_jobs_, (q.n_iter_, q.n_iter_ + 1))
        self.assertEqual(q.num_qubits_, 3)

    def test_iris_hadamard_and_swap(self):
        X = load_iris().data
        self._compare(X, 3)
        q = self._compare(X, 3, overlap_test="swap")  # non-negative data
        self.assertEqual(q.num_qubits_, 5)

    def test_digits_pca(self):
        digits = load_digits()
        X = PCA(8, random_state=0).fit_transform(digits.data[:400])
        self._compare(X, 10)

    def test_kmeans_plusplus_default_matches_sklearn_seeding(self):
        X, _ = _blobs(seed=4)
        q = QMeans(3, random_state=5, n_init=2).fit(X)
        km = KMeans(3, random_state=5, n_init=2).fit(X)
        self.assertGreater(adjusted_rand_score(km.labels_, q.labels_), 0.99)

    def test_transform_predict_and_jobs(self):
        X, _ = _blobs()
        q = QMeans(3, random_state=0).fit(X)
        exact = np.linalg.norm(X[:, None, :] - q.cluster_centers_[None], axis=-1)
        self.assertAllClose(q.transform(X), exact, atol=1e-6)
        jobs = q._num_jobs()  # pylint: disable=protected-access
        self.assertTrue(np.array_equal(q.predict(X), q.labels_))
        self.assertEqual(q._num_jobs() - jobs, 1)  # pylint: disable=protected-access
        self.assertTrue(np.array_equal(q.fit_predict(X), q.labels_))
        self.assertAlmostEqual(q.score(X), -q.inertia_, places=6)

    def test_zero_vectors_are_exact(self):
        X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0], [5.0, 6.0]])
        init = np.array([[0.0, 0.0], [5.0, 5.0]])  # the first point and centroid are zero vectors
        q = QMeans(2, init=init, overlap_test="swap").fit(X)
        self.assertEqual(q.labels_.tolist(), [0, 0, 0, 1, 1, 1])
        d2 = q.estimated_squared_distances_
        exact = ((X[:, None] - q.cluster_centers_[None]) ** 2).sum(-1)
        self.assertAllClose(d2, exact, atol=1e-9)

    def test_delta_rule(self):
        X, _ = _blobs(n=60, std=3.0, seed=2)
        init, _ = _kmeans(X, 3)
        delta = 20.0
        q = QMeans(3, init=init, delta=delta, tomography_noise=0.0, random_state=0).fit(X)
        d2 = q.estimated_squared_distances_
        chosen = d2[np.arange(len(X)), q.labels_]
        self.assertTrue(np.all(chosen <= d2.min(axis=1) + delta + 1e-9))
        self.assertTrue(np.any(chosen > d2.min(axis=1) + 1e-9))  # some non-nearest candidates
        self.assertGreater(adjusted_rand_score(_kmeans(X, 3)[1].labels_, q.labels_), 0.5)
        same = QMeans(3, init=init, delta=delta, tomography_noise=0.0, random_state=0).fit(X)
        self.assertTrue(np.array_equal(same.labels_, q.labels_))  # seeded tie breaking

    def test_tomography_noise(self):
        X, _ = _blobs(n=30)
        labels = np.arange(30) % 3
        d2 = np.zeros((30, 3))
        rng = np.random.default_rng(0)
        centers = _QMeans._update(X, labels, d2, 3, 0.25, rng)  # pylint: disable=protected-access
        means = np.stack([X[labels == j].mean(0) for j in range(3)])
        self.assertAllClose(np.linalg.norm(centers - means, axis=1), np.full(3, 0.25), atol=1e-12)
        q = QMeans(3, delta=0.5, random_state=0).fit(X)  # default noise delta / 2
        self.assertGreater(len(np.unique(q.labels_)), 1)

    def test_empty_cluster_is_relocated(self):
        X = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [10.0, 10.0]])
        init = np.array([[0.0, 0.0], [0.05, 0.05], [100.0, 100.0]])  # cluster 2 starts empty
        q = QMeans(3, init=init).fit(X)
        self.assertEqual(len(np.unique(q.labels_)), 3)


class TestQMeansSampled(QDeepTestCase):
    """Shot-based distance estimation and adiabatic assignment."""

    def test_shots_blobs_and_iris_ari(self):
        for X, truth, k in (
            (*_blobs(n=90, std=1.5), 3),
            (load_iris().data, load_iris().target, 3),
        ):
            init, km = _kmeans(X, k)
            q = QMeans(k, init=init, shots=2000, random_state=0).fit(X)
            ref = adjusted_rand_score(truth, km.labels_)
            self.assertLessEqual(abs(adjusted_rand_score(truth, q.labels_) - ref), 0.05)
            self.assertGreater(adjusted_rand_score(km.labels_, q.labels_), 0.9)

    def test_seeded_sampling_is_reproducible(self):
        X, _ = _blobs(n=30, std=2.5)
        a = QMeans(3, shots=50, random_state=3).fit(X)
        b = QMeans(3, shots=50, random_state=3).fit(X)
        self.assertTrue(np.array_equal(a.labels_, b.labels_))
        self.assertAllClose(a.cluster_centers_, b.cluster_centers_)

    def test_adiabatic_long_time_equals_nearest(self):
        X, _ = _blobs(n=60)
        init, km = _kmeans(X, 3)
        q = QMeans(
            3, init=init, method="adiabatic", evolution_time=60.0, trotter_steps=120, random_state=0
        ).fit(X)
        self.assertGreater(q.success_probability_, 0.98)
        self.assertTrue(np.array_equal(q.labels_, km.labels_))
        self.assertEqual(q.fit_num_jobs_ % 2, 0)  # distance + adiabatic execution per step
        sampled = QMeans(
            3,
            init=init,
            method="adiabatic",
            evolution_time=30.0,
            trotter_steps=60,
            shots=100,
            random_state=0,
        ).fit(X)
        self.assertTrue(np.array_equal(sampled.labels_, km.labels_))

    def test_adiabatic_short_time_fails(self):
        X, _ = _blobs(n=45)
        init, _ = _kmeans(X, 3)
        q = QMeans(
            3,
            init=init,
            method="adiabatic",
            evolution_time=0.5,
            trotter_steps=2,
            max_iter=2,
            random_state=0,
        ).fit(X)
        self.assertLess(q.success_probability_, 0.5)

    def test_success_curve(self):
        X, _ = _blobs(n=40)
        _, km = _kmeans(X, 3)
        curve = adiabatic_success_curve(X, km.cluster_centers_, [0.5, 5.0, 50.0])
        self.assertEqual(curve.num_jobs, 3)
        self.assertTrue(np.all(np.diff(curve.success_probability) > 0))
        self.assertLess(curve.success_probability[0], 0.4)
        self.assertGreater(curve.success_probability[-1], 0.98)
        sampled = adiabatic_success_curve(X, km.cluster_centers_, [5.0, 50.0], shots=400, seed=1)
        self.assertEqual(sampled.num_jobs, 1)  # both templates in one sampler job
        self.assertAllClose(sampled.success_probability, curve.success_probability[1:], atol=0.04)
        import matplotlib

        matplotlib.use("Agg")
        ax = plot_adiabatic_success(curve)
        self.assertEqual(len(ax.lines) >= 1, True)
        with self.assertRaises(QDeepTypeError):
            plot_adiabatic_success("curve")

    def test_aer_sampler(self):
        from qiskit_aer.primitives import SamplerV2

        X, _ = _blobs(n=40)
        init, km = _kmeans(X, 3)
        q = QMeans(3, init=init, sampler=SamplerV2(seed=1), shots=500, random_state=0).fit(X)
        self.assertGreater(adjusted_rand_score(km.labels_, q.labels_), 0.9)
        self.assertEqual(q.fit_num_jobs_, q._runner_cache["distance"].executor.runner.num_jobs)

    def test_fake_backend_local_mode(self):
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime.executor_sampler import Sampler
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        backend = FakeManilaV2()
        sampler = Sampler(mode=backend)
        sampler.options.simulator.seed_simulator = 7
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=7)
        X, _ = _blobs(n=24)
        init, km = _kmeans(X, 3)
        q = QMeans(3, init=init, sampler=sampler, pass_manager=pm, shots=400, random_state=0)
        q.fit(X)
        # FakeManila's noise shrinks the overlaps; well separated blobs are still found
        self.assertGreater(adjusted_rand_score(km.labels_, q.labels_), 0.9)


class TestQMeansAPI(QDeepTestCase):
    """Errors, cloning and pickling."""

    def test_errors(self):
        X, _ = _blobs(n=20)
        cases = [
            (dict(n_clusters=1), X, "n_clusters"),
            (dict(n_clusters=21), X, "n_samples"),
            (dict(n_clusters=2), np.zeros((0, 3)), "0 sample"),
            (dict(n_clusters=2), np.ones((5, 3)), "constant"),
            (dict(n_clusters=2), np.where(X > 5, np.nan, X), "NaN"),
            (dict(n_clusters=2, shots=0), X, "shots"),
            (dict(n_clusters=2, method="grover"), X, "method"),
            (dict(n_clusters=2, overlap_test="swap"), X - 100, "non-negative"),
            (dict(n_clusters=2, init=np.zeros((3, 4))), X, "init"),
            (dict(n_clusters=2, delta=-1.0), X, "delta"),
            (dict(n_clusters=2, evolution_time=0), X, "evolution_time"),
            (dict(n_clusters=2), X[0], "2D array"),
            (dict(n_clusters=2), X + 1j, "Complex"),
        ]
        for kwargs, data_, pattern in cases:
            with self.subTest(pattern=pattern), self.assertRaisesRegex(QDeepValueError, pattern):
                QMeans(**kwargs).fit(data_)
        with self.assertRaises(QubitLimitError):
            QMeans(2).fit(self.rng.normal(size=(5, 300)))
        with self.assertRaisesRegex(QDeepTypeError, "BaseSamplerV2"):
            QMeans(2, sampler="sampler").fit(X)
        with self.assertRaises(NotFittedError):
            QMeans(2).predict(X)
        fitted = QMeans(2, random_state=0).fit(X)
        with self.assertRaisesRegex(QDeepValueError, "features"):
            fitted.predict(X[:, :3])

    def test_clone_and_params(self):
        q = QMeans(3, method="adiabatic", shots=100, random_state=2)
        c = clone(q)
        self.assertEqual(c.get_params(), q.get_params())
        self.assertEqual(c.get_params()["method"], "adiabatic")

    def test_pickle_round_trip(self):
        X, _ = _blobs(n=40)
        q = QMeans(3, random_state=0).fit(X)
        loaded = pickle.loads(pickle.dumps(q))
        self.assertTrue(np.array_equal(loaded.predict(X), q.predict(X)))
        # an unpicklable sampler is dropped: re-attach with set_params(sampler=...)
        sampled = QMeans(3, sampler=UnpicklableSampler(seed=1), random_state=0).fit(X)
        blob = pickle.dumps(sampled)
        restored = pickle.loads(blob)
        self.assertIsNone(restored.sampler)
        self.assertTrue(np.array_equal(restored.predict(X), q.predict(X)))
        restored.set_params(sampler=TorchStatevectorSampler(seed=1), shots=2000)
        self.assertEqual(len(restored.predict(X)), 40)
        runner = restored._runner_cache["distance"].executor.runner  # pylint: disable=protected-access
        self.assertIs(runner.sampler, restored.sampler)  # re-attached sampler is used
