"""A one-line progress display for long runs, silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    """``75`` -> ``1m15s``; ``3700`` -> ``1h01m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Shows run x of y, the trial, the best validation accuracy so far, epochs left and an ETA.

    The ETA assumes the remaining epochs cost what the epochs so far cost on average.

    Parameters
    ----------
    total_runs:
        Runs in the whole suite.
    total_epochs:
        Sum of all runs' epoch budgets.
    stream:
        Where to draw; nothing is drawn unless ``enabled`` (default: ``stream.isatty()``).
    """

    def __init__(self, total_runs: int, total_epochs: int, stream: TextIO | None = None,
                 enabled: bool | None = None, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total_runs = total_runs
        self.total_epochs = total_epochs
        self._clock = clock
        self._started = clock()
        self._epochs_before_run = 0
        self._run_budget = 0

    def start_run(self, index: int, label: str, budget_epochs: int) -> None:
        """A new run begins (``index`` is 1-based)."""
        self._run_index, self._label, self._run_budget = index, label, budget_epochs
        self.update(trial=0, best=None, epochs_used=0)

    def end_run(self) -> None:
        """The run finished; its whole budget counts as done for the ETA."""
        self._epochs_before_run += self._run_budget

    def line(self, trial: int, best: float | None, epochs_used: int) -> str:
        """The text that :meth:`update` draws."""
        done = self._epochs_before_run + epochs_used
        elapsed = self._clock() - self._started
        eta = "?" if done == 0 else format_duration(elapsed / done * (self.total_epochs - done))
        best_text = "-" if best is None else f"{best:.4f}"
        return (f"run {self._run_index}/{self.total_runs} {self._label} | trial {trial} | best val_acc {best_text} | "
                f"epochs left {self._run_budget - epochs_used}/{self._run_budget} | ETA {eta}")

    def update(self, trial: int, best: float | None, epochs_used: int) -> None:
        """Redraw the line."""
        if self.enabled:
            self.stream.write("\r\x1b[2K" + self.line(trial, best, epochs_used))
            self.stream.flush()

    def close(self) -> None:
        """End the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
