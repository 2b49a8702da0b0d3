# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Every observable form a Qiskit V2 estimator accepts, through every entry point of the package.

One coercion (:func:`qiskit_qdeep.primitives.observables.as_sparse_pauli_ops`) serves the
runners, the layers, the exact runners, the torch estimator and the engine. Each form (with
coefficients other than 1 and multi-term sums) is checked against a dense reference built here
and against Qiskit's ``StatevectorEstimator`` wherever Qiskit accepts the form; bad observables
raise qiskit-qdeep errors naming the observable, before any job runs.
"""

from __future__ import annotations

import time
from functools import reduce

import numpy as np
import torch
from ddt import data, ddt
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.primitives import StatevectorEstimator
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.quantum_info import (
    Operator,
    Pauli,
    PauliList,
    SparseObservable,
    SparsePauliOp,
    Statevector,
)

from qiskit_qdeep.exceptions import QDeepTypeError, QDeepValueError, QiskitQDeepError
from qiskit_qdeep.nn import QuantumLayer
from qiskit_qdeep.primitives import (
    EstimatorRunner,
    RetryPolicy,
    StatevectorEngine,
    TorchStatevectorEstimator,
)
from qiskit_qdeep.primitives import runners as runners_module
from qiskit_qdeep.primitives.exact import ExactEstimatorRunner
from qiskit_qdeep.primitives.observables import as_sparse_pauli_ops
from test import QDeepTestCase

# ----- an independent dense reference (one-qubit letters, rightmost character on qubit 0)
_S = 1 / np.sqrt(2)
_LETTERS = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
    "0": np.diag([1.0, 0.0]),
    "1": np.diag([0.0, 1.0]),
    "+": np.outer([_S, _S], [_S, _S]),
    "-": np.outer([_S, -_S], [_S, -_S]),
    "r": np.outer([_S, 1j * _S], np.conj([_S, 1j * _S])),
    "l": np.outer([_S, -1j * _S], np.conj([_S, -1j * _S])),
}


def dense(terms: dict[str, complex]) -> np.ndarray:
    """The matrix of ``{label: coefficient}`` (Qiskit order: label[0] is the last qubit)."""
    return sum(
        coeff * reduce(np.kron, [_LETTERS[ch] for ch in label]) for label, coeff in terms.items()
    )


def circuit_3q():
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    qc = QuantumCircuit(3)
    qc.ry(a, 0)
    qc.rx(b, 1)
    qc.h(2)
    qc.cx(0, 1)
    qc.crz(c, 1, 2)
    qc.ry(0.4, 2)
    qc.sx(0)
    return qc


VALUES = np.array([[0.3, -1.1, 0.7], [2.0, 0.4, -0.9]])

#: (name, observable form, its terms as {label: coefficient}, accepted by Qiskit's estimator)
FORMS = [
    ("label", "ZIX", {"ZIX": 1.0}, True),
    ("minus-is-a-projector", "-ZI", {"-ZI": 1.0}, False),  # as in Qiskit, not a sign
    ("pauli", Pauli("XYZ"), {"XYZ": 1.0}, True),
    ("phased-pauli", Pauli("-XYZ"), {"XYZ": -1.0}, True),
    (
        "sparse-pauli-op",
        SparsePauliOp(["ZII", "IXY", "ZZZ"], [2.0, -0.5, 1.25]),
        {"ZII": 2.0, "IXY": -0.5, "ZZZ": 1.25},
        True,
    ),
    (
        "sparse-pauli-op-cancelling-imaginary",
        SparsePauliOp(["XIZ", "XIZ", "IYI"], [1.5 + 2j, 1.5 - 2j, -0.75]),
        {"XIZ": 3.0, "IYI": -0.75},
        True,
    ),
    ("dict", {"ZII": 2.0}, {"ZII": 2.0}, True),
    (
        "dict-sum",
        {"ZII": 2.0, "IXX": -0.5, "YIY": 0.25},
        {"ZII": 2.0, "IXX": -0.5, "YIY": 0.25},
        True,
    ),
    ("dict-pauli-keys", {Pauli("ZIZ"): 1.5, Pauli("-IXI"): 2.0}, {"ZIZ": 1.5, "IXI": -2.0}, True),
    (
        "sparse-observable",
        SparseObservable.from_list([("ZXI", 1.5), ("IIY", -0.25)]),
        {"ZXI": 1.5, "IIY": -0.25},
        True,
    ),
    (
        "sparse-observable-sparse-list",
        SparseObservable.from_sparse_list([("ZX", (2, 0), 0.75), ("Y", (1,), 2.0)], 3),
        {"ZIX": 0.75, "IYI": 2.0},
        True,
    ),
    (
        "sparse-observable-projectors",
        SparseObservable.from_list([("0+I", 2.0), ("rl1", -0.5), ("-IZ", 1.25)]),
        {"0+I": 2.0, "rl1": -0.5, "-IZ": 1.25},
        False,  # Qiskit's StatevectorEstimator raises on projector terms
    ),
    ("projector-label", "0I+", {"0I+": 1.0}, False),
    ("dict-projectors", {"01I": 3.0, "IXr": -1.5}, {"01I": 3.0, "IXr": -1.5}, False),
    (
        "operator",
        Operator(SparsePauliOp(["XXI", "IIZ"], [0.5, -2.0])),
        {"XXI": 0.5, "IIZ": -2.0},
        False,
    ),
]


def reference_evs(qc, terms, values):
    matrix = dense(terms)
    out = []
    for row in values:
        sv = Statevector(qc.assign_parameters(row)).data
        out.append(np.real(np.vdot(sv, matrix @ sv)))
    return np.array(out)


@ddt
class TestEveryForm(QDeepTestCase):
    """Each form gives the same numbers on every entry point, equal to the dense reference."""

    def setUp(self):
        super().setUp()
        self.qc = circuit_3q()

    @data(*FORMS)
    def test_form(self, case):
        name, form, terms, qiskit_accepts = case
        expected = reference_evs(self.qc, terms, VALUES)
        ops = as_sparse_pauli_ops(form, 3)
        self.assertEqual(len(ops), 1, name)
        self.assertTrue(np.all(ops[0].coeffs.imag == 0), name)
        self.assertAllClose(ops[0].to_matrix(), dense(terms), atol=1e-12, msg=name)
        # the primitive runner (default torch estimator) and the exact runner
        runner = EstimatorRunner(self.qc, form)
        self.assertAllClose(runner.run(VALUES)[:, 0], expected, atol=1e-12, msg=name)
        exact = ExactEstimatorRunner(self.qc, form)
        self.assertAllClose(exact.run(VALUES)[:, 0], expected, atol=1e-12, msg=name)
        # the engine, with the form in a list
        engine = StatevectorEngine(self.qc)
        evs = engine.expectation_values(VALUES, [form]).numpy()[:, 0]
        self.assertAllClose(evs, expected, atol=1e-12, msg=name)
        if qiskit_accepts:
            pub = (self.qc, form, VALUES)
            theirs = StatevectorEstimator().run([pub]).result()[0].data.evs
            ours = TorchStatevectorEstimator().run([pub]).result()[0].data.evs
            self.assertEqual(ours.shape, theirs.shape)
            self.assertAllClose(ours, theirs, atol=1e-12, msg=name)
            self.assertAllClose(theirs, expected, atol=1e-12, msg=name)
            qiskit_runner = EstimatorRunner(self.qc, form, estimator=StatevectorEstimator())
            self.assertAllClose(qiskit_runner.run(VALUES)[:, 0], expected, atol=1e-12, msg=name)

    def test_torch_estimator_projectors(self):
        """The torch estimator evaluates projector terms Qiskit's estimator cannot."""
        form = SparseObservable.from_list([("0+I", 2.0), ("rl1", -0.5)])
        ours = TorchStatevectorEstimator().run([(self.qc, [form, "ZII"], VALUES[:, None])]).result()
        evs = ours[0].data.evs
        self.assertEqual(evs.shape, (2, 2))
        expected = reference_evs(self.qc, {"0+I": 2.0, "rl1": -0.5}, VALUES)
        self.assertAllClose(evs[:, 0], expected, atol=1e-12)
        self.assertAllClose(evs[:, 1], reference_evs(self.qc, {"ZII": 1.0}, VALUES), atol=1e-12)


