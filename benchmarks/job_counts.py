# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Primitive jobs per training step / prediction batch of every algorithm family, measured.

Every object gets a V2 primitive wrapped in a counter of its ``run`` calls (one ``run`` call is
one job on IBM Quantum), runs one training step or one prediction batch, and the calls are
printed as the table of ``docs/ibm_quantum.rst``. The counters survive ``sklearn.base.clone``
(which deep-copies non-estimator parameters, e.g. the clusterer of QuantumDeepClustering).

Run from the repository root (about a minute on two cores)::

    python benchmarks/job_counts.py

``test/test_job_counts.py`` runs the same measurements and asserts the numbers.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from qiskit.circuit import ParameterVector
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2
from sklearn.datasets import make_blobs

from qiskit_qdeep.circuit.library import strongly_entangling_circuit
from qiskit_qdeep.clustering import QMeans, QuantumDeepClustering
from qiskit_qdeep.linear_solvers import HHL
from qiskit_qdeep.models import QCCNN, HQNNParallel, HQNNQuanv
from qiskit_qdeep.nn import ParallelQuantumLayer, QuantumLayer, Quanv2d, SwapTestConv2d
from qiskit_qdeep.svm import QLSSVM, AllPairQSVM, DeepQSVM


class CountingSampler(BaseSamplerV2):
    """A V2 sampler that counts the ``run`` calls of the sampler it wraps."""

    def __init__(self, inner: BaseSamplerV2):
        self.inner = inner
        self.calls = 0

    def run(self, pubs, *, shots=None):
        self.calls += 1
        return self.inner.run(pubs, shots=shots)

    def __deepcopy__(self, memo):
        return self  # a clone keeps counting on the same wrapper


class CountingEstimator(BaseEstimatorV2):
    """A V2 estimator that counts the ``run`` calls of the estimator it wraps."""

    def __init__(self, inner: BaseEstimatorV2):
        self.inner = inner
        self.calls = 0

    def run(self, pubs, *, precision=None):
        self.calls += 1
        return self.inner.run(pubs, precision=precision)

    def __deepcopy__(self, memo):
        return self


class _RecordingQMeans(QMeans):
    """QMeans that appends the jobs of each fit to ``sampler.fits`` (a CountingSampler)."""

    def fit(self, X, y=None):
        before = self.sampler.calls
        super().fit(X, y)
        self.sampler.fits.append(self.sampler.calls - before)
        return self


@dataclass(frozen=True)
class Measurement:
    """Jobs of one configuration."""

    family: str
    """The object."""
    operation: str
    """What was run (one training step, one prediction batch, ...)."""
    jobs: int
    """Primitive ``run`` calls counted."""
    note: str = ""
    """How the number comes about."""


def _sampler(seed: int = 1) -> CountingSampler:
    return CountingSampler(AerSamplerV2(seed=seed))


def _estimator(seed: int = 1) -> CountingEstimator:
    return CountingEstimator(AerEstimatorV2(options={"run_options": {"seed": seed}}))


def _train_step(model: torch.nn.Module, inputs: torch.Tensor) -> None:
    model.zero_grad()
    model(inputs).sum().backward()


def _layers() -> list[Measurement]:
    rows = []
    x, w = ParameterVector("x", 3), ParameterVector("w", 9)
    circuit = strongly_entangling_circuit(3, reps=1, input_params=x, weight_params=w)
    est = _estimator()
    layer = QuantumLayer(circuit, ["IIZ", "IZI", "ZII"], x, w, estimator=est, seed=0)
    _train_step(layer, torch.rand(16, 3))
    rows.append(Measurement("QuantumLayer", "training step, batch 16", est.calls))
    est = _estimator()
    layer = ParallelQuantumLayer(9, num_qubits=3, reps=1, estimator=est, seed=0)
    _train_step(layer, torch.rand(16, 9))
    rows.append(
        Measurement("ParallelQuantumLayer", "training step, batch 16", est.calls, "3 circuits")
    )
    est = _estimator()
    model = HQNNParallel(1, 8, 4, num_qubits=3, reps=1, num_circuits=2, estimator=est, seed=0)
    _train_step(model, torch.rand(4, 1, 8, 8))
    rows.append(Measurement("HQNNParallel", "training step, batch 4", est.calls))
    est = _estimator()
    layer = Quanv2d(1, 2, stride=2, num_filters=2, estimator=est, seed=0)
    _train_step(layer, torch.rand(4, 1, 4, 4))
    rows.append(
        Measurement("Quanv2d", "training step, batch 4", est.calls, "4 patches x 2 filters each")
    )
    est = _estimator()
    model = HQNNQuanv(10, 6, estimator=est, seed=0)
    _train_step(model, torch.rand(4, 1, 6, 6))
    rows.append(Measurement("HQNNQuanv", "training step, batch 4", est.calls))
    for num_layers in (1, 2):
        est = _estimator()
        model = QCCNN(num_layers, 5, estimator=est, seed=0)
        _train_step(model, torch.rand(4, 1, 3, 3))
        rows.append(
            Measurement(
                "QCCNN",
                f"training step, batch 4, num_layers={num_layers}",
                est.calls,
                "one job per quanvolution layer",
            )
        )
    for gradient in ("parameter-shift", "ancilla"):
        sampler = _sampler()
        layer = SwapTestConv2d(
            2, 2, stride=2, sampler=sampler, gradient=gradient, shots=100, seed=0
        )
        _train_step(layer, torch.rand(4, 1, 4, 4))
        rows.append(
            Measurement(
                "SwapTestConv2d",
                f"training step, batch 4, gradient={gradient!r}",
                sampler.calls,
                "forward + backward" if gradient == "ancilla" else "shifts in the forward job",
            )
        )
        if gradient == "ancilla":
            sampler.calls = 0
            with torch.no_grad():
                layer(torch.rand(4, 1, 4, 4))
            rows.append(
                Measurement("SwapTestConv2d", "evaluation under no_grad, batch 4", sampler.calls)
            )
    return rows


