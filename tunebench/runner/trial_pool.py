"""Where a run's trials train: in this process, or on a pool of worker processes.

A run with ``parallel_trials = W`` (a suite key, ``--parallel-trials``) keeps up to W trials
in flight: the trial loop asks a new trial whenever fewer than W are asked and not yet told,
and tells them strictly in the order they were asked (:mod:`tunebench.runner.trial_loop`).
Which trials are asked, and what each is told, therefore does not depend on which finishes
first: a run is as reproducible with W trials in flight as with one, and resumes the same way.
A strategy sees at most W - 1 trials it has not heard back from when it asks, as it would
on W machines; W = 1 is one trial after another, in this process.

With W > 1 the trials train on ``min(W, cores)`` worker processes
(:class:`ProcessTrials`), each with ``cores / workers`` TensorFlow threads, each holding the
run's benchmark (its data loaded once per worker). A worker builds that benchmark again from
the registry once it has loaded the suite's plug-ins, so any benchmark that a new process
has runs trials in parallel: a built-in live one, or a plug-in's
(:func:`tunebench.suite_checks.check_parallel_trials` refuses the others while the suite is read). Queued trials start in the order they
were asked. Small models gain most: the MNIST MLP's epochs are bound by per-step overhead,
which a second thread barely shortens but a second process halves (docs/measurements.md). A
worker that dies (killed, out of memory) takes the pool down with it: the run
starts a new pool and trains the trials that were in flight again one at a time, so that a
trial whose worker dies twice is recorded as failed (as in one process) and the others are
not (:meth:`tunebench.runner.trial_loop.TrialLoop._recover`).
"""

from __future__ import annotations

import signal
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable

from tunebench.files import set_environment
from tunebench.runner.tasks import RunTask
from tunebench.from_plan import build_benchmark
from tunebench.process import available_cores, size_worker_threads
from tunebench.runner.training import Trained, train


class WorkerDied(RuntimeError):
    """A trial worker process ended during a trial (killed, or out of memory)."""


class InlineTrials:
    """Trains each submitted trial at once, in this process (``parallel_trials = 1``)."""

    def __init__(self, benchmark):
        self.benchmark = benchmark

    def submit(self, *train_args) -> Future:
        """:func:`tunebench.runner.training.train` on this benchmark; a finished future."""
        future: Future = Future()
        future.set_result(train(self.benchmark, *train_args))
        return future

    def restart(self) -> None:
        pass

    def close(self) -> None:
        pass


class ProcessTrials:
    """Trains submitted trials on ``workers`` worker processes, in submission order.

    Parameters
    ----------
    task:
        The run: the workers build its benchmark themselves (plug-ins loaded, data loaded,
        TensorFlow imported with the thread settings below).
    workers:
        Worker processes (each ``cores // workers`` threads).
    benchmark_factory:
        As for :func:`tunebench.runner.tasks.build_benchmark` (pickled to the workers).
    """

    def __init__(self, task: RunTask, workers: int, benchmark_factory: Callable[..., Any] | None = None):
        import multiprocessing

        threads = max(1, available_cores() // workers)
        # spawn: a fork of a process that has TensorFlow's thread pools running is not safe.
        self._new_pool = lambda: ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
            initargs=(task, threads, benchmark_factory))
        self._pool = self._new_pool()

    def submit(self, *train_args) -> Future:
        """:func:`tunebench.runner.training.train` on a worker; its future's result is the
        :class:`~tunebench.runner.training.Trained` (or :class:`WorkerDied`)."""
        outer: Future = Future()
        try:
            inner = self._pool.submit(_train_in_worker, *train_args)
        except BrokenProcessPool:  # a worker died before this trial was handed over
            outer.set_exception(WorkerDied("a trial worker process ended (killed, or out of memory?)"))
            return outer

        def settle(done: Future) -> None:
            if done.cancelled():  # dropped by close() before a worker took it
                outer.cancel()
                return
            error = done.exception()
            if isinstance(error, BrokenProcessPool):
                outer.set_exception(WorkerDied("a trial worker process ended during a trial (killed, or out of "
                                               "memory?)"))
            elif error is not None:
                outer.set_exception(error)
            else:
                outer.set_result(done.result())

        inner.add_done_callback(settle)
        return outer

    def restart(self) -> None:
        """A new pool in place of one that a dying worker broke."""
        self.close()
        self._pool = self._new_pool()

    def close(self) -> None:
        """Stop the workers now (trials still queued or training are dropped)."""
        # The pool's own list of its processes (Python 3.14 adds ProcessPoolExecutor.kill_workers()).
        processes = list((self._pool._processes or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()
        for process in processes:
            process.join(timeout=10)


def make_trials(task: RunTask, benchmark, benchmark_factory: Callable[..., Any] | None = None):
    """The run's trainer: :class:`InlineTrials` for one trial in flight, else
    :class:`ProcessTrials` with ``min(parallel_trials, cores)`` workers."""
    width = task.plan.parallel_trials
    if width <= 1:
        return InlineTrials(benchmark)
    return ProcessTrials(task, min(width, available_cores()), benchmark_factory)


_BENCHMARK = None


def _start_worker(task: RunTask, threads: int, benchmark_factory) -> None:
    """A trial worker's start: ignore Ctrl-C (the driving process stops the workers), die
    with the driving process, set the thread counts, load the run's benchmark."""
    global _BENCHMARK
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphaned worker after a kill -9
    set_environment(task.environment)
    size_worker_threads(threads, task.environment)
    from tunebench.plugins import load_plugins

    load_plugins(task.plugins)
    _BENCHMARK = build_benchmark(task.plan, task.seed, Path(task.data_dir), benchmark_factory)


def _train_in_worker(*train_args) -> Trained:
    return train(_BENCHMARK, *train_args)


__all__ = ["InlineTrials", "ProcessTrials", "WorkerDied", "make_trials"]