class TestCollections(QDeepTestCase):
    """Lists, arrays, PauliList and ObservablesArray of mixed forms, flattened in C order."""

    def setUp(self):
        super().setUp()
        self.qc = circuit_3q()
        self.forms = [
            "ZII",
            {"IXI": -2.0, "ZZI": 0.5},
            SparsePauliOp(["IIY", "XII"], [3.0, 0.25]),
            SparseObservable.from_list([("1II", 1.5)]),
            Pauli("-IZI"),
        ]
        self.terms = [
            {"ZII": 1.0},
            {"IXI": -2.0, "ZZI": 0.5},
            {"IIY": 3.0, "XII": 0.25},
            {"1II": 1.5},
            {"IZI": -1.0},
        ]
        self.expected = np.stack([reference_evs(self.qc, t, VALUES) for t in self.terms], axis=1)

    def check(self, observables, expected):
        self.assertAllClose(EstimatorRunner(self.qc, observables).run(VALUES), expected, atol=1e-12)
        self.assertAllClose(
            ExactEstimatorRunner(self.qc, observables).run(VALUES), expected, atol=1e-12
        )
        engine = StatevectorEngine(self.qc)
        self.assertAllClose(engine.expectation_values(VALUES, observables), expected, atol=1e-12)

    def test_list_tuple_and_object_array(self):
        self.check(self.forms, self.expected)
        self.check(tuple(self.forms), self.expected)
        array = np.empty(len(self.forms), dtype=object)
        array[:] = self.forms
        self.check(array, self.expected)

    def test_nested_and_observables_array(self):
        nested = [self.forms[:2], self.forms[2:4]]  # flattened in C order
        self.check(nested, self.expected[:, :4])
        qiskit_forms = [f for f in self.forms if not isinstance(f, SparseObservable)]
        qiskit_expected = self.expected[:, [0, 1, 2, 4]]
        array = ObservablesArray.coerce([qiskit_forms[:2], qiskit_forms[2:]])
        self.assertEqual(array.shape, (2, 2))
        self.check(array, qiskit_expected)
        self.check(ObservablesArray.coerce({"ZII": 2.0}), 2 * self.expected[:, :1])

    def test_pauli_list_and_label_array(self):
        expected = np.stack(
            [reference_evs(self.qc, {label: 1.0}, VALUES) for label in ("XYZ", "IIZ")], axis=1
        )
        self.check(PauliList(["XYZ", "IIZ"]), expected)
        self.check(np.array(["XYZ", "IIZ"]), expected)

    def test_single_observable_is_a_list_of_one(self):
        for form in self.forms:
            self.assertEqual(len(as_sparse_pauli_ops(form, 3)), 1)
        self.assertEqual(len(as_sparse_pauli_ops(ObservablesArray.coerce("ZZZ"), 3)), 1)

    def test_runner_export_and_public_name(self):
        """``runners.as_sparse_pauli_ops`` is the shared function."""
        self.assertIs(runners_module.as_sparse_pauli_ops, as_sparse_pauli_ops)

    def test_engine_cache_sees_coefficients(self):
        """The engine's table cache is keyed by content: other coefficients, other tables."""
        engine = StatevectorEngine(self.qc)
        one = engine.expectation_values(VALUES, [{"ZII": 1.0}])
        two = engine.expectation_values(VALUES, [{"ZII": 2.0}])
        three = engine.expectation_values(VALUES, [SparseObservable.from_list([("ZII", 3.0)])])
        self.assertAllClose(two, 2 * one, atol=1e-12)
        self.assertAllClose(three, 3 * one, atol=1e-12)
        self.assertAllClose(engine.expectation_values(VALUES, [{"ZII": 1.0}]), one, atol=0)

    def test_engine_refuses_a_bare_observable(self):
        """A bare observable is refused (one output column per entry): iterating a dict's keys
        or a label's characters would silently give other numbers."""
        engine = StatevectorEngine(self.qc)
        for single in ("ZII", {"ZII": 2.0}, SparseObservable("ZII"), SparsePauliOp("ZII")):
            with self.subTest(single=repr(single)):
                with self.assertRaisesRegex(QDeepTypeError, "sequence of observables"):
                    engine.expectation_values(VALUES, single)
        self.assertEqual(tuple(engine.expectation_values(VALUES, []).shape), (2, 0))


