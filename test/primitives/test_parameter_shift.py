# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Parameter-shift gradients from one broadcast PUB, checked against references."""

from __future__ import annotations

import numpy as np
from ddt import ddt, idata
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_algorithms.gradients import ParamShiftEstimatorGradient, ReverseEstimatorGradient

from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.primitives import EstimatorRunner, ParameterShiftPlan, SamplerRunner
from test import QDeepTestCase

GATES_1Q = ["rx", "ry", "rz", "p", "u", "r"]
GATES_2Q = ["crx", "cry", "crz", "cp", "rxx", "ryy", "rzz", "rzx", "cu"]


def random_parameterized_circuit(num_qubits: int, depth: int, seed: int, *, shared: bool = True):
    """Random circuit whose angles are affine expressions of a few shared parameters."""
    rng = np.random.default_rng(seed)
    theta = ParameterVector("t", 3)
    qc = QuantumCircuit(num_qubits)

    def angle():
        i, j = rng.choice(3, 2, replace=False)
        if shared and rng.random() < 0.5:
            return (
                float(rng.uniform(0.5, 2)) * theta[i] + float(rng.uniform(-1, 1)) * theta[j] + 0.1
            )
        return theta[i]

    for _ in range(depth):
        qubits = rng.permutation(num_qubits)
        gate = rng.choice(GATES_1Q + GATES_2Q + ["cx", "h"])
        if gate in ("u", "cu"):
            args = [angle(), angle(), float(rng.uniform(0, 3))] + ([0.0] if gate == "cu" else [])
        elif gate == "r":
            args = [angle(), angle()]
        elif gate in ("cx", "h"):
            args = []
        else:
            args = [angle()]
        nq = 1 if gate in GATES_1Q or gate == "h" else 2
        getattr(qc, gate)(*args, *[int(q) for q in qubits[:nq]])
    for t in theta:  # make sure every parameter appears
        qc.ry(t, 0)
    return qc


def exact_evs(circuit, observables, values):
    return np.array(
        [
            [
                Statevector(circuit.assign_parameters(v)).expectation_value(o).real
                for o in observables
            ]
            for v in values
        ]
    )


