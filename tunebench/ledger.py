"""The epoch ledger: every run's budget, in training epochs, plus an optional time cap."""

from __future__ import annotations

import time
from typing import Callable


class BudgetExceeded(RuntimeError):
    """A charge the ledger cannot pay: a harness bug, never a user error."""


class EpochLedger:
    """Counts the epochs a run has trained against its budget.

    Parameters
    ----------
    budget_epochs:
        Epochs the run may train in total (every strategy on a benchmark gets the same).
    max_seconds:
        Optional wall-clock cap: no new trial starts after it (a trial already started
        finishes).
    clock:
        A monotonic clock, replaceable in tests.
    """

    def __init__(self, budget_epochs: int, max_seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if budget_epochs < 1:
            raise ValueError(f"budget_epochs must be >= 1, got {budget_epochs}")
        self.budget_epochs = int(budget_epochs)
        self.max_seconds = max_seconds
        self._clock = clock
        self._started = clock()
        self.spent = 0

    @property
    def remaining(self) -> int:
        """Epochs left."""
        return self.budget_epochs - self.spent

    def can_pay(self, epochs: int) -> bool:
        """Whether ``epochs`` more epochs fit in the budget."""
        return 0 <= epochs <= self.remaining

    def charge(self, epochs: int) -> int:
        """Record ``epochs`` trained; returns the epochs spent so far.

        Raises :class:`BudgetExceeded` if that would overdraw the budget.
        """
        if not self.can_pay(epochs):
            raise BudgetExceeded(f"cannot charge {epochs} epochs: {self.remaining} of {self.budget_epochs} left")
        self.spent += epochs
        return self.spent

    def elapsed(self) -> float:
        """Seconds since the ledger was opened."""
        return self._clock() - self._started

    def out_of_time(self) -> bool:
        """Whether the wall-clock cap (if any) has passed."""
        return self.max_seconds is not None and self.elapsed() >= self.max_seconds
