# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Optional dependencies: checked when a feature needs them, with the extra that installs them.

matplotlib (figures) and qiskit-machine-learning (interop, and the benchmark's baseline) are
extras, not requirements: ``pip install 'qiskit-qdeep[plot]'``, ``'qiskit-qdeep[ml]'`` or
``'qiskit-qdeep[all]'``. Call :func:`require` at the top of the function that needs the package;
it imports nothing else and raises :class:`~qiskit_qdeep.exceptions.MissingOptionalDependencyError`
naming the feature and the install command when the package is missing.
"""

from __future__ import annotations

import importlib.util

#: module name -> (distribution name, extra that provides it)
OPTIONAL = {
    "matplotlib": ("matplotlib", "plot"),
    "qiskit_machine_learning": ("qiskit-machine-learning", "ml"),
}


def available(module: str) -> bool:
    """Whether an optional module can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, feature: str) -> None:
    """Raise a clear error when the optional ``module`` needed by ``feature`` is missing.

    Args:
        module: A key of :data:`OPTIONAL` (``"matplotlib"`` or ``"qiskit_machine_learning"``).
        feature: What needs it, e.g. ``"QMeans.plot"``; it leads the message.

    Raises:
        MissingOptionalDependencyError: When the module is not installed.
    """
    if available(module):
        return
    from .exceptions import MissingOptionalDependencyError

    distribution, extra = OPTIONAL[module]
    raise MissingOptionalDependencyError(
        f"{feature} needs {distribution}, which is not installed. Install it with "
        f"pip install 'qiskit-qdeep[{extra}]' (or pip install {distribution})."
    )
