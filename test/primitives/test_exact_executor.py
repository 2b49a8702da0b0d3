# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The one exact executor: cache by content, runners, derivatives, limits, the one path."""

from __future__ import annotations

import pathlib
import re
import unittest

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_qdeep.circuit.library import strongly_entangling_circuit
from qiskit_qdeep.circuit.library.swap_test import SwapTestGate
from qiskit_qdeep.exceptions import QDeepValueError, QiskitQDeepError, QubitLimitError
from qiskit_qdeep.nn import ParallelQuantumLayer, QuantumLayer, Quanv2d
from qiskit_qdeep.primitives import EstimatorRunner, StatevectorEngine, TorchStatevectorEstimator
from qiskit_qdeep.primitives.exact import (
    ExactEstimatorRunner,
    ExactSamplerRunner,
    ExactStatevectorRunner,
    clear_exact_cache,
    exact_cache_info,
    exact_engine,
    exact_statevector,
    swap_test_overlap,
)
from qiskit_qdeep.primitives.factory import estimator_runner, sampler_runner
from qiskit_qdeep.primitives.fingerprint import circuit_fingerprint

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "qiskit_qdeep"


def _template():
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.ry(a, 0)
    qc.crx(b, 0, 1)
    qc.rz(a * b, 1)
    qc.cry(a, 1, 0)
    qc.rzz(b, 0, 1)
    return qc


def _finite_difference_hessian(func, x, eps=1e-4):
    x = x.detach().clone()
    size = x.numel()
    hess = np.zeros((size, size))
    flat = x.reshape(-1)

    def grad_at(point):
        point = point.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(func(point.reshape(x.shape)), point)
        return grad.reshape(-1).numpy()

    for i in range(size):
        step = torch.zeros_like(flat)
        step[i] = eps
        hess[i] = (grad_at(flat + step) - grad_at(flat - step)) / (2 * eps)
    return hess


class TestOneExactPath(unittest.TestCase):
    def test_no_engine_or_statevector_outside_primitives(self):
        pattern = re.compile(r"StatevectorEngine\(|Statevector\(")
        offenders = []
        for path in PACKAGE.rglob("*.py"):
            if "primitives" in path.relative_to(PACKAGE).parts[:1]:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
        self.assertEqual(offenders, [])

    def test_layers_use_the_shared_cache(self):
        clear_exact_cache()
        x, w = ParameterVector("x", 2), ParameterVector("w", 6)
        qc = strongly_entangling_circuit(2, reps=1, input_params=x, weight_params=w)
        first = QuantumLayer(qc, ["ZI", "IZ"], x, w, seed=0)
        second = QuantumLayer(qc, ["ZI", "IZ"], x, w, seed=1)
        self.assertIs(first.executor.engine(), second.executor.engine())
        self.assertIsInstance(first.executor, ExactEstimatorRunner)
        self.assertIsNone(first.runner)
        before = exact_cache_info()["misses"]
        first(torch.rand(4, 2, dtype=torch.float64))
        second(torch.rand(4, 2, dtype=torch.float64))
        self.assertEqual(exact_cache_info()["misses"], before)  # compiled once, at construction


class TestFingerprintCache(unittest.TestCase):
    def test_in_place_edit_is_a_new_key(self):
        qc = _template()
        key = circuit_fingerprint(qc)
        engine = exact_engine(qc)
        qc.h(1)
        self.assertNotEqual(circuit_fingerprint(qc), key)
        edited = exact_engine(qc)
        self.assertIsNot(edited, engine)
        values = np.array([0.3, -0.8])
        expected = Statevector(qc.assign_parameters(values)).data
        np.testing.assert_allclose(edited.statevector(values).numpy(), expected, atol=1e-12)

    def test_equal_content_shares_and_parameter_identity_matters(self):
        first, second = _template(), _template()  # same names, new Parameter objects
        self.assertNotEqual(circuit_fingerprint(first), circuit_fingerprint(second))
        self.assertEqual(circuit_fingerprint(first), circuit_fingerprint(first.copy()))
        self.assertIs(exact_engine(first), exact_engine(first.copy()))

    def test_edits_of_every_kind_change_the_key(self):
        qc = _template()
        keys = {circuit_fingerprint(qc)}
        variants = []
        edited = qc.copy()
        edited.global_phase = 0.5
        variants.append(edited)
        edited = qc.copy()
        edited.data[0] = edited.data[0].replace(qubits=[edited.qubits[1]])
        variants.append(edited)
        edited = qc.copy()
        edited.data[1] = edited.data[1].replace(operation=edited.data[1].operation.to_mutable())
        edited.data[1].operation.ctrl_state = 0
        variants.append(edited)
        edited = qc.copy()
        inner = QuantumCircuit(1)
        inner.x(0)
        edited.append(inner.to_gate(label="g"), [0])
        variants.append(edited)
        edited2 = qc.copy()
        inner2 = QuantumCircuit(1)
        inner2.y(0)
        edited2.append(inner2.to_gate(label="g"), [0])
        variants.append(edited2)
        for variant in variants:
            keys.add(circuit_fingerprint(variant))
        self.assertEqual(len(keys), len(variants) + 1)

    def test_torch_estimator_sees_in_place_edits(self):
        qc = _template()
        estimator = TorchStatevectorEstimator()
        values = [0.4, 1.1]
        before = estimator.run([(qc, "ZZ", values)]).result()[0].data.evs
        qc.x(0)
        after = estimator.run([(qc, "ZZ", values)]).result()[0].data.evs
        reference = StatevectorEstimator().run([(qc, "ZZ", values)]).result()[0].data.evs
        self.assertNotAlmostEqual(float(before), float(after))
        np.testing.assert_allclose(after, reference, atol=1e-12)


