# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The checkpointing training loop resumes exactly."""

from __future__ import annotations

import os
import tempfile

import torch
from torch import nn

from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.training import evaluate_classifier, fit_classifier
from test import QDeepTestCase


def make_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 3))


class TestFitClassifier(QDeepTestCase):
    """Training, evaluation and bit-identical resume."""

    def setUp(self):
        super().setUp()
        self.x = torch.tensor(self.rng.normal(size=(60, 4)), dtype=torch.float32)
        self.y = (self.x[:, 0] > 0).long() + (self.x[:, 1] > 0.5).long()

    def test_learns_and_records(self):
        model = make_model(0)
        history = fit_classifier(
            model,
            self.x,
            self.y,
            epochs=40,
            batch_size=16,
            lr=0.05,
            eval_data=(self.x, self.y),
            progress=False,
        )
        self.assertEqual(len(history.train_loss), 40)
        self.assertLess(history.train_loss[-1], history.train_loss[0])
        accuracy, _ = evaluate_classifier(model, self.x, self.y)
        self.assertGreater(accuracy, 0.8)
        self.assertEqual(history.test_accuracy[-1], accuracy)

    def test_resume_is_bit_identical(self):
        for schedule in ("constant", "cosine"):
            with self.subTest(schedule=schedule):
                self._resume(schedule)

    def _resume(self, schedule):
        straight = make_model(1)
        ref = fit_classifier(
            straight,
            self.x,
            self.y,
            epochs=4,
            seed=3,
            progress=False,
            loss="mse",
            lr_schedule=schedule,
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ckpt.pt")
            first = make_model(1)
            fit_classifier(
                first,
                self.x,
                self.y,
                epochs=4,
                seed=3,
                progress=False,
                loss="mse",
                checkpoint=path,
                stop_after=2,
                lr_schedule=schedule,
            )
            resumed = make_model(99)  # weights come from the checkpoint
            history = fit_classifier(
                resumed,
                self.x,
                self.y,
                epochs=4,
                seed=3,
                progress=False,
                loss="mse",
                checkpoint=path,
                lr_schedule=schedule,
            )
        self.assertEqual(len(history.train_loss), 4)
        self.assertEqual(history.train_loss, ref.train_loss)
        for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
            self.assertTrue(torch.equal(a, b))

    def test_bad_input(self):
        model = make_model(0)
        with self.assertRaisesRegex(QDeepValueError, "loss must be"):
            fit_classifier(model, self.x, self.y, epochs=1, loss="hinge")
        with self.assertRaisesRegex(QDeepValueError, "lr_schedule"):
            fit_classifier(model, self.x, self.y, epochs=1, lr_schedule="step")
        with self.assertRaisesRegex(QDeepValueError, "equal length"):
            fit_classifier(model, self.x, self.y[:5], epochs=1)
        bad = self.x.clone()
        bad[0, 0] = float("nan")
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            fit_classifier(model, bad, self.y, epochs=1)
