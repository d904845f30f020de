"""Pure functions that turn the journals' typed records (:class:`~tunebench.schema.TrialRecord`,
:class:`~tunebench.schema.RunRecord`) into the tidy tables and files of :mod:`tunebench.schema`:
a run's summary, the three CSV tables, the incumbents.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from tunebench.files import write_atomically
from tunebench.journal import RunLog
from tunebench.schema import (
    CONFUSION_COLUMN, CURVE_COLUMNS, ERROR_COLUMN, HP_PREFIX, RUN_COLUMNS, RUN_KEY, SIMULATED_COLUMNS, TRIAL_COLUMNS,
    RunRecord, RunSummary, TrialRecord, TrialStatus,
)


def summarize_run(trials: Sequence[TrialRecord]) -> RunSummary:
    """The incumbent and the costs of reaching it, from one run's trials.

    The incumbent is the completed trial with the highest ``val_accuracy`` (the earliest
    on ties); its test numbers are reported, never used to choose.

    Parameters
    ----------
    trials:
        The run's trials in the order settled: :class:`~tunebench.schema.TrialRecord`, or
        anything with its ``status``, ``trial``, ``val_accuracy``, ``val_f1``,
        ``test_accuracy``, ``test_f1``, ``epochs_used``, ``elapsed_seconds`` and
        ``overhead_seconds`` attributes.

    Returns
    -------
    RunSummary
        ``trials``, ``best_trial``, ``best_val_accuracy``, ``best_val_f1``, ``test_accuracy``,
        ``test_f1``, ``trials_to_best`` (1-based position of the incumbent),
        ``epochs_to_best`` and ``seconds_to_best`` (ledger epochs and run seconds when the
        incumbent finished), ``epochs_used``, ``overhead_seconds``; NaN where no trial
        completed.
    """
    completed = [t for t in trials if t.status == TrialStatus.OK and not _isnan(t.val_accuracy)]
    costs = {"trials": len(trials), "epochs_used": trials[-1].epochs_used if trials else 0,
             "overhead_seconds": sum(t.overhead_seconds for t in trials)}
    if not completed:
        return RunSummary(**costs, **dict.fromkeys(
            ("best_trial", "best_val_accuracy", "best_val_f1", "test_accuracy", "test_f1",
             "trials_to_best", "epochs_to_best", "seconds_to_best"), math.nan))
    best = max(completed, key=lambda t: (t.val_accuracy, -t.trial))
    return RunSummary(**costs, best_trial=best.trial, best_val_accuracy=best.val_accuracy, best_val_f1=best.val_f1,
                      test_accuracy=best.test_accuracy, test_f1=best.test_f1, trials_to_best=best.trial,
                      epochs_to_best=best.epochs_used, seconds_to_best=best.elapsed_seconds)


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def tables_from_records(trials: Iterable[TrialRecord], runs: Iterable[RunRecord]) -> dict[str, pd.DataFrame]:
    """The three tables (``trials``, ``curves``, ``runs``) from trial and run records, one
    row each in the order given (curves: one row per point of each trial's curve)."""
    trial_rows, curves = [], []
    hp_names: list[str] = []
    for trial in trials:
        row = {c: getattr(trial, c) for c in TRIAL_COLUMNS + SIMULATED_COLUMNS}
        for name, value in trial.config.items():
            column = HP_PREFIX + name
            if column not in hp_names:
                hp_names.append(column)
            row[column] = value
        confusion = trial.test_confusion
        row[CONFUSION_COLUMN] = None if confusion is None else json.dumps(confusion, separators=(",", ":"))
        row[ERROR_COLUMN] = trial.error
        trial_rows.append(row)
        key = {k: getattr(trial, k) for k in RUN_KEY}
        curves.extend({**key, "trial": trial.trial, **point} for point in trial.curve)
    run_rows = [_run_row(run) for run in runs]
    return {
        "trials": pd.DataFrame(trial_rows, columns=TRIAL_COLUMNS + SIMULATED_COLUMNS + hp_names
                               + [CONFUSION_COLUMN, ERROR_COLUMN]),
        "curves": pd.DataFrame(curves, columns=CURVE_COLUMNS),
        "runs": pd.DataFrame(run_rows, columns=RUN_COLUMNS),
    }


def _run_row(run: RunRecord) -> dict[str, Any]:
    """``run``'s :data:`RUN_COLUMNS`: its own fields and its summary's."""
    values = run.summary.as_dict()
    return {c: values[c] if c in values else getattr(run, c) for c in RUN_COLUMNS}


def best_hyperparameters(runs: Iterable[RunLog]) -> list[dict[str, Any]]:
    """Each finished run's incumbent, in the order given (``best_hyperparameters.json``).

    One entry per run (a :class:`~tunebench.journal.RunLog` with its run record):
    ``benchmark``, ``strategy``, ``seed``, ``status`` (the run's), ``trial`` (``trials.csv``'s),
    ``trial_id``, ``epochs``, ``config`` (the incumbent's hyperparameters), ``val_accuracy``,
    ``val_f1``, ``test_accuracy``, ``test_f1``; the incumbent fields are ``null`` for a run
    in which no trial completed.
    """
    best = []
    fields = ("trial", "trial_id", "epochs", "config", "val_accuracy", "val_f1", "test_accuracy", "test_f1")
    for log in runs:
        run = log.run
        entry: dict[str, Any] = {**{k: getattr(run, k) for k in RUN_KEY}, "status": run.status}
        summary = summarize_run(log.trials)
        if _isnan(summary.best_trial):
            entry |= dict.fromkeys(fields)
        else:
            incumbent = next(t for t in log.trials if t.trial == summary.best_trial)
            entry |= {name: getattr(incumbent, name) for name in fields}
        best.append(entry)
    return best


def write_tables(tables: dict[str, pd.DataFrame], directory: Path) -> list[Path]:
    """Write ``<name>.csv`` for each table, atomically; returns the paths written."""
    paths = []
    for name, frame in tables.items():
        path = Path(directory) / f"{name}.csv"
        write_atomically(path, frame.to_csv(index=False, float_format="%.10g"))
        paths.append(path)
    return paths
