# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Reproductions of the papers' experiments (``qiskit-qdeep reproduce NAME``).

.. currentmodule:: qiskit_qdeep.reproductions

Each reproduction prints progress, writes ``<output>/<name>.json`` with our numbers next to the
paper's and saves matplotlib figures. ``quick=True`` runs a small smoke-test variant.

.. autosummary::
   :toctree: ../stubs/

   run_reproduction
   ReproductionConfig
   ReproductionResult
"""

from . import clustering, deep_qsvm, hqnn_parallel, qlssvm, quanvolution, qucnn  # noqa: F401  (register their reproductions)
from ._common import (
    REGISTRY,
    Comparison,
    Reproduction,
    ReproductionConfig,
    ReproductionResult,
    run_reproduction,
)

__all__ = [
    "REGISTRY",
    "Comparison",
    "Reproduction",
    "ReproductionConfig",
    "ReproductionResult",
    "run_reproduction",
]
