# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Reproductions of the clustering part of the quantum deep SVM / clustering paper.

* ``qmeans``: q-means (distance estimation, exact and with shots) against scikit-learn's KMeans
  with the same k-means++ initialisation on blobs, iris and PCA-reduced digits; ARI vs shots,
  ARI vs delta; the adiabatic assignment's success probability vs evolution time.
* ``deep-clustering``: DeepCluster with q-means pseudo-labels and a quantum head against the
  classical pipeline (same CNN and budget) on sklearn digits and an MNIST subset; NMI/ARI per
  epoch, mean and std over seeds, paired differences.

The paper is theoretical (no numbers to compare with); the JSON files hold our numbers.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from ..clustering import (
    ClassicalDeepClustering,
    QMeans,
    QuantumDeepClustering,
    adiabatic_success_curve,
    plot_adiabatic_success,
    plot_deep_clustering,
)
from ..datasets import load_mnist
from ._common import (
    Comparison,
    ReproductionConfig,
    ReproductionResult,
    mean_std,
    output_path,
    register,
)
from ._plotting import figures_enabled, new_figure, quick_title, save_figure

PAPER = (
    "Quantum deep SVM and quantum deep clustering; q-means: Kerenidis et al. 2019, arXiv:1812.03584"
)


#: Iteration cap of the runs with stochastic assignments (shots, delta, tomography noise).
MAX_ITER_SAMPLED = 30


def _datasets(quick: bool, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    blobs = make_blobs(
        120 if quick else 400, n_features=4, centers=4, cluster_std=1.5, random_state=seed
    )
    iris = load_iris()
    digits = load_digits()
    n_digits = 300 if quick else len(digits.data)
    x_digits = PCA(8, random_state=seed).fit_transform(digits.data[:n_digits])
    return {
        "blobs": (blobs[0], blobs[1], 4),
        "iris": (iris.data, iris.target, 3),
        "digits-pca8": (x_digits, digits.target[:n_digits], 10),
    }


def ari_vs_shots(
    X: np.ndarray,
    y: np.ndarray,
    k: int,
    shots_list: list[int],
    seeds: list[int],
) -> dict[str, np.ndarray]:
    """ARI of q-means (distance, with shots) against the truth and against KMeans.

    For each seed the same k-means++ initial centroids go to KMeans and to QMeans (at most
    :data:`MAX_ITER_SAMPLED` iterations).

    Returns:
        ``{"shots", "ari_true", "ari_kmeans", "kmeans_ari_true"}`` with ``(len(seeds), S)``
        arrays (``kmeans_ari_true`` is ``(len(seeds),)``).
    """
    ari_true = np.zeros((len(seeds), len(shots_list)))
    ari_km = np.zeros_like(ari_true)
    km_true = np.zeros(len(seeds))
    for a, seed in enumerate(seeds):
        init, _ = kmeans_plusplus(X, k, random_state=seed)
        km = KMeans(k, init=init, n_init=1).fit(X)
        km_true[a] = adjusted_rand_score(y, km.labels_)
        for b, shots in enumerate(shots_list):
            q = QMeans(
                k, init=init, shots=int(shots), max_iter=MAX_ITER_SAMPLED, random_state=seed
            ).fit(X)
            ari_true[a, b] = adjusted_rand_score(y, q.labels_)
            ari_km[a, b] = adjusted_rand_score(km.labels_, q.labels_)
    return {
        "shots": np.asarray(shots_list),
        "ari_true": ari_true,
        "ari_kmeans": ari_km,
        "kmeans_ari_true": km_true,
    }


def ari_vs_delta(
    X: np.ndarray, y: np.ndarray, k: int, deltas: list[float], seeds: list[int]
) -> dict[str, np.ndarray]:
    """ARI of exact delta-k-means (tomography noise ``delta / 2``) against truth and KMeans."""
    ari_true = np.zeros((len(seeds), len(deltas)))
    ari_km = np.zeros_like(ari_true)
    for a, seed in enumerate(seeds):
        init, _ = kmeans_plusplus(X, k, random_state=seed)
        km = KMeans(k, init=init, n_init=1).fit(X)
        for b, delta in enumerate(deltas):
            q = QMeans(
                k, init=init, delta=float(delta), max_iter=MAX_ITER_SAMPLED, random_state=seed
            ).fit(X)
            ari_true[a, b] = adjusted_rand_score(y, q.labels_)
            ari_km[a, b] = adjusted_rand_score(km.labels_, q.labels_)
    return {"delta": np.asarray(deltas), "ari_true": ari_true, "ari_kmeans": ari_km}


def plot_ari_curve(curve: dict, x: str, path: str, title: str, quick: str | None = None) -> str:
    """Plots an :func:`ari_vs_shots` / :func:`ari_vs_delta` curve (mean and std over seeds).

    Args:
        curve: Output of :func:`ari_vs_shots` or :func:`ari_vs_delta`.
        x: ``"shots"`` or ``"delta"``: the key of the x values.
        path: File name of the PNG.
        title: Axes title.
        quick: Description of a quick smoke-test setup, added to the title.

    Returns:
        ``path``.

    Raises:
        MissingOptionalDependencyError: When matplotlib is not installed.
    """
    figure, ax = new_figure((5.5, 3.8), feature="plot_ari_curve")
    seeds = len(np.asarray(curve["ari_true"]))
    for key, label in (("ari_true", "q-means vs true labels"), ("ari_kmeans", "q-means vs KMeans")):
        values = np.asarray(curve[key])
        ax.errorbar(
            curve[x], values.mean(0), yerr=values.std(0), marker="o", capsize=3, label=label
        )
    if "kmeans_ari_true" in curve:
        ax.axhline(np.mean(curve["kmeans_ari_true"]), color="k", ls="--", label="KMeans vs true")
    if x == "shots":
        ax.set_xscale("log")
        ax.set_xlabel("shots per distance estimate")
    else:
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xlabel("delta (tomography noise delta / 2)")
    ax.set_ylabel("adjusted Rand index")
    ax.set_title(quick_title(title, quick))
    ax.grid(alpha=0.3)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize=8,
        title=f"mean ± std of {seeds} seeds" if seeds > 1 else None,
        title_fontsize=8,
    )
    return save_figure(figure, path)


