"""The results schema: the one owner of every column, status and record tunebench writes.

Files (all in the output directory; schema version :data:`tunebench.SCHEMA_VERSION`):

- ``trials.csv``: one row per trial, :data:`TRIAL_COLUMNS`, :data:`SIMULATED_COLUMNS`, then one ``hp_<name>`` column
  per hyperparameter (empty where a parameter was inactive), then ``test_confusion`` (empty
  for a failed trial) and ``error`` (why a trial failed; empty for the others).
- ``curves.csv``: one row per trial-epoch, :data:`CURVE_COLUMNS`.
- ``runs.csv``: one row per (benchmark, strategy, seed) run, :data:`RUN_COLUMNS`.
- ``best_hyperparameters.json``: each run's incumbent.
- ``manifest.json``: the suite as run, versions, hardware, seeds, budgets, checksums.

Columns in :data:`TIMING_COLUMNS` hold wall-clock measurements; every other column is
reproducible for the same suite and seed on the same machine.

A run's journal holds :class:`TrialRecord` and :class:`RunRecord` lines (``kind`` ``trial``
and ``run``); the CSVs are derived from them (:mod:`tunebench.results`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import pandas as pd

RUN_KEY = ["benchmark", "strategy", "seed"]
HP_PREFIX = "hp_"
#: trials.csv's last column: why a trial failed (status ``failed``), else empty.
ERROR_COLUMN = "error"
#: trials.csv's column with the trial's test confusion matrix (JSON, rows = true class).
CONFUSION_COLUMN = "test_confusion"
#: A finished results directory's journal: every run's trial and run lines, gzip-compressed
#: (the JSON lines compress about 4-fold; ``zcat``, or pandas' ``read_json(..., lines=True)``,
#: reads it).
JOURNAL_FILE = "journal.jsonl.gz"
#: The same journal uncompressed, as results folders written before it was compressed hold it.
LEGACY_JOURNAL_FILE = "journal.jsonl"
#: The files of a finished results directory (and the legacy journal's name, so that a run
#: replacing an older folder replaces that file too).
RESULT_FILES = ("trials.csv", "curves.csv", "runs.csv", "best_hyperparameters.json", "manifest.json",
                JOURNAL_FILE, LEGACY_JOURNAL_FILE)


class TrialStatus(StrEnum):
    """A trial's ``status``: it trained to its fidelity, or it failed (``error`` says why)."""

    OK = "ok"
    FAILED = "failed"


class RunStatus(StrEnum):
    """Why a run ended (``runs.csv`` ``status``)."""

    BUDGET_EXHAUSTED = "budget_exhausted"  #: the ledger could not pay for another trial
    NEXT_TRIAL_EXCEEDS_BUDGET = "next_trial_exceeds_budget"  #: the next trial was larger than what was left
    STRATEGY_EXHAUSTED = "strategy_exhausted"  #: the strategy had nothing more to try
    TIME_CAP = "time_cap"  #: the run's wall-clock cap passed
    TOO_MANY_FAILURES = "too_many_failures"  #: too many failed trials in a row


#: Statuses of a run that ended before spending its whole budget, for a reason of its own.
UNDER_BUDGET_STATUSES = frozenset({RunStatus.NEXT_TRIAL_EXCEEDS_BUDGET, RunStatus.STRATEGY_EXHAUSTED,
                                   RunStatus.TIME_CAP})

TRIAL_COLUMNS = RUN_KEY + [
    "trial", "trial_id", "parent_trial_id", "status",
    "epochs", "initial_epoch", "epochs_trained",
    "val_accuracy", "val_f1", "val_loss", "test_accuracy", "test_f1",
    "train_seconds", "overhead_seconds", "epochs_used", "elapsed_seconds", "training_seed",
]

#: trials.csv's columns after :data:`TRIAL_COLUMNS` for a run on simulated workers
#: (:mod:`tunebench.runner.simulated_clock`): the trial's worker (1 to W) and its simulated
#: start in seconds (its end is ``elapsed_seconds``); empty for other runs, and absent from
#: results written before they existed (read as empty).
SIMULATED_COLUMNS = ["worker", "start_seconds"]

CURVE_COLUMNS = RUN_KEY + [
    "trial", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_f1",
    "test_accuracy", "test_f1", "epoch_seconds",
]

RUN_COLUMNS = RUN_KEY + [
    "status", "fidelity", "budget_epochs", "epochs_used", "max_seconds", "trials",
    "best_trial", "best_val_accuracy", "best_val_f1", "test_accuracy", "test_f1",
    "trials_to_best", "epochs_to_best", "seconds_to_best", "wall_seconds", "overhead_seconds",
]

