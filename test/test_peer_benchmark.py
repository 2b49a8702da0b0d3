# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The peer benchmark (``qiskit_qdeep.benchmarks.peers``) without the peers installed.

The qiskit-qdeep side of every workload is checked against qiskit's ``Statevector`` (outputs and
exact parameter-shift gradients) and against numbers PennyLane computed once, so the conventions
the peers must follow (qubit order, ``Rot`` angles, the CNOT ring, the quanvolution's pixel order)
stay checked when PennyLane is absent. The harness's checks (agreement, missing peers, time and
memory limits) and a ``--quick`` qiskit-qdeep-only run are tested as well.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from unittest import mock

import numpy as np
import torch
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_qdeep.benchmarks import peers
from qiskit_qdeep.circuit.library import quanv_kernel_circuit, strongly_entangling_circuit
from qiskit_qdeep.exceptions import QDeepValueError, QiskitQDeepError
from test import QDeepTestCase

#: One small case per workload (the benchmark's circuits at a size a test affords).
SMALL_CASES = {
    "hqnn": peers.Case("block", "hqnn", 5, 2),
    "parallel": peers.Case("parallel", "parallel", 5, 2, reps=1, blocks=2),
    "quanv": peers.Case("quanv", "quanv", 4, 1, image_size=4),
    "scaling": peers.Case("block", "scaling", 4, 2, observable="Z"),
}


def _inputs(case: peers.Case) -> np.ndarray:
    """Fixed inputs of a small case (no random generator, so the stored numbers stay valid)."""
    if case.kind == "quanv":
        side = case.image_size
        pixels = np.arange(case.batch * side * side).reshape(case.batch, 1, side, side)
        return pixels * 0.37 % 1.0
    rows, cols = np.arange(case.batch)[:, None], np.arange(case.num_features)[None, :]
    return (0.1 + 0.17 * rows + 0.13 * cols) % 1.0


def _weights(case: peers.Case) -> np.ndarray:
    size = int(np.prod(case.weight_shape()))
    return ((0.05 + 0.31 * np.arange(size)) % (2 * np.pi)).reshape(case.weight_shape())


