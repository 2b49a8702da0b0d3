# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
# ruff: noqa: E501  (notebook source lines)
"""Tutorial 04 (HHL and quantum SVMs): ``build()``; run the file to write and execute it."""

from __future__ import annotations

import os
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "04_hhl_and_qsvm.ipynb"

sys.path.insert(0, HERE)
from _build_notebooks import IBM_CELL  # noqa: E402


def build() -> nbformat.NotebookNode:
    """The notebook (not executed)."""
    cells = [
        new_markdown_cell(
            "# 04 · HHL, quantum LS-SVM, all-pair voting with Grover, quantum deep SVM\n\n"
            "1. **HHL** solves the textbook system $A x = b$.\n"
            "2. **QLSSVM** trains a least-squares SVM with HHL and classifies with a Hadamard test "
            "(handwritten 6 vs 9).\n"
            "3. **Dürr-Høyer maximum finding**: a QROM loads vote counts, a comparator oracle "
            "marks counts above a threshold, Grover search moves the threshold up.\n"
            "4. **AllPairQSVM**: one QLSSVM per pair of classes, the vote decided by Dürr-Høyer.\n"
            "5. **DeepQSVM**: layers of all-pair QSVMs whose decision values feed the next layer.\n\n"
            "Everything runs on exact local simulation by default; the *Run on IBM Quantum* cell "
            "switches the sampler-based steps to a backend."
        ),
        new_code_cell(
            "import warnings\n\nwarnings.filterwarnings('ignore', message='IProgress not found')\n\n"
            "import numpy as np\nimport torch\n"
            "from sklearn.datasets import load_digits\n"
            "from sklearn.decomposition import PCA\n\n"
            "from qiskit_qdeep.algorithms import DurrHoyerMaximum, durr_hoyer_bound, find_maximum\n"
            "from qiskit_qdeep.circuit.library import maximum_finding_oracle\n"
            "from qiskit_qdeep.linear_solvers import HHL\n"
            "from qiskit_qdeep.reproductions.qlssvm import ratio_features\n"
            "from qiskit_qdeep.svm import QLSSVM, AllPairQSVM, ClassicalLSSVM, DeepQSVM\n"
            "torch.set_num_threads(1)"
        ),
        new_markdown_cell(
            "## 1 · HHL on the textbook system\n\n"
            "$A = \\begin{pmatrix}1 & -1/3\\\\ -1/3 & 1\\end{pmatrix}$, $b = (1, 0)$, "
            "$x = (9/8, 3/8)$. `HHL().solve` returns the normalised solution state's amplitudes "
            "and the norm estimate."
        ),
        new_code_cell(
            "A = np.array([[1.0, -1 / 3], [-1 / 3, 1.0]])\n"
            "b = np.array([1.0, 0.0])\n"
            "result = HHL().solve(A, b)\n"
            "exact = np.linalg.solve(A, b)\n"
            "print('HHL solution state :', np.round(result.solution, 4), ' norm', round(result.euclidean_norm, 4))\n"
            "print('numpy, normalised  :', np.round(exact / np.linalg.norm(exact), 4), ' norm', round(np.linalg.norm(exact), 4))\n"
            "print(f'fidelity {result.fidelity(exact):.6f}, {result.num_qubits} qubits, '\n"
            "      f'{result.num_clock_qubits} clock qubits')"
        ),
        new_markdown_cell(
            "## 2 · QLSSVM: 6 vs 9 (Li et al. 2015)\n\n"
            "Two features per image (left/right and upper/lower ink ratios), trained on the class-"
            "mean 6 and 9 only. `ClassicalLSSVM` solves the same LS-SVM system with numpy and "
            "returns the same normalised overlap the Hadamard test estimates."
        ),
        new_code_cell(
            "digits = load_digits()\n"
            "mask = np.isin(digits.target, [6, 9])\n"
            "images, labels = digits.images[mask], digits.target[mask]\n"
            "means = np.stack([digits.images[digits.target == d].mean(axis=0) for d in (6, 9)])\n"
            "x_train, y_train = ratio_features(means), np.array([6, 9])\n"
            "x_test = ratio_features(images)\n"
            "qlssvm = QLSSVM(gamma=1.0, random_state=0).fit(x_train, y_train)\n"
            "twin = ClassicalLSSVM(gamma=1.0).fit(x_train, y_train)\n"
            "print('alpha, bias (HHL)  :', np.round(qlssvm.alpha_, 4), round(qlssvm.bias_, 4))\n"
            "print('alpha, bias (numpy):', np.round(twin.alpha_, 4), round(twin.bias_, 4))\n"
            "print(f'test accuracy: QLSSVM {qlssvm.score(x_test, labels):.3f}, '\n"
            "      f'classical {twin.score(x_test, labels):.3f} on {len(labels)} images')"
        ),
        new_markdown_cell(
            "## Run on IBM Quantum\n\n"
            "The sampler-based steps below take any V2 sampler and a pass manager. Locally this cell "
            "uses IBM's `FakeManilaV2` (5 qubits, with noise) through the same client code."
        ),
        new_code_cell(IBM_CELL.format(kind="sampler", cls="Sampler", var="sampler")),
        new_markdown_cell(
            "The trained QLSSVM's 4-qubit Hadamard test on the backend: one sampler job for all "
            "test images (`predict_num_jobs`). The noise shrinks the overlaps; their signs mostly "
            "survive."
        ),
        new_code_cell(
            "exact_decision = qlssvm.decision_function(x_test)\n"
            "qlssvm.set_params(sampler=sampler, pass_manager=pass_manager, shots=2000)\n"
            "noisy_decision = qlssvm.decision_function(x_test)\n"
            "print('jobs:', qlssvm.predict_num_jobs)\n"
            "print(f'sign agreement with exact: {np.mean(np.sign(noisy_decision) == np.sign(exact_decision)):.3f}, '\n"
            "      f'correlation {np.corrcoef(noisy_decision, exact_decision)[0, 1]:.3f}')\n"
            "_ = qlssvm.set_params(sampler=None, pass_manager=None, shots=None)  # back to exact"
        ),
        new_markdown_cell(
            "## 3 · Dürr-Høyer maximum finding over vote counts\n\n"
            "Index $i$ carries the key $\\kappa_i = c_i 2^n + (2^n - 1 - i)$: the count, then the "
            "complemented index, so the maximum is unique and **ties go to the smallest index**. "
            "The oracle loads the counts with a parameterized QROM (one template for every vote "
            "vector), flips the phase of keys above the threshold $T$ and unloads. A Dürr-Høyer "
            "search draws Grover powers below a growing bound $m$ (BBHT), measures index and "
            "count, and moves $T$ up on every improvement."
        ),
        new_code_cell(
            "oracle = maximum_finding_oracle(num_index_qubits=2, num_count_bits=2)\n"
            "print(oracle.num_qubits, 'qubits,', oracle.num_parameters, 'parameters')\n"
            "result = find_maximum([1, 3, 0, 3], seed=7)\n"
            "print('winner', result.index, 'with', result.value, 'votes;',\n"
            "      result.num_oracle_calls, 'Grover iterations,', result.num_measurements, 'measurements')\n"
            "print('(power, measured index, measured count):', result.history[:6], '...')"
        ),
        new_markdown_cell(
            "Many vote vectors in lock-step: each round sends every table's circuit as a binding "
            "of its Grover-power template, all templates in **one** sampler job. The cost stays "
            "well below the Dürr-Høyer budget $22.5\\sqrt N + 1.4\\log_2^2 N$."
        ),
        new_code_cell(
            "rng = np.random.default_rng(0)\n"
            "for k in (3, 5):\n"
            "    tables = rng.integers(0, k, size=(16, k))\n"
            "    finder = DurrHoyerMaximum(seed=k)\n"
            "    results = finder.find_maximum_batch(tables, max_value=k - 1)\n"
            "    correct = np.mean([r.index for r in results] == tables.argmax(axis=1))\n"
            "    calls = np.mean([r.num_oracle_calls for r in results])\n"
            "    size = 2 ** (k - 1).bit_length()\n"
            "    print(f'k={k}: correct {correct:.2f}, mean Grover iterations {calls:.1f} '\n"
            "          f'(bound {durr_hoyer_bound(size):.1f}), jobs {finder.num_jobs}')"
        ),
        new_markdown_cell(
            "## 4 · AllPairQSVM on three digit classes\n\n"
            "Digits 1, 4, 7 reduced by PCA to 3 features, 5 training points per class: 3 QLSSVMs "
            "(HHL on 11 x 11 systems), then the Grover vote on the test points."
        ),
        new_code_cell(
            "def digits_split(classes, per_class=5, features=3, seed=0, max_test=40):\n"
            "    X, y = load_digits(return_X_y=True)\n"
            "    keep = np.isin(y, classes)\n"
            "    X, y = X[keep], y[keep]\n"
            "    rng = np.random.default_rng(seed)\n"
            "    train = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])\n"
            "    test = rng.permutation(np.setdiff1d(np.arange(len(y)), train))[:max_test]\n"
            "    pca = PCA(features, random_state=seed).fit(X[train])\n"
            "    a, b = pca.transform(X[train]), pca.transform(X[test])\n"
            "    mean, std = a.mean(axis=0), a.std(axis=0)\n"
            "    return (a - mean) / std, y[train], (b - mean) / std, y[test]\n\n"
            "X, y, Xt, yt = digits_split((1, 4, 7))\n"
            "allpair = AllPairQSVM(QLSSVM(gamma=2.0), voting='grover', random_state=0).fit(X, y)\n"
            "vote = allpair.vote(Xt)\n"
            "print('pairs:', allpair.pairs_)\n"
            "print(f'Grover-vote accuracy {np.mean(vote.labels == yt):.3f}; equals argmax of the votes: '\n"
            "      f'{np.mean(vote.winners == vote.votes.argmax(axis=1)):.3f}')\n"
            "print(f'vote jobs {vote.num_voting_jobs}, mean Grover iterations {vote.num_oracle_calls.mean():.1f}')\n"
            "twin = AllPairQSVM(ClassicalLSSVM(gamma=2.0), voting='classical').fit(X, y)\n"
            "print(f'classical twin accuracy {twin.score(Xt, yt):.3f}')\n"
            "print('votes of the first test points:\\n', vote.votes[:4])"
        ),
        new_markdown_cell(
            "## 5 · DeepQSVM\n\n"
            "One hidden all-pair unit, trained on the true labels with a bootstrap sample of the "
            "points and a random 3/4 of the features (here 3 of 3); its pairwise decision values "
            "(standardised) are the input of the output all-pair QSVM (`concatenate_input=True` "
            "would append the raw features too). "
            "`python -m qiskit_qdeep.cli reproduce deep-qsvm` compares the models over seeds and "
            "class sets, with their classical LS-SVM twins."
        ),
        new_code_cell(
            "deep = DeepQSVM((1,), binary_estimator=QLSSVM(gamma=2.0), concatenate_input=False,\n"
            "                voting='grover', random_state=0).fit(X, y)\n"
            "print('binary fits (HHL solves):', deep.n_binary_fits_, 'vs', len(allpair.pairs_), 'for one all-pair QSVM')\n"
            "print('output unit input width:', deep.output_.n_features_in_)\n"
            "deep_twin = DeepQSVM((1,), binary_estimator=ClassicalLSSVM(gamma=2.0), concatenate_input=False,\n"
            "                     voting='classical', random_state=0).fit(X, y)\n"
            "print(f'DeepQSVM accuracy {deep.score(Xt, yt):.3f} (classical twin {deep_twin.score(Xt, yt):.3f}), '\n"
            "      f'AllPairQSVM {np.mean(vote.labels == yt):.3f}')"
        ),
    ]
    return new_notebook(cells=cells)


if __name__ == "__main__":
    from _build_notebooks import main

    main([NAME])
