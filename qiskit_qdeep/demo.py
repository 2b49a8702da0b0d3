# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quickstart demo: an HQNN-Parallel head trained on scikit-learn's bundled digits.

The model is the dense part of HQNN-Parallel (Senokosov et al. 2024) on 8x8 digits:
``Linear(64, 20) -> BatchNorm -> ReLU -> 4 parallel 5-qubit circuits -> Linear(20, 10)``.
Each circuit is :func:`~qiskit_qdeep.circuit.library.strongly_entangling_circuit` (RX embedding,
3 RZ-RY-RZ + CNOT-ring layers, Pauli-Y readout) wrapped in a
:class:`~qiskit_qdeep.nn.QuantumLayer`. Training uses the exact torch engine (backprop); the demo
then times one forward + backward of a batch of 64 through the quantum part on that engine, on the
parameter-shift path on Aer, and on qiskit-machine-learning's ``EstimatorQNN`` +
``TorchConnector`` (timed on a few samples and scaled, since its cost is linear in the batch).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn
from ._progress import tqdm

from .benchmarks.execution_core import _forward_backward, _qiskit_ml_layers, hqnn_block
from .nn import QuantumLayer


class HQNNDigits(nn.Module):
    """Dense HQNN-Parallel head for 64 features: 4 parallel 5-qubit blocks between two linears.

    Args:
        num_blocks: Parallel circuits.
        num_qubits: Qubits per circuit.
        reps: Entangling layers per circuit.
        estimator: Optional V2 estimator (parameter-shift path); default exact backprop.
        seed: Seed of the quantum weights.
    """

    def __init__(self, num_blocks=4, num_qubits=5, reps=3, *, estimator=None, seed=None):
        super().__init__()
        width = num_blocks * num_qubits
        self.pre = nn.Sequential(nn.Linear(64, width), nn.BatchNorm1d(width), nn.ReLU())
        self.quantum = nn.ModuleList()
        for i in range(num_blocks):
            circuit, observables, x, w = hqnn_block(num_qubits, reps, index=i)
            self.quantum.append(
                QuantumLayer(
                    circuit,
                    observables,
                    x,
                    w,
                    estimator=estimator,
                    seed=None if seed is None else seed + i,
                )
            )
        self.post = nn.Linear(width, 10)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # noqa: D102
        hidden = self.pre(inputs)
        chunks = hidden.chunk(len(self.quantum), dim=1)
        hidden = torch.cat([layer(c) for layer, c in zip(self.quantum, chunks)], dim=1)
        return self.post(hidden)


def load_digits_split(seed: int = 0, test_size: float = 0.2):
    """scikit-learn's 8x8 digits scaled to ``[0, 1]``, split with a stratified seeded split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    features = (data.data / 16.0).astype(np.float32)
    return train_test_split(
        features, data.target, test_size=test_size, random_state=seed, stratify=data.target
    )


def train_digits(
    epochs: int = 15, batch_size: int = 32, lr: float = 0.01, seed: int = 0, progress=True
):
    """Trains :class:`HQNNDigits` on digits; returns ``(model, test_accuracy, seconds)``."""
    torch.manual_seed(seed)
    x_train, x_test, y_train, y_test = load_digits_split(seed)
    model = HQNNDigits(seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    x_train_t, y_train_t = torch.from_numpy(x_train), torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="training", disable=not progress)
    for _ in bar:
        model.train()
        order = torch.randperm(len(x_train_t), generator=generator)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            if len(idx) < 2:
                continue
            optimizer.zero_grad()
            loss = loss_fn(model(x_train_t[idx]), y_train_t[idx])
            loss.backward()
            optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        predictions = model(torch.from_numpy(x_test)).argmax(dim=1).numpy()
    return model, float((predictions == y_test).mean()), seconds


def time_quantum_part(model: HQNNDigits, *, batch: int = 64, baseline_samples: int = 2, seed=0):
    """Median seconds of one forward + backward of ``batch`` through the quantum part per path."""
    from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

    torch.manual_seed(seed)
    inputs = torch.rand(batch, 20, requires_grad=True)
    blocks = [
        (layer.circuit, layer.observables, layer.input_params, layer.weight_params)
        for layer in model.quantum
    ]
    times = {}
    backprop = [layer.float() for layer in model.quantum]
    _forward_backward(backprop, inputs)  # warm-up
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        _forward_backward(backprop, inputs)
        runs.append(time.perf_counter() - start)
    times["exact torch engine (backprop)"] = float(np.median(runs))
    aer = AerEstimatorV2()
    shift = [
        QuantumLayer(c, o, x, w, estimator=aer, initial_weights=layer.weight.detach().numpy())
        for (c, o, x, w), layer in zip(blocks, model.quantum)
    ]
    start = time.perf_counter()
    _forward_backward(shift, inputs)
    times["parameter shift on Aer, one run/batch"] = time.perf_counter() - start
    qml = _qiskit_ml_layers(blocks, aer)
    sample = inputs[:baseline_samples].detach().clone().requires_grad_(True)
    start = time.perf_counter()
    _forward_backward(qml, sample)
    times["qiskit-ML EstimatorQNN+TorchConnector"] = (
        (time.perf_counter() - start) * batch / baseline_samples
    )
    return times


def main(argv: list[str] | None = None) -> int:
    """Runs the demo (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the demo's options."""
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-samples", type=int, default=2)
    parser.add_argument("--skip-timing", action="store_true", help="only train and evaluate")


def run_from_args(args: argparse.Namespace) -> int:
    """Runs the demo for parsed arguments."""
    print(
        "HQNN-Parallel head (4 x 5-qubit circuits, 3 layers) on scikit-learn digits, exact engine"
    )
    model, accuracy, seconds = train_digits(epochs=args.epochs, seed=args.seed)
    print(f"test accuracy: {accuracy:.2%}  ({args.epochs} epochs, {seconds:.1f} s training)")
    if args.skip_timing:
        return 0
    print("timing one forward+backward of a batch of 64 through the 4 circuits ...", flush=True)
    times = time_quantum_part(model, baseline_samples=args.baseline_samples, seed=args.seed)
    reference = times["qiskit-ML EstimatorQNN+TorchConnector"]
    for name, value in times.items():
        note = (
            f"(scaled from {args.baseline_samples} samples)" if name.startswith("qiskit-ML") else ""
        )
        print(f"  {name:<40s} {value * 1e3:12.1f} ms   speed-up {reference / value:10,.0f}x {note}")
    return 0
