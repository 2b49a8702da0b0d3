# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
# ruff: noqa: E501  (notebook source lines)
"""Tutorial 05 (q-means and deep clustering): ``build()``; run the file to write and execute it."""

from __future__ import annotations

import os
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "05_qmeans_and_deep_clustering.ipynb"

sys.path.insert(0, HERE)
from _build_notebooks import IBM_CELL  # noqa: E402


def build() -> nbformat.NotebookNode:
    """The notebook (not executed)."""
    cells = [
        new_markdown_cell(
            "# 05 · q-means and quantum deep clustering\n\n"
            "`QMeans` runs Lloyd's k-means iterations whose **assignment step is quantum**:\n\n"
            "* `method='distance'` (q-means / δ-k-means): the squared distance "
            "$d^2(x,c) = \\|x\\|^2 + \\|c\\|^2 - 2\\|x\\|\\|c\\|\\langle\\hat x|\\hat c\\rangle$ "
            "with the inner product from a Hadamard test on RY-tree amplitude encodings. The tree "
            "angles are circuit parameters, so *all point–centroid pairs of an iteration are one "
            "primitive call*.\n"
            "* `method='adiabatic'` (Lloyd, Mohseni, Rebentrost): a cluster register evolves "
            "adiabatically from the uniform superposition into the ground state of the diagonal "
            "distance Hamiltonian and is measured.\n\n"
            "`QuantumDeepClustering` then uses q-means pseudo-labels to train a CNN with a quantum "
            "classifier head (DeepCluster)."
        ),
        new_code_cell(
            "import matplotlib.pyplot as plt\nimport numpy as np\nimport torch\n"
            "from qiskit.quantum_info import Statevector\n"
            "from sklearn.cluster import KMeans, kmeans_plusplus\n"
            "from sklearn.datasets import load_digits, load_iris, make_blobs\n"
            "from sklearn.metrics import adjusted_rand_score\n\n"
            "from qiskit_qdeep.circuit.library import amplitude_encoding_angles, "
            "hadamard_overlap_circuit\n"
            "from qiskit_qdeep.clustering import (ClassicalDeepClustering, QMeans, "
            "QuantumDeepClustering,\n"
            "                                     adiabatic_success_curve, "
            "plot_adiabatic_success, plot_deep_clustering)\n"
            "torch.set_num_threads(1)"
        ),
        new_markdown_cell(
            "## The distance circuit\n\n"
            "Ancilla `H`, then $x$ is loaded on the ancilla's $|0\\rangle$ branch and $c$ on its "
            "$|1\\rangle$ branch (each RY-tree level is a uniformly controlled rotation with the "
            "ancilla as one more control: only `ry` and `cx`), then `H`: "
            "$P(0) = (1 + \\langle\\hat x|\\hat c\\rangle)/2$, sign included."
        ),
        new_code_cell(
            "circuit = hadamard_overlap_circuit(2)\nprint(circuit.draw(fold=120))\n"
            "rng = np.random.default_rng(0)\nx, c = rng.normal(size=(2, 4))\n"
            "xs = sorted((p for p in circuit.parameters if p.name[0] == 'x'), key=lambda p: p.index)\n"
            "cs = sorted((p for p in circuit.parameters if p.name[0] == 'y'), key=lambda p: p.index)\n"
            "bound = circuit.assign_parameters(dict(zip(xs, amplitude_encoding_angles(x)))\n"
            "                                  | dict(zip(cs, amplitude_encoding_angles(c))))\n"
            "p0 = Statevector(bound.remove_final_measurements(inplace=False)).probabilities([0])[0]\n"
            "print('circuit 2 P(0) - 1 :', round(2 * p0 - 1, 10))\n"
            "print('numpy  <x^|c^>     :', round(x @ c / np.linalg.norm(x) / np.linalg.norm(c), 10))"
        ),
        new_markdown_cell(
            "## q-means on iris against KMeans with the same k-means++ start\n\n"
            "Without a sampler and shots the circuits are simulated exactly, and q-means follows "
            "KMeans step for step. With shots the distances are estimates; the ARI stays close."
        ),
        new_code_cell(
            "iris = load_iris()\nX, y = iris.data, iris.target\n"
            "init, _ = kmeans_plusplus(X, 3, random_state=0)\n"
            "km = KMeans(3, init=init, n_init=1).fit(X)\n"
            "for shots in (None, 100, 1000):\n"
            "    q = QMeans(3, init=init, shots=shots, random_state=0).fit(X)\n"
            "    print(f'shots={shots}: ARI vs truth {adjusted_rand_score(y, q.labels_):.3f} '\n"
            "          f'(KMeans {adjusted_rand_score(y, km.labels_):.3f}), ARI vs KMeans '\n"
            "          f'{adjusted_rand_score(km.labels_, q.labels_):.3f}, {q.n_iter_} iterations, '\n"
            "          f'{q.fit_num_jobs_} batched executions')"
        ),
        new_markdown_cell(
            "## On an IBM backend\n\n"
            "The same estimator takes any V2 sampler and a pass manager. Locally this is "
            "`FakeManilaV2` (5 qubits, with its noise model); set `USE_IBM_QUANTUM = True` for "
            "hardware. Four features need 2 data qubits plus the ancilla."
        ),
        new_code_cell(IBM_CELL.format(kind="sampler", cls="Sampler", var="sampler")),
        new_code_cell(
            "Xb, yb = make_blobs(24, n_features=4, centers=3, random_state=1)\n"
            "init_b, _ = kmeans_plusplus(Xb, 3, random_state=0)\n"
            "km_b = KMeans(3, init=init_b, n_init=1).fit(Xb)\n"
            "q_hw = QMeans(3, init=init_b, sampler=sampler, pass_manager=pass_manager, shots=400,\n"
            "              random_state=0).fit(Xb)\n"
            "print('ARI vs KMeans:', adjusted_rand_score(km_b.labels_, q_hw.labels_),\n"
            "      '| sampler jobs:', q_hw.fit_num_jobs_)"
        ),
        new_markdown_cell(
            "## Adiabatic assignment\n\n"
            "$H(s) = (1-s)(I - |\\phi\\rangle\\langle\\phi|) + s\\,\\mathrm{diag}(d_j^2/\\max d^2)$, "
            "Trotterized with `PauliEvolutionGate`s. A slow evolution ends in the nearest centroid; "
            "a fast one leaves the register spread over the clusters."
        ),
        new_code_cell(
            "Xa, ya = make_blobs(60, n_features=4, centers=3, random_state=1)\n"
            "init_a, _ = kmeans_plusplus(Xa, 3, random_state=0)\n"
            "km_a = KMeans(3, init=init_a, n_init=1).fit(Xa)\n"
            "curve = adiabatic_success_curve(Xa, km_a.cluster_centers_, [0.5, 2, 5, 20, 50])\n"
            "plot_adiabatic_success(curve, label='blobs, k=3')\nplt.show()\n"
            "qa = QMeans(3, init=init_a, method='adiabatic', evolution_time=50, trotter_steps=100,\n"
            "            random_state=0).fit(Xa)\n"
            "print('adiabatic q-means ARI vs KMeans:', adjusted_rand_score(km_a.labels_, qa.labels_),\n"
            "      '| mean P(nearest):', round(qa.success_probability_, 4))"
        ),
        new_markdown_cell(
            "## Quantum deep clustering\n\n"
            "Each epoch: CNN features → PCA whitening + L2 normalisation → q-means pseudo-labels → "
            "a new output layer → 50 warm-up steps that train the head alone on the fixed features "
            "→ one epoch of cross-entropy training with class-balanced sampling. "
            "The quantum head (`Linear → ParallelQuantumLayer → Linear`) learns its circuit weights "
            "in the warm-up and keeps them fixed during back-propagation into the CNN, as in the "
            "paper. The baseline uses the same CNN, budget and warm-up with KMeans and a linear "
            "head."
        ),
        new_code_cell(
            "digits = load_digits()\nimages, labels = digits.images[:300] / 16.0, digits.target[:300]\n"
            "histories = {}\n"
            "for name, cls in (('quantum', QuantumDeepClustering), ('classical', "
            "ClassicalDeepClustering)):\n"
            "    model = cls(10, epochs=2, random_state=0, progress=False).fit(images, labels)\n"
            "    histories[name] = model.history_\n"
            "    print(name, 'NMI per epoch:', np.round(model.history_.nmi, 3))\n"
            "plot_deep_clustering(histories, 'nmi')\nplt.show()"
        ),
        new_markdown_cell(
            "Two epochs on 300 images with one seed say little about which pipeline is better: "
            "the NMI moves by several points from one seed or epoch to the next. "
            "`python -m qiskit_qdeep.cli reproduce qmeans deep-clustering` runs the full "
            "experiments (ARI vs shots and δ, adiabatic success vs time, 10 epochs on digits and "
            "MNIST over several seeds)."
        ),
    ]
    return new_notebook(cells=cells)


if __name__ == "__main__":
    from _build_notebooks import main

    main([NAME])
