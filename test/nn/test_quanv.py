# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quanv2d: shapes, per-pixel references, both gradient paths, interoperability, errors."""

from __future__ import annotations

import io
import itertools
import warnings

import numpy as np
import torch
from ddt import ddt, idata, unpack
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import StatevectorEstimator
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit.quantum_info import Operator, Statevector
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

from qiskit_qdeep.circuit.library.quanvolution import (
    quanvolution_encoding,
    random_quanvolution_circuit,
)
from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError
from qiskit_qdeep.nn.quanv import Quanv2d
from test import QDeepTestCase

# (in_channels, kernel_size, stride, padding, num_filters, readout)
SHAPE_CASES = [
    (1, 2, 2, 0, 1, "per_qubit"),
    (1, 2, 1, 0, 3, "parity"),
    (2, 3, 1, 1, 2, "per_qubit"),
    (3, 2, 2, 1, 1, "parity"),
    (1, (2, 3), (1, 2), (1, 0), 2, "per_qubit"),
    (2, 1, 3, 2, 2, "parity"),
    (1, (3, 4), 1, 0, 1, "parity"),
]


def reference(layer: Quanv2d, images: np.ndarray) -> np.ndarray:
    """Every output pixel from a direct Statevector evaluation of the kernel on its patch."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    padded = np.pad(images, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    batch, channels, height, width = images.shape
    h_out, w_out = layer.output_size(height, width)
    num_out = layer.outputs_per_filter
    out = np.zeros((batch, layer.out_channels, h_out, w_out))
    circuits = [layer.filter_circuit(f) for f in range(layer.num_filters)]
    for b, c, f, i, j in itertools.product(
        range(batch), range(channels), range(layer.num_filters), range(h_out), range(w_out)
    ):
        patch = padded[b, c, i * sh : i * sh + kh, j * sw : j * sw + kw].ravel()
        bound = circuits[f].assign_parameters(dict(zip(layer.input_params, patch, strict=True)))
        state = Statevector(bound)
        for o, obs in enumerate(layer.observables):
            out[b, (c * layer.num_filters + f) * num_out + o, i, j] = state.expectation_value(
                obs
            ).real
    return out


def run_forward_backward(layer, images, weights=None):
    """Outputs, input gradient and weight gradient of a fixed scalar function of the output."""
    inputs = images.clone().requires_grad_(True)
    out = layer(inputs)
    scale = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    (out * scale).sum().backward()
    grad_w = layer.weight.grad if isinstance(layer.weight, torch.nn.Parameter) else None
    return out.detach(), inputs.grad, grad_w


@ddt
class TestQuanv2dForward(QDeepTestCase):
    """Shapes and values."""

    @idata(SHAPE_CASES)
    @unpack
    def test_shapes_follow_conv2d(self, channels, kernel, stride, padding, filters, readout):
        layer = Quanv2d(
            channels,
            kernel,
            stride,
            padding,
            num_filters=filters,
            ansatz="none",
            readout=readout,
            seed=1,
        )
        images = torch.rand(2, channels, 5, 6)
        conv = torch.nn.Conv2d(channels, layer.out_channels, kernel, stride, padding)
        out = layer(images)
        self.assertEqual(out.shape, conv(images).shape)
        per = (
            (kernel[0] * kernel[1] if isinstance(kernel, tuple) else kernel**2)
            if readout == "per_qubit"
            else 1
        )
        self.assertEqual(layer.out_channels, channels * filters * per)
        self.assertEqual(tuple(out.shape[2:]), layer.output_size(5, 6))
        self.assertEqual(out.dtype, torch.float32)

    def test_hqnn_quanv_shape(self):
        layer = Quanv2d(1, 2, stride=2, ansatz="hqnn", seed=0)
        self.assertEqual(tuple(layer(torch.rand(3, 1, 14, 14)).shape), (3, 4, 7, 7))
        self.assertEqual(layer.num_weights, 4)
        self.assertEqual(tuple(layer.weight.shape), (1, 4))
        self.assertEqual(tuple(layer(torch.rand(1, 14, 14)).shape), (4, 7, 7))  # unbatched

    @idata(
        [
            dict(ansatz="hqnn", readout="per_qubit", kernel_size=2, stride=2, padding=1),
            dict(ansatz="qccnn", readout="parity", kernel_size=(2, 3), reps=1, encoding="qccnn"),
            dict(ansatz="random", readout="per_qubit", kernel_size=(1, 2), trainable=False),
        ]
    )
    def test_every_pixel_matches_statevector(self, options):
        layer = Quanv2d(2, num_filters=2, seed=3, **options).double()
        images = torch.tensor(self.rng.uniform(0, 1, (2, 2, 3, 4)))
        out = layer(images)
        self.assertAllClose(out, reference(layer, images.numpy()), atol=1e-10)

    def test_filters_have_their_own_weights(self):
        layer = Quanv2d(1, 2, num_filters=3, ansatz="hqnn", seed=5).double()
        images = torch.rand(1, 1, 3, 3, dtype=torch.float64)
        out = layer(images)
        for f in range(3):
            single = Quanv2d(1, 2, ansatz="hqnn", initial_weights=layer.weight[f : f + 1]).double()
            self.assertAllClose(out[:, 4 * f : 4 * f + 4], single(images), atol=1e-12)

    def test_parity_is_product_only_for_product_states(self):
        images = torch.tensor(self.rng.uniform(0, 1, (2, 1, 3, 3)))
        theta = ParameterVector("t", 4)
        rotations = QuantumCircuit(4)
        for q in range(4):
            rotations.rx(theta[q], q)
        for ansatz in ("none", rotations):
            kwargs = dict(ansatz=ansatz, seed=2)
            per_qubit = Quanv2d(1, 2, readout="per_qubit", **kwargs).double()
            parity = Quanv2d(1, 2, readout="parity", **kwargs).double()
            self.assertAllClose(parity(images)[:, 0], per_qubit(images).prod(dim=1), atol=1e-12)
        per_qubit = Quanv2d(1, 2, ansatz="hqnn", readout="per_qubit", seed=2).double()
        parity = Quanv2d(1, 2, ansatz="hqnn", readout="parity", seed=2).double()
        gap = (parity(images)[:, 0] - per_qubit(images).prod(dim=1)).abs().max()
        self.assertGreater(float(gap.detach()), 1e-3)

    def test_zero_padding_is_ground_state(self):
        layer = Quanv2d(1, 2, padding=1, ansatz="none").double()
        out = layer(torch.zeros(1, 1, 2, 2, dtype=torch.float64))
        self.assertAllClose(out, torch.ones_like(out), atol=1e-12)

    def test_seeds_and_state_dict(self):
        a = Quanv2d(1, 2, num_filters=2, seed=9)
        b = Quanv2d(1, 2, num_filters=2, seed=9)
        self.assertAllClose(a.weight, b.weight, atol=0)
        torch.manual_seed(4)
        c = Quanv2d(1, 2, ansatz="random", trainable=False)
        torch.manual_seed(4)
        d = Quanv2d(1, 2, ansatz="random", trainable=False)
        images = torch.rand(2, 1, 3, 3)
        self.assertAllClose(c(images), d(images), atol=0)
        buffer = io.BytesIO()
        torch.save(a.state_dict(), buffer)
        buffer.seek(0)
        e = Quanv2d(1, 2, num_filters=2, seed=10)
        e.load_state_dict(torch.load(buffer, weights_only=True))
        self.assertAllClose(a(images), e(images), atol=0)


class TestQuanv2dHenderson(QDeepTestCase):
    """Fixed random filters (trainable=False)."""

    def test_fixed_random_filters(self):
        layer = Quanv2d(1, 2, num_filters=3, ansatz="random", reps=2, trainable=False, seed=7)
        self.assertEqual(list(layer.parameters()), [])
        self.assertIn("weight", layer.state_dict())
        self.assertEqual(tuple(layer.weight.shape), (3, 8))
        self.assertGreater(
            float(torch.cdist(layer.weight, layer.weight).fill_diagonal_(9).min()), 0.1
        )
        # filter 0 is the seeded random circuit of the circuit library
        expected = quanvolution_encoding(4, "ry_pi", layer.input_params)
        expected.compose(random_quanvolution_circuit(4, 2, seed=7), inplace=True)
        pixels = dict(zip(layer.input_params, self.rng.uniform(0, 1, 4), strict=True))
        got = layer.filter_circuit(0).assign_parameters(pixels)
        self.assertTrue(Operator(got).equiv(Operator(expected.assign_parameters(pixels))))
        # no parameters, but gradients still flow to the input
        images = torch.rand(2, 1, 3, 3, requires_grad=True)
        layer(images).sum().backward()
        self.assertEqual(tuple(images.grad.shape), (2, 1, 3, 3))

    def test_untrained_builtin_ansatz_is_buffer(self):
        layer = Quanv2d(1, 2, ansatz="hqnn", trainable=False, seed=1)
        self.assertEqual(list(layer.parameters()), [])
        self.assertNotIsInstance(layer.weight, torch.nn.Parameter)


class TestQuanv2dGradients(QDeepTestCase):
    """Backprop and parameter shift agree; one primitive job per step; gradcheck."""

    def test_backprop_and_parameter_shift_agree(self):
        options = dict(num_filters=2, ansatz="qccnn", reps=1, padding=1, stride=2, seed=3)
        a = Quanv2d(2, 2, **options).double()
        b = Quanv2d(2, 2, estimator=StatevectorEstimator(), **options).double()
        self.assertEqual((a.gradient, b.gradient), ("backprop", "parameter-shift"))
        images = torch.tensor(self.rng.uniform(0, 1, (1, 2, 3, 3)))
        for got, want in zip(
            run_forward_backward(a, images), run_forward_backward(b, images), strict=True
        ):
            self.assertAllClose(got, want, atol=1e-9)
        self.assertEqual(b.runner.num_jobs, 1)

    def test_one_job_per_forward_backward(self):
        layer = Quanv2d(
            1,
            2,
            stride=2,
            num_filters=2,
            ansatz="hqnn",
            estimator=StatevectorEstimator(),
            max_bindings_per_pub=16,
            seed=1,
        )
        images = torch.rand(3, 1, 4, 4)
        layer(images).sum().backward()
        self.assertEqual(layer.runner.num_jobs, 1)
        with torch.no_grad():
            layer(images)
        self.assertEqual(layer.runner.num_jobs, 2)
        self.assertEqual(tuple(layer.weight.grad.shape), (2, 4))

    def _gradcheck(self, layer):
        shape = (1, layer.in_channels, 2, 3)
        images = torch.tensor(self.rng.uniform(0.1, 0.9, shape), requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(layer, (images,), atol=1e-6))

        def as_weights(weights):
            return torch.func.functional_call(layer, {"weight": weights}, (images.detach(),))

        weights = layer.weight.detach().clone().requires_grad_(True)
        self.assertTrue(torch.autograd.gradcheck(as_weights, (weights,), atol=1e-6))

    def test_gradcheck_backprop(self):
        self._gradcheck(Quanv2d(2, 2, num_filters=2, ansatz="hqnn", seed=4).double())

    def test_gradcheck_parameter_shift(self):
        layer = Quanv2d(
            1,
            2,
            num_filters=2,
            ansatz="hqnn",
            readout="parity",
            estimator=StatevectorEstimator(),
            seed=4,
        ).double()
        self._gradcheck(layer)

    def test_same_as_qiskit_machine_learning(self):
        from qiskit_machine_learning.connectors import TorchConnector
        from qiskit_machine_learning.neural_networks import EstimatorQNN

        layer = Quanv2d(1, 2, stride=1, num_filters=2, ansatz="hqnn", seed=6).double()
        images = torch.tensor(self.rng.uniform(0, 1, (2, 1, 3, 3)))
        mine = run_forward_backward(layer, images)

        connectors = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for f in range(layer.num_filters):
                qnn = EstimatorQNN(
                    circuit=layer.circuit,
                    observables=layer.observables,
                    input_params=layer.input_params,
                    weight_params=layer.weight_params,
                    estimator=StatevectorEstimator(),
                    input_gradients=True,
                    default_precision=0.0,
                )
                connectors.append(
                    TorchConnector(qnn, initial_weights=layer.weight[f].detach().numpy())
                )
        inputs = images.clone().requires_grad_(True)
        patches = torch.nn.functional.unfold(inputs, 2).transpose(1, 2)  # (B, L, 4)
        per_filter = [c(patches.reshape(-1, 4)).double().reshape(2, 4, 4) for c in connectors]
        out = torch.cat([p.transpose(1, 2) for p in per_filter], dim=1).reshape(2, 8, 2, 2)
        scale = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
        (out * scale).sum().backward()
        theirs = (out.detach(), inputs.grad, torch.stack([c.weight.grad for c in connectors]))
        for got, want in zip(mine, theirs, strict=True):
            self.assertAllClose(got, want.double(), atol=1e-6)

    def test_pass_manager_path(self):
        backend = GenericBackendV2(4, seed=5)
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
        layer = Quanv2d(
            1, 2, stride=2, ansatz="hqnn", estimator=AerEstimatorV2(), pass_manager=pm,
            precision=0.0, seed=2,
        ).double()  # fmt: skip
        exact = Quanv2d(1, 2, stride=2, ansatz="hqnn", seed=2).double()
        self.assertEqual(layer.gradient, "parameter-shift")
        images = torch.tensor(self.rng.uniform(0, 1, (2, 1, 4, 4)))
        for got, want in zip(
            run_forward_backward(layer, images), run_forward_backward(exact, images), strict=True
        ):
            self.assertAllClose(got, want, atol=1e-6)

    def test_training_reduces_loss(self):
        teacher = Quanv2d(1, 2, stride=2, num_filters=2, ansatz="hqnn", seed=1)
        student = Quanv2d(1, 2, stride=2, num_filters=2, ansatz="hqnn", seed=2)
        images = torch.rand(8, 1, 4, 4)
        with torch.no_grad():
            target = teacher(images)
        optimizer = torch.optim.Adam(student.parameters(), lr=0.1)
        losses = []
        for _ in range(30):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(student(images), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        self.assertLess(losses[-1], 0.3 * losses[0])


class TestQuanv2dErrors(QDeepTestCase):
    """Bad arguments and inputs give QDeepValueError messages naming the argument."""

    def test_constructor_arguments(self):
        cases = [
            (dict(in_channels=0, kernel_size=2), "in_channels must be an integer >= 1"),
            (dict(in_channels=1, kernel_size=0), "kernel_size must be >= 1"),
            (dict(in_channels=1, kernel_size=2, stride=0), "stride must be >= 1"),
            (dict(in_channels=1, kernel_size=2, stride=(1, -1)), "stride must be >= 1"),
            (dict(in_channels=1, kernel_size=2, padding=-1), "padding must be >= 0"),
            (dict(in_channels=1, kernel_size=2.5), "kernel_size must be an int"),
            (dict(in_channels=1, kernel_size=2, num_filters=0), "num_filters"),
            (dict(in_channels=1, kernel_size=2, encoding="amplitude"), "encoding must be one of"),
            (dict(in_channels=1, kernel_size=2, readout="max"), "readout must be one of"),
            (dict(in_channels=1, kernel_size=2, ansatz="deep"), "ansatz must be one of"),
            (dict(in_channels=1, kernel_size=3, ansatz="hqnn"), "4-qubit HQNN-Quanv"),
            (dict(in_channels=1, kernel_size=2, gradient="adjoint"), "gradient must be one of"),
            (dict(in_channels=1, kernel_size=2, input_range=(1, 0)), "input_range"),
            (dict(in_channels=1, kernel_size=5, max_qubits=20), "max_qubits"),
            (dict(in_channels=1, kernel_size=2, num_filters=2, initial_weights=np.zeros(3)),
             r"initial_weights must have shape \(2, 20\)"),
            (dict(in_channels=1, kernel_size=2, initial_weights=np.full(20, np.nan)), "NaN"),
            (dict(in_channels=1, kernel_size=2, estimator=AerEstimatorV2(), gradient="backprop"),
             "backprop"),
        ]  # fmt: skip
        for kwargs, message in cases:
            with self.subTest(kwargs=kwargs), self.assertRaisesRegex(QDeepValueError, message):
                Quanv2d(**kwargs)

    def test_v1_estimator(self):
        from qiskit_aer.primitives import Estimator as AerEstimatorV1

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v1 = AerEstimatorV1()
        with self.assertRaises(QDeepTypeError):
            Quanv2d(1, 2, estimator=v1)

    def test_kernel_larger_than_padded_input(self):
        layer = Quanv2d(1, 3, ansatz="none")
        with self.assertRaisesRegex(
            QDeepValueError, r"kernel_size \(3, 3\) is larger than the padded input 2x2"
        ):
            layer(torch.rand(1, 1, 2, 2))
        padded = Quanv2d(1, 3, padding=1, ansatz="none")
        self.assertEqual(tuple(padded(torch.rand(1, 1, 2, 2)).shape), (1, 9, 2, 2))

    def test_bad_inputs(self):
        layer = Quanv2d(2, 2, ansatz="none")
        with self.assertRaisesRegex(QDeepValueError, "input has 1 channels .* in_channels=2"):
            layer(torch.rand(1, 1, 3, 3))
        with self.assertRaisesRegex(
            QDeepValueError, r"expects input of shape \(batch, 2, height, width\)"
        ):
            layer(torch.rand(3, 3))
        nan = torch.rand(1, 2, 3, 3)
        nan[0, 1, 2, 2] = float("nan")
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            layer(nan)
        with self.assertRaisesRegex(QDeepValueError, r"outside input_range \[0, 1\].*divide 8-bit"):
            layer(255 * torch.rand(1, 2, 3, 3))
        with self.assertRaisesRegex(QDeepValueError, "outside input_range"):
            layer(-torch.rand(1, 2, 3, 3) - 0.1)
        free = Quanv2d(2, 2, ansatz="none", input_range=None)
        self.assertEqual(tuple(free(3 * torch.rand(1, 2, 3, 3)).shape), (1, 8, 2, 2))
        with self.assertRaisesRegex(QDeepValueError, "index must be in"):
            layer.filter_circuit(1)
