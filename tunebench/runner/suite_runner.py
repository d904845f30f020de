"""Running a suite: every (benchmark, strategy, seed) run, each under the same budget.

:func:`run_suite` checks every input, opens the suite's staging folder (``<out>/.partial/``,
:mod:`tunebench.resume`), plans the runs (:mod:`.tasks`), hands the pending ones to an
executor (:mod:`.executors`) that does each with the trial loop (:mod:`.trial_loop`) while
a monitor shows progress (:mod:`.monitor`), and then derives the final files from the run
journals (:mod:`.final_files`).

Output safety: the finished files replace the old ones only at the end, one ``os.replace``
each, the manifest last, so an interrupted or failed suite never damages results already in
``<out>``. An ``<out>`` that already holds results is refused unless ``overwrite`` is set.

Resume: running the same suite into the same ``<out>`` after an interruption (even
``kill -9``) goes on where it stopped: completed runs are kept, a run in progress catches up
with its journal and goes on, and the final files are those of an uninterrupted suite.
"""

from __future__ import annotations

import importlib.util
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tunebench.errors import InputError
from tunebench.journal import Journal
from tunebench.progress import Progress
from tunebench.redaction import redact_text
from tunebench.resume import SESSIONS, make_header, open_staging, read_header
from tunebench.runner.executors import DaskExecutor, InProcessExecutor
from tunebench.runner.execute import scan_journal
from tunebench.runner.final_files import now, write_final_files
from tunebench.runner.kill_hook import kill_hook
from tunebench.runner.monitor import SuiteMonitor
from tunebench.runner.tasks import RunTask, check_inputs, leave_out_missing_data, plan_tasks
from tunebench.schema import RESULT_FILES, RunStatus
from tunebench.suite import Suite
from tunebench.tracking import log_results


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
    left_out: list[tuple[str, str]] = field(default_factory=list)



def run_suite(suite: Suite, out_dir: Path, data_dir: Path, *, overwrite: bool = False,
              progress: Progress | None = None,
              benchmark_factory: Callable[..., Any] | None = None,
              workers: int = 1, scheduler: str | None = None,
              optuna_storage: str | None = None, mlflow_uri: str | None = None, verbose: bool = False) -> RunOutcome:
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
        A progress display (default: one on stderr: a live line on a terminal, else a plain
        line per finished run).
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
    verbose:
        With the default progress display off a terminal, a plain line per finished trial too.

    Raises
    ------
    InputError
        Bad option, output directory, partial run, scheduler address or data (raised
        before any training starts).
    """
    clock_start = time.monotonic()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"--parallel-runs must be a positive integer, got {workers!r}")
    if scheduler is not None and workers > 1:
        raise InputError("--parallel-runs and --scheduler exclude each other: --parallel-runs starts a local "
                         "cluster, --scheduler uses an existing one")
    parallel = [plan.name for plan in suite.benchmarks if plan.parallel_trials > 1]
    if parallel and (scheduler is not None or workers > 1):
        raise InputError(f"parallel trials ({', '.join(parallel)}) and --parallel-runs/--scheduler exclude each "
                         "other: --parallel-runs N runs N runs at once, parallel_trials N runs N trials of one run "
                         "at once; choose one")
    _check_mlflow(mlflow_uri)
    suite = leave_out_missing_data(suite, data_dir)
    data_sources = check_inputs(suite, data_dir)  # every data problem surfaces before anything is written
    out_dir = Path(out_dir)
    header = make_header(suite.to_dict(), data_sources, str(data_dir), overwrite)
    total_runs = suite.total_runs
    progress = progress or Progress(total_runs, suite.total_epochs, verbose=verbose)
    for name, why in suite.left_out:
        progress.message(f"tunebench: left out {name} (skip_if_no_data): {why}")

    with ExitStack() as stack:
        executor = None
        if scheduler is not None or workers > 1:
            executor = stack.enter_context(DaskExecutor(workers=workers, scheduler=scheduler))
            executor.connect()  # an unreachable scheduler fails here, before anything is written
        staging, resumed = stack.enter_context(open_staging(out_dir, header, overwrite, RESULT_FILES))
        header = read_header(staging) or header  # a resumed run keeps its first start time
        sessions = _log_session(staging, resumed, workers, scheduler)
        kill_hook("started")

        tasks = plan_tasks(suite, staging.resolve(), header["fingerprint"], Path(data_dir).resolve(), optuna_storage)
        monitor = SuiteMonitor(progress, parallel=executor is not None, tasks=tasks)
        try:
            pending = _pending(tasks, monitor)
            if executor is not None:
                if pending:
                    executor.start(len(pending))
                    executor.check_workers(staging.resolve())
                    executor.run(pending, monitor, benchmark_factory)
            else:
                InProcessExecutor().run(pending, monitor, benchmark_factory)
        finally:
            monitor.close()  # the progress line ended and its heartbeat stopped, however the runs ended

        kill_hook("finishing")
        final, runs = write_final_files(
            tasks, staging, out_dir, suite=suite, data_dir=data_dir, data_sources=data_sources, header=header,
            sessions=list(sessions.records()), clock_start=clock_start,
            execution={"workers": workers, "scheduler": None if scheduler is None else redact_text(scheduler),
                       "mode": InProcessExecutor.description if executor is None else executor.description})

    if mlflow_uri is not None:
        try:
            log_results(out_dir, mlflow_uri or None)
        except InputError as error:
            raise InputError(f"the results are complete in {out_dir}, but logging them to MLflow failed: {error}") from None
    failed = sum(1 for log in runs for trial in log.trials if trial.failed)
    stopped = [log.run.label for log in runs if log.run.status == RunStatus.TOO_MANY_FAILURES]
    return RunOutcome(out_dir=out_dir, files=final, runs=total_runs, wall_seconds=time.monotonic() - clock_start,
                      failed_trials=failed, stopped_runs=stopped, resumed=resumed, left_out=list(suite.left_out))


def _log_session(staging: Path, resumed: bool, workers: int, scheduler: str | None) -> Journal:
    """Append this invocation to the staging folder's sessions journal (the manifest lists them)."""
    sessions = Journal(staging / SESSIONS)
    sessions.recover()
    sessions.append({"started": now(), "resumed": resumed, "workers": workers,
                     "scheduler": None if scheduler is None else redact_text(scheduler),
                     "host": os.uname().nodename, "pid": os.getpid()})
    return sessions


def _pending(tasks: list[RunTask], monitor: SuiteMonitor) -> list[RunTask]:
    """The runs still to do (a resumed suite skips the finished ones, telling the monitor)."""
    pending = []
    for task in tasks:
        log = scan_journal(task)
        if log.run is not None:
            monitor.skip(task, log.run)
            continue
        pending.append(task)
        if log.trials:
            monitor.resumed_later(task, log.trials)
    return pending


def _check_mlflow(uri: str | None) -> None:
    if uri is not None and importlib.util.find_spec("mlflow") is None:
        raise InputError("--mlflow: mlflow is not installed (pip install 'tunebench[tracking]' or pip install mlflow)")


__all__ = ["RunOutcome", "run_suite"]
