"""The runner: every (benchmark, strategy, seed) run of a suite, each under the same budget.

For each run the runner asks the strategy for a suggestion, checks that the epoch ledger
can pay for it, trains it, charges the ledger, tells the strategy the validation accuracy,
and appends the trial to the run's journal. When every run is done, the CSVs,
``best_hyperparameters.json`` and the manifest are derived from the journals, in suite order.

Output safety: a suite works in ``<out>/.partial/`` (:mod:`tunebench.resume`); the finished
files replace the old ones only at the end, one ``os.replace`` each, the manifest last, so
an interrupted or failed suite never damages results already in ``<out>``. An ``<out>``
that already holds results is refused unless ``overwrite`` is set.

Resume: running the same suite into the same ``<out>`` after an interruption (even
``kill -9``) goes on where it stopped. Completed runs are kept; a run in progress rebuilds
its strategy by re-asking it and re-telling it the journaled trials (each re-asked
suggestion must match the journal), restores Hyperband's saved warm-start states, and goes
on; the final files are those of an uninterrupted suite.

Failed trials: a trial whose training raises, goes NaN or runs out of memory is recorded
with status ``failed`` and its error, charged the epochs it completed, told to the strategy
as a failure, and the run goes on; :data:`MAX_CONSECUTIVE_FAILURES` failures in a row stop
the run (status ``too_many_failures``) and the suite goes on.

Scale-out: with ``workers > 1`` or a ``scheduler`` address, runs go to Dask workers
(:mod:`tunebench.parallel`), each writing only its own run's journal.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import signal
import time
import traceback
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from tunebench import SCHEMA_VERSION
from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.base import TrialFailed
from tunebench.datasets import Splits, load_dataset, stratified_subset
from tunebench.errors import DataError, InputError
from tunebench.journal import Journal
from tunebench.ledger import EpochLedger
from tunebench.manifest import build_manifest
from tunebench.progress import Progress
from tunebench.results import (
    ERROR_COLUMN, RUN_KEY, TIMING_COLUMNS, TRIAL_FAILED, TRIAL_OK, best_hyperparameters, summarize_run,
    tables_from_records, write_atomically, write_tables,
)
from tunebench.resume import (
    FINISHING, RUNS, SESSIONS, STATES, AttemptMarker, StateStore, StoredState, finish_staging, make_header,
    open_staging, read_header,
)
from tunebench.seeding import derive_seed
from tunebench.strategies import Observation, StrategyContext, make_strategy
from tunebench.suite import BenchmarkPlan, Suite
from tunebench.threads import StrategyThreads

RESULT_FILES = ("trials.csv", "curves.csv", "runs.csv", "best_hyperparameters.json", "manifest.json",
                "journal.jsonl")
#: Failed trials in a row that stop a run (status :data:`TOO_MANY_FAILURES`).
MAX_CONSECUTIVE_FAILURES = 5
TOO_MANY_FAILURES = "too_many_failures"
#: A trial during which the process died this many times (killed, out of memory) is
#: recorded as failed instead of being started again.
MAX_TRIAL_STARTS = 2
#: Environment variables that set the numeric libraries' thread counts, which change
#: TensorFlow's (and BLAS's) order of summation and so the numbers. A run's task carries the
#: driving process's values; a worker applies them before it imports TensorFlow.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS")
#: Test hook: ``TUNEBENCH_TEST_KILL_AT=started|finishing|moving`` makes the process SIGKILL
#: itself at that stage (see :func:`_kill_hook`).
KILL_HOOK_ENV = "TUNEBENCH_TEST_KILL_AT"


@dataclass
class RunOutcome:
    """What :func:`run_suite` wrote."""

    out_dir: Path
    files: list[Path]
    runs: int
    wall_seconds: float
    failed_trials: int = 0
    stopped_runs: list[str] = field(default_factory=list)
    resumed: bool = False


@dataclass(frozen=True)
class RunTask:
    """One (benchmark, strategy, seed) run: everything a process needs to do it (or resume it).

    Attributes
    ----------
    index:
        The run's 1-based position in the suite (the order of the final files).
    staging:
        The suite's ``.partial/`` folder (on a filesystem every worker sees).
    data_dir:
        The datasets' folder (absolute; the same path on every worker).
    """

    index: int
    plan: BenchmarkPlan
    strategy: str
    seed: int
    data_dir: str
    staging: str
    fingerprint: str
    study_name: str
    optuna_storage: str | None = None
    environment: tuple[tuple[str, str | None], ...] = ()

    @property
    def key(self) -> dict[str, Any]:
        return {"benchmark": self.plan.name, "strategy": self.strategy, "seed": self.seed}

    @property
    def label(self) -> str:
        return f"{self.plan.name}/{self.strategy}/seed {self.seed}"

    @property
    def stem(self) -> str:
        return f"{self.index:04d}-{self.plan.name}-{self.strategy}-{self.seed}"

    @property
    def journal_path(self) -> Path:
        return Path(self.staging) / RUNS / f"{self.stem}.jsonl"

    @property
    def attempt_path(self) -> Path:
        return Path(self.staging) / RUNS / f"{self.stem}.attempt"

    @property
    def states_dir(self) -> Path:
        return Path(self.staging) / STATES / self.stem


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
    return LiveKerasBenchmark(spec, splits, plan.options, plan.max_epochs, plan.batch_size, fidelity=plan.fidelity,
                              precision=plan.resolved_precision)


def build_benchmark(plan: BenchmarkPlan, seed: int, data_dir: Path, factory: Callable[..., Any] | None = None):
    """Load the run's data (if the benchmark has a dataset) and build its benchmark with
    ``factory`` (default :func:`make_benchmark`)."""
    spec = get_benchmark_spec(plan.name)
    splits = load_run_data(plan, data_dir, seed) if spec.dataset else None
    return (factory or make_benchmark)(spec, splits, plan)


def training_seed(seed: int, config: dict[str, Any]) -> int:
    """The seed a configuration trains with: the same for every strategy under one run seed."""
    return derive_seed("train", seed, config)


def run_suite(suite: Suite, out_dir: Path, data_dir: Path, *, overwrite: bool = False,
              progress: Progress | None = None,
              benchmark_factory: Callable[..., Any] | None = None,
              workers: int = 1, scheduler: str | None = None,
              optuna_storage: str | None = None, mlflow_uri: str | None = None) -> RunOutcome:
    """Run (or resume) every (benchmark, strategy, seed) of ``suite`` and write the results to ``out_dir``.

    Parameters
    ----------
    suite:
        A validated suite (overrides applied).
    out_dir:
        Where trials.csv, curves.csv, runs.csv, best_hyperparameters.json, manifest.json and
        journal.jsonl go. A ``.partial/`` there from the same suite and options is resumed.
    data_dir:
        Where the datasets are.
    overwrite:
        Replace results already in ``out_dir`` (at the end of the run, not before); discard
        a ``.partial/`` that cannot be resumed (another suite, options or schema version).
    progress:
        A progress display (default: one on stderr, drawn only when it is a terminal).
    benchmark_factory:
        ``(spec, splits, plan) -> Benchmark``; default :func:`make_benchmark`. With workers it
        is pickled to them.
    workers:
        Runs in parallel on a local Dask cluster of this many single-threaded worker
        processes; 1 runs them one after another in this process.
    scheduler:
        ``tcp://host:port`` of an existing Dask scheduler to run on instead (``out_dir`` and
        ``data_dir`` must then be the same paths on every worker: a shared filesystem).
    optuna_storage:
        An Optuna storage URL for the Optuna strategy's studies (one study per run, named
        ``<suite>/<benchmark>/<strategy>/seed-<seed>``).
    mlflow_uri:
        ``None``: no MLflow. Otherwise log the finished results to MLflow
        (:func:`tunebench.tracking.log_results`) at this tracking URI, ``""`` meaning the
        default store.

    Raises
    ------
    InputError
        Bad option, output directory, partial run, scheduler address or data (raised
        before any training starts).
    """
    clock_start = time.monotonic()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"--workers must be a positive integer, got {workers!r}")
    if scheduler is not None and workers > 1:
        raise InputError("--workers and --scheduler exclude each other: --workers starts a local cluster, "
                         "--scheduler uses an existing one")
    _check_mlflow(mlflow_uri)
    data_sources = check_inputs(suite, data_dir)  # every data problem surfaces before anything is written
    out_dir = Path(out_dir)
    header = make_header(suite.to_dict(), data_sources, str(data_dir), overwrite)
    total_runs = len(suite.benchmarks) * len(suite.seeds) * len(suite.strategies)
    total_epochs = sum(p.budget_epochs for p in suite.benchmarks) * len(suite.seeds) * len(suite.strategies)

    with ExitStack() as stack:
        executor = None
        if scheduler is not None or workers > 1:
            from tunebench.parallel import DaskExecutor

            executor = stack.enter_context(DaskExecutor(workers=workers, scheduler=scheduler))
            executor.connect()  # an unreachable scheduler fails here, before anything is written
        staging, resumed = stack.enter_context(open_staging(out_dir, header, overwrite, RESULT_FILES))
        header = read_header(staging) or header  # a resumed run keeps its first start time
        sessions = Journal(staging / SESSIONS)
        sessions.recover()
        sessions.append({"started": _now(), "resumed": resumed, "workers": workers, "scheduler": scheduler,
                         "host": os.uname().nodename, "pid": os.getpid()})
        _kill_hook("started")

        tasks = _plan_tasks(suite, staging.resolve(), header["fingerprint"], Path(data_dir).resolve(), optuna_storage)
        journals = {task.index: _scan_journal(task) for task in tasks}
        monitor = SuiteMonitor(progress or Progress(total_runs, total_epochs), parallel=executor is not None)
        pending = []
        for task in tasks:
            done = [r for r in journals[task.index] if r["kind"] == "run"]
            if done:
                monitor.skip(task, done[0])
            else:
                pending.append(task)
                trials = [r for r in journals[task.index] if r["kind"] == "trial"]
                if trials:
                    monitor.resumed_later(task, trials[-1])
        if executor is not None:
            if pending:
                executor.start(len(pending))
                executor.check_workers(staging.resolve())
                executor.run(pending, monitor, benchmark_factory)
        else:
            _run_sequentially(pending, monitor, benchmark_factory)
        monitor.close()

        _kill_hook("finishing")
        final, records = _write_final_files(
            tasks, staging, out_dir, suite=suite, data_dir=data_dir, data_sources=data_sources, header=header,
            sessions=list(sessions.records()), clock_start=clock_start,
            execution={"workers": workers, "scheduler": scheduler,
                       "mode": "in-process" if executor is None else executor.description})

    if mlflow_uri is not None:
        from tunebench.tracking import log_results

        try:
            log_results(out_dir, mlflow_uri or None)
        except InputError as error:
            raise InputError(f"the results are complete in {out_dir}, but logging them to MLflow failed: {error}") from None
    failed = sum(1 for r in records if r["kind"] == "trial" and r["status"] == TRIAL_FAILED)
    stopped = [f"{r['benchmark']}/{r['strategy']}/seed {r['seed']}" for r in records
               if r["kind"] == "run" and r["status"] == TOO_MANY_FAILURES]
    return RunOutcome(out_dir=out_dir, files=final, runs=total_runs, wall_seconds=time.monotonic() - clock_start,
                      failed_trials=failed, stopped_runs=stopped, resumed=resumed)


def _plan_tasks(suite: Suite, staging: Path, fingerprint: str, data_dir: Path,
                optuna_storage: str | None) -> list[RunTask]:
    environment = tuple((name, os.environ.get(name)) for name in THREAD_ENV)
    tasks = []
    for plan in suite.benchmarks:
        for seed in suite.seeds:
            for strategy in suite.strategies:
                tasks.append(RunTask(
                    index=len(tasks) + 1, plan=plan, strategy=strategy, seed=seed, data_dir=str(data_dir),
                    staging=str(staging), fingerprint=fingerprint, optuna_storage=optuna_storage,
                    study_name=f"{suite.name}/{plan.name}/{strategy}/seed-{seed}", environment=environment))
    return tasks


def _scan_journal(task: RunTask) -> list[dict[str, Any]]:
    """A run's journal as this process finds it: a torn last line dropped (with a warning)
    and its header checked."""
    records = Journal(task.journal_path).recover()
    _check_run_header(task, records)
    return records


def _run_header(task: RunTask) -> dict[str, Any]:
    return {"kind": "header", "schema_version": SCHEMA_VERSION, "fingerprint": task.fingerprint,
            "index": task.index, **task.key}


def _check_run_header(task: RunTask, records: list[dict[str, Any]]) -> None:
    if not records:
        return
    expected = _run_header(task)
    found = {k: records[0].get(k) for k in expected}
    if found != expected:
        raise InputError(f"{task.journal_path} line 1 is not the header of run {task.index} ({task.label}) of this "
                         "suite; the partial run is damaged: pass --overwrite to start again")


def _run_sequentially(tasks: list[RunTask], monitor: "SuiteMonitor", factory: Callable[..., Any] | None) -> None:
    """Runs one after another in this process; consecutive runs on the same (benchmark,
    seed) share one benchmark (the data is split once)."""
    cached_key, benchmark = None, None
    for task in tasks:
        monitor.start(task)
        key = (task.plan.name, task.seed)
        if key != cached_key:
            benchmark = None  # free the previous data first
            benchmark = build_benchmark(task.plan, task.seed, Path(task.data_dir), factory)
            cached_key = key
        record = execute_run(task, benchmark=benchmark, observer=monitor)
        monitor.finish(task, record)


def execute_run(task: RunTask, *, benchmark=None, benchmark_factory: Callable[..., Any] | None = None,
                observer: "SuiteMonitor | None" = None) -> dict[str, Any]:
    """Do (or resume, or just report) one run; returns its ``run`` record.

    Holds the run journal's lock throughout, so two processes never write one run.
    """
    journal = Journal(task.journal_path)
    with journal.lock():
        records = journal.recover()
        _check_run_header(task, records)
        if not records:
            journal.append(_run_header(task))
        done = [r for r in records if r["kind"] == "run"]
        if done:
            return done[0]
        if benchmark is None:
            benchmark = build_benchmark(task.plan, task.seed, Path(task.data_dir), benchmark_factory)
        replay = [r for r in records if r["kind"] == "trial"]
        return run_one(benchmark, task, journal, replay=replay, observer=observer)


_WORKER_BENCHMARK: tuple[str, Any] | None = None


def execute_run_task(task: RunTask, benchmark_factory: Callable[..., Any] | None = None) -> dict[str, Any]:
    """A Dask worker's entry point: builds the benchmark here (data loaded, TensorFlow
    imported in the worker), keeps the last one for the worker's next run on the same
    (benchmark, seed), and does the run."""
    global _WORKER_BENCHMARK
    _apply_environment(task.environment)
    key = json.dumps([asdict(task.plan), task.seed, task.data_dir, repr(benchmark_factory)], sort_keys=True, default=str)
    if _WORKER_BENCHMARK is None or _WORKER_BENCHMARK[0] != key:
        _WORKER_BENCHMARK = None
        _WORKER_BENCHMARK = (key, build_benchmark(task.plan, task.seed, Path(task.data_dir), benchmark_factory))
    return execute_run(task, benchmark=_WORKER_BENCHMARK[1])


def _apply_environment(environment: tuple[tuple[str, str | None], ...]) -> None:
    """Give this worker the driving process's thread settings (before TensorFlow is imported)."""
    import sys

    wanted = {name: value for name, value in environment}
    if all(os.environ.get(name) == value for name, value in wanted.items()):
        return
    if "tensorflow" in sys.modules:
        print(f"tunebench: warning: this worker imported TensorFlow with other thread settings than the driving "
              f"process ({wanted}); its numbers may differ from a one-process run", file=sys.stderr)
        return
    for name, value in wanted.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def strategy_context(task: RunTask, benchmark) -> StrategyContext:
    """The strategy's context for a run (the Optuna storage and study name when supported)."""
    plan = task.plan
    return StrategyContext(space=benchmark.space, seed=derive_seed("strategy", plan.name, task.seed),
                           max_epochs=plan.max_epochs, trial_budget=plan.budget_epochs // plan.max_epochs,
                           storage=task.optuna_storage, study_name=task.study_name)


