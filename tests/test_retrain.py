"""``tunebench retrain``: incumbents retrained with fresh training seeds, and the report's noise section."""

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.replay import RECORDINGS_ENV

from tunebench.cli import main
from tunebench.report.noise import noise_floor, noise_markdown, pooled_sd
from tunebench.results_dir import load_results
from tunebench.retrain import incumbents, live_twin, retrain
from tunebench.from_plan import load_run_data, make_benchmark
from tunebench.schema import RETRAIN_FILE, without_timing

REPLAY_SUITE = """
name = "tiny-replay"
seeds = [0, 1]
strategies = ["random", "tpe"]
[benchmarks."mnist-mlp@replay"]
max_epochs = 2
trials = 3
allow_weak_surrogate = true  # a 10-configuration recording
"""


@pytest.fixture
def live_results(small_suite_results, tmp_path):
    """A copy of the small live suite's results (hyperband and bayesian on mnist-mlp, seed 0)."""
    return shutil.copytree(small_suite_results, tmp_path / "live")


def test_pooled_sd_matches_a_hand_computation():
    groups = [np.array([0.90, 0.92, 0.94]), np.array([0.50, 0.52]), np.array([0.7])]
    sd, low, high = pooled_sd(groups)
    # squares about the group means: 0.0008 + 0.0002 = 0.001 over 2 + 1 degrees of freedom
    assert sd == pytest.approx(math.sqrt(0.001 / 3))
    assert low < sd < high
    assert math.isnan(pooled_sd([np.array([0.5])])[0])


def test_retrain_writes_each_incumbent_repeated_and_the_report_shows_the_floor(live_results, tiny_data_dir, capsys):
    assert main(["retrain", str(live_results), "--repeats", "2", "--data-dir", str(tiny_data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "tunebench: 4 trainings (2 incumbents x 2); a line after each"
    assert "2/4" in out
    rows = pd.read_csv(live_results / RETRAIN_FILE)
    runs = pd.read_csv(live_results / "runs.csv")
    assert len(rows) == 4 and set(rows["strategy"]) == {"hyperband", "bayesian"}
    assert (rows["trained_on"] == "mnist-mlp").all() and set(rows["repeat"]) == {1, 2}
    for strategy, group in rows.groupby("strategy"):
        run = runs[runs["strategy"] == strategy].iloc[0]
        assert (group["trial"] == run["best_trial"]).all()
        assert (group["found_val_accuracy"] == run["best_val_accuracy"]).all()
        assert group["training_seed"].nunique() == 2
    assert rows["val_accuracy"].between(0, 1).all()
    assert main(["report", str(live_results)]) == 0
    report = (live_results / "report.md").read_text()
    assert "### Training noise: incumbents retrained" in report
    assert "Retraining one configuration with another seed moves" in report
    assert "surrogate" not in report.split("### Training noise")[1].split("###")[0]  # a live benchmark


def test_an_incumbent_retrained_with_its_own_seed_gives_what_the_run_found(live_results, tiny_data_dir):
    """The incumbent's configuration, epochs, data split and plan are those the run used."""
    data = load_results(live_results)
    twin = live_twin(data, "mnist-mlp")
    space = get_benchmark_spec("mnist-mlp").make_space(twin.plan.options)
    found = [i for i in incumbents(data, "mnist-mlp", space, 1) if i.strategy == "bayesian"][0]
    trial = data.trials[(data.trials["strategy"] == "bayesian") & (data.trials["trial"] == found.trial)].iloc[0]
    assert trial["initial_epoch"] == 0  # trained from scratch, so its own seed reproduces it
    benchmark = make_benchmark(get_benchmark_spec("mnist-mlp"), load_run_data(twin.plan, tiny_data_dir, 0), twin.plan)
    curve = benchmark.evaluate(found.config, found.epochs, int(trial["training_seed"])).curve
    assert curve[-1].val_accuracy == pytest.approx(found.found_val_accuracy, abs=1e-6)


def test_retrain_resumes_where_it_stopped_and_restarts_on_other_results(live_results, tiny_data_dir, capsys):
    path = retrain(live_results, tiny_data_dir, repeats=2)
    full = pd.read_csv(path)
    full.iloc[:3].to_csv(path, index=False)  # as if stopped after 3 trainings
    calls, starts = [], []
    retrain(live_results, tiny_data_dir, repeats=2, on_start=lambda total, before: starts.append((total, before)),
            on_done=lambda done, total, row: calls.append(done))
    assert starts == [(4, 3)] and calls == [4]
    pd.testing.assert_frame_equal(without_timing(pd.read_csv(path)), without_timing(full))  # deterministic training
    stale = full.assign(manifest_sha256="0" * 64)
    stale.to_csv(path, index=False)
    assert main(["report", str(live_results)]) == 0
    assert "was made from other results" in (live_results / "report.md").read_text()
    calls.clear()
    retrain(live_results, tiny_data_dir, repeats=2, on_done=lambda done, total, row: calls.append(done))
    assert "starting it again" in capsys.readouterr().out
    assert calls == [1, 2, 3, 4]


@pytest.mark.parametrize("option, message", [
    (["--repeats", "1"], "--repeats must be at least 2"),
    (["--runs-per-strategy", "0"], "--runs-per-strategy must be at least 1"),
    (["--benchmarks", "fer-cnn"], "--benchmarks fer-cnn: not in"),
])
def test_bad_options_exit_2_and_write_nothing(live_results, tiny_data_dir, capsys, option, message):
    assert main(["retrain", str(live_results), "--data-dir", str(tiny_data_dir), *option]) == 2
    assert message in capsys.readouterr().err
    assert not (live_results / RETRAIN_FILE).exists()


def test_replay_incumbents_retrain_live_on_the_recordings_data(tiny_data_dir, tmp_path, monkeypatch):
    recordings = tmp_path / "recordings"
    assert main(["record", "mnist-mlp", "--configs", "8", "--grid-configs", "2", "--epochs", "2", "--chunk-size", "10",
                 "--subset", "train=120", "--seed", "3", "--data-dir", str(tiny_data_dir),
                 "--out", str(recordings)]) == 0
    monkeypatch.setenv(RECORDINGS_ENV, str(recordings))
    (tmp_path / "suite.toml").write_text(REPLAY_SUITE)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "suite.toml"), "--out", str(out)]) == 0
    path = retrain(out, tiny_data_dir, runs_per_strategy=1, repeats=2)
    rows = pd.read_csv(path)
    assert len(rows) == 4 and (rows["trained_on"] == "mnist-mlp").all()
    assert (rows["data_seed"] == 3).all() and (rows["seed"] == 0).all()  # the recording's split, the first seed only
    floor = noise_floor(load_results(out), "mnist-mlp@replay")
    assert floor is not None and floor.trained_on == "mnist-mlp" and floor.trainings <= 4
    assert "the surrogate's prediction for any other" in noise_markdown(load_results(out), "mnist-mlp@replay")


