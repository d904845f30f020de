"""Pure functions that turn journal records into the tidy tables and files of
:mod:`tunebench.schema`: a run's summary, the three CSV tables, the incumbents.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from tunebench.files import write_atomically
from tunebench.schema import (
    CONFUSION_COLUMN, CURVE_COLUMNS, ERROR_COLUMN, HP_PREFIX, RUN_COLUMNS, RUN_KEY, SIMULATED_COLUMNS, TRIAL_COLUMNS,
    TrialStatus,
)


def summarize_run(trials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The incumbent and the costs of reaching it, from one run's trial rows.

    The incumbent is the completed trial with the highest ``val_accuracy`` (the earliest
    on ties); its test numbers are reported, never used to choose.

    Parameters
    ----------
    trials:
        The run's trial rows in the order trained (``TRIAL_COLUMNS`` keys).

    Returns
    -------
    dict
        ``trials``, ``best_trial``, ``best_val_accuracy``, ``best_val_f1``, ``test_accuracy``,
        ``test_f1``, ``trials_to_best`` (1-based position of the incumbent),
        ``epochs_to_best`` and ``seconds_to_best`` (ledger epochs and run seconds when the
        incumbent finished), ``epochs_used``, ``overhead_seconds``; NaN where no trial
        completed.
    """
    completed = [t for t in trials if t["status"] == TrialStatus.OK and not _isnan(t["val_accuracy"])]
    summary: dict[str, Any] = {
        "trials": len(trials),
        "epochs_used": trials[-1]["epochs_used"] if trials else 0,
        "overhead_seconds": sum(t["overhead_seconds"] for t in trials),
    }
    if not completed:
        return summary | {key: math.nan for key in (
            "best_trial", "best_val_accuracy", "best_val_f1", "test_accuracy", "test_f1",
            "trials_to_best", "epochs_to_best", "seconds_to_best")}
    best = max(completed, key=lambda t: (t["val_accuracy"], -t["trial"]))
    return summary | {
        "best_trial": best["trial"],
        "best_val_accuracy": best["val_accuracy"],
        "best_val_f1": best["val_f1"],
        "test_accuracy": best["test_accuracy"],
        "test_f1": best["test_f1"],
        "trials_to_best": best["trial"],
        "epochs_to_best": best["epochs_used"],
        "seconds_to_best": best["elapsed_seconds"],
    }


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def tables_from_records(records: Iterable[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Build the three tables from journal records (``kind`` = trial, curve or run)."""
    trials, curves, runs = [], [], []
    hp_names: list[str] = []
    for record in records:
        kind = record["kind"]
        if kind == "trial":
            row = {c: record[c] for c in TRIAL_COLUMNS} | {c: record.get(c) for c in SIMULATED_COLUMNS}
            for name, value in record["config"].items():
                column = HP_PREFIX + name
                if column not in hp_names:
                    hp_names.append(column)
                row[column] = value
            confusion = record.get("test_confusion")
            row[CONFUSION_COLUMN] = None if confusion is None else json.dumps(confusion, separators=(",", ":"))
            row[ERROR_COLUMN] = record.get(ERROR_COLUMN)
            trials.append(row)
            curves.extend({**{k: record[k] for k in RUN_KEY}, "trial": record["trial"], **point}
                          for point in record["curve"])
        elif kind == "run":
            runs.append({c: record[c] for c in RUN_COLUMNS})
    return {
        "trials": pd.DataFrame(trials, columns=TRIAL_COLUMNS + SIMULATED_COLUMNS + hp_names
                               + [CONFUSION_COLUMN, ERROR_COLUMN]),
        "curves": pd.DataFrame(curves, columns=CURVE_COLUMNS),
        "runs": pd.DataFrame(runs, columns=RUN_COLUMNS),
    }


def best_hyperparameters(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run's incumbent, in the order of the runs' records (``best_hyperparameters.json``).

    One entry per run record: ``benchmark``, ``strategy``, ``seed``, ``status`` (the run's),
    ``trial`` (``trials.csv``'s), ``trial_id``, ``epochs``, ``config`` (the incumbent's
    hyperparameters), ``val_accuracy``, ``val_f1``, ``test_accuracy``, ``test_f1``; the
    incumbent fields are ``null`` for a run in which no trial completed.
    """
    trials: dict[tuple, list[dict[str, Any]]] = {}
    best = []
    for record in records:
        if record["kind"] == "trial":
            trials.setdefault(tuple(record[k] for k in RUN_KEY), []).append(record)
        elif record["kind"] == "run":
            key = tuple(record[k] for k in RUN_KEY)
            mine = trials.get(key, [])
            summary = summarize_run(mine)
            entry: dict[str, Any] = {**{k: record[k] for k in RUN_KEY}, "status": record["status"]}
            fields = ("trial", "trial_id", "epochs", "config", "val_accuracy", "val_f1", "test_accuracy", "test_f1")
            if _isnan(summary["best_trial"]):
                entry |= dict.fromkeys(fields)
            else:
                incumbent = next(t for t in mine if t["trial"] == summary["best_trial"])
                entry |= {name: incumbent[name] for name in fields}
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
