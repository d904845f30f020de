"""Executors: where a suite's runs are done. In this process, one after another
(:class:`InProcessExecutor`), or on Dask workers: a local cluster (``--workers N``) or an
existing one (``--scheduler``) (:class:`DaskExecutor`).

Each (benchmark, strategy, seed) run is one Dask task, :func:`tunebench.runner.execute.execute_run_task`.
The worker that does a run builds its own benchmark (loads the data, imports TensorFlow)
and is the only writer of that run's journal (``.partial/runs/<run>.jsonl``, under a lock);
the driving process reads the journals as they grow, for the progress line and the
failure messages, and merges them in suite order once every run is done, so the final
files are those of a one-process run (apart from timing columns).

Workers are processes with one thread each: TensorFlow is not shared between runs. A
worker that dies (killed, out of memory) has its run retried by Dask on another worker, and
the retry resumes from the journal. With ``--scheduler`` the output directory and the data
directory must be the same paths on every worker (a shared filesystem), and every worker
needs the same tunebench version; both are checked before the runs are sent.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from tunebench import SCHEMA_VERSION, __version__
from tunebench.errors import InputError
from tunebench.journal import Line, parse_line, typed
from tunebench.quiet import import_tensorflow_quietly
from tunebench.attempts import AttemptMarker
from tunebench.runner.execute import execute_run, execute_run_task
from tunebench.runner.tasks import RunTask
from tunebench.from_plan import build_benchmark
from tunebench.process import THREAD_ENV, available_cores, with_training_threads
from tunebench.schema import RecordError, RunRecord, TrialRecord

#: What ``--scheduler`` accepts: ``[tcp|tls|ws|wss|ucx://]host:port`` (a malformed one is
#: refused before Dask sees it: Dask's half-built client then prints a traceback on exit).
SCHEDULER_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):[0-9]{1,5}")

#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT = 10.0
#: Seconds between looks at the run journals (progress) while runs are going.
POLL_SECONDS = 0.5


def _worker_probe(staging: str) -> dict[str, Any]:
    """Run on each worker before the runs are sent: what it has and what it sees."""
    return {"tunebench": __version__, "schema_version": SCHEMA_VERSION, "sees_output": os.path.isdir(staging),
            "host": os.uname().nodename}


class JournalTail:
    """Reads the complete lines appended to a run journal since the last look (trial and run
    lines as their records, :func:`tunebench.journal.typed`; a line that is neither JSON nor
    a record of this schema is skipped: the run that reads it will say)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def read(self) -> list[Line]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        records = []
        for line in map(parse_line, data[:end].split(b"\n")):
            try:
                if line is not None:
                    records.append(typed(line))
            except RecordError:
                continue
        return records


class InProcessExecutor:
    """Runs one after another in this process; consecutive runs on the same (benchmark,
    seed) share one benchmark (the data is split once)."""

    description = "in-process"

    def run(self, tasks: list[RunTask], monitor, benchmark_factory: Callable[..., Any] | None = None) -> None:
        cached_key, benchmark = None, None
        if tasks:
            import_tensorflow_quietly()  # strategies and live benchmarks import it; without its start-up lines
        for task in tasks:
            monitor.start(task)
            key = (task.plan.name, task.seed)
            if key != cached_key:
                benchmark = None  # free the previous data first
                benchmark = build_benchmark(task.plan, task.seed, Path(task.data_dir), benchmark_factory)
                cached_key = key
            record = execute_run(task, benchmark=benchmark, benchmark_factory=benchmark_factory, observer=monitor)
            monitor.finish(task, record)


