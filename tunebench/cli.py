"""The ``tunebench`` command: ``list``, ``run``, ``report``, ``record``, ``regress`` and ``retrain``.

Exit status: 0 success, 2 bad input (unknown suite, strategy or benchmark, bad option,
missing or malformed data or suite file, a full disk), 130 / 143 stopped by Ctrl-C / SIGTERM,
1 internal failure, or ``regress`` found a regression (or could not test).
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import time
import traceback
from pathlib import Path

#: Whether the user chose TensorFlow's C++ log level; if not, tunebench hides its start-up and
#: graph lines ("3", set before TensorFlow loads) and ``run --verbose`` shows them all ("0").
USER_SET_TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tunebench import SCHEMA_VERSION, __version__  # noqa: E402
from tunebench.backend import prepare_determinism_environment  # noqa: E402
from tunebench.limits import (MAX_BUDGET_EPOCHS, MAX_CONFIGS, MAX_EPOCHS, MAX_REPEATS, MAX_SEED,  # noqa: E402
                              MAX_WORKERS, count_option)
from tunebench.errors import InputError  # noqa: E402
from tunebench.files import DISK_FULL, disk_full_message  # noqa: E402
from tunebench.interrupts import EXIT_STATUS, Stopped, handle_stop_signals  # noqa: E402
from tunebench.precision import PRECISIONS  # noqa: E402
from tunebench.progress import plural  # noqa: E402
from tunebench.redaction import redact_text  # noqa: E402

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


#: The arguments :func:`main` parses, for the hints on an old spelling in a parse error.
_ARGV: list[str] = []


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad options, as we want; this sharpens the message: its prefix, no
    URL password, and the new spelling where an old one was given."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"tunebench: error: {redact_text(message + _old_spelling_hint(message))}\n")


def _old_spelling_hint(message: str) -> str:
    """What to write instead, where the error comes from ``--mlflow URI`` (``--mlflow`` took a
    value until it became a plain switch beside ``--mlflow-uri``)."""
    for index, token in enumerate(_ARGV):
        if token.startswith("--mlflow="):
            return f"; --mlflow takes no value: give the store as --mlflow-uri {token.split('=', 1)[1]}"
        following = _ARGV[index + 1] if index + 1 < len(_ARGV) else ""
        if token == "--mlflow" and following and (following in message or "://" in following):
            return (f"; --mlflow takes no value: if {following} is an MLflow store, give it as "
                    f"--mlflow-uri {following}")
    return ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tunebench", description="Compare hyperparameter search strategies under identical budgets.")
    parser.add_argument("--version", action="version",
                        version=f"tunebench {__version__} (results schema version {SCHEMA_VERSION})")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("list", help="list benchmarks, strategies and suites")

    run = commands.add_parser("run", help="run a suite")
    run.add_argument("suite", help="a named suite (see 'tunebench list') or a path to a .toml file")
    run.add_argument("--out", help="output directory (default: results/<suite name>)")
    run.add_argument("--data-dir", help="dataset directory (default: $TUNEBENCH_DATA, else datasets/data)")
    run.add_argument("--seeds", help="a seed count (3 means seeds 0, 1, 2), or seeds and ranges: 0,5,7 or 10-19 or 0-4,9")
    run.add_argument("--seed", type=count_option(MAX_SEED), action="append", metavar="S",
                     help="run seed S alone (repeat it for several); instead of --seeds")
    run.add_argument("--strategies", help="comma-separated strategy names")
    run.add_argument("--benchmarks", help="comma-separated benchmark names (among the suite's)")
    run.add_argument("--budget", type=count_option(MAX_BUDGET_EPOCHS), help="epoch budget per run, for every selected benchmark")
    run.add_argument("--max-seconds", type=float, help="wall-clock cap per run: no new trial starts after it")
    run.add_argument("--id", help="mnist-mlp: the 8-digit ID its unit ranges derive from")
    run.add_argument("--precision", choices=PRECISIONS,
                     help="numeric precision of live training (default: the suite's, else float32; "
                          "auto = bfloat16 where the CPU runs it natively)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace results already in the output directory (at the end), and discard an "
                          "interrupted run there that cannot be resumed (another suite, options or schema)")
    run.add_argument("--parallel-runs", "--workers", dest="workers", type=count_option(MAX_WORKERS), default=1,
                     metavar="N", help="N runs at once on a local Dask cluster of N worker processes (default 1: in "
                                       "this process; --workers is the former name)")
    run.add_argument("--parallel-trials", type=count_option(MAX_WORKERS), metavar="N",
                     help="benchmarks that train (not replays): keep N trials of each run in flight, trained on "
                          "min(N, cores) worker processes and told in the order asked (default: the suite's, else 1)")
    run.add_argument("--simulated-workers", type=count_option(MAX_WORKERS), metavar="N",
                     help="replay benchmarks: N workers on one simulated clock, each trial occupying one for its "
                          "recorded epoch seconds, told in the order they finish (default: the suite's, else one "
                          "trial after another)")
    run.add_argument("--budget-seconds", type=float, metavar="S",
                     help="replay benchmarks: a budget of S simulated seconds as well as the epochs: a trial starts "
                          "only if it ends by S on the simulated clock (one simulated worker unless "
                          "--simulated-workers says more)")
    run.add_argument("--charge-decision-time", action="store_true",
                     help="replay benchmarks: each trial's measured ask and tell seconds move the simulated clock "
                          "(off by default: the rows then depend on the machine)")
    run.add_argument("--scheduler", metavar="URL",
                     help="run on an existing Dask cluster (tcp://HOST:8786); --out and --data-dir must be "
                          "the same paths on every worker (a shared filesystem)")
    run.add_argument("--verbose", action="store_true",
                     help="when stderr is not a terminal, also a line per finished trial (always one per finished run); "
                          "TensorFlow's start-up and C++ log lines too (hidden by default, unless "
                          "TF_CPP_MIN_LOG_LEVEL is set)")
    run.add_argument("--optuna-storage", metavar="URL",
                     help="Optuna storage for the tpe strategy's studies (e.g. sqlite:///optuna.db)")
    run.add_argument("--mlflow", action="store_true",
                     help="log the finished results to MLflow, in the store <out>/mlruns (or --mlflow-uri's)")
    run.add_argument("--mlflow-uri", metavar="URI",
                     help="log the finished results to this MLflow tracking store (a server, sqlite:///mlflow.db, "
                          "a folder)")

    record = commands.add_parser("record", help="record a benchmark's curves for a seeded design (for replay)")
    record.add_argument("benchmark", help="a live benchmark name (see 'tunebench list')")
    record.add_argument("--configs", type=count_option(MAX_CONFIGS), default=300, help="Latin-hypercube configurations (default 300)")
    record.add_argument("--grid-configs", type=count_option(MAX_CONFIGS), default=30,
                        help="grid points added, a seeded sample if the grid is larger (default 30)")
    record.add_argument("--epochs", type=count_option(MAX_EPOCHS), help="epochs per configuration (default: the benchmark's full fidelity)")
    record.add_argument("--subset", help="stratified data subset: a count or fraction, or train=N,val=N,test=N")
    record.add_argument("--seed", type=count_option(MAX_SEED), default=0, help="seed of the design and the data split (default 0)")
    record.add_argument("--chunk-size", type=count_option(MAX_CONFIGS), default=10, help="configurations per chunk file (default 10)")
    record.add_argument("--max-chunks", type=count_option(MAX_CONFIGS), help="stop after this many new chunks, per worker (resume later)")
    record.add_argument("--out", default="results/recordings", help="recordings folder (default results/recordings)")
    record.add_argument("--data-dir", help="dataset directory (default: $TUNEBENCH_DATA, else datasets/data)")
    record.add_argument("--id", help="mnist-mlp: the 8-digit ID its unit ranges derive from")
    record.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="numeric precision of the training (default float32; stored in the header)")
    record.add_argument("--processes", "--workers", dest="workers", type=count_option(MAX_WORKERS), default=1,
                        metavar="N", help="N processes recording side by side, each training one configuration at a "
                                          "time (default 1; for a machine with a GPU or more cores than one training "
                                          "uses; --workers is the former name)")
    record.add_argument("--draw", type=count_option(MAX_REPEATS), default=1,
                        help="2, 3, ...: train the design again with other training seeds, as that draw; replay "
                             "then answers each configuration's mean over its draws (default 1: the recording)")

    report = commands.add_parser("report", help="write report.md and figures/ from a results directory's CSVs")
    report.add_argument("results_dir", help="a results directory (trials.csv, curves.csv, runs.csv, manifest.json)")
    report.add_argument("--ignore-checksums", action="store_true",
                        help="read results whose files do not match their manifest's sha256 (edited, or mid-replacement)")
    report.add_argument("--other-workers", action="append", default=[], metavar="DIR",
                        help="results of the same benchmarks at another --simulated-workers count: a column of the "
                             "report's budget x workers table (repeatable)")
    report.add_argument("--validation", action="append", default=[], metavar="DIR",
                        help="results whose runs join this folder's for the replay-against-live section only, e.g. "
                             "results/validation/live and results/validation/replay (repeatable; an unfinished one "
                             "is named with its progress)")

    regress = commands.add_parser("regress", help="the gate: run the regress suite (replayed, no data) and compare it "
                                                 "with the baseline")
    regress.add_argument("--suite", default="regress", help="the suite to run (default: regress, 10 seeds of replay)")
    regress.add_argument("--baseline", help="baseline folder (default: results/baseline here, else the one installed "
                                            "with tunebench; --update-baseline writes results/baseline here)")
    regress.add_argument("--out", default="results/regress", help="where this run's results go (replaced each time)")
    regress.add_argument("--effect", type=float, help="accuracy drop that counts as a regression "
                                                      "(default: the baseline's, else 0: any consistent drop)")
    regress.add_argument("--alpha", type=float, default=0.05, help="family-wise level, Holm-corrected (default 0.05)")
    regress.add_argument("--update-baseline", action="store_true", help="make this run the new baseline")
    regress.add_argument("--overwrite", action="store_true",
                         help="replace what --out holds even if it is not an earlier run of this suite")
    regress.add_argument("--parallel-runs", "--workers", dest="workers", type=count_option(MAX_WORKERS), default=1,
                         metavar="N", help="N runs at once on a local Dask cluster of N processes (default 1; "
                                           "--workers is the former name)")

    retrain = commands.add_parser("retrain", help="retrain incumbents with other training seeds: the training-noise "
                                                  "floor, written to RESULTS_DIR/retrain.csv and shown by 'report'")
    retrain.add_argument("results_dir", help="a finished results directory (tunebench run)")
    retrain.add_argument("--benchmarks", help="comma-separated benchmark names (default: all of the results')")
    retrain.add_argument("--runs-per-strategy", type=count_option(MAX_REPEATS), default=2,
                         help="incumbents per benchmark and strategy, from the runs with the lowest seeds (default 2)")
    retrain.add_argument("--repeats", type=count_option(MAX_REPEATS), default=3, help="trainings of each incumbent (default 3, at least 2)")
    retrain.add_argument("--data-dir", help="dataset directory (default: $TUNEBENCH_DATA, else datasets/data)")
    return parser


def cmd_list() -> int:
    from tunebench.benchmarks import BENCHMARKS
    from tunebench.plugins import load_entry_points
    from tunebench.strategies import STRATEGIES
    from tunebench.suite import load_suite, named_suites

    load_entry_points()  # installed plug-ins are listed too
    width = max(len(name) for name in [*BENCHMARKS, *STRATEGIES, *named_suites()]) + 2
    print("benchmarks:")
    for spec in BENCHMARKS.values():
        data = ("replays its recording" if spec.recording else
                f"dataset {spec.dataset}" if spec.dataset else "brings its own data")
        print(f"  {spec.name:<{width}}{spec.description} [{data}, {spec.max_epochs} epochs]")
    print("strategies:")
    for spec in STRATEGIES.values():
        print(f"  {spec.name:<{width}}{spec.description}")
    print("suites:")
    for name in named_suites():
        suite = load_suite(name)
        print(f"  {name:<{width}}{suite.description}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from tunebench.datasets import resolve_data_dir
    from tunebench.runner import MAX_CONSECUTIVE_FAILURES, run_suite
    from tunebench.schema import RunStatus
    from tunebench.suite import load_suite
    from tunebench.suite_overrides import apply_overrides

    if args.verbose and not USER_SET_TF_LOG_LEVEL:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"  # read when TensorFlow loads, after this (in workers too)
    suite = load_suite(args.suite)
    if args.seed and args.seeds is not None:
        raise InputError("give the seeds either as --seeds or as --seed, not both")
    seeds = ",".join(str(seed) for seed in args.seed) + "," if args.seed else args.seeds
    suite = apply_overrides(suite, seeds=seeds, strategies=args.strategies, benchmarks=args.benchmarks,
                            budget=args.budget, max_seconds=args.max_seconds, options={"id": args.id},
                            precision=args.precision, parallel_trials=args.parallel_trials,
                            simulated_workers=args.simulated_workers, budget_seconds=args.budget_seconds,
                            charge_decision_time=args.charge_decision_time)
    out_dir = Path(args.out) if args.out else Path("results") / suite.name
    outcome = run_suite(suite, out_dir, resolve_data_dir(args.data_dir), overwrite=args.overwrite,
                        workers=args.workers, scheduler=args.scheduler, optuna_storage=args.optuna_storage,
                        mlflow_uri=args.mlflow_uri if args.mlflow_uri is not None else "" if args.mlflow else None,
                        verbose=args.verbose)
    resumed = " (resumed)" if outcome.resumed else ""
    print(f"{plural(outcome.runs, 'run')} in {outcome.wall_seconds:.1f} s{resumed}; wrote {', '.join(str(p) for p in outcome.files)}")
    if outcome.failed_trials:
        print(f"tunebench: {outcome.failed_trials} trial(s) failed (trials.csv: status failed, column error)",
              file=sys.stderr)
    if outcome.stopped_runs:
        print(f"tunebench: {len(outcome.stopped_runs)} run(s) stopped after {MAX_CONSECUTIVE_FAILURES} failed trials "
              f"in a row (status {RunStatus.TOO_MANY_FAILURES}): {', '.join(outcome.stopped_runs)}", file=sys.stderr)
    for name, why in outcome.left_out:
        print(f"tunebench: left out {name} (its data is missing): {why}", file=sys.stderr)
    _print_summary(out_dir)
    print(f"the report: tunebench report {out_dir}")
    return EXIT_OK


def _print_summary(results_dir: Path) -> None:
    """The end-of-command summary (:func:`tunebench.report.terminal.summary_lines`)."""
    from tunebench.report.terminal import summary_lines
    from tunebench.results_dir import load_results

    for line in summary_lines(load_results(results_dir, verify=False)):  # just written (run) or checked (report)
        print(line)


def cmd_record(args: argparse.Namespace) -> int:
    from tunebench.datasets import resolve_data_dir
    from tunebench.record import quality_line
    from tunebench.record_command import record_benchmark

    written, directory = record_benchmark(
        args.benchmark, Path(args.out), resolve_data_dir(args.data_dir), configs=args.configs,
        grid_configs=args.grid_configs, epochs=args.epochs, subset=args.subset, seed=args.seed,
        chunk_size=args.chunk_size, max_chunks=args.max_chunks, benchmark_id=args.id, precision=args.precision,
        workers=args.workers, draw=args.draw)
    print(f"wrote {len(written)} chunk(s) to {directory}")
    quality = quality_line(directory)
    if quality:
        print(quality)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from tunebench.report import build_report

    written = build_report(Path(args.results_dir), verify=not args.ignore_checksums,
                           other_workers=[Path(path) for path in args.other_workers],
                           validation=[Path(path) for path in args.validation])
    _print_summary(Path(args.results_dir))
    print(f"wrote {written[-1]} and {len(written) - 1} figure(s) in {Path(args.results_dir) / 'figures'}")
    return EXIT_OK


def cmd_regress(args: argparse.Namespace) -> int:
    from tunebench.regress import run_gate

    from tunebench.places import baseline_dir

    baseline = Path(args.baseline) if args.baseline else baseline_dir(update=args.update_baseline)
    passed = run_gate(args.suite, baseline, Path(args.out), effect=args.effect, alpha=args.alpha,
                      update=args.update_baseline, workers=args.workers, overwrite=args.overwrite)
    return EXIT_OK if passed else EXIT_FAILURE


def cmd_retrain(args: argparse.Namespace) -> int:
    from tunebench.datasets import resolve_data_dir
    from tunebench.progress import format_duration
    from tunebench.process import quiet_tensorflow

    quiet_tensorflow()  # before anything imports it: no start-up lines
    from tunebench.retrain import retrain

    started = time.monotonic()
    done_earlier = 0  # trainings an earlier call had already done (``on_start`` says)

    def report(done: int, total: int, row: dict) -> None:
        elapsed = time.monotonic() - started
        pace = elapsed / (done - done_earlier)
        print(f"  {done}/{total} {row['benchmark']}/{row['strategy']}/seed {row['seed']} trial {row['trial']} "
              f"repeat {row['repeat']}: val accuracy {row['val_accuracy']:.4f} (found {row['found_val_accuracy']:.4f}), "
              f"{format_duration(elapsed)} elapsed, ETA {format_duration(pace * (total - done))}", flush=True)

    def announce(total: int, done_before: int) -> None:
        nonlocal done_earlier
        done_earlier = done_before
        earlier = f", {done_before} done by an earlier call" if done_before else ""
        print(f"tunebench: {total} trainings ({total // args.repeats} incumbents x {args.repeats}){earlier}; "
              "a line after each", flush=True)

    benchmarks = [name.strip() for name in args.benchmarks.split(",") if name.strip()] if args.benchmarks else None
    path = retrain(Path(args.results_dir), resolve_data_dir(args.data_dir), benchmarks=benchmarks,
                   runs_per_strategy=args.runs_per_strategy, repeats=args.repeats, on_start=announce,
                   on_done=report)
    print(f"wrote {path}; 'tunebench report {args.results_dir}' shows it")
    return EXIT_OK


COMMANDS = {"run": cmd_run, "record": cmd_record, "report": cmd_report, "regress": cmd_regress,
            "retrain": cmd_retrain}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status.

    Every message goes through :func:`~tunebench.redaction.redact_text` (no URL password is
    ever printed). Ctrl-C and SIGTERM stop the command with a line saying how to resume
    (exit 130 and 143); bad input exits 2, anything unexpected 1 with its traceback.
    """
    _ARGV[:] = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    prepare_determinism_environment()  # before JAX or PyTorch start (they read it once)
    try:
        with handle_stop_signals():
            if args.command == "list":
                return cmd_list()
            return COMMANDS[args.command](args)
    except InputError as error:
        print(f"tunebench: error: {redact_text(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as stop:
        name = stop.signal_name if isinstance(stop, Stopped) else "SIGINT"
        print(f"\ntunebench: stopped ({'Ctrl-C' if name == 'SIGINT' else name}); results already in the output "
              "directory are untouched (run the same command again to resume)", file=sys.stderr)
        return stop.exit_status if isinstance(stop, Stopped) else EXIT_STATUS["SIGINT"]
    except OSError as error:
        if error.errno in DISK_FULL:
            print(f"tunebench: error: {redact_text(disk_full_message(error))}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if error.filename is not None and error.errno in PLACE_ERRORS:
            print(f"tunebench: error: {redact_text(place_message(error))}", file=sys.stderr)
            return EXIT_BAD_INPUT
        return _internal_failure()
    except Exception:
        return _internal_failure()


#: File-system errors that say a place given (an output folder, a baseline, a data file) cannot
#: be used: not there, not a folder, a folder where a file must go, not writable, read-only.
PLACE_ERRORS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS,
                          errno.ENAMETOOLONG, errno.ELOOP})


def place_message(error: OSError) -> str:
    """What a file-system error on a place says: the path and what is wrong with it."""
    path = Path(error.filename)
    parent = next((p for p in path.parents if os.path.exists(p)), None)  # False, not an error, where unreadable
    hint = ""
    if parent is not None and not parent.is_dir():
        hint = f" ({parent} is a file, not a folder)"
    elif parent is not None and parent != path.parent and os.path.isdir(parent):
        hint = f" ({path.parent} cannot be made under {parent})"
    return f"cannot use {path}: {error.strerror or error}{hint}"


def _internal_failure() -> int:
    print(redact_text(traceback.format_exc()), file=sys.stderr, end="")
    print("tunebench: internal failure (the traceback above); results already in the output "
          "directory are untouched", file=sys.stderr)
    return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
