"""The runner: every (benchmark, strategy, seed) run of a suite, each under the same budget.

For each run the runner asks the strategy for a suggestion, checks that the epoch ledger
can pay for it, trains it, charges the ledger, tells the strategy the validation accuracy,
and appends the trial to the journal. When every run is done, the CSVs and the manifest
are derived from the journal.

Output safety: a run works in ``<out>/.partial/``; the finished files replace the old ones
only at the end, one ``os.replace`` each, so an interrupted or failed run never damages
results already in ``<out>``. An ``<out>`` that already holds results is refused unless
``overwrite`` is set.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from tunebench.benchmarks import get_benchmark_spec
from tunebench.datasets import Splits, load_dataset, stratified_subset
from tunebench.errors import DataError, InputError
from tunebench.journal import Journal
from tunebench.ledger import EpochLedger
from tunebench.manifest import build_manifest
from tunebench.progress import Progress
from tunebench.results import RUN_KEY, TIMING_COLUMNS, summarize_run, tables_from_records, write_atomically, write_tables
from tunebench.seeding import derive_seed
from tunebench.strategies import Observation, StrategyContext, make_strategy
from tunebench.suite import BenchmarkPlan, Suite

RESULT_FILES = ("trials.csv", "curves.csv", "runs.csv", "manifest.json", "journal.jsonl")
STAGING = ".partial"


@dataclass
class RunOutcome:
    """What :func:`run_suite` wrote."""

    out_dir: Path
    files: list[Path]
    runs: int
    wall_seconds: float


def prepare_output_dir(out_dir: Path, overwrite: bool) -> Path:
    """Check ``out_dir`` and return a fresh staging folder inside it.

    Raises :class:`InputError` if ``out_dir`` holds results or an interrupted run and
    ``overwrite`` is not set, or if it cannot be written.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output directory {out_dir} exists and is not a directory")
    existing = [name for name in RESULT_FILES if (out_dir / name).exists()]
    staging = out_dir / STAGING
    if not overwrite:
        if existing:
            raise InputError(f"output directory {out_dir} already holds results ({', '.join(existing)}); "
                             "pass --overwrite to replace them at the end of the new run, or choose another --out")
        if staging.exists():
            raise InputError(f"output directory {out_dir} holds an interrupted run ({staging}); "
                             "pass --overwrite to start again")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        probe = staging / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise InputError(f"output directory {out_dir} cannot be written: {error.strerror or error}") from None
    return staging


def load_run_data(plan: BenchmarkPlan, data_dir: Path, seed: int) -> Splits:
    """The run's data: the benchmark's dataset split and subsampled by seeds derived from ``seed``."""
    spec = get_benchmark_spec(plan.name)
    splits = load_dataset(spec.dataset, Path(data_dir), derive_seed("split", seed))
    if plan.subset is not None:
        try:
            splits = stratified_subset(splits, plan.subset, derive_seed("subset", seed))
        except DataError as error:
            raise DataError(f"[benchmarks.{plan.name}] 'subset': {error}") from None
    return splits


def check_inputs(suite: Suite, data_dir: Path) -> dict[str, Any]:
    """Load every run's data (or recording) once, so that bad input fails before any
    output is written; returns the manifest's ``data`` entry per benchmark."""
    sources: dict[str, Any] = {}
    for plan in suite.benchmarks:
        spec = get_benchmark_spec(plan.name)
        if not spec.dataset:
            sources[plan.name] = make_benchmark(spec, None, plan).source
            continue
        for seed in suite.seeds:
            splits = load_run_data(plan, data_dir, seed)
            entry = sources.setdefault(plan.name, {"source": splits.source, "class_names": list(splits.class_names),
                                                   "sizes": {}})
            entry["sizes"][str(seed)] = splits.sizes()
    return sources


