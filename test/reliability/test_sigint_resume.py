# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""A training run stopped by Ctrl-C (SIGINT) resumes from its checkpoint, bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import torch

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import torch
    from torch import nn
    from qiskit.circuit import ParameterVector
    from qiskit_qdeep.circuit.library import strongly_entangling_circuit
    from qiskit_qdeep.nn import QuantumLayer
    from qiskit_qdeep.training import fit_classifier

    class Slow(nn.Module):
        def __init__(self, delay):
            super().__init__()
            self.delay = delay

        def forward(self, x):
            time.sleep(self.delay)
            return x

    def build(delay=0.0):
        torch.manual_seed(0)
        x, w = ParameterVector("x", 2), ParameterVector("w", 6)
        qc = strongly_entangling_circuit(2, reps=1, input_params=x, weight_params=w)
        layer = QuantumLayer(qc, ["ZI", "IZ"], x, w, seed=0)
        return nn.Sequential(nn.Linear(3, 2), layer, Slow(delay), nn.Linear(2, 2))

    def data():
        g = torch.Generator().manual_seed(1)
        inputs = torch.rand(48, 3, generator=g)
        return inputs, (inputs.sum(1) > 1.5).long()

    def train(model, checkpoint):
        inputs, targets = data()
        return fit_classifier(
            model, inputs, targets, epochs=4, batch_size=8, lr=0.05, seed=3,
            checkpoint=checkpoint, progress=False,
        )

    if __name__ == "__main__":
        import signal
        # a shell's background job starts with SIGINT ignored: restore Python's Ctrl-C handler
        signal.signal(signal.SIGINT, signal.default_int_handler)
        train(build(delay=0.05), sys.argv[1])
    """
)


class TestSigintResume(unittest.TestCase):
    def test_ctrl_c_then_resume_matches_an_uninterrupted_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, "train.py")
            with open(script, "w", encoding="utf-8") as handle:
                handle.write(SCRIPT)
            checkpoint = os.path.join(tmp, "run.pt")
            process = subprocess.Popen(
                [sys.executable, script, checkpoint],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + 120
            while not os.path.exists(checkpoint) and time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                time.sleep(0.02)
            self.assertIsNone(process.poll(), "training ended before the first checkpoint")
            self.assertTrue(os.path.exists(checkpoint))
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=120)
            self.assertNotEqual(process.returncode, 0)
            self.assertIn(b"KeyboardInterrupt", stderr)

            sys.path.insert(0, tmp)
            try:
                import train  # noqa: PLC0415  (the script above)
            finally:
                sys.path.remove(tmp)
            resumed_model = train.build()
            history = train.train(resumed_model, checkpoint)
            fresh_model = train.build()
            reference = train.train(fresh_model, None)
            self.assertEqual(len(history.train_loss), 4)
            self.assertEqual(history.train_loss, reference.train_loss)
            for (name, a), (_, b) in zip(
                resumed_model.state_dict().items(), fresh_model.state_dict().items(), strict=True
            ):
                self.assertTrue(torch.equal(a, b), name)


if __name__ == "__main__":
    unittest.main()
