"""Training one trial through a benchmark, with every failure kept inside the trial."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

from tunebench.benchmarks.base import EpochRecord, TrialFailed
from tunebench.redaction import redact_text
from tunebench.schema import TrialRecord
from tunebench.state_store import StoredState
from tunebench.strategies import Suggestion

#: A trial during which the process died this many times (killed, out of memory) is
#: recorded as failed instead of being started again.
MAX_TRIAL_STARTS = 2


@dataclass(frozen=True)
class Trained:
    """What training one trial gave (or how it failed): ``curve`` holds one
    :class:`~tunebench.benchmarks.base.EpochRecord` per epoch trained, ``error`` says why it
    failed (``None``: it did not), ``trace`` is the failure's traceback."""

    curve: list
    seconds: float
    test_confusion: list | None = None
    state: Any = None
    error: str | None = None
    trace: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @classmethod
    def from_record(cls, record: TrialRecord, state: Any = None) -> Trained:
        """What training gave, as a journaled trial's ``record`` holds it (``state``: its
        warm-start state, if kept): the result a resumed run settles instead of training the
        trial again, from which the trial loop builds the same record."""
        return cls(curve=[EpochRecord(**point) for point in record.curve], seconds=record.train_seconds,
                   test_confusion=record.test_confusion, state=state, error=record.error, trace=record.traceback)


def train(benchmark, suggestion: Suggestion, train_seed: int, initial_epoch: int, warm_start, keep_state: bool,
          starts_before: int) -> Trained:
    """Train one trial; any error inside it fails that trial only."""
    if starts_before >= MAX_TRIAL_STARTS:
        return Trained(curve=[], seconds=0.0, error=(
            f"the process ended during this trial {starts_before} times (killed, or out of memory?); "
            "recorded as failed instead of starting it again"))
    if isinstance(warm_start, StoredState):
        warm_start = warm_start.load()
    started = time.perf_counter()
    try:
        evaluation = benchmark.evaluate(suggestion.config, suggestion.epochs, train_seed, initial_epoch=initial_epoch,
                                        warm_start=warm_start, keep_state=keep_state)
    except TrialFailed as failure:
        seconds = failure.seconds if failure.seconds is not None else time.perf_counter() - started
        return Trained(curve=failure.curve, seconds=seconds, error=_one_line(failure.error),
                        trace=redact_text(traceback.format_exc(limit=20)))
    except Exception as error:  # noqa: BLE001 - any error inside one trial fails that trial only
        return Trained(curve=[], seconds=time.perf_counter() - started,
                        error=_one_line(f"{type(error).__name__}: {error}"),
                        trace=redact_text(traceback.format_exc(limit=20)))
    return Trained(curve=evaluation.curve, seconds=evaluation.seconds, test_confusion=evaluation.test_confusion,
                    state=evaluation.state)


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(redact_text(str(text)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["MAX_TRIAL_STARTS", "Trained", "train"]
