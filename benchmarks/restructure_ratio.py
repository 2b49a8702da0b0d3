# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Exact-path speed of this tree against an earlier commit, measured in one run.

Usage::

    python benchmarks/restructure_ratio.py [--ref 4da60fd] [--repeats 9]

The earlier commit is checked out into a temporary git worktree; each workload runs in a fresh
subprocess per tree (one torch thread), alternating between the trees, and the table prints the
medians and the ratio ``this tree / ref`` (below 1: faster now). Workloads: HQNN blocks
(forward + backward, float64 and float32), a Quanv2d forward over 200 images and a
TorchStatevectorEstimator run over 256 bindings.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]

WORKER = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
import numpy as np
from qiskit.circuit import ParameterVector
from qiskit_qdeep.circuit.library import strongly_entangling_circuit
from qiskit_qdeep.nn import QuantumLayer, Quanv2d
from qiskit_qdeep.primitives import TorchStatevectorEstimator

name, repeats = sys.argv[1], int(sys.argv[2])
x = ParameterVector("x", 5)
w = ParameterVector("w", 45)
qc = strongly_entangling_circuit(5, 3, input_params=x, weight_params=w)
obs = ["I" * (4 - q) + "Y" + "I" * q for q in range(5)]
gen = torch.Generator().manual_seed(0)
if name.startswith("hqnn"):
    _, batch, dtype = name.split("-")
    dtype = torch.float64 if dtype == "f64" else torch.float32
    layer = QuantumLayer(qc, obs, x, w, seed=0).to(dtype)
    inputs = torch.rand(int(batch), 5, generator=gen, dtype=dtype)
    def step():
        layer.zero_grad()
        layer(inputs).sum().backward()
elif name == "quanv-200":
    layer = Quanv2d(1, kernel_size=2, stride=2, seed=0)
    images = torch.rand(200, 1, 28, 28, generator=gen)
    def step():
        with torch.no_grad():
            layer(images)
else:
    estimator = TorchStatevectorEstimator()
    values = np.random.default_rng(0).uniform(0, 6, (256, 50))
    def step():
        estimator.run([(qc, [[o] for o in obs], values)]).result()
step()
times = []
for _ in range(repeats):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""

WORKLOADS = ["hqnn-64-f64", "hqnn-1024-f64", "hqnn-1024-f32", "quanv-200", "estimator-256"]


def _run(tree: pathlib.Path, name: str, repeats: int) -> list[float]:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", WORKER, name, str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="4da60fd", help="earlier commit (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats per process")
    parser.add_argument("--rounds", type=int, default=2, help="alternating process rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = pathlib.Path(tmp) / "ref"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.ref],
            check=True,
            capture_output=True,
        )
        try:
            print(f"{'workload':<16} {'ref (ms)':>10} {'now (ms)':>10} {'now/ref':>8}")
            for name in WORKLOADS:
                times = {"ref": [], "now": []}
                for _ in range(args.rounds):
                    times["ref"] += _run(old, name, args.repeats)
                    times["now"] += _run(ROOT, name, args.repeats)
                ref = statistics.median(times["ref"]) * 1e3
                now = statistics.median(times["now"]) * 1e3
                print(f"{name:<16} {ref:>10.2f} {now:>10.2f} {now / ref:>8.2f}")
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