#: PennyLane default.qubit (backprop, float64) on the small cases of ``_small_case``, computed once
#: with pennylane 0.45.1 (lightning.qubit adjoint agreed to 2e-15); rounded to 12 decimals.
PENNYLANE_REFERENCE = {
    "hqnn": {
        "outputs": [
            [
                -0.062111866169,
                -0.012828841488,
                0.12869190579,
                0.097807475146,
                0.003401681682,
            ],
            [
                -0.057826354736,
                -0.040945840089,
                0.113465890104,
                0.076072189341,
                0.044879298072,
            ],
        ],
        "input_grad": [
            [
                0.317232515464,
                -0.058481249658,
                -0.099163658942,
                0.201079062367,
                -0.484160359213,
            ],
            [
                0.369252442163,
                -0.026155972323,
                -0.17070309222,
                0.230452429348,
                -0.487098793562,
            ],
        ],
        "weight_grad": [
            -0.050920078741,
            -0.212450395228,
            -0.293534667458,
            0.135462719687,
            0.163831235759,
            0.418233266089,
            -0.04840555643,
            -0.221519466802,
            -0.11669630868,
            0.024700328311,
            0.088272472996,
            -0.028268075544,
            0.293219473289,
            0.283776159389,
            0.628791171521,
            -0.790799837949,
            -0.590875485265,
            -0.03065705748,
            0.119711553272,
            0.346879567254,
            0.14532136576,
            0.060249114496,
            0.929851985761,
            -0.408257576303,
            0.494690144372,
            -0.001079937467,
            0.034265764662,
            -0.402498350386,
            0.433756504071,
            0.608774015749,
            0.448513223116,
            -1.382364417255,
            -0.438075020389,
            1.084616652645,
            0.744336913439,
            -0.937986014318,
            0.62207392461,
            0.646180121119,
            0.401591955686,
            -0.365699655233,
            0.693674486242,
            -0.372302068589,
            0.25546121337,
            -0.455521082345,
            0.305015499655,
        ],
    },
    "parallel": {
        "outputs": [
            [
                -0.186755320618,
                -0.472883176042,
                0.004967652566,
                0.015236226409,
                -0.029155371543,
                0.016869747305,
                0.091411961183,
                0.016906714903,
                0.072976023342,
                -0.000954352695,
            ],
            [
                -0.231522826225,
                -0.372444987946,
                -0.001650519282,
                -0.014425372002,
                -0.000832764751,
                0.002148205078,
                0.008035065272,
                0.026504491651,
                0.151567624198,
                0.000335729594,
            ],
        ],
        "input_grad": [
            [
                -0.131481480476,
                -0.207600783487,
                0.314450223126,
                0.153659459684,
                0.094664123306,
                0.364945892485,
                -0.082576241074,
                0.195615992672,
                0.163166711241,
                -0.057450262237,
            ],
            [
                -0.111153316261,
                -0.153397498633,
                0.419121081447,
                0.160485050682,
                0.026725034704,
                0.257552136383,
                0.247331279584,
                -0.082154123841,
                -0.090521068417,
                -0.250957464265,
            ],
        ],
        "weight_grad": [
            [
                -0.105625397098,
                -0.609021551854,
                -0.024009611001,
                -0.140252093198,
                -0.536224008377,
                -0.184339166317,
                -0.483338852752,
                1.033248209268,
                -0.284273535708,
                -0.006285976099,
                0.099237067542,
                0.003779361072,
                -0.218206920386,
                0.132788099121,
                -0.069894610711,
            ],
            [
                0.028399140946,
                -0.622805233285,
                0.028346398508,
                0.145095715613,
                0.21742689188,
                0.262429219226,
                -0.006439577488,
                0.040885473408,
                -0.064241907466,
                0.06181491451,
                0.162776346891,
                0.226232524866,
                0.15576370687,
                -0.463430357166,
                -0.020871818836,
            ],
        ],
    },
    "quanv": {
        "outputs": [
            [
                [
                    [0.998750260395, -0.720124846722],
                    [-0.997138867175, -0.627484671088],
                ],
                [
                    [0.0483276697, -0.548186889186],
                    [-0.172697478315, -0.524897926684],
                ],
                [
                    [-0.02757306408, -0.114085151422],
                    [0.079978461746, -0.172723746319],
                ],
                [
                    [0.024080898002, 0.108714674748],
                    [-0.074180926639, 0.156731270857],
                ],
            ],
        ],
        "input_grad": None,
        "weight_grad": [
            [-2.817472367733, 0.849467930497, 0.077202568773, 0.123642406833],
        ],
    },
    "scaling": {
        "outputs": [
            [-0.108212720566, -0.324049159954, 0.262481105076, 0.010543364316],
            [0.032452772095, -0.324072863266, 0.282613585812, -0.022122402237],
        ],
        "input_grad": [
            [-0.431973378322, 0.288565487045, 0.175462158316, 0.78678533163],
            [-0.332638870521, 0.226335941417, 0.146862696544, 0.636924993807],
        ],
        "weight_grad": [
            -0.303529539003,
            -1.665550059032,
            -0.043743085234,
            -0.084880312642,
            0.287855363776,
            -0.499328907815,
            -0.117245866707,
            0.384497351332,
            -0.02550969135,
            0.374870225819,
            -0.122995384794,
            -0.387713921723,
            -0.656065797193,
            -0.069352343584,
            0.516213415,
            -0.151189677001,
            0.139730870085,
            -0.117346708566,
            0.303939210625,
            -0.347226993334,
            0.763774305897,
            -0.569790437733,
            1.530464857576,
            -0.257042151915,
            0.777635816711,
            1.158037264924,
            -0.0,
            -0.640967049206,
            -1.525432884906,
            0.0,
            -0.174665788297,
            1.272102116139,
            0.0,
            0.521650124069,
            0.23932989278,
            -0.0,
        ],
    },
}


