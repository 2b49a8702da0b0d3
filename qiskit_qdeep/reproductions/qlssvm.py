# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Quantum LS-SVM on handwritten '6' vs '9' (Li, Liu, Xu, Du 2015) and the HHL textbook system.

Li et al. classified printed/handwritten characters '6' and '9' on a 4-qubit NMR processor with a
quantum LS-SVM trained on **two** samples (one per class), each described by **two** features
that are pixel ratios; all their test characters were classified correctly.

Here the characters are scikit-learn's 8x8 digits (all 181 sixes and 180 nines). Features of an
image with pixel intensities :math:`p`:

* :math:`f_1 = \sum_\text{left half} p / \sum_\text{right half} p` (columns 0-3 vs 4-7),
* :math:`f_2 = \sum_\text{upper half} p / \sum_\text{lower half} p` (rows 0-3 vs 4-7),

and the feature vector is normalised to unit length (the paper encodes it as a qubit state).
A '6' has more ink below, a '9' above, so :math:`f_2` separates them. The two training samples
are the features of the class-mean images of 6 and 9. The model is
:class:`~qiskit_qdeep.svm.QLSSVM` with the normalised linear kernel, trained by HHL and evaluated by
the Hadamard test, compared with a classical LS-SVM (numpy solve of the same system).
"""

from __future__ import annotations

import numpy as np

from ..linear_solvers import HHL
from ..svm import QLSSVM
from ._common import Comparison, ReproductionConfig, ReproductionResult, output_path, register
from ._plotting import figures_enabled, format_value, new_figure, quick_title, save_figure

#: Test accuracy of Li et al.: every test character classified correctly.
PAPER_ACCURACY = 1.0

#: The HHL textbook system (Qiskit textbook / Harrow et al. example).
TEXTBOOK_MATRIX = np.array([[1.0, -1.0 / 3.0], [-1.0 / 3.0, 1.0]])
TEXTBOOK_VECTOR = np.array([1.0, 0.0])
TEXTBOOK_SOLUTION = np.array([9.0 / 8.0, 3.0 / 8.0])


def ratio_features(images: np.ndarray, normalise: bool = True) -> np.ndarray:
    """The two pixel-ratio features of Li et al. for images ``(n, h, w)``.

    Args:
        images: Non-negative images with ink in every half.
        normalise: Scale every feature vector to unit length.

    Returns:
        Array ``(n, 2)``: left/right and upper/lower ink ratios.
    """
    images = np.asarray(images, dtype=float)
    h, w = images.shape[-2:]
    left = images[..., :, : w // 2].sum(axis=(-1, -2))
    right = images[..., :, w // 2 :].sum(axis=(-1, -2))
    upper = images[..., : h // 2, :].sum(axis=(-1, -2))
    lower = images[..., h // 2 :, :].sum(axis=(-1, -2))
    features = np.stack([left / right, upper / lower], axis=-1)
    if normalise:
        features = features / np.linalg.norm(features, axis=-1, keepdims=True)
    return features


def _classical_lssvm(x_train, labels, x_test, gamma):
    """Reference LS-SVM with the same normalised linear kernel (numpy solve)."""
    trace = np.trace(x_train @ x_train.T)
    m = len(x_train)
    f = np.zeros((m + 1, m + 1))
    f[0, 1:] = f[1:, 0] = 1.0
    f[1:, 1:] = x_train @ x_train.T / trace + np.eye(m) / gamma
    sol = np.linalg.solve(f, np.concatenate([[0.0], labels]))
    return sol, sol[0] + x_test @ x_train.T / trace @ sol[1:]


def _plot(raw, labels, predictions, model, train_raw, path, accuracy, paper, quick):
    """Decision regions of the QLSSVM in the raw ratio plane, test and training points."""
    from matplotlib.patches import Patch

    figure, ax = new_figure((5.5, 4.5))
    lo, hi = raw.min(axis=0) * 0.9, raw.max(axis=0) * 1.1
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    grid = grid / np.linalg.norm(grid, axis=1, keepdims=True)
    decision = model.decision_function(grid).reshape(gx.shape)
    # a positive decision means classes_[1] = 9: each region in the light shade of its digit
    region = {6: "#c6dbef", 9: "#fde0c5"}
    ax.contourf(
        gx, gy, decision, levels=[-np.inf, 0, np.inf], colors=[region[6], region[9]], alpha=0.6
    )
    ax.contour(gx, gy, decision, levels=[0], colors="k", linewidths=1)
    for digit, color in ((6, "tab:blue"), (9, "tab:orange")):
        mask = labels == digit
        ax.scatter(raw[mask, 0], raw[mask, 1], s=10, c=color, label=f"test '{digit}'", alpha=0.7)
    wrong = predictions != labels
    if np.any(wrong):
        ax.scatter(
            raw[wrong, 0],
            raw[wrong, 1],
            s=40,
            facecolors="none",
            edgecolors="r",
            label=f"misclassified ({int(wrong.sum())})",
        )
    ax.scatter(
        train_raw[:, 0],
        train_raw[:, 1],
        s=150,
        marker="*",
        c=["tab:blue", "tab:orange"],
        edgecolors="k",
        label="training (class means)",
    )
    handles, names = ax.get_legend_handles_labels()
    handles += [Patch(color=region[d], alpha=0.6) for d in (6, 9)]
    names += ["predicted '6'", "predicted '9'"]
    ax.set_xlabel("left / right ink ratio")
    ax.set_ylabel("upper / lower ink ratio")
    ax.set_title(
        quick_title(
            "QLSSVM (HHL + Hadamard test): 6 vs 9\n"
            f"test accuracy {format_value(accuracy)} (paper: {format_value(paper)})",
            quick,
        ),
        fontsize=10,
    )
    ax.legend(
        handles, names, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0
    )
    return save_figure(figure, path)


@register(
    "qlssvm-6vs9",
    "Quantum LS-SVM (HHL + Hadamard test) on '6' vs '9' with 2 training samples, 2 ratio features",
    "Li et al. 2015, PRL 114, 140504 (arXiv:1410.1054); Rebentrost et al. 2014",
)
def qlssvm_6vs9(config: ReproductionConfig) -> ReproductionResult:
    """Train on the class-mean 6 and 9, test on all sklearn 6s and 9s; HHL textbook fidelity.

    Exact simulation for the main numbers, plus a sampled run (default sampler, ``shots`` per
    binding: 8192, ``--quick`` 1024) of both HHL and the Hadamard test.
    """
    from sklearn.datasets import load_digits

    shots = 1024 if config.quick else 8192
    gamma = 1.0
    digits = load_digits()
    mask = (digits.target == 6) | (digits.target == 9)
    images, labels = digits.images[mask], digits.target[mask]
    means = np.stack([digits.images[digits.target == d].mean(axis=0) for d in (6, 9)])
    x_train = ratio_features(means)
    y_train = np.array([6, 9])
    x_test = ratio_features(images)
    model = QLSSVM(gamma=gamma, random_state=config.seed).fit(x_train, y_train)
    predictions = model.predict(x_test)
    accuracy = float(np.mean(predictions == labels))
    sol, classical_decision = _classical_lssvm(
        x_train, np.where(y_train == 9, 1.0, -1.0), x_test, gamma
    )
    classical = np.where(classical_decision > 0, 9, 6)
    classical_accuracy = float(np.mean(classical == labels))
    agreement = float(np.mean(classical == predictions))
    sampled = QLSSVM(gamma=gamma, shots=shots, random_state=config.seed).fit(x_train, y_train)
    sampled_predictions = sampled.predict(x_test)
    sampled_accuracy = float(np.mean(sampled_predictions == labels))

    textbook = HHL().solve(TEXTBOOK_MATRIX, TEXTBOOK_VECTOR)
    textbook_sampled = HHL(shots=shots * 8, seed=config.seed).solve(
        TEXTBOOK_MATRIX, TEXTBOOK_VECTOR
    )
    lssvm_fidelity = model.hhl_result_.fidelity(sol)

    result = ReproductionResult("qlssvm-6vs9")
    result.comparisons = [
        Comparison("QLSSVM test accuracy (exact simulation)", accuracy, paper=PAPER_ACCURACY),
        Comparison(f"QLSSVM test accuracy ({shots} shots)", sampled_accuracy, paper=PAPER_ACCURACY),
        Comparison("classical LS-SVM test accuracy", classical_accuracy),
        Comparison("agreement QLSSVM vs classical LS-SVM", agreement),
        Comparison("HHL fidelity, LS-SVM system", lssvm_fidelity, unit=""),
        Comparison(
            "HHL fidelity, textbook system (exact)", textbook.fidelity(TEXTBOOK_SOLUTION), unit=""
        ),
        Comparison(
            f"HHL fidelity, textbook system ({shots * 8} shots)",
            textbook_sampled.fidelity(TEXTBOOK_SOLUTION),
            unit="",
        ),
        Comparison(
            "HHL norm estimate / exact norm, textbook system",
            textbook.euclidean_norm / float(np.linalg.norm(TEXTBOOK_SOLUTION)),
            unit="",
        ),
    ]
    result.details = {
        "features": "unit-normalised (left/right, upper/lower) ink ratios of 8x8 digits",
        "training": "features of the class-mean images of 6 and 9",
        "num_test": int(len(labels)),
        "gamma": gamma,
        "shots": shots,
        "alpha": model.alpha_,
        "bias": model.bias_,
        "classical_alpha": sol[1:],
        "classical_bias": float(sol[0]),
        "hhl_num_qubits": model.hhl_result_.num_qubits,
        "hhl_clock_qubits": model.hhl_result_.num_clock_qubits,
        "hhl_success_probability": model.hhl_result_.success_probability,
        "hadamard_test_qubits": model.num_test_qubits_,
        "sampled_jobs": {"fit": sampled.fit_num_jobs_, "predict": sampled.predict_num_jobs},
        "textbook_solution": textbook.solution,
        "textbook_norm": textbook.euclidean_norm,
    }
    if figures_enabled("qlssvm-6vs9"):
        result.figures = [
            _plot(
                ratio_features(images, normalise=False),
                labels,
                predictions,
                model,
                ratio_features(means, normalise=False),
                output_path(config, "qlssvm-6vs9.png"),
                accuracy,
                PAPER_ACCURACY,
                f"{shots} shots (the figure is exact)" if config.quick else None,
            )
        ]
    return result
