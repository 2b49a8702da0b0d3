"""Execution-core benchmark (same as ``qiskit-qdeep benchmark``); see the README."""

import sys

from qiskit_qdeep.benchmarks.execution_core import main

if __name__ == "__main__":
    sys.exit(main())