def _expectations(circuit, params, values, observable: str) -> np.ndarray:
    state = Statevector(circuit.assign_parameters(dict(zip(params, values, strict=True))))
    m = circuit.num_qubits
    labels = ["I" * (m - 1 - q) + observable + "I" * q for q in range(m)]
    return np.array([state.expectation_value(SparsePauliOp(label)).real for label in labels])


def _with_shift_gradient(circuit, params, values, observable, wrt):
    """Outputs and the exact parameter-shift gradient of their sum (each parameter used once)."""
    values = np.asarray(values, dtype=float)
    outputs = _expectations(circuit, params, values, observable)
    grad = np.zeros(len(wrt))
    for k, index in enumerate(wrt):
        plus, minus = values.copy(), values.copy()
        plus[index] += np.pi / 2
        minus[index] -= np.pi / 2
        grad[k] = (
            _expectations(circuit, params, plus, observable).sum()
            - _expectations(circuit, params, minus, observable).sum()
        ) / 2
    return outputs, grad


def statevector_reference(case: peers.Case, inputs: np.ndarray, weights: np.ndarray) -> dict:
    """Outputs and gradients of ``outputs.sum()`` from qiskit's Statevector."""
    if case.kind == "quanv":
        x, w = ParameterVector("x", 4), ParameterVector("w", 4)
        circuit = quanv_kernel_circuit(4, ansatz="hqnn", input_params=x, weight_params=w)
        batch, side = inputs.shape[0], inputs.shape[-1]
        h_out = (side - 2) // 2 + 1
        outputs = np.zeros((batch, 4, h_out, h_out))
        weight_grad = np.zeros(4)
        for b in range(batch):
            for i in range(h_out):
                for j in range(h_out):
                    patch = inputs[b, 0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].reshape(-1)
                    values = [*patch, *weights[0]]  # the circuit applies RY(pi * x)
                    out, grad = _with_shift_gradient(circuit, [*x, *w], values, "Z", range(4, 8))
                    outputs[b, :, i, j] = out
                    weight_grad += grad
        return {"outputs": outputs, "input_grad": None, "weight_grad": weight_grad[None]}
    n = case.num_qubits
    x, w = ParameterVector("x", n), ParameterVector("w", 3 * n * case.reps)
    circuit = strongly_entangling_circuit(n, case.reps, input_params=x, weight_params=w)
    blocks = weights.reshape(case.blocks, -1)
    outputs = np.zeros((case.batch, case.num_features))
    input_grad = np.zeros_like(outputs)
    weight_grad = np.zeros_like(blocks)
    for b in range(case.batch):
        for i in range(case.blocks):
            values = [*inputs[b, i * n : (i + 1) * n], *blocks[i]]
            out, grad = _with_shift_gradient(
                circuit, [*x, *w], values, case.observable, range(len(values))
            )
            outputs[b, i * n : (i + 1) * n] = out
            input_grad[b, i * n : (i + 1) * n] = grad[:n]
            weight_grad[i] += grad[n:]
    return {
        "outputs": outputs,
        "input_grad": input_grad,
        "weight_grad": weight_grad.reshape(weights.shape),
    }


def _evaluate(name: str, case: peers.Case, builder=peers.build_model) -> peers.Evaluation:
    dtype = peers._FRAMEWORKS[name].dtype if name in peers.FRAMEWORKS else torch.float64
    inputs = torch.tensor(_inputs(case), dtype=dtype, requires_grad=case.kind != "quanv")
    return peers.evaluate(builder(name, case, _weights(case)), inputs)


