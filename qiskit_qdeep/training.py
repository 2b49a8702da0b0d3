# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""A small, checkpointing training loop for classifiers (used by the reproductions).

.. currentmodule:: qiskit_qdeep.training

.. autosummary::
   :toctree: ../stubs/

   fit_classifier
   evaluate_classifier
   TrainingHistory
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .exceptions import QDeepValueError

LOSSES = ("cross_entropy", "mse")
SCHEDULES = ("constant", "cosine")


@dataclass
class TrainingHistory:
    """Per-epoch record of a training run."""

    train_loss: list[float] = field(default_factory=list)
    """Mean training loss of each epoch."""
    train_accuracy: list[float] = field(default_factory=list)
    """Training accuracy of each epoch (on the batches as seen during the epoch)."""
    test_accuracy: list[float] = field(default_factory=list)
    """Accuracy on the evaluation data after each epoch (empty without evaluation data)."""
    test_loss: list[float] = field(default_factory=list)
    """Loss on the evaluation data after each epoch."""
    epoch_seconds: list[float] = field(default_factory=list)
    """Wall time of each epoch's training pass (evaluation excluded)."""

    def to_dict(self) -> dict[str, list[float]]:
        """The history as a plain dictionary (JSON-serialisable)."""
        return asdict(self)


def _as_tensor(data: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    tensor = data if isinstance(data, torch.Tensor) else torch.as_tensor(np.asarray(data))
    return tensor if dtype is None else tensor.to(dtype)


def _loss(kind: str, logits: torch.Tensor, targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    if kind == "cross_entropy":
        return nn.functional.cross_entropy(logits, targets)
    one_hot = nn.functional.one_hot(targets, num_classes).to(logits.dtype)
    return nn.functional.mse_loss(logits, one_hot)


def evaluate_classifier(
    model: nn.Module,
    inputs: Any,
    targets: Any,
    *,
    batch_size: int = 512,
    loss: str = "cross_entropy",
) -> tuple[float, float]:
    """Accuracy and mean loss of ``model`` on a dataset (eval mode, no gradients).

    Returns:
        ``(accuracy, loss)``.
    """
    x = _as_tensor(inputs, torch.get_default_dtype())
    y = _as_tensor(targets, torch.long)
    was_training = model.training
    model.eval()
    correct, total_loss = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(x[start : start + batch_size])
            batch_y = y[start : start + batch_size]
            total_loss += _loss(loss, logits, batch_y, logits.shape[-1]).item() * len(batch_y)
            correct += int((logits.argmax(dim=-1) == batch_y).sum())
    model.train(was_training)
    return correct / len(x), total_loss / len(x)


def fit_classifier(
    model: nn.Module,
    inputs: Any,
    targets: Any,
    *,
    epochs: int,
    batch_size: int = 32,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 0.01,
    loss: str = "cross_entropy",
    lr_schedule: str = "constant",
    eval_data: tuple[Any, Any] | None = None,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    desc: str = "training",
) -> TrainingHistory:
    """Trains a classifier with mini-batches, saving a checkpoint after every epoch.

    With ``checkpoint`` set, the model, optimizer, data-order generator, torch RNG state and
    history are saved after each epoch; if the file exists when the call starts, training resumes
    after the last saved epoch and continues exactly as the uninterrupted run would.

    Args:
        model: The classifier (outputs logits / scores of shape ``(batch, num_classes)``).
        inputs: Training inputs (array or tensor, first axis = samples).
        targets: Integer class labels ``(n_samples,)``.
        epochs: Total number of epochs (including resumed ones).
        batch_size: Mini-batch size.
        optimizer: Default ``Adam(model.parameters(), lr)``.
        lr: Learning rate of the default optimizer.
        loss: ``"cross_entropy"`` or ``"mse"`` (against one-hot targets, as in the QCCNN paper).
        lr_schedule: ``"constant"`` or ``"cosine"`` (cosine annealing to zero over ``epochs``,
            stepped once per epoch).
        eval_data: Optional ``(inputs, targets)`` evaluated after each epoch.
        seed: Seeds the data order and torch's global RNG (dropout, initialisation after this).
        checkpoint: Path of the checkpoint file.
        stop_after: Return after this many epochs of this call (checkpoint written), e.g. to
            split a long run into time-limited jobs; calling again with the same arguments resumes.
        progress: Show a tqdm bar.
        desc: Label of the progress bar.

    Returns:
        The :class:`TrainingHistory`.

    Raises:
        QDeepValueError: For bad sizes, an unknown loss or inputs and targets of different length.
    """
    if loss not in LOSSES:
        raise QDeepValueError(f"loss must be one of {LOSSES}, got {loss!r}.")
    if lr_schedule not in SCHEDULES:
        raise QDeepValueError(f"lr_schedule must be one of {SCHEDULES}, got {lr_schedule!r}.")
    if epochs < 0 or batch_size < 1:
        raise QDeepValueError(
            f"epochs must be >= 0 and batch_size >= 1, got {epochs}, {batch_size}."
        )
    x = _as_tensor(inputs, torch.get_default_dtype())
    y = _as_tensor(targets, torch.long)
    if len(x) != len(y) or len(x) == 0:
        raise QDeepValueError(
            f"inputs and targets must be non-empty and of equal length, got {len(x)} and {len(y)}."
        )
    if not torch.isfinite(x).all():
        raise QDeepValueError("Training inputs contain NaN or inf.")
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = None
    if lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    history = TrainingHistory()
    start_epoch = 0
    if checkpoint is not None and os.path.exists(checkpoint):
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = TrainingHistory(**state["history"])
        start_epoch = state["epoch"]
    bar = tqdm(
        range(start_epoch, epochs),
        desc=desc,
        disable=not progress,
        initial=start_epoch,
        total=epochs,
    )
    for epoch in bar:
        if stop_after is not None and epoch - start_epoch >= stop_after:
            break
        model.train()
        order = torch.randperm(len(x), generator=generator)
        total, correct, seen = 0.0, 0, 0
        began = time.perf_counter()
        for begin in range(0, len(order), batch_size):
            idx = order[begin : begin + batch_size]
            optimizer.zero_grad()
            logits = model(x[idx])
            value = _loss(loss, logits, y[idx], logits.shape[-1])
            value.backward()
            optimizer.step()
            total += value.item() * len(idx)
            correct += int((logits.argmax(dim=-1) == y[idx]).sum())
            seen += len(idx)
        history.epoch_seconds.append(time.perf_counter() - began)
        if scheduler is not None:
            scheduler.step()
        history.train_loss.append(total / seen)
        history.train_accuracy.append(correct / seen)
        postfix = {"loss": f"{total / seen:.4f}"}
        if eval_data is not None:
            acc, test_loss = evaluate_classifier(model, *eval_data, loss=loss)
            history.test_accuracy.append(acc)
            history.test_loss.append(test_loss)
            postfix["test_acc"] = f"{acc:.4f}"
        bar.set_postfix(postfix)
        if checkpoint is not None:
            tmp = f"{checkpoint}.tmp"
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": None if scheduler is None else scheduler.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "history": history.to_dict(),
                    "epoch": epoch + 1,
                },
                tmp,
            )
            os.replace(tmp, checkpoint)
    return history
