# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Sampler-based families on qiskit-ibm-runtime primitives in Batch and Session modes.

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
from qiskit_ibm_runtime.fake_provider import FakeManilaV2
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from qiskit_qdeep.clustering import QMeans
from qiskit_qdeep.nn import SwapTestConv2d
from test import QDeepTestCase


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
