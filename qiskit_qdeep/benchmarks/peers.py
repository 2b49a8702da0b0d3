# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Peer benchmark: qiskit-qdeep against PennyLane and TorchQuantum on the same circuits.

Every framework runs the **same** circuits on the same inputs and weights, one thread each
(``torch.set_num_threads(1)``; ``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1`` and
``OPENBLAS_NUM_THREADS=1`` before a peer is imported, and in every subprocess):

* ``qdeep-f64`` / ``qdeep-f32``: qiskit-qdeep's exact engine with ``gradient="backprop"``
  (complex128 / complex64 simulation), through :class:`~qiskit_qdeep.nn.QuantumLayer`,
  :class:`~qiskit_qdeep.nn.ParallelQuantumLayer` and :class:`~qiskit_qdeep.nn.Quanv2d`.
* ``pennylane``: PennyLane ``default.qubit`` with ``diff_method="backprop"`` and
  ``interface="torch"`` (float64), batched by parameter broadcasting; the blocks use
  ``qml.AngleEmbedding(rotation="X")`` and ``qml.StronglyEntanglingLayers(ranges=[1] * reps)``.
* ``lightning``: PennyLane ``lightning.qubit`` with ``diff_method="adjoint"`` (float64); the same
  QNodes (PennyLane splits a broadcast batch into one tape per sample for this device).
* ``torchquantum``: TorchQuantum's state-vector functions (float32 / complex64, its only
  precision), the gates written out one by one: ``rx``, ``rot``, ``cnot``, ``ry``.

Workloads (forward + backward of ``loss = outputs.sum()`` unless stated):

1. ``hqnn``: one HQNN-Parallel block
   (:func:`~qiskit_qdeep.circuit.library.strongly_entangling_circuit`: ``RX`` embedding of 5
   inputs, 3 strongly entangling layers, ``<Y>`` on each of the 5 qubits), batches 64, 1024,
   4096; gradients with respect to the inputs and the weights.
2. ``parallel``: HQNN-Parallel's quantum part, 4 blocks side by side on 20 features, batch 1024:
   once as one call with the 4 blocks' rows stacked into the batch
   (:class:`~qiskit_qdeep.nn.ParallelQuantumLayer`; the peers broadcast per-row weights), and once
   as 4 separate layers (4 :class:`~qiskit_qdeep.nn.QuantumLayer`, 4 QNodes, 4 TorchQuantum
   circuits).
3. ``quanv``: the HQNN-Quanv quanvolution (:class:`~qiskit_qdeep.nn.Quanv2d` with
   ``kernel_size=2, stride=2, encoding="ry_pi", ansatz="hqnn", readout="per_qubit"``:
   ``RY(pi x)`` per pixel, ``RY(w_q)`` per qubit, CNOT ladder, ``<Z>`` per qubit) on 1,000 MNIST
   images of 28 x 28 (196,000 patches), forward only (``torch.no_grad``) and forward + backward
   (gradients with respect to the 4 kernel weights; images are data).
4. ``scaling``: the block with ``<Z>`` on every qubit, 3 layers, batch 256, for 4, 8, 12, 16
   qubits. Each (framework, size) whose call is large is first run once in a subprocess that is
   killed above ``--memory-limit`` (peak RSS, read from ``/proc``) or ``--time-limit``; a
   framework that fails is stopped there for the larger sizes too.

**Agreement first.** Before any timing, each workload is run on a small batch by every framework
and compared with ``qdeep-f64`` (outputs, input gradients, weight gradients; to ``1e-7`` for
float64 and ``1e-4`` for float32, relative to the largest reference magnitude). A
disagreement raises :class:`PeerMismatchError` before anything is timed. ``qdeep-f64`` itself
is checked against :class:`qiskit.quantum_info.Statevector` and stored PennyLane numbers by the
test suite (``test/test_peer_benchmark.py``), so the benchmark runs every circuit of the package
through its execution core only.

**Timing.** Frameworks are interleaved (round robin over the repetitions, after ``--warmup``
untimed calls) and the median of ``--repeats`` calls is reported (fewer for a framework whose
timed calls on a case add up to more than ``--budget`` seconds). A framework whose call is
measured to take longer than ``--time-limit`` seconds (or predicted, from a call on 1/16 of the
batch, to take more than twice as long) is stopped for that workload's larger sizes. The table
gives each median, the dtype of the framework, and the ratios ``t(qdeep-f64) / t`` and
``t(qdeep-f32) / t`` measured in the same run (below 1: qiskit-qdeep is faster). ``--output``
writes everything as JSON. The timed calls of all frameworks run in one process and share its
memory allocator; each scaling probe runs alone in a fresh process (its time is not reported).

Peers are optional; a missing one is skipped with a note (``pip install 'qiskit-qdeep[peers]'``).
TorchQuantum 0.1.8 pins ``qiskit<1`` and imports Qiskit-1-only modules when its package is
imported; when that import fails, only its state-vector modules (``macro``, ``device``,
``module``, ``operator``, ``measurement``, ``functional``) are loaded, with a placeholder for the
one Qiskit Aer module they name (see :func:`import_torchquantum`).

Run it as ``python -m qiskit_qdeep.benchmarks.peers`` (``--help`` lists the options).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch.nn import functional

from ..exceptions import QDeepValueError, QiskitQDeepError

#: Names accepted by ``--frameworks``, in table order.
FRAMEWORKS = ("qdeep-f64", "qdeep-f32", "pennylane", "lightning", "torchquantum")

#: Names accepted by ``--workloads``.
WORKLOADS = ("hqnn", "parallel", "quanv", "scaling")

#: Install hint printed for a missing peer.
PEERS_INSTALL = "pip install 'qiskit-qdeep[peers]'"

#: Install hint for TorchQuantum, whose release pins ``qiskit<1``.
TORCHQUANTUM_INSTALL = (
    "pip install --no-deps torchquantum==0.1.8 torchpack multimethod toml loguru opt-einsum"
)

#: Environment variables set to the thread count before a peer is imported and in subprocesses.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: A framework whose call, predicted from 1/16 of the batch, exceeds this many time limits is not
#: timed (one under it runs, and stops after the first call over the limit).
PREDICTION_MARGIN = 2.0

#: Agreement tolerance by real dtype, relative to ``max(1, max |reference|)``.
TOLERANCES = {torch.float64: 1e-7, torch.float32: 1e-4}


class PeerMismatchError(QiskitQDeepError):
    """A framework computes other outputs or gradients than qiskit-qdeep on the same circuit."""


@dataclass(frozen=True)
class Framework:
    """A column of the benchmark."""

    name: str
    """Name used by ``--frameworks``."""

    description: str
    """What runs (simulator and differentiation method)."""

    dtype: torch.dtype
    """Real dtype of inputs, weights and outputs (the state is the matching complex dtype)."""

    module: str | None
    """Module that must be importable (``None``: qiskit-qdeep itself)."""

    install: str
    """How to install the missing module."""


