# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""A data-driven catalogue of bad inputs to every public class and function.

Each :class:`Case` builds and calls one public entry point with one bad input (NaN/inf, empty,
wrong dimensionality or width, wrong dtype, data outside the encoding's domain, too many qubits,
V1 or foreign primitives, non-ISA circuits on a backend primitive, bad shots, channel counts,
kernels larger than the input, ...). The test asserts that the error is of the expected type,
belongs to qiskit-qdeep's exception family (:class:`~qiskit_qdeep.exceptions.QiskitQDeepError`)
and that its message names the argument (``match`` regex).

To extend the catalogue, append ``Case(id, callable, expected_types, regex)`` rows to ``CASES``
(e.g. in a new ``_<module>_cases()`` function added to ``CASES``).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.transpiler import generate_preset_pass_manager
from sklearn.exceptions import NotFittedError

from qiskit_qdeep.circuit import library as lib
from qiskit_qdeep.datasets import (
    load_digits_dataset,
    load_mnist,
    make_tetris,
    read_idx,
    resize_area,
)
from qiskit_qdeep.exceptions import (
    DatasetNotFoundError,
    ISACircuitError,
    QDeepTypeError,
    QDeepValueError,
    QiskitQDeepError,
    QubitLimitError,
    UnsupportedGateError,
)
from qiskit_qdeep.models import CNN1, CNN4, QCCNN, HQNNParallel, HQNNQuanv
from qiskit_qdeep.nn import ParallelQuantumLayer, QuantumLayer, Quanv2d, SwapTestConv2d
from qiskit_qdeep.primitives import (
    EstimatorRunner,
    RetryPolicy,
    SamplerRunner,
    StatevectorEngine,
    TorchStatevectorEstimator,
    TorchStatevectorSampler,
    resolve_estimator,
    resolve_sampler,
    run_sampler_batch,
)
from qiskit_qdeep.reproductions import run_reproduction
from qiskit_qdeep.training import evaluate_classifier, fit_classifier
from test import QDeepTestCase

VALUE = (QDeepValueError,)
TYPE = (QDeepTypeError,)


@dataclass(frozen=True)
class Case:
    """One row of the catalogue."""

    id: str
    """Unique name: ``<entry point>-<what is wrong>``."""
    call: Callable[[], object]
    """Builds the object and calls it with the bad input."""
    errors: tuple[type[BaseException], ...]
    """Accepted exception types (all in the QiskitQDeepError family)."""
    match: str
    """Regex the message must match: it names the argument and what was expected."""


# ----------------------------------------------------------------------------- fixtures


def layer_circuit(num_qubits=2):
    x, w = ParameterVector("x", num_qubits), ParameterVector("w", num_qubits)
    qc = QuantumCircuit(num_qubits)
    for q in range(num_qubits):
        qc.ry(x[q], q)
        qc.ry(w[q], q)
    for q in range(num_qubits - 1):
        qc.cx(q, q + 1)
    return qc, list(x), list(w)


def param_circuit():
    qc, x, w = layer_circuit()
    return qc


def v1_estimator():
    from qiskit_aer.primitives import Estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Estimator()


def v1_sampler():
    from qiskit_aer.primitives import Sampler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Sampler()


def manila():
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    return FakeManilaV2()


def runtime_sampler():
    from qiskit_ibm_runtime import SamplerV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SamplerV2(mode=manila())


def runtime_estimator():
    from qiskit_ibm_runtime import EstimatorV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EstimatorV2(mode=manila())


def quantum_layer(**kwargs):
    qc, x, w = layer_circuit()
    return QuantumLayer(qc, ["ZI", "IZ"], x, w, **kwargs)


def image(*shape, value=None):
    if value is not None:
        return torch.full(shape, value)
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


def nan_image(*shape):
    x = image(*shape)
    x.view(-1)[0] = float("nan")
    return x


# ----------------------------------------------------------------------------- cases


