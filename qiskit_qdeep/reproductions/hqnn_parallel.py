# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Reproduction of HQNN-Parallel on full MNIST (Senokosov et al. 2024, Table 1)."""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from ..datasets import load_mnist
from ..models import PAPER_PARAMETER_COUNTS, HQNNParallel, HQNNParallelClassical, count_parameters
from ..training import fit_classifier
from ._common import Comparison, ReproductionConfig, ReproductionResult, output_path, register
from ._plotting import curves_figure, figures_enabled

PAPER_ACCURACY = {"HQNN": 0.9921, "CNN": 0.9871}

#: Epochs, batch size, learning rate and its schedule of the full run (the paper does not state
#: them).
EPOCHS, BATCH_SIZE, LR, LR_SCHEDULE = 10, 64, 1e-3, "cosine"


def _parameter_shift_demo(x, y, seed: int, steps: int, batch: int) -> dict:
    """A few Adam steps of HQNN-Parallel with parameter shift on Aer (one job per step)."""
    from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

    model = HQNNParallel(estimator=AerEstimatorV2(), gradient="parameter-shift", seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses, seconds = [], []
    generator = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(x), generator=generator)[:batch]
    for _ in range(steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - start)
        losses.append(loss.item())
    return {
        "steps": steps,
        "batch": batch,
        "losses": losses,
        "seconds_per_step": float(np.median(seconds)),
        "jobs": model.quantum.runner.num_jobs,
    }


@register(
    "hqnn-parallel",
    "HQNN-Parallel vs its classical twin on full MNIST (exact backprop), epoch times, and a "
    "parameter-shift run on Aer",
    "Senokosov et al. 2024, arXiv:2304.09224",
)
def hqnn_parallel(config: ReproductionConfig) -> ReproductionResult:
    """Trains HQNN-Parallel and the classical twin with the same budget, in the same run.

    Full: 60,000 / 10,000 images, 10 epochs, batch 64, Adam lr 1e-3 with cosine annealing (the
    paper does not state them). ``--quick``: 2,000 / 500 images and one epoch.
    """
    x_train, y_train = load_mnist(config.data_dir, split="train", download=config.download)
    x_test, y_test = load_mnist(config.data_dir, split="test", download=config.download)
    epochs = 1 if config.quick else EPOCHS
    if config.quick:
        x_train, y_train, x_test, y_test = (
            x_train[:2000],
            y_train[:2000],
            x_test[:500],
            y_test[:500],
        )
    x_train_t = torch.from_numpy(x_train)[:, None]
    x_test_t = torch.from_numpy(x_test)[:, None]
    y_train_t, y_test_t = torch.from_numpy(y_train), torch.from_numpy(y_test)
    draw = figures_enabled("hqnn-parallel")
    result = ReproductionResult("hqnn-parallel")
    histories = {}
    for name, factory in (
        ("HQNN", lambda: HQNNParallel(seed=config.seed)),
        ("CNN", lambda: HQNNParallelClassical(seed=config.seed)),
    ):
        model = factory()
        checkpoint = output_path(config, f"hqnn-parallel-{name.lower()}.pt")
        history = fit_classifier(
            model,
            x_train_t,
            y_train_t,
            epochs=epochs,
            batch_size=BATCH_SIZE,
            lr=LR,
            lr_schedule=LR_SCHEDULE,
            eval_data=(x_test_t, y_test_t),
            seed=config.seed,
            checkpoint=checkpoint,
            progress=config.progress,
            desc=f"{name} on MNIST",
        )
        histories[name] = history
        result.comparisons.append(
            Comparison(
                f"{name} test accuracy", history.test_accuracy[-1], None, PAPER_ACCURACY[name]
            )
        )
        result.comparisons.append(
            Comparison(
                f"{name} trainable parameters",
                count_parameters(model),
                None,
                PAPER_PARAMETER_COUNTS["MNIST"][name],
                unit="",
            )
        )
        result.details[name] = history.to_dict()
    hqnn_epoch = float(np.median(histories["HQNN"].epoch_seconds))
    cnn_epoch = float(np.median(histories["CNN"].epoch_seconds))
    result.comparisons.append(Comparison("HQNN epoch time", hqnn_epoch, None, None, unit="s"))
    result.comparisons.append(Comparison("CNN epoch time", cnn_epoch, None, None, unit="s"))
    result.comparisons.append(
        Comparison(
            "HQNN / CNN epoch time (target <= 1.5)", hqnn_epoch / cnn_epoch, None, None, unit="x"
        )
    )
    demo = _parameter_shift_demo(
        x_train_t,
        y_train_t,
        config.seed,
        steps=2 if config.quick else 5,
        batch=8 if config.quick else 32,
    )
    result.details["parameter_shift_aer"] = demo
    result.comparisons.append(
        Comparison(
            "Aer parameter-shift step (batch {batch})".format(**demo),
            demo["seconds_per_step"],
            None,
            None,
            unit="s",
        )
    )
    if draw:
        result.figures = [
            curves_figure(
                output_path(config, "hqnn-parallel.png"),
                {name: h.test_accuracy for name, h in histories.items()},
                title=f"HQNN-Parallel vs CNN on MNIST ({len(x_train):,} training images)",
                paper=PAPER_ACCURACY,
                quick=(
                    f"{epochs} epoch, {len(x_train):,} / {len(x_test):,} images"
                    if config.quick
                    else None
                ),
            )
        ]
    for name in histories:  # checkpoints served their purpose once the run completed
        path = output_path(config, f"hqnn-parallel-{name.lower()}.pt")
        if os.path.exists(path) and config.quick:
            os.remove(path)
    return result
