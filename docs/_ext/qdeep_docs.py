# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Sphinx helpers of the qiskit-qdeep documentation.

* Copies ``tutorials/*.ipynb`` (executed, outputs stored) into ``docs/tutorials/`` so nbsphinx can
  render them without executing them (the copy is ignored by git).
* ``.. reproduction-results:: NAME`` renders ``docs/reproductions/NAME.json`` (written by
  ``qiskit-qdeep reproduce NAME``): our numbers next to the paper's, with the same formatting as the
  table the command prints, and the figures of the run found next to the JSON.
* ``.. reproduction-index::`` lists every registered reproduction with its command, so a new
  reproduction shows up on the page without editing it.
* Leaves out the metadata-routing methods scikit-learn adds to every estimator class.

A missing or malformed results file is a Sphinx warning, hence an error under ``-W``.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)

DOCS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(DOCS_DIR)
RESULTS_DIR = os.path.join(DOCS_DIR, "reproductions")


def copy_tutorials(source: str, target: str) -> list[str]:
    """Copies the notebooks of ``source`` into ``target`` (only changed ones); removes stale ones.

    Returns:
        The notebook file names now in ``target``.
    """
    os.makedirs(target, exist_ok=True)
    names = sorted(n for n in os.listdir(source) if n.endswith(".ipynb"))
    for name in names:
        src, dst = os.path.join(source, name), os.path.join(target, name)
        if not os.path.exists(dst) or not filecmp.cmp(src, dst, shallow=False):
            shutil.copyfile(src, dst)
    for name in os.listdir(target):
        if name.endswith(".ipynb") and name not in names:
            os.remove(os.path.join(target, name))
    return names


def _builder_inited(app) -> None:
    copy_tutorials(os.path.join(REPO_DIR, "tutorials"), os.path.join(app.srcdir, "tutorials"))


def load_results(name: str) -> dict:
    """The JSON results of a reproduction stored in ``docs/reproductions``.

    Raises:
        FileNotFoundError: If there is no ``<name>.json``.
        ValueError: If the file is not a reproduction result.
    """
    path = os.path.join(RESULTS_DIR, f"{name}.json")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or "comparisons" not in data:
        raise ValueError(f"{path} has no 'comparisons' list")
    return data


def comparison_rows(data: dict) -> list[tuple[str, str, str]]:
    """``(quantity, ours, paper)`` rows, formatted exactly as ``qiskit-qdeep reproduce`` prints."""
    from qiskit_qdeep.reproductions import ReproductionResult
    from qiskit_qdeep.reproductions._common import Comparison

    result = ReproductionResult(
        name=data.get("name", "?"),
        comparisons=[Comparison(**item) for item in data["comparisons"]],
    )
    rows = []
    for line in result.table().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) != 3:
            raise ValueError(f"unexpected table line {line!r}")
        rows.append((cells[0], cells[1], cells[2]))
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], widths: list[int]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)

    def row(cells, make):
        node = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += make(cell)
            node += entry
        return node

    head = nodes.thead()
    head += row(header, lambda text: nodes.paragraph(text=text))
    group += head
    body = nodes.tbody()
    for cells in rows:
        body += row(cells, lambda item: item if isinstance(item, nodes.Node) else _para(item))
    group += body
    return table


def _para(text: str) -> nodes.paragraph:
    return nodes.paragraph(text=text)


def _literal_para(text: str) -> nodes.paragraph:
    para = nodes.paragraph()
    para += nodes.literal(text=text)
    return para


class ReproductionResults(SphinxDirective):
    """``.. reproduction-results:: NAME``: table and figures from ``reproductions/NAME.json``."""

    required_arguments = 1
    option_spec = {"no-figures": directives.flag}

    def run(self) -> list[nodes.Node]:
        """The results paragraph, table and figures (nothing, with a warning, on a bad file)."""
        name = self.arguments[0]
        path = os.path.join(RESULTS_DIR, f"{name}.json")
        self.env.note_dependency(path)
        try:
            data = load_results(name)
            rows = comparison_rows(data)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            LOGGER.warning(
                "reproduction-results: cannot read results of %r: %s",
                name,
                exc,
                location=self.get_location(),
            )
            return []
        out: list[nodes.Node] = []
        note = nodes.paragraph()
        note += nodes.Text("Command: ")
        note += nodes.literal(text=f"qiskit-qdeep reproduce {name}")
        note += nodes.Text("; results file: ")
        note += nodes.literal(text=f"docs/reproductions/{name}.json")
        machine = data.get("machine") or {}
        if machine.get("cpus"):
            note += nodes.Text(f" ({machine['cpus']}-CPU {machine.get('processor', '')} machine")
            note += nodes.Text(", quick variant)" if data.get("quick") else ", full run)")
        out.append(note)
        out.append(_table(("quantity", "ours", "paper"), rows, [60, 20, 20]))
        if "no-figures" not in self.options:
            for figure in data.get("figures") or []:
                base = os.path.basename(figure)
                if os.path.exists(os.path.join(RESULTS_DIR, base)):
                    image = nodes.image(uri=f"/reproductions/{base}", alt=base)
                    self.env.note_dependency(os.path.join(RESULTS_DIR, base))
                    out.append(image)
                else:
                    LOGGER.warning(
                        "reproduction-results: figure %s of %r is not in docs/reproductions/",
                        base,
                        name,
                        location=self.get_location(),
                    )
        return out


class ReproductionIndex(SphinxDirective):
    """``.. reproduction-index::``: every registered reproduction, its paper and its command."""

    def run(self) -> list[nodes.Node]:
        """One table row per entry of the reproduction registry."""
        from qiskit_qdeep.reproductions import REGISTRY

        rows = []
        for item in REGISTRY.values():
            stored = os.path.exists(os.path.join(RESULTS_DIR, f"{item.name}.json"))
            rows.append(
                (
                    _literal_para(f"qiskit-qdeep reproduce {item.name}"),
                    item.summary,
                    item.paper,
                    "full run below" if stored else "quick variant in CI; full run pending",
                )
            )
        return [_table(("command", "what it runs", "paper", "results"), rows, [25, 45, 15, 15])]


_SKLEARN_ROUTING = re.compile(r"^(set_\w+_request|get_metadata_routing|set_output)$")


def _skip_member(app, what, name, obj, skip, options):
    """Skips scikit-learn's metadata-routing and set_output methods (documented by scikit-learn)."""
    if what == "class" and _SKLEARN_ROUTING.match(name):
        return True
    return None


def setup(app):
    """Registers the directives, the tutorial copy and the member filter."""
    app.connect("builder-inited", _builder_inited)
    app.connect("autodoc-skip-member", _skip_member)
    app.add_directive("reproduction-results", ReproductionResults)
    app.add_directive("reproduction-index", ReproductionIndex)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
