# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""AllPairQSVM: votes against sklearn's one-vs-one, Grover vote against argmax, sklearn API."""

from __future__ import annotations

import pickle
from itertools import combinations

import numpy as np
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2
from sklearn.base import clone
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError
from qiskit_qdeep.svm import QLSSVM, AllPairQSVM, ClassicalLSSVM
from test import QDeepTestCase
from test.counting import CountingSampler, UnpicklableSampler


def _blobs(n=60, k=3, seed=1):
    return make_blobs(n_samples=n, centers=k, n_features=2, cluster_std=1.8, random_state=seed)


class TestAllPairVoting(QDeepTestCase):
    """Votes, tie rule and both voting modes."""

    def test_votes_match_manual_one_vs_one(self):
        X, y = _blobs(k=4)
        model = AllPairQSVM(ClassicalLSSVM(gamma=2.0), voting="classical").fit(X[:40], y[:40])
        self.assertEqual(model.pairs_, list(combinations(range(4), 2)))
        decisions = model.pairwise_decisions(X[40:])
        self.assertEqual(decisions.shape, (20, 6))
        votes = np.zeros((20, 4), dtype=int)
        for p, (a, b) in enumerate(model.pairs_):
            mask = np.isin(y[:40], [a, b])
            pair = ClassicalLSSVM(gamma=2.0).fit(X[:40][mask], y[:40][mask])
            self.assertAllClose(decisions[:, p], pair.decision_function(X[40:]), atol=1e-12)
            wins_b = pair.predict(X[40:]) == b
            votes[:, b] += wins_b
            votes[:, a] += ~wins_b
        vote = model.vote(X[40:])
        self.assertTrue(np.array_equal(vote.votes, votes))
        self.assertTrue(np.array_equal(vote.labels, np.argmax(votes, axis=1)))
        self.assertTrue(np.all(vote.votes.sum(axis=1) == 6))
        self.assertIsNone(vote.searches)
        self.assertEqual(vote.num_voting_jobs, 0)

    def test_grover_vote_equals_classical_vote(self):
        """Dürr-Høyer winners equal the argmax (first maximum) on every test point, ties too."""
        X, y = _blobs(n=70, k=4, seed=3)
        base = LogisticRegression()  # any sklearn binary classifier works as the base
        grover = AllPairQSVM(base, voting="grover", random_state=0).fit(X[:40], y[:40])
        classical = AllPairQSVM(base, voting="classical").fit(X[:40], y[:40])
        vote = grover.vote(X[40:])
        self.assertTrue(np.array_equal(vote.labels, classical.predict(X[40:])))
        self.assertTrue(np.array_equal(vote.winners, np.argmax(vote.votes, axis=1)))
        self.assertEqual(len(vote.searches), 30)
        self.assertEqual(vote.num_voting_jobs, max(s.num_measurements for s in vote.searches))
        self.assertTrue(np.all(vote.num_oracle_calls < 50.6))  # D-H bound, 4 classes

    def test_tie_rule_smallest_class_index(self):
        # a 3-cycle of pairwise wins: every class gets one vote, the first class wins
        model = AllPairQSVM(DecisionTreeClassifier(), voting="grover", random_state=2)
        X = np.array([[0.0], [1.0], [2.0]])
        model.fit(np.repeat(X, 2, axis=0), np.array([0, 0, 1, 1, 2, 2]))
        model.estimators_ = [_Constant(1), _Constant(0), _Constant(2)]  # (0,1), (0,2), (1,2)
        vote = model.vote(X)
        self.assertTrue(np.all(vote.votes == 1))
        self.assertTrue(np.all(vote.labels == 0))
        model.set_params(voting="classical")
        self.assertTrue(np.all(model.predict(X) == 0))

    def test_qlssvm_default_matches_classical_twin(self):
        X, y = load_iris(return_X_y=True)
        train = np.concatenate([np.flatnonzero(y == c)[:5] for c in range(3)])
        test = np.setdiff1d(np.arange(150), train)[::5]
        quantum = AllPairQSVM(voting="grover", random_state=0).fit(X[train], y[train])
        self.assertIsInstance(quantum.estimators_[0], QLSSVM)
        self.assertEqual(quantum.fit_num_jobs_, 0)  # exact simulation
        twin = AllPairQSVM(ClassicalLSSVM(), voting="classical").fit(X[train], y[train])
        self.assertAllClose(
            quantum.pairwise_decisions(X[test]), twin.pairwise_decisions(X[test]), atol=0.05
        )
        agreement = np.mean(quantum.predict(X[test]) == twin.predict(X[test]))
        self.assertGreaterEqual(agreement, 0.95)
        self.assertGreaterEqual(quantum.score(X[test], y[test]), 0.8)

    def test_string_labels_and_two_classes(self):
        X, y = _blobs(n=30, k=2)
        labels = np.array(["cat", "dog"])[y]
        model = AllPairQSVM(ClassicalLSSVM(), random_state=0).fit(X[:20], labels[:20])
        self.assertEqual(model.decision_function(X[20:]).shape, (10,))
        self.assertTrue(set(model.predict(X[20:])) <= {"cat", "dog"})
        self.assertGreaterEqual(model.score(X[20:], labels[20:]), 0.8)

    def test_aer_sampler_vote(self):
        from qiskit_aer.primitives import SamplerV2

        X, y = _blobs(n=40, k=3, seed=4)
        model = AllPairQSVM(ClassicalLSSVM(), sampler=SamplerV2(seed=3), random_state=1)
        model.fit(X[:30], y[:30])
        classical = model.set_params(voting="classical").predict(X[30:])
        self.assertTrue(
            np.array_equal(model.set_params(voting="grover").predict(X[30:]), classical)
        )

    def test_fake_backend_vote(self):
        """Grover vote on FakeManilaV2 with its pass manager (local testing mode, noisy).

        Two classes (3-qubit circuits, few rounds with ``search_limit=1``). The transpiled
        Grover circuits hold tens of CNOTs, so noisy winners are not asserted, only that the
        vote runs end to end, returns real classes and counts one job per round.
        """
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime.executor_sampler import Sampler
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        backend = FakeManilaV2()
        sampler = Sampler(mode=backend)
        sampler.options.simulator.seed_simulator = 7
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=7)
        X, y = _blobs(n=24, k=2, seed=5)
        model = AllPairQSVM(
            ClassicalLSSVM(), sampler=sampler, pass_manager=pm, random_state=0, search_limit=1.0
        ).fit(X[:20], y[:20])
        vote = model.vote(X[20:])
        self.assertTrue(set(vote.labels) <= set(model.classes_))
        self.assertEqual(vote.num_voting_jobs, max(s.num_measurements for s in vote.searches))


