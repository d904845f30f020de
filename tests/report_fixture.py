"""Hand-made results directories for the report tests (real column names, known numbers).

A run is described by its trials' validation accuracies; everything else follows from
them: each trial trains ``epochs_each`` epochs, its test accuracy runs against its validation
accuracy (``1.6 - val``, clipped to [0, 1]; test macro-F1 0.01 below it), so that choosing or
ranking on a test number shows in the tables, and the run's row is :func:`tunebench.results.summarize_run`
of its trials, so the CSVs agree with each other the way a real run's do.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import pandas as pd

from tunebench import SCHEMA_VERSION
from tunebench.results import summarize_run
from tunebench.schema import CURVE_COLUMNS, HP_PREFIX, RUN_COLUMNS, TRIAL_COLUMNS, TrialStatus

HP_NAMES = ("learning_rate", "units", "activation")
CLASS_NAMES = ["cat", "dog", "bird"]


def make_run(benchmark: str, strategy: str, seed: int, val_accuracies: Sequence[float], *, budget: int = 6,
             epochs_each: int = 2, status: str = "budget_exhausted",
             trial_statuses: Sequence[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """One run's rows: ``{"runs": [row], "trials": [...], "curves": [...]}``.

    A trial whose status is not ``ok`` gets NaN metrics, no curve, 0 epochs and an ``error``.
    """
    statuses = list(trial_statuses or [TrialStatus.OK] * len(val_accuracies))
    trials, curves = [], []
    epochs_used, elapsed = 0, 0.0
    for number, (val, trial_status) in enumerate(zip(val_accuracies, statuses), start=1):
        ok = trial_status == TrialStatus.OK
        trained = epochs_each if ok else 0
        epochs_used += trained
        elapsed += 1.5 * trained + 0.25
        trials.append(_trial_row(benchmark, strategy, seed, number, val if ok else math.nan, trial_status,
                                 trained, epochs_used, elapsed))
        if ok:
            curves += [_curve_row(benchmark, strategy, seed, number, epoch, val, epochs_each)
                       for epoch in range(1, epochs_each + 1)]
    summary = summarize_run([SimpleNamespace(**row) for row in trials]).as_dict()
    run = {"benchmark": benchmark, "strategy": strategy, "seed": seed, "status": status,
           "fidelity": "test fixture", "budget_epochs": budget, "max_seconds": math.nan,
           "wall_seconds": elapsed + 0.5, **summary}
    return {"runs": [run], "trials": trials, "curves": curves}


def _trial_row(benchmark, strategy, seed, number, val, status, trained, epochs_used, elapsed) -> dict[str, Any]:
    return {
        "benchmark": benchmark, "strategy": strategy, "seed": seed, "trial": number, "trial_id": f"{number - 1:04d}",
        "parent_trial_id": None, "status": status, "error": None if status == TrialStatus.OK else "RuntimeError: planted",
        "epochs": trained, "initial_epoch": 0,
        "epochs_trained": trained, "val_accuracy": val, "val_f1": val - 0.02, "val_loss": 1 - val,
        "test_accuracy": _test_of(val), "test_f1": _test_of(val) - 0.01, "train_seconds": 1.5 * trained,
        "overhead_seconds": 0.25, "epochs_used": epochs_used, "elapsed_seconds": elapsed,
        "training_seed": 1000 + number,
        HP_PREFIX + "learning_rate": (1e-4, 1e-3, 1e-2)[number % 3],
        HP_PREFIX + "units": 16 * number + seed,
        HP_PREFIX + "activation": ("relu", "tanh")[number % 2],
        "test_confusion": None if math.isnan(val) else json.dumps([[5, 1, 0], [2, 6, 1], [0, 1, 7]]),
    }


def _test_of(val: float) -> float:
    """A test accuracy that runs against the validation accuracy (higher validation, lower
    test), so that a report that ranked or chose on test numbers gives other tables."""
    return min(1.0, max(0.0, 1.6 - val))


def _curve_row(benchmark, strategy, seed, trial, epoch, final_val, epochs) -> dict[str, Any]:
    val = final_val - 0.02 * (epochs - epoch)
    return {"benchmark": benchmark, "strategy": strategy, "seed": seed, "trial": trial, "epoch": epoch,
            "loss": 1 - val, "accuracy": val + 0.01, "val_loss": 1 - val, "val_accuracy": val, "val_f1": val - 0.02,
            "test_accuracy": _test_of(val), "test_f1": _test_of(val) - 0.01, "epoch_seconds": 1.5}


def manifest(seeds: Sequence[int], benchmarks: Sequence[str], class_names: bool = True) -> dict[str, Any]:
    """A manifest with the real schema version and the fields the report shows."""
    data = {name: {"class_names": CLASS_NAMES} for name in benchmarks} if class_names else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "suite": {"name": "fixture", "description": "hand-made results for the report tests"},
        "seeds": list(seeds), "budgets": {name: 6 for name in benchmarks},
        "versions": {"python": "3.11", "tunebench": "0.1.0"},
        "hardware": {"cpu_model": "Test CPU", "cpu_count": 2, "gpus": []},
        "git_commit": "0123abcd", "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:10:00+00:00",
        "wall_seconds": 600.0, "warm_start": {"description": "no warm starts in this fixture"},
        "objective": "val_accuracy", "data": data,
    }


def write_results(directory: Path, runs: Sequence[dict[str, list[dict[str, Any]]]],
                  manifest_data: dict[str, Any]) -> Path:
    """Write runs.csv, trials.csv, curves.csv (real column order) and manifest.json."""
    directory.mkdir(parents=True, exist_ok=True)
    hp_columns = [HP_PREFIX + name for name in HP_NAMES]
    tables = {
        "runs": (RUN_COLUMNS, "runs"),
        "trials": (TRIAL_COLUMNS + hp_columns + ["test_confusion"], "trials"),
        "curves": (CURVE_COLUMNS, "curves"),
    }
    for name, (columns, key) in tables.items():
        rows = [row for run in runs for row in run[key]]
        pd.DataFrame(rows, columns=columns).to_csv(directory / f"{name}.csv", index=False)
    (directory / "manifest.json").write_text(json.dumps(manifest_data, indent=2))
    return directory
