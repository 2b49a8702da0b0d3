# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The progress bar used by every long-running loop of the package.

``tqdm.auto`` picks the notebook widget inside Jupyter, but without ``ipywidgets`` it writes an
"IProgress not found" warning to stderr (with the interpreter's path) before falling back to the
text bar. Here the widget bar is chosen only when ipywidgets is importable, so notebooks without
it get the plain text bar and no warning.
"""

from __future__ import annotations

import importlib.util


def _widgets_available() -> bool:
    try:
        return importlib.util.find_spec("ipywidgets") is not None
    except (ImportError, ValueError):
        return False


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # noqa: PLC0415  (only to tell notebooks apart)
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


if _in_notebook() and _widgets_available():
    from tqdm.auto import tqdm
else:
    from tqdm.std import tqdm

__all__ = ["tqdm"]
