# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""No credential held by a primitive is ever logged, printed, pickled or written by the package.

A ``QiskitRuntimeService`` cannot be built offline, so the IBM Runtime primitives run in local mode
on ``FakeManilaV2`` and carry a fake token where a real one would sit: as an attribute of the
primitive and of its service, and in the primitive's ``repr`` (the worst case: any code that
formats the primitive would leak it). Every output channel of a training run is then searched for
the token: log records at DEBUG, stdout/stderr, every file written to the checkpoint folder,
``torch.save`` of the state dict, pickles of the layers and models, reprs and error messages.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import tempfile
import warnings

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import EstimatorV2 as RuntimeEstimatorV2
from qiskit_ibm_runtime import SamplerV2 as RuntimeSamplerV2
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qdeep.exceptions import PrimitiveJobError, QiskitQDeepError
from qiskit_qdeep.nn import QuantumLayer, SwapTestConv2d
from qiskit_qdeep.primitives import EstimatorRunner, RetryPolicy, run_estimator_batch
from qiskit_qdeep.training import fit_classifier
from test import QDeepTestCase
from test.reliability.flaky_primitives import FlakyEstimator

TOKEN = "FAKE-TOKEN-5e1f0c3a9b7d4e2f8a6c"


class _Secret:
    def __init__(self, token):
        self.token = token

    def __repr__(self):
        return f"Secret(token={self.token!r})"


class TokenEstimator(RuntimeEstimatorV2):
    """A runtime estimator (local mode) holding a fake token like a cloud one holds its service."""

    def __init__(self, mode):
        super().__init__(mode=mode)
        self.credentials = _Secret(TOKEN)
        self.options.environment.job_tags = [TOKEN]

    def __repr__(self):
        return f"TokenEstimator(token={TOKEN!r})"


class TokenSampler(RuntimeSamplerV2):
    """The sampler counterpart of :class:`TokenEstimator`."""

    def __init__(self, mode):
        super().__init__(mode=mode)
        self.credentials = _Secret(TOKEN)

    def __repr__(self):
        return f"TokenSampler(token={TOKEN!r})"


def small_layer(estimator, pass_manager):
    x, w = ParameterVector("x", 2), ParameterVector("w", 2)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    qc.cx(0, 1)
    qc.ry(w[0], 0)
    qc.ry(w[1], 1)
    return QuantumLayer(
        qc,
        ["ZI", "IZ"],
        x,
        w,
        estimator=estimator,
        pass_manager=pass_manager,
        precision=0.05,
        seed=1,
        retry=RetryPolicy(max_retries=1, backoff=0.0),
    )


class TestNoCredentialLeaks(QDeepTestCase):
    """The fake token never shows up anywhere."""

    def setUp(self):
        super().setUp()
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="qiskit_ibm_runtime")
        self.backend = FakeManilaV2()
        self.pm = generate_preset_pass_manager(
            backend=self.backend, optimization_level=1, seed_transpiler=5
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.estimator = TokenEstimator(self.backend)
            self.sampler = TokenSampler(self.backend)
        self.assertIn(TOKEN, repr(self.estimator))  # the trap is armed
        self.assertIn(TOKEN.encode(), pickle.dumps(self.estimator.credentials))

    @contextlib.contextmanager
    def capture(self):
        """Collects DEBUG log records of every logger and stdout/stderr."""
        records: list[str] = []

        class Collect(logging.Handler):
            def emit(self, record):
                records.append(self.format(record))

        handler = Collect(level=logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    yield records, out, err
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)

    def assertNoToken(self, where: str, content):
        if isinstance(content, bytes):
            self.assertNotIn(TOKEN.encode(), content, where)
        else:
            self.assertNotIn(TOKEN, str(content), where)

    def test_training_run_with_runtime_estimator(self):
        x = torch.tensor(self.rng.uniform(0, np.pi, (2, 2)))
        y = torch.tensor([0, 1])
        with tempfile.TemporaryDirectory() as tmp:
            with self.capture() as (records, out, err):
                torch.manual_seed(0)
                model = torch.nn.Sequential(small_layer(self.estimator, self.pm))
                layer = model[0]
                history = fit_classifier(
                    model,
                    x,
                    y,
                    epochs=1,
                    batch_size=2,
                    checkpoint=os.path.join(tmp, "ckpt.pt"),
                    progress=True,
                )
                torch.save(model.state_dict(), os.path.join(tmp, "state.pt"))
                logging.getLogger("qiskit_qdeep").debug("model %r runner %r", model, layer.runner)
                print(model, layer.runner)
            self.assertEqual(len(history.train_loss), 1)
            self.assertGreater(layer.runner.num_jobs, 0)
            files = {name: open(os.path.join(tmp, name), "rb").read() for name in os.listdir(tmp)}
        self.assertEqual(sorted(files), ["ckpt.pt", "state.pt"])
        for name, content in files.items():
            self.assertNoToken(name, content)
        self.assertTrue(records)  # DEBUG records were captured
        self.assertNoToken("logs", "\n".join(records))
        self.assertNoToken("stdout", out.getvalue())
        self.assertNoToken("stderr", err.getvalue())
        self.assertNoToken("repr(model)", repr(model))
        self.assertNoToken("repr(runner)", repr(layer.runner))
        self.assertIn("primitive=TokenEstimator", repr(layer.runner))
        pickled = pickle.dumps(model)
        self.assertNoToken("pickle(model)", pickled)
        clone = pickle.loads(pickled)
        with self.assertRaisesRegex(QiskitQDeepError, "unpickled without its TokenEstimator"):
            clone(x)
        self.assertNoToken("pickle(runner)", pickle.dumps(layer.runner))

    def test_failures_and_batches(self):
        flaky = FlakyEstimator(self.estimator, failures=10, mode="raise-result")
        flaky.credentials = _Secret(TOKEN)
        qc = QuantumCircuit(1)
        qc.h(0)
        with self.capture() as (records, out, err):
            runner = EstimatorRunner(
                qc, "Z", estimator=flaky, pass_manager=self.pm, retry=RetryPolicy(backoff=0.0)
            )
            with self.assertRaises(PrimitiveJobError) as caught:
                runner.run(np.zeros((1, 0)))
            good = EstimatorRunner(qc, "Z", estimator=self.estimator, pass_manager=self.pm)
            (evs,) = run_estimator_batch([(good, np.zeros((2, 0)))])
        self.assertEqual(evs.shape, (2, 1))
        self.assertEqual(len([r for r in records if "Retrying" in r]), 3)
        self.assertNoToken("logs", "\n".join(records))
        self.assertNoToken("stdout/stderr", out.getvalue() + err.getvalue())
        self.assertNoToken("error", str(caught.exception) + repr(caught.exception))
        self.assertNoToken("pickle(error)", pickle.dumps(caught.exception))

    def test_swap_test_layer_with_runtime_sampler(self):
        with self.capture() as (records, out, err):
            layer = SwapTestConv2d(
                2, 1, 2, sampler=self.sampler, pass_manager=self.pm, shots=64, seed=2
            )
            y = layer(torch.rand(1, 1, 2, 2))
            print(layer, layer.runner)
        self.assertEqual(tuple(y.shape), (1, 1, 1, 1))
        self.assertNoToken("logs", "\n".join(records))
        self.assertNoToken("stdout/stderr", out.getvalue() + err.getvalue())
        self.assertNoToken("pickle(layer)", pickle.dumps(layer))
        buffer = io.BytesIO()
        torch.save(layer.state_dict(), buffer)
        self.assertNoToken("torch.save", buffer.getvalue())
