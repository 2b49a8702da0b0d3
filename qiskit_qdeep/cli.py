# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The ``qiskit-qdeep`` command line.

``qiskit-qdeep demo`` trains the HQNN-Parallel head on scikit-learn digits and times the execution
paths like for like. ``qiskit-qdeep reproduce NAME|all`` runs paper reproductions;
``reproduce --list`` lists them. ``qiskit-qdeep benchmark`` runs the execution-core benchmark.
Each reproduction shows progress bars, writes a JSON file and PNG figures, and prints their
paths. A markdown table of every number with the paper's next to it closes the run.

This module imports only the standard library until a command runs: the help of every command,
``--version`` and ``reproduce --list`` answer without importing numpy, torch or qiskit (the
reproductions are listed from the static catalogue :mod:`qiskit_qdeep._catalog`). Options are
checked before any work starts; a bad one is an argparse error (exit code 2) naming the flag.

A reproduction that fails, whatever the exception, is reported on one line
(``NAME failed: ExceptionType: message``, with the full traceback after it under
``--traceback``) and the others still run; the exit code is then 1. ``Ctrl-C`` stops the whole
run (exit code 130).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
import traceback

from . import __version__
from ._catalog import CATALOG
from ._paths import DATA_ENV_VAR, DEFAULT_CACHE_ROOT, data_cache_root

#: Seeds derived from ``--seed`` (``seed + 1``, ``seed + 2``, ... for repetitions and parallel
#: blocks) must stay in numpy's and scikit-learn's range ``[0, 2**32 - 1]`` too.
SEED_HEADROOM = 1024
#: Largest ``--seed`` accepted.
MAX_SEED = 2**32 - 1 - SEED_HEADROOM
#: Batch whose forward + backward ``qiskit-qdeep demo`` times.
DEMO_BATCH = 64
#: Exit code after ``Ctrl-C`` (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


# ------------------------------------------------------------------------------------------------
# Argument types and checks (argparse errors, before any work)
# ------------------------------------------------------------------------------------------------


def _int_in(low: int, high: int | None = None, *, what: str | None = None):
    """An argparse ``type`` accepting integers in ``[low, high]``."""
    if what is None:
        if high is not None:
            what = f"an integer from {low} to {high}"
        else:
            what = "a positive integer" if low == 1 else f"an integer >= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    return parse


_positive_int = _int_in(1)
_seed = _int_in(
    0,
    MAX_SEED,
    what=f"an integer from 0 to {MAX_SEED} (numpy's seed range 0 to 2**32 - 1, less "
    f"{SEED_HEADROOM} for the seeds derived as seed + 1, seed + 2, ...)",
)


def _directory_problem(path: str, *, may_create: bool, writable: bool) -> str | None:
    """Why ``path`` cannot serve as a directory, or ``None`` when it can.

    Args:
        path: The directory.
        may_create: Whether a missing directory may be created (then its nearest existing
            ancestor must be a writable directory).
        writable: Whether an existing directory must be writable.
    """
    if not path:
        return "must not be empty"
    if os.path.isdir(path):
        if writable and not os.access(path, os.W_OK | os.X_OK):
            return f"directory {path} is not writable"
        return None
    if os.path.lexists(path):
        return f"{path} exists and is not a directory"
    if not may_create:
        return f"no directory {path}"
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"cannot create {path}: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create {path}: {parent} is not writable"
    return None


def _no_check(args: argparse.Namespace) -> None:
    del args


# ------------------------------------------------------------------------------------------------
# Reproductions: listing without heavy imports
# ------------------------------------------------------------------------------------------------


