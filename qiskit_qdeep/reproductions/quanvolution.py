# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Reproductions of the quanvolution papers: QCCNN on Tetris and HQNN-Quanv on MNIST 14x14."""

from __future__ import annotations

import numpy as np
import torch

from ..datasets import load_mnist, make_tetris
from ..models import CNN1, CNN4, QCCNN, HQNNQuanv, QCCNNClassical
from ..models.quanv_models import PAPER_RESULTS
from ..training import fit_classifier
from ._common import (
    Comparison,
    ReproductionConfig,
    ReproductionResult,
    mean_std,
    output_path,
    register,
)
from ._plotting import curves_figure, figures_enabled


@register(
    "qccnn-tetris",
    "QCCNN (1 and 2 quantum conv layers) vs CNN on 3x3 Tetris, 2 and 5 labels, MSE loss",
    "Liu et al. 2019, arXiv:1911.02998",
)
def qccnn_tetris(config: ReproductionConfig) -> ReproductionResult:
    """1000 Tetris images, 80/20 split, Adam lr 0.01, MSE loss, full-batch iterations.

    The paper trains for 1000 iterations and averages 10 runs; ``--quick`` uses 30 iterations and
    one run.
    """
    iterations = 30 if config.quick else 1000
    runs = 1 if config.quick else 10
    draw = figures_enabled("qccnn-tetris")
    result = ReproductionResult("qccnn-tetris")
    figures = {}
    for labels in (("S", "T"), ("S", "O", "I", "T", "L")):
        curves: dict[str, list] = {}
        finals: dict[str, list] = {}
        for run in range(runs):
            seed = config.seed + run
            images, targets = make_tetris(1000, labels=labels, seed=seed)
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(images))
            split = int(0.8 * len(images))
            train, test = order[:split], order[split:]
            x = torch.from_numpy(images[:, None])
            y = torch.from_numpy(targets)
            for name, factory in (
                ("QCCNN 1-layer", lambda: QCCNN(1, len(labels), seed=seed)),
                ("QCCNN 2-layer", lambda: QCCNN(2, len(labels), seed=seed)),
                ("CNN 1-layer", lambda: QCCNNClassical(1, len(labels), seed=seed)),
                ("CNN 2-layer", lambda: QCCNNClassical(2, len(labels), seed=seed)),
            ):
                torch.manual_seed(seed)
                history = fit_classifier(
                    factory(),
                    x[train],
                    y[train],
                    epochs=iterations,
                    batch_size=len(train),
                    lr=0.01,
                    loss="mse",
                    eval_data=(x[test], y[test]),
                    seed=seed,
                    progress=config.progress,
                    desc=f"{name}, {len(labels)} labels, run {run + 1}/{runs}",
                )
                curves.setdefault(name, []).append(history.test_accuracy)
                finals.setdefault(name, []).append(history.test_accuracy[-1])
        tag = f"{len(labels)} labels"
        papers = {}
        for name, values in finals.items():
            mean, std = mean_std(values)
            paper = None
            if name.startswith("QCCNN"):
                paper = PAPER_RESULTS["QCCNN-1" if "1-layer" in name else "QCCNN-2"].test_accuracy
                papers[name] = paper
            result.comparisons.append(Comparison(f"{name}, {tag}, test accuracy", mean, std, paper))
        result.details[tag] = {
            name: {"final": finals[name], "curve_mean": np.mean(curves[name], axis=0)}
            for name in finals
        }
        if draw:
            figures[tag] = curves_figure(
                output_path(config, f"qccnn-tetris-{len(labels)}labels.png"),
                curves,
                title=f"QCCNN vs CNN on Tetris ({tag}, {runs} run{'s' if runs > 1 else ''})",
                xlabel="iteration (full-batch Adam step)",
                paper=papers,
                quick=f"{iterations} iterations" if config.quick else None,
            )
    result.figures = list(figures.values())
    result.details["setup"] = {
        "iterations": iterations,
        "runs": runs,
        "optimizer": "Adam lr=0.01",
        "loss": "mse",
    }
    return result