def _check_mlflow(uri: str | None) -> None:
    if uri is not None and importlib.util.find_spec("mlflow") is None:
        raise InputError("--mlflow: mlflow is not installed (pip install 'tunebench[tracking]' or pip install mlflow)")


@dataclass
class _Trained:
    """What training one trial gave (or how it failed)."""

    curve: list
    seconds: float
    test_confusion: list | None = None
    state: Any = None
    error: str | None = None
    trace: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def _train(benchmark, suggestion, train_seed: int, initial_epoch: int, warm_start, keep_state: bool,
           starts_before: int) -> _Trained:
    if starts_before >= MAX_TRIAL_STARTS:
        return _Trained(curve=[], seconds=0.0, error=(
            f"the process ended during this trial {starts_before} times (killed, or out of memory?); "
            "recorded as failed instead of starting it again"))
    if isinstance(warm_start, StoredState):
        warm_start = warm_start.load()
    started = time.perf_counter()
    try:
        evaluation = benchmark.evaluate(suggestion.config, suggestion.epochs, train_seed, initial_epoch=initial_epoch,
                                        warm_start=warm_start, keep_state=keep_state)
    except TrialFailed as failure:
        seconds = failure.seconds if failure.seconds is not None else time.perf_counter() - started
        return _Trained(curve=failure.curve, seconds=seconds, error=_one_line(failure.error),
                        trace=traceback.format_exc(limit=20))
    except Exception as error:  # noqa: BLE001 - any error inside one trial fails that trial only
        return _Trained(curve=[], seconds=time.perf_counter() - started,
                        error=_one_line(f"{type(error).__name__}: {error}"), trace=traceback.format_exc(limit=20))
    return _Trained(curve=evaluation.curve, seconds=evaluation.seconds, test_confusion=evaluation.test_confusion,
                    state=evaluation.state)


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_one(benchmark, task: RunTask, journal: Journal, *, replay: list[dict[str, Any]] = (),
            observer: "SuiteMonitor | None" = None) -> dict[str, Any]:
    """One (benchmark, strategy, seed) run; appends its trials and its summary to ``journal``.

    ``replay`` holds the trials the journal already has (a resumed run): the strategy is
    re-asked and re-told each of them, in order, without training, and each re-asked
    suggestion must match the journaled trial. Returns the run record.
    """
    plan, seed = task.plan, task.seed
    strategy = make_strategy(task.strategy, strategy_context(task, benchmark))
    one_thread = StrategyThreads()
    ledger = EpochLedger(plan.budget_epochs, plan.max_seconds)
    store = StateStore(task.states_dir)
    marker = AttemptMarker(task.attempt_path)
    states: dict[str, Any] = {}
    trials: list[dict[str, Any]] = []
    pending = list(replay)
    failures_in_a_row = 0
    status = "budget_exhausted"  # or: the next suggestion did not fit in what was left
    try:
        while True:
            if failures_in_a_row >= MAX_CONSECUTIVE_FAILURES:
                status = TOO_MANY_FAILURES
                break
            if ledger.out_of_time():
                status = "time_cap"
                break
            asked = time.perf_counter()
            with one_thread():
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
            number = len(trials) + 1
            keep_state = strategy.warm_starts and suggestion.epochs < plan.max_epochs  # a full-fidelity trial is never promoted

            replayed = bool(pending)
            if replayed:  # resuming: the journal says what this trial gave
                record = pending.pop(0)
                _check_replayed(task, record, number, suggestion, warm_start is not None, initial_epoch)
                failed = record["status"] == TRIAL_FAILED
                with one_thread():
                    strategy.tell(suggestion, Observation(val_accuracy=record["val_accuracy"], failed=failed))
                if keep_state and not failed:
                    states[suggestion.trial_id] = StoredState(store, suggestion.trial_id)
                epochs_used = ledger.charge(record["epochs_trained"],
                                            seconds=record["train_seconds"] + record["overhead_seconds"])
                if epochs_used != record["epochs_used"]:
                    raise _resume_error(task, number, f"the ledger has {epochs_used} epochs used, the journal "
                                                      f"{record['epochs_used']}")
            else:
                overhead = time.perf_counter() - asked
                train_seed = training_seed(seed, suggestion.config)
                trained = _train(benchmark, suggestion, train_seed, initial_epoch, warm_start, keep_state,
                                 marker.start(number))
                failed = trained.failed
                last = trained.curve[-1] if trained.curve and not failed else None
                told = time.perf_counter()
                with one_thread():
                    strategy.tell(suggestion, Observation(val_accuracy=math.nan if failed else last.val_accuracy,
                                                          failed=failed))
                overhead += time.perf_counter() - told
                epochs_trained = len(trained.curve) if failed else charge
                epochs_used = ledger.charge(epochs_trained, seconds=trained.seconds + overhead)
                if keep_state and not failed:
                    states[suggestion.trial_id] = trained.state
                    store.save(suggestion.trial_id, trained.state)  # before the journal line that needs it
                metric = (lambda name: math.nan) if failed else (lambda name: getattr(last, name))
                record = {
                    "kind": "trial", **task.key, "trial": number, "trial_id": suggestion.trial_id,
                    "parent_trial_id": suggestion.parent if warm_start is not None else None,
                    "status": TRIAL_FAILED if failed else TRIAL_OK, ERROR_COLUMN: trained.error,
                    "epochs": initial_epoch + epochs_trained, "initial_epoch": initial_epoch,
                    "epochs_trained": epochs_trained, "val_accuracy": metric("val_accuracy"),
                    "val_f1": metric("val_f1"), "val_loss": metric("val_loss"),
                    "test_accuracy": metric("test_accuracy"), "test_f1": metric("test_f1"),
                    "train_seconds": trained.seconds, "overhead_seconds": overhead, "epochs_used": epochs_used,
                    "elapsed_seconds": ledger.elapsed(), "training_seed": train_seed,
                    "config": suggestion.config, "curve": [asdict(point) for point in trained.curve],
                    "test_confusion": trained.test_confusion,
                }
                if trained.trace:
                    record["traceback"] = trained.trace
                journal.append(record)
                if warm_start is not None:
                    store.discard(suggestion.parent)  # only once the promotion's line is written
            trials.append(record)
            failures_in_a_row = failures_in_a_row + 1 if failed else 0
            if observer is not None:
                if not replayed:
                    observer.trial(task, record)
                elif not pending:
                    observer.resumed(task, record)
        settings = strategy.settings()
    finally:
        strategy.close()
    if pending:
        raise _resume_error(task, len(trials) + 1, f"the journal has {len(pending)} more trial(s) than the strategy "
                                                   f"now asks for (it stopped with status {status})")
    run_record = {
        "kind": "run", **task.key, "status": status, "fidelity": benchmark.fidelity,
        "budget_epochs": plan.budget_epochs, "max_seconds": plan.max_seconds, "wall_seconds": ledger.elapsed(),
        **summarize_run(trials), "settings": settings,
    }
    if status == TOO_MANY_FAILURES:
        run_record["error"] = trials[-1].get(ERROR_COLUMN)
    journal.append(run_record)
    marker.clear()
    store.clear()
    return run_record