def _svm() -> list[Measurement]:
    rows = []
    sampler = _sampler()
    a = np.array([[1.0, -1.0 / 3.0], [-1.0 / 3.0, 1.0]])
    result = HHL(sampler=sampler, shots=1000).solve(a, np.array([1.0, 0.0]))
    rows.append(Measurement("HHL", "solve", sampler.calls, f"reported: num_jobs={result.num_jobs}"))

    X, y = make_blobs(n_samples=60, centers=3, n_features=2, cluster_std=1.0, random_state=4)
    X = 0.5 * (X - X.mean(axis=0)) / X.std(axis=0)
    train = np.concatenate([np.flatnonzero(y == c)[:3] for c in range(3)])
    test = np.setdiff1d(np.arange(len(y)), train)[:20]
    pair = np.isin(y[train], [0, 1])

    sampler = _sampler()
    model = QLSSVM(sampler=sampler, shots=1000).fit(X[train][pair], y[train][pair])
    rows.append(Measurement("QLSSVM", "fit", sampler.calls, "one HHL job"))
    sampler.calls = 0
    model.predict(X[test])
    rows.append(Measurement("QLSSVM", "predict, 20 points", sampler.calls))

    sampler = _sampler()
    model = AllPairQSVM(voting="classical", sampler=sampler, shots=1000, random_state=0)
    model.fit(X[train], y[train])
    rows.append(Measurement("AllPairQSVM", "fit, 3 classes", sampler.calls, "one HHL job per pair"))
    for voting in ("classical", "grover"):
        sampler.calls = 0
        vote = model.set_params(voting=voting).vote(X[test])
        rows.append(
            Measurement(
                "AllPairQSVM",
                f"predict, 3 classes, 20 points, voting={voting!r}",
                sampler.calls,
                f"{vote.num_decision_jobs} decision job + {vote.num_voting_jobs} Durr-Hoyer rounds",
            )
        )

    sampler = _sampler()
    model = DeepQSVM((2,), sampler=sampler, shots=1000, voting="grover", random_state=0)
    model.fit(X[train], y[train])
    rows.append(
        Measurement(
            "DeepQSVM",
            "fit, hidden_layers=(2,), 3 classes",
            sampler.calls,
            "HHL per pair of 3 units + 1 job for both hidden units' decisions on the training set",
        )
    )
    sampler.calls = 0
    vote = model.vote(X[test])
    rows.append(
        Measurement(
            "DeepQSVM",
            "predict, hidden_layers=(2,), 3 classes, 20 points",
            sampler.calls,
            f"1 hidden-layer + {vote.num_decision_jobs} output decision job + "
            f"{vote.num_voting_jobs} Durr-Hoyer rounds",
        )
    )
    return rows


def _clustering() -> list[Measurement]:
    rows = []
    X, _ = make_blobs(n_samples=40, centers=3, n_features=2, random_state=0)
    for method in ("distance", "adiabatic"):
        sampler = _sampler()
        kwargs = {"evolution_time": 10.0, "trotter_steps": 10} if method == "adiabatic" else {}
        model = QMeans(
            3, method=method, sampler=sampler, shots=200, max_iter=3, random_state=0, **kwargs
        ).fit(X)
        rows.append(
            Measurement(
                "QMeans",
                f"fit, method={method!r}, max_iter=3",
                sampler.calls,
                f"n_iter_={model.n_iter_} assignment steps (+ a final one unless the labels "
                "stopped changing)",
            )
        )
        sampler.calls = 0
        model.predict(X)
        rows.append(
            Measurement(
                "QMeans",
                f"one assignment step (iteration or predict), method={method!r}",
                sampler.calls,
                "distances" if method == "distance" else "distances + adiabatic assignment",
            )
        )
    sampler = _sampler()
    sampler.fits = []
    images = np.random.default_rng(0).random((24, 8, 8))
    clusterer = _RecordingQMeans(3, sampler=sampler, shots=200, max_iter=2)
    QuantumDeepClustering(
        3,
        clusterer=clusterer,
        epochs=1,
        batch_size=8,
        num_qubits=2,
        head_width=4,
        reps=1,
        progress=False,
        random_state=0,
    ).fit(images)
    rows.append(
        Measurement(
            "QuantumDeepClustering",
            "one epoch, QMeans clusterer (max_iter=2)",
            sampler.fits[0],
            "the epoch's QMeans fit; the quantum head runs on the exact torch engine",
        )
    )
    rows.append(
        Measurement(
            "QuantumDeepClustering",
            "fit, 1 epoch (+ the final clustering)",
            sampler.calls,
            f"QMeans fits of {sampler.fits} jobs",
        )
    )
    return rows


#: The measurement groups, in table order.
GROUPS: dict[str, Callable[[], list[Measurement]]] = {
    "layers": _layers,
    "svm": _svm,
    "clustering": _clustering,
}


def measure(groups: tuple[str, ...] = tuple(GROUPS)) -> list[Measurement]:
    """Runs the selected measurement groups (``"layers"``, ``"svm"``, ``"clustering"``)."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in groups:
            rows.extend(GROUPS[name]())
    return rows


def main() -> int:
    """Prints the measured job counts."""
    rows = measure()
    width = max(len(f"{r.family}: {r.operation}") for r in rows)
    for r in rows:
        print(f"{f'{r.family}: {r.operation}':<{width}}  {r.jobs:>3}  {r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
