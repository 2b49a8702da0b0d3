# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Reproduction ``deep-qsvm``: all-pair QSVM (Grover and classical vote) vs quantum deep SVM.

Digits (scikit-learn) of four classes (four class sets, eight seeds each), PCA to 3 features
fitted on the training points and standardised, 7 training points per class (a pair's QLSSVM
solves a 15 x 15 system with HHL), 200 test points. The deep model has one hidden layer of three
all-pair units; the summary also gives the paired difference deep - all-pair over all runs. The
paper reports no numbers for this experiment; the comparison is against the exact classical twins
(:class:`~qiskit_qdeep.svm.ClassicalLSSVM`, same systems solved with numpy, argmax vote).
"""

from __future__ import annotations

import numpy as np

from ..svm import QLSSVM, AllPairQSVM, ClassicalLSSVM, DeepQSVM
from ._common import (
    Comparison,
    ReproductionConfig,
    ReproductionResult,
    mean_std,
    output_path,
    register,
)
from ._plotting import figures_enabled, new_figure, quick_title, save_figure

PAPER = "Bishwas, Mani, Palade: quantum deep SVM (section 4) and all-pair QSVM (arXiv:1704.07664)"
GAMMA = 2.0


def _split(classes, per_class, features, seed, max_test):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    X, y = load_digits(return_X_y=True)
    mask = np.isin(y, classes)
    X, y = X[mask], y[mask]
    rng = np.random.default_rng(seed)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes]
    )
    test = rng.permutation(np.setdiff1d(np.arange(len(y)), train))[:max_test]
    pca = PCA(features, random_state=seed).fit(X[train])
    a, b = pca.transform(X[train]), pca.transform(X[test])
    mean, std = a.mean(axis=0), a.std(axis=0)
    return (a - mean) / std, y[train], (b - mean) / std, y[test]


def _models(hidden, seed):
    return {
        "AllPairQSVM (Grover vote)": AllPairQSVM(QLSSVM(GAMMA), voting="grover", random_state=seed),
        "DeepQSVM (Grover vote)": DeepQSVM(
            hidden, binary_estimator=QLSSVM(GAMMA), voting="grover", random_state=seed
        ),
        "classical all-pair LS-SVM": AllPairQSVM(
            ClassicalLSSVM(GAMMA), voting="classical", random_state=seed
        ),
        "classical deep LS-SVM": DeepQSVM(
            hidden, binary_estimator=ClassicalLSSVM(GAMMA), voting="classical", random_state=seed
        ),
    }


def _plot(summary: dict, accuracies: dict, path: str, title: str, quick: str | None) -> str:
    """Mean test accuracy per class set (bars, in %) and the paired deep - all-pair differences."""
    from matplotlib.lines import Line2D

    names = list(next(iter(summary.values())).keys())
    figure, (ax, diff_ax) = new_figure((12, 4.2), 1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    width = 0.8 / len(names)
    lowest = 100.0
    for j, name in enumerate(names):
        means = np.array([100 * summary[s][name][0] for s in summary])
        stds = np.array([100 * summary[s][name][1] for s in summary])
        lowest = min(lowest, float(np.min(means - stds)))
        ax.bar(np.arange(len(summary)) + j * width, means, width, yerr=stds, capsize=2, label=name)
    ax.set_xticks(np.arange(len(summary)) + 0.4 - width / 2)
    ax.set_xticklabels(list(summary))
    ax.set_xlabel("digit classes")
    # start the axis below the lowest bar (minus its std), in steps of 10 points
    ax.set_ylim(max(0.0, 10.0 * np.floor(lowest / 10.0 - 0.5)), 100.0)
    runs = len(next(iter(accuracies.values()))[names[0]])
    ax.set_ylabel("test accuracy (%)" + (f", mean ± std of {runs} seeds" if runs > 1 else ""))
    ax.set_title(quick_title(title, quick), fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    # paired differences: the seed-to-seed spread above is shared by both models
    rng = np.random.default_rng(0)
    pairs = (
        (
            -0.15,
            "DeepQSVM (Grover vote)",
            "AllPairQSVM (Grover vote)",
            "tab:orange",
            "quantum: DeepQSVM - AllPairQSVM (Grover vote)",
        ),
        (
            0.15,
            "classical deep LS-SVM",
            "classical all-pair LS-SVM",
            "tab:red",
            "classical: deep - all-pair LS-SVM",
        ),
    )
    for i, label in enumerate(summary):
        acc = accuracies[label]
        for offset, deep, single, color, _ in pairs:
            diff = 100 * np.subtract(acc[deep], acc[single])
            jitter = rng.uniform(-0.06, 0.06, diff.size)
            diff_ax.scatter(i + offset + jitter, diff, s=12, color=color, alpha=0.7)
            diff_ax.plot([i + offset - 0.1, i + offset + 0.1], [diff.mean()] * 2, color="k")
    diff_ax.axhline(0.0, color="grey", lw=0.8)
    diff_ax.set_xticks(np.arange(len(summary)))
    diff_ax.set_xticklabels(list(summary), fontsize=8)
    diff_ax.set_xlabel("digit classes")
    diff_ax.set_ylabel("deep - all-pair, same seed (percentage points)")
    diff_ax.set_title("Paired differences per seed", fontsize=10)
    handles = [
        Line2D([], [], ls="", marker="o", color=color, label=text) for *_, color, text in pairs
    ]
    handles.append(Line2D([], [], color="k", label="mean over seeds"))
    diff_ax.legend(
        handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1
    )
    return save_figure(figure, path)


@register(
    "deep-qsvm",
    "All-pair QSVM (HHL QLSSVMs, Dürr-Høyer Grover vote) vs quantum deep SVM on digits-PCA, "
    "with the classical LS-SVM twins",
    PAPER,
)
def deep_qsvm(config: ReproductionConfig) -> ReproductionResult:
    """Mean test accuracy over seeds of the all-pair and deep QSVMs and their classical twins."""
    from scipy.stats import binomtest

    from .._progress import tqdm

    if config.quick:
        class_sets, seeds, per_class, hidden, max_test = [(1, 4, 7)], [config.seed], 5, (1,), 30
    else:
        class_sets = [(1, 4, 7, 9), (2, 3, 5, 8), (0, 1, 2, 3), (3, 5, 8, 9)]
        seeds = [config.seed + i for i in range(8)]
        per_class, hidden, max_test = 7, (3,), 200
    draw = figures_enabled("deep-qsvm")
    accuracies: dict[str, dict[str, list[float]]] = {}
    extras: dict[str, dict[str, list[float]]] = {}
    runs = [(classes, seed) for classes in class_sets for seed in seeds]
    for classes, seed in tqdm(runs, desc="deep-qsvm", disable=not config.progress):
        label = "{" + ",".join(map(str, classes)) + "}"
        acc = accuracies.setdefault(label, {})
        extra = extras.setdefault(label, {})
        X, y, Xt, yt = _split(classes, per_class, 3, seed, max_test)
        votes = {}
        for name, model in _models(hidden, seed).items():
            model.fit(X, y)
            vote = model.vote(Xt)
            votes[name] = vote
            acc.setdefault(name, []).append(float(np.mean(vote.labels == yt)))
            if vote.searches is not None:
                extra.setdefault(f"{name}: mean Grover iterations", []).append(
                    float(vote.num_oracle_calls.mean())
                )
                extra.setdefault(f"{name}: vote jobs", []).append(vote.num_voting_jobs)
        grover = votes["AllPairQSVM (Grover vote)"]
        classical = votes["classical all-pair LS-SVM"]
        # the same QLSSVM votes decided by argmax (voting="classical" gives exactly this)
        argmax = np.unique(y)[np.argmax(grover.votes, axis=1)]
        acc.setdefault("AllPairQSVM (classical vote)", []).append(float(np.mean(argmax == yt)))
        extra.setdefault("Grover vote == argmax of the same votes", []).append(
            float(np.mean(grover.labels == argmax))
        )
        extra.setdefault("QLSSVM vs classical pairwise sign agreement", []).append(
            float(np.mean(np.sign(grover.decisions) == np.sign(classical.decisions)))
        )
    result = ReproductionResult("deep-qsvm")
    summary = {}
    for label, acc in accuracies.items():
        summary[label] = {name: mean_std(values) for name, values in acc.items()}
        for name, (mean, std) in summary[label].items():
            result.comparisons.append(Comparison(f"{label} {name}", mean, std))
        for name, values in extras[label].items():
            mean, std = mean_std(values)
            unit = "%" if "==" in name or "agreement" in name else ""
            result.comparisons.append(Comparison(f"{label} {name}", mean, std, unit=unit))
    paired = {}
    for kind, deep, single in (
        ("quantum", "DeepQSVM (Grover vote)", "AllPairQSVM (Grover vote)"),
        ("classical", "classical deep LS-SVM", "classical all-pair LS-SVM"),
    ):
        diff = np.concatenate(
            [np.subtract(accuracies[label][deep], accuracies[label][single]) for label in summary]
        )
        mean, std = mean_std(diff)
        result.comparisons.append(Comparison(f"all runs: {deep} - {single} (paired)", mean, std))
        wins, losses = int(np.sum(diff > 0)), int(np.sum(diff < 0))
        paired[kind] = {
            "mean_difference": mean,
            "wins": wins,
            "ties": int(np.sum(diff == 0)),
            "losses": losses,
            "runs": int(diff.size),
            # two-sided sign test of wins vs losses (ties dropped)
            "sign_test_p": float(binomtest(wins, wins + losses).pvalue) if wins + losses else 1.0,
        }
    num_pairs = {
        label: len(label.split(",")) * (len(label.split(",")) - 1) // 2 for label in summary
    }
    result.details = {
        "features": "PCA(3) of the 8x8 digits fitted on the training points, standardised",
        "training_points_per_class": per_class,
        "test_points": max_test,
        "seeds": seeds,
        "gamma": GAMMA,
        "hidden_layers": list(hidden),
        "binary_fits": {
            label: {"all-pair": p, "deep": (sum(hidden) + 1) * p} for label, p in num_pairs.items()
        },
        "deep_minus_all_pair": paired,
        "accuracies": accuracies,
        "extras": extras,
    }
    if draw:
        quick = f"{len(seeds)} seed, {max_test} test points" if config.quick else None
        title = f"Digits (PCA 3, {per_class} training points per class)"
        path = output_path(config, "deep-qsvm.png")
        result.figures = [_plot(summary, accuracies, path, title, quick)]
    return result