_FRAMEWORKS = {
    "qdeep-f64": Framework(
        "qdeep-f64", "qiskit-qdeep exact engine, backprop", torch.float64, None, ""
    ),
    "qdeep-f32": Framework(
        "qdeep-f32", "qiskit-qdeep exact engine, backprop", torch.float32, None, ""
    ),
    "pennylane": Framework(
        "pennylane",
        "PennyLane default.qubit, backprop",
        torch.float64,
        "pennylane",
        PEERS_INSTALL,
    ),
    "lightning": Framework(
        "lightning",
        "PennyLane lightning.qubit, adjoint",
        torch.float64,
        "pennylane_lightning",
        PEERS_INSTALL,
    ),
    "torchquantum": Framework(
        "torchquantum",
        "TorchQuantum state vector, autograd",
        torch.float32,
        "torchquantum",
        TORCHQUANTUM_INSTALL,
    ),
}


@dataclass(frozen=True)
class Case:
    """One timed configuration of a workload (the same for every framework)."""

    kind: str
    """``"block"``, ``"parallel"``, ``"separate"`` or ``"quanv"``."""

    workload: str
    """Workload it belongs to (a name of :data:`WORKLOADS`)."""

    num_qubits: int
    """Qubits per circuit."""

    batch: int
    """Samples (images for ``"quanv"``)."""

    reps: int = 3
    """Strongly entangling layers (blocks only)."""

    observable: str = "Y"
    """Pauli measured on every qubit (blocks only)."""

    blocks: int = 1
    """Blocks side by side (``"parallel"`` and ``"separate"``)."""

    image_size: int = 28
    """Side of the square images (``"quanv"``)."""

    backward: bool = True
    """Forward + backward (``False``: forward only, under ``torch.no_grad``)."""

    def label(self) -> str:
        """The ``size`` column of the table."""
        if self.kind == "quanv":
            mode = "fwd+bwd" if self.backward else "forward"
            return f"{self.batch} images {self.image_size}x{self.image_size}, {mode}"
        if self.kind in ("parallel", "separate"):
            how = "one layer" if self.kind == "parallel" else "separate layers"
            return f"{self.blocks} blocks ({how}), batch {self.batch}"
        return f"{self.num_qubits} qubits, batch {self.batch}"

    def with_batch(self, batch: int) -> Case:
        """The same case with another batch."""
        return Case(**{**asdict(self), "batch": batch})

    @property
    def num_features(self) -> int:
        """Input width of the block cases."""
        return self.num_qubits * self.blocks

    @property
    def num_gates(self) -> int:
        """Gates of one circuit (embedding included)."""
        if self.kind == "quanv":
            return 11
        n = self.num_qubits
        ring = 0 if n == 1 else (1 if n == 2 else n)
        return n + self.reps * (3 * n + ring)

    def weight_shape(self) -> tuple[int, ...]:
        """Shape of the canonical weights (qiskit-qdeep's ``weight`` layout)."""
        if self.kind == "quanv":
            return (1, 4)
        per_block = 3 * self.num_qubits * self.reps
        return (self.blocks, per_block) if self.kind in ("parallel", "separate") else (per_block,)


@dataclass
class Result:
    """Timings of one framework on one case."""

    workload: str
    """Workload name."""

    size: str
    """Human-readable size (:meth:`Case.label`)."""

    framework: str
    """Framework name."""

    dtype: str
    """Real dtype of the framework's numbers."""

    times: list[float] = field(default_factory=list)
    """Timed calls, in seconds."""

    median: float | None = None
    """Median of :attr:`times`; ``None`` when skipped."""

    ratios: dict[str, float] = field(default_factory=dict)
    """``t(qdeep-f64) / median`` and ``t(qdeep-f32) / median`` in the same run."""

    peak_rss_mb: float | None = None
    """Peak resident memory of the subprocess probe (MB), when probed."""

    note: str = ""
    """Why it was skipped or stopped, or what was estimated."""


class _Model:
    """A framework's differentiable function with its weights in the canonical layout."""

    def __init__(
        self,
        forward: Callable[[torch.Tensor], torch.Tensor],
        weights: Sequence[torch.Tensor],
        canonical_grad: Callable[[], np.ndarray],
        default_dtype: torch.dtype | None = None,
    ) -> None:
        self.forward = forward
        self.weights = list(weights)
        self.canonical_grad = canonical_grad
        self.default_dtype = default_dtype

    def step(self, inputs: torch.Tensor, backward: bool) -> torch.Tensor:
        """One call: forward (and backward of the output sum)."""
        if self.default_dtype is None:
            return self._step(inputs, backward)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(self.default_dtype)
        try:
            return self._step(inputs, backward)
        finally:
            torch.set_default_dtype(previous)

    def _step(self, inputs: torch.Tensor, backward: bool) -> torch.Tensor:
        if not backward:
            with torch.no_grad():
                return self.forward(inputs)
        for weight in self.weights:
            weight.grad = None
        if inputs.requires_grad:
            inputs.grad = None
        out = self.forward(inputs)
        out.sum().backward()
        return out


# ----------------------------------------------------------------------------- optional peers


