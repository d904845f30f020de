"""Workers on a simulated clock, for replay benchmarks (the suite key ``simulated_workers``).

``W`` workers share one clock that starts at 0 seconds. A trial takes the lowest-numbered
free worker (1 to ``W``) when it is asked, at the clock's present time, and holds it for its
recorded (or predicted) epoch seconds, from its initial epoch to its last. The trial that
finishes first is told next (the earlier asked on a tie), and the clock moves to its end;
its worker is then free for the next ask. So a run keeps up to ``W`` trials in flight, its
strategy asked with the others untold, as people tune with several workers against a wall
clock (syne-tune's simulator keeps the same event order over tabulated curves).

By default the strategy's own decision time is not charged to the clock: a run's simulated
times then depend on the recording alone, never on the machine that replays it, and a run
repeats exactly. With ``charge_decision_time`` (as syne-tune's simulator charges it) each
trial's measured ask and tell seconds are added to the clock when it is told
(:meth:`SimulatedClock.advance`), as if the workers waited for the strategy then: a slow
strategy's later trials start later, and the rows depend on the machine. (Charged at the
tell, so that a resumed run, which reads the trial's decision seconds back from its journal,
rebuilds the same clock.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """Where and when one trial runs on the simulated clock (seconds from the run's start)."""

    worker: int
    start: float
    end: float


class SimulatedClock:
    """The clock and the workers of one run (see the module docstring)."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"simulated workers must be at least 1, got {workers}")
        self.workers = workers
        self.now = 0.0
        self._free = list(range(1, workers + 1))
        self._slots: dict[int, Slot] = {}

    def start(self, trial: int, seconds: float) -> Slot:
        """Trial number ``trial`` starts now on the lowest-numbered free worker, for ``seconds``."""
        if not self._free:
            raise RuntimeError(f"trial {trial} asked with all {self.workers} simulated workers busy")
        worker = min(self._free)
        self._free.remove(worker)
        slot = Slot(worker=worker, start=self.now, end=self.now + max(0.0, float(seconds)))
        self._slots[trial] = slot
        return slot

    def next_to_finish(self, trials) -> int:
        """Of the trial numbers ``trials`` (all started), the one that finishes first."""
        return min(trials, key=lambda trial: (self._slots[trial].end, trial))

    def advance(self, seconds: float) -> None:
        """The clock moves on by ``seconds`` (a strategy's decision time, when it is charged)."""
        self.now += max(0.0, float(seconds))

    def finish(self, trial: int) -> Slot:
        """Trial ``trial`` ends: the clock moves to its end and its worker is free again."""
        slot = self._slots.pop(trial)
        self.now = max(self.now, slot.end)
        self._free.append(slot.worker)
        return slot


__all__ = ["SimulatedClock", "Slot"]
