# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""QLSSVM against a classical LS-SVM (numpy solve of the same system, implemented here)."""

from __future__ import annotations

import pickle

import numpy as np
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError

from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError, QubitLimitError
from qiskit_qdeep.svm import QLSSVM, QLSSVM_MAX_TRAINING_POINTS
from test import QDeepTestCase
from test.counting import CountingSampler


def classical_lssvm(x_train, y_train, x_test, gamma=1.0, kernel=None):
    """Reference LS-SVM: numpy solve of F (b, alpha) = (0, y); returns (b, alpha, decision)."""
    classes = np.unique(y_train)
    labels = np.where(y_train == classes[1], 1.0, -1.0)
    if kernel is None:
        trace = np.trace(x_train @ x_train.T)
        k_train = x_train @ x_train.T / trace
        k_test = x_test @ x_train.T / trace
    else:
        k_train, k_test = kernel(x_train, x_train), kernel(x_test, x_train)
    m = len(x_train)
    f = np.zeros((m + 1, m + 1))
    f[0, 1:] = f[1:, 0] = 1.0
    f[1:, 1:] = k_train + np.eye(m) / gamma
    sol = np.linalg.solve(f, np.concatenate([[0.0], labels]))
    return sol[0], sol[1:], sol[0] + k_test @ sol[1:]


def rbf(a, b, width=0.5):
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return np.exp(-width * d)


