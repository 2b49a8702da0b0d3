# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Sampler-based families on qiskit-ibm-runtime primitives in Batch and Session modes.

QMeans, SwapTestConv2d, HHL, QLSSVM and AllPairQSVM, each with job counts asserted.

Local testing mode: the fake backend's noise model runs on Aer, and ``Batch`` / ``Session`` take
the same code path as on IBM Quantum (no network, no credentials).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import Batch, SamplerV2, Session
from qiskit_ibm_runtime.executor_sampler import Sampler
from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeNairobiV2
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from qiskit_qdeep.clustering import QMeans
from qiskit_qdeep.linear_solvers import HHL
from qiskit_qdeep.nn import SwapTestConv2d
from qiskit_qdeep.svm import QLSSVM, AllPairQSVM
from test import QDeepTestCase


def _count_runs(primitive):
    """Counts the ``run`` calls of a runtime primitive (its own type is kept); returns the list."""
    calls = []
    run = primitive.run

    def counted(*args, **kwargs):
        calls.append(1)
        return run(*args, **kwargs)

    primitive.run = counted
    return calls


def _standard_blobs(n, centers, seed, cluster_std=1.0):
    """Blobs standardised to half a unit per feature (the Hadamard tests' overlaps stay large)."""
    X, y = make_blobs(
        n_samples=n, centers=centers, n_features=2, cluster_std=cluster_std, random_state=seed
    )
    return 0.5 * (X - X.mean(axis=0)) / X.std(axis=0), y


