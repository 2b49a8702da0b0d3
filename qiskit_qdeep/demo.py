# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quickstart demo: an HQNN-Parallel head trained on scikit-learn's bundled digits.

The model is the dense part of HQNN-Parallel (Senokosov et al. 2024) on 8x8 digits:
``Linear(64, 20) -> BatchNorm -> ReLU -> 4 parallel 5-qubit circuits -> Linear(20, 10)``.
Each circuit is :func:`~qiskit_qdeep.circuit.library.strongly_entangling_circuit` (RX embedding,
3 RZ-RY-RZ + CNOT-ring layers, Pauli-Y readout) wrapped in a
:class:`~qiskit_qdeep.nn.QuantumLayer`. Training uses the exact torch engine (backprop).

The demo then times one forward + backward of a batch of 64 through the quantum part and compares
like with like (:func:`time_quantum_part`):

* **parameter shift on Aer**: qiskit-qdeep's :class:`~qiskit_qdeep.nn.QuantumLayer` on Aer's
  ``EstimatorV2`` (all shifted circuits of the batch in one ``run``) against
  qiskit-machine-learning's ``EstimatorQNN`` + ``TorchConnector`` on the same Aer estimator with
  ``ParamShiftEstimatorGradient``: same primitive, same gradient method;
* **exact simulation**: qiskit-qdeep's exact torch engine (backprop) against ``EstimatorQNN`` on
  qiskit's ``StatevectorEstimator`` with its default gradient (parameter shift on that
  estimator), the exact path qiskit-machine-learning offers.

The qiskit-machine-learning paths are timed on a few samples and scaled to the batch (their cost
is linear in it); they are skipped, with a note, when qiskit-machine-learning (the ``[ml]`` extra)
is not installed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import _optional
from ._progress import tqdm
from .benchmarks.execution_core import _forward_backward, _qiskit_ml_layers, hqnn_block
from .cli import DEMO_BATCH, add_demo_arguments
from .exceptions import QDeepValueError
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


#: Keys of :func:`time_quantum_part`'s result.
QDEEP_AER = "qiskit-qdeep parameter shift on Aer"
QML_AER = "qiskit-ML parameter shift on Aer"
QDEEP_EXACT = "qiskit-qdeep exact engine"
QML_EXACT = "qiskit-ML exact"

#: What each timed path is, as printed.
LABELS = {
    QDEEP_AER: "qiskit-qdeep QuantumLayer (one run per batch)",
    QML_AER: "qiskit-ML EstimatorQNN + TorchConnector (ParamShiftEstimatorGradient)",
    QDEEP_EXACT: "qiskit-qdeep exact torch engine (backprop)",
    QML_EXACT: "qiskit-ML EstimatorQNN + TorchConnector, StatevectorEstimator (default gradient)",
}

#: The like-for-like pairs: heading, qiskit-qdeep path, qiskit-ML path.
COMPARISONS = (
    (
        "parameter shift on Aer's EstimatorV2 (same primitive, same gradient method)",
        QDEEP_AER,
        QML_AER,
    ),
    ("exact simulation (each library's exact path)", QDEEP_EXACT, QML_EXACT),
)

QISKIT_ML_MISSING = (
    "qiskit-machine-learning is not installed: its paths are skipped "
    "(pip install 'qiskit-qdeep[ml]')"
)


@dataclass(frozen=True)
class Timing:
    """Seconds of one forward + backward of the whole batch on one path."""

    seconds: float
    """Seconds for the batch (measured, or scaled from :attr:`samples`)."""
    samples: int
    """Samples actually timed; fewer than the batch means the time was scaled to it."""


def _qiskit_ml_exact_layers(blocks):
    """EstimatorQNN + TorchConnector on qiskit's StatevectorEstimator, default gradient."""
    from qiskit.primitives import StatevectorEstimator

    return _qiskit_ml_layers(blocks, StatevectorEstimator(), parameter_shift=False)


def _time_once(layers, inputs: torch.Tensor) -> float:
    _forward_backward(layers, inputs[:1].detach().clone().requires_grad_(True))  # warm-up
    start = time.perf_counter()
    _forward_backward(layers, inputs)
    return time.perf_counter() - start


