# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""QuantumLayer: both gradient paths, references, qiskit-machine-learning equivalence, errors."""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from ddt import ddt, idata
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

from qiskit_qdeep.circuit.library import strongly_entangling_circuit
from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError, QiskitQDeepError
from qiskit_qdeep.nn import QuantumLayer
from test import QDeepTestCase

Y_OBS = ["IIIIY", "IIIYI", "IIYII", "IYIII", "YIIII"]


def hqnn_block(num_qubits=5, reps=3):
    x = ParameterVector("x", num_qubits)
    w = ParameterVector("w", 3 * num_qubits * reps)
    qc = strongly_entangling_circuit(num_qubits, reps, input_params=x, weight_params=w)
    obs = ["I" * (num_qubits - 1 - q) + "Y" + "I" * q for q in range(num_qubits)]
    return qc, obs, list(x), list(w)


def reference(qc, obs, x, w, inputs, weights):
    rows = []
    for row in np.atleast_2d(inputs):
        sv = Statevector(qc.assign_parameters(dict(zip(x + w, list(row) + list(weights)))))
        rows.append([sv.expectation_value(SparsePauliOp(o)).real for o in obs])
    return np.array(rows)


@ddt
class TestQuantumLayer(QDeepTestCase):
    """Forward values, gradients and interoperability."""

    def test_circuit_structure(self):
        qc, _, x, w = hqnn_block()
        self.assertEqual(qc.num_parameters, 50)
        self.assertEqual(len(w), 45)
        self.assertEqual(qc.count_ops()["cx"], 15)

    @idata(["backprop", "parameter-shift"])
    def test_forward_matches_statevector(self, gradient):
        qc, obs, x, w = hqnn_block()
        estimator = StatevectorEstimator() if gradient == "parameter-shift" else None
        layer = QuantumLayer(qc, obs, x, w, gradient=gradient, estimator=estimator, seed=3).double()
        inputs = torch.tensor(self.rng.uniform(-np.pi, np.pi, (4, 5)))
        out = layer(inputs)
        self.assertEqual(tuple(out.shape), (4, 5))
        ref = reference(qc, obs, x, w, inputs.numpy(), layer.weight.detach().numpy())
        self.assertAllClose(out, ref, atol=1e-10)
        self.assertEqual(tuple(layer(inputs[0]).shape), (5,))

    def test_backprop_and_parameter_shift_agree(self):
        qc, obs, x, w = hqnn_block(3, 2)
        a = QuantumLayer(qc, obs, x, w, seed=1).double()
        b = QuantumLayer(qc, obs, x, w, estimator=StatevectorEstimator(), seed=1).double()
        self.assertEqual((a.gradient, b.gradient), ("backprop", "parameter-shift"))
        inputs = torch.tensor(self.rng.uniform(-2, 2, (6, 3)))
        grads = []
        for layer in (a, b):
            inp = inputs.clone().requires_grad_(True)
            out = layer(inp)
            (out * torch.arange(1.0, 4.0, dtype=torch.float64)).sum().backward()
            grads.append((out.detach(), inp.grad, layer.weight.grad))
        for got, want in zip(grads[0], grads[1]):
            self.assertAllClose(got, want, atol=1e-9)

    def test_gradcheck_backprop(self):
        qc, obs, x, w = hqnn_block(3, 1)
        layer = QuantumLayer(qc, obs, x, w, seed=2).double()
        inputs = torch.tensor(self.rng.uniform(-1, 1, (2, 3)), requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(layer, (inputs,), atol=1e-6))

    def test_gradcheck_parameter_shift(self):
        qc, obs, x, w = hqnn_block(2, 1)
        layer = QuantumLayer(qc, obs, x, w, estimator=StatevectorEstimator(), seed=2).double()
        inputs = torch.tensor(self.rng.uniform(-1, 1, (2, 2)), requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(layer, (inputs,), atol=1e-6))

        def as_weights(weights):
            return torch.func.functional_call(layer, {"weight": weights}, (inputs.detach(),))

        self.assertTrue(
            torch.autograd.gradcheck(as_weights, (layer.weight.detach().clone().requires_grad_(),))
        )

    def test_same_as_qiskit_machine_learning(self):
        from qiskit_machine_learning.connectors import TorchConnector
        from qiskit_machine_learning.neural_networks import EstimatorQNN

        qc, obs, x, w = hqnn_block(3, 1)
        layer = QuantumLayer(qc, obs, x, w, seed=4).double()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qnn = EstimatorQNN(
                circuit=layer.circuit,
                observables=layer.observables,
                input_params=layer.input_params,
                weight_params=layer.weight_params,
                estimator=StatevectorEstimator(),
                input_gradients=True,
                default_precision=0.0,
            )
            connector = TorchConnector(qnn, initial_weights=layer.weight.detach().numpy())
        inputs = torch.tensor(self.rng.uniform(-2, 2, (3, 3)))
        results = []
        for module in (layer, connector):
            inp = inputs.clone().requires_grad_(True)
            out = module(inp).double()
            out.pow(2).sum().backward()
            results.append((out.detach(), inp.grad, module.weight.grad))
        for got, want in zip(results[0], results[1]):
            self.assertAllClose(got, want.double(), atol=1e-6)

    def test_aer_parameter_shift_one_job_per_batch(self):
        qc, obs, x, w = hqnn_block(3, 1)
        layer = QuantumLayer(qc, obs, x, w, estimator=AerEstimatorV2(), seed=5).double()
        exact = QuantumLayer(qc, obs, x, w, seed=5).double()
        inputs = torch.tensor(self.rng.uniform(-2, 2, (8, 3)))
        out = layer(inputs.clone().requires_grad_(True))
        out.sum().backward()
        self.assertEqual(layer.runner.num_jobs, 1)
        ref = exact(inputs)
        ref.sum().backward()
        self.assertAllClose(out, ref, atol=1e-8)
        self.assertAllClose(layer.weight.grad, exact.weight.grad, atol=1e-7)
        with torch.no_grad():
            layer(inputs)
        self.assertEqual(layer.runner.num_jobs, 2)

    def test_float32_and_training_step(self):
        qc, obs, x, w = hqnn_block(2, 1)
        layer = QuantumLayer(qc, obs, x, w, seed=6)
        self.assertEqual(layer.weight.dtype, torch.float32)
        inputs = torch.rand(16, 2)
        target = torch.zeros(16, 2)
        optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
        losses = []
        for _ in range(30):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(layer(inputs), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        self.assertLess(losses[-1], 0.5 * losses[0])

    def test_state_dict_round_trip(self):
        qc, obs, x, w = hqnn_block(2, 1)
        layer = QuantumLayer(qc, obs, x, w, seed=7)
        buffer = io.BytesIO()
        torch.save(layer.state_dict(), buffer)
        buffer.seek(0)
        other = QuantumLayer(qc, obs, x, w, seed=8)
        other.load_state_dict(torch.load(buffer, weights_only=True))
        inputs = torch.rand(3, 2)
        self.assertAllClose(layer(inputs), other(inputs), atol=0)

    def test_initial_weights_and_seed(self):
        qc, obs, x, w = hqnn_block(2, 1)
        a = QuantumLayer(qc, obs, x, w, seed=9)
        b = QuantumLayer(qc, obs, x, w, seed=9)
        self.assertAllClose(a.weight, b.weight, atol=0)
        c = QuantumLayer(qc, obs, x, w, initial_weights=np.arange(6.0))
        self.assertAllClose(c.weight, np.arange(6.0), atol=0)


class TestQuantumLayerErrors(QDeepTestCase):
    """Bad input gives clear errors of the package's family."""

    def setUp(self):
        super().setUp()
        self.qc, self.obs, self.x, self.w = hqnn_block(2, 1)

    def test_unknown_gradient(self):
        with self.assertRaisesRegex(QDeepValueError, "gradient must be one of"):
            QuantumLayer(self.qc, self.obs, self.x, self.w, gradient="adjoint")

    def test_uncovered_parameters(self):
        with self.assertRaisesRegex(QDeepValueError, r"\['w\[5\]'\] are neither"):
            QuantumLayer(self.qc, self.obs, self.x, self.w[:-1])
        with self.assertRaisesRegex(QDeepValueError, "do not appear"):
            QuantumLayer(self.qc, self.obs, self.x + [Parameter("z")], self.w)
        with self.assertRaisesRegex(QDeepValueError, "both inputs and weights"):
            QuantumLayer(self.qc, self.obs, self.x + self.w[:1], self.w)

    def test_input_width_and_nan(self):
        layer = QuantumLayer(self.qc, self.obs, self.x, self.w)
        with self.assertRaisesRegex(QDeepValueError, r"shape \(batch, 2\), got \(4, 3\)"):
            layer(torch.rand(4, 3))
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            layer(torch.tensor([[0.1, float("nan")]]))
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            layer(torch.tensor([[0.1, float("inf")]]))

    def test_primitive_errors(self):
        from qiskit_aer.primitives import Estimator as AerEstimatorV1

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v1 = AerEstimatorV1()
        with self.assertRaisesRegex(QDeepTypeError, "V1 primitive"):
            QuantumLayer(self.qc, self.obs, self.x, self.w, estimator=v1)
        with self.assertRaisesRegex(QDeepValueError, "backprop"):
            QuantumLayer(
                self.qc, self.obs, self.x, self.w, estimator=AerEstimatorV2(), gradient="backprop"
            )

    def test_bad_observables_and_weights(self):
        with self.assertRaisesRegex(QDeepValueError, "acts on 3 qubits"):
            QuantumLayer(self.qc, ["ZZZ"], self.x, self.w)
        with self.assertRaisesRegex(QDeepValueError, "6 entries"):
            QuantumLayer(self.qc, self.obs, self.x, self.w, initial_weights=np.zeros(5))

    def test_errors_are_qiskit_errors(self):
        self.assertTrue(issubclass(QDeepValueError, QiskitQDeepError))
        from qiskit.exceptions import QiskitError

        self.assertTrue(issubclass(QiskitQDeepError, QiskitError))

    def test_qubit_limit(self):
        qc = QuantumCircuit(6)
        a = Parameter("a")
        qc.rx(a, range(6))
        with self.assertRaisesRegex(QDeepValueError, "6 qubits"):
            QuantumLayer(qc, ["Z" * 6], [a], [], max_qubits=4)

    def test_unsupported_gate_named(self):
        from qiskit.circuit import Gate

        qc = QuantumCircuit(1)
        a = Parameter("a")
        qc.rx(a, 0)
        qc.append(Gate("mystery", 1, []), [0])
        with self.assertRaisesRegex(QDeepValueError, "mystery"):
            QuantumLayer(qc, ["Z"], [a], [])