@contextlib.contextmanager
def _threads(threads: int):
    """Torch threads and the thread variables set to ``threads``, restored afterwards."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    saved_threads = torch.get_num_threads()
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved_threads)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def peer_available(name: str) -> bool:
    """Whether the module a framework needs is installed (without importing it)."""
    module = _FRAMEWORKS[name].module
    if module is None:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def select_frameworks(
    names: Sequence[str], *, printer: Callable[[str], None] = print
) -> tuple[list[str], list[str]]:
    """The requested frameworks that are installed, and a note for each missing one.

    Args:
        names: Names from :data:`FRAMEWORKS`.
        printer: Where the notes are printed.

    Returns:
        ``(available, notes)``.

    Raises:
        QDeepValueError: For an unknown name.
    """
    unknown = [n for n in names if n not in _FRAMEWORKS]
    if unknown:
        raise QDeepValueError(f"--frameworks must be among {FRAMEWORKS}, got unknown {unknown}.")
    available, notes = [], []
    for name in dict.fromkeys(names):
        if peer_available(name):
            available.append(name)
        else:
            framework = _FRAMEWORKS[name]
            note = f"{name} skipped: {framework.module} is not installed ({framework.install})."
            notes.append(note)
            printer(note)
    return available, notes


_TQ_MODULES = ("macro", "device", "module", "operator", "measurement", "functional")
_TQ_PLACEHOLDERS = (
    "qiskit.providers.aer",
    "qiskit.providers.aer.noise",
    "qiskit.providers.aer.noise.device",
    "qiskit.providers.aer.noise.device.parameters",
)


def _unavailable(*args, **kwargs):
    raise QiskitQDeepError(
        "This TorchQuantum feature needs qiskit<1 (qiskit.providers.aer); the peer benchmark "
        "loaded only TorchQuantum's state-vector modules."
    )


def import_torchquantum() -> types.ModuleType:
    """Imports TorchQuantum, or only its state-vector modules under Qiskit 2.

    ``import torchquantum`` (0.1.8) imports ``qiskit.providers.aer`` and ``IBMQ`` (removed in
    Qiskit 1) and ``qiskit.pulse`` (removed in Qiskit 2). When it fails, the modules ``macro``,
    ``device``, ``module``, ``operator``, ``measurement`` and ``functional`` are loaded, in the
    order of TorchQuantum's ``__init__``, into a bare ``torchquantum`` package (each one's public
    names copied onto it, as its ``from .x import *`` lines do). The one Qiskit-1-only name they
    import, ``qiskit.providers.aer.noise.device.parameters.gate_error_values`` (noise models), is
    given as a function that raises when called; its placeholder modules are removed from
    ``sys.modules`` once the modules are loaded. Gates, devices and measurements are
    TorchQuantum's own code.

    Returns:
        The ``torchquantum`` module.

    Raises:
        ImportError: When TorchQuantum is not installed or its modules do not load.
    """
    try:
        import torchquantum  # noqa: PLC0415

        return torchquantum
    except ModuleNotFoundError as exc:
        if exc.name == "torchquantum":
            raise
    except ImportError:
        pass
    spec = importlib.util.find_spec("torchquantum")
    if spec is None:  # pragma: no cover - find_spec found it above
        raise ImportError("torchquantum is not installed.")
    for name in [m for m in sys.modules if m == "torchquantum" or m.startswith("torchquantum.")]:
        del sys.modules[name]
    package = types.ModuleType("torchquantum")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    added = []
    for name in _TQ_PLACEHOLDERS:
        if name not in sys.modules:
            placeholder = types.ModuleType(name)
            placeholder.gate_error_values = _unavailable
            sys.modules[name] = placeholder
            added.append(name)
    sys.modules["torchquantum"] = package
    try:
        for sub in _TQ_MODULES:
            module = importlib.import_module(f"torchquantum.{sub}")
            names = getattr(module, "__all__", None)
            if names is None:
                names = [n for n in vars(module) if not n.startswith("_")]
            for attr in names:
                setattr(package, attr, getattr(module, attr))
    except Exception:
        for name in [m for m in sys.modules if m.startswith("torchquantum")]:
            del sys.modules[name]
        raise
    finally:
        for name in added:
            sys.modules.pop(name, None)
    package.__version__ = _distribution_version("torchquantum") or "unknown"
    return package


def _distribution_version(name: str) -> str | None:
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# ----------------------------------------------------------------------------- models


def _qdeep_model(case: Case, weights: np.ndarray, dtype: torch.dtype) -> _Model:
    from qiskit.circuit import ParameterVector  # noqa: PLC0415

    from ..circuit.library import strongly_entangling_circuit  # noqa: PLC0415
    from ..nn import ParallelQuantumLayer, QuantumLayer, Quanv2d  # noqa: PLC0415

    def exact(layer, layer_weights: np.ndarray):
        # The layers build their weights in torch's default dtype (float32): set them again
        # after the conversion, or float64 would start from float32-rounded weights.
        layer = layer.to(dtype)
        with torch.no_grad():
            layer.weight.copy_(
                torch.as_tensor(layer_weights, dtype=dtype).reshape(layer.weight.shape)
            )
        return layer

    n = case.num_qubits
    if case.kind == "quanv":
        layer = Quanv2d(
            1,
            2,
            stride=2,
            encoding="ry_pi",
            ansatz="hqnn",
            readout="per_qubit",
            rotation="ry",
            gradient="backprop",
            initial_weights=weights,
        )
        layer = exact(layer, weights)
        return _Model(layer, [layer.weight], lambda: layer.weight.grad.double().numpy().copy())
    if case.kind == "parallel":
        layer = ParallelQuantumLayer(
            case.num_features,
            n,
            case.reps,
            gradient="backprop",
            initial_weights=weights,
            max_qubits=max(20, n),
        )
        layer = exact(layer, weights)
        return _Model(layer, [layer.weight], lambda: layer.weight.grad.double().numpy().copy())

    def block(block_weights: np.ndarray) -> QuantumLayer:
        x = ParameterVector("x", n)
        w = ParameterVector("w", 3 * n * case.reps)
        circuit = strongly_entangling_circuit(n, case.reps, input_params=x, weight_params=w)
        labels = ["I" * (n - 1 - q) + case.observable + "I" * q for q in range(n)]
        layer = QuantumLayer(
            circuit,
            labels,
            x,
            w,
            gradient="backprop",
            initial_weights=block_weights,
            max_qubits=max(20, n),
        )
        return exact(layer, block_weights)

    if case.kind == "separate":
        layers = [block(weights[i]) for i in range(case.blocks)]

        def forward(inputs: torch.Tensor) -> torch.Tensor:
            chunks = inputs.chunk(case.blocks, dim=1)
            return torch.cat([lay(chunk) for lay, chunk in zip(layers, chunks)], dim=1)

        return _Model(
            forward,
            [lay.weight for lay in layers],
            lambda: np.stack([lay.weight.grad.double().numpy() for lay in layers]),
        )
    layer = block(weights)
    return _Model(layer, [layer.weight], lambda: layer.weight.grad.double().numpy().copy())


def _quanv_rows(images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """2 x 2 stride-2 patches as rows ``(batch * patches, 4)``, pixel ``(i, j)`` on qubit 2i+j."""
    batch, _, height, width = images.shape
    patches = functional.unfold(images, 2, stride=2)  # (B, 4, L)
    h_out, w_out = (height - 2) // 2 + 1, (width - 2) // 2 + 1
    return patches.transpose(1, 2).reshape(-1, 4), (batch, h_out, w_out)


def _quanv_output(rows: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    batch, h_out, w_out = shape
    return rows.reshape(batch, h_out * w_out, 4).transpose(1, 2).reshape(batch, 4, h_out, w_out)


def _row_weights(weights: torch.Tensor, batch: int) -> torch.Tensor:
    """Per-row weights of the stacked blocks: row ``b * blocks + i`` gets ``weights[i]``."""
    return weights.unsqueeze(0).expand(batch, *weights.shape).reshape(-1, *weights.shape[1:])


def _pennylane_model(case: Case, weights: np.ndarray, device_name: str) -> _Model:
    import pennylane as qml  # noqa: PLC0415

    diff_method = "backprop" if device_name == "default.qubit" else "adjoint"
    dtype = torch.float64
    n = case.num_qubits
    device = qml.device(device_name, wires=n)
    if case.kind == "quanv":

        @qml.qnode(device, interface="torch", diff_method=diff_method)
        def kernel(x, w):
            for q in range(4):
                qml.RY(np.pi * x[..., q], wires=q)
            for q in range(4):
                qml.RY(w[q], wires=q)
            for q in range(3):
                qml.CNOT(wires=[q, q + 1])
            return [qml.expval(qml.PauliZ(q)) for q in range(4)]

        weight = torch.tensor(weights[0], dtype=dtype, requires_grad=True)

        def forward(images: torch.Tensor) -> torch.Tensor:
            rows, shape = _quanv_rows(images)
            return _quanv_output(torch.stack(kernel(rows, weight), dim=-1), shape)

        return _Model(forward, [weight], lambda: weight.grad.numpy()[None].copy())

    pauli = qml.PauliY if case.observable == "Y" else qml.PauliZ

    @qml.qnode(device, interface="torch", diff_method=diff_method)
    def circuit(x, w):
        qml.AngleEmbedding(x, wires=range(n), rotation="X")
        if n > 2:
            qml.StronglyEntanglingLayers(w, wires=range(n), ranges=[1] * case.reps)
        else:  # PennyLane's template has a 2-cycle ring on 2 wires; the package has one CNOT
            for layer in range(case.reps):
                for q in range(n):
                    qml.Rot(w[..., layer, q, 0], w[..., layer, q, 1], w[..., layer, q, 2], wires=q)
                if n == 2:
                    qml.CNOT(wires=[0, 1])
        return [qml.expval(pauli(q)) for q in range(n)]

    shape = (case.reps, n, 3)
    if case.kind == "block":
        weight = torch.tensor(weights.reshape(shape), dtype=dtype, requires_grad=True)

        def forward(inputs: torch.Tensor) -> torch.Tensor:
            return torch.stack(circuit(inputs, weight), dim=-1)

        return _Model(forward, [weight], lambda: weight.grad.numpy().reshape(-1).copy())
    stacked = torch.tensor(weights.reshape(case.blocks, *shape), dtype=dtype, requires_grad=True)
    if case.kind == "parallel":

        def forward(inputs: torch.Tensor) -> torch.Tensor:
            rows = inputs.reshape(-1, n)
            out = torch.stack(circuit(rows, _row_weights(stacked, inputs.shape[0])), dim=-1)
            return out.reshape(inputs.shape[0], -1)

        return _Model(
            forward, [stacked], lambda: stacked.grad.numpy().reshape(case.blocks, -1).copy()
        )
    separate = [
        torch.tensor(weights[i].reshape(shape), dtype=dtype, requires_grad=True)
        for i in range(case.blocks)
    ]

    def forward(inputs: torch.Tensor) -> torch.Tensor:
        chunks = inputs.chunk(case.blocks, dim=1)
        return torch.cat(
            [torch.stack(circuit(c, w), dim=-1) for c, w in zip(chunks, separate)], dim=1
        )

    return _Model(
        forward, separate, lambda: np.stack([w.grad.numpy().reshape(-1) for w in separate])
    )


def _torchquantum_model(case: Case, weights: np.ndarray) -> _Model:
    tq = import_torchquantum()
    tqf = tq.functional
    dtype = torch.float32
    n = case.num_qubits
    if case.kind == "quanv":
        weight = torch.tensor(weights[0], dtype=dtype, requires_grad=True)

        def forward(images: torch.Tensor) -> torch.Tensor:
            rows, shape = _quanv_rows(images)
            qdev = tq.QuantumDevice(n_wires=4, bsz=rows.shape[0], device=rows.device)
            for q in range(4):
                tqf.ry(qdev, wires=q, params=np.pi * rows[:, q])
            for q in range(4):
                tqf.ry(qdev, wires=q, params=weight[q : q + 1])
            for q in range(3):
                tqf.cnot(qdev, wires=[q, q + 1])
            out = tq.measurement.expval(qdev, list(range(4)), [tq.PauliZ() for _ in range(4)])
            return _quanv_output(out, shape)

        return _Model(forward, [weight], lambda: weight.grad.double().numpy()[None].copy())

    observable = tq.PauliY if case.observable == "Y" else tq.PauliZ
    ring = [] if n == 1 else ([(0, 1)] if n == 2 else [(q, (q + 1) % n) for q in range(n)])

    def run(rows: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # w: (reps, n, 3), or (rows, reps, n, 3) per row
        qdev = tq.QuantumDevice(n_wires=n, bsz=rows.shape[0], device=rows.device)
        for q in range(n):
            tqf.rx(qdev, wires=q, params=rows[:, q])
        for layer in range(case.reps):
            for q in range(n):
                angles = w[layer, q].unsqueeze(0) if w.dim() == 3 else w[:, layer, q]
                tqf.rot(qdev, wires=q, params=angles)
            for control, target in ring:
                tqf.cnot(qdev, wires=[control, target])
        return tq.measurement.expval(qdev, list(range(n)), [observable() for _ in range(n)])

    shape = (case.reps, n, 3)
    if case.kind == "block":
        weight = torch.tensor(weights.reshape(shape), dtype=dtype, requires_grad=True)
        return _Model(
            lambda inputs: run(inputs, weight),
            [weight],
            lambda: weight.grad.double().numpy().reshape(-1).copy(),
        )
    stacked = torch.tensor(weights.reshape(case.blocks, *shape), dtype=dtype, requires_grad=True)
    if case.kind == "parallel":

        def forward(inputs: torch.Tensor) -> torch.Tensor:
            out = run(inputs.reshape(-1, n), _row_weights(stacked, inputs.shape[0]))
            return out.reshape(inputs.shape[0], -1)

        return _Model(
            forward,
            [stacked],
            lambda: stacked.grad.double().numpy().reshape(case.blocks, -1).copy(),
        )
    separate = [
        torch.tensor(weights[i].reshape(shape), dtype=dtype, requires_grad=True)
        for i in range(case.blocks)
    ]

    def forward(inputs: torch.Tensor) -> torch.Tensor:
        chunks = inputs.chunk(case.blocks, dim=1)
        return torch.cat([run(c, w) for c, w in zip(chunks, separate)], dim=1)

    return _Model(
        forward,
        separate,
        lambda: np.stack([w.grad.double().numpy().reshape(-1) for w in separate]),
    )


def build_model(name: str, case: Case, weights: np.ndarray) -> _Model:
    """The framework's implementation of ``case`` with the canonical ``weights``.

    Args:
        name: A name of :data:`FRAMEWORKS`.
        case: The configuration.
        weights: Canonical weights of shape :meth:`Case.weight_shape` (qiskit-qdeep's layout).

    Returns:
        A model with ``step(inputs, backward)``, ``weights`` and ``canonical_grad()``.

    Raises:
        QDeepValueError: For an unknown framework.
    """
    if name == "qdeep-f64":
        return _qdeep_model(case, weights, torch.float64)
    if name == "qdeep-f32":
        return _qdeep_model(case, weights, torch.float32)
    if name in ("pennylane", "lightning"):
        device = "default.qubit" if name == "pennylane" else "lightning.qubit"
        model = _pennylane_model(case, weights, device)
        # PennyLane's torch interface returns lightning's adjoint results in torch's default
        # dtype: float64 inputs would come back as float32 outputs without this.
        model.default_dtype = torch.float64
        return model
    if name == "torchquantum":
        return _torchquantum_model(case, weights)
    raise QDeepValueError(f"framework must be one of {FRAMEWORKS}, got {name!r}.")


# ----------------------------------------------------------------------------- data


def case_data(
    case: Case, seed: int, images: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Float64 inputs and canonical weights of a case, the same in every process.

    Inputs are uniform in ``[0, 1)`` (images: the first ``batch`` of ``images``, else random
    pixels); weights are uniform in ``[0, 2 pi)``, the package's default range.

    Returns:
        ``(inputs, weights)``: inputs ``(batch, features)`` or ``(batch, 1, side, side)``.
    """
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.0, 2.0 * np.pi, case.weight_shape())
    if case.kind == "quanv":
        if images is None:
            pixels = rng.random((case.batch, 1, case.image_size, case.image_size))
        else:
            pixels = np.asarray(images[: case.batch], dtype=np.float64)[:, None]
        return pixels, weights
    return rng.random((case.batch, case.num_features)), weights