@ddt
class TestLayers(QDeepTestCase):
    """QuantumLayer(circuit, {"ZI": 2.0}, ...) gives 2 <ZI> in both gradient modes."""

    def setUp(self):
        super().setUp()
        x, w = Parameter("x"), Parameter("w")
        qc = QuantumCircuit(2)
        qc.ry(x, 0)
        qc.ry(w, 1)
        qc.cx(0, 1)
        qc.rx(0.3 * w, 1)
        self.qc, self.x, self.w = qc, [x], [w]
        self.inputs = torch.tensor([[0.4], [-1.2], [2.1]], dtype=torch.float64)

    @data("backprop", "parameter-shift")
    def test_dict_coefficient(self, gradient):
        layers = {}
        for name, obs in (("dict", {"ZI": 2.0}), ("label", "ZI"), ("sum", {"ZI": 2.0, "IX": -1.0})):
            layer = QuantumLayer(
                self.qc, obs, self.x, self.w, gradient=gradient, initial_weights=[0.7]
            ).double()
            layers[name] = layer
        outs, grads = {}, {}
        for name, layer in layers.items():
            inputs = self.inputs.clone().requires_grad_(True)
            out = layer(inputs)
            out.sum().backward()
            outs[name], grads[name] = out.detach(), (inputs.grad, layer.weight.grad)
        self.assertEqual(tuple(outs["dict"].shape), (3, 1))
        self.assertAllClose(outs["dict"], 2 * outs["label"], atol=1e-10)
        self.assertAllClose(grads["dict"][0], 2 * grads["label"][0], atol=1e-8)
        self.assertAllClose(grads["dict"][1], 2 * grads["label"][1], atol=1e-8)
        weight = float(layers["sum"].weight.detach()[0])  # 0.7 through float32
        theta = [[weight, x] for x in self.inputs[:, 0].tolist()]  # order [w, x]
        expected = reference_evs(self.qc, {"ZI": 2.0, "IX": -1.0}, theta)
        self.assertAllClose(outs["sum"][:, 0], expected, atol=1e-10)
        self.assertEqual([p.name for p in self.qc.parameters], ["w", "x"])

    def test_runner_dict_coefficient(self):
        runner = EstimatorRunner(self.qc, {"ZI": 2.0})
        plain = EstimatorRunner(self.qc, "ZI")
        values = self.rng.uniform(-np.pi, np.pi, (4, 2))
        self.assertAllClose(runner.run(values), 2 * plain.run(values), atol=1e-12)
        evs, jac = runner.run_with_gradient(values)
        evs1, jac1 = plain.run_with_gradient(values)
        self.assertAllClose(jac, 2 * jac1, atol=1e-12)