class TestQLSSVM(QDeepTestCase):
    """Exact simulation, kernels, sampled paths, sklearn API, errors."""

    def setUp(self):
        super().setUp()
        x, y = make_blobs(n_samples=70, centers=2, n_features=2, cluster_std=2.0, random_state=1)
        self.x_train, self.y_train = x[:10], y[:10]
        self.x_test, self.y_test = x[10:], y[10:]

    def test_agrees_with_classical_lssvm(self):
        model = QLSSVM(random_state=0).fit(self.x_train, self.y_train)
        bias, alpha, decision = classical_lssvm(self.x_train, self.y_train, self.x_test)
        ours = model.decision_function(self.x_test)
        agreement = np.mean(np.sign(ours) == np.sign(decision))
        self.assertGreaterEqual(agreement, 0.95)
        self.assertEqual(model.fit_num_jobs_, 0)
        self.assertEqual(model.predict_num_jobs, 0)
        self.assertEqual(model.hhl_result_.method, "exact simulation")
        self.assertGreaterEqual(model.hhl_result_.fidelity(np.concatenate([[bias], alpha])), 0.99)
        self.assertAllClose(model.alpha_, alpha, atol=0.05 * np.abs(alpha).max())
        self.assertAlmostEqual(model.bias_, bias, delta=0.05 * np.abs(alpha).max())
        # the exact Hadamard test returns the overlap of the normalised states
        norm_u = np.sqrt(model.bias_**2 + np.sum(model.alpha_**2 * (self.x_train**2).sum(1)))
        trace = np.trace(self.x_train @ self.x_train.T)
        norm_x = np.sqrt(1 + len(self.x_train) * (self.x_test**2).sum(1) / trace**2)
        expected = (model.bias_ + self.x_test @ self.x_train.T / trace @ model.alpha_) / (
            norm_u * norm_x
        )
        self.assertAllClose(ours, expected, atol=1e-10)
        self.assertGreaterEqual(model.score(self.x_test, self.y_test), 0.9)
        self.assertEqual(model.support_vectors_.shape, (10, 2))
        self.assertEqual(model.n_features_in_, 2)

    def test_kernel_expansion(self):
        model = QLSSVM(gamma=2.0, kernel=rbf).fit(self.x_train, self.y_train)
        _, _, decision = classical_lssvm(self.x_train, self.y_train, self.x_test, 2.0, rbf)
        agreement = np.mean(np.sign(model.decision_function(self.x_test)) == np.sign(decision))
        self.assertGreaterEqual(agreement, 0.95)
        self.assertEqual(model.num_test_qubits_, 1 + 4)  # no feature register

    def test_fidelity_quantum_kernel(self):
        from qiskit.circuit.library import zz_feature_map
        from qiskit_machine_learning.kernels import FidelityQuantumKernel

        kernel = FidelityQuantumKernel(feature_map=zz_feature_map(2, reps=1))
        x_train, y_train = self.x_train[:6] / 4, self.y_train[:6]
        x_test = self.x_test[:12] / 4
        model = QLSSVM(kernel=kernel).fit(x_train, y_train)
        _, _, decision = classical_lssvm(x_train, y_train, x_test, 1.0, kernel.evaluate)
        agreement = np.mean(np.sign(model.decision_function(x_test)) == np.sign(decision))
        self.assertGreaterEqual(agreement, 0.95)

    def test_any_two_labels(self):
        labels = np.where(self.y_train == 1, "nine", "six")
        model = QLSSVM().fit(self.x_train, labels)
        self.assertEqual(model.classes_.tolist(), ["nine", "six"])
        predictions = model.predict(self.x_test)
        self.assertTrue(set(predictions) <= {"nine", "six"})
        decision = model.decision_function(self.x_test)
        self.assertTrue(np.all((predictions == "six") == (decision > 0)))

    def test_sampled_with_aer(self):
        sampler = CountingSampler(AerSamplerV2(seed=5))
        model = QLSSVM(sampler=sampler, shots=20_000, random_state=0)
        model.fit(self.x_train, self.y_train)
        self.assertEqual(sampler.calls, 1)  # HHL: one job
        self.assertEqual(model.fit_num_jobs_, 1)
        predictions = model.predict(self.x_test)
        self.assertEqual(sampler.calls, 2)  # all test points: one job
        self.assertEqual(model.predict_num_jobs, 1)
        exact = QLSSVM().fit(self.x_train, self.y_train).predict(self.x_test)
        self.assertGreaterEqual(np.mean(predictions == exact), 0.9)

    def test_fake_backend_predict(self):
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime import SamplerV2
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        x, y = make_blobs(n_samples=40, centers=2, n_features=2, cluster_std=1.5, random_state=1)
        idx = [int(np.flatnonzero(y == 0)[0]), int(np.flatnonzero(y == 1)[0])]
        model = QLSSVM().fit(x[idx], y[idx])
        exact = model.decision_function(x)
        backend = FakeManilaV2()
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=7)
        # re-attach a (noisy, ISA) sampler for the 4-qubit Hadamard test; seeded noise simulation
        sampler = SamplerV2(mode=backend)
        sampler.options.simulator.seed_simulator = 7
        model.set_params(sampler=sampler, pass_manager=pm, shots=2000)
        noisy = model.decision_function(x)
        self.assertEqual(model.predict_num_jobs, 1)
        self.assertGreaterEqual(np.mean(np.sign(noisy) == np.sign(exact)), 0.75)
        self.assertGreater(np.corrcoef(noisy, exact)[0, 1], 0.8)

    def test_clone_and_params(self):
        model = QLSSVM(gamma=3.0, num_clock_qubits=6, shots=100, random_state=4)
        params = model.get_params()
        self.assertEqual(params["gamma"], 3.0)
        self.assertEqual(params["num_clock_qubits"], 6)
        copy = clone(model)
        self.assertEqual(copy.get_params(), params)
        self.assertFalse(hasattr(copy, "alpha_"))

    def test_seeded_sampled_fit_is_reproducible(self):
        first = QLSSVM(shots=2000, random_state=3).fit(self.x_train, self.y_train)
        second = QLSSVM(shots=2000, random_state=3).fit(self.x_train, self.y_train)
        self.assertAllClose(first.alpha_, second.alpha_, atol=0)
        self.assertAllClose(
            first.decision_function(self.x_test), second.decision_function(self.x_test), atol=0
        )

    def test_pickle_round_trip(self):
        model = QLSSVM(random_state=0).fit(self.x_train, self.y_train)
        expected = model.predict(self.x_test)
        loaded = pickle.loads(pickle.dumps(model))
        self.assertAllClose(
            loaded.decision_function(self.x_test), model.decision_function(self.x_test), atol=0
        )
        self.assertTrue(np.all(loaded.predict(self.x_test) == expected))
        # a sampler that cannot be pickled (here: it holds a lambda) is dropped; re-attach it
        sampler = CountingSampler(AerSamplerV2(seed=1))
        sampler.hook = lambda: None
        sampled = QLSSVM(sampler=sampler, shots=500, random_state=0)
        sampled.fit(self.x_train, self.y_train)
        sampled.predict(self.x_test[:3])
        restored = pickle.loads(pickle.dumps(sampled))
        self.assertIsNone(restored.sampler)
        self.assertIsNone(restored.__dict__.get("_runner_cache"))
        self.assertAllClose(restored.alpha_, sampled.alpha_, atol=0)
        restored.set_params(sampler=AerSamplerV2(seed=1))
        self.assertEqual(restored.predict(self.x_test).shape, (60,))
        self.assertEqual(restored.predict_num_jobs, 1)

    def test_errors(self):
        with self.assertRaises(NotFittedError):
            QLSSVM().predict(self.x_test)
        with self.assertRaisesRegex(QDeepValueError, "exactly 2 classes"):
            QLSSVM().fit(self.x_train, np.zeros(10))
        with self.assertRaisesRegex(QDeepValueError, "exactly 2 classes"):
            QLSSVM().fit(self.x_train, np.arange(10) % 3)
        bad = self.x_train.copy()
        bad[0, 0] = np.nan
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            QLSSVM().fit(bad, self.y_train)
        with self.assertRaisesRegex(QDeepValueError, "gamma"):
            QLSSVM(gamma=0.0).fit(self.x_train, self.y_train)
        with self.assertRaisesRegex(QDeepValueError, "kernel"):
            QLSSVM(kernel="rbf").fit(self.x_train, self.y_train)
        with self.assertRaisesRegex(QDeepTypeError, "kernel"):
            QLSSVM(kernel=3).fit(self.x_train, self.y_train)
        with self.assertRaisesRegex(QDeepValueError, "all zeros"):
            QLSSVM().fit(np.zeros((4, 2)), [0, 1, 0, 1])
        x, y = make_blobs(n_samples=QLSSVM_MAX_TRAINING_POINTS + 1, centers=2, random_state=0)
        with self.assertRaisesRegex(QubitLimitError, str(QLSSVM_MAX_TRAINING_POINTS)):
            QLSSVM().fit(x, y)
        model = QLSSVM().fit(self.x_train, self.y_train)
        with self.assertRaisesRegex(QDeepValueError, "features"):
            model.predict(np.ones((3, 5)))
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            model.predict(np.array([[np.inf, 0.0]]))


