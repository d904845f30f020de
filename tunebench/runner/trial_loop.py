"""The trial loop of one run: ask, check, pay, evaluate, tell, charge, journal.

Every trial takes one path: Suggestion -> planned step -> :class:`~tunebench.runner.training.Trained`
-> :class:`~tunebench.schema.TrialRecord`. Its result comes from training, or, when a run
is resumed, from the run's journal (catching up: the strategy is re-asked each journaled
trial, in order, the suggestion must match the journal, and the trial's result is read back
from its line, :meth:`Trained.from_record`, without training). Both feed the same steps:
tell the strategy, charge the ledger, keep a warm-start state, build the trial's record.
A trained trial's record (and state) is then written; a caught-up trial's must equal its
journal line, field for field, or the resume is refused. The one difference kept: a
caught-up trial's timings are the journal's (they cannot be measured again), and its line
and state are on disk already, so nothing is written and the monitor hears of it once the
catching up is done.

A trial whose training raises, goes NaN or runs out of memory is recorded as failed with
its error, charged the epochs it completed, told to the strategy as a failure, and the run
goes on; :data:`MAX_CONSECUTIVE_FAILURES` failures in a row stop the run.

With ``parallel_trials = W`` (:mod:`tunebench.runner.trial_pool`) up to W trials are in
flight: a trial is asked whenever fewer than W are asked and not yet settled, its epochs
reserved in the ledger, and trials are settled (told, charged, journaled) strictly in the
order they were asked. Once the strategy has no next trial (or the budget cannot pay for
it), no more are asked: the trials in flight are settled and the run ends. W = 1 is the
plain loop: ask, train, settle.

With ``simulated_workers = W`` (replay benchmarks, :mod:`tunebench.runner.simulated_clock`)
up to W trials are in flight on a simulated clock: each is answered when it is asked, holds
a worker for its recorded seconds, and the one that finishes first is settled next; the
run's clock (``elapsed_seconds``) is the simulated one. A strategy that answers
:data:`~tunebench.strategies.WAIT` is asked again once the next trial is settled. With
``budget_seconds`` a trial that would end after it is not started, and the run ends (status
``next_trial_exceeds_budget``, as when the epoch budget cannot pay the next trial); with
``charge_decision_time`` each settled trial's ask and tell seconds move the clock on.

A resumed run catches up by trial number: trials settle in another order than asked under
simulated workers, so the journal's order is not the asking order.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Sequence

from tunebench.errors import InputError
from tunebench.interrupts import raise_if_stopping
from tunebench.journal import Journal, dump_line
from tunebench.ledger import EpochLedger
from tunebench.attempts import AttemptMarker
from tunebench.state_store import StateStore, StoredState
from tunebench.results import summarize_run
from tunebench.runner.simulated_clock import SimulatedClock, Slot
from tunebench.runner.tasks import RunTask, strategy_context
from tunebench.runner.training import Trained
from tunebench.runner.trial_pool import WorkerDied, make_trials
from tunebench.schema import RunRecord, RunStatus, TrialRecord, TrialStatus
from tunebench.strategies import WAIT, Observation, Suggestion, make_strategy
from tunebench.threads import StrategyThreads

#: Failed trials in a row that stop a run (status ``too_many_failures``).
MAX_CONSECUTIVE_FAILURES = 5


class InvalidSuggestion(RuntimeError):
    """A strategy suggested something outside the search space or the run's fidelity (a bug
    in the strategy: the run stops before anything is trained)."""


@dataclass(frozen=True)
class _Step:
    """One asked trial, planned: what it continues and what it costs; ``journaled`` is the
    journal's record of it when a resumed run catches up (its result is then read from it)."""

    number: int
    suggestion: Suggestion
    warm_start: Any
    initial_epoch: int
    charge: int
    keep_state: bool
    overhead: float  # seconds spent asking and planning
    journaled: TrialRecord | None = None


def run_one(benchmark, task: RunTask, journal: Journal, *, journaled: Sequence[TrialRecord] = (),
            observer=None, benchmark_factory: Callable[..., Any] | None = None) -> RunRecord:
    """One (benchmark, strategy, seed) run; appends its trials and its run record to
    ``journal`` and returns the run record.

    ``journaled`` holds the trials the journal already has (a resumed run): they are caught
    up with, not trained. ``observer`` (a :class:`~tunebench.runner.monitor.SuiteMonitor`)
    hears of every new trial. ``benchmark_factory`` builds the benchmark in trial workers
    (``parallel_trials > 1``; see :func:`tunebench.runner.tasks.build_benchmark`).
    """
    return TrialLoop(benchmark, task, journal, journaled, observer, benchmark_factory).run()


