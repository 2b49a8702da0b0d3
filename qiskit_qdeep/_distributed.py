# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The ``torch.distributed`` side of :func:`~qiskit_qdeep.training.fit_classifier`.

A :class:`ProcessGroup` describes the default process group as seen by one process (its rank,
the world size, the device of the collectives) and wraps the few collectives the training loop
needs. Every collective here is called by every rank at the same point of the loop, and every
failure is agreed on (each rank learns which ranks failed and why) before any rank raises, so an
exception on one rank never leaves the others waiting in a collective.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from qiskit.exceptions import QiskitError
from torch import nn

from .exceptions import PrimitiveJobError, QDeepValueError, QiskitQDeepError


def _summary(exc: BaseException, limit: int = 300) -> str:
    text = exc.message if isinstance(exc, QiskitError) else str(exc)  # QiskitError quotes str()
    lines = str(text).strip().splitlines()
    line = lines[0] if lines else ""
    line = line if len(line) <= limit else line[: limit - 3] + "..."
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


class ProcessGroup:
    """The initialised default process group, from this process's point of view.

    Args:
        rank: This process's rank.
        world_size: Number of processes.
        device: Device of the tensors handed to the collectives (CPU for gloo, the current CUDA
            device for NCCL).
    """

    def __init__(self, rank: int, world_size: int, device: torch.device) -> None:
        self.rank = rank
        self.world_size = world_size
        self.device = device

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (which writes checkpoints and shows the progress bar)."""
        return self.rank == 0

    def all_sum(self, values: list[float]) -> list[float]:
        """The sums of ``values`` over all ranks (float64)."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def all_max(self, value: float) -> float:
        """The largest ``value`` of all ranks."""
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return float(tensor.item())

    def gather(self, obj: Any) -> list[Any]:
        """``obj`` of every rank, in rank order (picklable objects)."""
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, obj)
        return gathered

    def barrier(self) -> None:
        """Waits for every rank."""
        dist.barrier()

    def failures(self, exc: BaseException | None) -> list[tuple[int, str, bool]]:
        """``(rank, summary, is_primitive_failure)`` of every rank that failed (a collective)."""
        report = None if exc is None else (_summary(exc), isinstance(exc, PrimitiveJobError))
        return [
            (rank, item[0], item[1])
            for rank, item in enumerate(self.gather(report))
            if item is not None
        ]

    def peer_error(self, stage: str, failed: list[tuple[int, str, bool]], advice: str = ""):
        """The error raised on a rank that did not fail itself when ``failed`` ranks did.

        A :class:`~qiskit_qdeep.exceptions.PrimitiveJobError` when every failure was a primitive
        failure (so ``except PrimitiveJobError`` resume logic works on every rank), else a
        :class:`~qiskit_qdeep.exceptions.QiskitQDeepError`.
        """
        which = "; ".join(f"rank {rank} failed with {summary}" for rank, summary, _ in failed)
        message = (
            f"fit_classifier stopped {stage} on all {self.world_size} processes because "
            f"another process failed: {which}.{' ' + advice if advice else ''}"
        )
        if all(primitive for _, _, primitive in failed):
            return PrimitiveJobError(message)
        return QiskitQDeepError(message)

    @contextlib.contextmanager
    def agree(self, stage: str) -> Iterator[None]:
        """Runs the body on every rank and raises on every rank if it failed on any.

        A rank whose body raised re-raises its own exception; the others raise
        :meth:`peer_error`. The outcome is exchanged with one collective, which also serves as a
        barrier.
        """
        try:
            yield
        except Exception as exc:
            self.failures(exc)
            raise
        failed = self.failures(None)
        if failed:
            raise self.peer_error(stage, failed)

    def check_same(self, values: dict[str, Any]) -> None:
        """Raises on every rank unless every rank passed the same ``values``.

        Raises:
            QDeepValueError: Naming the arguments that differ between ranks.
        """
        gathered = self.gather(values)
        differing = sorted(
            name for name in values if any(other.get(name) != values[name] for other in gathered)
        )
        if differing:
            raise QDeepValueError(
                f"fit_classifier under torch.distributed needs the same {', '.join(differing)} "
                f"on every process (ranks passed different values). Pass the full training "
                "data on every rank: fit_classifier shards it itself."
            )

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in :class:`~torch.nn.parallel.DistributedDataParallel` (gradient averaging).

        On CUDA the model's device is passed as ``device_ids``; on CPU no device is given.
        """
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        if device.type == "cuda":
            return nn.parallel.DistributedDataParallel(
                model, device_ids=[device], output_device=device
            )
        return nn.parallel.DistributedDataParallel(model)


def current_group() -> ProcessGroup | None:
    """The default process group if ``torch.distributed`` is initialised, else ``None``."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    backend = str(dist.get_backend()).lower()
    device = torch.device("cpu")
    if backend == "nccl":  # NCCL only reduces CUDA tensors; "cpu:gloo,cuda:nccl" takes CPU ones
        device = torch.device("cuda", torch.cuda.current_device())
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), device)


@contextlib.contextmanager
def setup_guard(group: ProcessGroup | None) -> Iterator[None]:
    """The start of a data-parallel call: agreed on by all ranks, warnings from rank 0 only.

    Without a process group this does nothing.
    """
    if group is None:
        yield
        return
    with group.agree("while starting"), warnings.catch_warnings():
        if not group.is_main:
            warnings.simplefilter("ignore")
        yield