class DaskExecutor:
    """Sends runs to Dask workers and follows them from the driving process.

    Use as a context manager: :meth:`connect` (an existing scheduler, before anything is
    written), :meth:`start` (the local cluster), :meth:`check_workers`, :meth:`run`.
    """

    def __init__(self, workers: int = 1, scheduler: str | None = None):
        self.workers = workers
        self.scheduler = scheduler
        self.client = None
        self.cluster = None
        #: TensorFlow threads per run on a local cluster (its cores over its workers); ``None``
        #: on an existing scheduler, whose workers' cores are their own business.
        self.training_threads: int | None = None
        self._stopped: list = []  # runs in flight on local workers when the user stopped the suite

    @property
    def description(self) -> str:
        if self.scheduler is not None:
            return f"dask scheduler {self.scheduler}"
        return f"dask LocalCluster, {self.workers} worker processes x 1 thread"

    def __enter__(self) -> "DaskExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> None:
        """Connect to ``scheduler`` if one was given; :class:`InputError` naming the address
        if it cannot be reached."""
        if self.scheduler is None:
            return
        if not SCHEDULER_ADDRESS.fullmatch(self.scheduler):
            raise InputError(f"--scheduler {self.scheduler!r}: not a Dask scheduler address; expected "
                             "[PROTOCOL://]HOST:PORT, such as tcp://10.0.0.5:8786")
        from distributed import Client  # lazy: Dask takes seconds to import and most runs never need it

        try:
            self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as error:
            raise InputError(f"--scheduler {self.scheduler}: cannot reach a Dask scheduler at {self.scheduler} "
                             f"within {CONNECT_TIMEOUT:g} s ({type(error).__name__}: {error}); start one with "
                             "'dask scheduler' and workers with 'dask worker ADDRESS --nthreads 1'") from None

    def start(self, runs: int) -> None:
        """Start the local cluster (no more workers than ``runs``), unless connected."""
        if self.client is not None:
            return
        import dask  # lazy, as in connect()
        from distributed import Client, LocalCluster

        # Dask's nanny pins OpenMP, MKL and OpenBLAS to one thread in its workers; TensorFlow
        # and NumPy then reduce in another order than in one process, and numbers change. The
        # workers inherit this process's environment instead (the nanny's config is read
        # again when it restarts a worker, so this is set for the process, not for a block).
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
        dask.config.set({"distributed.nanny.pre-spawn-environ":
                         {k: v for k, v in environ.items() if k not in THREAD_ENV}})
        workers = max(1, min(self.workers, runs))
        self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                    processes=True, dashboard_address=None, silence_logs=logging.ERROR)
        self.training_threads = max(1, available_cores() // workers)
        self.client = Client(self.cluster, set_as_default=False)

    def check_workers(self, staging: Path) -> None:
        """Every connected worker runs this tunebench and sees the output directory."""
        try:
            answers = self.client.run(_worker_probe, str(staging))
        except Exception as error:  # a worker that cannot even import tunebench
            raise InputError(f"a Dask worker of {self.description} cannot run tunebench ({type(error).__name__}: "
                             f"{error}); install the same tunebench ({__version__}) on every worker") from None
        if not answers:
            print(f"tunebench: no Dask worker is connected to {self.scheduler} yet; the runs wait for workers "
                  "(they must see the same output and data paths)", file=sys.stderr)
        for address, info in answers.items():
            if info["tunebench"] != __version__ or info["schema_version"] != SCHEMA_VERSION:
                raise InputError(f"Dask worker {address} ({info['host']}) runs tunebench {info['tunebench']} (results "
                                 f"schema {info['schema_version']}); this one is {__version__} (schema {SCHEMA_VERSION})")
            if not info["sees_output"]:
                raise InputError(f"Dask worker {address} ({info['host']}) does not see the output directory "
                                 f"{staging.parent}: with --scheduler the output (and data) directories must be "
                                 "the same paths on every machine (a shared filesystem)")

    def run(self, tasks: list, monitor, benchmark_factory: Callable[..., Any] | None = None) -> dict[int, RunRecord]:
        """Do ``tasks`` on the workers; returns each run's record by task index.

        The first run that fails (not a failed trial: an error outside any trial) cancels
        the others and is raised here; their journals stay, so running again resumes.
        """
        token = uuid.uuid4().hex[:8]
        tails = {task.index: JournalTail(task.journal_path) for task in tasks}
        futures = {}
        for task in tasks:
            if self.training_threads is not None:  # a share of the cores, not a pool of all of them per worker
                task = replace(task, environment=with_training_threads(task.environment, self.training_threads))
            future = self.client.submit(execute_run_task, task, benchmark_factory, pure=False,
                                        key=f"tunebench-{task.stem}-{token}")
            futures[future] = task
        running = set(futures)
        results: dict[int, RunRecord] = {}
        try:
            while running:
                finished = [future for future in running if future.done()]
                self._follow(futures, running, tails, monitor)
                for future in finished:
                    running.discard(future)
                    task = futures[future]
                    record = future.result()  # raises the run's error, if any
                    for line in tails[task.index].read():
                        if isinstance(line, TrialRecord):
                            monitor.trial(task, line)
                    results[task.index] = record
                    monitor.finish(task, record)
                if not finished:
                    time.sleep(POLL_SECONDS)
        except BaseException as error:
            for future in running:
                future.cancel()
            if isinstance(error, KeyboardInterrupt) and self.cluster is not None:
                self._stopped = [futures[future] for future in running]  # forgiven once the workers are gone
            raise
        return results

    @staticmethod
    def _follow(futures, running, tails, monitor) -> None:
        for future in running:
            task = futures[future]
            for record in tails[task.index].read():
                monitor.start(task)  # the run has begun on a worker
                if isinstance(record, TrialRecord):
                    monitor.trial(task, record)

    def close(self) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
                    pass
        self.client = self.cluster = None
        # A local worker killed because the user stopped the suite did not die on its own.
        for task in self._stopped:
            AttemptMarker(task.attempt_path).forgive()
        self._stopped = []


__all__ = ["CONNECT_TIMEOUT", "DaskExecutor", "InProcessExecutor", "JournalTail", "POLL_SECONDS"]