@ddt
class TestParameterShift(QDeepTestCase):
    """The one-PUB parameter-shift Jacobian is exact."""

    @idata(range(6))
    def test_against_finite_differences_and_qiskit_algorithms(self, seed):
        qc = random_parameterized_circuit(3, 12, seed)
        observables = [SparsePauliOp("ZZI"), SparsePauliOp.from_list([("XYZ", 0.5), ("IIX", -1.2)])]
        estimator = StatevectorEstimator()
        runner = EstimatorRunner(qc, observables, estimator=estimator)
        values = self.rng.uniform(-np.pi, np.pi, (3, qc.num_parameters))
        evs, jac = runner.run_with_gradient(values)
        self.assertEqual(runner.num_jobs, 1)
        self.assertAllClose(evs, exact_evs(qc, observables, values), atol=1e-10)
        h = 1e-6
        fd = np.stack(
            [
                (runner.run(values + h * e) - runner.run(values - h * e)) / (2 * h)
                for e in np.eye(qc.num_parameters)
            ],
            axis=-1,
        )
        self.assertAllClose(jac, fd, atol=1e-6)
        gradient = ParamShiftEstimatorGradient(estimator)
        for k, obs in enumerate(observables):
            ref = gradient.run([qc] * len(values), [obs] * len(values), values).result().gradients
            self.assertAllClose(jac[:, k, :], np.array(ref), atol=1e-6)

    def test_reverse_gradient_reference(self):
        x = ParameterVector("x", 2)
        qc = QuantumCircuit(2)
        qc.ry(x[0], 0)
        qc.rx(x[1], 1)
        qc.cx(0, 1)
        qc.rz(x[0], 1)
        qc.ry(x[1], 0)
        obs = SparsePauliOp.from_list([("XZ", 1.0), ("YY", 0.3)])
        estimator = StatevectorEstimator()
        values = self.rng.uniform(-2, 2, (4, 2))
        _, jac = EstimatorRunner(qc, obs, estimator=estimator).run_with_gradient(values)
        ref = ReverseEstimatorGradient(estimator).run([qc] * 4, [obs] * 4, values).result()
        self.assertAllClose(jac[:, 0, :], np.array(ref.gradients), atol=1e-6)

    def test_shared_and_scaled_parameters_use_chain_rule(self):
        x = ParameterVector("x", 1)
        qc = QuantumCircuit(1)
        qc.ry(2 * x[0], 0)
        qc.rx(x[0], 0)
        runner = EstimatorRunner(qc, "Z", estimator=StatevectorEstimator())
        values = np.array([[0.3], [1.1]])
        _, jac = runner.run_with_gradient(values)
        # <Z> = cos(2x) cos(x)  ->  d/dx = -2 sin(2x) cos(x) - cos(2x) sin(x)
        t = values[:, 0]
        expected = -2 * np.sin(2 * t) * np.cos(t) - np.cos(2 * t) * np.sin(t)
        self.assertAllClose(jac[:, 0, 0], expected, atol=1e-12)

    def test_nonlinear_expression(self):
        a = ParameterVector("a", 1)
        qc = QuantumCircuit(1)
        qc.ry((a[0] * a[0]).sin(), 0)
        runner = EstimatorRunner(qc, "Z", estimator=StatevectorEstimator())
        t = np.array([[0.7]])
        evs, jac = runner.run_with_gradient(t)
        self.assertAllClose(evs[0, 0], np.cos(np.sin(0.49)), atol=1e-12)
        self.assertAllClose(jac[0, 0, 0], -np.sin(np.sin(0.49)) * np.cos(0.49) * 1.4, atol=1e-12)

    def test_wrt_subset_shifts_fewer_bindings(self):
        qc = random_parameterized_circuit(2, 6, 3, shared=False)
        plan = ParameterShiftPlan(qc)
        values = self.rng.uniform(size=(5, qc.num_parameters))
        full = plan.bindings(values)
        part = plan.bindings(values, wrt=[0])
        self.assertLess(len(part.values), len(full.values))
        runner = EstimatorRunner(qc, "ZZ", estimator=StatevectorEstimator())
        _, jac_full = runner.run_with_gradient(values)
        _, jac_part = runner.run_with_gradient(values, wrt=[0])
        self.assertAllClose(jac_part[..., 0], jac_full[..., 0], atol=1e-12)
        self.assertAllClose(jac_part[..., 1:], 0.0)

    def test_chunked_pubs_give_same_result(self):
        qc = random_parameterized_circuit(2, 8, 5)
        values = self.rng.uniform(size=(7, qc.num_parameters))
        one = EstimatorRunner(qc, "XZ", estimator=StatevectorEstimator(), max_bindings_per_pub=None)
        many = EstimatorRunner(qc, "XZ", estimator=StatevectorEstimator(), max_bindings_per_pub=10)
        a = one.run_with_gradient(values)
        b = many.run_with_gradient(values)
        self.assertAllClose(a[0], b[0], atol=1e-12)
        self.assertAllClose(a[1], b[1], atol=1e-12)
        self.assertEqual(many.num_jobs, 1)

    def test_sampler_probability_gradient(self):
        qc = random_parameterized_circuit(2, 6, 7)
        values = self.rng.uniform(-1, 1, (2, qc.num_parameters))
        runner = SamplerRunner(qc, sampler=StatevectorSampler(seed=11), shots=40_000)
        probs, jac = runner.run_with_gradient(values)
        exact = np.array([Statevector(qc.assign_parameters(v)).probabilities() for v in values])
        self.assertAllClose(probs, exact, atol=0.01)
        exact_runner = EstimatorRunner(
            qc,
            [SparsePauliOp.from_list([("II", 0.25), ("IZ", 0.25), ("ZI", 0.25), ("ZZ", 0.25)])],
            estimator=StatevectorEstimator(),
        )
        _, jac_p0 = exact_runner.run_with_gradient(values)  # P(00) = <(I+Z)(I+Z)/4>
        self.assertAllClose(jac[:, 0, :], jac_p0[:, 0, :], atol=0.03)
        self.assertAllClose(probs.sum(axis=-1), 1.0, atol=1e-12)

    def test_bad_values(self):
        qc = random_parameterized_circuit(2, 4, 1)
        runner = EstimatorRunner(qc, "ZZ", estimator=StatevectorEstimator())
        with self.assertRaisesRegex(QDeepValueError, "shape"):
            runner.run(np.zeros((2, qc.num_parameters + 1)))
        with self.assertRaisesRegex(QDeepValueError, "NaN"):
            runner.run(np.full((1, qc.num_parameters), np.nan))
        with self.assertRaisesRegex(QDeepValueError, "not among"):
            ParameterShiftPlan(qc, parameters=list(qc.parameters)[:1])
        with self.assertRaisesRegex(QDeepValueError, "qubits"):
            EstimatorRunner(qc, "ZZZ", estimator=StatevectorEstimator())
        with self.assertRaisesRegex(QDeepValueError, "shots"):
            SamplerRunner(qc, sampler=StatevectorSampler(), shots=0)
