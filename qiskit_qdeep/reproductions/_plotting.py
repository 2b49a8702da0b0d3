# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Figures of the paper reproductions: one look for every curve, optional matplotlib.

Every line plot of a reproduction goes through :func:`plot_curves`, so that a reader sees the
data at any length: a marker on every curve (also for a one-epoch run), integer steps on the
x-axis with visible limits around a single point, accuracies in percent like the summary table,
the paper's number as a dashed reference line in the colour of its curve, a legend outside the
axes (it never hides data) and, for ``--quick`` runs, a title that says so.

matplotlib is the optional extra ``plot``. A reproduction asks :func:`figures_enabled` once: without
matplotlib it prints a one-line note, still computes its numbers and writes its JSON, and draws
nothing. The figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas,
never through ``pyplot``, so a run inside a notebook leaves the notebook's backend alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import _optional
from ..exceptions import QDeepTypeError, QDeepValueError

#: Marker shapes, one per curve (distinguishable in grey scale too).
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")

#: Curves with more points than this get markers on every k-th point (at most this many).
MAX_MARKERS = 25

#: Feature name given to :func:`qiskit_qdeep._optional.require`.
FEATURE = "the reproduction figures"


def figures_enabled(name: str) -> bool:
    """Whether the reproduction ``name`` can draw its figures (matplotlib is installed).

    Prints a one-line note when it cannot; the reproduction then skips its figures and still
    writes its JSON.

    Args:
        name: The reproduction's name, which leads the note.

    Returns:
        ``True`` when matplotlib can be imported.
    """
    if _optional.available("matplotlib"):
        return True
    distribution, extra = _optional.OPTIONAL["matplotlib"]
    print(
        f"{name}: figures skipped, {distribution} is not installed "
        f"(pip install 'qiskit-qdeep[{extra}]').",
        flush=True,
    )
    return False


def new_figure(
    figsize: tuple[float, float], nrows: int = 1, ncols: int = 1, feature: str = FEATURE, **kwargs
):
    """A matplotlib figure (constrained layout, Agg canvas) and its axes; no ``pyplot`` state.

    Args:
        figsize: Width and height in inches.
        nrows: Rows of axes.
        ncols: Columns of axes.
        feature: What needs matplotlib (leads the error message when it is missing).
        **kwargs: Passed to :meth:`matplotlib.figure.Figure.subplots`.

    Returns:
        ``(figure, axes)``; ``axes`` as :meth:`~matplotlib.figure.Figure.subplots` returns them.

    Raises:
        MissingOptionalDependencyError: When matplotlib is not installed.
    """
    _optional.require("matplotlib", feature)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # constrained layout keeps titles, colour bars and legends outside the axes from overlapping
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(nrows, ncols, **kwargs)


def save_figure(figure: Any, path: str, dpi: int = 120) -> str:
    """Writes ``figure`` to ``path``, cropped to what is drawn (legends outside the axes included).

    Returns:
        ``path``.
    """
    figure.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def quick_title(title: str, quick: str | None) -> str:
    """``title``, with a second line naming the quick smoke-test setup when ``quick`` is given."""
    if not quick:
        return title
    return f"{title}\nquick smoke-test run: {quick}"


def format_value(value: float, std: float | None = None, percent: bool = True) -> str:
    """A paper or measured value as the summary table writes it: ``99.21%``, ``67.00 ± 1.00%``."""
    if not percent:
        return f"{value:.4g}" + (f" ± {std:.2g}" if std is not None else "")
    text = f"{100.0 * value:.2f}"
    if std is not None:
        text += f" ± {100.0 * std:.2f}"
    return text + "%"


