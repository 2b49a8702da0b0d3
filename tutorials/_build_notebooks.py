"""Builds and executes the tutorial notebooks (run from the repository root).

    python tutorials/_build_notebooks.py

Each notebook runs locally by default; the cell marked "Run on IBM Quantum" switches to real
hardware when ``USE_IBM_QUANTUM = True`` (it needs a saved IBM Quantum account; no token is ever
written in the notebooks).
"""

import os
import sys

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))

IBM_CELL = '''# --- Run on IBM Quantum -------------------------------------------------------------------
# Set USE_IBM_QUANTUM = True to run the primitive-based cells below on real hardware. This uses the
# account saved with QiskitRuntimeService.save_account(...) (never put a token in a notebook).
USE_IBM_QUANTUM = False

from qiskit.transpiler import generate_preset_pass_manager

if USE_IBM_QUANTUM:
    from qiskit_ibm_runtime import Batch, QiskitRuntimeService
    from qiskit_ibm_runtime.executor_{kind} import {cls}

    service = QiskitRuntimeService()
    backend = service.least_busy(operational=True, simulator=False)
    batch = Batch(backend=backend)
    {var} = {cls}(mode=batch)
else:  # local: IBM's fake backend with its noise model, same code path as hardware
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2
    from qiskit_ibm_runtime.executor_{kind} import {cls}

    backend = FakeManilaV2()
    {var} = {cls}(mode=backend)
pass_manager = generate_preset_pass_manager(backend=backend, optimization_level=1)
print("running on", backend.name)'''


