# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Every checkpoint of the package is safe and strict (issue 13).

``fit_classifier`` and ``QuantumDeepClustering.fit`` read checkpoints with
``torch.load(weights_only=True)``; a crafted, empty, truncated, corrupt, foreign or mismatched
file, a resume with other settings and an unwritable path raise a :class:`CheckpointError`
naming the file, before the model, the file or an epoch of work is touched.
"""

from __future__ import annotations

import builtins
import os
import pickle
import tempfile
from unittest import mock

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from torch import nn

from qiskit_qdeep import training
from qiskit_qdeep.clustering import ClassicalDeepClustering, QuantumDeepClustering
from qiskit_qdeep.exceptions import CheckpointError, QDeepValueError, QiskitQDeepError
from qiskit_qdeep.training import fit_classifier
from test import QDeepTestCase

PWNED = "_qiskit_qdeep_checkpoint_pwned"


class Exploit:
    """Unpickling this runs code (it sets a flag on ``builtins``)."""

    def __reduce__(self):
        return (exec, (f"import builtins; builtins.{PWNED} = True",))


class Counting(nn.Module):
    """A tiny classifier that counts its forward passes (training work)."""

    def __init__(self, seed: int = 0, hidden: int = 6, act: type = nn.ReLU):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(4, hidden), act(), nn.Linear(hidden, 3))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


SECRET = "SECRET-TOKEN-0c5e7a1d"


class Service:
    """Stands for a runtime service whose repr holds a credential."""

    def __repr__(self):
        return f"Service(token={SECRET!r})"


class ServiceKMeans(ClusterMixin, BaseEstimator):
    """A clusterer with an object parameter (as QMeans holds a sampler)."""

    def __init__(self, n_clusters=3, service=None, random_state=None):
        self.n_clusters = n_clusters
        self.service = service
        self.random_state = random_state

    def fit_predict(self, X, y=None):
        self.kmeans_ = KMeans(self.n_clusters, n_init=1, random_state=self.random_state).fit(X)
        return self.kmeans_.labels_

    def predict(self, X):
        return self.kmeans_.predict(X)


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def clustering(cls=QuantumDeepClustering, **kwargs) -> QuantumDeepClustering:
    """A deep-clustering run of well under a second (flat data, linear extractor and head)."""
    params = dict(
        feature_extractor=nn.Sequential(nn.Linear(6, 4), nn.ReLU()),
        feature_dim=4,
        head="linear",
        clusterer=KMeans(3, n_init=1),
        pca_components=2,
        epochs=2,
        batch_size=8,
        head_warmup_steps=1,
        random_state=0,
        progress=False,
    )
    params.update(kwargs)
    return cls(3, **params)


class CheckpointCase(QDeepTestCase):
    def setUp(self):
        super().setUp()
        self.x = torch.tensor(self.rng.normal(size=(24, 4)), dtype=torch.float32)
        self.y = (self.x[:, 0] > 0).long() + (self.x[:, 1] > 0.5).long()
        self.flat = self.rng.normal(size=(30, 6))
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name
        self.addCleanup(self._tmp.cleanup)
        self.kwargs = {"epochs": 2, "batch_size": 8, "seed": 3, "progress": False}

    def fit(self, model, path, **kwargs):
        return fit_classifier(model, self.x, self.y, checkpoint=path, **{**self.kwargs, **kwargs})

    def checkpoint(self, name="ckpt.pt", **kwargs) -> str:
        """A genuine fit_classifier checkpoint after one of two epochs."""
        path = os.path.join(self.tmp, name)
        self.fit(Counting(), path, stop_after=1, **kwargs)
        return path

    def assertCheckpointError(self, call, path, *fragments):
        """``call()`` raises a CheckpointError naming ``path`` and each fragment."""
        with self.assertRaises(CheckpointError) as caught:
            call()
        error = caught.exception
        self.assertIsInstance(error, QDeepValueError)
        self.assertIsInstance(error, QiskitQDeepError)
        self.assertIsInstance(error, ValueError)
        self.assertIn(os.fspath(path), str(error))
        for fragment in fragments:
            self.assertIn(fragment, str(error))
        return error


class TestUntrustedFiles(CheckpointCase):
    """Requirements 1 and 2: no code runs; damaged or foreign files raise CheckpointError."""

    def tearDown(self):
        if hasattr(builtins, PWNED):
            delattr(builtins, PWNED)
        super().tearDown()

    def crafted_files(self):
        via_torch = os.path.join(self.tmp, "crafted-torch.pt")
        torch.save({"model": Exploit(), "epoch": 1}, via_torch)
        via_pickle = os.path.join(self.tmp, "crafted-pickle.pt")
        with open(via_pickle, "wb") as handle:
            pickle.dump({"model": Exploit()}, handle)
        return via_torch, via_pickle

    def test_crafted_pickle_runs_no_code_fit_classifier(self):
        for path in self.crafted_files():
            with self.subTest(path=os.path.basename(path)):
                model = Counting()
                before = weights(model)
                self.assertCheckpointError(
                    lambda: self.fit(model, path), path, "without being unpickled"
                )
                self.assertFalse(hasattr(builtins, PWNED))
                self.assertTrue(same_weights(before, weights(model)))
                self.assertEqual(model.calls, 0)

    def test_crafted_torch_file_names_the_forbidden_global(self):
        path = self.crafted_files()[0]
        self.assertCheckpointError(
            lambda: self.fit(Counting(), path), path, "could run code", "GLOBAL exec"
        )
        self.assertFalse(hasattr(builtins, PWNED))

    def test_crafted_pickle_runs_no_code_deep_clustering(self):
        for path in self.crafted_files():
            with self.subTest(path=os.path.basename(path)):
                model = clustering(checkpoint=path)
                self.assertCheckpointError(
                    lambda: model.fit(self.flat), path, "without being unpickled"
                )
                self.assertFalse(hasattr(builtins, PWNED))
                self.assertFalse(hasattr(model, "model_"))

    def damaged_files(self, genuine: str) -> dict[str, tuple[str, str]]:
        """name -> (path, expected fragments of the message)."""
        data = open(genuine, "rb").read()
        files = {
            "empty": (b"", "is empty (0 bytes)"),
            "truncated": (data[: len(data) // 2], "corrupt or truncated"),
            "tail cut": (data[:-20], "corrupt or truncated"),
            "garbage": (b"not a torch file at all\n" * 20, "corrupt or truncated"),
            "flipped bytes": (data[:100] + bytes(b ^ 0xFF for b in data[100:300]) + data[300:], ""),
        }
        out = {}
        for name, (content, fragment) in files.items():
            path = os.path.join(self.tmp, name.replace(" ", "-") + ".pt")
            with open(path, "wb") as handle:
                handle.write(content)
            out[name] = (path, (fragment,))
        foreign = {
            "dict": ({"a": 1}, "not a fit_classifier checkpoint", "keys [a]"),
            "state_dict": (Counting().state_dict(), "plain dict of tensors (a state_dict?)", ""),
            "list": ([1, 2, 3], "it holds a list", ""),
            "tensor": (torch.zeros(3), "it holds a Tensor", ""),
        }
        for name, (obj, fragment, more) in foreign.items():
            path = os.path.join(self.tmp, f"foreign-{name}.pt")
            torch.save(obj, path)
            out[f"foreign {name}"] = (path, (fragment, more))
        return out

    def test_damaged_and_foreign_files_fit_classifier(self):
        genuine = self.checkpoint()
        for name, (path, fragments) in self.damaged_files(genuine).items():
            with self.subTest(name):
                content = open(path, "rb").read()
                model = Counting(seed=5)
                before = weights(model)
                self.assertCheckpointError(lambda: self.fit(model, path), path, *fragments)
                self.assertTrue(same_weights(before, weights(model)))  # nothing loaded
                self.assertEqual(model.calls, 0)  # nothing trained
                self.assertEqual(open(path, "rb").read(), content)  # the file is kept

    def test_damaged_and_foreign_files_deep_clustering(self):
        genuine = os.path.join(self.tmp, "genuine-dc.pt")
        clustering(checkpoint=genuine, epochs=1).fit(self.flat)
        for name, (path, fragments) in self.damaged_files(genuine).items():
            with self.subTest(name):
                fragments = [f.replace("fit_classifier", "deep-clustering") for f in fragments]
                content = open(path, "rb").read()
                model = clustering(checkpoint=path)
                self.assertCheckpointError(lambda: model.fit(self.flat), path, *fragments)
                self.assertEqual(open(path, "rb").read(), content)

    def test_bit_rot_in_the_weights(self):
        """A flipped byte of a weight loads silently from the zip container; not from ours."""
        path = self.checkpoint()
        state = torch.load(path, weights_only=True)
        marker = state["model"]["net.0.weight"].numpy().tobytes()
        data = bytearray(open(path, "rb").read())
        offset = bytes(data).index(marker) + 5
        data[offset] ^= 0x40
        with open(path, "wb") as handle:
            handle.write(data)
        damaged = torch.load(path, weights_only=True)["model"]["net.0.weight"]
        self.assertFalse(torch.equal(damaged, state["model"]["net.0.weight"]))  # loads silently
        model = Counting(seed=5)
        before = weights(model)
        self.assertCheckpointError(
            lambda: self.fit(model, path), path, "does not match its checksum"
        )
        self.assertTrue(same_weights(before, weights(model)))
        clustered = os.path.join(self.tmp, "dc.pt")
        clustering(checkpoint=clustered, epochs=1).fit(self.flat)
        state = torch.load(clustered, weights_only=True)
        torch.save({**state, "epoch": 0}, clustered)  # edited without a new checksum
        self.assertCheckpointError(
            lambda: clustering(checkpoint=clustered).fit(self.flat), clustered, "checksum"
        )

    def test_malformed_entries(self):
        """A checkpoint of the right format with broken entries: errors, not KeyErrors."""
        genuine = self.checkpoint()
        state = torch.load(genuine, weights_only=True)
        cases = {
            "epoch": ({"epoch": "one"}, "invalid epoch"),
            "history": ({"history": {"train_loss": "x"}}, "malformed history"),
            "history length": (
                {"history": {**state["history"], "train_loss": [0.1, 0.2]}},
                "2 train_loss entries for 1 completed epochs",
            ),
            "generator": ({"generator": torch.zeros(3)}, "data-order generator"),
            "rng": ({"torch_rng": torch.zeros(3, dtype=torch.uint8)}, "torch RNG state"),
            "optimizer": ({"optimizer": {"lr": 1}}, "malformed optimizer"),
            "version": ({"version": 99}, "version 99"),
            "settings missing": ({"settings": None}, "malformed settings"),
        }
        for name, (change, fragment) in cases.items():
            with self.subTest(name):
                path = os.path.join(self.tmp, f"malformed-{name.replace(' ', '-')}.pt")
                changed = {**state, **change}
                torch.save({**changed, "checksum": training._checksum(changed)}, path)
                model = Counting(seed=5)
                before = weights(model)
                self.assertCheckpointError(lambda: self.fit(model, path), path, fragment)
                self.assertTrue(same_weights(before, weights(model)))
        path = os.path.join(self.tmp, "incomplete.pt")
        torch.save({k: v for k, v in state.items() if k != "optimizer"}, path)
        self.assertCheckpointError(lambda: self.fit(Counting(), path), path, "'optimizer'")


class TestMismatch(CheckpointCase):
    """Requirement 2: checkpoints of another model architecture."""

    def test_other_shapes_and_names(self):
        path = self.checkpoint()
        content = open(path, "rb").read()
        wider = Counting(hidden=7)
        before = weights(wider)
        self.assertCheckpointError(
            lambda: self.fit(wider, path),
            path,
            "another model architecture",
            "net.0.weight has shape (6, 4) in the checkpoint, (7, 4) in the model",
        )
        self.assertTrue(same_weights(before, weights(wider)))
        self.assertEqual(wider.calls, 0)
        other = nn.Sequential(nn.Linear(4, 3))
        self.assertCheckpointError(
            lambda: fit_classifier(other, self.x, self.y, checkpoint=path, **self.kwargs),
            path,
            "missing ['0.weight', '0.bias']",
            "unexpected ['net.0.weight'",
        )
        self.assertEqual(open(path, "rb").read(), content)

    def test_other_layer_types(self):
        """Same parameters, other layers (ReLU -> Tanh): a changed setting, not silent."""
        path = self.checkpoint()
        self.assertCheckpointError(
            lambda: self.fit(Counting(act=nn.Tanh), path),
            path,
            "model: [3] checkpoint 'net.1: ReLU', now 'net.1: Tanh'",
        )

    def test_other_optimizer_groups(self):
        path = self.checkpoint()
        model = Counting()
        optimizer = torch.optim.Adam(
            [{"params": model.net[0].parameters()}, {"params": model.net[2].parameters()}]
        )
        self.assertCheckpointError(
            lambda: self.fit(model, path, optimizer=optimizer), path, "parameter groups of [4]"
        )

    def test_deep_clustering_other_network(self):
        path = os.path.join(self.tmp, "dc.pt")
        clustering(checkpoint=path, epochs=1).fit(self.flat)
        wider = clustering(
            checkpoint=path,
            feature_extractor=nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4)),
        )
        self.assertCheckpointError(
            lambda: wider.fit(self.flat), path, "another network architecture", "features.2.weight"
        )
        quantum = clustering(checkpoint=path, head="quantum", num_qubits=2, head_width=4)
        self.assertCheckpointError(lambda: quantum.fit(self.flat), path, "missing ['body.0.weight'")
        classical = clustering(ClassicalDeepClustering, checkpoint=path)
        self.assertCheckpointError(
            lambda: classical.fit(self.flat),
            path,
            "estimator: checkpoint 'QuantumDeepClustering', now 'ClassicalDeepClustering'",
        )


class TestChangedSettings(CheckpointCase):
    """Requirement 3: resuming with other hyper-parameters raises, or warns when allowed."""

    def test_each_changed_setting_is_named(self):
        path = self.checkpoint()
        other_x = self.x.clone()
        other_x[0, 0] += 1
        cases = {
            "lr": ({"lr": 0.05}, "lr: checkpoint 0.01, now 0.05"),
            "batch_size": ({"batch_size": 4}, "batch_size: checkpoint 8, now 4"),
            "seed": ({"seed": 4}, "seed: checkpoint 3, now 4"),
            "loss": ({"loss": "mse"}, "loss: checkpoint 'cross_entropy', now 'mse'"),
            "schedule": (
                {"lr_schedule": "cosine"},
                "lr_schedule: checkpoint 'constant', now 'cosine'",
            ),
            "eval_data": ({"eval_data": (self.x, self.y)}, "eval_data: checkpoint None, now"),
        }
        for name, (change, fragment) in cases.items():
            with self.subTest(name):
                model = Counting(seed=5)
                before = weights(model)
                self.assertCheckpointError(
                    lambda: self.fit(model, path, **change),
                    path,
                    fragment,
                    "allow_changed_hyperparameters=True",
                )
                self.assertTrue(same_weights(before, weights(model)))
                self.assertEqual(model.calls, 0)
        with self.assertRaises(CheckpointError) as caught:
            fit_classifier(Counting(), other_x, self.y, checkpoint=path, **self.kwargs)
        self.assertRegex(
            str(caught.exception), r"inputs: checkpoint 'shape \(24, 4\), torch.float32"
        )

    def test_several_changes_and_optimizer_settings(self):
        path = self.checkpoint(lr=0.02)
        model = Counting()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=1e-3)
        error = self.assertCheckpointError(
            lambda: self.fit(model, path, optimizer=optimizer, batch_size=6),
            path,
            "weight_decay: checkpoint 0, now 0.001",
            "batch_size: checkpoint 8, now 6",
        )
        self.assertNotIn("lr:", str(error))
        sgd = torch.optim.SGD(model.parameters(), lr=0.02)
        self.assertCheckpointError(
            lambda: self.fit(model, path, optimizer=sgd),
            path,
            "optimizer: checkpoint 'Adam', now 'SGD'",
        )

    def test_epochs(self):
        """Constant schedule: epochs may grow (bit-identical); cosine: epochs is a setting."""
        straight = Counting()
        ref = fit_classifier(straight, self.x, self.y, **{**self.kwargs, "epochs": 4})
        path = os.path.join(self.tmp, "grow.pt")
        self.fit(Counting(), path, epochs=2)
        model = Counting(seed=9)
        history = self.fit(model, path, epochs=4)
        self.assertEqual(history.train_loss, ref.train_loss)
        self.assertTrue(same_weights(weights(straight), weights(model)))
        self.assertCheckpointError(
            lambda: self.fit(Counting(), path, epochs=3), path, "already holds 4 completed epochs"
        )
        cosine = self.checkpoint("cosine.pt", lr_schedule="cosine", epochs=4)
        self.assertCheckpointError(
            lambda: self.fit(Counting(), cosine, lr_schedule="cosine", epochs=6),
            cosine,
            "epochs: checkpoint 4, now 6",
        )

    def test_allowed_changes_use_the_new_values(self):
        path = self.checkpoint()
        model = Counting()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        with self.assertWarnsRegex(UserWarning, "lr: checkpoint 0.01, now 0.05") as caught:
            history = self.fit(model, path, optimizer=optimizer, allow_changed_hyperparameters=True)
        self.assertIn(path, str(caught.warning))
        self.assertEqual(len(history.train_loss), 2)
        self.assertEqual(optimizer.param_groups[0]["lr"], 0.05)  # not the checkpoint's 0.01
        self.assertEqual(torch.load(path, weights_only=True)["settings"]["lr"], 0.05)
        self.assertGreater(model.calls, 0)
        self.fit(Counting(), path, lr=0.05)  # the new settings are now the recorded ones

    def test_allowed_changes_with_cosine_schedule(self):
        path = self.checkpoint(lr_schedule="cosine", epochs=4)  # stopped after epoch 1
        model = Counting()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.08)
        with self.assertWarnsRegex(UserWarning, "lr: checkpoint 0.01, now 0.08"):
            self.fit(
                model,
                path,
                optimizer=optimizer,
                lr_schedule="cosine",
                epochs=4,
                stop_after=1,
                allow_changed_hyperparameters=True,
            )
        # after epoch 2 of 4: 0.08 * (1 + cos(pi / 2)) / 2
        self.assertAlmostEqual(optimizer.param_groups[0]["lr"], 0.04, places=12)

    def test_allowed_seed_change_reseeds(self):
        path = self.checkpoint()
        with self.assertWarnsRegex(UserWarning, "seed: checkpoint 3, now 4"):
            a = self.fit(Counting(), path, seed=4, allow_changed_hyperparameters=True)
        self.assertEqual(len(a.train_loss), 2)

    def test_legacy_checkpoint_resumes_with_a_warning(self):
        """A checkpoint of the previous release (no format, no settings) still resumes exactly."""
        straight = Counting()
        ref = fit_classifier(straight, self.x, self.y, **self.kwargs)
        path = self.checkpoint()
        state = torch.load(path, weights_only=True)
        for key in ("format", "version", "settings"):
            del state[key]
        torch.save(state, path)
        model = Counting(seed=7)
        with self.assertWarnsRegex(UserWarning, "older qiskit-qdeep"):
            history = self.fit(model, path)
        self.assertEqual(history.train_loss, ref.train_loss)
        self.assertTrue(same_weights(weights(straight), weights(model)))

    def test_deep_clustering_changed_settings(self):
        path = os.path.join(self.tmp, "dc.pt")
        clustering(checkpoint=path, epochs=1).fit(self.flat)
        cases = {
            "lr": ({"lr": 1e-2}, "lr: checkpoint 0.001, now 0.01"),
            "random_state": ({"random_state": 1}, "random_state: checkpoint 0, now 1"),
            "batch_size": ({"batch_size": 4}, "batch_size: checkpoint 8, now 4"),
            "clusterer": ({"clusterer": KMeans(3, n_init=2)}, "clusterer: checkpoint"),
            "head_warmup_steps": ({"head_warmup_steps": 0}, "head_warmup_steps: checkpoint 1"),
        }
        for name, (change, fragment) in cases.items():
            with self.subTest(name):
                model = clustering(checkpoint=path, **change)
                self.assertCheckpointError(
                    lambda: model.fit(self.flat),
                    path,
                    fragment,
                    "allow_changed_hyperparameters=True to QuantumDeepClustering.fit",
                )
        self.assertCheckpointError(
            lambda: clustering(checkpoint=path).fit(self.flat[::-1].copy()), path, "X: checkpoint"
        )
        labels = np.arange(30) % 3
        self.assertCheckpointError(
            lambda: clustering(checkpoint=path).fit(self.flat, labels), path, "y: checkpoint None"
        )
        self.assertCheckpointError(
            lambda: clustering(checkpoint=path, epochs=0).fit(self.flat),
            path,
            "already holds 1 epochs",
        )
        model = clustering(checkpoint=path, lr=1e-2)
        with self.assertWarnsRegex(UserWarning, "lr: checkpoint 0.001, now 0.01"):
            model.fit(self.flat, allow_changed_hyperparameters=True)
        self.assertEqual(len(model.history_.train_loss), 2)
        self.assertEqual(torch.load(path, weights_only=True)["settings"]["lr"], 1e-2)


class TestNoSecrets(CheckpointCase):
    """Settings record objects by type only: no repr (which may hold a token) is written."""

    def test_clusterer_with_a_service(self):
        path = os.path.join(self.tmp, "dc.pt")
        clustering(checkpoint=path, clusterer=ServiceKMeans(service=Service())).fit(self.flat)
        self.assertNotIn(SECRET.encode(), open(path, "rb").read())
        settings = torch.load(path, weights_only=True)["settings"]
        self.assertEqual(settings["clusterer"], "ServiceKMeans(n_clusters=3, service='<Service>')")


class TestWritablePath(CheckpointCase):
    """Requirement 4: an unwritable path fails before any training work."""

    def bad_paths(self):
        blocker = os.path.join(self.tmp, "a-file")
        with open(blocker, "w") as handle:
            handle.write("x")
        folder = os.path.join(self.tmp, "a-folder")
        os.mkdir(folder)
        return {
            "a directory": (folder, "is a directory"),
            "parent is a file": (
                os.path.join(blocker, "sub", "ckpt.pt"),
                "does not exist and cannot be created",
            ),
        }

    def test_fit_classifier(self):
        for name, (path, fragment) in self.bad_paths().items():
            with self.subTest(name):
                model = Counting()
                self.assertCheckpointError(lambda: self.fit(model, path), path, fragment)
                self.assertEqual(model.calls, 0)

    def test_read_only_folder(self):
        folder = os.path.join(self.tmp, "read-only")
        os.mkdir(folder)
        path = os.path.join(folder, "ckpt.pt")
        denied = PermissionError(13, "Permission denied")
        model = Counting()
        with mock.patch("qiskit_qdeep.training.open", side_effect=denied, create=True):
            self.assertCheckpointError(
                lambda: self.fit(model, path), path, "cannot be written", "Permission denied"
            )
        self.assertEqual(model.calls, 0)
        if os.geteuid() != 0:  # root writes into read-only folders
            os.chmod(folder, 0o500)
            try:
                self.assertCheckpointError(lambda: self.fit(model, path), path, "cannot be written")
            finally:
                os.chmod(folder, 0o700)
            self.assertEqual(model.calls, 0)
        self.assertEqual(os.listdir(folder), [])  # the probe left nothing behind

    def test_missing_folder_is_created(self):
        path = os.path.join(self.tmp, "new", "deeper", "ckpt.pt")
        self.fit(Counting(), path)
        self.assertEqual(os.listdir(os.path.dirname(path)), ["ckpt.pt"])

    def test_deep_clustering(self):
        for name, (path, fragment) in self.bad_paths().items():
            with self.subTest(name):
                model = clustering(checkpoint=path)
                with mock.patch.object(model, "_build", side_effect=AssertionError("built")):
                    self.assertCheckpointError(lambda: model.fit(self.flat), path, fragment)

    def test_bad_path_type(self):
        with self.assertRaisesRegex(TypeError, "checkpoint must be a path"):
            self.fit(Counting(), 3)


class TestAtomicWrites(CheckpointCase):
    """Requirement 5: a failed write leaves the previous checkpoint intact."""

    def test_failed_write_keeps_the_previous_checkpoint(self):
        path = self.checkpoint()
        content = open(path, "rb").read()
        real_save = torch.save

        def half_then_fail(state, handle):
            real_save(state, handle)
            handle.truncate(100)
            raise OSError(28, "No space left on device")

        with mock.patch.object(training.torch, "save", side_effect=half_then_fail):
            self.assertCheckpointError(
                lambda: self.fit(Counting(), path), path, "No space left on device", "unchanged"
            )
        self.assertEqual(open(path, "rb").read(), content)
        self.assertEqual(os.listdir(self.tmp), ["ckpt.pt"])  # no temporary file left
        self.fit(Counting(), path)  # and it still resumes

    def test_written_through_a_temporary_file_in_the_same_folder(self):
        path = os.path.join(self.tmp, "ckpt.pt")
        replaced = []
        real_replace = os.replace

        def record(src, dst):
            replaced.append((src, dst))
            self.assertTrue(os.path.getsize(src) > 0)
            return real_replace(src, dst)

        with mock.patch.object(training.os, "replace", side_effect=record):
            self.fit(Counting(), path)
        self.assertEqual(len(replaced), 2)  # one per epoch
        for src, dst in replaced:
            self.assertEqual(dst, path)
            self.assertEqual(os.path.dirname(os.path.abspath(src)), self.tmp)
        self.assertEqual(os.listdir(self.tmp), ["ckpt.pt"])
        state = torch.load(path, weights_only=True)
        self.assertEqual((state["format"], state["version"]), ("qiskit_qdeep.fit_classifier", 1))