def _noise_data(tmp_path, same_config_for_both: bool):
    """Two strategies, one run each; their incumbents retrained twice (hand-checkable numbers)."""
    from tunebench.results_dir import ResultsData

    runs = pd.DataFrame({"benchmark": "b", "strategy": ["random", "tpe"], "seed": [0.0, 0.0],
                         "best_val_accuracy": [0.90, 0.91]})
    rows = []
    for strategy, found, values, x in (("random", 0.90, (0.88, 0.90), 1), ("tpe", 0.91, (0.86, 0.90), 2)):
        if same_config_for_both:
            x, values = 1, (0.88, 0.90)
        for repeat, value in enumerate(values, start=1):
            rows.append({"benchmark": "b", "strategy": strategy, "seed": 0, "trial": 1, "found_val_accuracy": found,
                         "trained_on": "b", "data_seed": 0, "epochs": 10, "repeat": repeat, "training_seed": repeat,
                         "val_accuracy": value, "test_accuracy": value - 0.01, "manifest_sha256": "m", "hp_x": x})
    return ResultsData(directory=tmp_path, runs=runs, trials=pd.DataFrame(), curves=pd.DataFrame(), manifest={},
                       manifest_sha256="m", retrain=pd.DataFrame(rows))


def test_noise_floor_pools_distinct_configurations_and_compares_with_the_spread(tmp_path):
    floor = noise_floor(_noise_data(tmp_path, same_config_for_both=False), "b")
    # (0.88, 0.90) and (0.86, 0.90): squares 0.0002 + 0.0008 over 2 degrees of freedom
    assert floor.sd == pytest.approx(math.sqrt(0.0005))
    assert floor.configs == 2 and floor.trainings == 4
    assert floor.strategy_spread == pytest.approx(0.01)
    assert floor.per_strategy.loc["tpe", "curse"] == pytest.approx(0.91 - 0.88)
    assert floor.one_seed_band == pytest.approx(1.959964 * math.sqrt(2) * math.sqrt(0.0005), rel=1e-6)
    assert floor.spread_within_noise  # 0.01 < 0.062
    same = noise_floor(_noise_data(tmp_path, same_config_for_both=True), "b")
    assert same.configs == 1 and same.trainings == 2  # one configuration found twice counts once
    assert same.sd == pytest.approx(math.sqrt(0.0002))
