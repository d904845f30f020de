"""Scale-out on Dask: a 2-worker run gives the rows of a 1-worker run; a bad scheduler exits 2.

The workers are real processes of a Dask LocalCluster, each training with TensorFlow on
the tiny data.
"""

import json

import pandas as pd

from tunebench.cli import main
from tunebench.schema import without_timing


def test_two_workers_give_the_rows_of_one(small_suite_results, small_suite_file, tiny_data_dir, tmp_path):
    out = tmp_path / "parallel"
    assert main(["run", str(small_suite_file), "--data-dir", str(tiny_data_dir), "--out", str(out),
                 "--workers", "2"]) == 0
    for name in ("trials.csv", "curves.csv", "runs.csv"):
        pd.testing.assert_frame_equal(without_timing(pd.read_csv(small_suite_results / name)),
                                      without_timing(pd.read_csv(out / name)))
    assert (json.loads((small_suite_results / "best_hyperparameters.json").read_text())
            == json.loads((out / "best_hyperparameters.json").read_text()))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["workers"] == 2 and "LocalCluster" in manifest["execution"]["mode"]


def test_unreachable_scheduler_exits_2_before_writing_anything(small_suite_file, tiny_data_dir, tmp_path,
                                                               monkeypatch, capsys):
    import tunebench.runner.executors

    monkeypatch.setattr(tunebench.runner.executors, "CONNECT_TIMEOUT", 2.0)
    out = tmp_path / "out"
    code = main(["run", str(small_suite_file), "--data-dir", str(tiny_data_dir), "--out", str(out),
                 "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach a Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not out.exists()


def test_a_malformed_scheduler_address_exits_2_without_a_traceback(small_suite_file, tiny_data_dir, tmp_path, capfd):
    out = tmp_path / "out"
    assert main(["run", str(small_suite_file), "--data-dir", str(tiny_data_dir), "--out", str(out),
                 "--scheduler", "notaurl"]) == 2
    err = capfd.readouterr().err
    assert "--scheduler 'notaurl': not a Dask scheduler address" in err and "Traceback" not in err
    assert not out.exists()


def test_workers_and_scheduler_options_are_checked(small_suite_file, tiny_data_dir, tmp_path, capsys):
    base = ["run", str(small_suite_file), "--data-dir", str(tiny_data_dir), "--out", str(tmp_path / "out")]
    assert main(base + ["--workers", "0"]) == 2
    assert "--workers must be a positive integer" in capsys.readouterr().err
    assert main(base + ["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_optuna_storage_and_mlflow_options_reach_the_strategy_and_the_tracker(tiny_data_dir, tmp_path):
    """--optuna-storage names each run's study <suite>/<benchmark>/<strategy>/seed-<seed>;
    --mlflow logs the finished results (here to the default store, <out>/mlruns)."""
    import optuna

    suite_file = tmp_path / "opts.toml"
    suite_file.write_text('name = "opts"\nseeds = [0]\nstrategies = ["tpe"]\n'
                          '[benchmarks.mnist-mlp]\nmax_epochs = 1\ntrials = 2\n')
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    out = tmp_path / "out"
    assert main(["run", str(suite_file), "--data-dir", str(tiny_data_dir), "--out", str(out),
                 "--optuna-storage", storage, "--mlflow"]) == 0
    study = optuna.load_study(study_name="opts/mnist-mlp/tpe/seed-0", storage=storage)
    trials = pd.read_csv(out / "trials.csv")
    told = [t.params["learning_rate"] for t in study.trials if t.state.is_finished()]
    assert told == list(trials.hp_learning_rate)  # (a last trial asked but not paid for stays RUNNING)
    assert (out / "mlruns").is_dir()
