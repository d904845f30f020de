"""Doing one run in some process: its journal, its benchmark, its trial loop.

:func:`execute_run` is what every executor calls for a run; :func:`execute_run_task` is a
Dask worker's entry point (it keeps the worker's last benchmark for its next run on the
same benchmark and seed, so the data is loaded once).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from tunebench import SCHEMA_VERSION
from tunebench.errors import InputError
from tunebench.journal import Journal, RunLog
from tunebench.plugins import load_plugins
from tunebench.process import apply_thread_environment
from tunebench.quiet import import_tensorflow_quietly
from tunebench.runner.tasks import RunTask
from tunebench.from_plan import build_benchmark
from tunebench.runner.trial_loop import run_one
from tunebench.schema import RunHeader, RunRecord


def run_header(task: RunTask) -> RunHeader:
    """The first line of a run's journal: which run of which suite it belongs to."""
    return RunHeader(schema_version=SCHEMA_VERSION, fingerprint=task.fingerprint, index=task.index, **task.key)


def check_run_header(task: RunTask, header: RunHeader | None) -> None:
    """:class:`InputError` if a journal's header (``None`` for an empty journal, which
    passes) is not ``task``'s."""
    if header is not None and header != run_header(task):
        raise InputError(f"{task.journal_path} line 1 is not the header of run {task.index} ({task.label}) of this "
                         "suite; the partial run is damaged: pass --overwrite to start again")


def scan_journal(task: RunTask) -> RunLog:
    """A run's journal as this process finds it, typed: a torn last line dropped (with a
    warning) and its header checked."""
    log = Journal(task.journal_path).read_run()
    check_run_header(task, log.header)
    return log


def execute_run(task: RunTask, *, benchmark=None, benchmark_factory: Callable[..., Any] | None = None,
                observer=None) -> RunRecord:
    """Do (or resume, or just report) one run; returns its run record.

    Holds the run journal's lock throughout, so two processes never write one run; the
    journal is read under the lock (another process may have written it since the driving
    process looked).
    """
    journal = Journal(task.journal_path)
    with journal.lock():
        log = journal.read_run()
        check_run_header(task, log.header)
        if log.header is None:
            journal.append(run_header(task))
        if log.run is not None:
            return log.run
        if benchmark is None:
            benchmark = build_benchmark(task.plan, task.seed, Path(task.data_dir), benchmark_factory)
        return run_one(benchmark, task, journal, journaled=log.trials, observer=observer,
                       benchmark_factory=benchmark_factory)


_WORKER_BENCHMARK: tuple[str, Any] | None = None


def execute_run_task(task: RunTask, benchmark_factory: Callable[..., Any] | None = None) -> RunRecord:
    """A Dask worker's entry point: loads the suite's plug-ins, builds the benchmark here
    (data loaded, TensorFlow imported in the worker), keeps the last one for the worker's next
    run on the same (benchmark, seed), and does the run."""
    global _WORKER_BENCHMARK
    apply_thread_environment(task.environment)
    import_tensorflow_quietly()  # after the thread settings, which TensorFlow reads when it loads
    load_plugins(task.plugins)
    key = json.dumps([asdict(task.plan), task.seed, task.data_dir, repr(benchmark_factory)], sort_keys=True, default=str)
    if _WORKER_BENCHMARK is None or _WORKER_BENCHMARK[0] != key:
        _WORKER_BENCHMARK = None
        _WORKER_BENCHMARK = (key, build_benchmark(task.plan, task.seed, Path(task.data_dir), benchmark_factory))
    return execute_run(task, benchmark=_WORKER_BENCHMARK[1])


__all__ = ["check_run_header", "execute_run", "execute_run_task", "run_header",
           "scan_journal"]