def _bad_cases():
    nan, inf = float("nan"), float("inf")
    return [
        # (observables, error type, message regex)
        (
            SparsePauliOp("ZZ", nan),
            QDeepValueError,
            r"observables\[0\] has a non-finite coefficient",
        ),
        (
            ["ZZ", SparsePauliOp(["ZI", "IZ"], [1.0, inf])],
            QDeepValueError,
            r"observables\[1\].*non-finite",
        ),
        ({"ZZ": nan}, QDeepValueError, r"observables\[0\].*non-finite"),
        ([{"ZI": 1.0}, {"IZ": complex(1, inf)}], QDeepValueError, r"observables\[1\].*non-finite"),
        (
            SparseObservable.from_list([("0Z", nan)]),
            QDeepValueError,
            r"observables\[0\].*non-finite",
        ),
        (SparsePauliOp("ZZ", 1j), QDeepValueError, r"observables\[0\] is not Hermitian"),
        (["XX", {"ZZ": 1 + 1e-3j}], QDeepValueError, r"observables\[1\] is not Hermitian"),
        ({Pauli("iZZ"): 1.0}, QDeepValueError, r"observables\[0\] is not Hermitian"),
        (Operator(np.triu(np.ones((4, 4)))), QDeepValueError, r"observables\[0\] is not Hermitian"),
        ("ZZZ", QDeepValueError, r"observables\[0\] acts on 3 qubits but the circuit has 2"),
        ({"ZZ": 1.0, "Z": 1.0}, QDeepValueError, r"observables\[0\] has invalid labels"),
        ("QZ", QDeepValueError, r"observables\[0\] = 'QZ' is not a valid label"),
        ({}, QDeepValueError, r"observables\[0\] is an empty mapping"),
        ([], QDeepValueError, "at least one observable"),
        (3, QDeepTypeError, "observables must be"),
        (None, QDeepTypeError, "observables must be"),
        (["ZZ", 2.0], QDeepTypeError, r"observables\[1\] must be.*float"),
        (("ZZ", 2.0), QDeepTypeError, r"\(label, coefficient\) pair"),
        ([("ZZ", 2.0)], QDeepTypeError, r"observables\[0\] is a \(label, coefficient\) pair"),
        (np.eye(4), QDeepTypeError, "numeric array.*Operator"),
        ({("Z", (0,)): 1.0}, QDeepTypeError, r"observables\[0\] has a key of type tuple"),
        ({"ZZ": "2"}, QDeepTypeError, r"observables\[0\] maps 'ZZ' to '2'"),
        ({"ZZ": True}, QDeepTypeError, "coefficients must be"),
        (SparsePauliOp(["ZZ"], [Parameter("c")]), QDeepTypeError, "parameterized"),
        (b"ZZ", QDeepTypeError, "observables must be"),
    ]


