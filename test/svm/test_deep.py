# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""DeepQSVM: layer shapes, layer-wise training signal, quantum vs classical twin, sklearn API."""

from __future__ import annotations

import pickle

import numpy as np
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.svm import QLSSVM, AllPairQSVM, ClassicalLSSVM, DeepQSVM
from test import QDeepTestCase, slow
from test.counting import CountingSampler


def _digits(classes=(1, 4, 7), per_class=5, features=3, seed=0):
    X, y = load_digits(return_X_y=True)
    mask = np.isin(y, classes)
    X, y = X[mask], y[mask]
    rng = np.random.default_rng(seed)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes]
    )
    test = np.setdiff1d(np.arange(len(y)), train)[::4]
    pca = PCA(features, random_state=0).fit(X[train])
    a, b = pca.transform(X[train]), pca.transform(X[test])
    mean, std = a.mean(axis=0), a.std(axis=0)
    return (a - mean) / std, y[train], (b - mean) / std, y[test]


class TestDeepQSVM(QDeepTestCase):
    """Architecture and training signal with the classical twin, then the quantum model."""

    def test_architecture_shapes(self):
        X, y, Xt, _ = _digits(classes=(0, 1, 2, 3), per_class=6, features=4)
        model = DeepQSVM(
            (3, 2), binary_estimator=ClassicalLSSVM(), voting="classical", random_state=0
        ).fit(X, y)
        self.assertEqual(len(model.hidden_), 2)
        self.assertEqual([len(units) for units, _ in model.hidden_], [3, 2])
        # layer 1: 3 units x 6 pairs + 4 inputs; layer 2: 2 x 6 + 22 inputs
        self.assertEqual(model.transform(Xt).shape, (len(Xt), 12 + 22))
        self.assertEqual(model.output_.n_features_in_, 34)
        self.assertEqual(model.n_binary_fits_, (3 + 2 + 1) * 6)
        for (units, (mean, _)), size in zip(model.hidden_, [3, 17], strict=True):
            self.assertEqual(mean.shape, (len(units) * 6,))  # ceil(0.75 * 4), ceil(0.75 * 22)
            for unit, features in units:
                self.assertIsInstance(unit, AllPairQSVM)
                self.assertEqual((len(features), unit.n_features_in_), (size, size))

    def test_hidden_units_trained_on_true_labels(self):
        """Each unit is an all-pair classifier of the true classes on its own random view."""
        X, y, Xt, yt = _digits(per_class=7)
        model = DeepQSVM(
            (3,), binary_estimator=ClassicalLSSVM(), voting="classical", random_state=1
        ).fit(X, y)
        units, _ = model.hidden_[0]
        views = {(tuple(f), len(u.estimators_[0].support_vectors_)) for u, f in units}
        self.assertGreater(len(views), 1)  # bootstrap samples / feature subsets differ
        for unit, features in units:
            self.assertTrue(np.array_equal(unit.classes_, np.unique(y)))
            self.assertGreater(unit.score(Xt[:, features], yt), 0.6)  # better than chance (1/3)
        # transform = standardised activations of the units, then the input
        unit, features = units[0]
        first = model.transform(Xt)[:, :3]
        raw = unit.pairwise_decisions(Xt[:, features])
        mean, std = model.hidden_[0][1]
        self.assertAllClose(first, (raw - mean[:3]) / std[:3], atol=1e-12)
        self.assertAllClose(model.transform(Xt)[:, -3:], Xt, atol=0)

    def test_no_hidden_layer_is_all_pair(self):
        X, y, Xt, _ = _digits()
        deep = DeepQSVM((), binary_estimator=ClassicalLSSVM(), voting="classical").fit(X, y)
        single = AllPairQSVM(ClassicalLSSVM(), voting="classical").fit(X, y)
        self.assertTrue(np.array_equal(deep.predict(Xt), single.predict(Xt)))

    def test_quantum_model_matches_classical_twin(self):
        """Default QLSSVM units (exact HHL) and the Grover vote against the ClassicalLSSVM twin."""
        X, y, Xt, yt = _digits(per_class=4)
        Xt, yt = Xt[:24], yt[:24]
        quantum = DeepQSVM((1,), random_state=3).fit(X, y)
        twin = DeepQSVM(
            (1,), binary_estimator=ClassicalLSSVM(), voting="classical", random_state=3
        ).fit(X, y)
        self.assertIsInstance(quantum.output_.estimators_[0], QLSSVM)
        self.assertAllClose(quantum.transform(Xt), twin.transform(Xt), atol=0.2)
        self.assertGreaterEqual(np.mean(quantum.predict(Xt) == twin.predict(Xt)), 0.9)
        vote = quantum.vote(Xt)
        self.assertIsNotNone(vote.searches)
        self.assertGreaterEqual(np.mean(vote.labels == yt), 0.7)

    def test_sampled_prediction_one_job_per_layer(self):
        """All hidden units' Hadamard tests share one job; decisions match the exact model."""
        X, y, Xt, _ = _digits(per_class=4)
        Xt = Xt[:16]
        sampler = CountingSampler(AerSamplerV2(seed=11))
        model = DeepQSVM((2,), voting="classical", random_state=2).fit(X, y)  # exact
        exact = model.transform(Xt)
        model.set_params(sampler=sampler, shots=4000)
        for units, _ in model.hidden_:
            for unit, _ in units:
                unit.set_params(sampler=sampler, shots=4000)
        sampled = model.transform(Xt)
        self.assertEqual(sampler.calls, 1)  # 2 units x 3 pairs x 16 points in one job
        self.assertEqual(model.predict_num_jobs, 1)
        activations = len(model.hidden_[0][1][0])
        # standardised overlaps: the shot noise is divided by the activations' small spread
        self.assertGreater(
            np.corrcoef(sampled[:, :activations].ravel(), exact[:, :activations].ravel())[0, 1],
            0.95,
        )
        model.output_.set_params(sampler=sampler, shots=4000)
        sampler.calls = 0
        model.predict(Xt)
        self.assertEqual(sampler.calls, 2)  # hidden layer + output pairs (classical vote)
        self.assertEqual(model.predict_num_jobs, 3)