def _primitives_cases():
    qc = param_circuit()
    good = EstimatorRunner(qc, "ZZ")
    sampler_runner = SamplerRunner(qc)
    return [
        Case(
            "EstimatorRunner-circuit-not-circuit",
            lambda: EstimatorRunner("qc", "Z"),
            TYPE,
            "circuit must be a QuantumCircuit",
        ),
        Case(
            "EstimatorRunner-observable-width",
            lambda: EstimatorRunner(qc, "ZZZ"),
            VALUE,
            "observables.*3 qubits.*2",
        ),
        Case(
            "EstimatorRunner-observables-empty",
            lambda: EstimatorRunner(qc, []),
            VALUE,
            "observable",
        ),
        Case(
            "EstimatorRunner-observable-complex",
            lambda: EstimatorRunner(qc, [("ZZ", 1j)]),
            TYPE,
            "observables",
        ),
        Case(
            "EstimatorRunner-observable-foreign",
            lambda: EstimatorRunner(qc, [object()]),
            TYPE,
            "observables",
        ),
        Case(
            "EstimatorRunner-estimator-v1",
            lambda: EstimatorRunner(qc, "ZZ", estimator=v1_estimator()),
            TYPE,
            "estimator must be.*V1 primitive",
        ),
        Case(
            "EstimatorRunner-estimator-foreign",
            lambda: EstimatorRunner(qc, "ZZ", estimator="aer"),
            TYPE,
            "estimator must be.*BaseEstimatorV2",
        ),
        Case(
            "EstimatorRunner-estimator-is-sampler",
            lambda: EstimatorRunner(qc, "ZZ", estimator=StatevectorSampler()),
            TYPE,
            "estimator must be",
        ),
        Case(
            "EstimatorRunner-pass-manager-foreign",
            lambda: EstimatorRunner(qc, "ZZ", pass_manager="O1"),
            TYPE,
            "pass_manager must be",
        ),
        Case(
            "EstimatorRunner-precision-negative",
            lambda: EstimatorRunner(qc, "ZZ", precision=-0.1),
            VALUE,
            "precision must be",
        ),
        Case(
            "EstimatorRunner-precision-nan",
            lambda: EstimatorRunner(qc, "ZZ", precision=float("nan")),
            VALUE,
            "precision must be",
        ),
        Case(
            "EstimatorRunner-precision-string",
            lambda: EstimatorRunner(qc, "ZZ", precision="high"),
            TYPE,
            "precision must be",
        ),
        Case(
            "EstimatorRunner-max-bindings-zero",
            lambda: EstimatorRunner(qc, "ZZ", max_bindings_per_pub=0),
            VALUE,
            "max_bindings_per_pub",
        ),
        Case(
            "EstimatorRunner-seed-string",
            lambda: EstimatorRunner(qc, "ZZ", seed="abc"),
            TYPE,
            "seed must be",
        ),
        Case(
            "EstimatorRunner-retry-dict",
            lambda: EstimatorRunner(qc, "ZZ", retry={"max_retries": 1}),
            TYPE,
            "retry must be",
        ),
        Case(
            "EstimatorRunner-parameters-missing",
            lambda: EstimatorRunner(qc, "ZZ", parameters=qc.parameters[:2]),
            VALUE,
            "parameters",
        ),
        Case(
            "EstimatorRunner.run-nan",
            lambda: good.run([[np.nan, 0, 0, 0]]),
            VALUE,
            "values contain NaN",
        ),
        Case(
            "EstimatorRunner.run-inf",
            lambda: good.run([[np.inf, 0, 0, 0]]),
            VALUE,
            "values contain NaN or inf",
        ),
        Case(
            "EstimatorRunner.run-width",
            lambda: good.run(np.zeros((2, 3))),
            VALUE,
            r"values must have shape \(\.\.\., 4\)",
        ),
        Case("EstimatorRunner.run-scalar", lambda: good.run(1.0), VALUE, "values must have shape"),
        Case(
            "EstimatorRunner.run-empty",
            lambda: good.run(np.zeros((0, 4))),
            VALUE,
            "values must hold at least one",
        ),
        Case(
            "EstimatorRunner.run-complex",
            lambda: good.run(np.zeros((1, 4), complex)),
            TYPE,
            "values must be real",
        ),
        Case(
            "EstimatorRunner.run-strings",
            lambda: good.run([["a", "b", "c", "d"]]),
            TYPE,
            "values must be a real numeric",
        ),
        Case(
            "EstimatorRunner.run_with_gradient-wrt-range",
            lambda: good.run_with_gradient(np.zeros((1, 4)), wrt=[7]),
            VALUE,
            "wrt",
        ),
        Case(
            "SamplerRunner-shots-zero",
            lambda: SamplerRunner(qc, shots=0),
            VALUE,
            "shots must be a positive integer",
        ),
        Case(
            "SamplerRunner-shots-negative",
            lambda: SamplerRunner(qc, shots=-5),
            VALUE,
            "shots must be a positive integer",
        ),
        Case(
            "SamplerRunner-shots-fraction",
            lambda: SamplerRunner(qc, shots=10.5),
            TYPE,
            "shots must be a positive integer",
        ),
        Case(
            "SamplerRunner-shots-string",
            lambda: SamplerRunner(qc, shots="100"),
            TYPE,
            "shots must be a positive integer",
        ),
        Case(
            "SamplerRunner-too-many-clbits",
            lambda: SamplerRunner(QuantumCircuit(21, 21)),
            VALUE,
            "circuit has 21 classical bits",
        ),
        Case(
            "SamplerRunner-sampler-v1",
            lambda: SamplerRunner(qc, sampler=v1_sampler()),
            TYPE,
            "sampler must be.*V1 primitive",
        ),
        Case(
            "SamplerRunner-sampler-is-estimator",
            lambda: SamplerRunner(qc, sampler=StatevectorEstimator()),
            TYPE,
            "sampler must be",
        ),
        Case(
            "SamplerRunner-non-ISA-runtime-sampler",
            lambda: SamplerRunner(qc, sampler=runtime_sampler()),
            (ISACircuitError,),
            "pass_manager",
        ),
        Case(
            "EstimatorRunner-non-ISA-runtime-estimator",
            lambda: EstimatorRunner(qc, "ZZ", estimator=runtime_estimator()),
            (ISACircuitError,),
            "pass_manager",
        ),
        Case(
            "SamplerRunner-too-many-qubits-for-backend",
            lambda: SamplerRunner(
                QuantumCircuit(6),
                sampler=runtime_sampler(),
                pass_manager=generate_preset_pass_manager(backend=manila(), optimization_level=1),
            ),
            VALUE,
            "circuit.*6 qubits.*5",
        ),
        Case(
            "SamplerRunner.run-nan",
            lambda: sampler_runner.run([[0, np.nan, 0, 0]]),
            VALUE,
            "values contain NaN",
        ),
        Case(
            "run_sampler_batch-different-samplers",
            lambda: run_sampler_batch(
                [(sampler_runner, np.zeros(4)), (SamplerRunner(qc), np.zeros(4))]
            ),
            VALUE,
            "same sampler object",
        ),
        Case(
            "run_sampler_batch-not-pairs",
            lambda: run_sampler_batch([sampler_runner]),
            TYPE,
            r"items\[0\]",
        ),
        Case(
            "resolve_estimator-v1",
            lambda: resolve_estimator(v1_estimator()),
            TYPE,
            "estimator must be",
        ),
        Case("resolve_sampler-foreign", lambda: resolve_sampler(42), TYPE, "sampler must be"),
        Case(
            "RetryPolicy-negative-retries",
            lambda: RetryPolicy(max_retries=-1),
            VALUE,
            "max_retries",
        ),
        Case("RetryPolicy-timeout-zero", lambda: RetryPolicy(timeout=0), VALUE, "timeout"),
        Case(
            "StatevectorEngine-not-circuit",
            lambda: StatevectorEngine("qc"),
            TYPE,
            "circuit must be a QuantumCircuit",
        ),
        Case(
            "StatevectorEngine-too-many-qubits",
            lambda: StatevectorEngine(QuantumCircuit(21)),
            (QubitLimitError,),
            "21 qubits.*max_qubits",
        ),
        Case(
            "StatevectorEngine-unsupported-gate",
            lambda: StatevectorEngine(_reset_circuit()).statevector(),
            (UnsupportedGateError,),
            "reset",
        ),
        Case(
            "StatevectorEngine-real-dtype",
            lambda: StatevectorEngine(qc, dtype=torch.float32),
            TYPE,
            "dtype",
        ),
        Case(
            "StatevectorEngine.statevector-width",
            lambda: StatevectorEngine(qc).statevector(torch.zeros(2, 3)),
            VALUE,
            "values|parameter",
        ),
        Case(
            "StatevectorEngine.statevector-nan",
            lambda: StatevectorEngine(qc).statevector(torch.full((1, 4), float("nan"))),
            VALUE,
            "NaN",
        ),
        Case(
            "TorchStatevectorEstimator-precision",
            lambda: TorchStatevectorEstimator(default_precision=-1.0),
            VALUE,
            "default_precision",
        ),
        Case(
            "TorchStatevectorEstimator-max-qubits",
            lambda: TorchStatevectorEstimator(max_qubits=0),
            VALUE,
            "max_qubits",
        ),
        Case(
            "TorchStatevectorEstimator.run-too-many-qubits",
            lambda: TorchStatevectorEstimator(max_qubits=1).run([(qc, "ZZ", np.zeros(4))]).result(),
            (QubitLimitError,),
            "max_qubits",
        ),
        Case(
            "TorchStatevectorSampler-shots-zero",
            lambda: TorchStatevectorSampler(default_shots=0),
            VALUE,
            "default_shots",
        ),
        Case(
            "TorchStatevectorSampler-shots-string",
            lambda: TorchStatevectorSampler(default_shots="many"),
            TYPE,
            "default_shots",
        ),
    ]


