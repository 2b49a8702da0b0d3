# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Shared plumbing of the paper reproductions: configuration, results files, the summary table."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import QDeepValueError


@dataclass
class ReproductionConfig:
    """Options common to every reproduction."""

    quick: bool = False
    """Run a small smoke-test variant (what CI runs)."""
    data_dir: str | None = None
    """Directory holding the dataset files (MNIST IDX files); ``None``: the package's cache."""
    download: bool = False
    """Download missing dataset files from their canonical source."""
    seed: int = 0
    """Base seed; repetitions use ``seed, seed + 1, ...``."""
    output: str = "results"
    """Folder for the JSON results, figures and checkpoints."""
    progress: bool = True
    """Show progress bars."""


@dataclass
class Comparison:
    """One line of a reproduction's summary: our number next to the paper's."""

    quantity: str
    ours: float
    ours_std: float | None = None
    paper: float | None = None
    paper_std: float | None = None
    unit: str = "%"


@dataclass
class ReproductionResult:
    """What a reproduction returns and writes."""

    name: str
    comparisons: list[Comparison] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    quick: bool = False
    """Whether the result comes from the quick smoke-test variant (set by
    :func:`run_reproduction`)."""

    def table(self) -> str:
        """Markdown table: quantity, ours, paper.

        The header of a quick result (:attr:`quick`) says that its values come from the
        smoke-test variant and are not comparable with the paper's.
        """

        def fmt(value, std, unit):
            if value is None:
                return "n/a"
            scale = 100.0 if unit == "%" else 1.0
            if unit == "%":
                text = f"{value * scale:.2f}"
            elif float(value).is_integer():
                text = f"{int(value):,}"
            else:
                text = f"{value:.4g}"
            if std is not None:
                text += f" ± {std * scale:.2f}" if unit == "%" else f" ± {std:.2g}"
            return text + (unit if unit == "%" else f" {unit}" if unit else "")

        name = f"{self.name} (quick smoke test: not comparable)" if self.quick else self.name
        lines = [f"| {name} | ours | paper |", "|---|---:|---:|"]
        for c in self.comparisons:
            lines.append(
                f"| {c.quantity} | {fmt(c.ours, c.ours_std, c.unit)} | "
                f"{fmt(c.paper, c.paper_std, c.unit)} |"
            )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "name": self.name,
            "quick": self.quick,
            "seconds": self.seconds,
            "machine": {"processor": platform.machine(), "cpus": os.cpu_count()},
            "comparisons": [c.__dict__ for c in self.comparisons],
            "details": _jsonable(self.details),
            "figures": self.figures,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


@dataclass(frozen=True)
class Reproduction:
    """A registered reproduction."""

    name: str
    summary: str
    paper: str
    run: Callable[[ReproductionConfig], ReproductionResult]


REGISTRY: dict[str, Reproduction] = {}


def register(name: str, summary: str, paper: str):
    """Decorator registering a reproduction function under ``name``."""

    def wrap(func: Callable[[ReproductionConfig], ReproductionResult]):
        REGISTRY[name] = Reproduction(name, summary, paper, func)
        return func

    return wrap


def run_reproduction(name: str, config: ReproductionConfig | None = None) -> ReproductionResult:
    """Runs a registered reproduction and writes ``<output>/<name>[-quick].json``.

    Raises:
        QDeepValueError: For an unknown name.
    """
    config = config or ReproductionConfig()
    if name not in REGISTRY:
        raise QDeepValueError(f"Unknown reproduction {name!r}; available: {sorted(REGISTRY)}.")
    os.makedirs(config.output, exist_ok=True)
    start = time.perf_counter()
    result = REGISTRY[name].run(config)
    result.seconds = time.perf_counter() - start
    result.quick = config.quick
    suffix = "-quick" if config.quick else ""
    with open(os.path.join(config.output, f"{name}{suffix}.json"), "w", encoding="utf-8") as handle:
        json.dump(result.to_json(), handle, indent=2)
    return result


def output_path(config: ReproductionConfig, name: str) -> str:
    """Path of an output file (suffix ``-quick`` for quick runs)."""
    stem, ext = os.path.splitext(name)
    return os.path.join(config.output, f"{stem}{'-quick' if config.quick else ''}{ext}")


def mean_std(values) -> tuple[float, float]:
    """Mean and (population) standard deviation."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std())
