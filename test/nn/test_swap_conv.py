# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""SwapTestConv2d (QuCNN): values, sampler paths, the three gradient modes, errors."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import torch
from ddt import ddt, idata, unpack
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit.quantum_info import Statevector
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2

from qiskit_qdeep.circuit.library.swap_test import amplitude_encoding_angles
from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError
from qiskit_qdeep.nn.swap_conv import (
    SwapTestConv2d,
    ancilla_gradient_error_curve,
    plot_ancilla_gradient_error_curve,
)
from qiskit_qdeep.primitives import TorchStatevectorSampler
from test import QDeepTestCase

# (kernel_size, stride, num_filters, num_layers, height, width)
SHAPE_CASES = [
    (2, 1, 1, 1, 3, 3),
    (2, 2, 3, 2, 4, 6),
    ((2, 4), (1, 2), 2, 1, 3, 8),
    (4, 3, 2, 1, 7, 4),
    ((1, 2), 1, 1, 3, 2, 2),
]


def patches_of(images: np.ndarray, kernel, stride) -> np.ndarray:
    """Row-major flattened patches ``(batch, H_out, W_out, kh * kw)`` by explicit slicing."""
    (kh, kw), (sh, sw) = kernel, stride
    batch, _, height, width = images.shape
    h_out, w_out = (height - kh) // sh + 1, (width - kw) // sw + 1
    out = np.zeros((batch, h_out, w_out, kh * kw))
    for b in range(batch):
        for i in range(h_out):
            for j in range(w_out):
                out[b, i, j] = images[b, 0, i * sh : i * sh + kh, j * sw : j * sw + kw].ravel()
    return out


def reference(layer: SwapTestConv2d, images: np.ndarray) -> np.ndarray:
    """``|<f|x_hat>|^2`` from Statevector filter states and numpy-normalised patches."""
    patches = patches_of(images, layer.kernel_size, layer.stride)
    norms = np.linalg.norm(patches, axis=-1, keepdims=True)
    unit = np.divide(patches, norms, out=np.zeros_like(patches), where=norms > 0)
    states = np.array([Statevector(layer.filter_circuit(f)).data for f in range(layer.num_filters)])
    overlaps = np.abs(np.einsum("bijd,fd->bfij", unit, states.conj())) ** 2
    return overlaps


def scalar_loss(out: torch.Tensor) -> torch.Tensor:
    """A fixed linear function of the output with signed upstream gradients."""
    scale = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    return (out * scale).sum()