class TestQdeepSide(QDeepTestCase):
    """qiskit-qdeep's model of each workload against Statevector and the stored PennyLane values."""

    def test_against_statevector_and_pennylane(self):
        for key, case in SMALL_CASES.items():
            exact = statevector_reference(case, _inputs(case), _weights(case))
            for name, tol in (("qdeep-f64", 1e-10), ("qdeep-f32", 1e-4)):
                got = _evaluate(name, case)
                for what in ("outputs", "input_grad", "weight_grad"):
                    with self.subTest(case=key, framework=name, quantity=what):
                        value = getattr(got, what)
                        if exact[what] is None:
                            self.assertIsNone(value)
                            continue
                        self.assertEqual(value.shape, exact[what].shape)
                        self.assertAllClose(value, exact[what], atol=tol)
                        stored = np.array(PENNYLANE_REFERENCE[key][what])
                        self.assertAllClose(value, stored, atol=max(tol, 1e-11))

    def test_separate_layers_equal_one_parallel_layer(self):
        case = SMALL_CASES["parallel"]
        one = _evaluate("qdeep-f64", case)
        separate = _evaluate("qdeep-f64", replace(case, kind="separate"))
        for what in ("outputs", "input_grad", "weight_grad"):
            self.assertAllClose(getattr(separate, what), getattr(one, what), atol=1e-12)

    def test_benchmark_check_passes_for_qdeep(self):
        for case in SMALL_CASES.values():
            worst = peers.check_case(case, ["qdeep-f64", "qdeep-f32"], seed=3)
            self.assertLess(worst["qdeep-f64"], 1e-12)
            self.assertLess(worst["qdeep-f32"], 1e-4)

    def test_workload_circuits(self):
        cases = [c for g in peers.workload_cases("hqnn", peers.Sizes()) for c in g]
        self.assertEqual([c.batch for c in cases], [64, 1024, 4096])
        self.assertEqual({(c.num_qubits, c.reps, c.observable) for c in cases}, {(5, 3, "Y")})
        scaling = peers.workload_cases("scaling", peers.Sizes())[0]
        self.assertEqual([c.num_qubits for c in scaling], [4, 8, 12, 16])
        self.assertEqual({(c.batch, c.observable) for c in scaling}, {(256, "Z")})
        parallel = [g[0] for g in peers.workload_cases("parallel", peers.Sizes())]
        self.assertEqual(
            [(c.kind, c.blocks, c.batch) for c in parallel],
            [
                ("parallel", 4, 1024),
                ("separate", 4, 1024),
            ],
        )
        quanv = [g[0] for g in peers.workload_cases("quanv", peers.Sizes())]
        self.assertEqual(
            [(c.batch, c.image_size, c.backward) for c in quanv],
            [
                (1000, 28, False),
                (1000, 28, True),
            ],
        )
        with self.assertRaisesRegex(QDeepValueError, "--workloads"):
            peers.workload_cases("nope", peers.Sizes())


class _Wrong:
    """Builders of wrong implementations, to check that the agreement check refuses them."""

    @staticmethod
    def reversed_qubits(name, case, weights):
        model = peers.build_model("qdeep-f64", case, weights)
        forward = model.forward
        model.forward = lambda inputs: forward(inputs).flip(-1)  # a big-endian reading
        return model

    @staticmethod
    def wrong_weight_grad(name, case, weights):
        model = peers.build_model("qdeep-f64", case, weights)
        canonical = model.canonical_grad
        model.canonical_grad = lambda: canonical() * 1.001
        return model

    @staticmethod
    def float32_noise(name, case, weights):
        return peers.build_model("qdeep-f32", case, weights)


