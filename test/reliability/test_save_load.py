# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Layers and models round-trip through state_dict -> torch.save -> torch.load(weights_only=True).

The fresh layer is built with the same constructor arguments except the seed (or under another
global torch seed), so its initial weights differ: identical outputs after ``load_state_dict``
prove that the state dict carries everything. Seeded, non-trainable structure (the random
quanvolution circuits) travels as the ``structure_seed`` buffer; fixed SWAP-test filter states
as the ``weight`` buffer.
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qiskit_qdeep.models import CNN1, QCCNN, HQNNParallel, HQNNQuanv
from qiskit_qdeep.nn import ParallelQuantumLayer, QuantumLayer, Quanv2d, SwapTestConv2d
from test import QDeepTestCase


def layer_circuit():
    x, w = ParameterVector("x", 2), ParameterVector("w", 4)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    qc.ry(w[0], 0)
    qc.ry(w[1], 1)
    qc.cx(0, 1)
    qc.rz(w[2], 1)
    qc.rx(w[3], 0)
    return qc, x, w


def quantum_layer(seed, gradient="backprop"):
    qc, x, w = layer_circuit()
    return QuantumLayer(qc, ["ZI", "XX"], x, w, gradient=gradient, seed=seed)


#: name -> (builder(seed) -> module, input shape)
CASES = {
    "QuantumLayer-backprop": (lambda s: quantum_layer(s), (3, 2)),
    "QuantumLayer-parameter-shift": (lambda s: quantum_layer(s, "parameter-shift"), (3, 2)),
    "ParallelQuantumLayer": (
        lambda s: ParallelQuantumLayer(6, num_qubits=3, reps=2, seed=s),
        (4, 6),
    ),
    "Quanv2d-qccnn": (lambda s: Quanv2d(2, 2, num_filters=2, seed=s), (2, 2, 4, 4)),
    "Quanv2d-random-fixed": (
        lambda s: Quanv2d(1, 2, stride=2, ansatz="random", trainable=False, seed=s),
        (2, 1, 4, 4),
    ),
    "Quanv2d-hqnn-parity": (
        lambda s: Quanv2d(1, 2, stride=2, ansatz="hqnn", readout="parity", seed=s),
        (2, 1, 4, 4),
    ),
    "SwapTestConv2d": (
        lambda s: SwapTestConv2d(2, 3, stride=2, num_layers=2, seed=s),
        (2, 1, 4, 4),
    ),
    "SwapTestConv2d-fixed-states": (
        lambda s: SwapTestConv2d(
            2, 2, stride=2, filter_states=np.random.default_rng(s).uniform(0.1, 1, (2, 4))
        ),
        (2, 1, 4, 4),
    ),
    "HQNNQuanv": (lambda s: HQNNQuanv(num_classes=3, image_size=6, seed=s), (2, 1, 6, 6)),
    "CNN1": (lambda s: CNN1(num_classes=3, image_size=6, seed=s), (2, 1, 6, 6)),
    "QCCNN-2-layers": (lambda s: QCCNN(num_layers=2, num_classes=3, seed=s), (2, 1, 3, 3)),
    "HQNNParallel": (
        lambda s: HQNNParallel(
            image_size=8, num_classes=3, num_qubits=3, reps=1, num_circuits=2, seed=s
        ),
        (2, 1, 8, 8),
    ),
}


def structure(circuit: QuantumCircuit) -> list:
    """Gate names and qubits (parameters are fresh objects in every layer)."""
    return [
        (inst.operation.name, tuple(circuit.find_bit(q).index for q in inst.qubits))
        for inst in circuit.data
    ]


def roundtrip(module: torch.nn.Module) -> dict:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


class TestSaveLoad(QDeepTestCase):
    """Every layer and model reproduces its outputs from a weights-only state dict."""

    def test_roundtrip(self):
        for name, (build, shape) in CASES.items():
            with self.subTest(name):
                inputs = torch.rand(*shape, generator=torch.Generator().manual_seed(1))
                original = build(3)
                original.eval()
                expected = original(inputs)
                fresh = build(17)
                fresh.eval()
                if name != "SwapTestConv2d-fixed-states":  # states given: same weights
                    self.assertFalse(torch.allclose(fresh(inputs), expected), "weights differ")
                fresh.load_state_dict(roundtrip(original))
                self.assertTrue(torch.equal(fresh(inputs), expected))
                # also through pickle of the whole module (local primitives are kept)
                clone = pickle.loads(pickle.dumps(original))
                self.assertTrue(torch.equal(clone(inputs), expected))

    def test_random_structure_travels_with_the_state_dict(self):
        """A random quanvolution built with seed=None under another torch seed still loads."""
        torch.manual_seed(5)
        original = Quanv2d(1, 2, stride=2, ansatz="random", reps=2, trainable=False)
        inputs = torch.rand(1, 1, 4, 4)
        expected = original(inputs)
        torch.manual_seed(6)
        fresh = Quanv2d(1, 2, stride=2, ansatz="random", reps=2, trainable=False)
        self.assertNotEqual(int(fresh.structure_seed), int(original.structure_seed))
        self.assertNotEqual(structure(fresh.circuit), structure(original.circuit))
        fresh.load_state_dict(roundtrip(original))
        self.assertEqual(structure(fresh.circuit), structure(original.circuit))
        self.assertEqual(int(fresh.structure_seed), int(original.structure_seed))
        self.assertTrue(torch.equal(fresh(inputs), expected))
        # the same on the parameter-shift path: the runner is rebuilt with the saved structure
        torch.manual_seed(7)
        shifted = Quanv2d(1, 2, stride=2, ansatz="random", reps=2, gradient="parameter-shift")
        shifted.load_state_dict(roundtrip(original))
        self.assertEqual(structure(shifted.runner.circuit), structure(original.circuit))
        self.assertAllClose(shifted(inputs), expected, atol=1e-6)

    def test_state_dict_holds_only_tensors(self):
        for name, (build, _) in CASES.items():
            with self.subTest(name):
                state = build(0).state_dict()
                self.assertTrue(all(isinstance(v, torch.Tensor) for v in state.values()))