class TestRuntimeModes(QDeepTestCase):
    """One primitive job per batch, results within the fake device's noise, in both modes."""

    def setUp(self):
        super().setUp()
        self.backend = FakeManilaV2()
        self.pass_manager = generate_preset_pass_manager(
            backend=self.backend, optimization_level=1, seed_transpiler=3
        )

    def test_qmeans_executor_sampler_in_batch_mode(self):
        X, y = make_blobs(40, n_features=2, centers=2, cluster_std=0.5, random_state=0)
        with Batch(backend=self.backend) as batch:
            sampler = Sampler(mode=batch)
            sampler.options.simulator.seed_simulator = 5
            model = QMeans(
                2,
                sampler=sampler,
                pass_manager=self.pass_manager,
                shots=500,
                max_iter=3,
                random_state=0,
            ).fit(X)
        # well separated blobs: the noisy overlaps still give the true clusters
        self.assertGreater(adjusted_rand_score(y, model.labels_), 0.9)
        self.assertEqual(model.fit_num_jobs_, model.n_iter_)  # one job per assignment step

    def test_swap_test_conv_legacy_sampler_in_session_mode(self):
        exact = SwapTestConv2d(2, 2, num_layers=1, seed=0)
        image = torch.rand(1, 1, 4, 4, generator=torch.Generator().manual_seed(0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with Session(backend=self.backend) as session:
                sampler = SamplerV2(mode=session)
                sampler.options.simulator.seed_simulator = 5
                device = SwapTestConv2d(
                    2,
                    2,
                    num_layers=1,
                    seed=0,
                    sampler=sampler,
                    pass_manager=self.pass_manager,
                    shots=4000,
                    initial_weights=exact.weight.detach().numpy(),
                )
                out = device(image).detach()
        ref = exact(image).detach()
        self.assertEqual(device.runner.num_jobs, 1)
        self.assertEqual(tuple(out.shape), tuple(ref.shape))
        # the noise model shrinks overlaps towards 0; the map must still follow the exact one
        corr = np.corrcoef(out.flatten().numpy(), ref.flatten().numpy())[0, 1]
        self.assertGreater(corr, 0.5)

    def test_hhl_executor_sampler_in_batch_mode(self):
        """The 2x2 textbook system on FakeNairobiV2 (6 of its 7 qubits with 3 clock qubits)."""
        a = np.array([[1.0, -1.0 / 3.0], [-1.0 / 3.0, 1.0]])
        b = np.array([1.0, 0.0])
        x = np.linalg.solve(a, b)  # (9/8, 3/8)
        backend = FakeNairobiV2()
        pass_manager = generate_preset_pass_manager(
            backend=backend, optimization_level=1, seed_transpiler=3
        )
        exact = HHL(num_clock_qubits=3).solve(a, b)
        with Batch(backend=backend) as batch:
            sampler = Sampler(mode=batch)
            sampler.options.simulator.seed_simulator = 5
            calls = _count_runs(sampler)
            hhl = HHL(num_clock_qubits=3, sampler=sampler, pass_manager=pass_manager, shots=4000)
            result = hhl.solve(a, b)
        self.assertEqual(result.num_jobs, 1)
        self.assertEqual(len(calls), 1)
        self.assertEqual(result.method, "sampled")
        self.assertTrue(np.all(np.sign(result.solution) == np.sign(x)))
        self.assertGreaterEqual(exact.fidelity(x), 0.99)
        self.assertGreaterEqual(result.fidelity(x), 0.88)  # noise: 0.93 here

    def test_qlssvm_legacy_sampler_in_session_mode(self):
        """Exact HHL fit, Hadamard-test predictions on the fake device in a Session."""
        X, y = _standard_blobs(40, 2, seed=1, cluster_std=1.5)
        idx = [int(np.flatnonzero(y == 0)[0]), int(np.flatnonzero(y == 1)[0])]
        model = QLSSVM().fit(X[idx], y[idx])  # 1 + 2 + 1 = 4 test qubits
        exact = model.decision_function(X)
        self.assertEqual(model.predict_num_jobs, 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with Session(backend=self.backend) as session:
                sampler = SamplerV2(mode=session)
                sampler.options.simulator.seed_simulator = 5
                calls = _count_runs(sampler)
                model.set_params(sampler=sampler, pass_manager=self.pass_manager, shots=2000)
                noisy = model.decision_function(X)
                predictions = model.predict(X)
        self.assertEqual(model.predict_num_jobs, 2)  # one job per call, all 40 points
        self.assertEqual(len(calls), 2)
        # the noise model shrinks the overlaps; their signs and shape follow the exact ones
        self.assertGreaterEqual(np.mean(np.sign(noisy) == np.sign(exact)), 0.9)
        self.assertGreater(np.corrcoef(noisy, exact)[0, 1], 0.95)
        self.assertGreaterEqual(np.mean(predictions == y), 0.9)

    def test_allpair_qsvm_executor_sampler_in_batch_mode(self):
        """Three classes, one training point each: 3 pairwise 4-qubit tests in one job."""
        X, y = _standard_blobs(45, 3, seed=4)
        train = np.array([int(np.flatnonzero(y == c)[0]) for c in range(3)])
        test = np.setdiff1d(np.arange(len(y)), train)
        model = AllPairQSVM(voting="classical", random_state=0).fit(X[train], y[train])
        exact = model.vote(X[test])
        self.assertEqual(exact.num_decision_jobs, 0)
        with Batch(backend=self.backend) as batch:
            sampler = Sampler(mode=batch)
            sampler.options.simulator.seed_simulator = 5
            calls = _count_runs(sampler)
            model.set_params(sampler=sampler, pass_manager=self.pass_manager, shots=2000)
            vote = model.vote(X[test])
        self.assertEqual(len(calls), 1)  # 3 pairs x 42 points
        self.assertEqual(vote.num_decision_jobs, 1)
        self.assertEqual(vote.num_voting_jobs, 0)
        self.assertEqual(model.predict_num_jobs, 1)
        self.assertGreater(np.corrcoef(vote.decisions.ravel(), exact.decisions.ravel())[0, 1], 0.95)
        self.assertGreaterEqual(np.mean(vote.labels == exact.labels), 0.9)
        self.assertGreaterEqual(np.mean(vote.labels == y[test]), 0.85)