class TestDeepQSVMAPI(QDeepTestCase):
    """scikit-learn conventions, pickling, errors."""

    def test_clone_params_and_pickle(self):
        model = DeepQSVM((2,), binary_estimator=ClassicalLSSVM(gamma=2.0), random_state=5)
        self.assertEqual(model.get_params()["binary_estimator__gamma"], 2.0)
        self.assertEqual(clone(model).get_params()["hidden_layers"], (2,))
        X, y, Xt, _ = _digits()
        model.fit(X, y)
        loaded = pickle.loads(pickle.dumps(model))
        self.assertTrue(np.array_equal(loaded.predict(Xt), model.predict(Xt)))

    def test_errors(self):
        X, y, _, _ = _digits()
        with self.assertRaises(NotFittedError):
            DeepQSVM().predict(X)
        for kwargs, message in [
            (dict(hidden_layers=(0,)), "hidden_layers"),
            (dict(hidden_layers="3"), "hidden_layers"),
            (dict(feature_fraction=0.0), "feature_fraction"),
            (dict(feature_fraction=1.5), "feature_fraction"),
            (dict(voting="soft"), "voting"),
        ]:
            with self.subTest(**kwargs), self.assertRaisesRegex(QDeepValueError, message):
                DeepQSVM(binary_estimator=ClassicalLSSVM(), **kwargs).fit(X, y)
        with self.assertRaisesRegex(QDeepValueError, "at least 2 classes"):
            DeepQSVM(binary_estimator=ClassicalLSSVM()).fit(X, np.zeros(len(X)))


class TestDeepQSVMReproduction(QDeepTestCase):
    """The quick ``deep-qsvm`` reproduction (about 15 s of CPU)."""

    @slow
    def test_quick(self):
        import json
        import os
        import tempfile

        from qiskit_qdeep.reproductions import ReproductionConfig, run_reproduction

        with tempfile.TemporaryDirectory() as tmp:
            run_reproduction("deep-qsvm", ReproductionConfig(quick=True, output=tmp))
            with open(os.path.join(tmp, "deep-qsvm-quick.json"), encoding="utf-8") as handle:
                data = json.load(handle)
            self.assertTrue(os.path.exists(os.path.join(tmp, "deep-qsvm-quick.png")))
        rows = {c["quantity"]: c["ours"] for c in data["comparisons"]}
        self.assertEqual(rows["{1,4,7} Grover vote == argmax of the same votes"], 1.0)
        self.assertGreaterEqual(rows["{1,4,7} QLSSVM vs classical pairwise sign agreement"], 0.9)
        for name in ("AllPairQSVM (Grover vote)", "DeepQSVM (Grover vote)"):
            self.assertGreaterEqual(rows[f"{{1,4,7}} {name}"], 0.7)
