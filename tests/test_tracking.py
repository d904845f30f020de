"""MLflow logging of a results directory (tunebench.tracking), on a small hand-written one."""

import json
import os
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from tunebench.errors import InputError
from tunebench.results import write_tables
from tunebench.schema import CURVE_COLUMNS, ERROR_COLUMN, HP_PREFIX, RUN_COLUMNS, TRIAL_COLUMNS
from tunebench.tracking import default_tracking_uri, log_results

#: (strategy, trial, trial_id, status, learning_rate, units_1 or None, val accuracy per epoch)
TRIALS = [
    ("tpe", 1, "0", "ok", 1e-3, 64, [0.50, 0.70]),
    ("tpe", 2, "1", "ok", 1e-2, None, [0.60, 0.80]),
    ("tpe", 3, "2", "failed", 1e-4, 32, []),
    ("random", 1, "a1", "ok", 1e-4, 48, [0.40, 0.55]),
    ("random", 2, "a2", "ok", 1e-3, 80, [0.65, 0.75]),
]
SETTINGS = {"tpe": {"library": "optuna 5.0.0", "sampler": "TPESampler", "seed": 123, "n_startup_trials": 3},
            "random": {"library": "keras-tuner 1.4.8", "oracle": "RandomSearchOracle", "seed": 123}}


