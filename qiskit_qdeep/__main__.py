# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""``python -m qiskit_qdeep``: the same command line as the ``qiskit-qdeep`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