def _reset_circuit():
    qc = QuantumCircuit(1)
    qc.h(0)
    qc.reset(0)  # a reset after a gate (mid-circuit) is not a pure-state operation
    return qc


def _nn_cases():
    qc, x, w = layer_circuit()
    layer = quantum_layer(seed=0)
    parallel = ParallelQuantumLayer(4, num_qubits=2, reps=1, seed=0)
    quanv = Quanv2d(1, 2, seed=0)
    swap = SwapTestConv2d(2, 1, seed=0)
    return [
        Case(
            "QuantumLayer-circuit-not-circuit",
            lambda: QuantumLayer("qc", "Z", None, None),
            TYPE,
            "circuit must be a QuantumCircuit",
        ),
        Case(
            "QuantumLayer-observable-width",
            lambda: QuantumLayer(qc, "ZZZ", x, w),
            VALUE,
            "observables.*3 qubits",
        ),
        Case(
            "QuantumLayer-params-not-covering",
            lambda: QuantumLayer(qc, "ZZ", x, w[:1]),
            VALUE,
            "weight_params|input_params",
        ),
        Case(
            "QuantumLayer-params-foreign",
            lambda: QuantumLayer(qc, "ZZ", x, [Parameter("z")] + w[1:]),
            VALUE,
            "weight_params|input_params",
        ),
        Case(
            "QuantumLayer-gradient-unknown",
            lambda: quantum_layer(gradient="magic"),
            VALUE,
            "gradient must be one of",
        ),
        Case(
            "QuantumLayer-backprop-on-statevector-estimator",
            lambda: quantum_layer(gradient="backprop", estimator=StatevectorEstimator()),
            VALUE,
            "gradient='backprop'",
        ),
        Case(
            "QuantumLayer-estimator-v1",
            lambda: quantum_layer(estimator=v1_estimator()),
            TYPE,
            "estimator must be",
        ),
        Case(
            "QuantumLayer-initial-weights-size",
            lambda: quantum_layer(initial_weights=np.zeros(3)),
            VALUE,
            "initial_weights must have 2 entries",
        ),
        Case(
            "QuantumLayer-initial-weights-nan",
            lambda: quantum_layer(initial_weights=[np.nan, 0]),
            VALUE,
            "initial_weights contain NaN",
        ),
        Case(
            "QuantumLayer-too-many-qubits",
            lambda: QuantumLayer(*_wide_layer_args(3), max_qubits=2),
            (QubitLimitError,),
            "max_qubits",
        ),
        Case(
            "QuantumLayer-precision-negative",
            lambda: quantum_layer(gradient="parameter-shift", precision=-1.0),
            VALUE,
            "precision",
        ),
        Case(
            "QuantumLayer.forward-nan",
            lambda: layer(torch.tensor([[np.nan, 0.0]])),
            VALUE,
            "inputs contain NaN",
        ),
        Case(
            "QuantumLayer.forward-width",
            lambda: layer(torch.zeros(3, 5)),
            VALUE,
            r"inputs of shape \(batch, 2\)",
        ),
        Case(
            "QuantumLayer.forward-3d",
            lambda: layer(torch.zeros(3, 2, 2)),
            VALUE,
            r"inputs of shape \(batch, 2\)",
        ),
        Case(
            "QuantumLayer.forward-complex",
            lambda: layer(torch.zeros(2, 2, dtype=torch.complex64)),
            TYPE,
            "inputs must be real",
        ),
        Case("QuantumLayer.forward-strings", lambda: layer([["a", "b"]]), TYPE, "inputs"),
        Case(
            "ParallelQuantumLayer-in-features-zero",
            lambda: ParallelQuantumLayer(0),
            VALUE,
            "in_features must be an integer >= 1",
        ),
        Case(
            "ParallelQuantumLayer-num-qubits-zero",
            lambda: ParallelQuantumLayer(4, num_qubits=0),
            VALUE,
            "num_qubits",
        ),
        Case(
            "ParallelQuantumLayer-reps-negative",
            lambda: ParallelQuantumLayer(4, reps=-1),
            VALUE,
            "reps",
        ),
        Case(
            "ParallelQuantumLayer-too-many-qubits",
            lambda: ParallelQuantumLayer(4, num_qubits=21),
            (QubitLimitError, QDeepValueError),
            "qubits",
        ),
        Case(
            "ParallelQuantumLayer.forward-width",
            lambda: parallel(torch.zeros(2, 5)),
            VALUE,
            r"inputs of shape \(batch, 4\)",
        ),
        Case(
            "ParallelQuantumLayer.forward-inf",
            lambda: parallel(torch.full((2, 4), float("inf"))),
            VALUE,
            "NaN or inf",
        ),
        Case(
            "Quanv2d-in-channels-zero",
            lambda: Quanv2d(0, 2),
            VALUE,
            "in_channels must be an integer >= 1",
        ),
        Case("Quanv2d-kernel-zero", lambda: Quanv2d(1, 0), VALUE, "kernel_size must be >= 1"),
        Case("Quanv2d-kernel-float", lambda: Quanv2d(1, 2.5), VALUE, "kernel_size must be an int"),
        Case("Quanv2d-stride-zero", lambda: Quanv2d(1, 2, stride=0), VALUE, "stride must be >= 1"),
        Case(
            "Quanv2d-padding-negative",
            lambda: Quanv2d(1, 2, padding=-1),
            VALUE,
            "padding must be >= 0",
        ),
        Case(
            "Quanv2d-too-many-qubits",
            lambda: Quanv2d(1, 5),
            (QubitLimitError, QDeepValueError),
            "kernel_size.*25 qubits.*max_qubits",
        ),
        Case(
            "Quanv2d-encoding-unknown",
            lambda: Quanv2d(1, 2, encoding="amp"),
            VALUE,
            "encoding must be one of",
        ),
        Case(
            "Quanv2d-readout-unknown",
            lambda: Quanv2d(1, 2, readout="mean"),
            VALUE,
            "readout must be one of",
        ),
        Case(
            "Quanv2d-ansatz-unknown",
            lambda: Quanv2d(1, 2, ansatz="deep"),
            VALUE,
            "ansatz must be one of",
        ),
        Case(
            "Quanv2d-input-range-reversed",
            lambda: Quanv2d(1, 2, input_range=(1.0, 0.0)),
            VALUE,
            "input_range must be",
        ),
        Case(
            "Quanv2d-input-range-scalar",
            lambda: Quanv2d(1, 2, input_range=1.0),
            TYPE,
            "input_range must be",
        ),
        Case(
            "Quanv2d-num-filters-zero",
            lambda: Quanv2d(1, 2, num_filters=0),
            VALUE,
            "num_filters must be an integer >= 1",
        ),
        Case(
            "Quanv2d-rotation-unknown",
            lambda: Quanv2d(1, 2, ansatz="hqnn", rotation="rz"),
            VALUE,
            "rotation",
        ),
        Case(
            "Quanv2d.forward-channels",
            lambda: quanv(image(2, 3, 4, 4)),
            VALUE,
            "1 (input )?channel|in_channels",
        ),
        Case(
            "Quanv2d.forward-kernel-larger-than-input",
            lambda: quanv(image(1, 1, 1, 1)),
            VALUE,
            "kernel_size.*larger|smaller than the kernel|input.*kernel",
        ),
        Case(
            "Quanv2d.forward-outside-domain",
            lambda: quanv(image(1, 1, 3, 3, value=5.0)),
            VALUE,
            "input_range|outside",
        ),
        Case("Quanv2d.forward-nan", lambda: quanv(nan_image(1, 1, 3, 3)), VALUE, "NaN"),
        Case("Quanv2d.forward-2d", lambda: quanv(image(3, 3)), VALUE, "inputs|shape"),
        Case(
            "Quanv2d.forward-complex",
            lambda: quanv(torch.zeros(1, 1, 3, 3, dtype=torch.complex64)),
            TYPE,
            "inputs must be real",
        ),
        Case(
            "SwapTestConv2d-kernel-not-power-of-two",
            lambda: SwapTestConv2d(3, 1),
            VALUE,
            "kernel_size.*power of two",
        ),
        Case(
            "SwapTestConv2d-num-filters-zero",
            lambda: SwapTestConv2d(2, 0),
            VALUE,
            "num_filters must be an integer >= 1",
        ),
        Case(
            "SwapTestConv2d-shots-zero",
            lambda: SwapTestConv2d(2, 1, shots=0),
            VALUE,
            "shots must be a positive integer",
        ),
        Case(
            "SwapTestConv2d-gradient-unknown",
            lambda: SwapTestConv2d(2, 1, gradient="spsa"),
            VALUE,
            "gradient must be one of",
        ),
        Case(
            "SwapTestConv2d-backprop-with-sampler",
            lambda: SwapTestConv2d(2, 1, gradient="backprop", sampler=StatevectorSampler()),
            VALUE,
            "gradient='backprop'",
        ),
        Case(
            "SwapTestConv2d-sampler-v1",
            lambda: SwapTestConv2d(2, 1, sampler=v1_sampler()),
            TYPE,
            "sampler must be",
        ),
        Case(
            "SwapTestConv2d-filter-states-shape",
            lambda: SwapTestConv2d(2, 2, filter_states=np.ones((2, 3))),
            VALUE,
            "filter_states",
        ),
        Case(
            "SwapTestConv2d-filter-states-zero",
            lambda: SwapTestConv2d(2, 1, filter_states=np.zeros((1, 4))),
            VALUE,
            "filter_states",
        ),
        Case(
            "SwapTestConv2d-too-many-qubits",
            lambda: SwapTestConv2d(4, 1, max_qubits=3),
            (QubitLimitError, QDeepValueError),
            "max_qubits|qubits",
        ),
        Case("SwapTestConv2d.forward-channels", lambda: swap(image(1, 2, 4, 4)), VALUE, "channel"),
        Case(
            "SwapTestConv2d.forward-kernel-larger-than-input",
            lambda: swap(image(1, 1, 1, 1)),
            VALUE,
            "kernel|smaller",
        ),
        Case("SwapTestConv2d.forward-nan", lambda: swap(nan_image(1, 1, 2, 2)), VALUE, "NaN"),
        Case(
            "SwapTestConv2d.forward-complex",
            lambda: swap(torch.zeros(1, 1, 2, 2, dtype=torch.complex64)),
            TYPE,
            "inputs|real",
        ),
    ]