def _tensor(inputs: np.ndarray, case: Case, dtype: torch.dtype) -> torch.Tensor:
    tensor = torch.tensor(inputs, dtype=dtype)
    if case.kind != "quanv" and case.backward:
        tensor.requires_grad_(True)
    return tensor


# ----------------------------------------------------------------------------- agreement


@dataclass
class Evaluation:
    """Outputs and gradients of one call, as float64 arrays."""

    outputs: np.ndarray
    """The outputs."""

    input_grad: np.ndarray | None
    """Gradient of ``outputs.sum()`` with respect to the inputs (``None``: not asked)."""

    weight_grad: np.ndarray | None
    """Gradient of ``outputs.sum()`` with respect to the canonical weights."""


def evaluate(model: _Model, inputs: torch.Tensor, backward: bool = True) -> Evaluation:
    """One call of a model, with its outputs and gradients as float64 arrays."""
    out = model.step(inputs, backward)
    input_grad = None
    if backward and inputs.requires_grad:
        input_grad = inputs.grad.detach().double().numpy().copy()
    return Evaluation(
        out.detach().double().numpy().copy(),
        input_grad,
        model.canonical_grad() if backward else None,
    )


def check_agreement(
    name: str, reference: Evaluation, candidate: Evaluation, dtype: torch.dtype, label: str = ""
) -> float:
    """Compares a framework's evaluation with the reference; raises on a mismatch.

    Args:
        name: Framework compared.
        reference: ``qdeep-f64``'s evaluation.
        candidate: The framework's evaluation of the same case.
        dtype: The framework's real dtype (its tolerance is :data:`TOLERANCES`).
        label: What was evaluated, for the message.

    Returns:
        The largest relative deviation found.

    Raises:
        PeerMismatchError: When shapes differ or a deviation exceeds the tolerance.
    """
    tol = TOLERANCES.get(dtype, 1e-4)
    worst = 0.0
    for what in ("outputs", "input_grad", "weight_grad"):
        ref, got = getattr(reference, what), getattr(candidate, what)
        if ref is None and got is None:
            continue
        if ref is None or got is None or np.shape(ref) != np.shape(got):
            raise PeerMismatchError(
                f"{name} {what} on {label}: shape {np.shape(got)} where qdeep-f64 has "
                f"{np.shape(ref)}."
            )
        scale = max(1.0, float(np.max(np.abs(ref))) if np.size(ref) else 1.0)
        deviation = float(np.max(np.abs(got - ref))) / scale if np.size(ref) else 0.0
        if not np.isfinite(deviation) or deviation > tol:
            raise PeerMismatchError(
                f"{name} disagrees with qdeep-f64 on {label}: {what} differ by {deviation:.3g} "
                f"(relative to {scale:.3g}), above the tolerance {tol:g} for {dtype}. Not timing "
                "a framework that computes something else; check the conventions (qubit order, "
                "Rot angles, CNOT ring)."
            )
        worst = max(worst, deviation)
    return worst


