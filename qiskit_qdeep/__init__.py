# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""qiskit-qdeep: hybrid quantum deep learning on Qiskit V2 primitives.

.. currentmodule:: qiskit_qdeep

Data flows one way: datasets feed the torch layers and models and the scikit-learn estimators
(SVMs, clustering), which run their circuits through the execution core
(:mod:`~qiskit_qdeep.primitives`), the only place that calls a primitive.

Subpackages
===========

.. autosummary::

   primitives
   nn
   circuit.library
   models
   linear_solvers
   algorithms
   svm
   clustering
   datasets
   training
   reproductions
   benchmarks
   exceptions
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
