"""Scale-out on Dask: a 2-worker run gives the rows of a 1-worker run; a bad scheduler exits 2.

The workers are real processes of a Dask LocalCluster. The suites are of the analytic bowl
(tests/analytic_benchmark.py, a plug-in of the suite file, which the run's tasks carry to the
workers): what is checked is the scale-out and the options, not a model.
"""

import json

import pandas as pd
import pytest

from tunebench.cli import main
from tunebench.schema import without_timing

from conftest import analytic_suite
from test_resume import NO_TENSORFLOW


def test_two_workers_give_the_rows_of_one(small_analytic_suite_results, small_analytic_suite_file, no_data_dir,
                                          tmp_path, monkeypatch):
    for name, value in NO_TENSORFLOW.items():  # the worker processes need no Keras either
        monkeypatch.setenv(name, value)
    out = tmp_path / "parallel"
    assert main(["run", str(small_analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(out),
                 "--workers", "2"]) == 0
    assert len(pd.read_csv(out / "runs.csv")) == 2
    for name in ("trials.csv", "curves.csv", "runs.csv"):
        pd.testing.assert_frame_equal(without_timing(pd.read_csv(small_analytic_suite_results / name)),
                                      without_timing(pd.read_csv(out / name)))
    assert (json.loads((small_analytic_suite_results / "best_hyperparameters.json").read_text())
            == json.loads((out / "best_hyperparameters.json").read_text()))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["workers"] == 2 and "LocalCluster" in manifest["execution"]["mode"]


def test_unreachable_scheduler_exits_2_before_writing_anything(small_analytic_suite_file, no_data_dir, tmp_path,
                                                               monkeypatch, capsys):
    import tunebench.runner.executors

    monkeypatch.setattr(tunebench.runner.executors, "CONNECT_TIMEOUT", 2.0)
    out = tmp_path / "out"
    code = main(["run", str(small_analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(out),
                 "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach a Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not out.exists()


def test_a_malformed_scheduler_address_exits_2_without_a_traceback(small_analytic_suite_file, no_data_dir, tmp_path, capfd):
    out = tmp_path / "out"
    assert main(["run", str(small_analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(out),
                 "--scheduler", "notaurl"]) == 2
    err = capfd.readouterr().err
    assert "--scheduler 'notaurl': not a Dask scheduler address" in err and "Traceback" not in err
    assert not out.exists()


def test_workers_and_scheduler_options_are_checked(small_analytic_suite_file, no_data_dir, tmp_path, capsys):
    base = ["run", str(small_analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(tmp_path / "out")]
    assert main(base + ["--workers", "0"]) == 2
    assert "--parallel-runs must be a positive integer" in capsys.readouterr().err
    assert main(base + ["--parallel-runs", "2", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_optuna_storage_and_mlflow_options_reach_the_strategy_and_the_tracker(tmp_path):
    """--optuna-storage names each run's study <suite>/<benchmark>/<strategy>/seed-<seed>;
    --mlflow logs the finished results (here to the default store, <out>/mlruns)."""
    import optuna

    suite_file = tmp_path / "opts.toml"
    suite_file.write_text(analytic_suite('name = "opts"\nseeds = [0]\nstrategies = ["tpe"]\n'
                                         '[benchmarks.analytic]\nmax_epochs = 1\ntrials = 2\n'))
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    out = tmp_path / "out"
    assert main(["run", str(suite_file), "--data-dir", str(tmp_path), "--out", str(out),
                 "--optuna-storage", storage, "--mlflow"]) == 0
    study = optuna.load_study(study_name="opts/analytic/tpe/seed-0", storage=storage)
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2
    told = [t.params["x"] for t in study.trials if t.state.is_finished()]
    assert told == pytest.approx(list(trials.hp_x), abs=1e-9)  # trials.csv keeps 10 decimals  # (a last trial asked but not paid for stays RUNNING)
    assert (out / "mlruns").is_dir()