def _shot_z_scores(estimate, reference, shots, reference_shots=None):
    """``(estimate - reference) / sigma`` for Hadamard-test values ``1 - 2 P(-)``.

    ``sigma`` is the binomial standard deviation of the estimate with ``shots`` shots, and of the
    difference when ``reference`` is itself sampled with ``reference_shots``.
    """
    p = np.clip((1.0 - reference) / 2.0, 1e-3, 1 - 1e-3)
    var = 4.0 * p * (1.0 - p) / shots
    if reference_shots is not None:
        var = var + 4.0 * p * (1.0 - p) / reference_shots
    return (estimate - reference) / np.sqrt(var)


class TestAllPairBatchedDecisions(QDeepTestCase):
    """Sampled QLSSVM pairs on one sampler: one job for all pairs and all query points."""

    def setUp(self):
        super().setUp()
        X, y = _blobs(n=60, k=3, seed=2)
        train = np.concatenate([np.flatnonzero(y == c)[:3] for c in range(3)])
        self.x_train, self.y_train = X[train], y[train]
        self.x_test, self.y_test = np.delete(X, train, axis=0)[:20], np.delete(y, train)[:20]

    def test_one_job_for_all_pairs(self):
        shots = 20_000
        sampler = CountingSampler(AerSamplerV2(seed=11))
        model = AllPairQSVM(voting="classical", sampler=sampler, shots=shots, random_state=0)
        model.fit(self.x_train, self.y_train)
        # the clones share the sampler object (not deep copies): one HHL job per pair
        self.assertTrue(all(e.sampler is sampler for e in model.estimators_))
        self.assertEqual(model.fit_num_jobs_, 3)
        self.assertEqual(sampler.calls, 3)
        vote = model.vote(self.x_test)
        self.assertEqual(sampler.calls, 4)  # 3 pairs x 20 points: one sampler job
        self.assertEqual(vote.num_decision_jobs, 1)
        self.assertEqual(vote.num_voting_jobs, 0)
        self.assertEqual(vote.num_jobs, 1)
        self.assertEqual(model.predict_num_jobs, 1)
        # the same tests run pair by pair (one job each) agree within the shot noise ...
        single = np.stack([e.decision_function(self.x_test) for e in model.estimators_], axis=1)
        self.assertEqual(sampler.calls, 7)
        z = _shot_z_scores(vote.decisions, single, shots, shots)
        self.assertLess(np.abs(z).max(), 4.5)
        # ... and the same bound sees a mix-up of points or of pairs
        self.assertGreater(
            np.abs(_shot_z_scores(vote.decisions[::-1], single, shots, shots)).max(), 4.5
        )
        self.assertGreater(
            np.abs(_shot_z_scores(vote.decisions[:, ::-1], single, shots, shots)).max(), 4.5
        )
        model.predict(self.x_test)
        self.assertEqual(model.predict_num_jobs, 2)
        self.assertEqual(sampler.calls, 8)

    def test_exact_fit_sampled_prediction_with_grover_vote(self):
        shots = 20_000
        model = AllPairQSVM(voting="grover", random_state=0).fit(self.x_train, self.y_train)
        exact = model.pairwise_decisions(self.x_test)
        self.assertEqual(model.predict_num_jobs, 0)  # exact path: no jobs
        sampler = CountingSampler(AerSamplerV2(seed=12))
        model.set_params(sampler=sampler, shots=shots)  # the default pairs follow
        vote = model.vote(self.x_test)
        self.assertEqual(vote.num_decision_jobs, 1)
        self.assertGreater(vote.num_voting_jobs, 0)
        self.assertEqual(sampler.calls, 1 + vote.num_voting_jobs)  # decisions + Grover rounds
        self.assertEqual(model.predict_num_jobs, vote.num_jobs)
        self.assertLess(np.abs(_shot_z_scores(vote.decisions, exact, shots)).max(), 4.5)
        self.assertTrue(np.array_equal(vote.winners, np.argmax(vote.votes, axis=1)))
        model.set_params(sampler=None, shots=None)  # back to the exact path, no job
        self.assertAllClose(model.pairwise_decisions(self.x_test), exact, atol=0)
        self.assertEqual(sampler.calls, 1 + vote.num_voting_jobs)

    def test_explicit_qlssvm_and_other_estimators(self):
        sampler = CountingSampler(AerSamplerV2(seed=13))
        base = QLSSVM(gamma=2.0, sampler=sampler, shots=10_000)
        model = AllPairQSVM(base, voting="classical", random_state=0)
        model.fit(self.x_train, self.y_train)
        calls = sampler.calls
        self.assertEqual(model.vote(self.x_test).num_decision_jobs, 1)
        self.assertEqual(sampler.calls, calls + 1)
        # every pair on its own default sampler (sampler=None with shots): one job per sampler
        local = AllPairQSVM(voting="classical", shots=10_000, random_state=0)
        local.fit(self.x_train, self.y_train)
        self.assertEqual(local.vote(self.x_test).num_decision_jobs, 3)
        # binary estimators without a sampler: called one by one, no jobs
        classical = AllPairQSVM(ClassicalLSSVM(), voting="classical").fit(
            self.x_train, self.y_train
        )
        self.assertEqual(classical.vote(self.x_test).num_decision_jobs, 0)
        self.assertEqual(classical.predict_num_jobs, 0)