#: ``retrain.csv`` (``tunebench retrain``): one row per incumbent retrained with another
#: training seed; ``manifest_sha256`` ties it to the results it was made from. Plus the
#: incumbent's ``hp_*`` columns.
RETRAIN_FILE = "retrain.csv"
RETRAIN_COLUMNS = RUN_KEY + [
    "trial", "found_val_accuracy", "trained_on", "data_seed", "epochs", "repeat", "training_seed",
    "val_accuracy", "val_f1", "test_accuracy", "test_f1", "seconds", "manifest_sha256",
]

#: Required columns that hold text; every other required column is numeric.
TEXT_COLUMNS = frozenset({"benchmark", "strategy", "status", "fidelity", "trial_id", "parent_trial_id", ERROR_COLUMN,
                          "trained_on", "manifest_sha256"})

TIMING_COLUMNS = frozenset({
    "train_seconds", "overhead_seconds", "elapsed_seconds", "epoch_seconds",
    "seconds_to_best", "wall_seconds", "seconds",
})

#: The summary fields of a run (:func:`tunebench.results.summarize_run`).
SUMMARY_FIELDS = ("trials", "epochs_used", "overhead_seconds", "best_trial", "best_val_accuracy", "best_val_f1",
                  "test_accuracy", "test_f1", "trials_to_best", "epochs_to_best", "seconds_to_best")


