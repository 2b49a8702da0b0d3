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

import contextlib
import hashlib
import math
import os
import pickle
import re
import time
import uuid
import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from ._distributed import current_group, setup_guard
from ._progress import tqdm
from ._validation import check_int
from .exceptions import CheckpointError, PrimitiveJobError, QDeepTypeError, QDeepValueError

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


# ---------------------------------------------------------------------------- checkpoints
#: Version of the checkpoint layout written by this module (and by the deep-clustering classes).
CHECKPOINT_VERSION = 1
_FIT_FORMAT = "qiskit_qdeep.fit_classifier"
#: The entries of a fit_classifier checkpoint (format and settings added in version 1).
_FIT_KEYS = ("model", "optimizer", "scheduler", "generator", "torch_rng", "history", "epoch")
_POSITION_KEYS = ("order", "begin", "total", "correct", "seen", "seconds")
#: Checkpoint entry of a data-parallel run: the torch RNG state of every rank, in rank order.
_RANK_RNG = "rank_torch_rng"


def _checkpoint_path(checkpoint: Any) -> str:
    """``checkpoint`` as a ``str`` path (a ``str`` or ``os.PathLike`` is required)."""
    try:
        where = os.fspath(checkpoint)
    except TypeError:
        raise QDeepTypeError(
            f"checkpoint must be a path (str or os.PathLike), got {type(checkpoint).__name__}."
        ) from None
    if isinstance(where, bytes):
        where = os.fsdecode(where)
    if not where:
        raise QDeepValueError("checkpoint must be a non-empty path.")
    return where