class _Constant:
    """A fitted stand-in binary classifier that always predicts one label."""

    def __init__(self, label):
        self.label = label

    def predict(self, X):
        return np.full(len(X), self.label)


class TestAllPairAPI(QDeepTestCase):
    """scikit-learn conventions, pickling, errors."""

    def test_clone_and_params(self):
        model = AllPairQSVM(ClassicalLSSVM(gamma=3.0), voting="classical", random_state=4)
        params = model.get_params()
        self.assertEqual(params["voting"], "classical")
        self.assertEqual(params["binary_estimator__gamma"], 3.0)
        copy = clone(model)
        self.assertEqual(copy.get_params()["random_state"], 4)
        self.assertFalse(hasattr(copy, "estimators_"))

    def test_pickle_round_trip(self):
        X, y = _blobs(n=40, k=3)
        model = AllPairQSVM(random_state=0).fit(X[:15], y[:15])  # default QLSSVM, exact
        expected = model.predict(X[15:])
        loaded = pickle.loads(pickle.dumps(model))
        self.assertTrue(np.array_equal(loaded.predict(X[15:]), expected))
        unpicklable = AllPairQSVM(ClassicalLSSVM(), sampler=UnpicklableSampler(seed=1))
        unpicklable.fit(X[:15], y[:15])
        restored = pickle.loads(pickle.dumps(unpicklable))
        self.assertIsNone(restored.sampler)
        restored.set_params(sampler=UnpicklableSampler(seed=1))
        self.assertEqual(restored.predict(X[15:]).shape, (25,))

    def test_errors(self):
        X, y = _blobs(n=20)
        with self.assertRaises(NotFittedError):
            AllPairQSVM().predict(X)
        with self.assertRaisesRegex(QDeepValueError, "voting must be one of"):
            AllPairQSVM(voting="max").fit(X, y)
        with self.assertRaisesRegex(QDeepValueError, "at least 2 classes"):
            AllPairQSVM(ClassicalLSSVM()).fit(X, np.zeros(20))
        with self.assertRaisesRegex(QDeepTypeError, "binary_estimator must be"):
            AllPairQSVM(binary_estimator="svm").fit(X, y)
        with self.assertRaisesRegex(QDeepTypeError, "BaseSamplerV2"):
            AllPairQSVM(sampler="aer").fit(X, y)
        model = AllPairQSVM(ClassicalLSSVM()).fit(X, y)
        with self.assertRaisesRegex(ValueError, "features"):
            model.predict(X[:, :1])