def _as_runs(name: str, values: Any) -> np.ndarray:
    """A curve as a ``(runs, steps)`` float array; one run may be given as a flat sequence."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise QDeepValueError(
            f"curves[{name!r}] must be a sequence of numbers or of equally long runs ({exc})."
        ) from exc
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.size == 0:
        raise QDeepValueError(
            f"curves[{name!r}] must hold at least one value per run, got shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise QDeepValueError(f"curves[{name!r}] holds values that are not finite.")
    return array


def _runs_text(count: int) -> str:
    return "1 run" if count == 1 else f"mean ± std of {count} runs"


def _marker_positions(steps: int) -> Any:
    """``markevery`` of a curve: every point, or every k-th (and the last) of a long curve."""
    if steps <= MAX_MARKERS:
        return None
    stride = math.ceil(steps / MAX_MARKERS)
    return sorted({*range(0, steps, stride), steps - 1})


def _tick_step(steps: int) -> int:
    """Tick spacing: 1 up to 12 steps, else 2, 5 or 10 times a power of ten (at most 8 ticks)."""
    if steps <= 12:
        return 1
    for power in range(0, 12):
        for base in (2, 5, 10):
            if steps / (base * 10**power) <= 8:
                return base * 10**power
    return 10**12


def _paper_groups(
    paper: Mapping[str, float | tuple[float, float | None]],
) -> list[tuple[list[str], float, float | None]]:
    """Paper values grouped by value: equal numbers share one reference line."""
    groups: list[tuple[list[str], float, float | None]] = []
    for name, entry in paper.items():
        if isinstance(entry, tuple) and len(entry) != 2:
            raise QDeepValueError(f"paper[{name!r}] must be a number or (value, std), got {entry}.")
        value, std = entry if isinstance(entry, tuple) else (entry, None)
        if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
            raise QDeepTypeError(
                f"paper[{name!r}] must be a number or (value, std), got {type(value).__name__}."
            )
        if not math.isfinite(value):
            raise QDeepValueError(f"paper[{name!r}] must be finite, got {value}.")
        for names, other, other_std in groups:
            if other == value and other_std == std:
                names.append(name)
                break
        else:
            groups.append(([name], float(value), std))
    return groups


def plot_curves(
    ax: Any,
    curves: Mapping[str, Sequence[float] | Sequence[Sequence[float]]],
    *,
    xlabel: str = "epoch",
    ylabel: str = "test accuracy",
    percent: bool = True,
    paper: Mapping[str, float | tuple[float, float | None]] | None = None,
    start: int = 1,
    title: str | None = None,
    quick: str | None = None,
) -> Any:
    """Draws curves (mean ± std over runs) with markers and the paper's reference lines.

    Args:
        ax: Matplotlib axes.
        curves: ``{label: values}``; ``values`` is one run ``(steps,)`` or several runs
            ``(runs, steps)``, drawn as their mean with a band of one standard deviation. With
            ``percent``, fractions in ``[0, 1]`` (drawn in %).
        xlabel: Label of the x-axis (the step: ``"epoch"``, ``"iteration"``).
        ylabel: Label of the y-axis; `` (%)`` is appended with ``percent``.
        percent: Draw fractions as percentages (the unit of the summary table).
        paper: ``{label: value}`` or ``{label: (value, std)}``: the paper's numbers, in the units
            of ``curves``, drawn as dashed horizontal lines in the colour of the curve of the same
            label (grey when several labels share one value).
        start: Step number of the first value (``1``: values after each epoch; ``0``: the first
            value is the initial state).
        title: Axes title.
        quick: Description of the quick smoke-test setup (e.g. ``"1 epoch"``); the title says
            it is a quick run.

    Returns:
        ``ax``.

    Raises:
        QDeepValueError: For an empty ``curves``, an empty, ragged or non-finite curve, or a
            non-finite paper value.
        QDeepTypeError: For a paper value that is not a number.
    """
    _optional.require("matplotlib", FEATURE)
    from matplotlib.ticker import MultipleLocator

    if not curves:
        raise QDeepValueError("curves must hold at least one curve.")
    scale = 100.0 if percent else 1.0
    colors: dict[str, str] = {}
    arrays = {name: _as_runs(name, values) * scale for name, values in curves.items()}
    longest = max(runs.shape[1] for runs in arrays.values())
    counts = {runs.shape[0] for runs in arrays.values()}
    for i, (name, runs) in enumerate(arrays.items()):
        steps = runs.shape[1]
        x = np.arange(start, start + steps)
        mean = runs.mean(axis=0)
        (line,) = ax.plot(
            x,
            mean,
            "-",
            marker=MARKERS[i % len(MARKERS)],
            markersize=5 if steps <= MAX_MARKERS else 4,
            markevery=_marker_positions(steps),
            label=name if len(counts) == 1 else f"{name} ({_runs_text(runs.shape[0])})",
        )
        colors[name] = line.get_color()
        if runs.shape[0] > 1:
            low, high = mean - runs.std(axis=0), mean + runs.std(axis=0)
            if percent:  # a band past 100% (or below 0%) shows values nobody measured
                low, high = np.clip(low, 0.0, 100.0), np.clip(high, 0.0, 100.0)
            ax.fill_between(x, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    for names, value, std in _paper_groups(paper or {}):
        color = colors[names[0]] if len(names) == 1 and names[0] in colors else "0.35"
        ax.axhline(
            value * scale,
            color=color,
            linestyle="--",
            linewidth=1.2,
            label=f"paper, {' / '.join(names)}: {format_value(value, std, percent)}",
        )
    # integer steps on round ticks; a single epoch shows "1", not 0.96 ... 1.04
    ax.xaxis.set_major_locator(MultipleLocator(_tick_step(longest)))
    pad = max(0.5, 0.03 * (longest - 1))
    ax.set_xlim(start - pad, start + longest - 1 + pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} (%)" if percent else ylabel)
    if title is not None or quick:
        ax.set_title(quick_title(title or "", quick))
    ax.grid(alpha=0.3)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize=8,
        title=f"mean ± std of {max(counts)} runs" if counts != {1} and len(counts) == 1 else None,
        title_fontsize=8,
    )
    return ax


def curves_figure(
    path: str,
    curves: Mapping[str, Sequence[float] | Sequence[Sequence[float]]],
    *,
    title: str,
    figsize: tuple[float, float] = (9.0, 4.0),
    **kwargs,
) -> str:
    """Writes a PNG of :func:`plot_curves` on a new figure.

    Args:
        path: File name of the PNG.
        curves: As in :func:`plot_curves`.
        title: Axes title.
        figsize: Size of the figure in inches, the legend to the right of the axes included.
        **kwargs: Passed to :func:`plot_curves` (``xlabel``, ``paper``, ``quick``, ...).

    Returns:
        ``path``.

    Raises:
        MissingOptionalDependencyError: When matplotlib is not installed.
    """
    figure, ax = new_figure(figsize)
    plot_curves(ax, curves, title=title, **kwargs)
    return save_figure(figure, path)