def check_case(
    case: Case,
    frameworks: Sequence[str],
    *,
    seed: int,
    images: np.ndarray | None = None,
    builder: Callable[[str, Case, np.ndarray], _Model] = build_model,
) -> dict[str, float]:
    """Checks every framework against ``qdeep-f64`` on ``case``.

    Args:
        case: A small configuration.
        frameworks: Framework names to check (``qdeep-f64`` is always the reference).
        seed: Seed of the inputs and weights.
        images: Images for ``"quanv"`` (default random pixels).
        builder: Builds a framework's model (tests inject wrong implementations here).

    Returns:
        The largest relative deviation of each framework.

    Raises:
        PeerMismatchError: On the first disagreement.
    """
    inputs, weights = case_data(case, seed, images)
    reference = evaluate(builder("qdeep-f64", case, weights), _tensor(inputs, case, torch.float64))
    label = f"{case.workload} ({case.label()})"
    worst = {"qdeep-f64": 0.0}
    for name in frameworks:
        if name == "qdeep-f64":
            continue
        dtype = _FRAMEWORKS[name].dtype if name in _FRAMEWORKS else torch.float64
        got = evaluate(builder(name, case, weights), _tensor(inputs, case, dtype))
        worst[name] = check_agreement(name, reference, got, dtype, label)
    return worst


# ----------------------------------------------------------------------------- memory probe