def without_timing(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` less its :data:`TIMING_COLUMNS`: what must be equal between reruns."""
    return frame.drop(columns=[c for c in frame.columns if c in TIMING_COLUMNS])


class RecordError(ValueError):
    """A journal line that is not a record of this schema version (a field missing, unknown or
    of the wrong kind); :mod:`tunebench.journal` names the file and the line."""


@dataclass(frozen=True)
class RunHeader:
    """A run journal's first line (``kind`` = ``header``): which run of which suite the
    journal belongs to. Written when a run starts; a resumed run's journal must open with
    the same header (:func:`tunebench.runner.execute.check_run_header`).
    ``from_journal``/``to_journal`` round-trip as :class:`TrialRecord`'s do."""

    schema_version: int
    fingerprint: str
    index: int
    benchmark: str
    strategy: str
    seed: int

    def to_journal(self) -> dict[str, Any]:
        """The journal line."""
        return {"kind": "header", **asdict(self)}

    @classmethod
    def from_journal(cls, line: dict[str, Any]) -> RunHeader:
        """The header of a ``header`` line; :class:`RecordError` if a field is missing or unknown."""
        return cls(**_fields_of(cls, line, "header", optional=()))


@dataclass(frozen=True)
class TrialRecord:
    """One trained (or failed) trial, as its run's journal holds it (``kind`` = ``trial``).

    Built once per trial by the trial loop, from a trained result or, when a run is
    resumed, from the same result read back from the journal; nothing changes it afterwards.
    Metrics are those of the last trained epoch (NaN for a failed trial); ``curve`` has one
    dict per trained epoch (:class:`tunebench.benchmarks.base.EpochRecord` fields).
    ``from_journal(r.to_journal())`` equals ``r``, and ``to_journal(from_journal(line))``
    equals ``line`` for every line this schema version writes (so the journal's bytes survive
    a read and a rewrite).
    """

    benchmark: str
    strategy: str
    seed: int
    trial: int
    trial_id: str
    parent_trial_id: str | None
    status: TrialStatus
    error: str | None
    epochs: int
    initial_epoch: int
    epochs_trained: int
    val_accuracy: float
    val_f1: float
    val_loss: float
    test_accuracy: float
    test_f1: float
    train_seconds: float
    overhead_seconds: float
    epochs_used: int
    elapsed_seconds: float
    training_seed: int
    config: dict[str, Any]
    curve: list[dict[str, Any]]
    test_confusion: list[list[int]] | None
    traceback: str | None = None
    worker: int | None = None
    start_seconds: float | None = None

    @property
    def failed(self) -> bool:
        return self.status == TrialStatus.FAILED

    def to_journal(self) -> dict[str, Any]:
        """The journal line (``traceback``, ``worker`` and ``start_seconds`` only where there are some)."""
        record = {"kind": "trial", **asdict(self)}
        for key in _TRIAL_OPTIONAL:
            if record[key] is None:
                del record[key]
        return record

    @classmethod
    def from_journal(cls, line: dict[str, Any]) -> TrialRecord:
        """The record of a ``trial`` line; :class:`RecordError` if a field is missing or unknown."""
        found = _fields_of(cls, line, "trial", optional=_TRIAL_OPTIONAL)
        return cls(**found | {"status": TrialStatus(found["status"])})


#: The trial fields a journal line holds only where they are not ``None``.
_TRIAL_OPTIONAL = ("traceback", *SIMULATED_COLUMNS)


@dataclass(frozen=True)
class RunSummary:
    """A run's incumbent and the costs of reaching it (:func:`tunebench.results.summarize_run`):
    the :data:`SUMMARY_FIELDS`, NaN where no trial completed."""

    trials: int
    epochs_used: int
    overhead_seconds: float
    best_trial: int | float
    best_val_accuracy: float
    best_val_f1: float
    test_accuracy: float
    test_f1: float
    trials_to_best: int | float
    epochs_to_best: int | float
    seconds_to_best: float

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, in :data:`SUMMARY_FIELDS` order."""
        return {name: getattr(self, name) for name in SUMMARY_FIELDS}


@dataclass(frozen=True)
class RunRecord:
    """A finished run, as its journal's last line holds it (``kind`` = ``run``).

    Built once, when the run ends, from its trial records; ``to_journal``/``from_journal``
    round-trip as :class:`TrialRecord`'s do.
    """

    benchmark: str
    strategy: str
    seed: int
    status: RunStatus
    fidelity: str
    budget_epochs: int
    max_seconds: float | None
    wall_seconds: float
    summary: RunSummary
    settings: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def label(self) -> str:
        """``benchmark/strategy/seed N``, as messages name a run."""
        return f"{self.benchmark}/{self.strategy}/seed {self.seed}"

    def to_journal(self) -> dict[str, Any]:
        """The journal line: the summary's fields inline; ``error`` only for a run stopped by failures."""
        record = {"kind": "run", "benchmark": self.benchmark, "strategy": self.strategy, "seed": self.seed,
                  "status": self.status, "fidelity": self.fidelity, "budget_epochs": self.budget_epochs,
                  "max_seconds": self.max_seconds, "wall_seconds": self.wall_seconds, **self.summary.as_dict(),
                  "settings": self.settings}
        if self.error is not None or self.status == RunStatus.TOO_MANY_FAILURES:
            record["error"] = self.error
        return record

    @classmethod
    def from_journal(cls, line: dict[str, Any]) -> RunRecord:
        """The record of a ``run`` line; :class:`RecordError` if a field is missing or unknown."""
        _check_kind(line, "run")
        inline = {name: line[name] for name in SUMMARY_FIELDS if name in line}
        rest = {key: value for key, value in line.items() if key not in SUMMARY_FIELDS}
        missing = [name for name in SUMMARY_FIELDS if name not in inline]
        if missing:
            raise RecordError(f"a run line without {', '.join(missing)}")
        found = _fields_of(cls, rest | {"summary": None}, "run", optional=("error",))
        return cls(**found | {"status": RunStatus(found["status"]), "summary": RunSummary(**inline)})


def _check_kind(line: dict[str, Any], kind: str) -> None:
    if line.get("kind") != kind:
        raise RecordError(f"not a {kind} line (kind {line.get('kind')!r})")


def _fields_of(cls, line: dict[str, Any], kind: str, optional: tuple[str, ...]) -> dict[str, Any]:
    """``line``'s fields of ``cls`` (its ``kind`` checked); every field but the ``optional``
    ones required, and no others allowed."""
    _check_kind(line, kind)
    names = {f.name for f in fields(cls)}
    found = {key: value for key, value in line.items() if key != "kind"}
    unknown = sorted(set(found) - names)
    missing = sorted(names - set(found) - set(optional))
    if unknown or missing:
        raise RecordError(f"a {kind} line " + "; ".join(
            part for part in (f"without {', '.join(missing)}" if missing else "",
                              f"with unknown fields {', '.join(unknown)}" if unknown else "") if part))
    statuses = {"trial": TrialStatus, "run": RunStatus}
    try:
        if kind in statuses:
            statuses[kind](found["status"])
    except ValueError:
        raise RecordError(f"a {kind} line with status {found['status']!r}") from None
    return found


__all__ = ["CONFUSION_COLUMN", "CURVE_COLUMNS", "ERROR_COLUMN", "HP_PREFIX", "JOURNAL_FILE", "LEGACY_JOURNAL_FILE", "RESULT_FILES", "RETRAIN_COLUMNS",
           "RETRAIN_FILE", "RUN_COLUMNS", "RUN_KEY",
           "RecordError", "RunHeader", "RunRecord", "RunSummary", "RunStatus", "SIMULATED_COLUMNS", "SUMMARY_FIELDS", "TEXT_COLUMNS", "TIMING_COLUMNS", "TRIAL_COLUMNS",
           "TrialRecord", "TrialStatus", "UNDER_BUDGET_STATUSES", "without_timing"]