def _prepare_checkpoint_path(checkpoint: Any) -> str:
    """Checks, before any training, that ``checkpoint`` can be written; returns it as a ``str``.

    Creates missing parent folders and writes (and removes) a probe file next to the checkpoint,
    so a missing folder that cannot be created, a path that is a folder or a read-only folder
    fail now rather than after the first epoch.

    Raises:
        CheckpointError: Naming the path and what is wrong.
    """
    where = _checkpoint_path(checkpoint)
    if os.path.isdir(where):
        raise CheckpointError(
            f"Checkpoint path '{where}' is a directory; pass a file path, e.g. "
            f"'{os.path.join(where, 'checkpoint.pt')}'."
        )
    if os.path.exists(where) and not os.path.isfile(where):
        raise CheckpointError(f"Checkpoint path '{where}' exists and is not a regular file.")
    folder = os.path.dirname(os.path.abspath(where))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(
            f"Checkpoint '{where}' cannot be written: its folder '{folder}' does not exist and "
            f"cannot be created ({exc.strerror or exc})."
        ) from exc
    probe = _temporary_name(where, "probe")
    try:
        with open(probe, "xb") as handle:
            handle.write(b"qiskit-qdeep checkpoint probe")
    except OSError as exc:
        raise CheckpointError(
            f"Checkpoint '{where}' cannot be written: creating a file in '{folder}' failed "
            f"({exc.strerror or exc})."
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            os.remove(probe)
    return where


def _temporary_name(where: str, kind: str) -> str:
    """A unique hidden file name next to ``where`` (same folder, so ``os.replace`` is atomic)."""
    folder, name = os.path.split(os.path.abspath(where))
    return os.path.join(folder, f".{name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.{kind}")


def _update_digest(digest: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        data = obj.detach().cpu().contiguous()
        digest.update(f"T{data.dtype}{tuple(data.shape)}".encode())
        if data.numel():
            digest.update(data.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        digest.update(f"D{len(obj)}".encode())
        for key, value in obj.items():
            _update_digest(digest, key)
            _update_digest(digest, value)
    elif isinstance(obj, (list, tuple)):
        digest.update(f"{type(obj).__name__}{len(obj)}".encode())
        for value in obj:
            _update_digest(digest, value)
    else:
        digest.update(f"{type(obj).__name__}:{obj!r};".encode())


def _checksum(state: dict) -> str:
    """SHA-256 of every value of a checkpoint (tensors by their bytes, ``checksum`` excluded).

    Catches bit rot, which the zip container of ``torch.save`` does not: a flipped byte of a
    weight loads silently.
    """
    digest = hashlib.sha256()
    _update_digest(digest, {k: v for k, v in state.items() if k != "checksum"})
    return f"sha256:{digest.hexdigest()}"


def _save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Writes ``state`` atomically: a temporary file in the same folder, renamed over ``path``.

    A failure (disk full, folder removed) leaves the previous checkpoint intact. Versioned
    checkpoints (with a ``format`` entry) get a ``checksum`` of their content.

    Raises:
        CheckpointError: If the file cannot be written (the cause is chained).
    """
    where = _checkpoint_path(path)
    if "format" in state:
        state = {**state, "checksum": _checksum(state)}
    tmp = _temporary_name(where, "tmp")
    try:
        with open(tmp, "xb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, where)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, OSError):
            raise CheckpointError(
                f"Writing checkpoint '{where}' failed ({exc.strerror or exc}); the previous "
                "checkpoint file (if any) is unchanged."
            ) from exc
        raise


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    line = line if len(line) <= limit else line[: limit - 3] + "..."
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def _read_checkpoint(where: str, kind: str) -> Any:
    """The object stored in ``where``, loaded with ``weights_only=True`` (no code is run).

    Raises:
        CheckpointError: For an unreadable, empty, corrupt or truncated file, or one holding
            objects other than tensors and plain data.
    """
    if os.path.isdir(where):
        raise CheckpointError(f"Checkpoint path '{where}' is a directory, not a {kind} file.")
    try:
        size = os.path.getsize(where)
    except OSError as exc:
        raise CheckpointError(
            f"Checkpoint '{where}' cannot be read ({exc.strerror or exc})."
        ) from exc
    if size == 0:
        raise CheckpointError(
            f"Checkpoint '{where}' is empty (0 bytes), e.g. from an interrupted copy; delete it "
            "to start afresh."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's hints are replaced by the error below
            return torch.load(where, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(exc))
        reason = found.group(1).strip() if found else _first_line(exc)
        if "weights only load failed" in str(exc).lower() and "operand" not in reason.lower():
            raise CheckpointError(
                f"Checkpoint '{where}' holds objects other than tensors and plain data "
                f"({reason}); it was refused without being unpickled (it could run code). This "
                f"is not a {kind} file, or it was tampered with."
            ) from None
        raise CheckpointError(
            f"Checkpoint '{where}' is corrupt or truncated, or not a torch file: the safe "
            f"loader refused it without being unpickled ({reason})."
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # zip, pickle and EOF errors of a damaged file
        raise CheckpointError(
            f"Checkpoint '{where}' is corrupt or truncated, not a readable torch file "
            f"({size} bytes; {_first_line(exc)})."
        ) from None


def _describe_foreign(state: Any) -> str:
    if not isinstance(state, dict):
        return f"it holds a {type(state).__name__}"
    if state and all(isinstance(v, torch.Tensor) for v in state.values()):
        return "it holds a plain dict of tensors (a state_dict?), not a training checkpoint"
    keys = sorted(map(str, state))
    shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
    return f"it holds a dict with the keys [{shown}]"


def _open_checkpoint(where: str, fmt: str, kind: str, legacy_keys: tuple[str, ...]) -> dict:
    """Reads a checkpoint of format ``fmt`` (or a pre-version-1 one with ``legacy_keys``).

    Raises:
        CheckpointError: For unreadable files, other formats and newer versions.
    """
    state = _read_checkpoint(where, kind)
    if isinstance(state, dict) and state.get("format") == fmt:
        version = state.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise CheckpointError(f"Checkpoint '{where}' has an invalid version {version!r}.")
        if version > CHECKPOINT_VERSION:
            raise CheckpointError(
                f"Checkpoint '{where}' has version {version}, written by a newer qiskit-qdeep "
                f"(this one reads up to version {CHECKPOINT_VERSION}); upgrade to resume it."
            )
        missing = [key for key in (*legacy_keys, "settings", "checksum") if key not in state]
        if missing:
            raise CheckpointError(
                f"Checkpoint '{where}' is incomplete: it lacks the entries {missing}."
            )
        if state["checksum"] != _checksum(state):
            raise CheckpointError(
                f"Checkpoint '{where}' is corrupt: its content does not match its checksum "
                "(damaged on disk or in transfer, or edited); delete it to start afresh."
            )
        if not isinstance(state["settings"], dict):
            raise CheckpointError(
                f"Checkpoint '{where}' has malformed settings ({type(state['settings']).__name__})."
            )
        return state
    if isinstance(state, dict) and "format" not in state and all(k in state for k in legacy_keys):
        warnings.warn(
            f"Checkpoint '{where}' was written by an older qiskit-qdeep and records no settings; "
            "resuming it without checking that this call's settings match.",
            UserWarning,
            stacklevel=3,
        )
        return state
    raise CheckpointError(
        f"Checkpoint '{where}' is not a {kind} checkpoint: {_describe_foreign(state)}."
    )


def _fingerprint(tensor: torch.Tensor | None) -> str | None:
    """Shape, dtype and SHA-256 prefix of a tensor's values (``None`` for ``None``)."""
    if tensor is None:
        return None
    data = tensor.detach().cpu().contiguous()
    digest = hashlib.sha256(str((tuple(data.shape), str(data.dtype))).encode())
    if data.numel():
        digest.update(data.reshape(-1).view(torch.uint8).numpy())
    return f"shape {tuple(data.shape)}, {data.dtype}, sha256 {digest.hexdigest()[:16]}"


def _plain(value: Any) -> Any:
    """``value`` as plain data that survives ``torch.save`` / ``torch.load(weights_only=True)``.

    Other objects are recorded by their type only: a primitive's or service's ``repr`` may hold
    credentials, which must never reach a checkpoint file.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        value = torch.as_tensor(np.ascontiguousarray(value))
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist() if value.numel() <= 16 else _fingerprint(value)
    return f"<{type(value).__qualname__}>"


def _module_structure(model: nn.Module) -> list[str]:
    """``"name: Type"`` of every submodule: changes of layer types that state dicts miss."""
    return [f"{name or '<model>'}: {type(m).__qualname__}" for name, m in model.named_modules()]


def _show(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _differences(old: Any, new: Any) -> str:
    """``checkpoint <old>, now <new>``; lists of equal length show their differing items."""
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and len(old) > 4:
        pairs = [(i, a, b) for i, (a, b) in enumerate(zip(old, new)) if a != b]
        shown = "; ".join(f"[{i}] checkpoint {_show(a)}, now {_show(b)}" for i, a, b in pairs[:3])
        return shown + ("; ..." if len(pairs) > 3 else "")
    return f"checkpoint {_show(old)}, now {_show(new)}"


def _check_settings(
    where: str, saved: Any, current: dict, allow: bool, caller: str
) -> dict[str, tuple[Any, Any]]:
    """The settings of ``current`` that differ from the checkpoint's ``saved`` ones.

    Settings recorded on only one side (e.g. by another torch version) are not compared.

    Raises:
        CheckpointError: If some differ and ``allow`` is false (each named with both values).
    """
    if saved is None:  # a pre-version-1 checkpoint (warned about when it was opened)
        return {}
    if not isinstance(saved, dict):
        raise CheckpointError(
            f"Checkpoint '{where}' has malformed settings ({type(saved).__name__})."
        )
    changed = {
        name: (saved[name], value)
        for name, value in current.items()
        if name in saved and saved[name] != value
    }
    if not changed:
        return changed
    lines = "; ".join(f"{name}: {_differences(old, new)}" for name, (old, new) in changed.items())
    if not allow:
        raise CheckpointError(
            f"Checkpoint '{where}' was written with other settings than this call: {lines}. "
            "Resume with the checkpoint's settings, delete the file to start afresh, or pass "
            f"allow_changed_hyperparameters=True to {caller} to go on with the new settings "
            "(the run is then no longer the uninterrupted run of either)."
        )
    warnings.warn(
        f"Resuming checkpoint '{where}' with changed settings; the new values are used: {lines}.",
        UserWarning,
        stacklevel=3,
    )
    return changed


def _check_state_dict(where: str, module: nn.Module, saved: Any, what: str = "model") -> None:
    """Raises a :class:`CheckpointError` unless ``saved`` has ``module``'s names and shapes.

    Checked before anything is loaded, so a mismatch leaves ``module`` untouched.
    """
    if not isinstance(saved, dict) or not all(isinstance(k, str) for k in saved):
        raise CheckpointError(
            f"Checkpoint '{where}' has a malformed {what} state ({type(saved).__name__})."
        )
    current = module.state_dict()
    problems = []
    missing = [k for k in current if k not in saved]
    unexpected = [k for k in saved if k not in current]
    if missing:
        problems.append(f"missing {_show(missing)}")
    if unexpected:
        problems.append(f"unexpected {_show(unexpected)}")
    for key, value in current.items():
        old = saved.get(key)
        if isinstance(value, torch.Tensor) and key in saved:
            if not isinstance(old, torch.Tensor):
                problems.append(f"{key} is a {type(old).__name__}, not a tensor")
            elif old.shape != value.shape:
                problems.append(
                    f"{key} has shape {tuple(old.shape)} in the checkpoint, "
                    f"{tuple(value.shape)} in the {what}"
                )
    if problems:
        shown = "; ".join(problems[:6]) + ("; ..." if len(problems) > 6 else "")
        raise CheckpointError(
            f"Checkpoint '{where}' was written for another {what} architecture: {shown}."
        )


def _load_state_dict(where: str, module: nn.Module, saved: dict, what: str = "model") -> None:
    _check_state_dict(where, module, saved, what)
    try:
        module.load_state_dict(saved)
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(
            f"Checkpoint '{where}' does not fit this {what}: {_first_line(exc, 400)}"
        ) from exc


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _is_count(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 0


def _check_history(where: str, saved: Any, cls: type, epoch: int, per_epoch: tuple[str, ...]):
    """``cls(**saved)`` after checking its entries (lists of numbers, one per epoch)."""
    names = {f.name for f in fields(cls)}
    if not isinstance(saved, dict) or not set(saved) <= names:
        extra = sorted(set(saved) - names) if isinstance(saved, dict) else type(saved).__name__
        raise CheckpointError(f"Checkpoint '{where}' has a malformed history ({extra}).")
    for name, values in saved.items():
        if not isinstance(values, list) or not all(_is_number(v) for v in values):
            raise CheckpointError(
                f"Checkpoint '{where}' has a malformed history: {name} is not a list of numbers."
            )
    for name in per_epoch:
        if name in saved and len(saved[name]) != epoch:
            raise CheckpointError(
                f"Checkpoint '{where}' is inconsistent: its history has {len(saved[name])} "
                f"{name} entries for {epoch} completed epochs."
            )
    return cls(**saved)


def _check_fit_state(where: str, state: dict, n_samples: int) -> TrainingHistory:
    """Validates the entries of a fit_classifier checkpoint; returns its history."""
    epoch = state["epoch"]
    if not _is_count(epoch):
        raise CheckpointError(f"Checkpoint '{where}' has an invalid epoch {epoch!r}.")
    history = _check_history(
        where, state["history"], TrainingHistory, epoch, ("train_loss", "train_accuracy")
    )
    optimizer = state["optimizer"]
    if not isinstance(optimizer, dict) or not {"state", "param_groups"} <= set(optimizer):
        raise CheckpointError(f"Checkpoint '{where}' has a malformed optimizer state.")
    if state["scheduler"] is not None and not isinstance(state["scheduler"], dict):
        raise CheckpointError(f"Checkpoint '{where}' has a malformed scheduler state.")
    generator = state["generator"]
    try:
        torch.Generator().set_state(generator)
    except (RuntimeError, TypeError) as exc:
        raise CheckpointError(
            f"Checkpoint '{where}' has an invalid data-order generator state ({_first_line(exc)})."
        ) from None
    rng, expected = state["torch_rng"], torch.get_rng_state()
    if not isinstance(rng, torch.Tensor) or (rng.dtype, rng.shape) != (
        expected.dtype,
        expected.shape,
    ):
        raise CheckpointError(f"Checkpoint '{where}' has an invalid torch RNG state.")
    position = state.get("position")
    if position is not None:
        if not isinstance(position, dict) or not set(_POSITION_KEYS) <= set(position):
            raise CheckpointError(f"Checkpoint '{where}' has a malformed position in the epoch.")
        order = position["order"]
        if not (isinstance(order, torch.Tensor) and order.dtype == torch.long and order.dim() == 1):
            raise CheckpointError(f"Checkpoint '{where}' has a malformed data order.")
        if len(order) != n_samples:
            raise CheckpointError(
                f"Checkpoint '{where}' stopped in the middle of an epoch over {len(order)} "
                f"samples; this call has {n_samples}, so that epoch cannot go on."
            )
        counts_ok = all(_is_count(position[k]) for k in ("begin", "correct", "seen"))
        if not (
            counts_ok
            and position["begin"] <= len(order)
            and _is_number(position["total"])
            and _is_number(position["seconds"])
        ):
            raise CheckpointError(f"Checkpoint '{where}' has a malformed position in the epoch.")
    return history


def _optimizer_settings(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer's type and per-group hyper-parameters (``lr``, ``weight_decay``, ...)."""
    settings: dict[str, Any] = {"optimizer": type(optimizer).__qualname__}
    groups = optimizer.param_groups
    for i, group in enumerate(groups):
        prefix = "" if len(groups) == 1 else f"param_groups[{i}]."
        for key, value in group.items():
            if key not in ("params", "initial_lr"):
                settings[f"{prefix}{key}"] = _plain(value)
    return settings


def _apply_optimizer_settings(optimizer: torch.optim.Optimizer, groups: list[dict]) -> None:
    """Puts the hyper-parameters of ``groups`` (as before loading) back into ``optimizer``."""
    for group, values in zip(optimizer.param_groups, groups):
        for key, value in values.items():
            if key not in ("params", "initial_lr"):
                group[key] = value


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
    allow_changed_hyperparameters: bool = False,
) -> TrainingHistory:
    r"""Trains a classifier with mini-batches, saving a checkpoint after every epoch.

    With ``checkpoint`` set, the model, optimizer, data-order generator, torch RNG state and
    history are saved after each epoch; if the file exists when the call starts, training resumes
    after the last saved position and continues exactly (bit for bit) as the uninterrupted run
    would.

    **Checkpoint safety.** The path is checked for writing before any training (missing folders
    are created). Checkpoints are written atomically (a temporary file in the same folder,
    renamed over the old one) and read with ``torch.load(weights_only=True)``, so a crafted file
    cannot run code. A checkpoint also records the settings that shape training: the model's
    layer types, the optimizer's type and hyper-parameters (``lr``, ``weight_decay``, ``betas``,
    ...), ``batch_size``, ``loss``, ``lr_schedule``, ``seed``, fingerprints of the training
    and evaluation data and, with the cosine schedule, ``epochs``. Resuming with other values
    raises a :class:`~qiskit_qdeep.exceptions.CheckpointError` naming each of them with its old
    and new value, unless ``allow_changed_hyperparameters=True``. With the constant schedule,
    ``epochs`` may grow between calls (the run is extended). An empty, truncated, corrupt or
    foreign file, a checkpoint of another model (parameter names or shapes) or one holding more
    epochs than ``epochs`` raise a :class:`~qiskit_qdeep.exceptions.CheckpointError` too, before
    the model is modified.

    **Primitive failures.** When a primitive job keeps failing during a batch (a
    :class:`~qiskit_qdeep.exceptions.PrimitiveJobError` after the runner's retries), the state
    *before that batch* (model, optimizer, scheduler, data order, position in the epoch, running
    totals, torch RNG state, history) is written to ``checkpoint`` and the error is raised again
    with a message naming the file. Calling ``fit_classifier`` again with the same arguments (and a
    model whose primitive works) retries that batch and finishes the run as if nothing happened.

    **Data-parallel training.** Under ``torch.distributed`` (an initialised default process
    group, e.g. from ``torchrun``), ``fit_classifier`` trains data-parallel with no change to the
    call. Launch the same script on every process, for example::

        torchrun --nproc_per_node=2 train.py          # one machine, two processes
        torchrun --nnodes=2 --nproc_per_node=2 --rdzv-backend=c10d \
            --rdzv-endpoint=HOST:29500 train.py        # two machines

    where ``train.py`` calls ``torch.distributed.init_process_group("gloo")`` (``"nccl"`` with
    the model on the process's CUDA device) and then ``fit_classifier`` with the **full**
    training data on every rank (the same data, seed and arguments everywhere; ranks passing
    different data get a :class:`~qiskit_qdeep.exceptions.QDeepValueError`). Then:

    * ``batch_size`` is the batch **per process**; a step trains on a global batch of
      ``world_size * batch_size`` samples. Every rank draws the same permutation of the data
      from ``seed`` and the epoch, and the global batch of step ``t`` is samples
      ``[t * world_size * batch_size, (t + 1) * world_size * batch_size)`` of it, exactly the
      batch ``t`` of one process with ``batch_size=world_size * batch_size``. Rank ``r`` takes
      its samples ``r, r + world_size, ...`` (the slicing of
      :class:`~torch.utils.data.DistributedSampler`, without its padding: in a short last
      batch each rank's mean loss is weighted by its share, so the averaged gradient is the
      mean over the global batch). With a deterministic model, ``N`` processes with batch ``b``
      train the same weights as one process with batch ``N * b``, up to rounding.
    * The model is wrapped in :class:`~torch.nn.parallel.DistributedDataParallel` (which
      broadcasts rank 0's weights and averages the gradients); the optimizer is stepped on
      every rank. Random layers (dropout) draw from each process's torch RNG, seeded with
      ``seed`` on every rank.
    * Losses and accuracies are summed over the ranks, so every rank's
      :class:`TrainingHistory` holds the global numbers (``epoch_seconds``: the slowest rank).
      Each rank evaluates its share of ``eval_data`` (samples ``r, r + world_size, ...``).
    * Rank 0 alone writes the checkpoint (atomically; the others wait for it) and shows the
      progress bar; every rank reads the checkpoint when resuming, so with several machines
      it must be on a shared file system. The checkpoint records the world size and each
      rank's torch RNG state: resuming under another world size raises a
      :class:`~qiskit_qdeep.exceptions.CheckpointError` unless
      ``allow_changed_hyperparameters=True``; then an epoch stopped in the middle goes on
      from the same sample of its data order with global batches of the new size.
    * An exception in a rank's forward pass, loss or evaluation is agreed on by all ranks at
      the end of the step: the failing rank raises its own error, the others a
      :class:`~qiskit_qdeep.exceptions.QiskitQDeepError` naming the failed rank and its
      error (a :class:`~qiskit_qdeep.exceptions.PrimitiveJobError` when primitive jobs
      failed; rank 0 then saves the state before that batch, as in one process). An
      exception inside the backward pass (in DDP's gradient all-reduce) cannot be agreed
      on: it ends its process, and the other ranks then fail in the all-reduce ("Connection
      closed by peer" with gloo), or are stopped by ``torchrun``, which ends all workers
      when one fails; otherwise they wait for the process group's timeout.

    Args:
        model: The classifier (outputs logits / scores of shape ``(batch, num_classes)``).
        inputs: Training inputs (array or tensor, first axis = samples).
        targets: Integer class labels ``(n_samples,)``.
        epochs: Total number of epochs (including resumed ones).
        batch_size: Mini-batch size (per process in data-parallel training).
        optimizer: Default ``Adam(model.parameters(), lr)``.
        lr: Learning rate of the default optimizer.
        loss: ``"cross_entropy"`` or ``"mse"`` (against one-hot targets, as in the QCCNN paper).
        lr_schedule: ``"constant"`` or ``"cosine"`` (cosine annealing to zero over ``epochs``,
            stepped once per epoch).
        eval_data: Optional ``(inputs, targets)`` evaluated after each epoch.
        seed: Seeds the data order and torch's global RNG (dropout, initialisation after this).
        checkpoint: Path of the checkpoint file (resumed if it exists).
        stop_after: Return after this many epochs of this call (checkpoint written), e.g. to
            split a long run into time-limited jobs; calling again with the same arguments resumes.
        stop_after_batches: Return after this many mini-batches of this call, possibly in the
            middle of an epoch (checkpoint written at that position; requires ``checkpoint``).
        progress: Show a tqdm bar.
        desc: Label of the progress bar.
        allow_changed_hyperparameters: Resume a checkpoint written with other settings: this
            call's values are used from the resumed position on (optimizer hyper-parameters and
            schedule, batch size, loss, seeds re-seeding the data order and torch's RNG, data),
            with a :class:`UserWarning` listing the changes. The model, optimizer moments,
            history and position are still restored.

    Returns:
        The :class:`TrainingHistory` (of the completed epochs).

    Raises:
        QDeepValueError: For bad sizes, an unknown loss or inputs and targets of different length.
        QDeepTypeError: For a model that is not a module or a checkpoint that is not a path.
        CheckpointError: For an unwritable checkpoint path, or an existing checkpoint that is
            unreadable, foreign, of another model, or of other settings (see above).
        PrimitiveJobError: If a primitive job keeps failing; the message says where the
            checkpoint was written and how to resume.
        QiskitQDeepError: In data-parallel training, on the ranks that did not fail
            themselves when another rank failed.
    """
    group = current_group()
    with setup_guard(group):
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
                "inputs and targets must be non-empty and of equal length, got "
                f"{len(x)} and {len(y)}."
            )
        if not torch.isfinite(x).all():
            raise QDeepValueError("Training inputs contain NaN or inf.")
        path = None
        if checkpoint is not None:  # rank 0 alone creates folders and probes for writing
            main = group is None or group.is_main
            path = _prepare_checkpoint_path(checkpoint) if main else _checkpoint_path(checkpoint)
        saved = None
        if path is not None and os.path.exists(path):  # checked before anything is modified
            saved = _open_checkpoint(path, _FIT_FORMAT, "fit_classifier", _FIT_KEYS)
            _check_fit_state(path, saved, len(x))
            _check_state_dict(path, model, saved["model"])
            _check_rank_rng(path, saved)
        optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
        groups = [dict(g) for g in optimizer.param_groups]  # this call's hyper-parameters
        # what the checkpoint records of this call (everything that shapes training)
        settings = None
        if path is not None:
            settings = {
                "model": _module_structure(model),
                **_optimizer_settings(optimizer),
                "batch_size": batch_size,
                "loss": loss,
                "lr_schedule": lr_schedule,
                "seed": _plain(seed),
                "inputs": _fingerprint(x),
                "targets": _fingerprint(y),
                "eval_data": None if eval_data is None else _eval_fingerprint(eval_data),
            }
            if lr_schedule == "cosine":  # the epoch count sets the annealing period
                settings["epochs"] = epochs
            if group is not None and group.world_size > 1:  # batch_size is per process
                settings["world_size"] = group.world_size
        scheduler = None
        if lr_schedule == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        history = TrainingHistory()
        start_epoch = 0
        position = None  # where an interrupted epoch goes on
        if saved is not None:
            recorded = saved.get("settings")
            compared = dict(settings)
            if isinstance(recorded, dict) and "epochs" in recorded:
                compared["epochs"] = epochs  # the checkpoint's run was annealed over its epochs
            if isinstance(recorded, dict) and (group is not None or "world_size" in recorded):
                # checkpoints without the entry were written by one process
                recorded = {**recorded, "world_size": recorded.get("world_size", 1)}
                compared["world_size"] = 1 if group is None else group.world_size
            changed = _check_settings(
                path, recorded, compared, allow_changed_hyperparameters, "fit_classifier"
            )
            history, start_epoch, position = _resume_fit(
                path, saved, model, optimizer, scheduler, generator, epochs, changed
            )
            if changed:
                _use_new_settings(
                    changed, optimizer, groups, scheduler, generator, seed, start_epoch, epochs
                )
            if group is not None and "seed" not in changed:
                _restore_rank_rng(path, saved, group.rank)
    world_size = 1 if group is None else group.world_size
    net = model
    if group is not None:
        group.check_same(
            {
                "inputs": _fingerprint(x),
                "targets": _fingerprint(y),
                "eval_data": None if eval_data is None else _eval_fingerprint(eval_data),
                "epochs": epochs,
                "batch_size": batch_size,
                "loss": loss,
                "lr_schedule": lr_schedule,
                "seed": _plain(seed),
                "checkpoint": None if checkpoint is None else os.path.abspath(checkpoint),
                "stop_after": stop_after,
                "stop_after_batches": stop_after_batches,
                "model": _module_structure(model),
            }
        )
        net = group.wrap(model)  # DDP: broadcasts rank 0's state, averages the gradients

    def snapshot(epoch: int, rng_state: torch.Tensor, at: dict | None) -> dict:
        return {
            "format": _FIT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "settings": settings,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "generator": generator.get_state(),
            "torch_rng": rng_state,
            "history": history.to_dict(),
            "epoch": epoch,
            "position": at,
        }

    def save(epoch: int, rng_state: torch.Tensor, at: dict | None) -> None:
        if group is None:
            _save_checkpoint(checkpoint, snapshot(epoch, rng_state, at))
            return
        states = group.gather(rng_state)  # every rank's torch RNG, for an exact resume
        with group.agree("while writing the checkpoint"):
            if group.is_main:  # the other ranks wait in agree()
                _save_checkpoint(checkpoint, {**snapshot(epoch, states[0], at), _RANK_RNG: states})

    def stop(
        exc: Exception | None, epoch: int, rng_state: torch.Tensor, at: dict, begin: int | None
    ):
        """Every rank ends here when any rank failed in a batch or the evaluation."""
        failed = group.failures(exc)
        primitive = all(is_primitive for _, _, is_primitive in failed)
        if primitive and checkpoint is not None:  # as in one process: the state before it
            save(epoch, rng_state, at)
        if isinstance(exc, PrimitiveJobError) and primitive:
            _raise_with_checkpoint(exc, checkpoint, None, epoch, begin, save=False)
        if exc is not None:
            raise exc
        stage = f"in epoch {epoch + 1}" + ("" if begin is None else f", sample {begin}")
        advice = _resume_advice(checkpoint, epoch, begin) if primitive else ""
        raise group.peer_error(stage, failed, advice)

    bar = tqdm(
        range(start_epoch, epochs),
        desc=desc,
        disable=not progress or (group is not None and not group.is_main),
        initial=start_epoch,
        total=epochs,
    )
    step = batch_size * world_size  # the global batch
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

        for begin in range(first, len(order), step):
            if stop_after_batches is not None and batches_run >= stop_after_batches:
                save(epoch, torch.get_rng_state(), where(begin))
                return history
            rng_state = torch.get_rng_state()
            idx = order[begin : begin + step]
            if group is None:
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
            else:
                local = idx[group.rank :: world_size]  # this rank's share of the global batch
                count = len(local)
                # DDP averages the ranks' gradients: weighting each rank's mean loss by its share
                # makes that the mean over the global batch, also for uneven last batches
                weight = count * world_size / len(idx)
                if count == 0:  # joins the gradient all-reduce with a zero weight
                    local = idx[:1]
                failure, stats = None, [0.0, 0.0, 0.0]
                try:
                    optimizer.zero_grad()
                    logits = net(x[local])
                    value = _loss(loss, logits, y[local], logits.shape[-1])
                    if count:
                        hits = int((logits.argmax(dim=-1) == y[local]).sum())
                        stats = [value.item() * count, float(hits), float(count)]
                except Exception as exc:  # agreed on below, so no rank waits for this one
                    failure = exc
                flag, batch_total, batch_correct, batch_seen = group.all_sum(
                    [float(failure is not None), *stats]
                )
                if flag:
                    stop(failure, epoch, rng_state, where(begin), begin)
                (value if weight == 1 else value * weight).backward()
                optimizer.step()
                total += batch_total
                correct += round(batch_correct)
                seen += round(batch_seen)
            batches_run += 1
        seconds = spent + time.perf_counter() - began
        if group is not None:
            seconds = group.all_max(seconds)  # every rank records the same history
        postfix = {"loss": f"{total / seen:.4f}"}
        evaluated = None
        if eval_data is not None:
            rng_state = torch.get_rng_state()
            if group is None:
                try:
                    evaluated = evaluate_classifier(model, *eval_data, loss=loss)
                except PrimitiveJobError as exc:
                    _raise_with_checkpoint(
                        exc, checkpoint, snapshot(epoch, rng_state, where(len(order))), epoch, None
                    )
            else:
                failure, stats = None, [0.0, 0.0, 0.0]
                try:
                    stats = _evaluate_shard(model, eval_data, loss, group.rank, world_size)
                except Exception as exc:
                    failure = exc
                flag, eval_total, eval_correct, eval_seen = group.all_sum(
                    [float(failure is not None), *stats]
                )
                if flag:
                    stop(failure, epoch, rng_state, where(len(order)), None)
                evaluated = (round(eval_correct) / eval_seen, eval_total / eval_seen)
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
            save(epoch + 1, torch.get_rng_state(), None)
    return history


def _eval_fingerprint(eval_data: Any) -> list[str | None]:
    """Fingerprints of the evaluation data (it decides the test entries of the history)."""
    try:
        inputs, targets = eval_data
    except (TypeError, ValueError):
        raise QDeepValueError(
            f"eval_data must be a pair (inputs, targets), got {type(eval_data).__name__}."
        ) from None
    return [
        _fingerprint(_as_tensor(inputs, torch.get_default_dtype(), "eval inputs")),
        _fingerprint(_as_labels(targets)),
    ]


def _resume_fit(where, saved, model, optimizer, scheduler, generator, epochs, changed):
    """Loads a checked fit_classifier checkpoint; returns ``(history, epoch, position)``.

    Everything that can be checked is checked before the model or optimizer is modified.
    """
    start_epoch, position = saved["epoch"], saved.get("position")
    if start_epoch > epochs or (start_epoch == epochs and position is not None):
        done = f"{start_epoch} completed epochs" + ("" if position is None else " and a part")
        raise CheckpointError(
            f"Checkpoint '{where}' already holds {done}, more than epochs={epochs}; pass "
            f"epochs >= {start_epoch + (position is not None)} to resume it, or another path."
        )
    groups = saved["optimizer"]["param_groups"]
    sizes = [len(g.get("params", ())) if isinstance(g, dict) else None for g in groups]
    current = [len(g["params"]) for g in optimizer.param_groups]
    if sizes != current:
        raise CheckpointError(
            f"Checkpoint '{where}' was written for an optimizer with parameter groups of "
            f"{sizes} tensors; this optimizer has {current}."
        )
    fresh_optimizer = "optimizer" in changed  # another optimizer type: its state does not apply
    try:
        torch_rng = saved["torch_rng"]
        _load_state_dict(where, model, saved["model"])
        if not fresh_optimizer:
            optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None and saved.get("scheduler") is not None:
            scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(torch_rng)
    except CheckpointError:
        raise
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise CheckpointError(
            f"Checkpoint '{where}' does not fit this training run: {_first_line(exc, 400)}"
        ) from exc
    history = TrainingHistory(**{k: list(v) for k, v in saved["history"].items()})
    return history, start_epoch, position


def _use_new_settings(changed, optimizer, groups, scheduler, generator, seed, start_epoch, epochs):
    """This call's settings replace the checkpoint's (``allow_changed_hyperparameters``).

    The optimizer hyper-parameters and learning-rate schedule, and the seeds, which re-seed the
    data order and torch's RNG from the resumed position on.
    """
    schedule = {"lr_schedule", "epochs", "optimizer"} | {
        name for name in changed if name.split(".")[-1] in groups[0]
    }
    if schedule & set(changed):
        _apply_optimizer_settings(optimizer, groups)
        if scheduler is not None:
            scheduler.base_lrs = [float(g["lr"]) for g in groups]
            scheduler.T_max = max(epochs, 1)
            scheduler.last_epoch = start_epoch
            for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
                group["initial_lr"] = base
                group["lr"] = (
                    scheduler.eta_min
                    + (base - scheduler.eta_min)
                    * (1 + math.cos(math.pi * start_epoch / scheduler.T_max))
                    / 2
                )
    if "seed" in changed:
        generator.manual_seed(seed)
        torch.manual_seed(seed)


def _resume_advice(checkpoint: str | os.PathLike | None, epoch: int, begin: int | None) -> str:
    """What a :class:`PrimitiveJobError` from training says about the checkpoint."""
    at = f"epoch {epoch + 1}" + ("" if begin is None else f", sample {begin} of the epoch")
    if checkpoint is None:
        return (
            f"Training stopped in {at}; nothing was saved. Pass checkpoint=<path> to "
            "fit_classifier to save the training state when a primitive fails."
        )
    return (
        f"Training stopped in {at}; the state before this batch was saved to "
        f"'{os.fspath(checkpoint)}'. To resume, fix or replace the primitive and call "
        "fit_classifier again with the same arguments and the same checkpoint path: training "
        "goes on from that batch exactly as if it had not failed."
    )


def _raise_with_checkpoint(
    exc: PrimitiveJobError,
    checkpoint: str | os.PathLike | None,
    state: dict | None,
    epoch: int,
    begin: int | None,
    *,
    save: bool = True,
) -> None:
    """Saves ``state`` (if there is a checkpoint path) and raises ``exc`` with resume advice.

    With ``save=False`` the state was saved already (by rank 0 of a data-parallel run).
    """
    if checkpoint is not None and save:
        _save_checkpoint(checkpoint, state)
    advice = _resume_advice(checkpoint, epoch, begin)
    raise PrimitiveJobError(
        f"{exc.message} {advice}", cause=exc.cause, attempts=exc.attempts
    ) from exc


def _check_rank_rng(where: str, saved: dict) -> None:
    """Checks the per-rank torch RNG states of a data-parallel checkpoint (if it has them)."""
    states = saved.get(_RANK_RNG)
    if states is None:
        return
    expected = torch.get_rng_state()
    if not isinstance(states, list) or not all(
        isinstance(s, torch.Tensor) and (s.dtype, s.shape) == (expected.dtype, expected.shape)
        for s in states
    ):
        raise CheckpointError(f"Checkpoint '{where}' has invalid per-process torch RNG states.")


def _restore_rank_rng(where: str, saved: dict, rank: int) -> None:
    """Sets this rank's torch RNG state from a data-parallel checkpoint.

    Ranks the checkpoint has no state for (it was written by fewer processes) keep rank 0's,
    which :func:`_resume_fit` restored.
    """
    states = saved.get(_RANK_RNG)
    if states is not None and rank < len(states):
        torch.set_rng_state(states[rank])


def _evaluate_shard(
    model: nn.Module, eval_data: Any, loss: str, rank: int, world_size: int
) -> list[float]:
    """``[loss sum, correct, count]`` of this rank's share of the evaluation data.

    Rank ``r`` evaluates the samples ``r, r + world_size, ...``; the sums of all ranks give the
    accuracy and mean loss over the whole set.
    """
    try:
        inputs, targets = eval_data
    except (TypeError, ValueError):
        raise QDeepValueError(
            f"eval_data must be a pair (inputs, targets), got {type(eval_data).__name__}."
        ) from None
    x = _as_tensor(inputs, torch.get_default_dtype(), "inputs")
    y = _as_labels(targets)
    if len(x) != len(y) or len(x) == 0:
        raise QDeepValueError(
            f"inputs and targets must be non-empty and of equal length, got {len(x)} and {len(y)}."
        )
    x, y = x[rank::world_size], y[rank::world_size]
    if not len(x):
        return [0.0, 0.0, 0.0]
    accuracy, mean_loss = evaluate_classifier(model, x, y, loss=loss)
    return [mean_loss * len(x), float(round(accuracy * len(x))), float(len(x))]