class TestAgreementCheck(QDeepTestCase):
    """The check compares outputs and both gradients, and raises on a mismatch."""

    def _builder(self, wrong):
        def builder(name, case, weights):
            if name == "pennylane":
                return wrong(name, case, weights)
            return peers.build_model(name, case, weights)

        return builder

    def test_wrong_qubit_order_raises(self):
        case = SMALL_CASES["hqnn"]
        builder = self._builder(_Wrong.reversed_qubits)
        with self.assertRaisesRegex(peers.PeerMismatchError, "pennylane .*outputs differ"):
            peers.check_case(case, ["qdeep-f64", "pennylane"], seed=1, builder=builder)

    def test_wrong_gradient_raises(self):
        case = SMALL_CASES["scaling"]
        builder = self._builder(_Wrong.wrong_weight_grad)
        with self.assertRaisesRegex(peers.PeerMismatchError, "weight_grad differ"):
            peers.check_case(case, ["pennylane"], seed=1, builder=builder)

    def test_float32_numbers_fail_the_float64_tolerance(self):
        # the pennylane column is float64: a float32 implementation is not good enough for it
        case = SMALL_CASES["hqnn"]
        builder = self._builder(_Wrong.float32_noise)
        with self.assertRaisesRegex(peers.PeerMismatchError, "tolerance 1e-07"):
            peers.check_case(case, ["pennylane"], seed=1, builder=builder)

    def test_shapes_and_missing_gradients(self):
        ref = peers.Evaluation(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(4))
        peers.check_agreement("x", ref, ref, torch.float64)
        bad_shape = peers.Evaluation(np.zeros((3, 2)), np.zeros((2, 3)), np.zeros(4))
        with self.assertRaisesRegex(peers.PeerMismatchError, "shape"):
            peers.check_agreement("x", ref, bad_shape, torch.float64)
        no_grad = peers.Evaluation(np.zeros((2, 3)), None, np.zeros(4))
        with self.assertRaisesRegex(peers.PeerMismatchError, "input_grad"):
            peers.check_agreement("x", ref, no_grad, torch.float64)
        nan = peers.Evaluation(np.full((2, 3), np.nan), np.zeros((2, 3)), np.zeros(4))
        with self.assertRaisesRegex(peers.PeerMismatchError, "outputs differ"):
            peers.check_agreement("x", ref, nan, torch.float64)
        self.assertTrue(issubclass(peers.PeerMismatchError, QiskitQDeepError))


class TestMissingPeers(QDeepTestCase):
    """A peer that is not installed is skipped with the install command, never imported."""

    def _missing(self, *names):
        frameworks = dict(peers._FRAMEWORKS)  # pylint: disable=protected-access
        for name in names:
            frameworks[name] = replace(frameworks[name], module="qdeep_no_such_module_for_test")
        return mock.patch.object(peers, "_FRAMEWORKS", frameworks)

    def test_select_frameworks_notes_the_install_command(self):
        printed = []
        with self._missing("pennylane", "lightning"):
            available, notes = peers.select_frameworks(
                ["qdeep-f32", "pennylane", "lightning"], printer=printed.append
            )
        self.assertEqual(available, ["qdeep-f32"])
        self.assertEqual(len(notes), 2)
        self.assertEqual(printed, notes)
        for note in notes:
            self.assertIn("pip install 'qiskit-qdeep[peers]'", note)
            self.assertIn("skipped", note)
        with self.assertRaisesRegex(QDeepValueError, "--frameworks"):
            peers.select_frameworks(["pytket"])

    def test_run_skips_missing_peer_and_keeps_the_reference(self):
        with self._missing("pennylane", "torchquantum"):
            report = peers.run_benchmark(
                workloads=["hqnn"],
                frameworks=["qdeep-f32", "pennylane", "torchquantum"],
                sizes=replace(peers.QUICK_SIZES, hqnn_batches=(4,)),
                repeats=1,
                warmup=0,
                progress=None,
            )
        self.assertEqual({r["framework"] for r in report["rows"]}, {"qdeep-f64", "qdeep-f32"})
        self.assertTrue(any("torchquantum skipped" in n for n in report["notes"]))
        self.assertTrue(any("--no-deps torchquantum" in n for n in report["notes"]))
        self.assertTrue(any("qdeep-f64 added" in n for n in report["notes"]))

    def test_torchquantum_import_error_when_absent(self):
        if peers.peer_available("torchquantum"):
            self.skipTest("torchquantum is installed")
        with self.assertRaises(ImportError):
            peers.import_torchquantum()


