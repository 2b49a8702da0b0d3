# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""ParallelQuantumLayer: chunks equal QuantumLayers, both gradient paths, one job, interop."""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from ddt import ddt, idata
from qiskit.primitives import StatevectorEstimator
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit.quantum_info import Statevector
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError
from qiskit_qdeep.nn import QuantumLayer
from qiskit_qdeep.nn.parallel import ParallelQuantumLayer
from test import QDeepTestCase, gpu

GRADIENTS = ["backprop", "parameter-shift"]


def make_layer(in_features=6, num_qubits=3, reps=2, gradient="backprop", seed=1, **kwargs):
    if gradient == "parameter-shift":
        kwargs.setdefault("estimator", StatevectorEstimator())
    layer = ParallelQuantumLayer(
        in_features, num_qubits, reps, gradient=gradient, seed=seed, **kwargs
    )
    return layer.double()


def forward_backward(module, inputs):
    """Outputs, input gradient and weight gradient of a fixed weighted sum of the outputs."""
    inp = inputs.clone().requires_grad_(True)
    out = module(inp)
    scale = torch.linspace(0.5, 1.5, out.shape[-1], dtype=out.dtype)
    (out * scale).sum().backward()
    return out.detach(), inp.grad, module.weight.grad


@ddt
class TestParallelQuantumLayer(QDeepTestCase):
    """Forward values, gradients, jobs and interoperability."""

    def test_shapes_and_properties(self):
        layer = ParallelQuantumLayer(20, seed=0)
        self.assertEqual(
            (layer.num_circuits, layer.num_qubits, layer.reps, layer.num_weights), (4, 5, 3, 45)
        )
        self.assertEqual((layer.in_features, layer.out_features), (20, 20))
        self.assertEqual(tuple(layer.weight.shape), (4, 45))
        self.assertEqual(layer.gradient, "backprop")
        self.assertIsNone(layer.runner)
        self.assertEqual(layer.circuit.num_qubits, 5)
        self.assertEqual(layer.circuit.count_ops()["cx"], 15)
        self.assertEqual(len(layer.input_params) + len(layer.weight_params), 50)
        self.assertEqual(
            [o.paulis[0].to_label() for o in layer.observables][:2], ["IIIIY", "IIIYI"]
        )
        self.assertEqual(tuple(layer(torch.rand(7, 20)).shape), (7, 20))
        self.assertEqual(tuple(layer(torch.rand(20)).shape), (20,))
        self.assertEqual(tuple(layer(np.zeros((2, 20))).shape), (2, 20))
        self.assertIn("num_circuits=4", repr(layer))
        # The properties hand out copies.
        layer.circuit.clear()
        self.assertEqual(layer.circuit.num_parameters, 50)

    def test_matches_statevector_reference(self):
        layer = make_layer(4, 2, 1)
        inputs = self.rng.uniform(-2, 2, (3, 4))
        out = layer(torch.tensor(inputs)).detach().numpy()
        qc, params = layer.circuit, layer.input_params + layer.weight_params
        for b in range(3):
            for i in range(2):
                values = list(inputs[b, 2 * i : 2 * i + 2]) + list(layer.weight[i].detach().numpy())
                sv = Statevector(qc.assign_parameters(dict(zip(params, values, strict=True))))
                want = [sv.expectation_value(o).real for o in layer.observables]
                self.assertAllClose(out[b, 2 * i : 2 * i + 2], want, atol=1e-10)

    @idata(GRADIENTS)
    def test_each_chunk_is_a_quantum_layer(self, gradient):
        layer = make_layer(reps=1, gradient=gradient)
        inputs = torch.tensor(self.rng.uniform(-2, 2, (2, 6)))
        out, grad_in, grad_w = forward_backward(layer, inputs)
        for i in range(layer.num_circuits):
            with self.subTest(circuit=i):
                single = QuantumLayer(
                    layer.circuit,
                    layer.observables,
                    layer.input_params,
                    layer.weight_params,
                    gradient=gradient,
                    estimator=StatevectorEstimator() if gradient == "parameter-shift" else None,
                    initial_weights=layer.weight[i].detach(),
                ).double()
                cols = slice(3 * i, 3 * i + 3)
                # The chunk's columns of the weighted-sum scale.
                inp = inputs[:, cols].clone().requires_grad_(True)
                ref = single(inp)
                scale = torch.linspace(0.5, 1.5, 6, dtype=torch.float64)[cols]
                (ref * scale).sum().backward()
                self.assertAllClose(out[:, cols], ref, atol=1e-10)
                self.assertAllClose(grad_in[:, cols], inp.grad, atol=1e-10)
                self.assertAllClose(grad_w[i], single.weight.grad, atol=1e-10)

    def test_backprop_and_parameter_shift_agree(self):
        a = make_layer(reps=1, gradient="backprop", seed=2)
        b = make_layer(reps=1, gradient="parameter-shift", seed=2)
        self.assertAllClose(a.weight, b.weight, atol=0)
        inputs = torch.tensor(self.rng.uniform(-2, 2, (3, 6)))
        for got, want in zip(forward_backward(a, inputs), forward_backward(b, inputs), strict=True):
            self.assertAllClose(got, want, atol=1e-8)

    @idata(GRADIENTS)
    def test_gradcheck(self, gradient):
        # Parameter shift on the default (torch statevector) estimator: gradcheck runs many
        # forward passes.
        layer = make_layer(4, 2, 1, gradient=gradient, seed=3, estimator=None)
        self.assertEqual(layer.gradient, gradient)
        inputs = torch.tensor(self.rng.uniform(-1, 1, (2, 4)), requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(layer, (inputs,), atol=1e-6))

        def as_weights(weights):
            return torch.func.functional_call(layer, {"weight": weights}, (inputs.detach(),))

        weights = layer.weight.detach().clone().requires_grad_(True)
        self.assertTrue(torch.autograd.gradcheck(as_weights, (weights,), atol=1e-6))

    def test_parameter_shift_one_job_per_forward_backward(self):
        layer = make_layer(gradient="parameter-shift", estimator=AerEstimatorV2(), seed=4)
        exact = make_layer(gradient="backprop", seed=4)
        inputs = torch.tensor(self.rng.uniform(-2, 2, (6, 6)))
        results = forward_backward(layer, inputs)
        self.assertEqual(layer.runner.num_jobs, 1)
        for got, want in zip(results, forward_backward(exact, inputs), strict=True):
            self.assertAllClose(got, want, atol=1e-7)
        with torch.no_grad():
            layer(inputs)
        self.assertEqual(layer.runner.num_jobs, 2)

    def test_pass_manager_path(self):
        backend = GenericBackendV2(4, seed=5)
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
        layer = make_layer(4, 2, 1, gradient="auto", pass_manager=pm, estimator=AerEstimatorV2())
        self.assertEqual(layer.gradient, "parameter-shift")
        self.assertEqual(layer.runner.isa_circuit.num_qubits, 4)
        exact = make_layer(4, 2, 1, seed=1)
        inputs = torch.tensor(self.rng.uniform(-2, 2, (3, 4)))
        for got, want in zip(
            forward_backward(layer, inputs), forward_backward(exact, inputs), strict=True
        ):
            self.assertAllClose(got, want, atol=1e-7)

    def test_same_as_qiskit_machine_learning(self):
        layer = make_layer(6, 3, 1, seed=5)
        inputs = torch.tensor(self.rng.uniform(-2, 2, (3, 6)))
        out, grad_in, grad_w = forward_backward(layer, inputs)
        scale = torch.linspace(0.5, 1.5, 6, dtype=torch.float64)
        for i in (1, -1):
            with self.subTest(index=i), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                connector = layer.to_qiskit_ml(i)
                k = i % layer.num_circuits
                cols = slice(3 * k, 3 * k + 3)
                self.assertAllClose(connector.weight, layer.weight[k], atol=0)
                inp = inputs[:, cols].clone().requires_grad_(True)
                ref = connector(inp).double()
                (ref * scale[cols]).sum().backward()
            self.assertAllClose(out[:, cols], ref, atol=1e-6)
            self.assertAllClose(grad_in[:, cols], inp.grad, atol=1e-6)
            self.assertAllClose(grad_w[k], connector.weight.grad, atol=1e-6)

    def test_float32_training_step(self):
        layer = ParallelQuantumLayer(4, 2, 1, seed=6)
        self.assertEqual(layer.weight.dtype, torch.float32)
        inputs = torch.rand(16, 4)
        target = torch.zeros(16, 4)
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
        layer = ParallelQuantumLayer(4, 2, 1, seed=7)
        self.assertEqual(list(layer.state_dict()), ["weight"])
        buffer = io.BytesIO()
        torch.save(layer.state_dict(), buffer)
        buffer.seek(0)
        other = ParallelQuantumLayer(4, 2, 1, seed=8)
        other.load_state_dict(torch.load(buffer, weights_only=True))
        inputs = torch.rand(3, 4)
        self.assertAllClose(layer(inputs), other(inputs), atol=0)

    def test_initial_weights_and_seed(self):
        a = ParallelQuantumLayer(6, 3, 1, seed=9)
        b = ParallelQuantumLayer(6, 3, 1, seed=9)
        self.assertAllClose(a.weight, b.weight, atol=0)
        single = QuantumLayer(a.circuit, a.observables, a.input_params, a.weight_params, seed=9)
        self.assertAllClose(a.weight[0], single.weight, atol=0)
        c = ParallelQuantumLayer(6, 3, 1, initial_weights=np.arange(18.0))
        self.assertAllClose(c.weight, np.arange(18.0).reshape(2, 9), atol=0)
        d = ParallelQuantumLayer(6, 3, 1, initial_weights=torch.ones(2, 9, requires_grad=True))
        self.assertAllClose(d.weight, np.ones((2, 9)), atol=0)

    def test_zero_reps(self):
        layer = ParallelQuantumLayer(4, 2, 0).double()
        self.assertEqual(tuple(layer.weight.shape), (2, 0))
        out = layer(torch.tensor([[0.3, 0.0, 0.0, -0.7]], dtype=torch.float64))
        # RX(x)|0> has <Y> = -sin(x).
        self.assertAllClose(out, -np.sin([[0.3, 0.0, 0.0, -0.7]]), atol=1e-12)