def _wide_layer_args(num_qubits):
    qc, x, w = layer_circuit(num_qubits)
    return qc, "Z" * num_qubits, x, w


def _circuit_cases():
    return [
        Case(
            "strongly_entangling_circuit-qubits-zero",
            lambda: lib.strongly_entangling_circuit(0),
            VALUE,
            "num_qubits must be >= 1",
        ),
        Case(
            "strongly_entangling_circuit-reps-negative",
            lambda: lib.strongly_entangling_circuit(2, reps=-1),
            VALUE,
            "reps >= 0",
        ),
        Case(
            "strongly_entangling_circuit-embedding",
            lambda: lib.strongly_entangling_circuit(2, embedding="amp"),
            VALUE,
            "embedding",
        ),
        Case(
            "strongly_entangling_circuit-input-params",
            lambda: lib.strongly_entangling_circuit(2, input_params=ParameterVector("x", 3)),
            VALUE,
            "input_params",
        ),
        Case(
            "quanv_kernel_circuit-encoding",
            lambda: lib.quanv_kernel_circuit(4, encoding="amp"),
            VALUE,
            # names the encoding's 'kind' (its name in quanvolution_encoding)
            "kind must be one of.*'amp'",
        ),
        Case(
            "quanv_kernel_circuit-qubits-zero",
            lambda: lib.quanv_kernel_circuit(0),
            VALUE,
            "num_qubits",
        ),
        Case(
            "quanvolution_encoding-kind",
            lambda: lib.quanvolution_encoding(2, kind="x"),
            VALUE,
            "kind",
        ),
        Case(
            "random_quanvolution_circuit-layers-zero",
            lambda: lib.random_quanvolution_circuit(2, num_layers=0),
            VALUE,
            "num_layers",
        ),
        Case(
            "hqnn_quanv_ansatz-rotation",
            lambda: lib.hqnn_quanv_ansatz(rotation="rz"),
            VALUE,
            "rotation",
        ),
        Case(
            "hqnn_quanv_ansatz-weight-params",
            lambda: lib.hqnn_quanv_ansatz(ParameterVector("w", 3)),
            VALUE,
            "weight_params",
        ),
        Case(
            "num_ansatz_weights-unknown", lambda: lib.num_ansatz_weights("deep", 4), VALUE, "ansatz"
        ),
        Case("SwapTestGate-zero-qubits", lambda: lib.SwapTestGate(0), VALUE, "num_state_qubits"),
        Case(
            "amplitude_encoding_angles-nan",
            lambda: lib.amplitude_encoding_angles(np.array([np.nan, 1.0])),
            VALUE,
            "vectors|NaN",
        ),
        Case(
            "amplitude_encoding_angles-length",
            lambda: lib.amplitude_encoding_angles(np.ones(3)),
            VALUE,
            r"vectors must have a last axis of length 2\*\*n",
        ),
        Case(
            "amplitude_encoding_angles-complex",
            lambda: lib.amplitude_encoding_angles(np.ones(4) * 1j),
            TYPE,
            "vectors|real",
        ),
        Case(
            "amplitude_encoding_circuit-qubits-zero",
            lambda: lib.amplitude_encoding_circuit(0),
            VALUE,
            "num_qubits",
        ),
        Case(
            "qucnn_filter_ansatz-layers-zero",
            lambda: lib.qucnn_filter_ansatz(2, num_layers=0),
            VALUE,
            "num_layers",
        ),
    ]


