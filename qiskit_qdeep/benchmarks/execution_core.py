# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Execution-core benchmark: forward + backward of HQNN-Parallel blocks on every path.

Measured in one run, on the same machine:

* ``qiskit-ML``: qiskit-machine-learning ``EstimatorQNN`` + ``TorchConnector`` on Aer's
  ``EstimatorV2`` (parameter-shift gradients, input gradients on). Its cost is linear in the batch
  (one set of PUBs per sample), so by default it is timed on a few samples and scaled to the batch;
  the table says so. ``--baseline-samples`` raises the measured count.
* ``raw Aer PUB``: the same bindings the parameter-shift path needs, ``batch * (1 + 2 * 50)``,
  sent by hand as ONE broadcast PUB to the same Aer estimator (the lower bound the issue sets).
* ``QuantumLayer PS/Aer``: :class:`~qiskit_qdeep.nn.QuantumLayer` with parameter shift on Aer.
* ``QuantumLayer backprop``: the exact torch engine (float32 / complex64, the training default).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

from .. import _optional
from ..circuit.library import strongly_entangling_circuit
from ..nn import QuantumLayer
from ..primitives import EstimatorRunner


@dataclass
class Row:
    """One timed configuration."""

    blocks: int
    batch: int
    path: str
    seconds: float
    note: str = ""
    ratios: dict[str, float] = field(default_factory=dict)


def hqnn_block(num_qubits: int = 5, reps: int = 3, index: int = 0):
    """The HQNN-Parallel block: RX embedding, ``reps`` RZ-RY-RZ + CNOT-ring layers, Y readout."""
    x = ParameterVector(f"x{index}", num_qubits)
    w = ParameterVector(f"w{index}", 3 * num_qubits * reps)
    circuit = strongly_entangling_circuit(num_qubits, reps, input_params=x, weight_params=w)
    observables = ["I" * (num_qubits - 1 - q) + "Y" + "I" * q for q in range(num_qubits)]
    return circuit, observables, list(x), list(w)


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _forward_backward(layers, inputs: torch.Tensor) -> None:
    for layer in layers:
        layer.zero_grad(set_to_none=True)
    outs = [layer(inp) for layer, inp in zip(layers, inputs.chunk(len(layers), dim=1))]
    torch.cat(outs, dim=1).sum().backward()


#: What needs qiskit-machine-learning here (named by the error and the note when it is missing).
QISKIT_ML_BASELINE = "the qiskit-machine-learning baseline (EstimatorQNN + TorchConnector)"


def _qiskit_ml_layers(blocks, estimator, parameter_shift: bool = True):
    """EstimatorQNN + TorchConnector per block on ``estimator``.

    With ``parameter_shift`` the QNN gets ``ParamShiftEstimatorGradient`` (the like-for-like
    baseline of the parameter-shift path), else qiskit-machine-learning's default gradient.
    """
    _optional.require("qiskit_machine_learning", QISKIT_ML_BASELINE)
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    layers = []
    for circuit, observables, x, w in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qnn = EstimatorQNN(
                circuit=circuit,
                observables=[SparsePauliOp(o) for o in observables],
                input_params=x,
                weight_params=w,
                estimator=estimator,
                gradient=ParamShiftEstimatorGradient(estimator) if parameter_shift else None,
                input_gradients=True,
            )
            layers.append(TorchConnector(qnn))
    return layers