def _rss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def estimate_bytes(case: Case, dtype: torch.dtype) -> int:
    """An upper bound of a call's memory: one state per gate kept for backward, plus 4."""
    amplitude = 16 if dtype == torch.float64 else 8
    rows = case.batch * case.blocks
    if case.kind == "quanv":
        rows = case.batch * ((case.image_size - 2) // 2 + 1) ** 2
    return rows * (2**case.num_qubits) * amplitude * (case.num_gates + 4)


def _probe_child(spec_json: str) -> int:
    """Subprocess side of :func:`probe`: one call, then a JSON line with time and peak RSS."""
    spec = json.loads(spec_json)
    torch.set_num_threads(spec["threads"])
    case = Case(**spec["case"])
    inputs, weights = case_data(case, spec["seed"])
    model = build_model(spec["framework"], case, weights)
    tensor = _tensor(inputs, case, _FRAMEWORKS[spec["framework"]].dtype)
    base = _rss_bytes(os.getpid())
    print("READY", flush=True)
    start = time.perf_counter()
    model.step(tensor, case.backward)
    seconds = time.perf_counter() - start
    peak = _peak_rss_bytes()
    print(json.dumps({"seconds": seconds, "peak_rss": peak, "base_rss": base}), flush=True)
    return 0


def _peak_rss_bytes() -> int | None:
    """Peak resident memory of this process (``VmHWM``; ``ru_maxrss`` where there is no /proc).

    Linux keeps ``ru_maxrss`` across ``fork`` and ``exec``, so in a subprocess it can report the
    parent's peak; ``VmHWM`` belongs to the process's own address space.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource  # noqa: PLC0415
    except ImportError:  # pragma: no cover - not POSIX
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


@dataclass
class ProbeResult:
    """What one subprocess call showed."""

    ok: bool
    """The call finished within both limits."""

    seconds: float | None = None
    """Time of the call."""

    peak_rss_mb: float | None = None
    """Peak resident memory of the subprocess (MB), or the last reading before it was killed."""

    note: str = ""
    """Why it failed."""


def probe(
    framework: str,
    case: Case,
    *,
    seed: int,
    threads: int,
    time_limit: float,
    memory_limit_gb: float,
    startup_limit: float = 300.0,
) -> ProbeResult:
    """Runs one call of ``framework`` on ``case`` in a subprocess under time and memory limits.

    The subprocess is killed when its resident memory (read from ``/proc`` every 20 ms) exceeds
    ``memory_limit_gb`` or the call runs longer than ``time_limit``.

    Returns:
        The probe's outcome.
    """
    spec = {
        "framework": framework,
        "case": asdict(case),
        "seed": seed,
        "threads": threads,
    }
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    code = (
        "import sys; from qiskit_qdeep.benchmarks.peers import _probe_child; "
        "sys.exit(_probe_child(sys.argv[1]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            lines.append(line.strip())
            if line.startswith("READY"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    budget = memory_limit_gb * 1e9
    spawned = time.perf_counter()
    started = None
    peak = 0
    reason = ""
    while process.poll() is None:
        rss = _rss_bytes(process.pid)
        if rss is not None:
            peak = max(peak, rss)
            if budget and rss > budget:
                reason = f"over the memory limit ({rss / 1e9:.1f} GB > {memory_limit_gb:g} GB)"
        now = time.perf_counter()
        if started is None and ready.is_set():
            started = now
        if started is not None and now - started > time_limit:
            reason = f"over the time limit ({time_limit:g} s per call)"
        if started is None and now - spawned > startup_limit:
            reason = f"did not start within {startup_limit:g} s"
        if reason:
            process.kill()
            process.wait()
            return ProbeResult(False, None, peak / 1e6 if peak else None, reason)
        time.sleep(0.02)
    reader.join(timeout=5)
    stderr = process.stderr.read() if process.stderr else ""
    for line in reversed(lines):
        if line.startswith("{"):
            data = json.loads(line)
            peak = max(peak, data["peak_rss"] or 0)
            return ProbeResult(True, data["seconds"], peak / 1e6 if peak else None, "")
    tail = stderr.strip().splitlines()[-1:] or [f"exit code {process.returncode}"]
    if process.returncode in (-9, 137):
        tail = ["killed (out of memory?)"]
    return ProbeResult(False, None, peak / 1e6 if peak else None, f"failed: {tail[0]}")


# ----------------------------------------------------------------------------- timing


def _timed(model: _Model, inputs: torch.Tensor, backward: bool) -> float:
    start = time.perf_counter()
    model.step(inputs, backward)
    return time.perf_counter() - start


def time_case(
    case: Case,
    frameworks: Sequence[str],
    *,
    seed: int,
    repeats: int,
    warmup: int,
    time_limit: float,
    budget: float = math.inf,
    images: np.ndarray | None = None,
    builder: Callable[[str, Case, np.ndarray], _Model] = build_model,
) -> dict[str, Result]:
    """Times the frameworks on one case, interleaved (round robin over the repetitions).

    Each framework is first called on 1/16 of the batch; when that call, scaled to the whole
    batch, predicts more than :data:`PREDICTION_MARGIN` times ``time_limit`` the framework is not
    timed. A framework whose call takes longer than ``time_limit`` is stopped after that call, and
    one whose timed calls add up to more than ``budget`` seconds is timed no more (its median is
    over fewer calls).

    Args:
        case: The configuration.
        frameworks: Framework names.
        seed: Seed of the inputs and weights.
        repeats: Timed calls per framework (the median is reported).
        warmup: Untimed calls per framework before the timed ones.
        time_limit: Limit of one call, in seconds.
        budget: Seconds of timed calls per framework after which it is timed no more.
        images: Images for ``"quanv"``.
        builder: Builds a framework's model.

    Returns:
        A result per framework.
    """
    inputs, weights = case_data(case, seed, images)
    results, models = {}, {}
    for name in frameworks:
        dtype = _FRAMEWORKS[name].dtype if name in _FRAMEWORKS else torch.float64
        results[name] = Result(case.workload, case.label(), name, str(dtype).replace("torch.", ""))
        model = builder(name, case, weights)
        tensor = _tensor(inputs, case, dtype)
        small = max(1, case.batch // 16)
        if small < case.batch:
            probe_input = _tensor(inputs[:small], case, dtype)
            predicted = _timed(model, probe_input, case.backward) * case.batch / small
            # scaled linearly from a small batch the prediction overestimates a vectorised
            # framework and is noisy on a loaded machine: only a clear excess skips the timing
            if predicted > PREDICTION_MARGIN * time_limit:
                results[name].note = (
                    f"not timed: a call on 1/16 of the batch predicts {predicted:.0f} s, over "
                    f"{PREDICTION_MARGIN:g} x --time-limit {time_limit:g} s"
                )
                continue
        models[name] = (model, tensor)
    for rep in range(warmup + repeats):
        for name in list(models):
            model, tensor = models[name]
            seconds = _timed(model, tensor, case.backward)
            if rep >= warmup:
                results[name].times.append(seconds)
            if seconds > time_limit:
                if not results[name].times:
                    results[name].times.append(seconds)
                results[name].note = (
                    f"stopped after {rep + 1} call(s): {seconds:.1f} s > --time-limit "
                    f"{time_limit:g} s"
                )
                del models[name]
            elif rep < warmup + repeats - 1 and sum(results[name].times) > budget:
                results[name].note = (
                    f"{len(results[name].times)} of {repeats} calls timed: --budget {budget:g} s "
                    "spent"
                )
                del models[name]
    for result in results.values():
        if result.times:
            result.median = statistics.median(result.times)
    _fill_ratios(results)
    return results


def _fill_ratios(results: dict[str, Result]) -> None:
    for ref in ("qdeep-f64", "qdeep-f32"):
        base = results.get(ref)
        if base is None or base.median is None:
            continue
        for result in results.values():
            if result.median:
                result.ratios[ref] = base.median / result.median


# ----------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Sizes:
    """Sizes of the workloads."""

    hqnn_batches: tuple[int, ...] = (64, 1024, 4096)
    """Batches of the HQNN block."""

    parallel_batch: int = 1024
    """Batch of the 4 side-by-side blocks."""

    parallel_blocks: int = 4
    """Number of blocks side by side."""

    quanv_images: int = 1000
    """Images of the quanvolution."""

    image_size: int = 28
    """Side of the images."""

    scaling_qubits: tuple[int, ...] = (4, 8, 12, 16)
    """Qubit counts of the scaling workload."""

    scaling_batch: int = 256
    """Batch of the scaling workload."""

    check_batch: int = 4
    """Batch (images for ``quanv``) of the agreement checks."""


#: Small sizes of ``--quick``.
QUICK_SIZES = Sizes(
    hqnn_batches=(8, 32),
    parallel_batch=16,
    quanv_images=4,
    image_size=8,
    scaling_qubits=(3, 4),
    scaling_batch=8,
    check_batch=2,
)


def workload_cases(workload: str, sizes: Sizes) -> list[list[Case]]:
    """The cases of a workload, as groups in increasing size (a stopped framework stays stopped).

    Raises:
        QDeepValueError: For an unknown workload.
    """
    if workload == "hqnn":
        return [[Case("block", "hqnn", 5, b) for b in sizes.hqnn_batches]]
    if workload == "parallel":
        b, k = sizes.parallel_batch, sizes.parallel_blocks
        return [
            [Case("parallel", "parallel", 5, b, blocks=k)],
            [Case("separate", "parallel", 5, b, blocks=k)],
        ]
    if workload == "quanv":
        m, s = sizes.quanv_images, sizes.image_size
        return [
            [Case("quanv", "quanv", 4, m, image_size=s, backward=False)],
            [Case("quanv", "quanv", 4, m, image_size=s, backward=True)],
        ]
    if workload == "scaling":
        return [
            [
                Case("block", "scaling", n, sizes.scaling_batch, observable="Z")
                for n in sizes.scaling_qubits
            ]
        ]
    raise QDeepValueError(f"--workloads must be among {WORKLOADS}, got {workload!r}.")


def load_images(data_dir: str | None, count: int, size: int) -> tuple[np.ndarray | None, str]:
    """MNIST test images (first ``count``, resized to ``size`` when not 28), or ``None`` and a note.

    Raises:
        DatasetNotFoundError: When ``data_dir`` is given but holds no MNIST files.
    """
    if data_dir is None:
        return None, "quanv: random images (no --data-dir given; pass the MNIST IDX directory)"
    from ..datasets import load_mnist  # noqa: PLC0415

    images, _ = load_mnist(
        data_dir, split="test", limit=count, resize=None if size == 28 else (size, size)
    )
    return images.astype(np.float64), f"quanv: first {count} MNIST test images from {data_dir}"


def run_benchmark(
    *,
    workloads: Sequence[str] = WORKLOADS,
    frameworks: Sequence[str] = FRAMEWORKS,
    sizes: Sizes = Sizes(),
    repeats: int = 9,
    warmup: int = 1,
    time_limit: float = 60.0,
    budget: float = 120.0,
    memory_limit_gb: float = 8.0,
    memory_probe: str = "auto",
    seed: int = 7,
    threads: int = 1,
    data_dir: str | None = None,
    progress: Callable[[str], None] | None = print,
) -> dict:
    """Runs the peer benchmark and returns its report (``rows``, ``notes``, ``checks``, ...).

    Args:
        workloads: Names from :data:`WORKLOADS`.
        frameworks: Names from :data:`FRAMEWORKS`; missing peers are skipped with a note.
        sizes: Workload sizes (:data:`QUICK_SIZES` for a smoke run).
        repeats: Timed calls per framework and case (median reported).
        warmup: Untimed calls before them.
        time_limit: Longest call, in seconds, before a framework is stopped.
        budget: Seconds of timed calls per framework and case; a slow framework gets fewer
            calls than ``repeats`` (at least one).
        memory_limit_gb: Memory budget of one call (peak RSS of the probing subprocess, GB).
        memory_probe: ``"auto"``: probe the ``scaling`` cases in a subprocess when
            :func:`estimate_bytes` exceeds 1/16 of the budget; ``"always"``; ``"never"``.
        seed: Seed of inputs and weights.
        threads: Threads of every framework.
        data_dir: MNIST IDX directory for ``quanv`` (random images without it).
        progress: Prints progress lines (``None``: silent).

    Returns:
        A JSON-serialisable report.

    Raises:
        QDeepValueError: For bad options.
        PeerMismatchError: When a framework disagrees with qiskit-qdeep.
    """
    say = progress or (lambda _line: None)
    for name, value, low in (
        ("repeats", repeats, 1),
        ("warmup", warmup, 0),
        ("threads", threads, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise QDeepValueError(f"--{name} must be an integer >= {low}, got {value!r}.")
    if not time_limit > 0:
        raise QDeepValueError(f"--time-limit must be positive, got {time_limit!r}.")
    if not budget > 0:
        raise QDeepValueError(f"--budget must be positive, got {budget!r}.")
    if not memory_limit_gb >= 0:
        raise QDeepValueError(
            f"--memory-limit must be >= 0 (GB; 0: none), got {memory_limit_gb!r}."
        )
    if memory_probe not in ("auto", "always", "never"):
        raise QDeepValueError(
            f"memory_probe must be 'auto', 'always' or 'never', got {memory_probe!r}."
        )
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        raise QDeepValueError(f"--workloads must be among {WORKLOADS}, got unknown {unknown}.")
    with _threads(threads):
        available, notes = select_frameworks(frameworks, printer=say)
        if "qdeep-f64" not in available:
            available.insert(0, "qdeep-f64")  # the reference of every check and ratio
            notes.append("qdeep-f64 added: it is the reference of the agreement checks and ratios")
        available = [n for n in FRAMEWORKS if n in available]
        images = None
        if "quanv" in workloads:
            images, note = load_images(data_dir, sizes.quanv_images, sizes.image_size)
            notes.append(note)
            say(note)
        report = {
            "benchmark": "peers",
            "machine": _machine(),
            "versions": _versions(available),
            "frameworks": {n: _describe(n) for n in available},
            "config": {
                "workloads": list(workloads),
                "sizes": asdict(sizes),
                "repeats": repeats,
                "warmup": warmup,
                "time_limit_s": time_limit,
                "budget_s": budget,
                "memory_limit_gb": memory_limit_gb,
                "memory_probe": memory_probe,
                "seed": seed,
                "threads": threads,
            },
            "notes": notes,
            "checks": {},
            "rows": [],
        }
        options = {
            "seed": seed,
            "repeats": repeats,
            "warmup": warmup,
            "time_limit": time_limit,
            "budget": budget,
            "memory_limit_gb": memory_limit_gb,
            "memory_probe": memory_probe,
            "threads": threads,
        }
        # agreement first, for every workload before anything is timed: small versions of each
        # distinct circuit, gradients included
        checks = dict.fromkeys(
            Case(**{**asdict(c), "batch": sizes.check_batch, "backward": True})
            for workload in workloads
            for group in workload_cases(workload, sizes)
            for c in group
        )
        for case in checks:
            worst = check_case(case, available, seed=seed, images=images)
            report["checks"][f"{case.workload}: {case.label()}"] = worst
            say(
                f"agreement {case.workload} ({case.label()}), largest deviation from qdeep-f64: "
                + ", ".join(f"{n} {d:.1e}" for n, d in worst.items())
            )
        for workload in workloads:
            for group in workload_cases(workload, sizes):
                for result in _run_group(group, available, images, options, say):
                    report["rows"].append(asdict(result))
        report["machine"]["load_average_end"] = _load_average()
        return report


def _run_group(
    group: Sequence[Case],
    available: Sequence[str],
    images: np.ndarray | None,
    options: dict,
    say: Callable[[str], None],
) -> list[Result]:
    """Times a group of cases in increasing size; a framework stopped at one size stays stopped."""
    stopped: dict[str, str] = {}  # framework -> why
    results = []
    budget = options["memory_limit_gb"] * 1e9
    for case in group:
        rows = {name: _empty_result(case, name, f"not run: {why}") for name, why in stopped.items()}
        active = [n for n in available if n not in stopped]
        peaks: dict[str, float | None] = {}
        if case.workload == "scaling" and options["memory_probe"] != "never":
            for name in list(active):
                estimate = estimate_bytes(case, _FRAMEWORKS[name].dtype)
                if options["memory_probe"] == "auto" and budget and estimate < budget / 16:
                    continue
                say(f"  probing {name} on {case.label()} in a subprocess")
                outcome = probe(
                    name,
                    case,
                    seed=options["seed"],
                    threads=options["threads"],
                    time_limit=options["time_limit"],
                    memory_limit_gb=options["memory_limit_gb"],
                )
                peaks[name] = outcome.peak_rss_mb
                if not outcome.ok:
                    active.remove(name)
                    rows[name] = _empty_result(case, name, f"not timed: {outcome.note}")
                    rows[name].peak_rss_mb = outcome.peak_rss_mb
                    stopped[name] = f"{outcome.note} at {case.label()}"
        timed = time_case(
            case,
            active,
            seed=options["seed"],
            repeats=options["repeats"],
            warmup=options["warmup"],
            time_limit=options["time_limit"],
            budget=options["budget"],
            images=images,
        )
        for name, result in timed.items():
            result.peak_rss_mb = peaks.get(name)
            rows[name] = result
            if result.median is None or result.note.startswith("stopped"):
                stopped[name] = f"{result.note} at {case.label()}"
        for name in available:
            results.append(rows[name])
            say(f"  {_row_line(rows[name])}")
    return results


def _empty_result(case: Case, name: str, note: str) -> Result:
    dtype = str(_FRAMEWORKS[name].dtype).replace("torch.", "")
    return Result(case.workload, case.label(), name, dtype, note=note)


def _row_line(result: Result) -> str:
    median = "-" if result.median is None else _fmt_seconds(result.median)
    return f"{result.size:<40s} {result.framework:<13s} {median:>11s} {result.note}"


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds >= 1 else f"{seconds * 1e3:.2f} ms"


def _describe(name: str) -> dict:
    framework = _FRAMEWORKS[name]
    return {
        "description": framework.description,
        "dtype": str(framework.dtype).replace("torch.", ""),
    }


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_start": _load_average(),
    }


def _versions(frameworks: Sequence[str]) -> dict[str, str | None]:
    names = ["qiskit-qdeep", "qiskit", "torch", "numpy"]
    if "pennylane" in frameworks or "lightning" in frameworks:
        names.append("pennylane")
    if "lightning" in frameworks:
        names.append("pennylane-lightning")
    if "torchquantum" in frameworks:
        names.append("torchquantum")
    return {name: _distribution_version(name) for name in names}


def format_table(report: dict) -> str:
    """A Markdown table of a report's rows."""
    lines = [
        "| workload | size | framework | dtype | median | runs | t(qdeep-f64) / t "
        "| t(qdeep-f32) / t | peak RSS | note |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in report["rows"]:
        median = "" if row["median"] is None else _fmt_seconds(row["median"])
        ratios = [
            "" if row["ratios"].get(ref) is None else f"{row['ratios'][ref]:.3g}"
            for ref in ("qdeep-f64", "qdeep-f32")
        ]
        peak = "" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:,.0f} MB"
        lines.append(
            f"| {row['workload']} | {row['size']} | {row['framework']} | {row['dtype']} | "
            f"{median} | {len(row['times'])} | {ratios[0]} | {ratios[1]} | {peak} | "
            f"{row['note']} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the benchmark's options to ``parser``."""
    parser.add_argument(
        "--workloads",
        nargs="+",
        choices=WORKLOADS,
        default=list(WORKLOADS),
        help="workloads to run (default: all)",
    )
    parser.add_argument(
        "--frameworks",
        nargs="+",
        choices=FRAMEWORKS,
        default=list(FRAMEWORKS),
        help="frameworks to compare (default: all; missing peers are skipped)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed calls per framework and case, median reported (default 9, --quick 3)",
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed calls first (default %(default)s)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, for a smoke test in seconds"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="seconds of one call beyond which a framework is stopped (default %(default)s)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=120.0,
        help="seconds of timed calls per framework and case; a slower framework gets fewer than "
        "--repeats calls (default %(default)s)",
    )
    parser.add_argument(
        "--memory-limit",
        type=float,
        default=8.0,
        help="GB of peak RSS of one call beyond which a framework is stopped in the scaling "
        "workload (default %(default)s; 0: no limit)",
    )
    parser.add_argument(
        "--memory-probe",
        choices=("auto", "always", "never"),
        default="auto",
        help="run scaling cases once in a subprocess under the limits first: 'auto' when "
        "their estimated memory exceeds 1/16 of the budget (default %(default)s)",
    )
    parser.add_argument("--data-dir", default=None, help="MNIST IDX directory for 'quanv'")
    parser.add_argument("--seed", type=int, default=7, help="seed (default %(default)s)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads of every framework (default 1)"
    )
    parser.add_argument("--output", default=None, help="write the report as JSON to this file")


def run_from_args(args: argparse.Namespace) -> int:
    """Runs the benchmark for parsed arguments, prints the table and writes ``--output``."""
    sizes = QUICK_SIZES if args.quick else Sizes()
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 9)
    print(
        f"qiskit-qdeep peer benchmark on {platform.processor() or platform.machine()}, "
        f"{args.threads} thread(s) per framework, load average {_load_average()}",
        flush=True,
    )
    report = run_benchmark(
        workloads=args.workloads,
        frameworks=args.frameworks,
        sizes=sizes,
        repeats=repeats,
        warmup=args.warmup,
        time_limit=args.time_limit,
        budget=args.budget,
        memory_limit_gb=args.memory_limit,
        memory_probe=args.memory_probe,
        seed=args.seed,
        threads=args.threads,
        data_dir=args.data_dir,
        progress=lambda line: print(line, flush=True),
    )
    print()
    print(format_table(report))
    for note in report["notes"]:
        print(f"* {note}")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
        print(f"\nwrote {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry of the benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m qiskit_qdeep.benchmarks.peers", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