def _data_model_training_cases():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    x, y = torch.rand(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    return [
        Case("load_mnist-kind", lambda: load_mnist(kind="cifar"), VALUE, "kind"),
        Case("load_mnist-split", lambda: load_mnist(split="val"), VALUE, "split"),
        Case("load_mnist-limit-zero", lambda: load_mnist(limit=0), VALUE, "limit"),
        Case(
            "read_idx-garbage",
            lambda: read_idx(io.BytesIO(b"not an idx file")),
            VALUE,
            "IDX|magic|source",
        ),
        Case("resize_area-size-zero", lambda: resize_area(np.zeros((1, 4, 4)), 0), VALUE, "size"),
        Case("make_tetris-n-samples-zero", lambda: make_tetris(0), VALUE, "n_samples"),
        Case("make_tetris-label", lambda: make_tetris(10, labels=("Z",)), VALUE, "label"),
        Case(
            "make_tetris-foreground",
            lambda: make_tetris(10, foreground=(1.0, 0.5)),
            VALUE,
            "foreground",
        ),
        Case(
            "load_digits_dataset-n-class", lambda: load_digits_dataset(n_class=11), VALUE, "n_class"
        ),
        Case(
            "load_digits_dataset-test-size",
            lambda: load_digits_dataset(test_size=1.5),
            VALUE,
            "test_size",
        ),
        Case("HQNNQuanv-num-classes-zero", lambda: HQNNQuanv(num_classes=0), VALUE, "num_classes"),
        Case("HQNNQuanv-image-size-one", lambda: HQNNQuanv(image_size=1), VALUE, "image_size"),
        Case("HQNNQuanv-estimator-foreign", lambda: HQNNQuanv(estimator="aer"), TYPE, "estimator"),
        Case("CNN1-activation", lambda: CNN1(activation="swish"), VALUE, "activation"),
        Case("QCCNN-num-layers", lambda: QCCNN(num_layers=3), VALUE, "num_layers"),
        Case(
            "HQNNParallel-num-qubits-zero", lambda: HQNNParallel(num_qubits=0), VALUE, "num_qubits"
        ),
        Case(
            "HQNNParallel-num-circuits-zero",
            lambda: HQNNParallel(num_circuits=0),
            VALUE,
            "num_circuits",
        ),
        Case(
            "fit_classifier-epochs-negative",
            lambda: fit_classifier(model, x, y, epochs=-1),
            VALUE,
            "epochs",
        ),
        Case(
            "fit_classifier-batch-size-zero",
            lambda: fit_classifier(model, x, y, epochs=1, batch_size=0),
            VALUE,
            "batch_size",
        ),
        Case(
            "fit_classifier-loss",
            lambda: fit_classifier(model, x, y, epochs=1, loss="hinge"),
            VALUE,
            "loss must be one of",
        ),
        Case(
            "fit_classifier-lr-schedule",
            lambda: fit_classifier(model, x, y, epochs=1, lr_schedule="step"),
            VALUE,
            "lr_schedule",
        ),
        Case(
            "fit_classifier-targets-float",
            lambda: fit_classifier(model, x, y + 0.5, epochs=1),
            TYPE,
            "targets",
        ),
        Case(
            "fit_classifier-length",
            lambda: fit_classifier(model, x, y[:3], epochs=1),
            VALUE,
            "inputs and targets",
        ),
        Case(
            "fit_classifier-nan",
            lambda: fit_classifier(model, x * np.nan, y, epochs=1),
            VALUE,
            "inputs contain NaN",
        ),
        Case(
            "fit_classifier-complex",
            lambda: fit_classifier(model, x.to(torch.complex64), y, epochs=1),
            TYPE,
            "inputs must be real",
        ),
        Case(
            "fit_classifier-model-foreign",
            lambda: fit_classifier("model", x, y, epochs=1),
            TYPE,
            "model must be",
        ),
        Case(
            "fit_classifier-targets-2d",
            lambda: fit_classifier(model, x, y[:, None], epochs=1),
            VALUE,
            "targets must be a 1-d",
        ),
        Case(
            "evaluate_classifier-empty",
            lambda: evaluate_classifier(model, x[:0], y[:0]),
            VALUE,
            "non-empty",
        ),
        Case(
            "run_reproduction-unknown",
            lambda: run_reproduction("no-such-paper"),
            VALUE,
            "Unknown reproduction 'no-such-paper'",
        ),
    ]


def _fixed_gap_cases():
    """Gaps the first catalogue run found in the circuit library, datasets and models (fixed)."""
    hqnn = HQNNQuanv(num_classes=3, image_size=6, seed=0)
    return [
        Case(
            "random_quanvolution_circuit-seed-string",
            lambda: lib.random_quanvolution_circuit(2, seed="s"),
            TYPE,
            "seed",
        ),
        Case(
            "load_mnist-missing-dir",
            lambda: load_mnist("/nonexistent/mnist"),
            (DatasetNotFoundError,),
            "data_dir.*/nonexistent",
        ),
        Case("resize_area-1d", lambda: resize_area(np.zeros(4), 2), VALUE, "images"),
        Case(
            "HQNNQuanv.forward-image-size",
            lambda: hqnn(image(1, 1, 8, 8)),
            VALUE,
            "images.*image_size=6",
        ),
        Case(
            "CNN4.forward-channels",
            lambda: CNN4(image_size=6, seed=0)(image(1, 2, 6, 6)),
            VALUE,
            "images",
        ),
    ]


def _svm_clustering_cases():
    """HHL, the QSVMs, maximum finding, q-means and deep clustering."""
    from qiskit_qdeep.algorithms import find_maximum
    from qiskit_qdeep.clustering import QMeans, QuantumDeepClustering
    from qiskit_qdeep.linear_solvers import HHL
    from qiskit_qdeep.svm import QLSSVM, AllPairQSVM, DeepQSVM

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 2)), np.array([0, 1] * 4)
    X3, y3 = rng.normal(size=(9, 2)), np.array([0, 1, 2] * 3)
    nan_X = np.where(X > 1, np.nan, X)
    nan_X[0, 0] = np.nan
    unfitted = (NotFittedError,)
    return [
        Case("HHL-singular", lambda: HHL().solve([[1, 1], [1, 1]], [1, 0]), VALUE, "singular"),
        Case("HHL-nan", lambda: HHL().solve([[1, np.nan], [0, 1]], [1, 0]), VALUE, "matrix.*NaN"),
        Case("HHL-non-square", lambda: HHL().solve(np.ones((2, 3)), [1, 0]), VALUE, "square"),
        Case("HHL-vector-size", lambda: HHL().solve(np.eye(2), [1, 0, 0]), VALUE, "vector.*shape"),
        Case("HHL-zero-vector", lambda: HHL().solve(np.eye(2), [0, 0]), VALUE, "vector.*zero"),
        Case(
            "HHL-too-many-qubits",
            lambda: HHL().solve(np.eye(2**14), np.ones(2**14)),
            (QubitLimitError,),
            "18 qubits.*HHL_MAX_QUBITS = 16",
        ),
        Case(
            "HHL-clock-zero",
            lambda: HHL(num_clock_qubits=0).solve(np.eye(2), [1, 0]),
            VALUE,
            "num_clock_qubits",
        ),
        Case("HHL-shots-zero", lambda: HHL(shots=0).solve(np.eye(2), [1, 0]), VALUE, "shots"),
        Case(
            "HHL-v1-sampler",
            lambda: HHL(sampler=v1_sampler(), shots=100).solve(np.eye(2), [1, 0]),
            TYPE,
            "sampler must be.*V1 primitive",
        ),
        Case(
            "HHL-v1-estimator",
            lambda: HHL(estimator=v1_estimator()).solve(np.eye(2), [1, 0]),
            TYPE,
            "estimator must be.*V1 primitive",
        ),
        Case(
            "HHL-sampler-as-estimator",
            lambda: HHL(estimator=StatevectorSampler()).solve(np.eye(2), [1, 0]),
            TYPE,
            "estimator must be.*BaseEstimatorV2",
        ),
        Case(
            "HHL-precision-negative",
            lambda: HHL(precision=-0.01).solve(np.eye(2), [1, 0]),
            VALUE,
            "precision",
        ),
        Case(
            "HHL.solve-observable-size",
            lambda: HHL().solve(np.eye(2), [1, 0], observables=np.eye(3)),
            VALUE,
            r"observables\[0\] has shape \(3, 3\)",
        ),
        Case(
            "HHL.solve-observable-qubits",
            lambda: HHL(estimator=StatevectorEstimator()).solve(np.eye(2), [1, 0], "ZZ"),
            VALUE,
            r"observables\[0\] acts on 2 qubits",
        ),
        Case(
            "HHL.solve-observable-nan",
            lambda: HHL().solve(np.eye(2), [1, 0], observables=[[1, np.nan], [np.nan, 1]]),
            VALUE,
            r"observables\[0\] contains NaN",
        ),
        Case(
            "HHL.solve-observable-non-hermitian",
            lambda: HHL().solve(np.eye(2), [1, 0], observables=[[0, 1], [0, 0]]),
            VALUE,
            r"observables\[0\] is not Hermitian",
        ),
        Case(
            "HHL.solve-observable-type",
            lambda: HHL().solve(np.eye(2), [1, 0], observables={"Z": 1.0}),
            TYPE,
            "observables must be",
        ),
        Case("QLSSVM-single-class", lambda: QLSSVM().fit(X, np.zeros(8)), VALUE, "y.*2 classes"),
        Case("QLSSVM-three-classes", lambda: QLSSVM().fit(X3, y3), VALUE, "y.*2 classes"),
        Case("QLSSVM-nan", lambda: QLSSVM().fit(nan_X, y), VALUE, "X contains NaN"),
        Case("QLSSVM-complex", lambda: QLSSVM().fit(X + 1j, y), VALUE, "X must be real"),
        Case("QLSSVM-predict-before-fit", lambda: QLSSVM().predict(X), unfitted, "not fitted"),
        Case(
            "QLSSVM-too-many-points",
            lambda: QLSSVM().fit(rng.random((80, 2)), np.array([0, 1] * 40)),
            (QubitLimitError,),
            "at most 63 training points",
        ),
        Case("QLSSVM-gamma-zero", lambda: QLSSVM(gamma=0).fit(X, y), VALUE, "gamma"),
        Case("QLSSVM-shots-zero", lambda: QLSSVM(shots=0).fit(X, y), VALUE, "shots"),
        Case(
            "QLSSVM.predict-width",
            lambda: QLSSVM().fit(X, y).predict(np.ones((2, 3))),
            VALUE,
            "X has 3 features.*2",
        ),
        Case("AllPairQSVM-predict-unfitted", lambda: AllPairQSVM().predict(X), unfitted, "fitted"),
        Case(
            "AllPairQSVM-voting",
            lambda: AllPairQSVM(voting="majority").fit(X3, y3),
            VALUE,
            "voting",
        ),
        Case(
            "AllPairQSVM-single-class",
            lambda: AllPairQSVM().fit(X, np.zeros(8)),
            VALUE,
            "at least 2 classes in y",
        ),
        Case(
            "DeepQSVM-hidden-layers",
            lambda: DeepQSVM(hidden_layers=(0,)).fit(X3, y3),
            VALUE,
            "hidden_layers",
        ),
        Case(
            "DeepQSVM-feature-fraction",
            lambda: DeepQSVM(feature_fraction=1.5).fit(X3, y3),
            VALUE,
            "feature_fraction",
        ),
        Case("DeepQSVM-predict-before-fit", lambda: DeepQSVM().predict(X3), unfitted, "fitted"),
        Case("find_maximum-empty", lambda: find_maximum([]), VALUE, "tables.*k >= 1"),
        Case("find_maximum-negative", lambda: find_maximum([1, -2, 3]), VALUE, "non-negative"),
        Case("find_maximum-float", lambda: find_maximum([1.5, 2, 3]), VALUE, "integers"),
        Case("QMeans-one-cluster", lambda: QMeans(1).fit(X), VALUE, "n_clusters.*>= 2"),
        Case("QMeans-more-clusters-than-samples", lambda: QMeans(20).fit(X), VALUE, "n_samples"),
        Case("QMeans-empty", lambda: QMeans(2).fit(np.zeros((0, 2))), VALUE, "X.*0 sample"),
        Case("QMeans-constant", lambda: QMeans(2).fit(np.ones((8, 2))), VALUE, "X is constant"),
        Case("QMeans-nan", lambda: QMeans(2).fit(nan_X), VALUE, "X.*NaN"),
        Case("QMeans-shots-zero", lambda: QMeans(2, shots=0).fit(X), VALUE, "shots"),
        Case("QMeans-method", lambda: QMeans(2, method="grover").fit(X), VALUE, "method"),
        Case("QMeans-predict-before-fit", lambda: QMeans(2).predict(X), unfitted, "fitted"),
        Case(
            "QMeans-v1-sampler",
            lambda: QMeans(2, sampler=v1_sampler(), shots=10).fit(X),
            TYPE,
            "sampler must be.*V1 primitive",
        ),
        Case(
            "QuantumDeepClustering-one-cluster",
            lambda: QuantumDeepClustering(1, epochs=1).fit(rng.random((20, 8, 8))),
            VALUE,
            "n_clusters",
        ),
        Case(
            "QuantumDeepClustering-nan",
            lambda: QuantumDeepClustering(2, epochs=1).fit(np.full((20, 8, 8), np.nan)),
            VALUE,
            "X contains NaN",
        ),
        Case(
            "QuantumDeepClustering-shape",
            lambda: QuantumDeepClustering(2, epochs=1).fit(rng.random(20)),
            VALUE,
            "X of shape",
        ),
        Case(
            "QuantumDeepClustering-predict-before-fit",
            lambda: QuantumDeepClustering(2).predict(rng.random((4, 8, 8))),
            unfitted,
            "fitted",
        ),
    ]


