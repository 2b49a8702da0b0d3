"""Peer benchmark (qiskit-qdeep against PennyLane and TorchQuantum); see its module docstring.

Same as ``python -m qiskit_qdeep.benchmarks.peers``; install the peers in their own environment
first (``pip install 'qiskit-qdeep[peers]'``).
"""

import sys

from qiskit_qdeep.benchmarks.peers import main

if __name__ == "__main__":
    sys.exit(main())