def _reproductions() -> list[tuple[str, str, str]]:
    """``(name, summary, paper)`` of every reproduction.

    From the live registry when :mod:`qiskit_qdeep.reproductions` is already imported (so
    reproductions registered in-process show up), else from the static catalogue, which
    ``test/test_cli.py`` keeps equal to the registry.
    """
    package = sys.modules.get("qiskit_qdeep.reproductions")
    registry = getattr(package, "REGISTRY", None)  # set once every module has registered
    if registry is not None:
        return [(r.name, r.summary, r.paper) for r in registry.values()]
    return [(e.name, e.summary, e.paper) for e in CATALOG]


def _reproduction_listing() -> str:
    return "\n".join(
        textwrap.fill(
            f"{name:<16s} {summary} [{paper}]",
            width=100,
            initial_indent="  ",
            subsequent_indent=" " * 19,
        )
        for name, summary, paper in _reproductions()
    )


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=16)


def default_mnist_dir() -> str:
    """Where the reproductions look for (and download) MNIST without ``--data-dir``."""
    return os.path.join(data_cache_root(), "mnist")


def _check_reproduce(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks names, ``--output`` and ``--data-dir`` before anything runs (``parser.error``)."""
    if args.list or not args.names:
        return
    known = [name for name, _, _ in _reproductions()]
    unknown = [name for name in dict.fromkeys(args.names) if name != "all" and name not in known]
    if unknown:
        parser.error(
            f"argument NAME: unknown reproduction(s) {', '.join(unknown)}; "
            f"available: {', '.join(known)} or 'all'"
        )
    problem = _directory_problem(args.output, may_create=True, writable=True)
    if problem:
        parser.error(f"argument --output: {problem}")
    if args.data_dir is not None:
        problem = _directory_problem(args.data_dir, may_create=args.download, writable=False)
        if problem:
            hint = "" if args.download else " (add --download to create it and download there)"
            parser.error(f"argument --data-dir: {problem}{hint}")
    elif args.download:
        cache = default_mnist_dir()
        problem = _directory_problem(cache, may_create=True, writable=True)
        if problem:
            parser.error(
                f"argument --download: cannot download into the cache: {problem} (pass "
                f"--data-dir DIR or set {DATA_ENV_VAR})"
            )


def summary_table(results) -> str:
    """One markdown table of every reproduction's numbers: reproduction, quantity, ours, paper.

    When a result comes from a quick run, the header says that its values are smoke-test values,
    not comparable with the paper's (each of its rows is also marked ``(quick)``).
    """
    ours = "ours (quick smoke test: not comparable)" if any(r.quick for r in results) else "ours"
    lines = [f"| reproduction | quantity | {ours} | paper |", "|---|---|---:|---:|"]
    for result in results:
        name = result.name + (" (quick)" if result.quick else "")
        for row in result.table().splitlines()[2:]:
            lines.append(f"| {name} {row}")
            name = ""
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _failure_message(exc: BaseException) -> str:
    """``ExceptionType: message``, naming the command line's flags for missing datasets."""
    from .exceptions import DatasetNotFoundError

    problem = getattr(exc, "problem", None)  # set by the dataset loaders, see datasets.mnist
    if isinstance(exc, DatasetNotFoundError) and isinstance(problem, str):
        message = (
            f"{problem} Pass --download to download them there, or --data-dir DIR for a folder "
            "that holds them."
        )
    else:
        message = getattr(exc, "message", None)  # QiskitError's str() is the quoted message
        message = str(message) if isinstance(message, str) else str(exc)
    message = _one_line(message)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _run_reproductions(args: argparse.Namespace) -> int:
    if args.list or not args.names:
        for name, summary, paper in _reproductions():  # one line each, for grep and scripts
            print(f"{name:<16s} {summary} [{paper}]")
        if not args.list:
            print("\nrun one with: qiskit-qdeep reproduce NAME [--quick] (or 'all')")
        return 0

    from .reproductions import REGISTRY, ReproductionConfig, run_reproduction
    from .reproductions._common import output_path

    names = list(
        dict.fromkeys(n for arg in args.names for n in (REGISTRY if arg == "all" else [arg]))
    )
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:  # in the catalogue but not registered: the catalogue test guards against this
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
        except Exception as exc:  # noqa: BLE001  (report any failure, run the others; Ctrl-C stops)
            sys.stdout.flush()
            print(f"{name} failed: {_failure_message(exc)}", file=sys.stderr, flush=True)
            if args.traceback:
                traceback.print_exception(exc)
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
        sys.stdout.flush()
        hint = "" if args.traceback else " (rerun with --traceback for the tracebacks)"
        print(f"failed: {', '.join(failures)}{hint}", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------------------------------------
# Options of demo and benchmark (defined here so --help imports nothing heavy)
# ------------------------------------------------------------------------------------------------


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``qiskit-qdeep demo`` (see :func:`qiskit_qdeep.demo.run_from_args`)."""
    parser.add_argument(
        "--epochs", type=_positive_int, default=15, help="training epochs (default %(default)s)"
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the data split, initialisation and data order (default %(default)s)",
    )
    parser.add_argument(
        "--baseline-samples",
        type=_int_in(1, DEMO_BATCH),
        default=2,
        help=f"samples timed on the qiskit-machine-learning paths, scaled to the batch of "
        f"{DEMO_BATCH} (1 to {DEMO_BATCH}, default %(default)s)",
    )
    parser.add_argument("--skip-timing", action="store_true", help="only train and evaluate")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_benchmark_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``qiskit-qdeep benchmark``.

    The same options as :func:`qiskit_qdeep.benchmarks.execution_core.add_arguments` (a test
    keeps the two equal), with checked values.
    """
    parser.add_argument(
        "--batches",
        type=_positive_int,
        nargs="+",
        default=[64, 1024],
        help="batch sizes to time (default %(default)s)",
    )
    parser.add_argument(
        "--blocks",
        type=_positive_int,
        nargs="+",
        default=[1, 4],
        help="numbers of 5-qubit blocks side by side (default %(default)s)",
    )
    parser.add_argument(
        "--baseline-samples",
        type=_positive_int,
        default=4,
        help="samples timed on the qiskit-machine-learning path, scaled to the batch "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        default=3,
        help="timed repetitions; the median is reported (default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=_seed, default=7, help="seed of inputs and weights (default %(default)s)"
    )
    parser.add_argument(
        "--skip-qiskit-ml",
        action="store_true",
        help="skip the (slow) qiskit-machine-learning baseline",
    )
    parser.add_argument(
        "--raw-single-max",
        type=_int_in(0),
        default=20_000,
        help="largest number of bindings sent as one raw PUB (default %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="torch threads (torch.set_num_threads; default: torch's choice)",
    )


def _run_demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run_from_args(args)


def _run_peer_benchmark(argv: list[str]) -> int:
    """``qiskit-qdeep benchmark --peers ...``: the peer benchmark with its own options."""
    from .benchmarks import peers

    parser = argparse.ArgumentParser(
        prog="qiskit-qdeep benchmark --peers",
        description="qiskit-qdeep's exact engine against PennyLane and TorchQuantum (agreement "
        "checked before timing; medians and ratios from one interleaved run).",
        formatter_class=_formatter,
    )
    peers.add_arguments(parser)
    return peers.run_from_args(parser.parse_args(argv))


def _run_benchmark(args: argparse.Namespace) -> int:
    from .benchmarks import execution_core

    return execution_core.run_from_args(args)


# ------------------------------------------------------------------------------------------------
# Parser and entry point
# ------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task (imports nothing heavy)."""
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
    parser.set_defaults(check=_no_check)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = sub.add_parser(
        "demo",
        help="train HQNN-Parallel on digits and time the execution paths like for like",
        description="Trains the HQNN-Parallel head (4 parallel 5-qubit circuits) on "
        "scikit-learn's 8x8 digits with the exact engine and prints the test accuracy. Then it "
        f"times one forward + backward of a batch of {DEMO_BATCH} through the circuits and "
        "compares like with like: qiskit-qdeep's parameter shift on Aer with qiskit-machine-"
        "learning's EstimatorQNN + TorchConnector on the same Aer estimator, and qiskit-qdeep's "
        "exact engine (backprop) with EstimatorQNN on qiskit's StatevectorEstimator (its default "
        "gradient). The qiskit-machine-learning paths need the [ml] extra and are skipped "
        "without it.",
    )
    add_demo_arguments(demo_parser)
    demo_parser.set_defaults(run=_run_demo)

    cache = default_mnist_dir().replace("%", "%%")  # argparse %-formats help strings
    default_root = os.path.join(DEFAULT_CACHE_ROOT, "mnist")
    repro = sub.add_parser(
        "reproduce",
        help="reproduce paper experiments (JSON results, PNG figures, paper numbers next to ours)",
        description=textwrap.fill(
            "Runs paper reproductions. Each writes <output>/<name>[-quick].json and PNG figures, "
            "and the run ends with a markdown table of our numbers next to the paper's. A "
            "reproduction that fails is reported on one line (the traceback with --traceback) "
            "and the others still run; the exit code is then 1.",
            width=100,
        )
        + "\n\nreproductions:\n"
        + listing,
        formatter_class=_formatter,
    )
    repro.add_argument(
        "names", nargs="*", metavar="NAME", help="reproductions to run, or 'all' for every one"
    )
    repro.add_argument("--list", action="store_true", help="list the reproductions and exit")
    repro.add_argument("--quick", action="store_true", help="small smoke-test variant (minutes)")
    repro.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help=f"existing folder with the MNIST IDX files (created with --download); default: the "
        f"cache {cache} (${DATA_ENV_VAR}/mnist if that variable is set, else {default_root})",
    )
    repro.add_argument(
        "--download",
        action="store_true",
        help="download missing dataset files (into --data-dir or the cache)",
    )
    repro.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help=f"base seed, 0 to {MAX_SEED}; repetitions use seed + 1, ... (default %(default)s)",
    )
    repro.add_argument(
        "--output",
        default="results",
        metavar="DIR",
        help="folder for JSON, figures and checkpoints, created if missing (default %(default)s)",
    )
    repro.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    repro.add_argument(
        "--traceback",
        action="store_true",
        help="print the full traceback of a failing reproduction (default: one line)",
    )
    repro.set_defaults(run=_run_reproductions, check=lambda args: _check_reproduce(repro, args))

    bench = sub.add_parser(
        "benchmark",
        help="execution-core benchmark (medians and speed-ups measured in the same run)",
        description="Times forward + backward of the HQNN-Parallel block on qiskit-machine-"
        "learning, raw Aer PUBs, QuantumLayer parameter shift on Aer and the exact torch engine.",
        epilog="peer benchmark: 'qiskit-qdeep benchmark --peers [OPTIONS]' times the exact engine "
        "against PennyLane (default.qubit, lightning.qubit) and TorchQuantum on the HQNN block, "
        "HQNN-Parallel, HQNN-Quanv and a qubit-scaling sweep, after checking that every framework "
        "computes the same outputs and gradients ('qiskit-qdeep benchmark --peers --help' lists "
        "its options; peers: pip install 'qiskit-qdeep[peers]').",
    )
    add_benchmark_arguments(bench)
    bench.set_defaults(run=_run_benchmark)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code: 0 on success, 1 when a reproduction failed, 2 for bad arguments (argparse
        raises ``SystemExit(2)`` for those, as for ``--help`` with ``SystemExit(0)``), 130 after
        ``Ctrl-C``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["benchmark"] and "--peers" in argv:
        return _run_peer_benchmark([a for a in argv[1:] if a != "--peers"])
    args = build_parser().parse_args(argv)
    args.check(args)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("\nqiskit-qdeep: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
