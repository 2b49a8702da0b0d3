# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Data-parallel :func:`~qiskit_qdeep.training.fit_classifier` on ``torch.distributed`` (gloo).

Two worker processes (``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` in the environment,
as ``torchrun`` sets them) run every scenario in one launch, so the imports are paid once; the
test process compares what they saved with one-process runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import torch

from qiskit_qdeep.exceptions import CheckpointError
from qiskit_qdeep.training import fit_classifier
from test import QDeepTestCase

#: Shared by the workers and the reference runs of the test process.
COMMON = textwrap.dedent(
    """
    import torch
    from torch import nn
    from qiskit.circuit import ParameterVector
    from qiskit_qdeep.circuit.library import strongly_entangling_circuit
    from qiskit_qdeep.exceptions import PrimitiveJobError
    from qiskit_qdeep.nn import QuantumLayer

    class Fail(nn.Module):
        '''Identity that raises on its ``at``-th call when armed.'''

        def __init__(self, error=None, at=0):
            super().__init__()
            self.error, self.at, self.calls = error, at, 0

        def forward(self, x):
            self.calls += 1
            if self.error is not None and self.calls == self.at:
                raise self.error
            return x

    class RaiseInBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            raise RuntimeError("backward failed on purpose")

    class FailBackward(nn.Module):
        def __init__(self, armed):
            super().__init__()
            self.armed = armed

        def forward(self, x):
            return RaiseInBackward.apply(x) if self.armed else x

    def build(error=None, at=0, estimator=None):
        torch.manual_seed(0)
        x, w = ParameterVector("x", 2), ParameterVector("w", 6)
        qc = strongly_entangling_circuit(2, reps=1, input_params=x, weight_params=w)
        layer = QuantumLayer(qc, ["ZI", "IZ"], x, w, estimator=estimator, seed=0)
        return nn.Sequential(nn.Linear(3, 2), layer, Fail(error, at), nn.Linear(2, 2))

    def build_aer():
        # parameter-shift gradients on a seeded Aer estimator (exact expectation values)
        from qiskit_aer.primitives import EstimatorV2

        estimator = EstimatorV2(options={"backend_options": {"seed_simulator": 7}})
        return build(estimator=estimator)

    def data(n, seed):
        g = torch.Generator().manual_seed(seed)
        inputs = torch.rand(n, 3, generator=g, dtype=torch.float64)
        return inputs, (inputs.sum(1) > 1.5).long()

    # 13 samples, 4 per rank: global batches of 8 and 5 (3 + 2: the ranks' losses are weighted)
    X, Y = data(13, 1)
    EVAL = data(5, 2)
    ARGS = dict(epochs=2, lr=0.05, seed=3, eval_data=EVAL, progress=False)
    """
)

WORKER = textwrap.dedent(
    """
    import datetime, os, shutil, sys, time
    import torch
    import torch.distributed as dist
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    from common import *
    import qiskit_qdeep.training as training
    from qiskit_qdeep.training import fit_classifier

    def params(model):
        return [p.detach().clone() for p in model.parameters()]

    def outcome(call):
        try:
            call()
        except Exception as exc:
            return [type(exc).__name__, str(exc)]
        return None

    def main(out):
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=120))
        rank = dist.get_rank()
        writes = []
        save, prepare = training._save_checkpoint, training._prepare_checkpoint_path
        training._save_checkpoint = lambda *a: (writes.append("save"), save(*a))[1]
        training._prepare_checkpoint_path = lambda *a: (writes.append("probe"), prepare(*a))[1]
        res = {}

        model = build()
        history = fit_classifier(model, X, Y, batch_size=4, **ARGS)
        res["equivalence"] = {"params": params(model), "history": history.to_dict()}
        model = build()  # 3 per rank: batches of 6, 6 and 1 (rank 1 has none in the last)
        fit_classifier(model, X, Y, batch_size=3, **{**ARGS, "epochs": 1})
        res["empty_share"] = params(model)

        folder = os.path.join(out, "run")
        ckpt = os.path.join(folder, "fit.pt")
        model = build()
        fit_classifier(model, X, Y, batch_size=4, checkpoint=ckpt, stop_after_batches=3, **ARGS)
        stat = os.stat(ckpt)
        res["stopped"] = {
            "listing": sorted(os.listdir(folder)), "mtime": stat.st_mtime_ns, "size": stat.st_size,
        }
        if rank == 0:
            shutil.copy(ckpt, os.path.join(out, "stopped.pt"))
        dist.barrier()  # both ranks saw the file before rank 0 rewrites it
        model = build()  # a fresh model, as after a restart
        history = fit_classifier(model, X, Y, batch_size=4, checkpoint=ckpt, **ARGS)
        res["resumed"] = {
            "params": params(model), "history": history.to_dict(),
            "listing": sorted(os.listdir(folder)), "writes": list(writes),
        }
        with open(ckpt, "rb") as handle:
            res["resumed"]["saved"] = torch.load(handle, weights_only=True)

        # an exception on rank 1 only, in the forward of the 2nd step
        model = build(ValueError("boom on rank 1") if rank == 1 else None, at=2)
        res["failure"] = outcome(lambda: fit_classifier(model, X, Y, batch_size=4, **ARGS))

        # a primitive failure on rank 1 in epoch 2: rank 0 saves the state before that batch
        failing = build(PrimitiveJobError("job failed", attempts=3) if rank == 1 else None, at=4)
        path = os.path.join(out, "primitive.pt")
        res["primitive"] = outcome(
            lambda: fit_classifier(failing, X, Y, batch_size=4, checkpoint=path, **ARGS)
        )
        model = build()
        fit_classifier(model, X, Y, batch_size=4, checkpoint=path, **ARGS)
        res["primitive_resumed"] = params(model)

        # every rank must pass the whole data set
        mine = (X[rank::2], Y[rank::2])
        res["sharded_data"] = outcome(lambda: fit_classifier(build(), *mine, batch_size=4, **ARGS))
        model = build_aer()
        fit_classifier(model, X, Y, batch_size=4, **{**ARGS, "epochs": 1, "eval_data": None})
        res["aer"] = params(model)
        torch.save(res, os.path.join(out, f"rank{rank}.pt"))

        # last: rank 1 raises inside DDP's backward and its process exits (its error is not
        # agreed on); rank 0 must end with an error too, long before the group's timeout
        model = nn.Sequential(build(), FailBackward(rank == 1))
        began = time.monotonic()
        ended = outcome(lambda: fit_classifier(model, X, Y, batch_size=4, **ARGS))
        with open(os.path.join(out, f"exit{rank}.txt"), "w") as handle:
            handle.write(f"{time.monotonic() - began:.1f} {ended}")

    if __name__ == "__main__":
        main(sys.argv[1])
        if dist.get_rank() == 1:
            sys.exit(3)  # as a script whose training raised
    """
)


TORCHRUN = textwrap.dedent(
    """
    import os, sys
    import torch
    import torch.distributed as dist
    torch.set_default_dtype(torch.float64)
    from common import *
    from qiskit_qdeep.training import fit_classifier

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    model = build()
    args = {**ARGS, "epochs": 1, "eval_data": None, "progress": True}
    fit_classifier(model, X, Y, batch_size=4, desc=f"bar of rank {rank}", **args)
    if rank == 0:
        torch.save([p.detach() for p in model.parameters()], sys.argv[1])
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(folder: str, script: str, *args: str, world_size: int = 2, timeout: float = 120):
    """Runs ``script`` in ``world_size`` processes with torchrun's environment variables.

    Returns:
        The exit codes and the outputs of the processes.
    """
    port = str(_free_port())
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
    env["WORLD_SIZE"] = str(world_size)
    env["PYTHONPATH"] = os.pathsep.join([folder, env.get("PYTHONPATH", "")])
    processes = [
        subprocess.Popen(
            [sys.executable, os.path.join(folder, script), *args],
            env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for rank in range(world_size)
    ]
    deadline = time.monotonic() + timeout
    outputs = []
    try:
        for process in processes:
            out, _ = process.communicate(timeout=max(deadline - time.monotonic(), 1))
            outputs.append(out.decode(errors="replace"))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [process.returncode for process in processes], outputs


class TestDataParallelFit(QDeepTestCase):
    """2 gloo processes x batch b against 1 process x batch 2b, resume, failures."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        folder = cls.tmp.name
        for name, text in (("common.py", COMMON), ("worker.py", WORKER)):
            with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
                handle.write(text)
        began = time.monotonic()
        codes, outputs = _launch(folder, "worker.py", folder)
        cls.seconds = time.monotonic() - began
        if codes != [0, 3]:  # rank 1 ends as a failed script (see the end of WORKER)
            raise AssertionError(f"workers failed ({codes}):\n" + "\n".join(outputs))
        cls.ranks = [
            torch.load(os.path.join(folder, f"rank{r}.pt"), weights_only=True) for r in range(2)
        ]
        sys.path.insert(0, folder)
        try:
            sys.modules.pop("common", None)  # the other class's copy
            import common  # noqa: PLC0415  (written above)
        finally:
            sys.path.remove(folder)
        cls.common = common

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)

    def tearDown(self):
        torch.set_default_dtype(self.dtype)
        super().tearDown()

    def reference(self, **kwargs):
        """One process, batch 2b = 8: the model and its history."""
        model = self.common.build()
        args = {**self.common.ARGS, **kwargs}
        history = fit_classifier(model, self.common.X, self.common.Y, batch_size=8, **args)
        return model, history

    def assertSameParams(self, actual, desired, atol):
        for a, d in zip(actual, desired, strict=True):
            self.assertAllClose(a, d, atol=atol)

    def test_two_processes_match_one_with_the_doubled_batch(self):
        model, history = self.reference()
        desired = [p.detach() for p in model.parameters()]
        for rank in (0, 1):
            run = self.ranks[rank]["equivalence"]
            self.assertEqual(run["params"][0].dtype, torch.float64)
            self.assertSameParams(run["params"], desired, atol=1e-6)
            self.assertSameParams(run["params"], desired, atol=1e-9)  # in fact: Adam of rounding
            got = run["history"]
            self.assertEqual(got["train_accuracy"], history.train_accuracy)
            self.assertEqual(got["test_accuracy"], history.test_accuracy)
            self.assertAllClose(got["train_loss"], history.train_loss, atol=1e-12)
            self.assertAllClose(got["test_loss"], history.test_loss, atol=1e-12)
        # the ranks hold the same (global) history, seconds included
        self.assertEqual(
            self.ranks[0]["equivalence"]["history"], self.ranks[1]["equivalence"]["history"]
        )
        # and training moved the weights (the comparison is not trivially true)
        start = [p.detach() for p in self.common.build().parameters()]
        self.assertGreater(max(float((a - b).abs().max()) for a, b in zip(desired, start)), 1e-3)

    def test_a_rank_without_samples_in_the_last_batch(self):
        model = self.common.build()
        args = {**self.common.ARGS, "epochs": 1}
        fit_classifier(model, self.common.X, self.common.Y, batch_size=6, **args)
        for rank in (0, 1):
            self.assertSameParams(self.ranks[rank]["empty_share"], list(model.parameters()), 1e-9)

    def test_parameter_shift_on_aer_trains_under_ddp(self):
        model = self.common.build_aer()
        self.assertIn("parameter-shift", repr(model[1]))
        args = {**self.common.ARGS, "epochs": 1, "eval_data": None}
        fit_classifier(model, self.common.X, self.common.Y, batch_size=8, **args)
        for rank in (0, 1):
            self.assertSameParams(self.ranks[rank]["aer"], list(model.parameters()), 1e-6)
        start = list(self.common.build().state_dict().values())
        moved = max(float((a - b).abs().max()) for a, b in zip(model.state_dict().values(), start))
        self.assertGreater(moved, 1e-3)

    def test_a_stopped_run_resumes_identically(self):
        uninterrupted = self.ranks[0]["equivalence"]
        for rank in (0, 1):
            resumed = self.ranks[rank]["resumed"]
            for a, b in zip(resumed["params"], uninterrupted["params"], strict=True):
                self.assertTrue(torch.equal(a, b))
            self.assertEqual(
                resumed["history"]["train_loss"], uninterrupted["history"]["train_loss"]
            )

    def test_rank_zero_alone_writes_the_checkpoint(self):
        zero, one = self.ranks[0], self.ranks[1]
        self.assertEqual(one["resumed"]["writes"], [])
        # probe, end of epoch 1, stop after batch 3 (in epoch 2); probe, end of epoch 2
        self.assertEqual(zero["resumed"]["writes"], ["probe", "save", "save", "probe", "save"])
        self.assertEqual(zero["stopped"]["listing"], ["fit.pt"])  # no temporary files
        self.assertEqual(zero["stopped"], one["stopped"])  # the file rank 1 saw is rank 0's
        self.assertEqual(zero["resumed"]["listing"], ["fit.pt"])
        saved = zero["resumed"]["saved"]
        self.assertEqual(saved["settings"]["world_size"], 2)
        self.assertEqual(saved["settings"]["batch_size"], 4)
        self.assertEqual(len(saved["rank_torch_rng"]), 2)
        self.assertEqual(saved["epoch"], 2)

    def test_one_failing_rank_stops_every_rank(self):
        zero, one = self.ranks[0]["failure"], self.ranks[1]["failure"]
        self.assertEqual(one, ["ValueError", "boom on rank 1"])
        self.assertEqual(zero[0], "QiskitQDeepError")
        self.assertRegex(zero[1], r"epoch 1, sample 8 .*rank 1 failed with ValueError: boom")
        # every rank went on with the next scenario: nobody was left waiting

    def test_a_primitive_failure_saves_and_resumes_on_every_rank(self):
        zero, one = self.ranks[0]["primitive"], self.ranks[1]["primitive"]
        self.assertEqual((zero[0], one[0]), ("PrimitiveJobError", "PrimitiveJobError"))
        self.assertIn("rank 1 failed with PrimitiveJobError: job failed", zero[1])
        for message in (zero[1], one[1]):
            self.assertIn("primitive.pt", message)
            self.assertIn("epoch 2, sample 0", message)
        uninterrupted = self.ranks[0]["equivalence"]["params"]
        for rank in (0, 1):
            for a, b in zip(self.ranks[rank]["primitive_resumed"], uninterrupted, strict=True):
                self.assertTrue(torch.equal(a, b))

    def test_a_process_that_dies_in_backward_ends_the_others(self):
        with open(os.path.join(self.tmp.name, "exit1.txt"), encoding="utf-8") as handle:
            self.assertIn("backward failed on purpose", handle.read())
        with open(os.path.join(self.tmp.name, "exit0.txt"), encoding="utf-8") as handle:
            seconds, ended = handle.read().split(" ", 1)
        self.assertNotEqual(ended, "None")  # rank 0 raised (gloo: the peer closed the connection)
        self.assertLess(float(seconds), 60)  # not the group's 120 s timeout

    def test_pre_sharded_data_is_refused_on_every_rank(self):
        for rank in (0, 1):
            kind, message = self.ranks[rank]["sharded_data"]
            self.assertEqual(kind, "QDeepValueError")
            self.assertIn("inputs, targets", message)
            self.assertIn("shards it itself", message)

    def test_another_world_size_needs_permission(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "fit.pt")
            with open(os.path.join(self.tmp.name, "stopped.pt"), "rb") as source:
                with open(path, "wb") as handle:
                    handle.write(source.read())
            common = self.common
            with self.assertRaisesRegex(CheckpointError, r"world_size: checkpoint 2, now 1"):
                fit_classifier(
                    common.build(), common.X, common.Y, batch_size=4, checkpoint=path, **common.ARGS
                )
            with self.assertWarnsRegex(UserWarning, r"world_size: checkpoint 2, now 1"):
                history = fit_classifier(
                    common.build(),
                    common.X,
                    common.Y,
                    batch_size=4,
                    checkpoint=path,
                    allow_changed_hyperparameters=True,
                    **common.ARGS,
                )
            # epoch 1 comes from the two processes; epoch 2 goes on from sample 8 of its order
            stopped = self.ranks[0]["equivalence"]["history"]
            self.assertEqual(len(history.train_loss), 2)
            self.assertEqual(history.train_loss[0], stopped["train_loss"][0])


class TestTorchrun(QDeepTestCase):
    """``torchrun --nproc_per_node=2`` runs an unchanged fit_classifier call."""

    def test_torchrun_matches_one_process_and_shows_one_bar(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in (("common.py", COMMON), ("run.py", TORCHRUN)):
                with open(os.path.join(tmp, name), "w", encoding="utf-8") as handle:
                    handle.write(text)
            out = os.path.join(tmp, "params.pt")
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([tmp, os.environ.get("PYTHONPATH", "")]),
            }
            command = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nproc_per_node=2",
                "--master_addr=127.0.0.1",
                f"--master_port={_free_port()}",
                os.path.join(tmp, "run.py"),
                out,
            ]
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertIn("bar of rank 0", done.stderr)
            self.assertNotIn("bar of rank 1", done.stdout + done.stderr)
            got = torch.load(out, weights_only=True)
            sys.path.insert(0, tmp)
            try:
                sys.modules.pop("common", None)  # the other class's copy
                import common  # noqa: PLC0415  (written above)
            finally:
                sys.path.remove(tmp)
            dtype = torch.get_default_dtype()
            torch.set_default_dtype(torch.float64)
            try:
                model = common.build()
                args = {**common.ARGS, "epochs": 1, "eval_data": None}
                fit_classifier(model, common.X, common.Y, batch_size=8, **args)
            finally:
                torch.set_default_dtype(dtype)
            for a, b in zip(got, model.parameters(), strict=True):
                self.assertAllClose(a, b, atol=1e-9)