# Documented behaviour, not errors: ``qccnn_ansatz(depth=0)`` is one RY layer without CNOTs, and
# ``amplitude_encoding_angles`` maps the zero vector to |0...0> (callers decide what it means).


def _exact_core_cases():
    """The exact execution core: expressions, memory, options the exact path cannot honour."""
    from qiskit_qdeep.primitives import (
        ExactEstimatorRunner,
        exact_engine,
        exact_statevector,
        sampler_runner,
    )

    a = Parameter("a")
    log_circuit = QuantumCircuit(1)
    log_circuit.ry(a.log(), 0)
    wide = QuantumCircuit(30)
    wide.h(range(30))
    qc, x, w = layer_circuit()

    def nan_weight():
        layer = QuantumLayer(qc, ["ZI"], x, w, seed=0)
        with torch.no_grad():
            layer.weight[1] = float("nan")
        return layer(torch.zeros(1, 2))

    def shift_hessian():
        layer = QuantumLayer(qc, ["ZI"], x, w, gradient="parameter-shift", seed=0)
        return torch.autograd.functional.hessian(lambda z: layer(z).sum(), torch.zeros(1, 2))

    return [
        Case(
            "StatevectorEngine-nan-expression",
            lambda: exact_engine(log_circuit).expectation_values([[-1.0]], ["Z"]),
            VALUE,
            r"expression 'log\(a\)' evaluates to nan",
        ),
        Case("QuantumLayer-nan-weight", nan_weight, VALUE, r"parameter 'w\[1\]'"),
        Case(
            "StatevectorEngine-memory-limit",
            lambda: StatevectorEngine(param_circuit(), memory_limit=16).statevector([[0.0] * 4]),
            (QubitLimitError,),
            "memory_limit=16",
        ),
        Case(
            "exact_engine-too-many-qubits",
            lambda: exact_engine(wide),
            (QubitLimitError,),
            "max_qubits=20",
        ),
        Case(
            "ExactEstimatorRunner-too-many-qubits",
            lambda: ExactEstimatorRunner(wide, "Z" * 30),
            (QubitLimitError,),
            "max_qubits=20",
        ),
        Case(
            "QuantumLayer-backprop-noisy-estimator",
            lambda: QuantumLayer(
                qc,
                ["ZI"],
                x,
                w,
                gradient="backprop",
                estimator=TorchStatevectorEstimator(default_precision=0.5),
            ),
            VALUE,
            "default_precision=0.5",
        ),
        Case(
            "QuantumLayer-backprop-precision",
            lambda: QuantumLayer(qc, ["ZI"], x, w, gradient="backprop", precision=0.1),
            VALUE,
            "precision=0.1",
        ),
        Case(
            "sampler_runner-exact-shots",
            lambda: sampler_runner(param_circuit(), exact=True, shots=100),
            VALUE,
            "shots=100",
        ),
        Case(
            "exact_statevector-free-parameters",
            lambda: exact_statevector(param_circuit()),
            VALUE,
            "free parameters",
        ),
        Case(
            "QuantumLayer-parameter-shift-hessian",
            shift_hessian,
            (QiskitQDeepError,),
            "Second-order derivatives",
        ),
    ]


