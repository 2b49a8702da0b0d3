# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The checkpointing training loop resumes exactly."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from torch import nn

from qiskit_qdeep.exceptions import (
    CheckpointError,
    PrimitiveJobError,
    QDeepTypeError,
    QDeepValueError,
)
from qiskit_qdeep.nn import QuantumLayer
from qiskit_qdeep.primitives import RetryPolicy, TorchStatevectorEstimator
from qiskit_qdeep.training import evaluate_classifier, fit_classifier
from test import QDeepTestCase
from test.reliability.flaky_primitives import FlakyEstimator


def make_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 3))


def make_quantum_model(estimator, seed=5):
    """Linear -> dropout -> 2-qubit parameter-shift QuantumLayer -> Linear."""
    x, w = ParameterVector("x", 2), ParameterVector("w", 4)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    qc.ry(w[0], 0)
    qc.ry(w[1], 1)
    qc.cx(0, 1)
    qc.rx(w[2], 0)
    qc.rx(w[3], 1)
    torch.manual_seed(seed)
    quantum = QuantumLayer(
        qc,
        ["ZI", "IZ"],
        x,
        w,
        estimator=estimator,
        gradient="parameter-shift",
        seed=seed,
        retry=RetryPolicy(max_retries=1, backoff=0.0),
    )
    return nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.3), quantum, nn.Linear(2, 3))


