# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The ``qiskit-qdeep`` command line.

``qiskit-qdeep demo`` trains the HQNN-Parallel head on scikit-learn digits and times the execution
paths; ``qiskit-qdeep reproduce NAME`` runs a paper reproduction (``reproduce --list`` lists them);
``qiskit-qdeep benchmark`` runs the execution-core benchmark.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    from . import demo
    from .benchmarks import execution_core

    parser = argparse.ArgumentParser(
        prog="qiskit-qdeep", description="Hybrid quantum deep learning on Qiskit primitives."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo_parser = sub.add_parser("demo", help="train HQNN-Parallel on digits and time the paths")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(run=demo.run_from_args)
    from .reproductions import REGISTRY

    listing = "\n".join(f"  {r.name:<14s} {r.summary} [{r.paper}]" for r in REGISTRY.values())
    repro = sub.add_parser(
        "reproduce",
        help="reproduce a paper experiment (JSON results, figures, paper numbers next to ours)",
        description="Reproductions:\n" + listing,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    repro.add_argument("names", nargs="*", metavar="NAME", help="reproductions to run, or 'all'")
    repro.add_argument("--list", action="store_true", help="list the reproductions and exit")
    repro.add_argument("--quick", action="store_true", help="small smoke-test variant")
    repro.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files")
    repro.add_argument("--download", action="store_true", help="download missing dataset files")
    repro.add_argument("--seed", type=int, default=0)
    repro.add_argument("--output", default="results", help="folder for JSON, figures, checkpoints")
    repro.add_argument("--no-progress", action="store_true")
    repro.set_defaults(run=_run_reproductions)
    bench = sub.add_parser("benchmark", help="execution-core benchmark (medians and ratios)")
    execution_core.add_arguments(bench)
    bench.set_defaults(run=execution_core.run_from_args)
    return parser


def _run_reproductions(args: argparse.Namespace) -> int:
    from .reproductions import REGISTRY, ReproductionConfig, run_reproduction

    if args.list or not args.names:
        for item in REGISTRY.values():
            print(f"{item.name:<14s} {item.summary} [{item.paper}]")
        return 0
    names = list(REGISTRY) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        print(
            f"unknown reproduction(s) {unknown}; available: {', '.join(REGISTRY)}", file=sys.stderr
        )
        return 2
    config = ReproductionConfig(
        quick=args.quick,
        data_dir=args.data_dir,
        download=args.download,
        seed=args.seed,
        output=args.output,
        progress=not args.no_progress,
    )
    for name in names:
        result = run_reproduction(name, config)
        print()
        print(result.table())
        print(f"({result.seconds:.1f} s; figures: {', '.join(result.figures)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
