# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Shared-weight evaluation (segmented program) equals the plain batched simulation."""

from __future__ import annotations

from unittest import mock

import numpy as np
import torch
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.circuit.library import RXGate
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_qdeep.circuit.library import strongly_entangling_circuit
from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.nn import ParallelQuantumLayer, QuantumLayer, Quanv2d
from qiskit_qdeep.primitives.statevector.fusion import flatten_circuit
from qiskit_qdeep.primitives.statevector.segmented import SegmentedProgram, split_items
from qiskit_qdeep.primitives.torch_engine import StatevectorEngine
from test import QDeepTestCase


def _reuploading(num_qubits: int, seed: int) -> tuple[QuantumCircuit, list, list]:
    """Inputs and weights interleaved, fixed and controlled gates, shared expressions."""
    rng = np.random.default_rng(seed)
    x = ParameterVector("x", num_qubits)
    w = ParameterVector("w", 4 * num_qubits)
    qc = QuantumCircuit(num_qubits)
    qc.h(0)
    for q in range(num_qubits):
        qc.ry(x[q], q)
    for q in range(num_qubits):
        qc.rz(w[q], q)
    qc.cx(0, num_qubits - 1)
    qc.crx(w[num_qubits], 0, 1)
    for q in range(num_qubits):
        qc.rx(2 * x[q] + w[num_qubits + q], q)  # a row gate that reads a weight
    qc.s(1)
    qc.append(RXGate(w[2 * num_qubits]).control(1), [1, 0])
    for q in rng.permutation(num_qubits):
        qc.ry(w[3 * num_qubits + q], int(q))
    qc.cz(0, 1)
    qc.rzz(x[0] * w[0], 0, 1)
    qc.u(w[1], x[1], 0.3, num_qubits - 1)
    return qc, list(x), list(w)


def _observables(n: int) -> list:
    return [SparsePauliOp("I" * (n - 1 - j) + "Y" + "I" * j) for j in range(n)] + [
        SparsePauliOp("Z" * n, 0.5),
        SparsePauliOp.from_list([("X" + "I" * (n - 1), 1.0)]),
    ]