def _check_replayed(task: RunTask, record: dict[str, Any], number: int, suggestion, warm: bool,
                    initial_epoch: int) -> None:
    expected = {"trial": number, "trial_id": suggestion.trial_id,
                "config": json.loads(json.dumps(suggestion.config, allow_nan=True)),
                "initial_epoch": initial_epoch, "parent_trial_id": suggestion.parent if warm else None}
    found = {key: record.get(key) for key in expected}
    if found != expected:
        differences = ", ".join(f"{key}: journal {found[key]!r}, strategy now {expected[key]!r}"
                                for key in expected if found[key] != expected[key])
        raise _resume_error(task, number, differences)


def _resume_error(task: RunTask, number: int, detail: str) -> InputError:
    return InputError(f"cannot resume {task.label} from {task.journal_path}: trial {number}: {detail}. The strategy "
                      "did not reproduce the journaled run (another library version, or a changed strategy?); "
                      "pass --overwrite to start the interrupted run again")


class SuiteMonitor:
    """Progress and messages for the driving process: fed each new trial and each finished
    run, by the run itself (in-process) or from the run journals (workers).

    A failed trial and a run stopped after too many failures are said on stderr (through
    :meth:`Progress.message`, so they show whether or not the progress line is drawn).
    """

    def __init__(self, progress: Progress, parallel: bool = False):
        self.progress = progress
        self.parallel = parallel
        self._epochs: dict[int, int] = {}
        self._best: dict[int, float] = {}
        self._done = 0
        self._running: set[int] = set()

    def _note(self, task: RunTask, record: dict[str, Any]) -> None:
        self._epochs[task.index] = record["epochs_used"]
        value = record["val_accuracy"]
        if record["status"] == TRIAL_OK and not math.isnan(value) and value > self._best.get(task.index, -math.inf):
            self._best[task.index] = value

    def skip(self, task: RunTask, run_record: dict[str, Any]) -> None:
        """A run that was already complete (resuming)."""
        self._done += 1
        self._epochs[task.index] = task.plan.budget_epochs
        self.progress.skip_run(task.plan.budget_epochs)

    def resumed_later(self, task: RunTask, last: dict[str, Any]) -> None:
        """A run with journaled trials, to be resumed (only matters for the parallel line)."""
        if self.parallel:
            self._note(task, last)
            self.progress.resumed(last["epochs_used"])

    def start(self, task: RunTask) -> None:
        """A run begins (said once; later calls for the same run do nothing)."""
        if task.index in self._running:
            return
        self._running.add(task.index)
        if not self.parallel:
            self.progress.start_run(task.index, task.label, task.plan.budget_epochs)

    def resumed(self, task: RunTask, last: dict[str, Any]) -> None:
        """An in-process run finished replaying its journal (``last`` is its last trial)."""
        self._note(task, last)
        self.progress.resumed(last["epochs_used"])
        self._draw(task, last)

    def trial(self, task: RunTask, record: dict[str, Any]) -> None:
        self._note(task, record)
        if record["status"] == TRIAL_FAILED:
            self.progress.message(f"tunebench: warning: {task.label} trial {record['trial']} failed after "
                                  f"{record['epochs_trained']} epoch(s): {record[ERROR_COLUMN]}; the run goes on")
        self._draw(task, record)

    def finish(self, task: RunTask, run_record: dict[str, Any]) -> None:
        self._running.discard(task.index)
        self._done += 1
        self._epochs[task.index] = task.plan.budget_epochs
        if run_record["status"] == TOO_MANY_FAILURES:
            self.progress.message(f"tunebench: {task.label}: {MAX_CONSECUTIVE_FAILURES} trials failed in a row "
                                  f"(last: {run_record.get('error')}); the run stopped with status "
                                  f"{TOO_MANY_FAILURES}, the suite goes on")
        if self.parallel:
            self._draw(task, None)
        else:
            self.progress.end_run()

    def _draw(self, task: RunTask, record: dict[str, Any] | None) -> None:
        if self.parallel:
            best = max(self._best.values(), default=None)
            self.progress.update_suite(self._done, len(self._running), sum(self._epochs.values()), best)
        elif record is not None:
            self.progress.update(trial=record["trial"], best=self._best.get(task.index), epochs_used=record["epochs_used"])

    def close(self) -> None:
        self.progress.close()


