# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Benchmarks that print ratios against baselines measured in the same run.

.. currentmodule:: qiskit_qdeep.benchmarks

.. autosummary::
   :toctree: ../stubs/

   execution_core
   peers
"""
