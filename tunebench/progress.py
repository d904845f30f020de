"""Progress for long runs: a live line on a terminal; plain lines in a log or a pipe.

On a terminal one line is redrawn in place (run x of y, trial, best so far, epochs left,
ETA). When stderr is not a terminal (``| tee``, CI logs, ``nohup``), nothing is redrawn:
one plain line per finished run is printed instead, and one per finished trial with
``verbose``, the way pip and tqdm behave in logs; and while a run trains without a line for
:data:`HEARTBEAT_SECONDS`, the latest progress line again, with how long ago it changed, so
that a log shows at least one line a minute.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO

#: Off a terminal, the longest a log goes without a line while a suite runs.
HEARTBEAT_SECONDS = 60.0


def plural(count: int, noun: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


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

    The ETA assumes the remaining epochs cost what the epochs so far cost on average
    (epochs done before a resumed run's restart do not count in that average). When runs go
    in parallel, :meth:`update_suite` draws a suite-wide line instead. :meth:`message`
    prints a line (a warning) whether or not the progress line is drawn.

    Parameters
    ----------
    total_runs:
        Runs in the whole suite.
    total_epochs:
        Sum of all runs' epoch budgets.
    stream:
        Where to draw; the live line is drawn only if ``enabled`` (default:
        ``stream.isatty()``), plain lines (:meth:`run_done`, :meth:`trial_done`) only if not.
    verbose:
        Plain lines for every finished trial too.
    heartbeat_seconds:
        Off a terminal, the latest progress line is printed again after this long without a
        line (``None``: never).
    """

    def __init__(self, total_runs: int, total_epochs: int, stream: TextIO | None = None,
                 enabled: bool | None = None, clock=time.monotonic, verbose: bool = False,
                 heartbeat_seconds: float | None = HEARTBEAT_SECONDS):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.verbose = verbose
        self._lock = threading.Lock()  # the heartbeat prints from its own thread
        self._latest: tuple[str, float] | None = None  # the latest line and when it was made
        self._last_write = time.monotonic()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_seconds = heartbeat_seconds
        self.total_runs = total_runs
        self.total_epochs = total_epochs
        self._clock = clock
        self._started = clock()
        self._epochs_before_run = 0
        self._run_budget = 0
        self._baseline = 0  # epochs done before this process started (a resumed run)
        self._run_index, self._label = 0, ""
        #: When set (by :class:`tunebench.runner.monitor.SuiteMonitor`, from a
        #: :class:`tunebench.eta.EtaModel`), the ETA text; else one average cost per epoch.
        self.eta_text: Callable[[], str] | None = None

    def start_run(self, index: int, label: str, budget_epochs: int) -> None:
        """A new run begins (``index`` is 1-based)."""
        self._run_index, self._label, self._run_budget = index, label, budget_epochs
        self.update(trial=0, best=None, epochs_used=0)

    def end_run(self) -> None:
        """The run finished; its whole budget counts as done for the ETA."""
        self._epochs_before_run += self._run_budget

    def skip_run(self, budget_epochs: int) -> None:
        """A run that finished before this process started (resuming): counts as done."""
        self._epochs_before_run += budget_epochs
        self._baseline += budget_epochs

    def resumed(self, epochs_used: int) -> None:
        """The current run had ``epochs_used`` epochs done before this process started."""
        self._baseline += epochs_used

    def _eta(self, done: int) -> str:
        if self.eta_text is not None:
            return self.eta_text()
        fresh = done - self._baseline
        elapsed = self._clock() - self._started
        return "?" if fresh <= 0 else format_duration(elapsed / fresh * (self.total_epochs - done))

    def line(self, trial: int, best: float | None, epochs_used: int) -> str:
        """The text that :meth:`update` draws."""
        done = self._epochs_before_run + epochs_used
        eta = self._eta(done)
        best_text = "-" if best is None else f"{best:.4f}"
        return (f"run {self._run_index}/{self.total_runs} {self._label} | trial {trial} | best val_acc {best_text} | "
                f"epochs left {self._run_budget - epochs_used}/{self._run_budget} | ETA {eta}")

    def update(self, trial: int, best: float | None, epochs_used: int) -> None:
        """Redraw the line (off a terminal: keep it for the heartbeat)."""
        if self.enabled:
            self.stream.write("\r\x1b[2K" + self.line(trial, best, epochs_used))
            self.stream.flush()
        else:
            self._keep(self.line(trial, best, epochs_used))

    def suite_line(self, runs_done: int, running: int, epochs_done: int, best: float | None = None) -> str:
        """The text that :meth:`update_suite` draws."""
        best_text = "" if best is None else f" | best val_acc {best:.4f}"
        return (f"runs {runs_done}/{self.total_runs} done, {running} running{best_text} | "
                f"epochs {epochs_done}/{self.total_epochs} | ETA {self._eta(epochs_done)}")

    def update_suite(self, runs_done: int, running: int, epochs_done: int, best: float | None = None) -> None:
        """Redraw a suite-wide line (runs in parallel), ``epochs_done`` counting every run's."""
        if self.enabled:
            self.stream.write("\r\x1b[2K" + self.suite_line(runs_done, running, epochs_done, best))
            self.stream.flush()
        else:
            self._keep(self.suite_line(runs_done, running, epochs_done, best))

    def _keep(self, line: str) -> None:
        """Off a terminal: ``line`` is what the heartbeat prints next (started on first use)."""
        with self._lock:
            self._latest = (line, time.monotonic())
        if self._heartbeat is None and self._heartbeat_seconds is not None:
            self._heartbeat = threading.Thread(target=self._beat, name="tunebench-heartbeat", daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        """Every so often: after :attr:`_heartbeat_seconds` without a line, the latest line again."""
        while not self._stop.wait(min(self._heartbeat_seconds, 5.0)):
            with self._lock:
                now = time.monotonic()
                if self._latest is None or now - self._last_write < self._heartbeat_seconds:
                    continue
                line, made = self._latest
                self._write(f"tunebench: {line} | last change {format_duration(now - made)} ago\n")

    def run_done(self, index: int, label: str, best: float | None, epochs_used: int, budget: int, seconds: float,
                 runs_done: int, epochs_done: int) -> None:
        """A plain line for a finished run (when the live line is not drawn); ``seconds`` is the
        real time this process saw it take (a replay's runs.csv ``wall_seconds`` is simulated)."""
        if self.enabled:
            return
        best_text = "no completed trial" if best is None else f"best val_acc {best:.4f}"
        self.message(f"tunebench: run {index}/{self.total_runs} {label} done: {best_text}, {epochs_used}/{budget} "
                     f"epochs, {format_duration(seconds)} | {runs_done}/{self.total_runs} runs done | "
                     f"ETA {self._eta(epochs_done)}")

    def trial_done(self, label: str, trial: int, val_accuracy: float, epochs_trained: int) -> None:
        """A plain line for a finished trial (``verbose``, when the live line is not drawn)."""
        if self.enabled or not self.verbose:
            return
        self.message(f"tunebench: {label} trial {trial}: val_acc {val_accuracy:.4f} after {epochs_trained} epoch(s)")

    def message(self, text: str) -> None:
        """Print ``text`` on a line of its own (above the progress line when it is drawn)."""
        with self._lock:
            self._write(("\r\x1b[2K" if self.enabled else "") + text + "\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
        self._last_write = time.monotonic()

    def close(self) -> None:
        """End the line; stop the heartbeat."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=10)
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