def run_benchmark(
    *,
    batches: tuple[int, ...] = (64, 1024),
    blocks_list: tuple[int, ...] = (1, 4),
    baseline_samples: int = 4,
    repeats: int = 3,
    seed: int = 7,
    skip_qiskit_ml: bool = False,
    raw_single_max: int = 20_000,
    progress: bool = True,
) -> list[Row]:
    """Runs the benchmark and returns its rows (ratios filled in).

    Args:
        batches: Batch sizes.
        blocks_list: Numbers of 5-qubit blocks side by side.
        baseline_samples: Samples actually timed on the qiskit-ML path (scaled to the batch).
        repeats: Repeats of the fast paths (median reported); slow paths run once.
        seed: Seed of inputs and weights.
        skip_qiskit_ml: Leave out the qiskit-ML path. It is also left out, with a printed note,
            when qiskit-machine-learning is not installed (``pip install 'qiskit-qdeep[ml]'``).
        raw_single_max: Largest binding count timed as one raw PUB (Aer's cost per binding grows
            with the PUB size: one PUB of the 103,424 bindings of batch 1024 takes ~10 minutes).
        progress: Print each measurement as it finishes.

    Returns:
        The measured rows.
    """
    from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

    if not skip_qiskit_ml and not _optional.available("qiskit_machine_learning"):
        skip_qiskit_ml = True
        distribution, extra = _optional.OPTIONAL["qiskit_machine_learning"]
        print(
            f"note: {QISKIT_ML_BASELINE} is skipped: {distribution} is not installed "
            f"(pip install 'qiskit-qdeep[{extra}]'); no speed-up vs qiskit-ML is reported.",
            flush=True,
        )
    torch.manual_seed(seed)
    rows: list[Row] = []

    def log(row: Row) -> None:
        rows.append(row)
        if progress:
            print(
                f"  blocks={row.blocks} batch={row.batch:5d} {row.path:<24s} "
                f"{row.seconds * 1e3:12.2f} ms {row.note}",
                flush=True,
            )

    for num_blocks in blocks_list:
        blocks = [hqnn_block(index=i) for i in range(num_blocks)]
        aer = AerEstimatorV2()
        ps_layers = [
            QuantumLayer(c, o, x, w, estimator=aer, gradient="parameter-shift", seed=seed + i)
            for i, (c, o, x, w) in enumerate(blocks)
        ]
        bp_layers = [
            QuantumLayer(c, o, x, w, gradient="backprop", seed=seed + i)
            for i, (c, o, x, w) in enumerate(blocks)
        ]
        qml_per_sample = None
        if not skip_qiskit_ml:
            qml_layers = _qiskit_ml_layers(blocks, aer)
            sample = torch.rand(baseline_samples, 5 * num_blocks, requires_grad=True)
            seconds = _median_time(lambda: _forward_backward(qml_layers, sample), 1)
            qml_per_sample = seconds / baseline_samples
        for batch in batches:
            inputs = torch.rand(batch, 5 * num_blocks, requires_grad=True)
            if qml_per_sample is not None:
                note = (
                    "" if batch == baseline_samples else f"(scaled from {baseline_samples} samples)"
                )
                log(Row(num_blocks, batch, "qiskit-ML (Aer)", qml_per_sample * batch, note))
            # The same bindings sent by hand: as ONE PUB (while Aer's super-linear cost in the PUB
            # size keeps that affordable) and as the runner's chunks in one run call.
            raw_one = raw_chunked = 0.0
            num_bindings = 0
            for layer, inp in zip(ps_layers, inputs.detach().chunk(num_blocks, dim=1)):
                runner: EstimatorRunner = layer.runner
                plan = runner._plan  # pylint: disable=protected-access
                weights = layer.weight.detach().double().numpy()
                values = np.concatenate(
                    [inp.double().numpy(), np.broadcast_to(weights, (batch, weights.size))], axis=1
                )
                bindings = plan.bindings(values).values
                num_bindings = len(bindings)
                obs = runner._obs_array  # pylint: disable=protected-access
                chunks = runner._chunks(bindings)  # pylint: disable=protected-access
                pubs = [(plan.circuit, obs, chunk) for chunk in chunks]
                raw_chunked += _median_time(lambda pubs=pubs: aer.run(pubs).result(), 1)
                if num_bindings <= raw_single_max:
                    pub = (plan.circuit, obs, bindings)
                    raw_one += _median_time(lambda pub=pub: aer.run([pub]).result(), 1)
            if num_bindings <= raw_single_max:
                log(
                    Row(
                        num_blocks,
                        batch,
                        "raw Aer, one PUB",
                        raw_one,
                        f"({num_bindings} bindings/block)",
                    )
                )
            log(
                Row(
                    num_blocks,
                    batch,
                    "raw Aer, same chunks",
                    raw_chunked,
                    f"({len(chunks)} PUB(s)/block)",
                )
            )
            ps_reps = 1 if batch > 256 else repeats
            seconds = _median_time(lambda: _forward_backward(ps_layers, inputs), ps_reps)
            log(Row(num_blocks, batch, "QuantumLayer PS/Aer", seconds))
            seconds = _median_time(lambda: _forward_backward(bp_layers, inputs), max(repeats, 5))
            log(Row(num_blocks, batch, "QuantumLayer backprop", seconds))
    _fill_ratios(rows)
    return rows


def _fill_ratios(rows: list[Row]) -> None:
    by_key = {(r.blocks, r.batch, r.path): r for r in rows}
    for row in rows:
        qml = by_key.get((row.blocks, row.batch, "qiskit-ML (Aer)"))
        if qml is not None:
            row.ratios["speed-up vs qiskit-ML"] = qml.seconds / row.seconds
        if row.path == "QuantumLayer PS/Aer":
            for path, key in (
                ("raw Aer, one PUB", "vs one PUB"),
                ("raw Aer, same chunks", "vs chunks"),
            ):
                raw = by_key.get((row.blocks, row.batch, path))
                if raw is not None:
                    row.ratios[key] = row.seconds / raw.seconds


def format_table(rows: list[Row]) -> str:
    """A Markdown table of the rows."""
    lines = [
        "| blocks | batch | path | median fwd+bwd | speed-up vs qiskit-ML "
        "| cost / raw one PUB | cost / raw same chunks |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]

    def fmt(value, pattern):
        return "" if value is None else pattern.format(value)

    for r in rows:
        seconds = f"{r.seconds:.3f} s" if r.seconds >= 1 else f"{r.seconds * 1e3:.2f} ms"
        lines.append(
            f"| {r.blocks} | {r.batch} | {r.path} {r.note} | {seconds} | "
            f"{fmt(r.ratios.get('speed-up vs qiskit-ML'), '{:,.0f}x')} | "
            f"{fmt(r.ratios.get('vs one PUB'), '{:.2f}x')} | "
            f"{fmt(r.ratios.get('vs chunks'), '{:.2f}x')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the benchmark's options to ``parser``."""
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 1024])
    parser.add_argument("--blocks", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--baseline-samples", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-qiskit-ml", action="store_true")
    parser.add_argument("--raw-single-max", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")


def run_from_args(args: argparse.Namespace) -> int:
    """Runs the benchmark for parsed arguments and prints the table."""
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"qiskit-qdeep execution-core benchmark on {platform.processor() or platform.machine()}, "
        f"torch threads={torch.get_num_threads()}",
        flush=True,
    )
    rows = run_benchmark(
        batches=tuple(args.batches),
        blocks_list=tuple(args.blocks),
        baseline_samples=args.baseline_samples,
        repeats=args.repeats,
        seed=args.seed,
        skip_qiskit_ml=args.skip_qiskit_ml,
        raw_single_max=args.raw_single_max,
    )
    print()
    print(format_table(rows))
    return 0
