"""The time a suite has left: each benchmark's cost per epoch, learned from its own runs.

One average over the whole suite misleads as soon as benchmarks differ in cost: in one
default run a fer-cnn epoch took 34 s and an mnist-mlp epoch 4.4 s, and the ETA shown at the
switch from mnist-mlp to fer-cnn was 6x too low. :class:`EtaModel` keeps, per benchmark, the
real seconds and the epochs of its runs in this process (finished ones, and the time so far
of those in progress) and costs each benchmark's epochs left at that benchmark's own rate.
A benchmark not timed yet is costed at the rate of those that are, and the estimate says so
(``"12m (fer-cnn not timed yet)"``). With runs in parallel, the sum is divided by the
number of runs in flight. Epochs done before a resumed process started are never timed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tunebench.progress import format_duration


@dataclass
class _Run:
    benchmark: str
    budget: int
    epochs_used: int = 0
    epochs_before: int = 0  # done before this process started: not timed
    started: float | None = None
    seconds: float | None = None  # real seconds, once finished
    finished: bool = False


class EtaModel:
    """Seconds left in a suite, from a cost per epoch per benchmark that learns as runs go.

    Parameters
    ----------
    runs:
        Every run of the suite: run index to (benchmark name, epoch budget).
    clock:
        A monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(self, runs: dict[int, tuple[str, int]], clock=time.monotonic):
        self._runs = {index: _Run(benchmark, budget) for index, (benchmark, budget) in runs.items()}
        self._clock = clock

    def skipped(self, index: int) -> None:
        """Run ``index`` was complete before this process started."""
        run = self._runs[index]
        run.finished, run.epochs_used = True, run.budget

    def resumed(self, index: int, epochs_used: int) -> None:
        """Run ``index`` had ``epochs_used`` epochs done before this process started."""
        run = self._runs[index]
        run.epochs_used = run.epochs_before = epochs_used

    def started(self, index: int) -> None:
        """Run ``index`` began in this process (or on a worker) now."""
        if self._runs[index].started is None:
            self._runs[index].started = self._clock()

    def progressed(self, index: int, epochs_used: int) -> None:
        """Run ``index`` has used ``epochs_used`` epochs of its budget so far."""
        self._runs[index].epochs_used = epochs_used

    def finished(self, index: int, epochs_used: int) -> None:
        """Run ``index`` ended having used ``epochs_used`` epochs (its budget or fewer)."""
        run = self._runs[index]
        run.epochs_used, run.finished = epochs_used, True
        if run.started is not None:
            run.seconds = self._clock() - run.started

    def rates(self) -> dict[str, float]:
        """Real seconds per epoch of each benchmark timed so far (in-flight runs included)."""
        seconds: dict[str, float] = {}
        epochs: dict[str, int] = {}
        now = self._clock()
        for run in self._runs.values():
            fresh = run.epochs_used - run.epochs_before
            if run.started is None or fresh <= 0:
                continue
            spent = run.seconds if run.finished else now - run.started
            seconds[run.benchmark] = seconds.get(run.benchmark, 0.0) + spent
            epochs[run.benchmark] = epochs.get(run.benchmark, 0) + fresh
        return {name: seconds[name] / epochs[name] for name in seconds}

    def seconds_left(self) -> tuple[float | None, list[str]]:
        """(estimated seconds left or None if nothing is timed yet, benchmarks not timed yet)."""
        left: dict[str, int] = {}
        for run in self._runs.values():
            if not run.finished:
                left[run.benchmark] = left.get(run.benchmark, 0) + max(0, run.budget - run.epochs_used)
        rates = self.rates()
        untimed = sorted(name for name, epochs in left.items() if epochs and name not in rates)
        if not rates:
            return (None if untimed else 0.0), untimed
        fallback = sum(rates.values()) / len(rates)
        total = sum(epochs * rates.get(name, fallback) for name, epochs in left.items())
        in_flight = sum(1 for run in self._runs.values() if run.started is not None and not run.finished)
        return total / max(1, in_flight), untimed

    def text(self) -> str:
        """The ETA as the progress line shows it: ``"?"``, ``"4m10s"``, ``"12m00s (fer-cnn not timed yet)"``."""
        seconds, untimed = self.seconds_left()
        if seconds is None:
            return "?"
        return format_duration(seconds) + (f" ({', '.join(untimed)} not timed yet)" if untimed else "")


__all__ = ["EtaModel"]