def assert_same_weights(case, a, b):
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        case.assertTrue(torch.equal(p, q), msg=name)


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

    def test_stop_after_batches_resumes_mid_epoch(self):
        """Stops in the middle of epochs (dropout RNG, data order, totals) and resumes exactly."""
        kwargs = {"epochs": 3, "batch_size": 16, "seed": 7, "progress": False}
        straight = make_model(2)
        ref = fit_classifier(straight, self.x, self.y, eval_data=(self.x, self.y), **kwargs)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ckpt.pt")
            calls = 0
            for stop in (3, 2, 5, 100):  # 4 batches per epoch: stops at 3, 5 (mid-epoch), 10
                # same initial weights at first; later the weights come from the checkpoint
                model = make_model(2 if calls == 0 else 40 + stop)
                history = fit_classifier(
                    model,
                    self.x,
                    self.y,
                    eval_data=(self.x, self.y),
                    checkpoint=path,
                    stop_after_batches=stop,
                    **kwargs,
                )
                calls += 1
        self.assertEqual(calls, 4)
        self.assertEqual(history.train_loss, ref.train_loss)
        self.assertEqual(history.train_accuracy, ref.train_accuracy)
        self.assertEqual(history.test_loss, ref.test_loss)
        assert_same_weights(self, straight, model)

    def test_primitive_failure_checkpoints_and_resumes_bit_identically(self):
        """A parameter-shift layer whose estimator fails mid-epoch; resume on a working one."""
        x = torch.tensor(self.rng.normal(size=(24, 4)))
        y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
        kwargs = {"epochs": 2, "batch_size": 8, "seed": 11, "progress": False, "lr": 0.05}
        exact = TorchStatevectorEstimator(seed=0)
        straight = make_quantum_model(exact)
        ref = fit_classifier(straight, x, y, **kwargs)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "run.ckpt")
            # jobs 1-3: epoch 1, job 4: first batch of epoch 2, job 5 fails (and its retry)
            flaky = FlakyEstimator(TorchStatevectorEstimator(seed=0), failures=10, start=5)
            broken = make_quantum_model(flaky)
            with self.assertRaises(PrimitiveJobError) as caught:
                fit_classifier(broken, x, y, checkpoint=path, **kwargs)
            message = caught.exception.message
            self.assertIn(path, message)
            self.assertIn("epoch 2, sample 8", message)
            self.assertIn("call fit_classifier again", message)
            self.assertIsInstance(caught.exception.cause, RuntimeError)
            self.assertEqual(flaky.calls, 6)  # 4 good jobs, the failing one and its retry
            state = torch.load(path, weights_only=True)
            self.assertEqual((state["epoch"], state["position"]["begin"]), (1, 8))
            resumed = make_quantum_model(TorchStatevectorEstimator(seed=0), seed=99)
            history = fit_classifier(resumed, x, y, checkpoint=path, **kwargs)
        self.assertEqual(history.train_loss, ref.train_loss)
        assert_same_weights(self, straight, resumed)
        # without a checkpoint path the error says how to get one
        flaky = FlakyEstimator(failures=10, start=2)
        with self.assertRaisesRegex(PrimitiveJobError, "Pass checkpoint=<path>"):
            fit_classifier(make_quantum_model(flaky), x, y, **kwargs)

    def test_failure_during_evaluation(self):
        x = torch.tensor(self.rng.normal(size=(16, 4)))
        y = (x[:, 0] > 0).long()
        kwargs = {"epochs": 2, "batch_size": 8, "seed": 1, "progress": False}
        straight = make_quantum_model(TorchStatevectorEstimator(seed=0))
        ref = fit_classifier(straight, x, y, eval_data=(x, y), **kwargs)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "eval.ckpt")
            flaky = FlakyEstimator(failures=2, start=3)  # job 3 = evaluation after epoch 1
            with self.assertRaisesRegex(PrimitiveJobError, "epoch 1; the state"):
                fit_classifier(
                    make_quantum_model(flaky), x, y, eval_data=(x, y), checkpoint=path, **kwargs
                )
            resumed = make_quantum_model(TorchStatevectorEstimator(seed=0), seed=3)
            history = fit_classifier(resumed, x, y, eval_data=(x, y), checkpoint=path, **kwargs)
        self.assertEqual(history.to_dict()["test_loss"], ref.test_loss)
        self.assertEqual(history.train_loss, ref.train_loss)
        assert_same_weights(self, straight, resumed)

    def test_resume_with_another_lr_raises_or_uses_it(self):
        """Resuming used to train silently with the checkpoint's lr; now it is an error, or the
        new lr with allow_changed_hyperparameters=True (and a warning)."""
        kwargs = {"epochs": 2, "batch_size": 16, "seed": 3, "progress": False}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ckpt.pt")
            fit_classifier(make_model(1), self.x, self.y, checkpoint=path, stop_after=1, **kwargs)
            content = open(path, "rb").read()
            with self.assertRaisesRegex(CheckpointError, "lr: checkpoint 0.01, now 0.1") as caught:
                fit_classifier(make_model(1), self.x, self.y, checkpoint=path, lr=0.1, **kwargs)
            self.assertIn(path, str(caught.exception))
            self.assertEqual(open(path, "rb").read(), content)
            model = make_model(1)
            optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
            with self.assertWarnsRegex(UserWarning, "the new values are used: lr"):
                history = fit_classifier(
                    model,
                    self.x,
                    self.y,
                    checkpoint=path,
                    optimizer=optimizer,
                    allow_changed_hyperparameters=True,
                    **kwargs,
                )
        self.assertEqual(len(history.train_loss), 2)
        self.assertEqual(optimizer.param_groups[0]["lr"], 0.1)

    def test_checkpoint_of_another_model_or_file_kind(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ckpt.pt")
            torch.save(make_model(0).state_dict(), path)  # a state_dict, not a checkpoint
            with self.assertRaisesRegex(CheckpointError, "plain dict of tensors"):
                fit_classifier(make_model(0), self.x, self.y, epochs=1, checkpoint=path)
            os.remove(path)
            fit_classifier(make_model(0), self.x, self.y, epochs=1, checkpoint=path, progress=False)
            other = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
            with self.assertRaisesRegex(CheckpointError, "another model architecture"):
                fit_classifier(other, self.x, self.y, epochs=2, checkpoint=path)
            with self.assertRaisesRegex(CheckpointError, "is a directory"):
                fit_classifier(make_model(0), self.x, self.y, epochs=1, checkpoint=tmp)

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
        with self.assertRaisesRegex(QDeepValueError, "stop_after_batches needs a checkpoint"):
            fit_classifier(model, self.x, self.y, epochs=1, stop_after_batches=1)
        with self.assertRaisesRegex(QDeepTypeError, "targets must be integer class labels"):
            fit_classifier(model, self.x, self.y + 0.5, epochs=1)
        with self.assertRaisesRegex(QDeepValueError, "batch_size must be an integer >= 1"):
            evaluate_classifier(model, self.x, self.y, batch_size=0)
        with self.assertRaisesRegex(QDeepTypeError, "inputs must be real"):
            fit_classifier(model, self.x.to(torch.complex64), self.y, epochs=1)
        with self.assertRaisesRegex(QDeepValueError, "targets must be class labels >= 0"):
            fit_classifier(model, self.x, self.y - 1, epochs=1)
        with self.assertRaisesRegex(QDeepValueError, "non-empty"):
            evaluate_classifier(model, np.zeros((0, 4)), np.zeros(0, dtype=int))