@register(
    "qmeans",
    "q-means (distance estimation, delta-k-means, adiabatic assignment) vs KMeans: blobs, iris, "
    "digits-PCA; ARI vs shots and delta; adiabatic success vs time",
    PAPER,
)
def qmeans(config: ReproductionConfig) -> ReproductionResult:
    """q-means against KMeans with the same initialisation."""
    quick = config.quick
    seed = config.seed
    shots = 500 if quick else 2000
    draw = figures_enabled("qmeans")
    result = ReproductionResult("qmeans")
    details: dict = {"datasets": {}}
    for name, (X, y, k) in _datasets(quick, seed).items():
        init, _ = kmeans_plusplus(X, k, random_state=seed)
        km = KMeans(k, init=init, n_init=1).fit(X)
        row = {"n_samples": len(X), "n_features": X.shape[1], "k": k}
        row["kmeans_ari_true"] = adjusted_rand_score(y, km.labels_)
        # shot noise keeps a few boundary labels flipping: cap the iterations of sampled runs
        variants = {"exact": {}, f"shots={shots}": {"shots": shots, "max_iter": MAX_ITER_SAMPLED}}
        if name == "blobs":
            # single-shot draws keep a few labels fluctuating: cap the iterations
            variants["adiabatic exact single-shot"] = {"method": "adiabatic", "max_iter": 20}
            variants[f"adiabatic shots={shots}"] = {
                "method": "adiabatic",
                "shots": shots,
                "max_iter": MAX_ITER_SAMPLED,
            }
        for label, kwargs in variants.items():
            if quick and name == "digits-pca8" and label != "exact":
                continue
            began = time.perf_counter()
            q = QMeans(k, init=init, random_state=seed, **kwargs).fit(X)
            row[label] = {
                "ari_true": adjusted_rand_score(y, q.labels_),
                "ari_kmeans": adjusted_rand_score(km.labels_, q.labels_),
                "n_iter": q.n_iter_,
                "jobs": q.fit_num_jobs_,
                "seconds": time.perf_counter() - began,
            }
            if config.progress:
                print(f"qmeans {name} {label}: {row[label]}", flush=True)
            result.comparisons.append(
                Comparison(
                    f"{name} ARI q-means {label} (vs truth)", row[label]["ari_true"], unit=""
                )
            )
        result.comparisons.append(
            Comparison(f"{name} ARI KMeans same init (vs truth)", row["kmeans_ari_true"], unit="")
        )
        details["datasets"][name] = row
    X, y, k = _datasets(quick, seed)["iris"]
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    shots_list = [10, 50, 500] if quick else [10, 30, 100, 300, 1000, 3000]
    curve = ari_vs_shots(X, y, k, shots_list, seeds)
    details["ari_vs_shots_iris"] = curve
    note = f"{len(seeds)} seed, {len(shots_list)} shot counts" if quick else None
    if draw:
        result.figures.append(
            plot_ari_curve(
                curve,
                "shots",
                output_path(config, "qmeans_ari_vs_shots.png"),
                "q-means on iris",
                note,
            )
        )
    deltas = [0.0, 1.0, 10.0] if quick else [0.0, 0.1, 0.3, 1.0, 3.0, 10.0]
    dcurve = ari_vs_delta(X, y, k, deltas, seeds)
    details["ari_vs_delta_iris"] = dcurve
    if draw:
        result.figures.append(
            plot_ari_curve(
                dcurve,
                "delta",
                output_path(config, "qmeans_ari_vs_delta.png"),
                "delta-k-means, iris",
                f"{len(seeds)} seed, {len(deltas)} values of delta" if quick else None,
            )
        )
    Xb, _, kb = _datasets(quick, seed)["blobs"]
    kmb = KMeans(kb, init=kmeans_plusplus(Xb, kb, random_state=seed)[0], n_init=1).fit(Xb)
    times = [0.5, 5.0, 50.0] if quick else [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    adiabatic = adiabatic_success_curve(Xb, kmb.cluster_centers_, times)
    details["adiabatic_success_blobs"] = {
        "evolution_times": adiabatic.evolution_times,
        "success_probability": adiabatic.success_probability,
        "success_std": adiabatic.success_std,
        "argmax_accuracy": adiabatic.argmax_accuracy,
        "trotter_steps": adiabatic.trotter_steps,
    }
    if draw:
        figure, ax = new_figure((5.5, 3.8))
        plot_adiabatic_success(adiabatic, ax=ax, label=f"P(nearest centroid), blobs k={kb}")
        ax.set_title(
            quick_title(
                "Adiabatic cluster assignment", f"{len(times)} evolution times" if quick else None
            )
        )
        ax.set_ylabel("probability / fraction of points")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)
        path = output_path(config, "qmeans_adiabatic_success.png")
        result.figures.append(save_figure(figure, path))
    result.comparisons.append(
        Comparison(
            f"adiabatic P(nearest) at T={times[-1]:g} (blobs)",
            float(adiabatic.success_probability[-1]),
            unit="",
        )
    )
    result.details = details
    return result