class TestExactRunners(unittest.TestCase):
    def test_estimator_runner_matches_parameter_shift_and_statevector(self):
        qc = _template()
        observables = [SparsePauliOp(["ZZ", "XI"], [0.5, -2.0]), "YY"]
        values = np.random.default_rng(0).uniform(-2, 2, (5, 2))
        exact = ExactEstimatorRunner(qc, observables)
        shift = EstimatorRunner(qc, observables, estimator=TorchStatevectorEstimator())
        evs, jac = exact.run_with_gradient(values)
        ref_evs, ref_jac = shift.run_with_gradient(values)
        np.testing.assert_allclose(evs, ref_evs, atol=1e-12)
        np.testing.assert_allclose(jac, ref_jac, atol=1e-10)
        _, partial = exact.run_with_gradient(values, wrt=[1])
        np.testing.assert_allclose(partial[..., 0], 0.0)
        np.testing.assert_allclose(partial[..., 1], ref_jac[..., 1], atol=1e-10)
        self.assertEqual(exact.num_jobs, 2)

    def test_sampler_runner_probabilities_and_unmeasured_bits(self):
        qc = _template()
        measured = QuantumCircuit(2, 3)
        measured.compose(qc, inplace=True)
        measured.measure(1, 0)
        measured.measure(0, 2)  # clbit 1 is never written
        runner = ExactSamplerRunner(measured)
        values = np.array([[0.3, 0.9], [1.7, -0.4]])
        probs = runner.run(values)
        self.assertEqual(probs.shape, (2, 8))
        for row, value in zip(probs, values, strict=True):
            state = Statevector(qc.assign_parameters(value))
            marginal = state.probabilities([1, 0])  # index bit 0: qubit 1, bit 1: qubit 0
            expected = np.zeros(8)
            for outcome, p in enumerate(marginal):
                expected[(outcome & 1) | ((outcome >> 1) & 1) << 2] += p
            np.testing.assert_allclose(row, expected, atol=1e-12)

    def test_statevector_runner_and_exact_statevector(self):
        qc = _template()
        runner = ExactStatevectorRunner(qc)
        values = torch.tensor([[0.2, 0.5]], dtype=torch.float64, requires_grad=True)
        state = runner.evaluate(values)
        state.abs().square()[0, 1].backward()
        self.assertIsNotNone(values.grad)
        bound = qc.assign_parameters([0.2, 0.5])
        np.testing.assert_allclose(exact_statevector(bound), Statevector(bound).data, atol=1e-12)
        with self.assertRaisesRegex(QDeepValueError, "free parameters"):
            exact_statevector(qc)

    def test_swap_test_fast_path_matches_the_circuit(self):
        rng = np.random.default_rng(3)
        n = 2
        left = rng.normal(size=(3, 1 << n))
        left /= np.linalg.norm(left, axis=1, keepdims=True)
        right = rng.normal(size=(2, 1 << n)) + 1j * rng.normal(size=(2, 1 << n))
        right /= np.linalg.norm(right, axis=1, keepdims=True)
        fast = swap_test_overlap(
            torch.as_tensor(left.T[None]), torch.as_tensor(right)
        ).numpy()  # (1, F, L)
        for i, a in enumerate(left):
            for f, b in enumerate(right):
                qc = QuantumCircuit(2 * n + 1, 1)
                qc.initialize(a, list(range(1, n + 1)))
                qc.initialize(b, list(range(n + 1, 2 * n + 1)))
                qc.append(SwapTestGate(n), list(range(2 * n + 1)))
                qc.measure(0, 0)
                probs = ExactSamplerRunner(qc).run(np.zeros((1, 0)))[0]
                self.assertAlmostEqual(fast[0, f, i], probs[0] - probs[1], places=12)

    def test_factory_refuses_what_the_exact_path_cannot_honour(self):
        qc = _template()
        with self.assertRaisesRegex(QDeepValueError, "precision"):
            estimator_runner(qc, "ZZ", exact=True, precision=0.1)
        with self.assertRaisesRegex(QDeepValueError, "default_precision"):
            estimator_runner(
                qc, "ZZ", exact=True, estimator=TorchStatevectorEstimator(default_precision=0.5)
            )
        with self.assertRaisesRegex(QDeepValueError, "shots"):
            sampler_runner(qc, exact=True, shots=100)
        self.assertIsInstance(sampler_runner(qc, exact=True), ExactSamplerRunner)

    def test_backprop_layers_refuse_precision(self):
        x, w = ParameterVector("x", 2), ParameterVector("w", 6)
        qc = strongly_entangling_circuit(2, reps=1, input_params=x, weight_params=w)
        noisy = TorchStatevectorEstimator(default_precision=0.5)
        with self.assertRaisesRegex(QDeepValueError, "default_precision=0.5"):
            QuantumLayer(qc, ["ZI"], x, w, estimator=noisy, gradient="backprop")
        with self.assertRaisesRegex(QDeepValueError, "precision"):
            QuantumLayer(qc, ["ZI"], x, w, gradient="backprop", precision=0.1)
        # an exact torch estimator is the same engine and stays allowed
        layer = QuantumLayer(
            qc, ["ZI"], x, w, estimator=TorchStatevectorEstimator(), gradient="backprop"
        )
        self.assertEqual(layer.gradient, "backprop")
        # the parameter-shift path honours it
        shifted = QuantumLayer(qc, ["ZI"], x, w, estimator=noisy, gradient="parameter-shift")
        self.assertEqual(shifted.gradient, "parameter-shift")


