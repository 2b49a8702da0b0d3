# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The papers' hybrid architectures and their classical counterparts.

.. currentmodule:: qiskit_qdeep.models

HQNN-Parallel
-------------

.. autosummary::
   :toctree: ../stubs/

   HQNNParallel
   HQNNParallelClassical
   count_parameters

Quanvolution models
-------------------

.. autosummary::
   :toctree: ../stubs/

   HQNNQuanv
   CNN1
   CNN4
   QCCNN
   QCCNNClassical
"""

from .hqnn_parallel import (
    PAPER_PARAMETER_COUNTS,
    HQNNParallel,
    HQNNParallelClassical,
    count_parameters,
)
from .quanv_models import (
    CNN1,
    CNN4,
    PAPER_RESULTS,
    PAPER_SETUPS,
    QCCNN,
    QCCNN_FILTERS,
    HQNNQuanv,
    PaperResult,
    QCCNNClassical,
)

__all__ = [
    "HQNNParallel",
    "HQNNParallelClassical",
    "count_parameters",
    "PAPER_PARAMETER_COUNTS",
    "HQNNQuanv",
    "CNN1",
    "CNN4",
    "QCCNN",
    "QCCNNClassical",
    "PAPER_RESULTS",
    "PAPER_SETUPS",
    "PaperResult",
    "QCCNN_FILTERS",
]