def _mnist_subset(config: ReproductionConfig, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        x, y = load_mnist(config.data_dir, split="train", download=config.download, limit=count)
    except (FileNotFoundError, OSError, ValueError) as exc:
        if config.progress:
            # a missing dataset: say what is missing and name the command-line flags
            problem = getattr(exc, "problem", None) or getattr(exc, "message", None) or str(exc)
            hint = (
                " Pass --download, or --data-dir DIR for a folder that holds them."
                if getattr(exc, "problem", None)
                else ""
            )
            print(f"deep-clustering: MNIST skipped ({problem}{hint})", flush=True)
        return None
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        x = x.reshape(-1, side, side)
    return x, np.asarray(y)


#: Seeds of the full deep-clustering run per dataset (``--quick``: one).
DEEP_CLUSTERING_SEEDS = {"digits": 5, "mnist": 3}

#: Training budget shared by both deep-clustering pipelines.
DEEP_CLUSTERING_BUDGET = {"lr": 1e-3, "head_lr": 1e-2, "head_warmup_steps": 50, "batch_size": 64}


def _run_summary(runs: list[dict]) -> dict[str, float]:
    """Mean and std over seeds of the final, last-three-epoch and best NMI/ARI and the time."""
    out: dict[str, float] = {}
    for metric in ("nmi", "ari"):
        curves = [np.asarray(run[metric]) for run in runs]
        for key, values in (
            ("final", [c[-1] for c in curves]),
            ("last3", [c[-3:].mean() for c in curves]),
            ("best", [c.max() for c in curves]),
        ):
            out[f"{metric}_{key}_mean"], out[f"{metric}_{key}_std"] = mean_std(values)
    out["seconds_mean"], out["seconds_std"] = mean_std([run["seconds"] for run in runs])
    return out


def _paired(quantum: list[dict], classical: list[dict]) -> dict[str, Any]:
    """Quantum minus classical per seed (final and last-three NMI/ARI), with a paired t-test."""
    from scipy.stats import ttest_rel

    out: dict[str, Any] = {}
    for metric in ("nmi", "ari"):
        for key, pick in (("final", lambda c: c[-1]), ("last3", lambda c: np.mean(c[-3:]))):
            q = np.array([pick(run[metric]) for run in quantum])
            c = np.array([pick(run[metric]) for run in classical])
            diff = q - c
            row: dict[str, Any] = {"per_seed": diff, "mean": float(diff.mean())}
            if len(diff) > 1:
                row["std"] = float(diff.std(ddof=1))
                row["t_test_p"] = float(ttest_rel(q, c).pvalue)
                row["quantum_wins"] = int((diff > 0).sum())
            out[f"{metric}_{key}"] = row
    return out


def _plot_deep_clustering(histories: dict, path: str, title: str, quick: str | None) -> str:
    """NMI and ARI against the epoch (epoch 0: the untrained network), one legend outside."""
    figure, axes = new_figure((10, 3.8), 1, 2)
    from matplotlib.ticker import MaxNLocator

    # one seed: its own curve, not "mean of 1"
    histories = {k: runs[0] if len(runs) == 1 else runs for k, runs in histories.items()}
    for ax, metric in zip(axes, ("nmi", "ari")):
        plot_deep_clustering(histories, metric, ax=ax)
        ax.get_legend().remove()
        epochs = max(len(line.get_xdata()) for line in ax.lines)
        if epochs <= 11:
            ax.set_xticks(np.arange(epochs))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch (0 = untrained network)")
        ax.set_title(f"{metric.upper()} vs epoch", fontsize=10)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)
    figure.suptitle(quick_title(f"Deep clustering on {title}", quick), fontsize=11)
    return save_figure(figure, path)