class TestDerivatives(unittest.TestCase):
    def setUp(self):
        x, w = ParameterVector("x", 2), ParameterVector("w", 6)
        self.qc = strongly_entangling_circuit(2, reps=1, input_params=x, weight_params=w)
        self.x, self.w = x, w

    def test_backprop_hessian_matches_finite_differences(self):
        layer = QuantumLayer(self.qc, ["ZI", "XX"], self.x, self.w, seed=3).double()
        inputs = torch.rand(2, 2, dtype=torch.float64)

        def loss(z):
            return layer(z).square().sum()

        hess = torch.autograd.functional.hessian(loss, inputs).reshape(4, 4).numpy()
        self.assertGreater(np.abs(hess).max(), 1e-2)
        np.testing.assert_allclose(hess, _finite_difference_hessian(loss, inputs), atol=1e-6)

    def test_create_graph_weight_gradient_penalty(self):
        layer = QuantumLayer(self.qc, ["ZI"], self.x, self.w, seed=5).double()
        inputs = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(layer(inputs).sum(), inputs, create_graph=True)
        penalty = grad.square().sum()
        penalty.backward()
        self.assertGreater(layer.weight.grad.abs().max().item(), 0.0)

        def penalty_of(weight):
            with torch.no_grad():
                layer.weight.copy_(weight)
            x = inputs.detach().clone().requires_grad_(True)
            (g,) = torch.autograd.grad(layer(x).sum(), x)
            return g.square().sum().item()

        base = layer.weight.detach().clone()
        eps = 1e-5
        fd = []
        for k in range(base.numel()):
            step = torch.zeros_like(base)
            step[k] = eps
            fd.append((penalty_of(base + step) - penalty_of(base - step)) / (2 * eps))
        with torch.no_grad():
            layer.weight.copy_(base)
        np.testing.assert_allclose(layer.weight.grad.numpy(), fd, atol=1e-6)

    def test_torch_func_transforms(self):
        engine = exact_engine(_template())
        values = torch.tensor([0.3, 0.7], dtype=torch.float64)

        def f(v):
            return engine.expectation_values(v, ["ZZ", "XY"]).sum()

        jac = torch.func.jacrev(f)(values)
        values_grad = values.clone().requires_grad_(True)
        f(values_grad).backward()
        np.testing.assert_allclose(jac.numpy(), values_grad.grad.numpy(), atol=1e-12)
        hess = torch.func.hessian(f)(values).numpy()
        np.testing.assert_allclose(hess, _finite_difference_hessian(f, values), atol=1e-6)

    def test_parameter_shift_second_order_raises(self):
        layer = QuantumLayer(
            self.qc, ["ZI"], self.x, self.w, gradient="parameter-shift", seed=1
        ).double()
        inputs = torch.rand(2, 2, dtype=torch.float64)
        with self.assertRaisesRegex(QiskitQDeepError, "Second-order derivatives"):
            torch.autograd.functional.hessian(lambda z: layer(z).sum(), inputs)
        # first order still works
        x = inputs.clone().requires_grad_(True)
        layer(x).sum().backward()
        self.assertTrue(torch.isfinite(x.grad).all())