class TestSharedWeights(QDeepTestCase):
    """``expectation_values_shared`` == ``expectation_values`` on the concatenation."""

    def _compare(self, qc, x, w, groups, rows, force, dtype=torch.float64, atol=1e-10):
        complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        engine = StatevectorEngine(qc, parameters=x + w, dtype=complex_dtype)
        observables = _observables(qc.num_qubits)
        gen = torch.Generator().manual_seed(7)
        inputs = torch.rand(rows, groups, len(x), generator=gen, dtype=dtype) * 3
        weights = torch.rand(groups, len(w), generator=gen, dtype=dtype) * 3
        inputs.requires_grad_(True)
        weights.requires_grad_(True)
        with mock.patch.object(SegmentedProgram, "worthwhile", lambda self, r: force):
            shared = engine.expectation_values_shared(inputs, weights, observables)
        plain = engine.expectation_values(
            torch.cat([inputs, weights.expand(rows, -1, -1)], dim=-1), observables
        )
        self.assertEqual(shared.shape, (rows, groups, len(observables)))
        torch.testing.assert_close(shared, plain, atol=atol, rtol=0)
        probe = torch.randn(shared.shape, generator=gen, dtype=dtype)
        grads = torch.autograd.grad((shared * probe).sum(), (inputs, weights))
        ref = torch.autograd.grad((plain * probe).sum(), (inputs, weights))
        for got, want in zip(grads, ref, strict=True):
            torch.testing.assert_close(got, want, atol=atol * 100, rtol=0)
        return engine

    def test_strongly_entangling_dense_path(self):
        for n in (1, 2, 5):
            x, w = ParameterVector("x", n), ParameterVector("w", 9 * n)
            qc = strongly_entangling_circuit(n, 3, input_params=x, weight_params=w)
            for groups in (1, 3):
                with self.subTest(n=n, groups=groups):
                    engine = self._compare(qc, list(x), list(w), groups, 40, force=True)
                    kinds = [s.kind for s in engine.segmented(n).segments]
                    self.assertEqual(kinds, ["row", "shared"])
                    self.assertTrue(engine.segmented(n).segments[0].product)

    def test_interleaved_segments_against_statevector(self):
        for n in (2, 3, 4):
            qc, x, w = _reuploading(n, seed=n)
            for groups in (1, 2):
                with self.subTest(n=n, groups=groups):
                    self._compare(qc, x, w, groups, 9, force=True)
            # and the product of the segments is the circuit: check one binding exactly
            engine = StatevectorEngine(qc, parameters=x + w)
            values = np.linspace(0.1, 2.0, len(x) + len(w))
            with mock.patch.object(SegmentedProgram, "worthwhile", lambda self, r: True):
                got = engine.expectation_values_shared(
                    torch.tensor(values[: len(x)]).view(1, 1, -1),
                    torch.tensor(values[len(x) :]).view(1, -1),
                    _observables(n),
                )
            bound = qc.assign_parameters(dict(zip(x + w, values, strict=True)), strict=False)
            state = Statevector(bound)
            want = [state.expectation_value(o).real for o in _observables(n)]
            np.testing.assert_allclose(got.reshape(-1).numpy(), want, atol=1e-12)

    def test_real_circuits_run_in_real_arithmetic(self):
        x, w = ParameterVector("x", 3), ParameterVector("w", 7)
        qc = QuantumCircuit(3)
        qc.h(2)
        for q in range(3):
            qc.ry(np.pi * x[q], q)
        qc.cx(0, 1)
        qc.cry(w[0], 1, 2)
        qc.cz(0, 2)
        qc.x(1)
        for q in range(3):
            qc.ry(w[1 + q] + x[q], q)
        qc.swap(0, 2)
        for q in range(3):
            qc.ry(w[4 + q], q)
        for groups in (1, 2):
            engine = self._compare(qc, list(x), list(w), groups, 50, force=True)
            self.assertTrue(engine.segmented(3).real)
        engine = self._compare(qc, list(x), list(w), 2, 50, True, torch.float32, 2e-6)
        self.assertEqual(engine.segmented(3).dtype, torch.float32)
        qc.rx(w[0], 0)  # one complex gate: complex arithmetic again
        self.assertFalse(StatevectorEngine(qc, parameters=list(x) + list(w)).segmented(3).real)

    def test_fallback_path_and_float32(self):
        qc, x, w = _reuploading(3, seed=1)
        self._compare(qc, x, w, 2, 5, force=False)
        x5, w5 = ParameterVector("x", 4), ParameterVector("w", 36)
        qc5 = strongly_entangling_circuit(4, 3, input_params=x5, weight_params=w5)
        self._compare(qc5, list(x5), list(w5), 2, 300, True, torch.float32, 2e-5)

    def test_split_only_moves_gates_past_disjoint_gates(self):
        qc, x, w = _reuploading(4, seed=0)
        engine = StatevectorEngine(qc, parameters=x + w)
        program = engine.segmented(len(x))
        self.assertGreater(len(program.segments), 2)
        for kind, items in split_items(flatten_circuit(qc).items, frozenset(x)):
            self.assertIn(kind, ("row", "shared"))
            self.assertTrue(items)

    def test_second_order_and_torch_func(self):
        x, w = ParameterVector("x", 3), ParameterVector("w", 27)
        qc = strongly_entangling_circuit(3, 3, input_params=x, weight_params=w)
        engine = StatevectorEngine(qc, parameters=list(x) + list(w))
        obs = _observables(3)
        weights = torch.rand(1, 27, dtype=torch.float64)
        inputs = torch.rand(64, 1, 3, dtype=torch.float64)

        def shared(xs):
            with mock.patch.object(SegmentedProgram, "worthwhile", lambda self, r: True):
                return engine.expectation_values_shared(xs, weights, obs).sum()

        def plain(xs):
            values = torch.cat([xs, weights.expand(xs.shape[0], -1, -1)], -1)
            return engine.expectation_values(values, obs).sum()

        hess = torch.autograd.functional.hessian(shared, inputs[:4])
        ref = torch.autograd.functional.hessian(plain, inputs[:4])
        torch.testing.assert_close(hess, ref, atol=1e-9, rtol=0)
        jac = torch.func.jacrev(shared)(inputs)
        ref = torch.func.jacrev(plain)(inputs)
        torch.testing.assert_close(jac, ref, atol=1e-10, rtol=0)

    def test_errors_name_the_argument(self):
        x, w = ParameterVector("x", 2), ParameterVector("w", 6)
        qc = strongly_entangling_circuit(2, 1, input_params=x, weight_params=w)
        engine = StatevectorEngine(qc, parameters=list(x) + list(w))
        with self.assertRaisesRegex(QDeepValueError, "groups"):
            engine.expectation_values_shared(torch.rand(4, 2, 2), torch.rand(3, 6), ["ZI"])
        with self.assertRaisesRegex(QDeepValueError, "inputs"):
            engine.expectation_values_shared(torch.rand(4, 1, 3), torch.rand(1, 6), ["ZI"])
        bad = torch.rand(1, 6)
        bad[0, 2] = float("nan")
        with self.assertRaisesRegex(QDeepValueError, "weights"):
            engine.expectation_values_shared(torch.rand(4, 1, 2), bad, ["ZI"])