@register(
    "deep-clustering",
    "Quantum deep clustering (QMeans + quantum head) vs classical DeepCluster (KMeans + linear "
    "head): NMI/ARI per epoch on digits and an MNIST subset, several seeds",
    PAPER,
)
def deep_clustering(config: ReproductionConfig) -> ReproductionResult:
    """Quantum and classical deep clustering with the same CNN and training budget, over seeds.

    Each seed trains both pipelines from the same initial network (same ``random_state``); the
    summary holds mean and standard deviation over the seeds of the final NMI/ARI, of their
    mean over the last three epochs and of the best epoch, and the paired quantum-minus-classical
    differences with a paired t-test.
    """
    quick = config.quick
    digits = load_digits()
    n_digits = 300 if quick else len(digits.data)
    data = {"digits": (digits.images[:n_digits] / 16.0, digits.target[:n_digits])}
    mnist = _mnist_subset(config, 300 if quick else 2000)
    if mnist is not None:
        data["mnist"] = mnist
    epochs = 2 if quick else 10
    draw = figures_enabled("deep-clustering")
    result = ReproductionResult("deep-clustering")
    details: dict = {"epochs": epochs, "budget": DEEP_CLUSTERING_BUDGET}
    pipelines = (("quantum", QuantumDeepClustering), ("classical", ClassicalDeepClustering))
    for name, (x, y) in data.items():
        count = 1 if quick else DEEP_CLUSTERING_SEEDS[name]
        seeds = [config.seed + i for i in range(count)]
        runs: dict[str, list[dict]] = {label: [] for label, _ in pipelines}
        histories: dict[str, list] = {label: [] for label, _ in pipelines}
        for seed in seeds:
            for label, cls in pipelines:
                checkpoint = (
                    None
                    if quick
                    else os.path.join(config.output, f"deep-clustering-{name}-{label}-{seed}.pt")
                )
                began = time.perf_counter()
                model = cls(
                    10,
                    epochs=epochs,
                    random_state=seed,
                    checkpoint=checkpoint,
                    progress=config.progress,
                    **DEEP_CLUSTERING_BUDGET,
                ).fit(x, y)
                histories[label].append(model.history_)
                runs[label].append(
                    {
                        "seed": seed,
                        **model.history_.to_dict(),
                        "seconds": time.perf_counter() - began,
                    }
                )
                if config.progress:
                    print(
                        f"deep-clustering {name} {label} seed {seed}: NMI "
                        f"{np.round(model.history_.nmi, 3)}",
                        flush=True,
                    )
        summaries = {label: _run_summary(runs[label]) for label, _ in pipelines}
        paired = _paired(runs["quantum"], runs["classical"])
        details[name] = {
            "n_samples": len(x),
            "seeds": seeds,
            "runs": runs,
            "summary": summaries,
            "quantum_minus_classical": paired,
        }
        tag = f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
        for key, text in (("nmi_final", "NMI"), ("ari_final", "ARI"), ("nmi_last3", "NMI")):
            suffix = "final" if key.endswith("final") else "mean of the last 3 epochs"
            for label, _ in pipelines:
                summary = summaries[label]
                result.comparisons.append(
                    Comparison(
                        f"{name} {text} {label} ({suffix}, {tag})",
                        summary[f"{key}_mean"],
                        ours_std=summary[f"{key}_std"] if len(seeds) > 1 else None,
                        unit="",
                    )
                )
        diff = paired["nmi_final"]
        result.comparisons.append(
            Comparison(
                f"{name} NMI quantum - classical (final, paired"
                + (f", t-test p = {diff['t_test_p']:.2f})" if "t_test_p" in diff else ")"),
                diff["mean"],
                ours_std=diff.get("std"),
                unit="",
            )
        )
        if draw:
            result.figures.append(
                _plot_deep_clustering(
                    histories,
                    output_path(config, f"deep_clustering_{name}_nmi.png"),
                    f"{name} ({len(x):,} images), {tag}" + (", mean ± std" if count > 1 else ""),
                    f"{epochs} epochs" if quick else None,
                )
            )
    result.details = details
    return result
