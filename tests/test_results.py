import json
import math
from types import SimpleNamespace

import pandas as pd
import pytest

from tunebench.files import write_atomically
from tunebench.results import summarize_run, tables_from_records
from tunebench.schema import (CURVE_COLUMNS, RUN_COLUMNS, SIMULATED_COLUMNS, SUMMARY_FIELDS, TRIAL_COLUMNS, RunRecord,
                              RunStatus, RunSummary, TrialRecord, TrialStatus)


def trial(n, val, test, epochs_used, elapsed, status="ok"):
    return SimpleNamespace(trial=n, status=status, val_accuracy=val, val_f1=val - 0.1, test_accuracy=test,
                           test_f1=test - 0.1, epochs_used=epochs_used, elapsed_seconds=elapsed, overhead_seconds=0.5)


def test_incumbent_is_chosen_on_validation_only_and_earliest_on_ties():
    rows = [trial(1, 0.50, 0.99, 3, 10.0), trial(2, 0.80, 0.10, 6, 20.0), trial(3, 0.80, 0.90, 9, 30.0),
            trial(4, 0.70, 0.95, 12, 40.0)]
    summary = summarize_run(rows)
    assert summary.best_trial == 2 and summary.trials_to_best == 2
    assert summary.best_val_accuracy == 0.80
    assert summary.test_accuracy == 0.10  # the incumbent's test score, not the best test score
    assert summary.epochs_to_best == 6 and summary.seconds_to_best == 20.0
    assert summary.trials == 4 and summary.epochs_used == 12
    assert summary.overhead_seconds == pytest.approx(2.0)
    assert list(summary.as_dict()) == list(SUMMARY_FIELDS)


def test_failed_trials_are_never_the_incumbent():
    rows = [trial(1, 0.9, 0.9, 1, 1.0, status="failed"), trial(2, 0.4, 0.3, 2, 2.0)]
    assert summarize_run(rows).best_trial == 2
    assert math.isnan(summarize_run([trial(1, math.nan, math.nan, 1, 1.0, status="failed")]).best_val_accuracy)


def test_tables_from_records_make_one_hp_column_per_parameter():
    base = {c: 0 for c in TRIAL_COLUMNS} | {"benchmark": "b", "strategy": "s", "seed": 0, "status": TrialStatus.OK,
                                           "parent_trial_id": None, "error": None}
    point = {c: 0.5 for c in CURVE_COLUMNS if c not in ("benchmark", "strategy", "seed", "trial")}
    trials = [
        TrialRecord(**base | {"trial": 1, "config": {"a": 1, "b": 0.5}, "curve": [point | {"epoch": 1}],
                              "test_confusion": [[1, 0], [0, 1]]}),
        TrialRecord(**base | {"trial": 2, "config": {"a": 2}, "curve": [point | {"epoch": 1}, point | {"epoch": 2}],
                              "test_confusion": [[2, 0], [0, 0]]}),
    ]
    run = RunRecord("b", "s", 0, RunStatus.BUDGET_EXHAUSTED, "full", 1, None, 1.0,
                    RunSummary(**dict.fromkeys(SUMMARY_FIELDS, 1)))
    tables = tables_from_records(trials, [run])
    trials = tables["trials"]
    assert list(trials.columns) == TRIAL_COLUMNS + SIMULATED_COLUMNS + ["hp_a", "hp_b", "test_confusion", "error"]
    assert trials["hp_a"].tolist() == [1, 2]
    assert trials[SIMULATED_COLUMNS].isna().all().all()  # not a run on simulated workers
    assert pd.isna(trials["hp_b"].iloc[1])
    assert json.loads(trials["test_confusion"].iloc[0]) == [[1, 0], [0, 1]]
    assert len(tables["curves"]) == 3 and tables["curves"]["trial"].tolist() == [1, 2, 2]
    assert list(tables["runs"].columns) == RUN_COLUMNS


def test_write_atomically_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("old")
    write_atomically(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_results_written_before_the_simulated_columns_load_with_them_empty(tmp_path):
    from report_fixture import make_run, manifest, write_results
    from tunebench.results_dir import load_results

    write_results(tmp_path, [make_run("b", "random", 0, [0.5, 0.6])], manifest([0], ["b"]))
    assert not set(SIMULATED_COLUMNS) & set(pd.read_csv(tmp_path / "trials.csv").columns)  # the older files
    trials = load_results(tmp_path).trials
    assert list(trials.columns[len(TRIAL_COLUMNS):len(TRIAL_COLUMNS) + 2]) == SIMULATED_COLUMNS
    assert trials[SIMULATED_COLUMNS].isna().all().all()
