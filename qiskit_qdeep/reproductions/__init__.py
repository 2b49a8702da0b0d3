# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Reproductions of the papers' experiments (``qiskit-qdeep reproduce NAME``).

.. currentmodule:: qiskit_qdeep.reproductions

Each reproduction prints progress, writes ``<output>/<name>.json`` with our numbers next to the
paper's and saves matplotlib figures. ``quick=True`` runs a small smoke-test variant.

Importing this package imports every reproduction module (torch, qiskit, scikit-learn), which
registers it in :data:`REGISTRY`. The command line lists and checks names from a static copy,
``qiskit_qdeep/_catalog.py``, so that ``qiskit-qdeep --help`` needs none of these imports; a new
reproduction goes into both (``test/test_cli.py`` fails until they agree).

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
