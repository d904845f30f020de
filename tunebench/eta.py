"""The time a suite has left: each benchmark's cost per epoch, learned from its own runs.

One average over the whole suite misleads as soon as benchmarks differ in cost: in one
default run a fer-cnn epoch took 34 s and an mnist-mlp epoch 4.4 s, and the ETA shown at the
switch from mnist-mlp to fer-cnn was 6x too low. :class:`EtaModel` keeps, per benchmark, the
real seconds and the epochs of its runs in this process (finished ones, and the time so far
of those in progress) and costs each benchmark's epochs left at that benchmark's own rate.
A benchmark not timed yet is costed at the mean rate of the timed benchmarks of its family
(live training, or replay, whose epochs cost thousands of times less), and the estimate
says so (``"12m00s (fer-cnn not timed yet)"``); when none of its family is timed it is left
out of the sum and named after it (``"12m00s + fer-cnn@replay (not timed yet)"``). With runs
in parallel, the sum is divided by the number of runs in flight. Epochs done before a
resumed process started are never timed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tunebench.progress import format_duration


@dataclass
class _Run:
    benchmark: str
    budget: int
    family: str = ""
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
        Every run of the suite: run index to (benchmark name, epoch budget) or (benchmark
        name, epoch budget, family); benchmarks of one family (e.g. ``"live"``, ``"replay"``)
        stand in for each other before they are timed. Without a family, all are one.
    clock:
        A monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(self, runs: dict[int, tuple], clock=time.monotonic):
        self._runs = {index: _Run(*run) for index, run in runs.items()}
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
        """(estimated seconds left, or None if nothing is timed yet; benchmarks not timed yet).

        The seconds leave out the benchmarks of a family none of which is timed yet
        (:meth:`left_out`)."""
        left = self._epochs_left()
        rates = self.rates()
        untimed = sorted(name for name, epochs in left.items() if epochs and name not in rates)
        if not rates:
            return (None if untimed else 0.0), untimed
        family_rates = self._family_rates(rates)
        families = {run.benchmark: run.family for run in self._runs.values()}
        total = sum(epochs * (rates[name] if name in rates else family_rates[families[name]])
                    for name, epochs in left.items() if name in rates or families[name] in family_rates)
        in_flight = sum(1 for run in self._runs.values() if run.started is not None and not run.finished)
        return total / max(1, in_flight), untimed

    def left_out(self) -> list[str]:
        """Benchmarks with epochs left whose family has no timed benchmark: not in the seconds."""
        rates = self.rates()
        family_rates = self._family_rates(rates)
        families = {run.benchmark: run.family for run in self._runs.values()}
        return sorted(name for name, epochs in self._epochs_left().items()
                      if epochs and name not in rates and families[name] not in family_rates)

    def _epochs_left(self) -> dict[str, int]:
        left: dict[str, int] = {}
        for run in self._runs.values():
            if not run.finished:
                left[run.benchmark] = left.get(run.benchmark, 0) + max(0, run.budget - run.epochs_used)
        return left

    def _family_rates(self, rates: dict[str, float]) -> dict[str, float]:
        """The mean rate of each family's timed benchmarks."""
        families = {run.benchmark: run.family for run in self._runs.values()}
        grouped: dict[str, list[float]] = {}
        for name, rate in rates.items():
            grouped.setdefault(families[name], []).append(rate)
        return {family: sum(values) / len(values) for family, values in grouped.items()}

    def text(self) -> str:
        """The ETA as the progress line shows it: ``"?"``, ``"4m10s"``, ``"12m00s (fer-cnn not timed
        yet)"``, ``"12m00s + fer-cnn@replay (not timed yet)"``."""
        seconds, untimed = self.seconds_left()
        if seconds is None:
            return "?"
        left_out = self.left_out()
        costed = [name for name in untimed if name not in left_out]
        text = format_duration(seconds) + (f" ({', '.join(costed)} not timed yet)" if costed else "")
        return text + (f" + {', '.join(left_out)} (not timed yet)" if left_out else "")


__all__ = ["EtaModel"]