@ddt
class TestSwapTestConv2dExact(QDeepTestCase):
    """Exact (backprop) path: shapes, values, zero patches, fixed filters, gradcheck."""

    @idata(SHAPE_CASES)
    @unpack
    def test_shapes_and_values(self, kernel, stride, filters, layers, height, width):
        layer = SwapTestConv2d(kernel, filters, stride, num_layers=layers, seed=3)
        self.assertEqual(layer.gradient, "backprop")
        images = torch.rand(2, 1, height, width, dtype=torch.float64) - 0.3  # signed pixels
        out = layer(images)
        h_out, w_out = layer.output_size(height, width)
        self.assertEqual(tuple(out.shape), (2, filters, h_out, w_out))
        self.assertEqual(out.dtype, torch.float64)
        self.assertAllClose(out, reference(layer, images.numpy()), atol=1e-10)
        # (batch, H, W) input, float32
        out3 = layer(images[:, 0].float())
        self.assertEqual(out3.dtype, torch.float32)
        self.assertAllClose(out3, out, atol=1e-5)

    def test_matches_swap_test_circuit(self):
        """The exact shortcut equals 2 P(anc = 0) - 1 of the layer's own circuit."""
        layer = SwapTestConv2d(2, 2, 2, num_layers=2, seed=4).double()
        images = torch.rand(1, 1, 4, 2, dtype=torch.float64)
        out = layer(images).detach().numpy()  # (1, 2, 2, 1)
        circuit = layer.circuit.remove_final_measurements(inplace=False)
        patches = patches_of(images.numpy(), (2, 2), (2, 2))
        for f in range(2):
            for i in range(2):
                values = dict(zip(layer.input_params, amplitude_encoding_angles(patches[0, i, 0])))
                values.update(zip(layer.weight_params, layer.weight[f].tolist()))
                p0 = Statevector(circuit.assign_parameters(values)).probabilities([0])[0]
                self.assertAlmostEqual(2 * p0 - 1, out[0, f, i, 0], places=10)

    def test_ancilla_circuit_carries_cos_phi(self):
        """<Z_a2> of the ancilla template is cos(phi) |<f|x>|^2."""
        layer = SwapTestConv2d(2, 1, seed=5).double()
        circuit = layer.ancilla_circuit.remove_final_measurements(inplace=False)
        vec = self.rng.normal(size=4)
        fid = reference(layer, vec.reshape(1, 1, 2, 2))[0, 0, 0, 0]
        grad_qubit = circuit.num_qubits - 1
        for phi in (0.0, 0.7, np.pi / 2, 2.5, np.pi):
            values = dict(zip(layer.input_params, amplitude_encoding_angles(vec)))
            values.update(zip(layer.weight_params, layer.weight[0].tolist()))
            values[layer.phi_param] = phi
            probs = Statevector(circuit.assign_parameters(values)).probabilities([grad_qubit])
            self.assertAlmostEqual(probs[0] - probs[1], np.cos(phi) * fid, places=10)

    def test_zero_patches(self):
        layer = SwapTestConv2d(2, 2, 2, seed=1).double()
        images = torch.rand(2, 1, 4, 4, dtype=torch.float64)
        images[0, 0, :2, :2] = 0.0
        images[1] = 0.0
        images.requires_grad_(True)
        out = layer(images)
        self.assertAllClose(out[0, :, 0, 0], [0.0, 0.0])
        self.assertAllClose(out[1], np.zeros((2, 2, 2)))
        scalar_loss(out).backward()
        self.assertTrue(torch.isfinite(images.grad).all())
        self.assertTrue(torch.isfinite(layer.weight.grad).all())
        self.assertAllClose(images.grad[1], np.zeros((1, 4, 4)))

    def test_fixed_filter_states(self):
        kernels = self.rng.normal(size=(2, 2, 2))
        layer = SwapTestConv2d(2, 2, 1, filter_states=kernels).double()
        self.assertTrue(layer.fixed_filters)
        self.assertEqual(list(layer.parameters()), [])
        self.assertIn("weight", layer.state_dict())
        images = self.rng.normal(size=(1, 1, 3, 3))
        patches = patches_of(images, (2, 2), (1, 1))
        unit_p = patches / np.linalg.norm(patches, axis=-1, keepdims=True)
        unit_k = kernels.reshape(2, 4) / np.linalg.norm(kernels.reshape(2, 4), axis=-1)[:, None]
        expected = np.einsum("bijd,fd->bfij", unit_p, unit_k) ** 2  # classical cosine^2
        # the tree angles are stored in the default dtype (float32)
        self.assertAllClose(layer(torch.as_tensor(images)), expected, atol=1e-6)
        states = layer.filter_statevectors().detach().numpy()
        self.assertAllClose(states, unit_k, atol=1e-6)
        # replace one filter by the first patch: its output there is 1
        layer.set_filter_state(1, patches[0, 0, 0].reshape(2, 2))
        self.assertAlmostEqual(float(layer(torch.as_tensor(images))[0, 1, 0, 0]), 1.0, places=6)
        # sampler path agrees within shot noise
        sampled = SwapTestConv2d(
            2, 2, 1, filter_states=kernels, shots=20000, seed=2, gradient="parameter-shift"
        )
        self.assertAllClose(sampled(torch.as_tensor(images)), expected, atol=0.04)

    def test_gradcheck_backprop(self):
        layer = SwapTestConv2d(2, 2, 2, num_layers=2, seed=8).double()
        images = torch.rand(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
        weight = layer.weight.detach().clone().requires_grad_(True)

        def func(inputs, weights):
            return torch.func.functional_call(layer, {"weight": weights}, (inputs,))

        self.assertTrue(torch.autograd.gradcheck(func, (images, weight)))

    def test_seed_and_state_dict(self):
        a = SwapTestConv2d(2, 3, seed=11)
        b = SwapTestConv2d(2, 3, seed=11)
        self.assertAllClose(a.weight, b.weight)
        c = SwapTestConv2d(2, 3, seed=12)
        c.load_state_dict(a.state_dict())
        images = torch.rand(2, 1, 3, 3)
        self.assertAllClose(c(images), a(images))
        self.assertEqual(a.weight.shape, (3, 4))
        self.assertIn("kernel_size=(2, 2)", repr(a))

    def test_learn_a_filter_state(self):
        """State learning: an ansatz filter trained on the fidelity with a target kernel."""
        target = torch.tensor([0.1, 0.5, 0.7, 0.5], dtype=torch.float64)
        target = target / target.norm()
        layer = SwapTestConv2d(2, 1, num_layers=2, seed=0).double()
        opt = torch.optim.Adam(layer.parameters(), lr=0.1)
        first = None
        for _ in range(60):
            opt.zero_grad()
            fid = (layer.filter_statevectors()[0].conj() @ target.to(torch.complex128)).abs() ** 2
            loss = 1 - fid
            first = float(loss.detach()) if first is None else first
            loss.backward()
            opt.step()
        self.assertLess(float(loss.detach()), min(0.05, first))


class TestSwapTestConv2dSampler(QDeepTestCase):
    """Primitive paths: shot noise, job counts, gradient modes."""

    def setUp(self):
        super().setUp()
        self.images = torch.rand(1, 1, 4, 4, dtype=torch.float64)
        self.exact = SwapTestConv2d(2, 2, 2, num_layers=1, seed=21).double()
        self.weights = self.exact.weight.detach().clone()

    def layer(self, gradient, shots, sampler=None):
        return SwapTestConv2d(
            2,
            2,
            2,
            sampler=sampler,
            shots=shots,
            gradient=gradient,
            initial_weights=self.weights,
            seed=7,
        ).double()

    def exact_grads(self):
        out = self.exact(self.images)
        (grad,) = torch.autograd.grad(scalar_loss(out), self.exact.weight)
        return out.detach(), grad

    def test_forward_within_shot_noise(self):
        exact, _ = self.exact_grads()
        shots = 20000
        for sampler in (TorchStatevectorSampler(seed=3), AerSamplerV2(seed=3)):
            with self.subTest(sampler=type(sampler).__name__):
                layer = self.layer("parameter-shift", shots, sampler)
                with torch.no_grad():
                    out = layer(self.images)
                self.assertEqual(layer.runner.num_jobs, 1)
                self.assertAllClose(out, exact, atol=5 / np.sqrt(shots))

    def test_default_sampler_is_reproducible_with_fresh_shots(self):
        first, second = self.layer("parameter-shift", 200), self.layer("parameter-shift", 200)
        with torch.no_grad():
            a1, a2, b1 = first(self.images), first(self.images), second(self.images)
        self.assertAllClose(a1, b1)
        self.assertFalse(torch.equal(a1, a2))

    def test_gradient_modes_agree(self):
        exact_out, exact_grad = self.exact_grads()
        shots = 100000
        # 4 patches per filter, |g| <= 1: per-row std ~ 1/sqrt(2 shots)
        tol = 5 * np.sqrt(4) / np.sqrt(2 * shots)
        grads = {}
        for mode in ("parameter-shift", "ancilla"):
            layer = self.layer(mode, shots)
            out = layer(self.images)
            self.assertAllClose(out, exact_out, atol=5 / np.sqrt(shots))
            scalar_loss(out).backward()
            grads[mode] = layer.weight.grad.clone()
            with self.subTest(mode=mode):
                self.assertAllClose(grads[mode], exact_grad, atol=tol)
                # one job for forward (+ parameter-shift Jacobian), one for the ancilla backward
                self.assertEqual(layer.runner.num_jobs, 1)
                if mode == "ancilla":
                    self.assertEqual(layer.ancilla_runner.num_jobs, 1)
                else:
                    self.assertIsNone(layer.ancilla_runner)
        self.assertAllClose(grads["ancilla"], grads["parameter-shift"], atol=2 * tol)

    def test_ancilla_forward_without_grad_and_job_counts(self):
        layer = self.layer("ancilla", 1000)
        with torch.no_grad():
            layer(self.images)
        self.assertEqual(layer.runner.num_jobs, 1)
        self.assertEqual(layer.ancilla_runner.num_jobs, 0)
        out = layer(self.images)
        out.sum().backward()
        self.assertEqual(layer.runner.num_jobs, 2)
        self.assertEqual(layer.ancilla_runner.num_jobs, 1)

    def test_ancilla_weight_gradient(self):
        _, exact_grad = self.exact_grads()
        layer = self.layer("parameter-shift", 100000)
        out_shape = (1, 2, 2, 2)
        upstream = torch.linspace(-1.0, 1.0, 8, dtype=torch.float64).reshape(out_shape)
        grad = layer.ancilla_weight_gradient(self.images, upstream)
        self.assertEqual(tuple(grad.shape), (2, 4))
        self.assertAllClose(grad, exact_grad, atol=5 * 2 / np.sqrt(2 * 100000))
        self.assertEqual(layer.ancilla_runner.num_jobs, 1)
        self.assertEqual(layer.runner.num_jobs, 0)
        zero = layer.ancilla_weight_gradient(self.images, np.zeros(out_shape))
        self.assertAllClose(zero, np.zeros((2, 4)))
        self.assertEqual(layer.ancilla_runner.num_jobs, 1)  # nothing to send
        with self.assertRaisesRegex(QDeepValueError, "grad_output must have .* \\(1, 2, 2, 2\\)"):
            layer.ancilla_weight_gradient(self.images, np.zeros((1, 2, 4)))
        with self.assertRaisesRegex(QDeepValueError, "grad_output contains NaN"):
            layer.ancilla_weight_gradient(self.images, np.full(out_shape, np.nan))

    def test_zero_patches_are_not_sent(self):
        images = self.images.clone()
        images[0, 0, :2, :2] = 0.0
        layer = self.layer("parameter-shift", 1000)
        out = layer(images)
        self.assertAllClose(out[0, :, 0, 0], [0.0, 0.0])
        blank = layer(torch.zeros(2, 1, 4, 4, dtype=torch.float64))
        self.assertAllClose(blank, np.zeros((2, 2, 2, 2)))
        blank.sum().backward()  # keeps a graph, no job
        self.assertEqual(layer.runner.num_jobs, 1)
        self.assertAllClose(layer.weight.grad, np.zeros((2, 4)))

    def test_no_input_gradient_in_primitive_modes(self):
        images = self.images.clone().requires_grad_(True)
        layer = self.layer("parameter-shift", 1000)
        layer(images).sum().backward()
        self.assertIsNone(images.grad)
        self.assertIsNotNone(layer.weight.grad)

    def test_pass_manager_path(self):
        backend = GenericBackendV2(num_qubits=5, seed=3)
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
        shots = 20000
        layer = SwapTestConv2d(
            2, 2, 2, pass_manager=pm, shots=shots, initial_weights=self.weights, seed=1
        ).double()
        self.assertEqual(layer.gradient, "parameter-shift")
        self.assertNotIn("cswap", layer.runner.isa_circuit.count_ops())
        exact, _ = self.exact_grads()
        with torch.no_grad():
            self.assertAllClose(layer(self.images), exact, atol=5 / np.sqrt(shots))

    def test_error_curve_slope_and_plot(self):
        curve = ancilla_gradient_error_curve((250, 1000, 4000, 16000), repeats=8, seed=5)
        self.assertEqual(curve.ancilla.shape, (4, 8, 4))
        self.assertEqual(curve.parameter_shift.shape, (4, 8, 4))
        self.assertTrue(-0.8 < curve.slope < -0.2, curve.slope)
        self.assertLess(curve.ancilla_error[-1], curve.ancilla_error[0])
        self.assertLess(curve.parameter_shift_error[-1], curve.parameter_shift_error[0])
        self.assertAllClose(curve.ancilla[-1].mean(axis=0), curve.exact, atol=0.05)
        with tempfile.TemporaryDirectory() as tmp:
            path = plot_ancilla_gradient_error_curve(curve, os.path.join(tmp, "fig4.png"))
            with open(path, "rb") as handle:
                self.assertEqual(handle.read(8), b"\x89PNG\r\n\x1a\n")
        with self.assertRaisesRegex(QDeepValueError, "parameter"):
            plot_ancilla_gradient_error_curve(curve, "unused.png", parameter=9)


class TestSwapTestConv2dErrors(QDeepTestCase):
    """Bad arguments name themselves."""

    def test_constructor_errors(self):
        cases = [
            ({"kernel_size": 3, "num_filters": 1}, "kernel_size .* power of two"),
            ({"kernel_size": 1, "num_filters": 1}, "kernel_size .* power of two"),
            ({"kernel_size": (2, 3), "num_filters": 1}, "kernel_size .* power of two"),
            ({"kernel_size": 2, "num_filters": 0}, "num_filters"),
            ({"kernel_size": 2, "num_filters": 1, "stride": 0}, "stride"),
            ({"kernel_size": 2, "num_filters": 1, "num_layers": 0}, "num_layers"),
            ({"kernel_size": 2, "num_filters": 1, "shots": 0}, "shots"),
            ({"kernel_size": 2, "num_filters": 1, "gradient": "adjoint"}, "gradient"),
            (
                {"kernel_size": 2, "num_filters": 1, "gradient": "backprop", "shots": 10},
                "backprop",
            ),
            ({"kernel_size": 2, "num_filters": 2, "filter_states": np.ones((3, 4))}, "filter_st"),
            ({"kernel_size": 2, "num_filters": 2, "filter_states": np.zeros((2, 4))}, "all zero"),
            (
                {"kernel_size": 2, "num_filters": 1, "filter_states": np.full((1, 4), np.nan)},
                "NaN",
            ),
            (
                {
                    "kernel_size": 2,
                    "num_filters": 1,
                    "filter_states": np.ones((1, 4)),
                    "initial_weights": np.zeros(3),
                },
                "initial_weights",
            ),
            ({"kernel_size": 2, "num_filters": 2, "initial_weights": np.zeros(3)}, "initial_w"),
        ]
        for kwargs, pattern in cases:
            with self.subTest(kwargs=kwargs), self.assertRaisesRegex(QDeepValueError, pattern):
                SwapTestConv2d(**kwargs)
        with self.assertRaises(QDeepTypeError):
            SwapTestConv2d(2, 1, sampler="not a sampler")

    def test_input_errors(self):
        layer = SwapTestConv2d(2, 1, seed=0)
        with self.assertRaisesRegex(QDeepValueError, "2 channels"):
            layer(torch.rand(1, 2, 4, 4))
        with self.assertRaisesRegex(QDeepValueError, "shape"):
            layer(torch.rand(4, 4))
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            layer(torch.full((1, 1, 2, 2), float("nan")))
        with self.assertRaisesRegex(QDeepValueError, "larger than the input"):
            layer(torch.rand(1, 1, 1, 4))
        sampled = SwapTestConv2d(2, 1, shots=10, seed=0)
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            sampled(torch.full((1, 1, 2, 2), float("nan")))

    def test_filter_errors(self):
        layer = SwapTestConv2d(2, 2, seed=0)
        with self.assertRaisesRegex(QDeepValueError, "filter_states"):
            layer.set_filter_state(0, np.ones(4))
        with self.assertRaisesRegex(QDeepValueError, "index"):
            layer.filter_circuit(2)
        fixed = SwapTestConv2d(2, 2, filter_states=np.ones((2, 4)))
        with self.assertRaisesRegex(QDeepValueError, "index"):
            fixed.set_filter_state(-1, np.ones(4))
        with self.assertRaisesRegex(QDeepValueError, "kernel is all zero"):
            fixed.set_filter_state(0, np.zeros((2, 2)))
        with self.assertRaisesRegex(QDeepValueError, "kernel must have shape"):
            fixed.set_filter_state(0, np.ones(3))