def time_quantum_part(
    model: HQNNDigits,
    *,
    batch: int = DEMO_BATCH,
    baseline_samples: int = 2,
    seed: int = 0,
    qiskit_ml: bool | None = None,
) -> dict[str, Timing]:
    """Times one forward + backward of ``batch`` inputs through the quantum part on each path.

    Every path gets one untimed warm-up on one sample (circuit compilation, caches). The exact
    engine reports the median of 5 runs; the Aer paths run once; the qiskit-ML paths run on
    ``baseline_samples`` inputs and are scaled to ``batch``.

    Args:
        model: The model whose quantum layers (and weights) are timed.
        batch: Inputs per forward + backward.
        baseline_samples: Samples timed on the qiskit-ML paths, from 1 to ``batch``.
        seed: Seed of the random inputs.
        qiskit_ml: Time the qiskit-ML paths; default: when qiskit-machine-learning is installed.

    Returns:
        :class:`Timing` per path, keyed by :data:`QDEEP_AER`, :data:`QML_AER`,
        :data:`QDEEP_EXACT` and :data:`QML_EXACT` (the last two only with ``qiskit_ml``).

    Raises:
        QDeepValueError: If ``batch`` is not a positive integer or ``baseline_samples`` is not in
            ``[1, batch]``.
    """
    from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise QDeepValueError(f"batch must be a positive integer, got {batch!r}.")
    if (
        isinstance(baseline_samples, bool)
        or not isinstance(baseline_samples, (int, np.integer))
        or not 1 <= baseline_samples <= batch
    ):
        raise QDeepValueError(
            f"baseline_samples must be an integer from 1 to batch={batch}, got "
            f"{baseline_samples!r}."
        )
    if qiskit_ml is None:
        qiskit_ml = _optional.available("qiskit_machine_learning")
    elif qiskit_ml:
        _optional.require("qiskit_machine_learning", "time_quantum_part(qiskit_ml=True)")
    torch.manual_seed(seed)
    width = sum(len(layer.input_params) for layer in model.quantum)
    inputs = torch.rand(batch, width, requires_grad=True)
    sample = inputs[:baseline_samples].detach().clone().requires_grad_(True)
    blocks = [
        (layer.circuit, layer.observables, layer.input_params, layer.weight_params)
        for layer in model.quantum
    ]
    times: dict[str, Timing] = {}

    aer = AerEstimatorV2()
    shift = [
        QuantumLayer(c, o, x, w, estimator=aer, initial_weights=layer.weight.detach().numpy())
        for (c, o, x, w), layer in zip(blocks, model.quantum)
    ]
    times[QDEEP_AER] = Timing(_time_once(shift, inputs), batch)
    if qiskit_ml:
        seconds = _time_once(_qiskit_ml_layers(blocks, aer), sample)
        times[QML_AER] = Timing(seconds * batch / baseline_samples, baseline_samples)

    backprop = [layer.float() for layer in model.quantum]
    _forward_backward(backprop, inputs)  # warm-up
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        _forward_backward(backprop, inputs)
        runs.append(time.perf_counter() - start)
    times[QDEEP_EXACT] = Timing(float(np.median(runs)), batch)
    if qiskit_ml:
        seconds = _time_once(_qiskit_ml_exact_layers(blocks), sample)
        times[QML_EXACT] = Timing(seconds * batch / baseline_samples, baseline_samples)
    return times


def _ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 100 else f"{value:.1f}x"


def format_timings(times: dict[str, Timing], batch: int = DEMO_BATCH) -> str:
    """The like-for-like report of :func:`time_quantum_part`: per pair, both times and the ratio.

    Args:
        times: What :func:`time_quantum_part` returned.
        batch: The batch it timed.

    Returns:
        Lines of text; a pair whose qiskit-ML time is missing shows the qiskit-qdeep time alone
        (the caller prints :data:`QISKIT_ML_MISSING` once).
    """
    lines = []
    for heading, ours, theirs in COMPARISONS:
        lines.append(f"{heading}:")
        for key in (ours, theirs):
            if key in times:
                timing = times[key]
                plural = "s" if timing.samples != 1 else ""
                note = (
                    f"  (scaled from {timing.samples} sample{plural})"
                    if timing.samples < batch
                    else ""
                )
                lines.append(f"  {LABELS[key]:<82s} {timing.seconds * 1e3:11.1f} ms{note}")
        if ours in times and theirs in times:
            speed_up = times[theirs].seconds / times[ours].seconds
            if speed_up >= 1:
                verdict = f"{_ratio(speed_up)} faster than"
            else:
                verdict = f"{_ratio(1 / speed_up)} slower than"
            lines.append(f"  => qiskit-qdeep is {verdict} qiskit-ML on this pair")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Runs the demo (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the demo's options (defined in :func:`qiskit_qdeep.cli.add_demo_arguments`)."""
    add_demo_arguments(parser)


def run_from_args(args: argparse.Namespace) -> int:
    """Runs the demo for parsed arguments."""
    print(
        "HQNN-Parallel head (4 x 5-qubit circuits, 3 layers) on scikit-learn digits, exact engine"
    )
    model, accuracy, seconds = train_digits(
        epochs=args.epochs, seed=args.seed, progress=not getattr(args, "no_progress", False)
    )
    print(f"test accuracy: {accuracy:.2%}  ({args.epochs} epochs, {seconds:.1f} s training)")
    if args.skip_timing:
        return 0
    qiskit_ml = _optional.available("qiskit_machine_learning")
    print(
        f"timing one forward + backward of a batch of {DEMO_BATCH} through the 4 circuits, "
        "like for like ...",
        flush=True,
    )
    if not qiskit_ml:
        print(QISKIT_ML_MISSING)
    times = time_quantum_part(
        model, baseline_samples=args.baseline_samples, seed=args.seed, qiskit_ml=qiskit_ml
    )
    print(format_timings(times))
    return 0
