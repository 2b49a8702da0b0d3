# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""HQNN-Quanv, CNN1/CNN4, QCCNN and its classical twin: architectures, counts, training."""

from __future__ import annotations

import numpy as np
import torch
from ddt import ddt, idata
from qiskit.primitives import StatevectorEstimator

from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.models.quanv_models import (
    CNN1,
    CNN4,
    PAPER_RESULTS,
    PAPER_SETUPS,
    QCCNN,
    QCCNN_FILTERS,
    HQNNQuanv,
    QCCNNClassical,
)
from qiskit_qdeep.nn.quanv import Quanv2d
from test import QDeepTestCase

# 3x3 bricks (1 = foreground) for a Tetris-like toy set: S and T, as in the paper's 2-label case.
BRICKS = {
    0: np.array([[0, 1, 1], [1, 1, 0], [0, 0, 0]]),  # S
    1: np.array([[1, 1, 1], [0, 1, 0], [0, 0, 0]]),  # T
}


def tetris_like(rng: np.random.Generator, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy bricks: foreground in [0.7, 1], background in [0, 0.1] (Liu et al.'s recipe)."""
    labels = rng.integers(0, 2, num)
    images = np.empty((num, 1, 3, 3))
    for i, label in enumerate(labels):
        brick = np.roll(BRICKS[int(label)], rng.integers(0, 2), axis=0)
        images[i, 0] = np.where(brick, rng.uniform(0.7, 1.0, (3, 3)), rng.uniform(0, 0.1, (3, 3)))
    return torch.tensor(images, dtype=torch.float32), torch.tensor(labels)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class TestHQNNQuanv(QDeepTestCase):
    """HQNN-Quanv and its classical counterparts (Senokosov et al. 2024)."""

    def test_architecture_and_counts(self):
        model = HQNNQuanv(seed=0)
        images = torch.rand(5, 1, 14, 14)
        self.assertEqual(tuple(model.quanv(images).shape), (5, 4, 7, 7))
        self.assertEqual(tuple(model(images).shape), (5, 10))
        self.assertEqual(model.fc.in_features, 196)
        self.assertEqual(count(model.quanv), PAPER_RESULTS["HQNN-Quanv"].kernel_parameters)
        self.assertEqual(count(model), 4 + 196 * 10 + 10)
        cnn4, cnn1 = CNN4(seed=0), CNN1(seed=0)
        self.assertEqual(count(cnn4.conv), PAPER_RESULTS["CNN4"].kernel_parameters)
        self.assertEqual(count(cnn1.conv), PAPER_RESULTS["CNN1"].kernel_parameters)
        self.assertEqual(count(cnn4), 16 + 1970)
        self.assertEqual(count(cnn1), 4 + 49 * 10 + 10)
        self.assertEqual(tuple(cnn4.conv(images).shape), (5, 4, 7, 7))
        self.assertEqual(tuple(cnn4(images).shape), (5, 10))
        self.assertEqual(tuple(cnn1(images).shape), (5, 10))
        self.assertEqual(count(CNN4(bias=True)), 20 + 1970)
        self.assertIsInstance(CNN1(activation="relu").activation, torch.nn.ReLU)

    def test_stride_four_gives_the_figure_s_4x4_channels(self):
        images = torch.rand(3, 1, 14, 14)
        model = HQNNQuanv(seed=0, stride=4)
        self.assertEqual(tuple(model.quanv(images).shape), (3, 4, 4, 4))
        self.assertEqual(model.fc.in_features, 64)
        for cls, channels in ((CNN4, 4), (CNN1, 1)):
            cnn = cls(seed=0, stride=4)
            self.assertEqual(tuple(cnn.conv(images).shape), (3, channels, 4, 4))
            self.assertEqual(tuple(cnn(images).shape), (3, 10))
        with self.assertRaises(ValueError):
            CNN4(stride=0)

    def test_paper_numbers(self):
        self.assertEqual(PAPER_RESULTS["HQNN-Quanv"].test_accuracy, 0.67)
        self.assertEqual(PAPER_RESULTS["HQNN-Quanv"].std, 0.01)
        self.assertEqual(
            (PAPER_RESULTS["CNN4"].test_accuracy, PAPER_RESULTS["CNN4"].std), (0.66, 0.02)
        )
        self.assertEqual(
            (PAPER_RESULTS["CNN1"].test_accuracy, PAPER_RESULTS["CNN1"].std), (0.53, 0.02)
        )
        self.assertEqual(PAPER_SETUPS["HQNN-Quanv"]["epochs"], 20)
        self.assertEqual(PAPER_SETUPS["QCCNN"]["depth"], 4)

    def test_seed_does_not_touch_global_generator(self):
        torch.manual_seed(0)
        before = torch.rand(1)
        torch.manual_seed(0)
        a = HQNNQuanv(seed=3)
        after = torch.rand(1)
        self.assertAllClose(before, after, atol=0)
        b = HQNNQuanv(seed=3)
        for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            self.assertAllClose(p, q, atol=0, msg=name)

    def test_parameter_shift_matches_backprop(self):
        a = HQNNQuanv(image_size=4, seed=1).double()
        b = HQNNQuanv(image_size=4, estimator=StatevectorEstimator(), seed=1).double()
        images = torch.rand(2, 1, 4, 4, dtype=torch.float64)
        outs = []
        for model in (a, b):
            out = model(images)
            out.pow(2).sum().backward()
            outs.append((out.detach(), model.quanv.weight.grad))
        self.assertAllClose(outs[0][0], outs[1][0], atol=1e-9)
        self.assertAllClose(outs[0][1], outs[1][1], atol=1e-9)
        self.assertEqual(b.quanv.runner.num_jobs, 1)

    def test_training_step(self):
        model = HQNNQuanv(seed=2)
        images, labels = torch.rand(16, 1, 14, 14), torch.randint(0, 10, (16,))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        losses = []
        for _ in range(15):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        self.assertLess(losses[-1], 0.7 * losses[0])
        self.assertIsNotNone(model.quanv.weight.grad)

    def test_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "num_classes"):
            HQNNQuanv(num_classes=0)
        with self.assertRaisesRegex(QDeepValueError, "image_size"):
            CNN4(image_size=1)
        with self.assertRaisesRegex(QDeepValueError, "activation must be one of"):
            CNN1(activation="gelu")
        with self.assertRaisesRegex(QDeepValueError, "outside input_range"):
            HQNNQuanv(seed=0)(255 * torch.rand(1, 1, 14, 14))


@ddt
class TestQCCNN(QDeepTestCase):
    """QCCNN one- and two-layer structures (Liu et al. 2019) and the classical benchmark."""

    @idata([1, 2])
    def test_forward_on_tetris(self, num_layers):
        images, _ = tetris_like(self.rng, 6)
        model = QCCNN(num_layers, num_classes=5, seed=0)
        classical = QCCNNClassical(num_layers, num_classes=5, seed=0)
        self.assertEqual(tuple(model(images).shape), (6, 5))
        self.assertEqual(tuple(classical(images).shape), (6, 5))
        features = model.quanv(images)
        channels = 5 if num_layers == 1 else 6
        self.assertEqual(
            tuple(features.shape),
            (6, channels, 2 if num_layers == 1 else 1, 2 if num_layers == 1 else 1),
        )
        self.assertEqual(tuple(model.pool(features).shape), (6, channels, 1, 1))
        self.assertEqual(tuple(classical.pool(classical.conv(images)).shape), (6, channels, 1, 1))
        self.assertEqual(model.fc.in_features, channels)
        self.assertEqual(classical.fc.in_features, channels)
        layers = list(model.quanv)
        self.assertEqual(tuple(layer.num_filters for layer in layers), QCCNN_FILTERS[num_layers])
        for layer in layers:
            self.assertIsInstance(layer, Quanv2d)
            self.assertEqual(
                (layer.num_qubits, layer.num_weights, layer.outputs_per_filter), (4, 20, 1)
            )
            self.assertEqual(layer.circuit.count_ops()["cx"], 4 * 3)
            self.assertEqual((layer.encoding, layer.readout), ("qccnn", "parity"))
        # quantum features are parity expectation values
        self.assertTrue(bool((features.abs() <= 1 + 1e-6).all()))

    def test_two_layer_parameter_shift_matches_backprop(self):
        images, _ = tetris_like(self.rng, 2)
        images = images.double()
        a = QCCNN(2, num_classes=2, depth=1, seed=4).double()
        b = QCCNN(2, num_classes=2, depth=1, estimator=StatevectorEstimator(), seed=4).double()
        grads = []
        for model in (a, b):
            out = model(images)
            out.pow(2).sum().backward()
            grads.append([out.detach()] + [layer.weight.grad for layer in model.quanv])
        for got, want in zip(grads[0], grads[1], strict=True):
            self.assertAllClose(got, want, atol=1e-9)
        self.assertEqual([layer.runner.num_jobs for layer in b.quanv], [1, 1])

    def test_training_sanity(self):
        images, labels = tetris_like(self.rng, 24)
        model = QCCNN(1, num_classes=2, depth=2, seed=1)
        target = torch.nn.functional.one_hot(labels, 2).float()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        losses = []
        for _ in range(40):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(images), target)  # the paper's loss
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        self.assertLess(losses[-1], 0.5 * losses[0])
        accuracy = (model(images).argmax(1) == labels).float().mean().item()
        self.assertGreater(accuracy, 0.8)

    def test_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "num_layers must be 1 or 2"):
            QCCNN(3)
        with self.assertRaisesRegex(QDeepValueError, "num_layers must be 1 or 2"):
            QCCNNClassical(0)
        with self.assertRaisesRegex(QDeepValueError, "depth"):
            QCCNN(1, depth=-1)
        with self.assertRaisesRegex(QDeepValueError, r"images must have shape \(batch, 1, 3, 3\)"):
            QCCNN(1)(torch.rand(2, 3, 3, 3))
