# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Reproduction of the QuCNN validations: forward pass, ancilla backpropagation, state learning.

Sections V-A (Fig. 3), V-B (Fig. 4) and V-C (Fig. 6) of Stein et al. 2022, plus a small
classification run on the scikit-learn digits that the paper does not have.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from ..datasets import load_digits_dataset, load_mnist
from ..nn.swap_conv import AncillaGradientCurve, SwapTestConv2d, ancilla_gradient_error_curve
from ..training import fit_classifier
from ._common import Comparison, ReproductionConfig, ReproductionResult, output_path, register
from ._plotting import figures_enabled, new_figure, plot_curves, quick_title, save_figure


class _FilterNet(nn.Module):
    """The classical network of Sec. V-A: one 4x4 filter, ReLU, 2x2 max-pool, linear to 10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 4)
        self.head = nn.Linear(12 * 12, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pylint: disable=redefined-builtin
        x = functional.max_pool2d(functional.relu(self.conv(x)), 2)
        return self.head(x.flatten(1))


def _classical_map(images: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """``(normalised patch . normalised filter)**2`` per stride-1 patch; zero patches give 0."""
    patches = functional.unfold(images, 4).double()  # (B, 16, L)
    norms = patches.norm(dim=1, keepdim=True)
    unit = patches / torch.where(norms > 0, norms, torch.ones_like(norms))
    k = torch.as_tensor(kernel.reshape(-1), dtype=torch.float64)
    side = images.shape[-1] - 3
    return torch.einsum("bdl,d->bl", unit, k / k.norm()).square().reshape(-1, side, side)


def _train_filter(config: ReproductionConfig, n_train: int, epochs: int) -> tuple[np.ndarray, dict]:
    x, y = load_mnist(config.data_dir, split="train", download=config.download, limit=n_train)
    torch.manual_seed(config.seed)
    model = _FilterNet()
    history = fit_classifier(
        model,
        torch.from_numpy(x[:, None]),
        torch.from_numpy(y),
        epochs=epochs,
        batch_size=64,
        lr=0.01,
        seed=config.seed,
        progress=config.progress,
        desc="classical 4x4 filter",
    )
    kernel = model.conv.weight.detach().double().numpy().reshape(4, 4)
    return kernel / np.linalg.norm(kernel), {
        "n_train": n_train,
        "epochs": epochs,
        "train_accuracy": history.train_accuracy,
    }


def _plot_maps(classical, quantum, labels, path: str, shots: int, quick: str | None) -> str:
    """Classical and SWAP-test feature maps side by side, one colour scale (and bar) per image."""
    rows = len(classical)
    figure, axes = new_figure((5.6, 2.4 * rows + 0.6), rows, 2, squeeze=False)
    for i in range(rows):
        vmax = max(float(classical[i].max()), 1e-12)  # one colour scale per image
        for j, (data, title) in enumerate(
            ((classical, "classical"), (quantum, f"QuCNN ({shots:,} shots)"))
        ):
            ax = axes[i, j]
            image = ax.imshow(data[i], cmap="viridis", vmin=0.0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{title}, digit {labels[i]}", fontsize=9)
        bar = figure.colorbar(image, ax=axes[i, :].tolist(), shrink=0.9)
        bar.set_label("(patch . filter)$^2$", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    figure.suptitle(quick_title("Forward pass: 4x4 filter maps", quick), fontsize=10)
    return save_figure(figure, path, dpi=100)


def _plot_ancilla_gradient(curve: AncillaGradientCurve, path: str, quick: str | None) -> str:
    """Fig. 4: one gradient entry against the shots, and the RMS errors on log-log axes."""
    figure, (left, right) = new_figure((11, 4.6), 1, 2)
    repeats = curve.ancilla.shape[1]
    for data, label, marker in (
        (curve.ancilla, "QuCNN ancilla", "o"),
        (curve.parameter_shift, "post-processed shift", "s"),
    ):
        left.errorbar(
            curve.shots,
            data[:, :, 0].mean(axis=1),
            yerr=data[:, :, 0].std(axis=1),
            marker=marker,
            capsize=3,
            label=f"{label} (mean ± std of {repeats})",
        )
    left.axhline(curve.exact[0], color="k", linestyle="--", label="exact (autograd)")
    left.set_xscale("log")
    left.set_xlabel("shots per binding")
    left.set_ylabel("dL/dθ₀ of the filter")
    left.set_title("Gradient entry vs shots", fontsize=10)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8)
    right.loglog(curve.shots, curve.ancilla_error, "o-", label=f"ancilla (slope {curve.slope:.2f})")
    right.loglog(curve.shots, curve.parameter_shift_error, "s-", label="post-processed shift")
    reference = curve.ancilla_error[0] * np.sqrt(curve.shots[0] / curve.shots.astype(float))
    right.loglog(curve.shots, reference, "k:", label="∝ 1/sqrt(shots) (slope -1/2)")
    right.set_xlabel("shots per binding")
    right.set_ylabel("RMS gradient error")
    right.set_title(
        f"RMS error over {curve.exact.shape[0]} weights x {repeats} repeats", fontsize=10
    )
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8)
    figure.suptitle(quick_title("QuCNN ancilla backpropagation (Fig. 4)", quick), fontsize=11)
    return save_figure(figure, path, dpi=100)


def _plot_fidelities(curves: dict[int, list[float]], path: str, quick: str | None) -> str:
    """Fidelity of the learned filter state against the Adam iteration (0: the initial state)."""
    figure, ax = new_figure((7.5, 4))
    plot_curves(
        ax,
        {f"{layers} layer{'s' if layers > 1 else ''}": values for layers, values in curves.items()},
        xlabel="Adam iteration (0 = initial parameters)",
        ylabel="fidelity with the classical filter",
        percent=False,
        start=0,
        title="QuCNN filter state learning",
        quick=quick,
    )
    ax.set_ylim(0.0, 1.02)
    return save_figure(figure, path)


def _learn_state(target: np.ndarray, num_layers: int, iterations: int, seed: int) -> list[float]:
    """Adam on ``1 - |<target|f(theta)>|^2`` (exact statevector, autograd)."""
    layer = SwapTestConv2d(4, 1, num_layers=num_layers, seed=seed).double()
    target_t = torch.as_tensor(target.reshape(-1), dtype=torch.complex128)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    fidelities = []
    for _ in range(iterations):
        optimizer.zero_grad()
        state = layer.filter_statevectors()[0]
        fidelity = (target_t.conj() @ state).abs().square()
        (1.0 - fidelity).backward()
        optimizer.step()
        fidelities.append(float(fidelity.detach()))
    with torch.no_grad():
        state = layer.filter_statevectors()[0]
        fidelities.append(float((target_t.conj() @ state).abs().square()))
    return fidelities


class _ClassicalTwin(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 2, stride=2)
        self.head = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pylint: disable=redefined-builtin
        return self.head(functional.relu(self.conv(x)).flatten(1))


@register(
    "qucnn-validate",
    "QuCNN validations: SWAP-test forward pass vs classical filter (Fig. 3), ancilla gradient "
    "error vs shots (Fig. 4), filter state learning for 1-3 layers (Fig. 6), digits classifier",
    "Stein et al. 2022, arXiv:2210.05443",
)
def qucnn_validate(config: ReproductionConfig) -> ReproductionResult:
    """The paper's three validations plus a small digits classifier (beyond the paper).

    Full: filter trained on 10,000 MNIST images for 2 epochs, 16 test images convolved with 10,000
    shots, shots 100 to 30,000 (10 repeats), 300 state-learning iterations, 30 digits epochs.
    ``--quick``: 2,000 images and 1 epoch, 2 test images, shots 100 / 1,000 / 10,000 (5 repeats),
    60 iterations, 2 epochs.
    """
    # the tensors here are tiny: torch's intra-op threads only add overhead (and stall badly
    # on a busy machine), so run single-threaded and restore the setting afterwards
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _qucnn_validate(config)
    finally:
        torch.set_num_threads(threads)


def _qucnn_validate(config: ReproductionConfig) -> ReproductionResult:
    quick = config.quick
    seed = config.seed
    result = ReproductionResult("qucnn-validate")
    draw = figures_enabled("qucnn-validate")
    timings: dict[str, float] = {}

    # ----- V-A: forward pass (Fig. 3)
    start = time.perf_counter()
    filter_images, filter_epochs = (2000, 1) if quick else (10000, 2)
    kernel, filter_details = _train_filter(config, filter_images, filter_epochs)
    n_images = 2 if quick else 16
    x_test, y_test = load_mnist(
        config.data_dir, split="test", download=config.download, limit=n_images
    )
    images = torch.from_numpy(x_test[:, None]).double()
    forward_shots = 10000
    layer = SwapTestConv2d(
        4, 1, filter_states=kernel[None], shots=forward_shots, seed=seed
    ).double()
    with torch.no_grad():
        quantum = layer(images)[:, 0].numpy()  # one sampler job for all patches
    classical = _classical_map(images, kernel).numpy()
    pearson = float(np.corrcoef(classical.ravel(), quantum.ravel())[0, 1])
    nonzero = (functional.unfold(images, 4).abs().sum(dim=1) > 0).reshape(classical.shape).numpy()
    pearson_nonzero = float(np.corrcoef(classical[nonzero], quantum[nonzero])[0, 1])
    if draw:
        result.figures.append(
            _plot_maps(
                classical[:4],
                quantum[:4],
                y_test[:4],
                output_path(config, "qucnn-forward-pass.png"),
                forward_shots,
                f"filter trained on {filter_images:,} images, {filter_epochs} epoch"
                if quick
                else None,
            )
        )
    result.comparisons.append(
        Comparison("forward pass: Pearson r, quantum vs classical map", pearson, unit="")
    )
    result.details["forward_pass"] = {
        **filter_details,
        "kernel": kernel,
        "images": n_images,
        "shots": forward_shots,
        "pearson_all_pixels": pearson,
        "pearson_nonzero_patches": pearson_nonzero,
        "nonzero_patch_fraction": float(nonzero.mean()),
        "max_abs_error": float(np.abs(classical - quantum).max()),
        "rms_error": float(np.sqrt(np.mean((classical - quantum) ** 2))),
    }
    timings["forward_pass"] = time.perf_counter() - start

    # ----- V-B: backpropagation (Fig. 4): a filter SWAP-tested with the uniform superposition
    start = time.perf_counter()
    shots = [100, 1000, 10000] if quick else [100, 300, 1000, 3000, 10000, 30000]
    repeats = 5 if quick else 10
    curve = ancilla_gradient_error_curve(
        shots,
        kernel_size=2,
        num_layers=1,
        image=np.ones((1, 1, 2, 2)),
        upstream=1.0,
        repeats=repeats,
        seed=seed,
    )
    if draw:
        result.figures.append(
            _plot_ancilla_gradient(
                curve,
                output_path(config, "qucnn-ancilla-gradient.png"),
                f"{len(shots)} shot counts, {repeats} repeats" if quick else None,
            )
        )
    result.comparisons.append(
        Comparison(
            "backprop: log-log slope of ancilla gradient error (expect -1/2)", curve.slope, unit=""
        )
    )
    result.details["backprop"] = {
        "shots": curve.shots,
        "repeats": repeats,
        "exact": curve.exact,
        "ancilla_mean": curve.ancilla.mean(axis=1),
        "ancilla_error": curve.ancilla_error,
        "parameter_shift_error": curve.parameter_shift_error,
        "slope": curve.slope,
    }
    timings["backprop"] = time.perf_counter() - start

    # ----- V-C: state learning (Fig. 6)
    start = time.perf_counter()
    iterations = 60 if quick else 300
    curves = {layers: _learn_state(kernel, layers, iterations, seed) for layers in (1, 2, 3)}
    for layers, values in curves.items():
        result.comparisons.append(
            Comparison(f"state learning: final fidelity, {layers} layer(s)", values[-1], unit="")
        )
    if draw:
        result.figures.append(
            _plot_fidelities(
                curves,
                output_path(config, "qucnn-state-learning.png"),
                f"{iterations} iterations" if quick else None,
            )
        )
    result.details["state_learning"] = {
        "iterations": iterations,
        "optimizer": "Adam lr=0.05",
        "fidelity": {str(k): v for k, v in curves.items()},
        # a gain near zero means the depth has reached its ceiling, not that more steps would help
        "gain_last_10pct": {
            str(k): v[-1] - v[-1 - max(1, iterations // 10)] for k, v in curves.items()
        },
    }
    timings["state_learning"] = time.perf_counter() - start

    # ----- beyond the paper: digits 8x8 classifier, exact backprop
    start = time.perf_counter()
    epochs = 2 if quick else 30
    x_train, x_eval, y_train, y_eval = load_digits_dataset(random_state=seed)
    x_train = torch.from_numpy(x_train[:, None])
    x_eval = torch.from_numpy(x_eval[:, None])
    y_train, y_eval = torch.from_numpy(y_train), torch.from_numpy(y_eval)
    accuracies = {}
    histories = {}
    for name, factory in (
        (
            "QuCNN",
            lambda: nn.Sequential(
                SwapTestConv2d(2, 4, stride=2, num_layers=2, seed=seed),
                nn.Flatten(),
                nn.Linear(4 * 4 * 4, 10),
            ),
        ),
        ("CNN", _ClassicalTwin),
    ):
        torch.manual_seed(seed)
        model = factory()
        history = fit_classifier(
            model,
            x_train,
            y_train,
            epochs=epochs,
            batch_size=32,
            lr=0.01,
            eval_data=(x_eval, y_eval),
            seed=seed,
            progress=config.progress,
            desc=f"{name} on digits",
        )
        accuracies[name] = history.test_accuracy[-1]
        histories[name] = history.test_accuracy
        result.comparisons.append(
            Comparison(f"digits 8x8: {name} test accuracy (beyond the paper)", accuracies[name])
        )
    result.details["digits"] = {
        "epochs": epochs,
        "n_train": len(y_train),
        "n_test": len(y_eval),
        "test_accuracy_curves": histories,
        "parameters": {
            "QuCNN": "SwapTestConv2d(2, 4, stride=2, num_layers=2) -> Linear(64, 10)",
            "CNN": "Conv2d(1, 4, 2, stride=2) -> ReLU -> Linear(64, 10)",
        },
    }
    timings["digits"] = time.perf_counter() - start
    result.details["timings_s"] = timings
    return result
