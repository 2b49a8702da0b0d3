# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""HQNN-Parallel and its classical twin: shapes, parameter counts vs the paper, a short training."""

from __future__ import annotations

import numpy as np
import torch
from qiskit.primitives import StatevectorEstimator
from qiskit.transpiler import generate_preset_pass_manager

from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.models.hqnn_parallel import (
    PAPER_PARAMETER_COUNTS,
    HQNNParallel,
    HQNNParallelClassical,
    count_parameters,
)
from qiskit_qdeep.nn.parallel import ParallelQuantumLayer
from test import QDeepTestCase

#: Our trainable parameter counts for the paper's MNIST setting, layer by layer.
MNIST_COUNTS = {
    "conv": 416 + 32 + 12_832 + 64,  # conv1, BN(16), conv2, BN(32)
    "dense": 31_380 + 40,  # Linear(1568, 20), BN(20)
    "quantum": 4 * 5 * 3 * 3,
    "classical": 20 * 20 + 20,
    "head": 210,
}


class TestHQNNParallel(QDeepTestCase):
    """Architecture and parameter counts."""

    def test_mnist_forward_and_parameter_count(self):
        model = HQNNParallel(seed=0)
        self.assertEqual(tuple(model(torch.rand(2, 1, 28, 28)).shape), (2, 10))
        self.assertEqual(tuple(model(torch.rand(2, 28, 28)).shape), (2, 10))
        self.assertIsInstance(model.quantum, ParallelQuantumLayer)
        self.assertEqual(
            (model.quantum.num_circuits, model.quantum.num_qubits, model.quantum.reps), (4, 5, 3)
        )
        self.assertEqual(model.flatten_features, 1568)
        self.assertEqual(model.hidden_features, 20)
        ours = count_parameters(model)
        paper = PAPER_PARAMETER_COUNTS["MNIST"]["HQNN"]
        print(f"\nHQNN-Parallel (MNIST) trainable parameters: ours {ours:,}, paper {paper:,}")
        expected = MNIST_COUNTS["conv"] + MNIST_COUNTS["dense"] + MNIST_COUNTS["quantum"]
        self.assertEqual(ours, expected + MNIST_COUNTS["head"])
        self.assertEqual(ours, 45_154)
        self.assertEqual(model.num_parameters(), ours)
        # The documented gap: one BatchNorm1d(20) worth of affine parameters.
        self.assertEqual(paper - ours, 2 * 20)
        self.assertEqual(count_parameters(model.quantum), 180)

    def test_classical_twin(self):
        model = HQNNParallelClassical(seed=0)
        self.assertEqual(tuple(model(torch.rand(3, 1, 28, 28)).shape), (3, 10))
        ours = count_parameters(model)
        paper = PAPER_PARAMETER_COUNTS["MNIST"]["CNN"]
        print(f"\nHQNN-Parallel classical twin (MNIST): ours {ours:,}, paper {paper:,}")
        expected = MNIST_COUNTS["conv"] + MNIST_COUNTS["dense"] + MNIST_COUNTS["classical"]
        self.assertEqual(ours, expected + MNIST_COUNTS["head"])
        self.assertEqual(ours, 45_394)
        hybrid = HQNNParallel(seed=0)
        self.assertEqual(
            set(model.state_dict()) - {"classical.0.weight", "classical.0.bias"},
            set(hybrid.state_dict()) - {"quantum.weight"},
        )

    def test_paper_table(self):
        self.assertEqual(
            PAPER_PARAMETER_COUNTS,
            {
                "MNIST": {"HQNN": 45_194, "CNN": 372_234},
                "Medical MNIST": {"HQNN": 247_462, "CNN": 247_642},
                "CIFAR-10": {"HQNN": 81_578, "CNN": 81_698},
            },
        )

    def test_other_sizes(self):
        cases = [
            (1, 8, 10, 32 * 2 * 2),
            (3, 32, 10, 32 * 8 * 8),
            (1, (12, 8), 6, 32 * 3 * 2),
        ]
        for in_channels, size, classes, flat in cases:
            with self.subTest(size=size):
                for cls in (HQNNParallel, HQNNParallelClassical):
                    model = cls(in_channels, size, classes, seed=1)
                    self.assertEqual(model.flatten_features, flat)
                    h, w = (size, size) if isinstance(size, int) else size
                    self.assertEqual(model.image_size, (h, w))
                    out = model(torch.rand(2, in_channels, h, w))
                    self.assertEqual(tuple(out.shape), (2, classes))

    def test_quantum_options_pass_through(self):
        model = HQNNParallel(
            image_size=8,
            num_circuits=2,
            num_qubits=2,
            reps=1,
            seed=2,
            estimator=StatevectorEstimator(),
        )
        self.assertEqual(model.quantum.gradient, "parameter-shift")
        self.assertEqual(model.hidden_features, 4)
        images = torch.rand(2, 1, 8, 8)
        model(images).sum().backward()
        self.assertEqual(model.quantum.runner.num_jobs, 1)
        self.assertIsNotNone(model.quantum.weight.grad)
        self.assertIsNotNone(model.features[0].weight.grad)
        default = HQNNParallel(image_size=8, gradient="parameter-shift", seed=2)
        self.assertEqual(default.quantum.gradient, "parameter-shift")
        pm = generate_preset_pass_manager(optimization_level=0, basis_gates=["rz", "sx", "x", "cx"])
        with_pm = HQNNParallel(image_size=8, num_qubits=2, num_circuits=2, reps=1, pass_manager=pm)
        self.assertIs(with_pm.quantum.runner.pass_manager, pm)
        with self.assertRaisesRegex(QDeepValueError, "gradient must be one of"):
            HQNNParallel(gradient="adjoint")

    def test_seed(self):
        state = torch.random.get_rng_state()
        a = HQNNParallel(image_size=8, seed=3).state_dict()
        b = HQNNParallel(image_size=8, seed=3).state_dict()
        self.assertTrue(torch.equal(state, torch.random.get_rng_state()))
        for key in a:
            self.assertTrue(torch.equal(a[key], b[key]), key)
        c = HQNNParallelClassical(image_size=8, seed=4).state_dict()
        d = HQNNParallelClassical(image_size=8, seed=4).state_dict()
        self.assertTrue(all(torch.equal(c[key], d[key]) for key in c))

    def test_errors(self):
        model = HQNNParallel(image_size=8, seed=0)
        with self.assertRaisesRegex(QDeepValueError, r"images of shape \(batch, 1, 8, 8\), got"):
            model(torch.rand(2, 1, 28, 28))
        with self.assertRaisesRegex(QDeepValueError, r"\(batch, 1, 8, 8\)"):
            model(torch.rand(64))
        with self.assertRaisesRegex(QDeepValueError, "at least 4 pixels"):
            HQNNParallel(image_size=3)
        with self.assertRaisesRegex(QDeepValueError, "image_size must be an int or a pair"):
            HQNNParallelClassical(image_size=(8, 8, 8))
        with self.assertRaisesRegex(QDeepValueError, "in_channels must be an integer"):
            HQNNParallel(in_channels=0)
        with self.assertRaisesRegex(QDeepValueError, "hidden_features must be an integer"):
            HQNNParallelClassical(hidden_features=0)


class TestHQNNParallelTraining(QDeepTestCase):
    """A few optimizer steps on 8x8 digits learn something."""

    def test_digits_training_sanity(self):
        from sklearn.datasets import load_digits

        digits = load_digits()
        rng = np.random.default_rng(0)
        index = rng.choice(len(digits.target), 256, replace=False)
        images = torch.tensor(digits.images[index] / 16.0, dtype=torch.float32).unsqueeze(1)
        labels = torch.tensor(digits.target[index])
        model = HQNNParallel(image_size=8, seed=0)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
        generator = torch.Generator().manual_seed(0)
        model.train()
        for _ in range(30):
            batch = torch.randint(0, 256, (64,), generator=generator)
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(images[batch]), labels[batch])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(images).argmax(1) == labels).double().mean().item()
        print(f"\nHQNN-Parallel on 256 8x8 digits after 30 steps: train accuracy {accuracy:.3f}")
        self.assertGreater(accuracy, 0.5)
