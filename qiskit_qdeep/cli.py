# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The ``qiskit-qdeep`` command line.

``qiskit-qdeep demo`` trains the HQNN-Parallel head on scikit-learn digits and times the execution
paths; ``qiskit-qdeep benchmark`` runs the execution-core benchmark.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    from .benchmarks import execution_core
    from . import demo

    parser = argparse.ArgumentParser(
        prog="qiskit-qdeep", description="Hybrid quantum deep learning on Qiskit primitives."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo_parser = sub.add_parser("demo", help="train HQNN-Parallel on digits and time the paths")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(run=demo.run_from_args)
    bench = sub.add_parser("benchmark", help="execution-core benchmark (medians and ratios)")
    execution_core.add_arguments(bench)
    bench.set_defaults(run=execution_core.run_from_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
