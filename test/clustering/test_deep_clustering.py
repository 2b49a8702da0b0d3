# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Tests of the (quantum) deep-clustering pipelines."""

from __future__ import annotations

import os
import pickle
import tempfile

import numpy as np
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from torch import nn

from qiskit_qdeep.clustering import (
    ClassicalDeepClustering,
    QMeans,
    QuantumDeepClustering,
    plot_deep_clustering,
    small_cnn,
)
from qiskit_qdeep.exceptions import CheckpointError, QDeepTypeError, QDeepValueError
from qiskit_qdeep.nn import ParallelQuantumLayer
from test import QDeepTestCase

DIGITS = load_digits()
X = DIGITS.images[:160] / 16.0
Y = DIGITS.target[:160]


def _quantum_layer(model) -> ParallelQuantumLayer:
    module = model.model_ if hasattr(model, "model_") else model
    return [m for m in module.modules() if isinstance(m, ParallelQuantumLayer)][0]


class TestDeepClustering(QDeepTestCase):
    """DeepCluster loop with QMeans + quantum head, and the classical baseline."""

    def test_quantum_pipeline(self):
        model = QuantumDeepClustering(10, epochs=2, random_state=0, progress=False)
        model.fit(X, Y)
        history = model.history_
        self.assertEqual(len(history.nmi), 3)  # untrained features + after each epoch
        self.assertEqual(len(history.train_loss), 2)
        self.assertIsInstance(model.clusterer_, QMeans)
        self.assertGreater(history.nmi[-1], 0.35)  # chance level is ~0.05
        self.assertTrue(all(0.0 <= v <= 1.0 for v in history.nmi))
        self.assertEqual(model.labels_.shape, (160,))
        self.assertTrue(np.array_equal(model.predict(X), model.labels_))
        self.assertEqual(model.features(X).shape, (160, 8))
        self.assertAllClose(np.linalg.norm(model.features(X), axis=1), np.ones(160), atol=1e-9)
        self.assertEqual(model.predict_head(X[:5]).shape, (5,))

    def test_frozen_quantum_head_and_backprop_into_cnn(self):
        kwargs = dict(random_state=1, head_warmup_steps=0, progress=False)
        reference = QuantumDeepClustering(10, epochs=0, **kwargs).fit(X)
        trained = QuantumDeepClustering(10, epochs=1, **kwargs).fit(X)
        layers = [_quantum_layer(model) for model in (reference, trained)]
        self.assertAllClose(layers[0].weight, layers[1].weight)  # fixed during backprop
        conv = [model.model_.features[0].weight.detach() for model in (reference, trained)]
        self.assertGreater(float((conv[0] - conv[1]).abs().max()), 1e-4)  # CNN learned
        free = QuantumDeepClustering(10, epochs=1, freeze_head_during_backprop=False, **kwargs).fit(
            X
        )
        free_layer = _quantum_layer(free)
        self.assertGreater(float((free_layer.weight - layers[0].weight).abs().max().detach()), 1e-4)

    def test_head_warmup_trains_quantum_weights_then_freezes_them(self):
        snapshots = []

        class Recorder(QuantumDeepClustering):
            def _warm_up_head(self, model, *args, **kwargs):
                before = _quantum_layer(model).weight.detach().clone()
                conv = model.features[0].weight.detach().clone()
                super()._warm_up_head(model, *args, **kwargs)
                after = _quantum_layer(model).weight.detach().clone()
                snapshots.append((before, after, conv, model.features[0].weight.detach().clone()))

        model = Recorder(
            10, epochs=1, head_warmup_steps=5, head_lr=0.05, random_state=2, progress=False
        ).fit(X)
        ((before, after, conv_before, conv_after),) = snapshots
        self.assertGreater(float((after - before).abs().max()), 1e-3)  # warm-up trains them
        self.assertTrue(torch.equal(conv_before, conv_after))  # the network is not trained
        self.assertTrue(torch.equal(_quantum_layer(model.model_).weight.detach(), after))
        with self.assertRaisesRegex(QDeepValueError, "head_warmup_steps"):
            QuantumDeepClustering(10, head_warmup_steps=-1, progress=False).fit(X)
        with self.assertRaisesRegex(QDeepValueError, "head_lr"):
            QuantumDeepClustering(10, head_lr=0.0, progress=False).fit(X)

    def test_classical_baseline_same_budget(self):
        model = ClassicalDeepClustering(10, epochs=1, random_state=0, progress=False).fit(X, Y)
        self.assertIsInstance(model.clusterer_, KMeans)
        self.assertIsInstance(model.model_.body, nn.Identity)
        self.assertEqual(len(model.history_.ari), 2)
        quantum = QuantumDeepClustering(10, epochs=1, random_state=0, progress=False)
        self.assertEqual(
            {k: v for k, v in model.get_params().items() if k not in ("head",)},
            {k: v for k, v in quantum.get_params().items() if k not in ("head",)},
        )

    def test_checkpoint_resume_is_identical(self):
        kwargs = dict(
            epochs=2,
            random_state=3,
            progress=False,
            clusterer=KMeans(10, n_init=1),
            head_warmup_steps=5,  # resumed warm-up draws must match too
        )
        full = QuantumDeepClustering(10, **kwargs).fit(X, Y)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "dc.pt")
            QuantumDeepClustering(10, checkpoint=path, **{**kwargs, "epochs": 1}).fit(X, Y)
            self.assertTrue(os.path.exists(path))
            resumed = QuantumDeepClustering(10, checkpoint=path, **kwargs).fit(X, Y)
        self.assertEqual(resumed.history_.nmi, full.history_.nmi)
        self.assertEqual(resumed.history_.train_loss, full.history_.train_loss)
        self.assertTrue(np.array_equal(resumed.labels_, full.labels_))

    def test_checkpoint_is_strict(self):
        """Crafted, foreign and mismatched checkpoints and changed settings raise."""
        import builtins

        class Exploit:
            def __reduce__(self):
                return (exec, ("import builtins; builtins._qdeep_dc_pwned = True",))

        flat = X[:40].reshape(40, -1)
        kwargs = dict(
            feature_extractor=nn.Sequential(nn.Linear(64, 4), nn.ReLU()),
            feature_dim=4,
            head="linear",
            clusterer=KMeans(4, n_init=1),
            pca_components=2,
            epochs=1,
            head_warmup_steps=1,
            random_state=0,
            progress=False,
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "dc.pt")
            torch.save({"model": Exploit()}, path)
            with self.assertRaisesRegex(CheckpointError, "could run code"):
                QuantumDeepClustering(4, checkpoint=path, **kwargs).fit(flat)
            self.assertFalse(hasattr(builtins, "_qdeep_dc_pwned"))
            torch.save({"a": 1}, path)
            with self.assertRaisesRegex(CheckpointError, "not a deep-clustering checkpoint"):
                QuantumDeepClustering(4, checkpoint=path, **kwargs).fit(flat)
            os.remove(path)
            QuantumDeepClustering(4, checkpoint=path, **kwargs).fit(flat)
            with self.assertRaisesRegex(CheckpointError, "another network architecture"):
                QuantumDeepClustering(5, checkpoint=path, **kwargs).fit(flat)
            changed = {**kwargs, "epochs": 2, "head_lr": 0.05}
            with self.assertRaisesRegex(CheckpointError, "head_lr: checkpoint 0.01, now 0.05"):
                QuantumDeepClustering(4, checkpoint=path, **changed).fit(flat)
            with self.assertWarnsRegex(UserWarning, "head_lr: checkpoint 0.01, now 0.05"):
                model = QuantumDeepClustering(4, checkpoint=path, **changed).fit(
                    flat, allow_changed_hyperparameters=True
                )
        self.assertEqual(len(model.history_.train_loss), 2)

    def test_custom_extractor_and_head(self):
        flat = X.reshape(len(X), -1)
        extractor = nn.Sequential(nn.Linear(64, 16), nn.ReLU())
        body = nn.Sequential(nn.Linear(16, 6), nn.Tanh())
        model = QuantumDeepClustering(
            5,
            feature_extractor=extractor,
            feature_dim=16,
            head=body,
            head_width=6,
            clusterer=KMeans(5, n_init=1),
            pca_components=4,
            epochs=1,
            random_state=0,
            progress=False,
        ).fit(flat)
        self.assertEqual(model.history_.nmi, [])  # no labels given
        self.assertEqual(len(np.unique(model.labels_)), 5)
        self.assertIsNot(model.model_.features, extractor)  # the caller's module is untouched

    def test_errors_clone_pickle_and_plot(self):
        with self.assertRaisesRegex(QDeepValueError, "head"):
            QuantumDeepClustering(10, head="svm", progress=False).fit(X)
        with self.assertRaisesRegex(QDeepValueError, "num_qubits"):
            QuantumDeepClustering(10, head_width=6, num_qubits=4, progress=False).fit(X)
        with self.assertRaisesRegex(QDeepValueError, "n_samples"):
            QuantumDeepClustering(10, progress=False).fit(X[:5])
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            QuantumDeepClustering(10, progress=False).fit(np.full((20, 8, 8), np.nan))
        with self.assertRaisesRegex(QDeepValueError, "images"):
            QuantumDeepClustering(10, progress=False).fit(X.reshape(160, -1))
        with self.assertRaises(QDeepTypeError):
            QuantumDeepClustering(10, feature_extractor="cnn", progress=False).fit(X)
        with self.assertRaises(NotFittedError):
            QuantumDeepClustering(10).predict(X)
        model = QuantumDeepClustering(4, epochs=0, random_state=0, progress=False)
        self.assertEqual(clone(model).get_params(), model.get_params())
        model.fit(X[:40], Y[:40])
        loaded = pickle.loads(pickle.dumps(model))
        self.assertTrue(np.array_equal(loaded.predict(X[:40]), model.labels_))
        import matplotlib

        matplotlib.use("Agg")
        ax = plot_deep_clustering({"quantum": model.history_}, metric="ari")
        self.assertEqual(len(ax.lines), 1)
        ax = plot_deep_clustering({"seeds": [model.history_, model.history_]}, metric="nmi")
        self.assertEqual(len(ax.lines), 1)  # the mean; the band is a collection
        self.assertEqual(len(ax.collections), 1)
        with self.assertRaises(QDeepValueError):
            plot_deep_clustering({}, metric="acc")
        with self.assertRaisesRegex(QDeepValueError, "no runs"):
            plot_deep_clustering({"quantum": []})
        self.assertEqual(small_cnn(1, 12)(torch.zeros(2, 1, 28, 28)).shape, (2, 12))
