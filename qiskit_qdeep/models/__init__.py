# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The papers' hybrid architectures and their classical counterparts.

.. currentmodule:: qiskit_qdeep.models

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
