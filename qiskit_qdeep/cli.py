# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The ``qiskit-qdeep`` command line.

``qiskit-qdeep demo`` trains the HQNN-Parallel head on scikit-learn digits and times the execution
paths. ``qiskit-qdeep reproduce NAME|all`` runs paper reproductions; ``reproduce --list`` lists
them. ``qiskit-qdeep benchmark`` runs the execution-core benchmark. Each reproduction shows
progress bars, writes a JSON file and PNG figures, and prints their paths. A markdown table of
every number with the paper's next to it closes the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time

from . import __version__

#: Help strings of the demo and benchmark options (added where the option has none).
_OPTION_HELP = {
    "demo": {
        "epochs": "training epochs (default %(default)s)",
        "seed": "seed of the data split, initialisation and data order (default %(default)s)",
        "baseline_samples": "samples timed on the qiskit-machine-learning path, scaled to the "
        "batch (default %(default)s)",
    },
    "benchmark": {
        "batches": "batch sizes to time (default %(default)s)",
        "blocks": "numbers of 5-qubit blocks side by side (default %(default)s)",
        "baseline_samples": "samples timed on the qiskit-machine-learning path, scaled to the "
        "batch (default %(default)s)",
        "repeats": "timed repetitions; the median is reported (default %(default)s)",
        "seed": "seed of inputs and weights (default %(default)s)",
        "skip_qiskit_ml": "skip the (slow) qiskit-machine-learning baseline",
        "raw_single_max": "largest number of bindings sent as one raw PUB (default %(default)s)",
    },
}


def _reproduction_listing() -> str:
    from .reproductions import REGISTRY

    return "\n".join(
        textwrap.fill(
            f"{r.name:<16s} {r.summary} [{r.paper}]",
            width=100,
            initial_indent="  ",
            subsequent_indent=" " * 19,
        )
        for r in REGISTRY.values()
    )


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=16)


def _fill_help(parser: argparse.ArgumentParser, helps: dict[str, str]) -> None:
    for action in parser._actions:  # argparse has no public accessor for the added actions
        if action.help is None and action.dest in helps:
            action.help = helps[action.dest]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    from . import demo
    from .benchmarks import execution_core

    listing = _reproduction_listing()
    parser = argparse.ArgumentParser(
        prog="qiskit-qdeep",
        description="Hybrid quantum deep learning on Qiskit V2 primitives.",
        epilog="reproductions (qiskit-qdeep reproduce NAME|all):\n" + listing + "\n\nexamples:\n"
        "  qiskit-qdeep demo --epochs 3 --skip-timing\n"
        "  qiskit-qdeep reproduce all --quick --data-dir path/to/mnist\n"
        "  qiskit-qdeep benchmark --skip-qiskit-ml --batches 64",
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = sub.add_parser(
        "demo",
        help="train HQNN-Parallel on digits and time the execution paths",
        description="Trains the HQNN-Parallel head (4 parallel 5-qubit circuits) on "
        "scikit-learn's 8x8 digits with the exact engine, prints the test accuracy, then times "
        "one forward + backward of a batch of 64 on every execution path.",
    )
    demo.add_arguments(demo_parser)
    _fill_help(demo_parser, _OPTION_HELP["demo"])
    demo_parser.set_defaults(run=demo.run_from_args)

    repro = sub.add_parser(
        "reproduce",
        help="reproduce paper experiments (JSON results, PNG figures, paper numbers next to ours)",
        description="Runs paper reproductions. Each writes <output>/<name>[-quick].json and PNG "
        "figures, and the run ends with a markdown table of our numbers next to the paper's.\n\n"
        "reproductions:\n" + listing,
        formatter_class=_formatter,
    )
    repro.add_argument(
        "names", nargs="*", metavar="NAME", help="reproductions to run, or 'all' for every one"
    )
    repro.add_argument("--list", action="store_true", help="list the reproductions and exit")
    repro.add_argument("--quick", action="store_true", help="small smoke-test variant (minutes)")
    repro.add_argument(
        "--data-dir", default=None, help="folder with the MNIST IDX files (default: the cache)"
    )
    repro.add_argument("--download", action="store_true", help="download missing dataset files")
    repro.add_argument("--seed", type=int, default=0, help="base seed (default %(default)s)")
    repro.add_argument(
        "--output",
        default="results",
        help="folder for JSON, figures and checkpoints (default %(default)s)",
    )
    repro.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    repro.set_defaults(run=_run_reproductions)

    bench = sub.add_parser(
        "benchmark",
        help="execution-core benchmark (medians and speed-ups measured in the same run)",
        description="Times forward + backward of the HQNN-Parallel block on qiskit-machine-"
        "learning, raw Aer PUBs, QuantumLayer parameter shift on Aer and the exact torch engine.",
    )
    execution_core.add_arguments(bench)
    _fill_help(bench, _OPTION_HELP["benchmark"])
    bench.set_defaults(run=execution_core.run_from_args)
    return parser


def summary_table(results) -> str:
    """One markdown table of every reproduction's numbers: reproduction, quantity, ours, paper."""
    lines = ["| reproduction | quantity | ours | paper |", "|---|---|---:|---:|"]
    for result in results:
        name = result.name + (" (quick)" if result.quick else "")
        for row in result.table().splitlines()[2:]:
            lines.append(f"| {name} {row}")
            name = ""
    return "\n".join(lines)


def _run_reproductions(args: argparse.Namespace) -> int:
    from .exceptions import QiskitQDeepError
    from .reproductions import REGISTRY, ReproductionConfig, run_reproduction
    from .reproductions._common import output_path

    if args.list or not args.names:
        for item in REGISTRY.values():
            print(f"{item.name:<16s} {item.summary} [{item.paper}]")
        if not args.list:
            print("\nrun one with: qiskit-qdeep reproduce NAME [--quick] (or 'all')")
        return 0
    names = list(REGISTRY) if args.names == ["all"] else list(dict.fromkeys(args.names))
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        print(
            f"qiskit-qdeep reproduce: unknown reproduction(s) {', '.join(unknown)}; "
            f"available: {', '.join(REGISTRY)} or 'all'",
            file=sys.stderr,
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
    results, failures, files = [], [], []
    start = time.perf_counter()
    for name in names:
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        try:
            result = run_reproduction(name, config)
        except (QiskitQDeepError, OSError) as exc:  # e.g. missing data: report, go on
            message = getattr(exc, "message", None) or str(exc)  # QiskitError quotes str()
            print(f"{name} failed: {message}", file=sys.stderr, flush=True)
            failures.append(name)
            continue
        results.append(result)
        json_path = output_path(config, f"{name}.json")
        files += [json_path, *result.figures]
        print(f"{name}: {result.seconds:.1f} s, results {json_path}", flush=True)
        for figure in result.figures:
            print(f"  figure {figure}")
    print()
    if results:
        print(summary_table(results))
        print()
    print(f"{len(results)} reproduction(s) in {time.perf_counter() - start:.1f} s", end="")
    print(f"; files in {os.path.abspath(config.output)}:" if files else "")
    for path in files:
        print(f"  {path}")
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