def core():
    cells = [
        new_markdown_cell(
            "# 01 · The execution core and its speed-up\n\n"
            "Every algorithm of qiskit-qdeep runs its circuits through `qiskit_qdeep.primitives`: one "
            "primitive `run` per batch, with the parameter-shift Jacobian of the whole batch in the "
            "same call, or the exact torch engine for simulation-only training. This notebook wraps "
            "the HQNN-Parallel block (5 qubits, 45 weights) in a `QuantumLayer`, checks it against "
            "qiskit-machine-learning, and times both."
        ),
        new_code_cell(
            "import time\n\nimport numpy as np\nimport torch\nfrom qiskit.circuit import ParameterVector\n"
            "from qiskit_qdeep.circuit.library import strongly_entangling_circuit\n"
            "from qiskit_qdeep.nn import QuantumLayer\n\n"
            "x, w = ParameterVector('x', 5), ParameterVector('w', 45)\n"
            "circuit = strongly_entangling_circuit(5, reps=3, input_params=x, weight_params=w)\n"
            "observables = ['IIIIY', 'IIIYI', 'IIYII', 'IYIII', 'YIIII']\n"
            "print(circuit.draw(fold=120))"
        ),
        new_markdown_cell("## Exact engine (backprop)"),
        new_code_cell(
            "layer = QuantumLayer(circuit, observables, x, w, seed=0)\n"
            "inputs = torch.rand(64, 5, requires_grad=True)\n"
            "start = time.perf_counter()\n"
            "layer(inputs).sum().backward()\n"
            "print(f'backprop, batch 64: {(time.perf_counter() - start) * 1e3:.1f} ms', layer)"
        ),
        new_markdown_cell(
            "## Parameter shift on Aer: one job per batch\n\n"
            "The same layer on Aer's `EstimatorV2`: the forward values and the Jacobian with respect to "
            "inputs and weights come from `64 * (1 + 2 * 50)` bindings sent in one `run` call."
        ),
        new_code_cell(
            "from qiskit_aer.primitives import EstimatorV2 as AerEstimator\n\n"
            "shift_layer = QuantumLayer(circuit, observables, x, w, estimator=AerEstimator(),\n"
            "                           initial_weights=layer.weight.detach().numpy())\n"
            "inputs_ps = inputs.detach().clone().requires_grad_(True)\n"
            "start = time.perf_counter()\n"
            "shift_layer(inputs_ps).sum().backward()\n"
            "print(f'parameter shift on Aer, batch 64: {time.perf_counter() - start:.2f} s, '\n"
            "      f'jobs: {shift_layer.runner.num_jobs}')\n"
            "print('max |grad difference| vs backprop:', (inputs_ps.grad - inputs.grad).abs().max().item())"
        ),
        new_markdown_cell(
            "## The qiskit-machine-learning path, for comparison\n\n"
            "The same circuit wrapped in `EstimatorQNN` + `TorchConnector` (timed on 2 samples; its cost "
            "is linear in the batch)."
        ),
        new_code_cell(
            "import warnings\n"
            "from qiskit_machine_learning.connectors import TorchConnector\n"
            "from qiskit_machine_learning.neural_networks import EstimatorQNN\n\n"
            "with warnings.catch_warnings():\n"
            "    warnings.simplefilter('ignore')\n"
            "    qnn = EstimatorQNN(circuit=layer.circuit, observables=layer.observables,\n"
            "                       input_params=layer.input_params, weight_params=layer.weight_params,\n"
            "                       estimator=AerEstimator(), input_gradients=True, default_precision=0.0)\n"
            "    connector = TorchConnector(qnn, initial_weights=layer.weight.detach().numpy())\n"
            "sample = inputs[:2].detach().clone().requires_grad_(True)\n"
            "start = time.perf_counter()\n"
            "connector(sample).sum().backward()\n"
            "per_sample = (time.perf_counter() - start) / 2\n"
            "print(f'qiskit-ML: {per_sample:.2f} s per sample -> {64 * per_sample:.0f} s for batch 64')\n"
            "print('same outputs:', torch.allclose(connector(inputs[:2]).double(), layer(inputs[:2]).double(), atol=1e-5))"
        ),
        new_markdown_cell(
            "## On IBM Quantum\n\nThe layer takes any V2 estimator and a pass manager (the circuit is "
            "transpiled once to an ISA circuit, observables are laid out). Locally this cell uses a "
            "fake backend with noise through the same client code."
        ),
        new_code_cell(IBM_CELL.format(kind="estimator", cls="Estimator", var="estimator")),
        new_code_cell(
            "small_x, small_w = ParameterVector('x', 2), ParameterVector('w', 6)\n"
            "small = strongly_entangling_circuit(2, reps=1, input_params=small_x, weight_params=small_w)\n"
            "hw_layer = QuantumLayer(small, ['IY', 'YI'], small_x, small_w, estimator=estimator,\n"
            "                        pass_manager=pass_manager, seed=1)\n"
            "exact = QuantumLayer(small, ['IY', 'YI'], small_x, small_w, seed=1)\n"
            "batch_inputs = torch.rand(4, 2)\n"
            "print('device :', hw_layer(batch_inputs).detach().numpy().round(3))\n"
            "print('exact  :', exact(batch_inputs).detach().numpy().round(3))"
        ),
    ]
    return new_notebook(cells=cells)