class TrialLoop:
    """The state of one run's loop (see the module docstring)."""

    def __init__(self, benchmark, task: RunTask, journal: Journal, journaled, observer, benchmark_factory=None):
        self.benchmark, self.task, self.journal, self.observer = benchmark, task, journal, observer
        self.benchmark_factory = benchmark_factory
        self.strategy = make_strategy(task.strategy, strategy_context(task, benchmark))
        self.one_thread = StrategyThreads()
        self.ledger = EpochLedger(task.plan.budget_epochs, task.plan.max_seconds, getattr(task.plan, "budget_seconds", None))
        self.store = StateStore(task.states_dir)
        self.marker = AttemptMarker(task.attempt_path)
        self.states: dict[str, Any] = {}
        self.trials: list[TrialRecord] = []
        self.pending = {record.trial: record for record in journaled}  # by trial number, to catch up with
        self.failures_in_a_row = 0
        workers = getattr(task.plan, "simulated_workers", None)
        self.clock = SimulatedClock(workers) if workers else None
        self.charge_decision_time = self.clock is not None and getattr(task.plan, "charge_decision_time", False)
        self.width = workers or task.plan.parallel_trials
        self.in_flight: deque[tuple[_Step, Future | None]] = deque()  # asked, not settled: (step, its Trained)

    def run(self) -> RunRecord:
        trials = make_trials(self.task, self.benchmark, self.benchmark_factory)
        try:
            status = self._loop(trials)
            settings = self.strategy.settings()
        finally:
            trials.close()
            self.strategy.close()
        if self.pending:
            raise self._resume_error(len(self.trials) + 1, f"the journal has {len(self.pending)} more trial(s) than "
                                                            f"the strategy now asks for (it stopped with status {status})")
        plan = self.task.plan
        record = RunRecord(**self.task.key, status=status, fidelity=self.benchmark.fidelity,
                           budget_epochs=plan.budget_epochs, max_seconds=plan.max_seconds,
                           wall_seconds=self.ledger.elapsed(), summary=summarize_run(self.trials), settings=settings,
                           error=self.trials[-1].error if status == RunStatus.TOO_MANY_FAILURES else None)
        self.journal.append(record)
        self.marker.clear()
        self.store.clear()
        return record

    def _loop(self, trials) -> RunStatus:
        """Ask while fewer than ``width`` trials are in flight, then settle the oldest; the
        first reason to stop asking ends the run once the trials in flight are settled.

        A stop (Ctrl-C or SIGTERM, :mod:`tunebench.interrupts`) while trials are marked as
        started (from before training until their journal lines) is taken back from the
        marker: it is not a death to count.
        """
        ended: RunStatus | None = None
        try:
            while True:
                raise_if_stopping()  # a stop that a library swallowed ends the run here at the latest
                while ended is None and len(self.in_flight) < self.width:
                    asked = self._ask_next(trials)
                    if asked is WAIT:  # nothing to try until the next trial is told
                        ended = None if self.in_flight else RunStatus.STRATEGY_EXHAUSTED
                        break
                    ended = asked
                if not self.in_flight:
                    return ended
                try:
                    self._settle_next()
                except WorkerDied:
                    self._recover(trials)
        except KeyboardInterrupt:
            for step, _ in self.in_flight:
                self.marker.forgive(step.number)
            raise

    def _ask_next(self, trials) -> RunStatus | None:
        """Ask one more trial and start it (or catch up with the journal); or why no more are
        asked; or :data:`WAIT`."""
        if self.failures_in_a_row >= MAX_CONSECUTIVE_FAILURES:
            return RunStatus.TOO_MANY_FAILURES
        if self.ledger.out_of_time():
            return RunStatus.TIME_CAP
        step = self._ask()
        if isinstance(step, RunStatus) or step is WAIT:
            return step
        journaled = self.pending.pop(step.number, None)
        if journaled is not None:
            self._check_journaled(journaled, step)
            step = replace(step, journaled=journaled)
        self.in_flight.append((step, None))  # in flight before it is marked: a stop from here on is forgiven
        self.in_flight[-1] = (step, self._start(step, trials))
        if self.clock is not None:  # answered already (replay): it holds a worker for its seconds
            seconds = self.in_flight[-1][1].result().seconds
            if not self.ledger.can_pay_until(self.clock.now + max(0.0, seconds)):  # it would end after budget_seconds
                self.in_flight.pop()
                self.marker.clear(step.number)
                return RunStatus.NEXT_TRIAL_EXCEEDS_BUDGET
            self.clock.start(step.number, seconds)
        return None

    def _recover(self, trials) -> None:
        """After a worker died: a new pool, and every trial in flight that the death cut short
        trained again, alone, until it gives a result or is found to be the one whose worker
        died twice (:func:`tunebench.runner.training.train` then records it as failed). A death
        while several trials trained counts against none of them; one while a trial trained
        alone counts against that trial."""
        trials.restart()
        for index in range(len(self.in_flight)):
            step, started = self.in_flight[index]
            if started.done() and not isinstance(started.exception(), WorkerDied):
                continue
            self.marker.forgive(step.number)  # cut short beside another trial: not its own death (yet)
            while True:
                retried = self._start(step, trials)
                try:
                    retried.result()
                    break
                except WorkerDied:
                    trials.restart()  # died alone: this trial's death, counted by its start
            self.in_flight[index] = (step, retried)

    def _settle_next(self) -> None:
        """Settle the oldest trial in flight; on a simulated clock, the first to finish."""
        index = 0
        slot = None
        if self.clock is not None:
            first = self.clock.next_to_finish([step.number for step, _ in self.in_flight])
            index = next(i for i, (step, _) in enumerate(self.in_flight) if step.number == first)
        step, started = self.in_flight[index]
        trained = started.result()
        if self.clock is not None:
            slot = self.clock.finish(step.number)
        record = self._settle(step, trained, slot)
        self.marker.clear(step.number)  # settled: no longer in training
        del self.in_flight[index]  # after the marker is cleared: a stop until here is forgiven
        self.trials.append(record)
        self.failures_in_a_row = self.failures_in_a_row + 1 if record.failed else 0
        if self.observer is not None:
            if step.journaled is None:
                self.observer.trial(self.task, record)
            elif not self.pending:
                self.observer.resumed(self.task, self.trials)

    def _ask(self) -> _Step | RunStatus:
        """The next trial, planned; or why no more trials are asked (the epochs of the
        trials in flight are reserved); or :data:`WAIT`."""
        asked = time.perf_counter()
        with self.one_thread():
            suggestion = self.strategy.ask()
        if suggestion is None:
            return RunStatus.STRATEGY_EXHAUSTED
        if suggestion is WAIT:
            return WAIT
        self._check(suggestion)
        parent = suggestion.parent
        if parent is None:
            warm_start = None
        else:
            warm_start = self.states.pop(parent, None) if self.strategy.parent_used_once else self.states.get(parent)
        initial_epoch = suggestion.initial_epoch if warm_start is not None else 0
        charge = suggestion.epochs - initial_epoch
        reserved = sum(step.charge for step, _ in self.in_flight)
        if not self.ledger.can_pay(reserved + charge):
            return (RunStatus.NEXT_TRIAL_EXCEEDS_BUDGET if self.ledger.remaining - reserved > 0
                    else RunStatus.BUDGET_EXHAUSTED)
        keep_state = self.strategy.warm_starts and suggestion.epochs < self.task.plan.max_epochs  # a full-fidelity trial is never continued
        number = len(self.trials) + len(self.in_flight) + 1
        return _Step(number, suggestion, warm_start, initial_epoch, charge, keep_state,
                     overhead=time.perf_counter() - asked)

    def _check(self, suggestion: Suggestion) -> None:
        """Every suggestion is checked at the boundary, before anything is trained."""
        where = f"strategy {self.task.strategy!r} ({self.task.label})"
        try:
            self.benchmark.space.validate(suggestion.config)
        except ValueError as error:
            raise InvalidSuggestion(f"{where} suggested {suggestion.config}: {error}") from None
        max_epochs = self.task.plan.max_epochs
        if not 0 <= suggestion.initial_epoch < suggestion.epochs <= max_epochs:
            raise InvalidSuggestion(f"{where} suggested epochs {suggestion.initial_epoch}..{suggestion.epochs}; "
                                    f"expected 0 <= initial_epoch < epochs <= {max_epochs}")

    def _start(self, step: _Step, trials) -> Future:
        """The step's result, as a future of :class:`Trained`: read back from its journal line
        when catching up; else the step is marked started and handed to the trainer (which
        trains it at once when there is one trial in flight). The step is in :attr:`in_flight`
        already, so a stop while it is marked or trained is forgiven by :meth:`_loop`."""
        if step.journaled is not None:
            kept = step.keep_state and not step.journaled.failed
            answered: Future = Future()
            answered.set_result(Trained.from_record(step.journaled, StoredState(self.store, step.suggestion.trial_id)
                                                    if kept else None))
            return answered
        seed = self.task.seeds.training(step.suggestion.config)
        starts_before = self.marker.start(step.number)
        return trials.submit(step.suggestion, seed, step.initial_epoch, step.warm_start, step.keep_state,
                             starts_before)

    def _settle(self, step: _Step, trained: Trained, slot: Slot | None = None) -> TrialRecord:
        """Tell, charge, keep the state, build the trial's record; then journal it (a trial
        trained here) or check it against the journal (a trial caught up with). ``slot``:
        where and when it ran on the simulated clock (its end is then the run's clock)."""
        told = time.perf_counter()
        last = trained.curve[-1] if trained.curve and not trained.failed else None
        with self.one_thread():
            self.strategy.tell(step.suggestion, Observation(val_accuracy=math.nan if last is None else last.val_accuracy,
                                                            failed=trained.failed))
        overhead = (step.journaled.overhead_seconds if step.journaled is not None  # not to be measured again
                    else step.overhead + time.perf_counter() - told)
        epochs_trained = len(trained.curve) if trained.failed else step.charge
        if self.charge_decision_time:
            self.clock.advance(overhead)  # the workers waited for the strategy
        epochs_used = self.ledger.charge(epochs_trained, seconds=trained.seconds + overhead,
                                         at=None if slot is None else self.clock.now)  # the trial's end, plus any charged decision time
        record = self._trial_record(step, trained, epochs_trained, overhead, epochs_used, slot)
        trial_id = step.suggestion.trial_id
        if step.keep_state and not trained.failed:
            self.states[trial_id] = trained.state
        if step.journaled is not None:  # its state and its line are on disk already
            self._check_caught_up(step.journaled, record)
            return record
        if step.keep_state and not trained.failed:
            self.store.save(trial_id, trained.state)  # before the journal line that needs it
        self.journal.append(record)
        if step.warm_start is not None and self.strategy.parent_used_once:
            self.store.discard(step.suggestion.parent)  # only once the promotion's line is written
        return record

    def _trial_record(self, step: _Step, trained: Trained, epochs_trained: int, overhead: float, epochs_used: int,
                      slot: Slot | None) -> TrialRecord:
        suggestion = step.suggestion
        last = None if trained.failed else trained.curve[-1]

        def metric(name: str) -> float:
            return math.nan if last is None else getattr(last, name)

        return TrialRecord(
            **self.task.key, trial=step.number, trial_id=suggestion.trial_id,
            parent_trial_id=suggestion.parent if step.warm_start is not None else None,
            status=TrialStatus.FAILED if trained.failed else TrialStatus.OK, error=trained.error,
            epochs=step.initial_epoch + epochs_trained, initial_epoch=step.initial_epoch,
            epochs_trained=epochs_trained, val_accuracy=metric("val_accuracy"), val_f1=metric("val_f1"),
            val_loss=metric("val_loss"), test_accuracy=metric("test_accuracy"), test_f1=metric("test_f1"),
            train_seconds=trained.seconds, overhead_seconds=overhead, epochs_used=epochs_used,
            elapsed_seconds=self.ledger.elapsed(), training_seed=self.task.seeds.training(suggestion.config),
            config=suggestion.config, curve=[asdict(point) for point in trained.curve],
            test_confusion=trained.test_confusion, traceback=trained.trace or None,
            worker=None if slot is None else slot.worker, start_seconds=None if slot is None else slot.start)

    def _check_journaled(self, record: TrialRecord, step: _Step) -> None:
        """Before a journaled trial is caught up with: the strategy asked for the same trial."""
        suggestion = step.suggestion
        expected = {"trial": step.number, "trial_id": suggestion.trial_id,
                    "config": json.loads(json.dumps(suggestion.config, allow_nan=True)),
                    "initial_epoch": step.initial_epoch,
                    "parent_trial_id": suggestion.parent if step.warm_start is not None else None}
        found = {key: getattr(record, key) for key in expected}
        if found != expected:
            differences = ", ".join(f"{key}: journal {found[key]!r}, strategy now {expected[key]!r}"
                                    for key in expected if found[key] != expected[key])
            raise self._resume_error(step.number, differences)

    def _check_caught_up(self, journaled: TrialRecord, record: TrialRecord) -> None:
        """After a journaled trial is settled: the record built again is its journal line."""
        if dump_line(record) == dump_line(journaled):
            return
        now, then = record.to_journal(), journaled.to_journal()
        differences = ", ".join(f"{key}: journal {then.get(key)!r}, now {now.get(key)!r}" for key in sorted(now | then)
                                if dump_line({"v": now.get(key)}) != dump_line({"v": then.get(key)}))
        raise self._resume_error(record.trial, f"the record built again from the journal differs: {differences}")

    def _resume_error(self, number: int, detail: str) -> InputError:
        task = self.task
        return InputError(f"cannot resume {task.label} from {task.journal_path}: trial {number}: {detail}. The "
                          "strategy did not reproduce the journaled run (another library version, or a changed "
                          "strategy?); pass --overwrite to start the interrupted run again")


__all__ = ["InvalidSuggestion", "MAX_CONSECUTIVE_FAILURES", "TrialLoop", "run_one"]