def _mnist_14(config: ReproductionConfig, n_train: int, n_test: int, seed: int):
    """First ``n_train`` training and ``n_test`` test images, bilinearly resized to 14x14."""
    x_train, y_train = load_mnist(config.data_dir, split="train", download=config.download)
    x_test, y_test = load_mnist(config.data_dir, split="test", download=config.download)
    rng = np.random.default_rng(seed)
    train = rng.choice(len(x_train), n_train, replace=False)
    test = rng.choice(len(x_test), n_test, replace=False)

    def resize(images):
        tensor = torch.from_numpy(images)[:, None]
        small = torch.nn.functional.interpolate(
            tensor, size=(14, 14), mode="bilinear", align_corners=False
        )
        return small.clamp(0.0, 1.0)

    return (
        resize(x_train[train]),
        torch.from_numpy(y_train[train]),
        resize(x_test[test]),
        torch.from_numpy(y_test[test]),
    )


@register(
    "hqnn-quanv",
    "HQNN-Quanv vs CNN4 and CNN1 on 600 MNIST images resized to 14x14 (10 initialisations)",
    "Senokosov et al. 2024, arXiv:2304.09224",
)
def hqnn_quanv(config: ReproductionConfig) -> ReproductionResult:
    """500 train / 100 test images, 20 epochs, cross-entropy, Adam, 10 random initialisations.

    The paper's text gives a 2 x 2 kernel with stride 2 on 14 x 14 images (7 x 7 output channels)
    but also says each output channel "is a picture with 4 x 4 pixels" (stride 4). The full run
    trains both geometries; the stride-2 one is the headline, the stride-4 one shows which
    geometry the paper's CNN numbers belong to.
    """
    runs = 2 if config.quick else 10
    epochs = 3 if config.quick else 20
    n_train, n_test = (100, 50) if config.quick else (500, 100)
    x_train, y_train, x_test, y_test = _mnist_14(config, n_train, n_test, config.seed)
    draw = figures_enabled("hqnn-quanv")
    result = ReproductionResult("hqnn-quanv")
    geometries = [(2, "")] if config.quick else [(2, ""), (4, ", stride 4 (4x4 channels)")]
    result.details = {"setup": {"epochs": epochs, "runs": runs, "n_train": n_train}}
    result.details["setup"]["n_test"] = n_test
    for stride, tag in geometries:
        curves: dict[str, list] = {}
        finals: dict[str, list] = {}
        for run in range(runs):
            seed = config.seed + run
            for name, factory in (
                ("HQNN-Quanv", lambda: HQNNQuanv(10, 14, stride=stride, seed=seed)),
                ("CNN4", lambda: CNN4(10, 14, stride=stride, seed=seed)),
                ("CNN1", lambda: CNN1(10, 14, stride=stride, seed=seed)),
            ):
                history = fit_classifier(
                    factory(),
                    x_train,
                    y_train,
                    epochs=epochs,
                    batch_size=32,
                    lr=0.01,
                    eval_data=(x_test, y_test),
                    seed=seed,
                    progress=config.progress,
                    desc=f"{name}{tag} run {run + 1}/{runs}",
                )
                curves.setdefault(name, []).append(history.test_accuracy)
                finals.setdefault(name, []).append(history.test_accuracy[-1])
        papers = {}
        for name, values in finals.items():
            mean, std = mean_std(values)
            paper = PAPER_RESULTS[name]
            papers[name] = (paper.test_accuracy, paper.std)
            result.comparisons.append(
                Comparison(f"{name}{tag} test accuracy", mean, std, paper.test_accuracy, paper.std)
            )
        result.details["finals" if stride == 2 else f"finals_stride{stride}"] = finals
        suffix = "" if stride == 2 else f"-stride{stride}"
        if draw:
            result.figures.append(
                curves_figure(
                    output_path(config, f"hqnn-quanv{suffix}.png"),
                    curves,
                    title=f"HQNN-Quanv vs CNNs, MNIST 14x14, stride {stride} ({runs} runs)",
                    paper=papers,
                    quick=(
                        f"{epochs} epochs, {n_train} / {n_test} images" if config.quick else None
                    ),
                )
            )
    return result