def layers():
    cells = [
        new_markdown_cell(
            "# 02 · Quanvolution, QCCNN and HQNN-Parallel layers\n\n"
            "`Quanv2d` convolves every patch with a quantum kernel; `ParallelQuantumLayer` is "
            "HQNN-Parallel's dense layer of parallel circuits. Both send a whole batch to the engine "
            "or the primitive in one call."
        ),
        new_code_cell(
            "import matplotlib.pyplot as plt\nimport numpy as np\nimport torch\n"
            "from qiskit_qdeep.datasets import load_digits_dataset, make_tetris\n"
            "from qiskit_qdeep.models import QCCNN, QCCNNClassical\n"
            "from qiskit_qdeep.nn import ParallelQuantumLayer, Quanv2d\n"
            "from qiskit_qdeep.training import fit_classifier, evaluate_classifier\n"
            "torch.set_num_threads(1)"
        ),
        new_markdown_cell("## A quanvolution over digits (HQNN-Quanv kernel, 4 output channels)"),
        new_code_cell(
            "x_train, x_test, y_train, y_test = load_digits_dataset()\n"
            "quanv = Quanv2d(1, 2, stride=2, ansatz='hqnn', encoding='ry_pi', readout='per_qubit', seed=0)\n"
            "maps = quanv(torch.from_numpy(x_train[:1])[:, None]).detach()\n"
            "fig, axes = plt.subplots(1, 5, figsize=(10, 2))\n"
            "axes[0].imshow(x_train[0]); axes[0].set_title('input')\n"
            "for i in range(4):\n"
            "    axes[i + 1].imshow(maps[0, i]); axes[i + 1].set_title(f'<Z{i}>')\n"
            "for ax in axes: ax.axis('off')\n"
            "print(quanv.circuit.draw())"
        ),
        new_markdown_cell(
            "## The same kernel on IBM Quantum\n\n"
            "Locally this runs on IBM's fake Manila backend with its noise model, through the same "
            "client-side primitive and pass manager as real hardware; `USE_IBM_QUANTUM = True` sends "
            "it to the least busy device. All 16 patches and 4 observables are one job."
        ),
        new_code_cell(IBM_CELL.format(kind="estimator", cls="Estimator", var="estimator")),
        new_code_cell(
            "device_quanv = Quanv2d(1, 2, stride=2, ansatz='hqnn', encoding='ry_pi', readout='per_qubit', seed=0,\n"
            "                      estimator=estimator, pass_manager=pass_manager, gradient='parameter-shift')\n"
            "device_quanv.load_state_dict(quanv.state_dict())\n"
            "device_maps = device_quanv(torch.from_numpy(x_train[:1])[:, None]).detach()\n"
            "print('max |exact - device|:', round((device_maps - maps).abs().max().item(), 3),\n"
            "      ' primitive jobs:', device_quanv.runner.num_jobs)"
        ),
        new_markdown_cell("## QCCNN on Tetris (Liu et al. 2019): MSE loss, Adam 0.01, full batch"),
        new_code_cell(
            "images, targets = make_tetris(1000, labels=('S', 'T'), seed=0)\n"
            "x = torch.from_numpy(images[:, None]); y = torch.from_numpy(targets)\n"
            "split = 800\n"
            "results = {}\n"
            "for name, model in (('QCCNN 1-layer', QCCNN(1, 2, seed=0)), ('CNN 1-layer', QCCNNClassical(1, 2, seed=0))):\n"
            "    history = fit_classifier(model, x[:split], y[:split], epochs=150, batch_size=split, lr=0.01,\n"
            "                             loss='mse', eval_data=(x[split:], y[split:]), progress=False)\n"
            "    results[name] = history.test_accuracy\n"
            "    print(name, 'test accuracy', history.test_accuracy[-1])\n"
            "for name, acc in results.items():\n"
            "    plt.plot(acc, label=name)\n"
            "plt.xlabel('iteration'); plt.ylabel('test accuracy'); plt.legend();"
        ),
        new_markdown_cell("## ParallelQuantumLayer: 4 circuits of 5 qubits, one call"),
        new_code_cell(
            "layer = ParallelQuantumLayer(20, num_qubits=5, reps=3, seed=0)\n"
            "print(layer, tuple(layer.weight.shape))\n"
            "out = layer(torch.rand(8, 20))\n"
            "print(out.shape)"
        ),
    ]
    return new_notebook(cells=cells)


