"""The epoch ledger: every run's budget, in training epochs, plus an optional time cap.

The ledger's clock is the sum of what was charged: each trial's training and strategy
seconds. For live benchmarks that is the run's wall time less bookkeeping; for replay
benchmarks it is the simulated time of the recorded epochs; and a resumed run's clock goes
on from what its journal charged, not from the restart.
"""

from __future__ import annotations


class BudgetExceeded(RuntimeError):
    """A charge the ledger cannot pay: a harness bug, never a user error."""


class EpochLedger:
    """Counts the epochs a run has trained against its budget.

    Parameters
    ----------
    budget_epochs:
        Epochs the run may train in total (every strategy on a benchmark gets the same).
    max_seconds:
        Optional time cap on the charged seconds: no new trial starts after it (a trial
        already started finishes).
    budget_seconds:
        Optional budget in seconds on a simulated clock: a trial is started only if it ends
        by then (:meth:`can_pay_until`), so that every trial a run counts was paid in full.
    """

    def __init__(self, budget_epochs: int, max_seconds: float | None = None, budget_seconds: float | None = None):
        if budget_epochs < 1:
            raise ValueError(f"budget_epochs must be >= 1, got {budget_epochs}")
        self.budget_epochs = int(budget_epochs)
        self.max_seconds = max_seconds
        self.budget_seconds = budget_seconds
        self.spent = 0
        self.seconds = 0.0

    @property
    def remaining(self) -> int:
        """Epochs left."""
        return self.budget_epochs - self.spent

    def can_pay(self, epochs: int) -> bool:
        """Whether ``epochs`` more epochs fit in the budget."""
        return 0 <= epochs <= self.remaining

    def can_pay_until(self, end: float) -> bool:
        """Whether a trial ending at ``end`` seconds on the run's clock fits the seconds budget
        (always, without one)."""
        return self.budget_seconds is None or end <= self.budget_seconds

    def charge(self, epochs: int, seconds: float = 0.0, at: float | None = None) -> int:
        """Record ``epochs`` trained in ``seconds`` (training plus strategy time); returns
        the epochs spent so far. ``at``, where given, is the run's clock after this trial
        instead of the sum of the charges (workers on a simulated clock, whose trials overlap).

        Raises :class:`BudgetExceeded` if that would overdraw the budget.
        """
        if not self.can_pay(epochs):
            raise BudgetExceeded(f"cannot charge {epochs} epochs: {self.remaining} of {self.budget_epochs} left")
        self.spent += epochs
        self.seconds = float(at) if at is not None else self.seconds + seconds
        return self.spent

    def elapsed(self) -> float:
        """Seconds charged so far (the run's clock)."""
        return self.seconds

    def out_of_time(self) -> bool:
        """Whether the time cap (if any) has passed."""
        return self.max_seconds is not None and self.elapsed() >= self.max_seconds