class TestBadObservables(QDeepTestCase):
    """Bad observables raise qiskit-qdeep errors naming the observable, before any job."""

    def setUp(self):
        super().setUp()
        self.qc = QuantumCircuit(2)
        self.qc.ry(Parameter("a"), 0)
        self.qc.cx(0, 1)

    def test_catalogue(self):
        for observables, error, message in _bad_cases():
            with self.subTest(observables=repr(observables)):
                with self.assertRaisesRegex(error, message):
                    as_sparse_pauli_ops(observables, 2)
                with self.assertRaisesRegex(error, message):
                    EstimatorRunner(self.qc, observables)
                with self.assertRaisesRegex(error, message):
                    ExactEstimatorRunner(self.qc, observables)
                if isinstance(observables, list) and observables:
                    with self.assertRaisesRegex(error, message):
                        StatevectorEngine(self.qc).expectation_values([[0.1]], observables)

    def test_errors_are_the_package_family(self):
        for observables, error, _ in _bad_cases():
            with self.assertRaises(QiskitQDeepError):
                as_sparse_pauli_ops(observables, 2)
            self.assertTrue(issubclass(error, (TypeError, ValueError)))

    def test_nan_observable_fails_at_once(self):
        """A NaN observable fails before any job: no retry, no backoff (it used to take 7 s)."""
        calls = []

        class CountingEstimator(TorchStatevectorEstimator):
            def run(self, pubs, *, precision=None):
                calls.append(pubs)
                return super().run(pubs, precision=precision)

        start = time.perf_counter()
        with self.assertRaisesRegex(QDeepValueError, r"observables\[0\].*non-finite"):
            EstimatorRunner(
                self.qc,
                SparsePauliOp("ZZ", float("nan")),
                estimator=CountingEstimator(),
                retry=RetryPolicy(max_retries=3, backoff=1.0),
            ).run([[0.1]])
        self.assertLess(time.perf_counter() - start, 0.1)
        self.assertEqual(calls, [])

    def test_torch_estimator_names_pub_and_observable(self):
        """A PUB with a NaN observable is refused by run(), naming the PUB and the observable
        (Qiskit's own coercion calls it "non-Hermitian")."""
        estimator = TorchStatevectorEstimator()
        good = (self.qc, "ZZ", [0.1])
        bad = (self.qc, ["ZZ", SparsePauliOp("XX", float("nan"))], [0.1])
        with self.assertRaisesRegex(QDeepValueError, r"PUB 1.*observables\[1\].*non-finite"):
            estimator.run([good, bad])
        with self.assertRaisesRegex(QDeepValueError, r"PUB 0.*observables\[0\] is not Hermitian"):
            estimator.run([(self.qc, SparsePauliOp("ZZ", 1j), [0.1])])
        with self.assertRaisesRegex(QDeepValueError, r"PUB 0.*acts on 3 qubits"):
            estimator.run([(self.qc, "ZZZ", [0.1])])
        with self.assertRaises(QDeepTypeError):
            estimator.run([(self.qc, 3, [0.1])])


if __name__ == "__main__":
    import unittest

    unittest.main()