def _session_cases():
    """Entry points added with the shared-weight engine, the noisy exact path and the CLI."""
    from qiskit_qdeep.primitives import (
        DensityMatrixEngine,
        DensityMatrixEstimatorRunner,
        TorchDensityMatrixEstimator,
    )

    qc, x, w = layer_circuit()
    engine = StatevectorEngine(qc, parameters=list(x) + list(w))
    bad_weights = torch.zeros(1, 2)
    bad_weights[0, 1] = float("nan")
    big = QuantumCircuit(12)
    big.h(range(12))
    return [
        Case(
            "expectation_values_shared-groups-mismatch",
            lambda: engine.expectation_values_shared(
                torch.zeros(4, 2, 2), torch.zeros(3, 2), ["ZI"]
            ),
            VALUE,
            "groups",
        ),
        Case(
            "expectation_values_shared-inputs-width",
            lambda: engine.expectation_values_shared(
                torch.zeros(4, 1, 3), torch.zeros(1, 2), ["ZI"]
            ),
            VALUE,
            "inputs",
        ),
        Case(
            "expectation_values_shared-nan-weight",
            lambda: engine.expectation_values_shared(torch.zeros(4, 1, 2), bad_weights, ["ZI"]),
            VALUE,
            r"parameter 'w\[1\]'",
        ),
        Case(
            "expectation_values_shared-complex-inputs",
            lambda: engine.expectation_values_shared(
                torch.zeros(4, 1, 2, dtype=torch.complex128), torch.zeros(1, 2), ["ZI"]
            ),
            TYPE,
            "inputs",
        ),
        Case(
            "DensityMatrixEngine-too-many-qubits",
            lambda: DensityMatrixEngine(big),
            (QubitLimitError,),
            "max_qubits",
        ),
        Case(
            "DensityMatrixEstimatorRunner-not-a-density-estimator",
            lambda: DensityMatrixEstimatorRunner(qc, ["ZI"], estimator=TorchStatevectorEstimator()),
            TYPE,
            "TorchDensityMatrixEstimator",
        ),
        Case(
            "QuantumLayer-backprop-noisy-density-precision",
            lambda: QuantumLayer(
                qc,
                ["ZI"],
                x,
                w,
                gradient="backprop",
                estimator=TorchDensityMatrixEstimator(default_precision=0.2),
            ),
            VALUE,
            "default_precision=0.2",
        ),
    ]


