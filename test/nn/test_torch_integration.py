# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Torch usage that keeps working: compile, DataParallel, spawn, DataLoader workers, threads."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import unittest

import numpy as np
import torch
from qiskit.circuit import ParameterVector
from torch import nn

from qiskit_qdeep.circuit.library import strongly_entangling_circuit
from qiskit_qdeep.nn import QuantumLayer, Quanv2d


def _layer(seed=0, gradient="backprop"):
    x, w = ParameterVector("x", 3), ParameterVector("w", 9)
    qc = strongly_entangling_circuit(3, reps=1, input_params=x, weight_params=w)
    return QuantumLayer(qc, ["ZII", "IZI", "IIZ"], x, w, seed=seed, gradient=gradient).double()


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pre = nn.Linear(4, 3).double()
        self.quantum = _layer()
        self.post = nn.Linear(3, 2).double()

    def forward(self, x):
        return self.post(self.quantum(torch.tanh(self.pre(x))))


def _spawn_worker(payload, queue):
    layer, inputs = pickle.loads(payload)
    queue.put(layer(inputs).detach().numpy())


class _QuanvDataset(torch.utils.data.Dataset):
    """Quantum preprocessing inside the dataset: runs in the DataLoader's worker processes."""

    def __init__(self):
        self.layer = Quanv2d(1, kernel_size=2, stride=2, seed=0).double()
        generator = torch.Generator().manual_seed(0)
        self.images = torch.rand(6, 1, 4, 4, dtype=torch.float64, generator=generator)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        with torch.no_grad():
            return self.layer(self.images[index : index + 1])[0]


class TestTorchIntegration(unittest.TestCase):
    def test_torch_compile_of_a_model_with_a_quantum_layer(self):
        # float32: the complex64 engine is compiled lazily, inside the compiled forward
        for gradient in ("backprop", "parameter-shift"):
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(4, 3), _layer(gradient=gradient).float())
            inputs = torch.rand(5, 4)
            expected = model(inputs)
            compiled = torch.compile(model)
            out = compiled(inputs)
            np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-6)
            out.sum().backward()
            self.assertTrue(torch.isfinite(model[1].weight.grad).all())

    def test_data_parallel(self):
        torch.manual_seed(1)
        model = _Model()
        inputs = torch.rand(4, 4, dtype=torch.float64)
        parallel = nn.DataParallel(model)
        out = parallel(inputs)
        np.testing.assert_allclose(out.detach().numpy(), model(inputs).detach().numpy())
        out.sum().backward()
        self.assertIsNotNone(model.quantum.weight.grad)

    def test_spawn_pickling_both_paths(self):
        inputs = torch.rand(3, 3, dtype=torch.float64)
        context = multiprocessing.get_context("spawn")
        for gradient in ("backprop", "parameter-shift"):
            layer = _layer(seed=2, gradient=gradient)
            queue = context.Queue()
            process = context.Process(
                target=_spawn_worker, args=(pickle.dumps((layer, inputs)), queue)
            )
            process.start()
            result = queue.get(timeout=120)
            process.join(timeout=60)
            self.assertEqual(process.exitcode, 0)
            np.testing.assert_allclose(result, layer(inputs).detach().numpy(), atol=1e-12)

    def test_dataloader_workers(self):
        dataset = _QuanvDataset()
        serial = torch.stack([dataset[i] for i in range(len(dataset))])
        loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2)
        parallel = torch.cat(list(loader))
        np.testing.assert_allclose(parallel.numpy(), serial.numpy(), atol=1e-12)

    def test_concurrent_threads_on_one_layer(self):
        layer = _layer(seed=3)
        batches = [torch.rand(8, 3, dtype=torch.float64) for _ in range(8)]
        with torch.no_grad():
            expected = [layer(batch).numpy() for batch in batches]
        results: dict[int, np.ndarray] = {}
        errors: list[BaseException] = []

        def work(index):
            try:
                for _ in range(5):
                    with torch.no_grad():
                        results[index] = layer(batches[index]).numpy()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertEqual(errors, [])
        for index in range(len(batches)):
            np.testing.assert_allclose(results[index], expected[index], atol=1e-12)


if __name__ == "__main__":
    unittest.main()