def make_benchmark(spec, splits: Splits | None, plan: BenchmarkPlan):
    """The benchmark a run uses: live Keras training on ``splits``, or a replay of its recording."""
    if spec.recording:
        from tunebench.benchmarks.replay import ReplayBenchmark

        return ReplayBenchmark(spec, plan)
    from tunebench.benchmarks.live import LiveKerasBenchmark

    _quiet_tensorflow()
    return LiveKerasBenchmark(spec, splits, plan.options, plan.max_epochs, plan.batch_size, fidelity=plan.fidelity)


def training_seed(seed: int, config: dict[str, Any]) -> int:
    """The seed a configuration trains with: the same for every strategy under one run seed."""
    return derive_seed("train", seed, config)


def run_suite(suite: Suite, out_dir: Path, data_dir: Path, *, overwrite: bool = False,
              progress: Progress | None = None,
              benchmark_factory: Callable[..., Any] | None = None) -> RunOutcome:
    """Run every (benchmark, strategy, seed) of ``suite`` and write the results to ``out_dir``.

    Parameters
    ----------
    suite:
        A validated suite (overrides applied).
    out_dir:
        Where trials.csv, curves.csv, runs.csv, manifest.json and journal.jsonl go.
    data_dir:
        Where the datasets are.
    overwrite:
        Replace results already in ``out_dir`` (at the end of the run, not before).
    progress:
        A progress display (default: one on stderr, silent unless it is a terminal).
    benchmark_factory:
        ``(spec, splits, plan) -> Benchmark``; default :func:`make_benchmark`.

    Raises
    ------
    InputError
        Bad output directory or data (raised before any training starts).
    """
    started_at = datetime.now(timezone.utc)
    clock_start = time.monotonic()
    data_sources = check_inputs(suite, data_dir)  # every data problem surfaces before anything is written
    staging = prepare_output_dir(out_dir, overwrite)
    if benchmark_factory is None:
        benchmark_factory = make_benchmark

    journal = Journal(staging / "journal.jsonl")
    total_runs = len(suite.benchmarks) * len(suite.seeds) * len(suite.strategies)
    total_epochs = sum(p.budget_epochs for p in suite.benchmarks) * len(suite.seeds) * len(suite.strategies)
    progress = progress or Progress(total_runs, total_epochs)
    settings: dict[str, Any] = {}
    index = 0
    for plan in suite.benchmarks:
        spec = get_benchmark_spec(plan.name)
        for seed in suite.seeds:
            # The raw arrays are cached since the check above: this only re-splits them.
            splits = load_run_data(plan, data_dir, seed) if spec.dataset else None
            benchmark = benchmark_factory(spec, splits, plan)
            for strategy_name in suite.strategies:
                index += 1
                progress.start_run(index, f"{plan.name}/{strategy_name}/seed {seed}", plan.budget_epochs)
                strategy_settings = run_one(benchmark, plan, strategy_name, seed, journal, progress)
                settings.setdefault(plan.name, {}).setdefault(strategy_name, strategy_settings)
                progress.end_run()
            del benchmark
    progress.close()

    records = list(journal.records())
    files = write_tables(tables_from_records(records), staging) + [journal.path]
    manifest = build_manifest(
        suite.to_dict(), data_dir=str(data_dir), data=data_sources, strategies=settings,
        seeds=list(suite.seeds), budgets={p.name: p.budget_epochs for p in suite.benchmarks},
        timing_columns=sorted(TIMING_COLUMNS), started=started_at.isoformat(timespec="seconds"),
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        wall_seconds=round(time.monotonic() - clock_start, 3),
        files={path.name: _sha256(path) for path in files},
    )
    write_atomically(staging / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    # The manifest moves last and holds the checksums of the files moved before it: a
    # crash between renames leaves files that do not match their manifest, which is detectable.
    final = []
    for path in files + [staging / "manifest.json"]:
        target = Path(out_dir) / path.name
        path.replace(target)
        final.append(target)
    shutil.rmtree(staging, ignore_errors=True)
    return RunOutcome(out_dir=Path(out_dir), files=final, runs=total_runs,
                      wall_seconds=time.monotonic() - clock_start)


def run_one(benchmark, plan: BenchmarkPlan, strategy_name: str, seed: int, journal: Journal,
            progress: Progress) -> dict[str, Any]:
    """One (benchmark, strategy, seed) run; appends its trials and its summary to ``journal``.

    Returns the strategy's settings (for the manifest).
    """
    context = StrategyContext(space=benchmark.space, seed=derive_seed("strategy", plan.name, seed),
                              max_epochs=plan.max_epochs, trial_budget=plan.budget_epochs // plan.max_epochs)
    strategy = make_strategy(strategy_name, context)
    ledger = EpochLedger(plan.budget_epochs, plan.max_seconds)
    key = {"benchmark": plan.name, "strategy": strategy_name, "seed": seed}
    states: dict[str, Any] = {}
    trials: list[dict[str, Any]] = []
    best: float | None = None
    status = "budget_exhausted"  # or: the next suggestion did not fit in what was left
    try:
        while True:
            if ledger.out_of_time():
                status = "time_cap"
                break
            asked = time.perf_counter()
            suggestion = strategy.ask()
            if suggestion is None:
                status = "strategy_exhausted"
                break
            # keras-tuner's Hyperband promotes a trial at most once: its state can go.
            warm_start = states.pop(suggestion.parent, None) if suggestion.parent is not None else None
            initial_epoch = suggestion.initial_epoch if warm_start is not None else 0
            charge = suggestion.epochs - initial_epoch
            if not ledger.can_pay(charge):
                if ledger.remaining > 0:
                    status = "next_trial_exceeds_budget"
                break
            overhead = time.perf_counter() - asked

            train_seed = training_seed(seed, suggestion.config)
            evaluation = benchmark.evaluate(suggestion.config, suggestion.epochs, train_seed,
                                            initial_epoch=initial_epoch, warm_start=warm_start,
                                            keep_state=strategy.warm_starts)
            last = evaluation.curve[-1]

            told = time.perf_counter()
            strategy.tell(suggestion, Observation(val_accuracy=last.val_accuracy))
            if strategy.warm_starts and suggestion.epochs < plan.max_epochs:
                states[suggestion.trial_id] = evaluation.state  # a full-fidelity trial is never promoted
            overhead += time.perf_counter() - told
            epochs_used = ledger.charge(charge, seconds=evaluation.seconds + overhead)

            row = {
                **key, "trial": len(trials) + 1, "trial_id": suggestion.trial_id,
                "parent_trial_id": suggestion.parent if warm_start is not None else None,
                "status": "ok", "epochs": suggestion.epochs, "initial_epoch": initial_epoch,
                "epochs_trained": charge, "val_accuracy": last.val_accuracy, "val_f1": last.val_f1,
                "val_loss": last.val_loss, "test_accuracy": last.test_accuracy, "test_f1": last.test_f1,
                "train_seconds": evaluation.seconds, "overhead_seconds": overhead, "epochs_used": epochs_used,
                "elapsed_seconds": ledger.elapsed(), "training_seed": train_seed,
            }
            trials.append(row)
            journal.append({
                "kind": "trial", **row, "config": suggestion.config,
                "curve": [asdict(point) for point in evaluation.curve],
                "test_confusion": evaluation.test_confusion,
            })
            if not math.isnan(last.val_accuracy) and (best is None or last.val_accuracy > best):
                best = last.val_accuracy
            progress.update(trial=len(trials), best=best, epochs_used=epochs_used)
        settings = strategy.settings()
    finally:
        strategy.close()
    journal.append({
        "kind": "run", **key, "status": status, "fidelity": benchmark.fidelity, "budget_epochs": plan.budget_epochs,
        "max_seconds": plan.max_seconds, "wall_seconds": ledger.elapsed(), **summarize_run(trials),
    })
    return settings


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _quiet_tensorflow() -> None:
    import logging

    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


__all__ = ["RESULT_FILES", "RUN_KEY", "RunOutcome", "check_inputs", "load_run_data", "make_benchmark",
           "prepare_output_dir", "run_one",
           "run_suite", "training_seed"]