def write_results(directory: Path) -> Path:
    """A finished two-run results directory in the real file formats (schema version 1)."""
    directory.mkdir(parents=True, exist_ok=True)
    trials, curves, runs = [], [], []
    for strategy, trial, trial_id, status, lr, units, accuracies in TRIALS:
        final = accuracies[-1] if accuracies else math.nan
        row = {c: math.nan for c in TRIAL_COLUMNS}
        row.update(benchmark="mnist-mlp", strategy=strategy, seed=0, trial=trial, trial_id=trial_id,
                   parent_trial_id=None, status=status, epochs=2, initial_epoch=0, epochs_trained=2,
                   val_accuracy=final, val_f1=final - 0.01, test_accuracy=final - 0.02, test_f1=final - 0.03,
                   train_seconds=1.5, overhead_seconds=0.01, epochs_used=2 * trial, elapsed_seconds=2.0 * trial,
                   training_seed=1000 + trial)
        row[HP_PREFIX + "learning_rate"] = lr
        row[HP_PREFIX + "units_1"] = units
        row["test_confusion"] = "[[1,0],[0,1]]" if status == "ok" else None
        row[ERROR_COLUMN] = "ResourceExhaustedError: OOM" if status == "failed" else None
        trials.append(row)
        for epoch, accuracy in enumerate(accuracies, start=1):
            point = {c: 0.1 for c in CURVE_COLUMNS}
            point.update(benchmark="mnist-mlp", strategy=strategy, seed=0, trial=trial, epoch=epoch,
                         val_accuracy=accuracy, val_f1=accuracy - 0.01, test_accuracy=accuracy - 0.02,
                         test_f1=accuracy - 0.03)
            curves.append(point)
    for strategy, best_trial, best in (("tpe", 2, 0.80), ("random", 2, 0.75)):
        run = {c: math.nan for c in RUN_COLUMNS}
        run.update(benchmark="mnist-mlp", strategy=strategy, seed=0, status="budget_exhausted",
                   fidelity="reduced: 2 of 10 epochs", budget_epochs=6, epochs_used=6, trials=3,
                   best_trial=best_trial, best_val_accuracy=best, best_val_f1=best - 0.01,
                   test_accuracy=best - 0.02, test_f1=best - 0.03, trials_to_best=best_trial,
                   epochs_to_best=4, seconds_to_best=4.0, wall_seconds=9.5, overhead_seconds=0.02)
        runs.append(run)
    hp = [HP_PREFIX + "learning_rate", HP_PREFIX + "units_1"]
    write_tables({"trials": pd.DataFrame(trials, columns=TRIAL_COLUMNS + hp + ["test_confusion", ERROR_COLUMN]),
                  "curves": pd.DataFrame(curves, columns=CURVE_COLUMNS),
                  "runs": pd.DataFrame(runs, columns=RUN_COLUMNS)}, directory)
    manifest = {"schema_version": 1, "seeds": [0], "git_commit": "abc123", "wall_seconds": 19.0,
                "suite": {"name": "tiny", "description": "hand-written", "seeds": [0],
                          "strategies": ["tpe", "random"], "benchmarks": [{"name": "mnist-mlp"}]},
                "strategies": {"mnist-mlp": SETTINGS}, "versions": {"optuna": "5.0.0"}}
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    best = [{"benchmark": "mnist-mlp", "strategy": s, "seed": 0, "trial": 2} for s in ("tpe", "random")]
    (directory / "best_hyperparameters.json").write_text(json.dumps(best), encoding="utf-8")
    (directory / "figures").mkdir(exist_ok=True)
    (directory / "figures" / "mnist-mlp-incumbent.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return directory


@pytest.fixture
def mlflow_client(monkeypatch):
    """``MlflowClient`` for a URI, reading file stores too (MLflow >= 3.7 wants them allowed)."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient


def runs_of(client, experiment_name):
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None
    return client.search_runs([experiment.experiment_id], max_results=1000)


def artifact_paths(client, run_id):
    return {a.path for a in client.list_artifacts(run_id)} | {a.path for a in client.list_artifacts(run_id, "figures")}


def test_logs_runs_trials_curves_and_artifacts_to_a_file_store(tmp_path, mlflow_client):
    results = write_results(tmp_path / "results" / "tiny")
    uri = log_results(results)
    assert uri == default_tracking_uri(results) == (results.resolve() / "mlruns").as_uri()
    assert (results / "mlruns").is_dir()

    client = mlflow_client(uri)
    runs = runs_of(client, "tiny")
    kinds = [r.data.tags["tunebench.kind"] for r in runs]
    assert sorted(kinds) == ["run", "run", "suite"] + ["trial"] * len(TRIALS)

    tpe = next(r for r in runs if r.data.tags["tunebench.kind"] == "run" and r.data.params["strategy"] == "tpe")
    assert tpe.info.run_name == "mnist-mlp tpe seed 0"
    assert tpe.data.params["benchmark"] == "mnist-mlp"
    assert tpe.data.params["seed"] == "0"
    assert tpe.data.params["budget_epochs"] == "6"
    assert tpe.data.params["fidelity"] == "reduced: 2 of 10 epochs"
    assert tpe.data.params["strategy.sampler"] == "TPESampler"
    assert tpe.data.params["strategy.seed"] == "123"
    assert tpe.data.params["best_hp_learning_rate"] == "0.01"  # the incumbent, trial 2
    assert "best_hp_units_1" not in tpe.data.params           # inactive in the incumbent
    assert tpe.data.metrics["best_val_accuracy"] == pytest.approx(0.80)
    assert tpe.data.metrics["test_accuracy"] == pytest.approx(0.78)
    assert tpe.data.metrics["trials_to_best"] == 2
    assert tpe.data.metrics["wall_seconds"] == pytest.approx(9.5)
    incumbent = client.get_metric_history(tpe.info.run_id, "incumbent_val_accuracy")
    assert [(m.step, m.value) for m in sorted(incumbent, key=lambda m: m.step)] == [(2, 0.70), (4, 0.80), (6, 0.80)]

    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == tpe.info.run_id]
    assert sorted(int(r.data.params["trial"]) for r in children) == [1, 2, 3]
    first = next(r for r in children if r.data.params["trial"] == "1")
    assert first.info.status == "FINISHED"
    assert first.data.params["hp_learning_rate"] == "0.001"
    assert first.data.params["hp_units_1"] == "64"
    assert first.data.params["trial_id"] == "0"
    assert first.data.metrics["val_accuracy"] == pytest.approx(0.70)
    curve = client.get_metric_history(first.info.run_id, "val_accuracy")
    assert [(m.step, m.value) for m in sorted(curve, key=lambda m: m.step)] == [(1, 0.50), (2, 0.70)]
    failed = next(r for r in children if r.data.params["trial"] == "3")
    assert failed.info.status == "FAILED"
    assert failed.data.tags["tunebench.error"] == "ResourceExhaustedError: OOM"
    assert "val_accuracy" not in failed.data.metrics

    suite = next(r for r in runs if r.data.tags["tunebench.kind"] == "suite")
    assert suite.info.status == "FINISHED"
    assert suite.data.params["suite"] == "tiny"
    assert artifact_paths(client, suite.info.run_id) >= {
        "trials.csv", "curves.csv", "runs.csv", "manifest.json", "best_hyperparameters.json",
        "figures/mnist-mlp-incumbent.png"}


def test_logging_again_adds_only_missing_artifacts(tmp_path, mlflow_client):
    results = write_results(tmp_path / "tiny")
    uri = log_results(results)
    (results / "report.md").write_text("# report\n", encoding="utf-8")
    assert log_results(results, uri) == uri
    client = mlflow_client(uri)
    runs = runs_of(client, "tiny")
    assert len(runs) == 3 + len(TRIALS)
    suite = next(r for r in runs if r.data.tags["tunebench.kind"] == "suite")
    assert "report.md" in artifact_paths(client, suite.info.run_id)


def test_a_sqlite_store_keeps_artifacts_beside_the_database(tmp_path, mlflow_client):
    results = write_results(tmp_path / "tiny")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert log_results(results, uri) == uri
    client = mlflow_client(uri)
    runs = runs_of(client, "tiny")
    assert len(runs) == 3 + len(TRIALS)
    assert list((tmp_path / "mlartifacts").rglob("manifest.json"))


@pytest.mark.parametrize("uri", ["nosuchscheme://somewhere", "sqlite:////no/such/directory/mlflow.db",
                                 "http://127.0.0.1:9"])
def test_an_invalid_or_unreachable_uri_is_an_input_error_naming_it(tmp_path, mlflow_client, uri):
    results = write_results(tmp_path / "tiny")
    with pytest.raises(InputError, match=f"MLflow tracking URI '{uri}'"):
        log_results(results, uri)


def test_without_mlflow_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    results = write_results(tmp_path / "tiny")
    for module in ("mlflow", "mlflow.tracking"):
        monkeypatch.setitem(sys.modules, module, None)  # makes `import mlflow` raise ImportError
    with pytest.raises(InputError, match=r"pip install mlflow"):
        log_results(results)


def test_a_directory_without_results_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"manifest.json: file not found \(a results directory holds runs.csv"):
        log_results(tmp_path)


def test_the_file_store_is_allowed_for_the_call_only(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    log_results(write_results(tmp_path / "tiny"))
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ


def test_an_interrupted_attempt_is_replaced(tmp_path, mlflow_client, monkeypatch):
    from tunebench import tracking

    results = write_results(tmp_path / "tiny")
    original = tracking._Logger._log_run
    calls = []

    def fail_on_second_run(self, *args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(tracking._Logger, "_log_run", fail_on_second_run)
    with pytest.raises(KeyboardInterrupt):
        log_results(results)
    monkeypatch.setattr(tracking._Logger, "_log_run", original)
    uri = log_results(results)
    runs = runs_of(mlflow_client(uri), "tiny")
    assert len(runs) == 3 + len(TRIALS)
    assert all(r.info.status != "RUNNING" for r in runs)