def _write_final_files(tasks: list[RunTask], staging: Path, out_dir: Path, *, suite: Suite, data_dir, data_sources,
                       header: dict[str, Any], sessions: list[dict[str, Any]], clock_start: float,
                       execution: dict[str, Any]) -> tuple[list[Path], list[dict[str, Any]]]:
    """Derive the final files from the run journals (in suite order) and move them into
    ``out_dir``, the manifest last; returns the paths and the merged records."""
    records: list[dict[str, Any]] = []
    settings: dict[str, Any] = {}
    for task in tasks:
        mine = [r for r in Journal(task.journal_path).recover() if r["kind"] in ("trial", "run")]
        if not mine or mine[-1]["kind"] != "run":
            raise RuntimeError(f"run {task.label} did not finish ({task.journal_path} has no run record)")
        settings.setdefault(task.plan.name, {}).setdefault(task.strategy, mine[-1].get("settings"))
        records.extend(mine)

    files = write_tables(tables_from_records(records), staging)
    best = {
        "schema_version": SCHEMA_VERSION, "suite": suite.name,
        "objective": "val_accuracy at the last trained epoch (maximised); test numbers are reported, never used to choose",
        "runs": best_hyperparameters(records),
    }
    write_atomically(staging / "best_hyperparameters.json", json.dumps(best, indent=2, default=str) + "\n")
    write_atomically(staging / "journal.jsonl",
                     "".join(json.dumps(r, sort_keys=True, allow_nan=True) + "\n" for r in records))
    files += [staging / "best_hyperparameters.json", staging / "journal.jsonl"]
    manifest = build_manifest(
        suite.to_dict(), data_dir=str(data_dir), data=data_sources, strategies=settings,
        seeds=list(suite.seeds), budgets={p.name: p.budget_epochs for p in suite.benchmarks},
        timing_columns=sorted(TIMING_COLUMNS), started=header["started"], finished=_now(),
        wall_seconds=round(time.monotonic() - clock_start, 3), sessions=sessions, execution=execution,
        failure_policy={"max_consecutive_failures": MAX_CONSECUTIVE_FAILURES, "max_trial_starts": MAX_TRIAL_STARTS,
                        "failed_trial_charge": "the epochs completed before the failure"},
        files={path.name: _sha256(path) for path in files},
    )
    write_atomically(staging / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    # The manifest moves last and holds the checksums of the files moved before it: a
    # crash between renames leaves files that do not match their manifest, which is
    # detectable, and running the command again redoes this step from the journals.
    write_atomically(staging / FINISHING, _now() + "\n")
    final = []
    for path in files + [staging / "manifest.json"]:
        target = out_dir / path.name
        path.replace(target)
        final.append(target)
        _kill_hook("moving")
    finish_staging(staging)
    return final, records


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _kill_hook(stage: str) -> None:
    """Test hook: with ``$TUNEBENCH_TEST_KILL_AT`` equal to ``stage``, SIGKILL this process.

    Stages: ``started`` (the partial run is set up, no trial trained yet), ``finishing``
    (every run finished, no final file written yet), ``moving`` (the first final file
    moved into the output directory, the others not yet).
    """
    if os.environ.get(KILL_HOOK_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


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


__all__ = ["KILL_HOOK_ENV", "MAX_CONSECUTIVE_FAILURES", "MAX_TRIAL_STARTS", "RESULT_FILES", "RUN_KEY", "RunOutcome",
           "RunTask", "SuiteMonitor", "TOO_MANY_FAILURES", "build_benchmark", "check_inputs", "execute_run",
           "execute_run_task", "load_run_data", "make_benchmark", "run_one", "run_suite", "strategy_context",
           "training_seed"]