class _SleepModel:
    """A stand-in model whose call takes ``seconds(batch)``."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.calls = []

    def step(self, inputs, backward):
        self.calls.append(inputs.shape[0])
        time.sleep(self.seconds(inputs.shape[0]))
        return inputs


class TestLimits(QDeepTestCase):
    """Time limit (predicted and measured), memory probe, option checks."""

    def _time(self, models, time_limit, repeats=3):
        case = peers.Case("block", "hqnn", 2, 64, reps=1)
        return peers.time_case(
            case,
            list(models),
            seed=0,
            repeats=repeats,
            warmup=1,
            time_limit=time_limit,
            builder=lambda name, case, weights: models[name],
        )

    def test_round_robin_median_and_ratios(self):
        fast = _SleepModel(lambda b: 0.001)
        slow = _SleepModel(lambda b: 0.004)
        results = self._time({"qdeep-f64": fast, "pennylane": slow}, time_limit=10)
        self.assertEqual(fast.calls, [4, 64, 64, 64, 64])  # probe, warmup, 3 timed
        self.assertEqual(len(results["pennylane"].times), 3)
        self.assertLess(results["qdeep-f64"].ratios["qdeep-f64"], 1.0001)
        self.assertLess(results["pennylane"].ratios["qdeep-f64"], 0.9)

    def test_predicted_over_the_limit_is_not_timed(self):
        linear = _SleepModel(lambda b: 0.004 * b)  # probe 16 ms -> 256 ms, over 2 x 0.1 s
        results = self._time({"qdeep-f64": _SleepModel(lambda b: 0), "pennylane": linear}, 0.1)
        self.assertIsNone(results["pennylane"].median)
        self.assertIn("predicts", results["pennylane"].note)
        self.assertEqual(linear.calls, [4])

    def test_measured_over_the_limit_stops(self):
        cliff = _SleepModel(lambda b: 0.15 if b == 64 else 0)
        results = self._time({"qdeep-f64": _SleepModel(lambda b: 0), "pennylane": cliff}, 0.1)
        self.assertEqual(cliff.calls, [4, 64])  # probe, then one (warmup) call over the limit
        self.assertIn("stopped after 1 call", results["pennylane"].note)
        self.assertEqual(len(results["pennylane"].times), 1)

    def test_budget_caps_the_timed_calls(self):
        slow = _SleepModel(lambda b: 0.03 if b == 64 else 0)
        case = peers.Case("block", "hqnn", 2, 64, reps=1)
        results = peers.time_case(
            case,
            ["qdeep-f64"],
            seed=0,
            repeats=9,
            warmup=1,
            time_limit=10,
            budget=0.05,
            builder=lambda name, case, weights: slow,
        )
        self.assertEqual(len(results["qdeep-f64"].times), 2)  # 60 ms > 50 ms after two
        self.assertIn("2 of 9 calls timed", results["qdeep-f64"].note)
        self.assertIsNotNone(results["qdeep-f64"].median)

    def test_probe_in_subprocess(self):
        case = peers.Case("block", "scaling", 2, 2, observable="Z")
        kwargs = {"seed": 0, "threads": 1, "time_limit": 60}
        killed = peers.probe("qdeep-f32", case, memory_limit_gb=0.001, **kwargs)
        self.assertFalse(killed.ok)
        self.assertIn("memory limit", killed.note)
        if not os.path.exists("/proc/self/statm"):
            self.skipTest("no /proc on this platform")
        # the parent grows first: the child's peak must be its own (Linux keeps ru_maxrss across
        # fork and exec, so reading it would report the parent's peak)
        ballast = np.ones(60_000_000)  # 480 MB
        parent = peers._rss_bytes(os.getpid()) / 1e6  # pylint: disable=protected-access
        done = peers.probe("qdeep-f32", case, memory_limit_gb=64, **kwargs)
        del ballast
        self.assertTrue(done.ok, done.note)
        self.assertGreater(done.peak_rss_mb, 10)
        self.assertLess(done.peak_rss_mb, parent)
        self.assertGreater(done.seconds, 0)

    def test_estimate_bytes(self):
        case = peers.Case("block", "scaling", 16, 256, observable="Z")
        gates = 16 + 3 * (3 * 16 + 16)
        self.assertEqual(peers.estimate_bytes(case, torch.float32), 256 * 2**16 * 8 * (gates + 4))
        self.assertEqual(
            peers.estimate_bytes(case, torch.float64), 2 * peers.estimate_bytes(case, torch.float32)
        )

    def test_bad_options(self):
        for kwargs, pattern in (
            ({"repeats": 0}, "--repeats"),
            ({"warmup": -1}, "--warmup"),
            ({"time_limit": 0}, "--time-limit"),
            ({"budget": 0}, "--budget"),
            ({"memory_limit_gb": -1}, "--memory-limit"),
            ({"memory_probe": "sometimes"}, "memory_probe"),
            ({"workloads": ["hqnn", "mnist"]}, "--workloads"),
        ):
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                with self.assertRaisesRegex(QDeepValueError, pattern):
                    peers.run_benchmark(progress=None, **kwargs)


class TestQuickRun(QDeepTestCase):
    """``--quick`` with qiskit-qdeep only: every workload, a table, a JSON report."""

    def test_quick_qdeep_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "peers.json")
            out = io.StringIO()
            threads, omp = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
            start = time.perf_counter()
            with contextlib.redirect_stdout(out):
                code = peers.main(
                    ["--quick", "--frameworks", "qdeep-f64", "qdeep-f32", "--repeats", "2"]
                    + ["--output", path]
                )
            elapsed = time.perf_counter() - start
            with open(path, encoding="utf-8") as handle:
                report = json.load(handle)
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 60)
        text = out.getvalue()
        self.assertIn("| workload | size | framework | dtype | median |", text)
        self.assertIn("random images", text)
        self.assertEqual(report["config"]["threads"], 1)
        # one thread while it ran, the caller's settings afterwards
        self.assertEqual(torch.get_num_threads(), threads)
        self.assertEqual(os.environ.get("OMP_NUM_THREADS"), omp)
        workloads = {r["workload"] for r in report["rows"]}
        self.assertEqual(workloads, set(peers.WORKLOADS))
        for row in report["rows"]:
            with self.subTest(workload=row["workload"], size=row["size"], fw=row["framework"]):
                self.assertEqual(len(row["times"]), 2)
                self.assertGreater(row["median"], 0)
                self.assertIn(row["dtype"], ("float32", "float64"))
                self.assertEqual(set(row["ratios"]), {"qdeep-f64", "qdeep-f32"})
        self.assertEqual(len(report["checks"]), 6)  # hqnn, parallel x2, quanv, scaling x2

    def test_module_entry_point(self):
        with mock.patch.object(sys, "argv", ["peers", "--help"]), warnings.catch_warnings():
            # runpy warns that the module is already imported (by this test file)
            warnings.simplefilter("ignore", RuntimeWarning)
            with contextlib.redirect_stdout(io.StringIO()) as out:
                with self.assertRaises(SystemExit) as ctx:
                    runpy.run_module("qiskit_qdeep.benchmarks.peers", run_name="__main__")
        self.assertEqual(ctx.exception.code, 0)
        self.assertIn("--memory-limit", out.getvalue())


class TestWithPeers(QDeepTestCase):
    """With the peers installed (not in the default suite's environment): the real checks."""

    def test_installed_peers_agree(self):
        names = [n for n in peers.FRAMEWORKS if not n.startswith("qdeep")]
        installed = [n for n in names if peers.peer_available(n)]
        if not installed:
            self.skipTest("no peer installed (pip install 'qiskit-qdeep[peers]')")
        for key, case in SMALL_CASES.items():
            with self.subTest(case=key):
                worst = peers.check_case(case, ["qdeep-f64", *installed], seed=5)
                self.assertEqual(set(worst), {"qdeep-f64", *installed})
            for name in installed:
                with self.subTest(case=key, framework=name):
                    got = _evaluate(name, case)
                    tol = 1e-4 if name == "torchquantum" else 1e-10
                    stored = PENNYLANE_REFERENCE[key]
                    self.assertAllClose(got.outputs, np.array(stored["outputs"]), atol=tol)
                    self.assertAllClose(got.weight_grad, np.array(stored["weight_grad"]), atol=tol)