class TestQLSSVMReproduction(QDeepTestCase):
    """The quick 'qlssvm-6vs9' reproduction (what CI runs)."""

    def test_quick(self):
        import json
        import os
        import tempfile

        from qiskit_qdeep.reproductions import REGISTRY, ReproductionConfig, run_reproduction
        from qiskit_qdeep.reproductions.qlssvm import ratio_features

        self.assertIn("qlssvm-6vs9", REGISTRY)
        features = ratio_features(np.ones((1, 8, 8)))
        self.assertAllClose(features, [[np.sqrt(0.5), np.sqrt(0.5)]], atol=1e-12)
        with tempfile.TemporaryDirectory() as tmp:
            config = ReproductionConfig(quick=True, output=tmp, progress=False)
            result = run_reproduction("qlssvm-6vs9", config)
            with open(os.path.join(tmp, "qlssvm-6vs9-quick.json"), encoding="utf-8") as handle:
                data = json.load(handle)
            self.assertTrue(os.path.getsize(result.figures[0]) > 1000)
        self.assertEqual(data["name"], "qlssvm-6vs9")
        values = {c.quantity: c.ours for c in result.comparisons}
        self.assertGreaterEqual(values["QLSSVM test accuracy (exact simulation)"], 0.95)
        self.assertEqual(values["agreement QLSSVM vs classical LS-SVM"], 1.0)
        self.assertGreaterEqual(values["HHL fidelity, textbook system (exact)"], 0.99)
        self.assertGreaterEqual(values["HHL fidelity, LS-SVM system"], 0.99)
        self.assertEqual(result.details["num_test"], 361)  # all 6s (181) and 9s (180)
        self.assertEqual(result.details["sampled_jobs"], {"fit": 1, "predict": 1})
