# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Datasets used by the paper reproductions: MNIST (IDX), the QCCNN Tetris bricks, 8x8 digits.

.. currentmodule:: qiskit_qdeep.datasets

MNIST and Fashion-MNIST
=======================

.. autosummary::
   :toctree: ../stubs/

   load_mnist
   download_mnist
   default_data_dir
   read_idx
   write_idx
   resize_area

Tetris (QCCNN)
==============

.. autosummary::
   :toctree: ../stubs/

   make_tetris
   tetris_configurations

Digits
======

.. autosummary::
   :toctree: ../stubs/

   load_digits_dataset
"""

from .digits import load_digits_dataset
from .mnist import default_data_dir, download_mnist, load_mnist, read_idx, resize_area, write_idx
from .tetris import TETRIS_CONFIGURATION_COUNTS, make_tetris, tetris_configurations

__all__ = [
    "load_mnist",
    "download_mnist",
    "default_data_dir",
    "read_idx",
    "write_idx",
    "resize_area",
    "make_tetris",
    "tetris_configurations",
    "TETRIS_CONFIGURATION_COUNTS",
    "load_digits_dataset",
]
