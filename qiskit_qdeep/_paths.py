# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Where qiskit-qdeep keeps downloaded datasets.

Standard library only, so the command line can show the default cache in its help without
importing numpy, torch or qiskit. :func:`qiskit_qdeep.datasets.default_data_dir` builds on it.
"""

from __future__ import annotations

import os

#: Environment variable naming the root of the download cache.
DATA_ENV_VAR = "QISKIT_QDEEP_DATA"

#: Cache root used when :data:`DATA_ENV_VAR` is unset or empty (``~`` expanded when used).
DEFAULT_CACHE_ROOT = os.path.join("~", ".cache", "qiskit_qdeep")


def data_cache_root() -> str:
    """Root of the dataset cache: ``$QISKIT_QDEEP_DATA`` if set, else ``~/.cache/qiskit_qdeep``.

    Returns:
        The root, with ``~`` expanded (the directory need not exist).
    """
    return os.path.expanduser(os.environ.get(DATA_ENV_VAR) or DEFAULT_CACHE_ROOT)