class TestParallelQuantumLayerErrors(QDeepTestCase):
    """Bad input gives clear errors naming the argument."""

    def test_not_divisible(self):
        message = "in_features=7 is not divisible by num_qubits=5"
        with self.assertRaisesRegex(QDeepValueError, message):
            ParallelQuantumLayer(7)

    def test_bad_sizes(self):
        with self.assertRaisesRegex(QDeepValueError, "num_qubits must be an integer >= 1"):
            ParallelQuantumLayer(4, 0)
        with self.assertRaisesRegex(QDeepTypeError, "in_features must be an integer >= 1"):
            ParallelQuantumLayer(4.0, 2)
        with self.assertRaisesRegex(QDeepValueError, "reps must be an integer >= 0"):
            ParallelQuantumLayer(4, 2, -1)

    def test_inputs(self):
        layer = ParallelQuantumLayer(4, 2, 1)
        with self.assertRaisesRegex(QDeepValueError, r"shape \(batch, 4\), got \(3, 6\)"):
            layer(torch.rand(3, 6))
        with self.assertRaisesRegex(QDeepValueError, r"shape \(batch, 4\), got \(3,\)"):
            layer(torch.rand(3))
        with self.assertRaisesRegex(QDeepValueError, r"shape \(batch, 4\), got \(2, 2, 4\)"):
            layer(torch.rand(2, 2, 4))
        for bad in (float("nan"), float("inf")):
            with self.assertRaisesRegex(QDeepValueError, "ParallelQuantumLayer inputs contain NaN"):
                layer(torch.tensor([[0.1, bad, 0.0, 0.0]]))

    def test_gradient_options(self):
        with self.assertRaisesRegex(QDeepValueError, "gradient must be one of"):
            ParallelQuantumLayer(4, 2, gradient="adjoint")
        with self.assertRaisesRegex(QDeepValueError, "backprop"):
            ParallelQuantumLayer(4, 2, gradient="backprop", estimator=AerEstimatorV2())
        pm = generate_preset_pass_manager(optimization_level=0, basis_gates=["rz", "sx", "x", "cx"])
        with self.assertRaisesRegex(QDeepValueError, "pass_manager"):
            ParallelQuantumLayer(4, 2, gradient="backprop", pass_manager=pm)
        with self.assertRaisesRegex(QDeepTypeError, "BaseEstimatorV2"):
            ParallelQuantumLayer(4, 2, estimator="aer")

    def test_initial_weights(self):
        with self.assertRaisesRegex(QDeepValueError, r"12 entries \(shape \(2, 6\)"):
            ParallelQuantumLayer(4, 2, 1, initial_weights=np.zeros(6))
        with self.assertRaisesRegex(QDeepValueError, "initial_weights contain NaN"):
            ParallelQuantumLayer(4, 2, 1, initial_weights=np.full(12, np.nan))

    def test_qubit_limit(self):
        with self.assertRaisesRegex(QDeepValueError, "6 qubits"):
            ParallelQuantumLayer(12, 6, 1, max_qubits=4)

    def test_to_qiskit_ml_index(self):
        layer = ParallelQuantumLayer(4, 2, 1)
        with self.assertRaisesRegex(QDeepValueError, r"index must lie in \[0, 2\)"):
            layer.to_qiskit_ml(2)
        with self.assertRaisesRegex(QDeepValueError, "index must be an integer"):
            layer.to_qiskit_ml(0.5)


class TestParallelQuantumLayerCuda(QDeepTestCase):
    """The backprop path on a CUDA device."""

    @gpu
    def test_cuda_matches_cpu(self):
        layer = make_layer(6, 3, 1, seed=2)
        inputs = torch.tensor(self.rng.uniform(-2, 2, (4, 6)))
        want = forward_backward(layer, inputs)
        layer.weight.grad = None
        layer.cuda()
        got = forward_backward(layer, inputs.cuda())
        self.assertEqual(got[0].device.type, "cuda")
        for a, b in zip(got, want, strict=True):
            self.assertAllClose(a, b, atol=1e-10)