CASES: list[Case] = (
    _session_cases()
    + _exact_core_cases()
    + _primitives_cases()
    + _nn_cases()
    + _circuit_cases()
    + _data_model_training_cases()
    + _fixed_gap_cases()
    + _svm_clustering_cases()
)


class TestBadInputCatalogue(QDeepTestCase):
    """Every case raises an error of qiskit-qdeep's family that names the argument."""

    def test_catalogue(self):
        ids = [case.id for case in CASES]
        self.assertEqual(len(ids), len(set(ids)), "case ids must be unique")
        ours = 0
        for case in CASES:
            with self.subTest(case.id):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    with self.assertRaises(case.errors) as caught:
                        case.call()
                error = caught.exception
                self.assertIsInstance(
                    error, (QiskitQDeepError, NotFittedError), f"{case.id}: {error!r}"
                )
                # the split is enforced: a value case never raises a type error and vice versa
                if case.errors == VALUE:
                    self.assertNotIsInstance(error, QDeepTypeError, case.id)
                if case.errors == TYPE:
                    self.assertNotIsInstance(error, QDeepValueError, case.id)
                self.assertRegex(str(error), case.match)
                ours += 1
        print(
            f"\nbad-input catalogue: {len(CASES)} cases, {ours} raise QiskitQDeepError "
            "(or scikit-learn's NotFittedError for predict before fit)"
        )
        self.assertEqual(ours, len(CASES))


def _dtype():
    return st.sampled_from([torch.float32, torch.float64])


class TestLayerShapeProperties(QDeepTestCase):
    """Hypothesis: output shapes and dtypes of the torch layers follow torch conventions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.quantum = quantum_layer(seed=0)
        cls.parallel = ParallelQuantumLayer(4, num_qubits=2, reps=1, seed=0)
        cls.quanv = {
            (k, s, p): Quanv2d(2, k, stride=s, padding=p, num_filters=2, seed=0)
            for k in (1, 2)
            for s in (1, 2)
            for p in (0, 1)
        }
        cls.swap = {s: SwapTestConv2d(2, 2, stride=s, seed=0) for s in (1, 2)}

    @settings(max_examples=12, deadline=None)
    @given(batch=st.integers(1, 5), dtype=_dtype(), unbatched=st.booleans())
    def test_quantum_layer(self, batch, dtype, unbatched):
        x = torch.rand(2, dtype=dtype) if unbatched else torch.rand(batch, 2, dtype=dtype)
        y = self.quantum(x)
        self.assertEqual(y.dtype, dtype)
        self.assertEqual(tuple(y.shape), (2,) if unbatched else (batch, 2))
        self.assertTrue(torch.all(y.abs() <= 1 + 1e-6))

    @settings(max_examples=12, deadline=None)
    @given(batch=st.integers(1, 5), dtype=_dtype())
    def test_parallel_layer(self, batch, dtype):
        y = self.parallel(torch.rand(batch, 4, dtype=dtype))
        self.assertEqual(y.dtype, dtype)
        self.assertEqual(tuple(y.shape), (batch, self.parallel.out_features))

    @settings(max_examples=20, deadline=None)
    @given(
        batch=st.integers(1, 3),
        size=st.tuples(st.integers(2, 5), st.integers(2, 5)),
        kernel=st.sampled_from([1, 2]),
        stride=st.sampled_from([1, 2]),
        padding=st.sampled_from([0, 1]),
        dtype=_dtype(),
        unbatched=st.booleans(),
    )
    def test_quanv2d(self, batch, size, kernel, stride, padding, dtype, unbatched):
        layer = self.quanv[(kernel, stride, padding)]
        shape = (2, *size) if unbatched else (batch, 2, *size)
        y = layer(torch.rand(shape, dtype=dtype))
        reference = torch.nn.Conv2d(2, layer.out_channels, kernel, stride, padding)
        expected = reference(torch.zeros(shape)).shape
        self.assertEqual(y.dtype, dtype)
        self.assertEqual(tuple(y.shape), tuple(expected))

    @settings(max_examples=12, deadline=None)
    @given(
        batch=st.integers(1, 3),
        size=st.tuples(st.integers(2, 5), st.integers(2, 5)),
        stride=st.sampled_from([1, 2]),
        dtype=_dtype(),
    )
    def test_swap_test_conv2d(self, batch, size, stride, dtype):
        layer = self.swap[stride]
        x = torch.rand(batch, 1, *size, dtype=dtype)
        y = layer(x)
        expected = torch.nn.Conv2d(1, 2, 2, stride)(torch.zeros(batch, 1, *size)).shape
        self.assertEqual(y.dtype, dtype)
        self.assertEqual(tuple(y.shape), tuple(expected))
        self.assertTrue(torch.all((y >= -1e-6) & (y <= 1 + 1e-6)))