class TestValuesAndLimits(unittest.TestCase):
    def test_nan_from_an_expression_names_it(self):
        a = Parameter("a")
        qc = QuantumCircuit(1)
        qc.ry(a.log(), 0)
        x, w = Parameter("x"), Parameter("w")
        layer_qc = QuantumCircuit(1)
        layer_qc.ry(x.log(), 0)
        layer_qc.rx(w, 0)
        layer = QuantumLayer(layer_qc, ["Z"], [x], [w], seed=0)
        with self.assertRaisesRegex(QDeepValueError, r"log\(x\).*nan"):
            layer(torch.tensor([[-1.0]]))
        with self.assertRaisesRegex(QDeepValueError, r"log\(a\)"):
            exact_engine(qc).expectation_values(np.array([[0.5], [-1.0]]), ["Z"])

    def test_nan_weight_names_the_parameter(self):
        x, w = ParameterVector("x", 2), ParameterVector("w", 6)
        qc = strongly_entangling_circuit(2, reps=1, input_params=x, weight_params=w)
        layer = QuantumLayer(qc, ["ZI"], x, w, seed=0)
        with torch.no_grad():
            layer.weight[3] = float("nan")
        with self.assertRaisesRegex(QDeepValueError, r"w\[3\]"):
            layer(torch.rand(2, 2))

    def test_memory_budget_chunks_and_refuses(self):
        qc = _template()
        values = torch.rand(50, 2, dtype=torch.float64, requires_grad=True)
        big = StatevectorEngine(qc)
        small = StatevectorEngine(qc, memory_limit=small_budget(qc, 7))
        expected = big.expectation_values(values, ["ZZ", "XI"])
        got = small.expectation_values(values, ["ZZ", "XI"])
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), atol=1e-14)
        (g1,) = torch.autograd.grad(expected.sum(), values)
        (g2,) = torch.autograd.grad(got.sum(), values)
        np.testing.assert_allclose(g1.numpy(), g2.numpy(), atol=1e-13)
        tiny = StatevectorEngine(qc, memory_limit=16)
        with self.assertRaisesRegex(QubitLimitError, "memory_limit=16"):
            tiny.statevector(values.detach())

    def test_qubit_limit_before_compiling(self):
        qc = QuantumCircuit(30)
        qc.h(range(30))
        with self.assertRaisesRegex(QubitLimitError, "max_qubits=20"):
            exact_engine(qc)
        with self.assertRaises(QubitLimitError):
            ExactEstimatorRunner(qc, "Z" * 30)


def small_budget(circuit, bindings):
    engine = StatevectorEngine(circuit)
    return engine.bytes_per_binding(grad=True) * bindings


class TestLayersThroughTheExecutor(unittest.TestCase):
    def test_layer_outputs_match_statevector(self):
        layer = ParallelQuantumLayer(4, num_qubits=2, reps=1, seed=0).double()
        inputs = torch.rand(3, 4, dtype=torch.float64)
        out = layer(inputs).detach().numpy()
        for k in range(2):
            qc = layer.circuit
            params = layer.input_params + layer.weight_params
            for b in range(3):
                values = np.concatenate(
                    [inputs[b, 2 * k : 2 * k + 2].numpy(), layer.weight[k].detach().numpy()]
                )
                state = Statevector(qc.assign_parameters(dict(zip(params, values, strict=True))))
                expected = [state.expectation_value(obs).real for obs in layer.observables]
                np.testing.assert_allclose(out[b, 2 * k : 2 * k + 2], expected, atol=1e-12)

    def test_quanv_counts_executions(self):
        layer = Quanv2d(1, kernel_size=2, stride=2, seed=0)
        layer(torch.rand(2, 1, 4, 4))
        self.assertEqual(layer.executor.num_jobs, 1)


if __name__ == "__main__":
    unittest.main()