def qucnn():
    cells = [
        new_markdown_cell(
            "# 03 · QuCNN: SWAP-test convolution with ancilla-based backpropagation\n\n"
            "Each 2x2 or 4x4 patch is amplitude-encoded and compared with learned filter states by a "
            "SWAP test: the output is |<f|x>|^2 = 2 P(ancilla = 0) - 1. All (patch, filter) pairs of a "
            "batch are one sampler job."
        ),
        new_code_cell(
            "import numpy as np\nimport torch\nimport matplotlib.pyplot as plt\n"
            "from qiskit_qdeep.datasets import load_digits_dataset\n"
            "from qiskit_qdeep.nn import SwapTestConv2d, ancilla_gradient_error_curve, plot_ancilla_gradient_error_curve\n"
            "torch.set_num_threads(1)\n"
            "x_train, x_test, y_train, y_test = load_digits_dataset()"
        ),
        new_markdown_cell("## Exact engine vs 4,000 shots on a sampler"),
        new_code_cell(
            "exact = SwapTestConv2d(2, 2, num_layers=2, seed=0)\n"
            "sampled = SwapTestConv2d(2, 2, num_layers=2, shots=4000, seed=0,\n"
            "                         initial_weights=exact.weight.detach().numpy())\n"
            "image = torch.from_numpy(x_train[:1])[:, None]\n"
            "a, b = exact(image).detach(), sampled(image).detach()\n"
            "print('max |exact - sampled|:', (a - b).abs().max().item(), ' sampler jobs:', sampled.runner.num_jobs)\n"
            "fig, axes = plt.subplots(1, 3, figsize=(8, 2.5))\n"
            "for ax, m, t in zip(axes, (image[0, 0], a[0, 0], b[0, 0]), ('input', 'exact', '4000 shots')):\n"
            "    ax.imshow(m); ax.set_title(t); ax.axis('off')"
        ),
        new_markdown_cell(
            "## The same filters on IBM Quantum\n\n"
            "The SWAP-test circuit has 5 qubits (2 data, 2 filter, 1 ancilla). Locally it runs on the "
            "fake Manila backend with its noise model; `USE_IBM_QUANTUM = True` sends the same job to "
            "the least busy device."
        ),
        new_code_cell(IBM_CELL.format(kind="sampler", cls="Sampler", var="sampler")),
        new_code_cell(
            "device = SwapTestConv2d(2, 2, num_layers=2, shots=4000, seed=0, sampler=sampler,\n"
            "                        pass_manager=pass_manager, initial_weights=exact.weight.detach().numpy())\n"
            "c = device(image).detach()\n"
            "print('max |exact - device|:', round((a - c).abs().max().item(), 3), ' sampler jobs:', device.runner.num_jobs)"
        ),
        new_markdown_cell(
            "## The ancilla routine: dL/dtheta from the device\n\n"
            "A second ancilla, rotated by an angle set from the upstream gradient and entangled with "
            "the SWAP-test ancilla, makes the measured expectation carry dL/d(output); the shift "
            "difference is dL/dtheta. Its error falls like 1/sqrt(shots) (paper Fig. 4):"
        ),
        new_code_cell(
            "curve = ancilla_gradient_error_curve([100, 1000, 10000], repeats=4, seed=0)\n"
            "plot_ancilla_gradient_error_curve(curve, 'qucnn_ancilla_gradient.png')\n"
            "from IPython.display import Image\nImage('qucnn_ancilla_gradient.png')"
        ),
        new_markdown_cell("## Training a small QuCNN network on digits (exact backprop)"),
        new_code_cell(
            "from qiskit_qdeep.training import fit_classifier\n"
            "model = torch.nn.Sequential(SwapTestConv2d(2, 4, stride=2, num_layers=2, seed=0),\n"
            "                            torch.nn.Flatten(), torch.nn.Linear(4 * 16, 10))\n"
            "history = fit_classifier(model, x_train[:, None], y_train, epochs=5, batch_size=32, lr=0.02,\n"
            "                         eval_data=(x_test[:, None], y_test), progress=False)\n"
            "print('test accuracy per epoch:', np.round(history.test_accuracy, 3))"
        ),
    ]
    return new_notebook(cells=cells)


def _external(module):
    """Builder of a notebook whose cells live in ``tutorials/<module>.py`` (its ``build()``)."""

    def build():
        import importlib

        if HERE not in sys.path:
            sys.path.insert(0, HERE)
        return importlib.import_module(module).build()

    return build


NOTEBOOKS = {
    "01_execution_core.ipynb": core,
    "02_quantum_layers.ipynb": layers,
    "03_qucnn.ipynb": qucnn,
    "04_hhl_and_qsvm.ipynb": _external("_nb_qsvm"),
    "05_qmeans_and_deep_clustering.ipynb": _external("_nb_clustering"),
}


def main(names=None):
    # the kernel is a subprocess: make the package importable there without an install too
    root = os.path.dirname(HERE)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    for name, build in NOTEBOOKS.items():
        if names and name not in names:
            continue
        notebook = build()
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": HERE}}).execute()
        nbformat.write(notebook, os.path.join(HERE, name))
        print("executed", name, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
