"""Progress and messages for the driving process of a suite.

The monitor is fed each new trial and each finished run, by the run itself (in-process) or
from the run journals (Dask workers), and draws them through :class:`tunebench.progress.Progress`.
"""

from __future__ import annotations

import math
import time
from typing import Sequence

from tunebench.benchmarks import get_benchmark_spec
from tunebench.eta import EtaModel
from tunebench.progress import Progress
from tunebench.runner.tasks import RunTask
from tunebench.runner.trial_loop import MAX_CONSECUTIVE_FAILURES
from tunebench.schema import RunRecord, RunStatus, TrialRecord


class SuiteMonitor:
    """Progress and messages for the driving process: fed each new trial and each finished
    run, by the run itself (in-process) or from the run journals (workers).

    A failed trial and a run stopped after too many failures are said on stderr (through
    :meth:`Progress.message`, so they show whether or not the progress line is drawn).
    Given the suite's ``tasks``, the ETA comes from a per-benchmark cost model
    (:class:`tunebench.eta.EtaModel`) fed by the same events.
    """

    def __init__(self, progress: Progress, parallel: bool = False, tasks: Sequence[RunTask] = ()):
        self.progress = progress
        self.parallel = parallel
        self.eta = EtaModel({task.index: (task.plan.name, task.plan.budget_epochs,
                                          "replay" if get_benchmark_spec(task.plan.name).recording else "live")
                             for task in tasks})
        if tasks:
            progress.eta_text = self.eta.text
        self._epochs: dict[int, int] = {}
        self._best: dict[int, float] = {}
        self._done = 0
        self._running: set[int] = set()
        self._began: dict[int, float] = {}  # when this process saw each run begin (real time, not the ledger's)

    def _note(self, task: RunTask, record: TrialRecord) -> None:
        self._epochs[task.index] = record.epochs_used
        value = record.val_accuracy
        if not record.failed and not math.isnan(value) and value > self._best.get(task.index, -math.inf):
            self._best[task.index] = value

    def skip(self, task: RunTask, run_record: RunRecord) -> None:
        """A run that was already complete (resuming)."""
        self._done += 1
        self._epochs[task.index] = task.plan.budget_epochs
        self.eta.skipped(task.index)
        self.progress.skip_run(task.plan.budget_epochs)

    def _note_journaled(self, task: RunTask, journaled: Sequence[TrialRecord]) -> TrialRecord:
        """Note a resumed run's journaled trials (its best so far is the best of them all);
        returns the last."""
        for record in journaled:
            self._note(task, record)
        return journaled[-1]

    def resumed_later(self, task: RunTask, journaled: Sequence[TrialRecord]) -> None:
        """A run with journaled trials (in the order written), to be resumed (only matters for
        the parallel line)."""
        if self.parallel:
            last = self._note_journaled(task, journaled)
            self.eta.resumed(task.index, last.epochs_used)
            self.progress.resumed(last.epochs_used)

    def start(self, task: RunTask) -> None:
        """A run begins (said once; later calls for the same run do nothing)."""
        if task.index in self._running:
            return
        self._running.add(task.index)
        self._began[task.index] = time.monotonic()
        self.eta.started(task.index)
        if not self.parallel:
            self.progress.start_run(task.index, task.label, task.plan.budget_epochs)

    def resumed(self, task: RunTask, journaled: Sequence[TrialRecord]) -> None:
        """An in-process run finished replaying its journal (its trials, in order)."""
        last = self._note_journaled(task, journaled)
        self.eta.resumed(task.index, last.epochs_used)
        self.progress.resumed(last.epochs_used)
        self._draw(task, last)

    def trial(self, task: RunTask, record: TrialRecord) -> None:
        """A trial trained (and journaled)."""
        self._note(task, record)
        self.eta.progressed(task.index, record.epochs_used)
        self.progress.trial_done(task.label, record.trial, record.val_accuracy, record.epochs_trained)
        if record.failed:
            self.progress.message(f"tunebench: warning: {task.label} trial {record.trial} failed after "
                                  f"{record.epochs_trained} epoch(s): {record.error}; the run goes on")
        self._draw(task, record)

    def finish(self, task: RunTask, run_record: RunRecord) -> None:
        """A run ended (``run_record`` is its journal's last line)."""
        used = run_record.summary.epochs_used
        self.eta.finished(task.index, used)
        self._running.discard(task.index)
        self._done += 1
        self._epochs[task.index] = task.plan.budget_epochs
        if run_record.status == RunStatus.TOO_MANY_FAILURES:
            self.progress.message(f"tunebench: {task.label}: {MAX_CONSECUTIVE_FAILURES} trials failed in a row "
                                  f"(last: {run_record.error}); the run stopped with status "
                                  f"{RunStatus.TOO_MANY_FAILURES}, the suite goes on")
        if self.parallel:
            self._draw(task, None)
        else:
            self.progress.end_run()
        seconds = time.monotonic() - self._began.get(task.index, time.monotonic())  # runs.csv's is the ledger's
        self.progress.run_done(task.index, task.label, self._best.get(task.index), used, task.plan.budget_epochs,
                               seconds, self._done, sum(self._epochs.values()))

    def _draw(self, task: RunTask, record: TrialRecord | None) -> None:
        if self.parallel:
            best = max(self._best.values(), default=None)
            self.progress.update_suite(self._done, len(self._running), sum(self._epochs.values()), best)
        elif record is not None:
            self.progress.update(trial=record.trial, best=self._best.get(task.index), epochs_used=record.epochs_used)

    def close(self) -> None:
        self.progress.close()


__all__ = ["SuiteMonitor"]
