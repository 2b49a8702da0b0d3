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

from ._validation import check_int
from .exceptions import PrimitiveJobError, QDeepTypeError, QDeepValueError

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


def _as_tensor(data: Any, dtype: torch.dtype, name: str) -> torch.Tensor:
    """``data`` as a real tensor of ``dtype`` (complex, non-numeric or empty data rejected)."""
    if isinstance(data, torch.Tensor):
        tensor = data.detach()
        if tensor.is_complex():
            raise QDeepTypeError(f"{name} must be real, got dtype {tensor.dtype}.")
    else:
        try:
            array = np.asarray(data)
        except (TypeError, ValueError) as exc:
            raise QDeepValueError(f"{name} must be a numeric array: {exc}") from exc
        if np.iscomplexobj(array) or array.dtype.kind not in "biuf":
            raise QDeepTypeError(f"{name} must be a real numeric array, got dtype {array.dtype}.")
        tensor = torch.as_tensor(array)
    if tensor.dim() == 0:
        raise QDeepValueError(f"{name} must have a leading sample axis, got a scalar.")
    return tensor.to(dtype)


def _as_labels(targets: Any) -> torch.Tensor:
    """Integer class labels ``(n_samples,)`` >= 0."""
    if isinstance(targets, torch.Tensor):
        labels = targets.detach()
    else:
        try:
            labels = torch.as_tensor(np.asarray(targets))
        except (TypeError, ValueError) as exc:
            raise QDeepValueError(f"targets must be integer class labels: {exc}") from exc
    if labels.is_floating_point() or labels.is_complex():
        if labels.is_complex() or not torch.equal(labels, labels.round()):
            raise QDeepTypeError(
                f"targets must be integer class labels, got dtype {labels.dtype} with "
                "non-integer values."
            )
    if labels.dim() != 1:
        raise QDeepValueError(
            f"targets must be a 1-d array of class labels, got shape {tuple(labels.shape)}."
        )
    labels = labels.to(torch.long)
    if len(labels) and int(labels.min()) < 0:
        raise QDeepValueError(f"targets must be class labels >= 0, got {int(labels.min())}.")
    return labels


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

    Raises:
        QDeepValueError: For empty or mismatched data, an unknown loss or a bad batch size.
        QDeepTypeError: For complex inputs or non-integer targets.
    """
    if loss not in LOSSES:
        raise QDeepValueError(f"loss must be one of {LOSSES}, got {loss!r}.")
    check_int("batch_size", batch_size)
    x = _as_tensor(inputs, torch.get_default_dtype(), "inputs")
    y = _as_labels(targets)
    if len(x) != len(y) or len(x) == 0:
        raise QDeepValueError(
            f"inputs and targets must be non-empty and of equal length, got {len(x)} and {len(y)}."
        )
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


def _save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Writes ``state`` atomically (a temporary file renamed over ``path``)."""
    tmp = f"{path}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


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
    stop_after_batches: int | None = None,
    progress: bool = True,
    desc: str = "training",
) -> TrainingHistory:
    """Trains a classifier with mini-batches, saving a checkpoint after every epoch.

    With ``checkpoint`` set, the model, optimizer, data-order generator, torch RNG state and
    history are saved after each epoch; if the file exists when the call starts, training resumes
    after the last saved position and continues exactly (bit for bit) as the uninterrupted run
    would.

    **Primitive failures.** When a primitive job keeps failing during a batch (a
    :class:`~qiskit_qdeep.exceptions.PrimitiveJobError` after the runner's retries), the state
    *before that batch* (model, optimizer, scheduler, data order, position in the epoch, running
    totals, torch RNG state, history) is written to ``checkpoint`` and the error is raised again
    with a message naming the file. Calling ``fit_classifier`` again with the same arguments (and a
    model whose primitive works) retries that batch and finishes the run as if nothing happened.

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
        stop_after_batches: Return after this many mini-batches of this call, possibly in the
            middle of an epoch (checkpoint written at that position; requires ``checkpoint``).
        progress: Show a tqdm bar.
        desc: Label of the progress bar.

    Returns:
        The :class:`TrainingHistory` (of the completed epochs).

    Raises:
        QDeepValueError: For bad sizes, an unknown loss or inputs and targets of different length.
        PrimitiveJobError: If a primitive job keeps failing; the message says where the
            checkpoint was written and how to resume.
    """
    if loss not in LOSSES:
        raise QDeepValueError(f"loss must be one of {LOSSES}, got {loss!r}.")
    if lr_schedule not in SCHEDULES:
        raise QDeepValueError(f"lr_schedule must be one of {SCHEDULES}, got {lr_schedule!r}.")
    if not isinstance(model, nn.Module):
        raise QDeepTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    check_int("epochs", epochs, minimum=0)
    check_int("batch_size", batch_size)
    if stop_after is not None:
        check_int("stop_after", stop_after, minimum=0)
    if stop_after_batches is not None:
        check_int("stop_after_batches", stop_after_batches, minimum=0)
        if checkpoint is None:
            raise QDeepValueError("stop_after_batches needs a checkpoint path to resume from.")
    x = _as_tensor(inputs, torch.get_default_dtype(), "inputs")
    y = _as_labels(targets)
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
    position = None  # where an interrupted epoch goes on
    if checkpoint is not None and os.path.exists(checkpoint):
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = TrainingHistory(**state["history"])
        start_epoch = state["epoch"]
        position = state.get("position")

    def snapshot(epoch: int, rng_state: torch.Tensor, where: dict | None) -> dict:
        return {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "generator": generator.get_state(),
            "torch_rng": rng_state,
            "history": history.to_dict(),
            "epoch": epoch,
            "position": where,
        }

    bar = tqdm(
        range(start_epoch, epochs),
        desc=desc,
        disable=not progress,
        initial=start_epoch,
        total=epochs,
    )
    batches_run = 0
    for epoch in bar:
        if stop_after is not None and epoch - start_epoch >= stop_after:
            break
        model.train()
        if position is not None:
            order = position["order"]
            first = int(position["begin"])
            total, correct = position["total"], int(position["correct"])
            seen = int(position["seen"])
            spent = position["seconds"]
            position = None
        else:
            order = torch.randperm(len(x), generator=generator)
            first, total, correct, seen, spent = 0, 0.0, 0, 0, 0.0
        began = time.perf_counter()

        def where(begin: int) -> dict:
            return {
                "order": order,
                "begin": begin,
                "total": total,
                "correct": correct,
                "seen": seen,
                "seconds": spent + time.perf_counter() - began,
            }

        for begin in range(first, len(order), batch_size):
            if stop_after_batches is not None and batches_run >= stop_after_batches:
                _save_checkpoint(checkpoint, snapshot(epoch, torch.get_rng_state(), where(begin)))
                return history
            rng_state = torch.get_rng_state()
            idx = order[begin : begin + batch_size]
            try:
                optimizer.zero_grad()
                logits = model(x[idx])
                value = _loss(loss, logits, y[idx], logits.shape[-1])
                value.backward()
            except PrimitiveJobError as exc:
                _raise_with_checkpoint(
                    exc, checkpoint, snapshot(epoch, rng_state, where(begin)), epoch, begin
                )
            optimizer.step()
            total += value.item() * len(idx)
            correct += int((logits.argmax(dim=-1) == y[idx]).sum())
            seen += len(idx)
            batches_run += 1
        seconds = spent + time.perf_counter() - began
        postfix = {"loss": f"{total / seen:.4f}"}
        evaluated = None
        if eval_data is not None:
            rng_state = torch.get_rng_state()
            try:
                evaluated = evaluate_classifier(model, *eval_data, loss=loss)
            except PrimitiveJobError as exc:
                _raise_with_checkpoint(
                    exc, checkpoint, snapshot(epoch, rng_state, where(len(order))), epoch, None
                )
        history.epoch_seconds.append(seconds)
        if scheduler is not None:
            scheduler.step()
        history.train_loss.append(total / seen)
        history.train_accuracy.append(correct / seen)
        if evaluated is not None:
            acc, test_loss = evaluated
            history.test_accuracy.append(acc)
            history.test_loss.append(test_loss)
            postfix["test_acc"] = f"{acc:.4f}"
        bar.set_postfix(postfix)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, snapshot(epoch + 1, torch.get_rng_state(), None))
    return history


def _raise_with_checkpoint(
    exc: PrimitiveJobError,
    checkpoint: str | os.PathLike | None,
    state: dict,
    epoch: int,
    begin: int | None,
) -> None:
    """Saves ``state`` (if there is a checkpoint path) and raises ``exc`` with resume advice."""
    at = f"epoch {epoch + 1}" + ("" if begin is None else f", sample {begin} of the epoch")
    if checkpoint is None:
        advice = (
            f"Training stopped in {at}; nothing was saved. Pass checkpoint=<path> to "
            "fit_classifier to save the training state when a primitive fails."
        )
    else:
        _save_checkpoint(checkpoint, state)
        advice = (
            f"Training stopped in {at}; the state before this batch was saved to "
            f"'{os.fspath(checkpoint)}'. To resume, fix or replace the primitive and call "
            "fit_classifier again with the same arguments and the same checkpoint path: training "
            "goes on from that batch exactly as if it had not failed."
        )
    raise PrimitiveJobError(
        f"{exc.message} {advice}", cause=exc.cause, attempts=exc.attempts
    ) from exc