class TestLayersUseSharedWeights(QDeepTestCase):
    """The backprop layers give the same values and gradients through the shared path."""

    def _check(self, layer, inputs, reference):
        inputs = inputs.clone().requires_grad_(True)
        out = layer(inputs)
        probe = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=out.dtype)
        grads = torch.autograd.grad((out * probe).sum(), (inputs, layer.weight))
        ref_out = reference(inputs)
        ref = torch.autograd.grad((ref_out * probe).sum(), (inputs, layer.weight))
        torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
        for got, want in zip(grads, ref, strict=True):
            torch.testing.assert_close(got, want, atol=1e-9, rtol=0)

    def test_quantum_layer(self):
        x, w = ParameterVector("x", 3), ParameterVector("w", 27)
        qc = strongly_entangling_circuit(3, 3, input_params=x, weight_params=w)
        layer = QuantumLayer(qc, ["IIZ", "IYI", "XII"], x, w, seed=1).double()
        runner = layer.executor
        inputs = torch.rand(500, 3, dtype=torch.float64)

        def reference(xs):
            values = torch.cat([xs, layer.weight.expand(xs.shape[0], -1)], 1)
            return runner.evaluate(values)

        self._check(layer, inputs, reference)

    def test_parallel_layer(self):
        layer = ParallelQuantumLayer(12, num_qubits=3, reps=2, seed=2).double()
        runner = layer.executor
        inputs = torch.rand(300, 12, dtype=torch.float64)

        def reference(xs):
            chunks = xs.reshape(-1, 3)
            values = torch.cat([chunks, layer.weight.repeat(xs.shape[0], 1)], 1)
            return runner.evaluate(values).reshape(xs.shape[0], 12)

        self._check(layer, inputs, reference)

    def test_quanv(self):
        layer = Quanv2d(1, 2, num_filters=3, seed=4).double()
        runner = layer.executor
        images = torch.rand(6, 1, 8, 8, dtype=torch.float64)
        with torch.no_grad():
            out = layer(images)
        # reference: every patch and filter as its own row of the plain evaluation
        patches = torch.nn.functional.unfold(images, 2, stride=layer.stride).transpose(1, 2)
        rows = patches.reshape(-1, 4)
        f = layer.num_filters
        values = torch.cat(
            [rows.repeat_interleave(f, 0), layer.weight.detach().repeat(rows.shape[0], 1)], 1
        )
        with torch.no_grad():
            ref = runner.evaluate(values)
        num_out = layer.outputs_per_filter
        ref = ref.reshape(6, patches.shape[1], f, num_out).permute(0, 2, 3, 1)
        torch.testing.assert_close(out.reshape(ref.shape), ref, atol=1e-10, rtol=0)


class TestSplitMixKernel(QDeepTestCase):
    """The large-state single-qubit kernel (no broadcast intermediate) equals the broadcast one."""

    def test_forced_split_kernel_matches(self):
        from qiskit_qdeep.primitives.statevector import gates

        qc, x, w = _reuploading(4, seed=3)
        engine = StatevectorEngine(qc, parameters=x + w)
        values = torch.rand(33, len(x) + len(w), dtype=torch.float64, requires_grad=True)
        obs = _observables(4)
        results = []
        for limit in (1 << 62, 1):  # never / always split
            with mock.patch.object(gates, "_SPLIT_MIX_MIN", limit):
                out = engine.expectation_values(values, obs)
                (grad,) = torch.autograd.grad(out.sum(), values)
                with torch.no_grad():
                    state = engine.statevector(values.detach())
            results.append((out.detach(), grad, state))
        for got, want in zip(results[1], results[0], strict=True):
            torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
        bound = qc.assign_parameters(
            dict(zip(x + w, values[0].detach().tolist(), strict=True)), strict=False
        )
        np.testing.assert_allclose(
            results[1][2][0].numpy(), Statevector(bound).data, atol=1e-12, rtol=0
        )
