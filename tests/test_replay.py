"""Replay benchmarks: recorded curves, the surrogate, and a whole replay suite without data."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.replay import DISTURBED_EPOCH_FACTOR, RECORDINGS_ENV, ReplayBenchmark, steady_epoch_seconds
from tunebench.benchmarks.surrogate import (TARGETS, CurveSurrogate, curves_of, draws_of, encode, held_out_predictions,
                                            surrogate_quality)
from tunebench.cli import main
from tunebench.errors import InputError
from tunebench.benchmarks.recording import DesignSpec, from_unit
from tunebench.benchmarks.recording_load import load_recording
from tunebench.record import record, refresh_quality
from tunebench.schema import without_timing
from tunebench.strategies import STRATEGIES
from tunebench.suite import parse_suite

EPOCHS = 3


@pytest.fixture(scope="module")
def recordings(tiny_data_dir, tmp_path_factory):
    """A real (tiny) mnist-mlp recording: 12 configurations x 3 epochs."""
    out = tmp_path_factory.mktemp("recordings")
    assert main(["record", "mnist-mlp", "--configs", "10", "--grid-configs", "2", "--epochs", str(EPOCHS),
                 "--chunk-size", "6", "--subset", "train=120", "--data-dir", str(tiny_data_dir), "--out", str(out)]) == 0
    return out


def plan(max_epochs=EPOCHS, **options):
    table = {"max_epochs": max_epochs, "trials": 2, "allow_weak_surrogate": True, **options}
    return parse_suite({"name": "t", "seeds": [0], "strategies": ["random"],
                        "benchmarks": {"mnist-mlp@replay": table}}, source="test").benchmarks[0]


def replay(recordings, **kwargs):
    return ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(**kwargs), recordings / "mnist-mlp")


def test_a_recorded_config_replays_its_recorded_epochs(recordings):
    benchmark = replay(recordings)
    _, table = load_recording(recordings / "mnist-mlp")
    rows = table[table.config_id == 3].sort_values("epoch")
    config = benchmark.space.active_config({c[3:]: rows[c].iloc[0] for c in rows if c.startswith("hp_")})
    evaluation = benchmark.evaluate(config, EPOCHS, seed=123)
    assert [p.epoch for p in evaluation.curve] == [1, 2, 3]
    assert [p.val_accuracy for p in evaluation.curve] == pytest.approx(rows["val_accuracy"].tolist())
    assert [p.test_f1 for p in evaluation.curve] == pytest.approx(rows["test_f1"].tolist())
    assert evaluation.seconds == pytest.approx(rows["epoch_seconds"].sum())
    assert evaluation.test_confusion == json.loads(rows["test_confusion"].iloc[-1])
    continued = benchmark.evaluate(config, 3, seed=1, initial_epoch=1, warm_start={"epoch": 1}, keep_state=True)
    assert [p.epoch for p in continued.curve] == [2, 3]
    assert continued.seconds == pytest.approx(rows["epoch_seconds"].iloc[1:].sum())
    assert continued.state is not None


def test_a_disturbed_epoch_replays_at_its_configurations_median_and_a_first_epoch_as_recorded():
    """An epoch after the first slower than DISTURBED_EPOCH_FACTOR x its configuration's median
    (epochs 2 onward) takes that median; a slow first epoch (tracing) and every other epoch
    keep their recorded seconds; the table given is not modified."""
    seconds = {0: [9.0, 2.0, 2.2, 2.1, 2.0 * DISTURBED_EPOCH_FACTOR + 1],   # epoch 5 disturbed
               1: [40.0, 3.0, 3.1, 3.0 * DISTURBED_EPOCH_FACTOR, 3.2]}      # first epoch slow; epoch 4 at the factor
    table = pd.DataFrame([{"config_id": config, "epoch": epoch + 1, "epoch_seconds": value}
                          for config, values in seconds.items() for epoch, value in enumerate(values)])
    steady, disturbed = steady_epoch_seconds(table)
    assert disturbed == 1
    expected = seconds[0][:4] + [float(np.median(seconds[0][1:]))] + seconds[1]
    assert steady["epoch_seconds"].tolist() == pytest.approx(expected)
    assert table["epoch_seconds"].tolist() == seconds[0] + seconds[1]


def test_replay_serves_the_steady_epoch_seconds(recordings, tmp_path, monkeypatch):
    """The replay's seconds are steady_epoch_seconds's (here with a factor of 1: every later
    epoch above its configuration's median takes it), and its source counts them."""
    import shutil

    import tunebench.benchmarks.replay as replay_module

    monkeypatch.setattr(replay_module, "DISTURBED_EPOCH_FACTOR", 1.0)
    shutil.copytree(recordings / "mnist-mlp", tmp_path / "mnist-mlp")  # a new path: not the cached load
    benchmark = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(), tmp_path / "mnist-mlp")
    _, table = load_recording(recordings / "mnist-mlp")
    later = table[table.epoch > 1]
    above = later["epoch_seconds"] > later.groupby("config_id")["epoch_seconds"].transform("median")
    assert benchmark.source["disturbed_epochs_at_median_time"] == int(above.sum()) > 0
    rows = table[table.config_id == 3].sort_values("epoch")
    config = benchmark.space.active_config({c[3:]: rows[c].iloc[0] for c in rows if c.startswith("hp_")})
    median = rows["epoch_seconds"].iloc[1:].median()
    expected = rows["epoch_seconds"].iloc[0] + rows["epoch_seconds"].iloc[1:].clip(upper=median).sum()
    assert benchmark.evaluate(config, EPOCHS, seed=0).seconds == pytest.approx(expected)


def test_an_unrecorded_config_goes_to_the_surrogate(recordings):
    benchmark = replay(recordings)
    _, table = load_recording(recordings / "mnist-mlp")
    config = {"units_1": 41, "units_2": 71, "units_3": 36, "units_4": 16,
              "dropout_1": 0.1, "dropout_2": 0.1, "dropout_3": 0.1, "dropout_4": 0.1, "learning_rate": 0.001}
    assert not ((table.hp_units_1 == 41) & (table.hp_units_2 == 71)).any()
    first = benchmark.evaluate(config, EPOCHS, seed=0)
    again = benchmark.evaluate(config, EPOCHS, seed=99)
    assert first.curve == again.curve  # deterministic in the configuration
    values = np.array([p.val_accuracy for p in first.curve])
    assert table.val_accuracy.min() <= values.min() and values.max() <= table.val_accuracy.max()
    assert first.seconds > 0
    assert np.array(first.test_confusion).shape == (10, 10)


def test_the_surrogate_predicts_what_the_forest_predicts(recordings):
    """CurveSurrogate.predict averages the trees itself (fast); the numbers must be the forest's."""
    surrogate = replay(recordings).recorded.surrogate
    configs = [from_unit(surrogate.space, point) for point in np.random.default_rng(0).random((7, 9))]
    forest = surrogate._model.predict(encode(surrogate.space, configs)).reshape(7, -1)
    expected = (forest * surrogate._scale + surrogate._mean).reshape(7, *surrogate._shape)
    assert np.array_equal(surrogate.predict(configs), expected)
    assert np.array_equal(surrogate.predict(configs[2:3])[0], expected[2])


def test_the_surrogate_quality_gives_its_spread_over_repeated_splits(recordings):
    """recording.json keeps one split's Spearman and R2 (seed 0) and the Spearman's median and
    range over 10 splits; the replay's fidelity names both."""
    meta, table = load_recording(recordings / "mnist-mlp")
    benchmark = replay(recordings)
    quality = meta["surrogate_quality"]
    first = surrogate_quality(benchmark.space, table, repeats=1)
    assert (first["spearman"], first["r2"]) == (quality["spearman"], quality["r2"])
    spread = quality["spearman_repeats"]
    assert spread["splits"] == 10
    assert spread["min"] <= min(quality["spearman"], spread["median"])
    assert max(quality["spearman"], spread["median"]) <= spread["max"]
    assert spread["min"] < spread["max"]  # 12 configurations: the split moves the number
    another = spearmanr(*held_out_predictions(benchmark.space, *curves_of(benchmark.space, table),
                                               split_seed=3)).statistic
    assert spread["min"] <= round(another, 4) <= spread["max"]
    assert f"median {spread['median']:.3f} over 10 splits" in benchmark.fidelity


def test_the_surrogate_takes_another_feature_map_for_fitting_and_predicting(recordings):
    """studies/surrogate_variants.py's hook: the space's own columns given as a feature map
    predict what the default does; a map of the learning rate alone predicts other curves."""
    _, table = load_recording(recordings / "mnist-mlp")
    space = replay(recordings).space
    configs, curves = curves_of(space, table)
    default = CurveSurrogate(space).fit(configs, curves).predict(configs)
    same = CurveSurrogate(space, features=lambda c: encode(space, c)).fit(configs, curves).predict(configs)
    assert np.array_equal(default, same)
    column = space.names.index("learning_rate")
    only_lr = CurveSurrogate(space, features=lambda c: encode(space, c)[:, [column]]).fit(configs, curves)
    assert not np.allclose(only_lr.predict(configs), default)
    recorded, predicted = held_out_predictions(space, configs, curves, min_samples_leaf=1)
    assert len(recorded) == len(predicted) == len(configs)
    assert np.array_equal(recorded, curves[:, -1, TARGETS.index("val_accuracy")])
    default_leaf = held_out_predictions(space, configs, curves)[1]
    assert not np.array_equal(predicted, default_leaf)  # the leaf size reached the trees
    assert np.array_equal(held_out_predictions(space, configs, curves, fit_curves=curves)[1], default_leaf)
    shifted = held_out_predictions(space, configs, curves, fit_curves=curves + 0.5)
    assert np.array_equal(shifted[0], recorded)  # judged against the recorded curves
    assert np.all(shifted[1] >= recorded.min() + 0.5)  # predicted from the curves fitted on


def test_draws_of_stacks_each_configurations_draws_with_the_first_draws_epoch_seconds(recordings):
    _, table = load_recording(recordings / "mnist-mlp")
    space = replay(recordings).space
    configs, curves = curves_of(space, table)
    assert all(np.array_equal(stack, curve[None]) for stack, curve in zip(draws_of(space, table), curves))
    second = table[table["config_id"] < 3].assign(draw=2, val_accuracy=lambda t: t["val_accuracy"] + 0.1,
                                                  epoch_seconds=lambda t: t["epoch_seconds"] * 3)
    draws = draws_of(space, pd.concat([second, table], ignore_index=True))  # any row order
    assert [len(stack) for stack in draws] == [2, 2, 2] + [1] * (len(configs) - 3)
    accuracy, seconds = TARGETS.index("val_accuracy"), TARGETS.index("epoch_seconds")
    assert np.allclose(draws[0][1, :, accuracy], curves[0, :, accuracy] + 0.1)  # the later draw second
    assert np.array_equal(draws[0][1, :, seconds], curves[0, :, seconds])  # its epoch seconds the first draw's


def test_held_out_predictions_fit_each_draw_as_a_row_of_its_own(recordings):
    """fit_draws: one stack of draws per configuration, each draw a row of the fit."""
    _, table = load_recording(recordings / "mnist-mlp")
    space = replay(recordings).space
    configs, curves = curves_of(space, table)
    default = held_out_predictions(space, configs, curves)[1]
    assert np.array_equal(held_out_predictions(space, configs, curves, fit_draws=list(curves[:, None]))[1], default)
    raised = held_out_predictions(space, configs, curves, fit_draws=[np.stack([c + 0.5, c + 0.7]) for c in curves])
    assert np.array_equal(raised[0], curves[:, -1, TARGETS.index("val_accuracy")])  # judged against the recorded
    assert np.all(raised[1] >= raised[0].min() + 0.5)  # predicted from the draws fitted on
    one_more = [np.stack([c, c + 0.5]) if i == 0 else c[None] for i, c in enumerate(curves)]
    assert not np.array_equal(held_out_predictions(space, configs, curves, fit_draws=one_more)[1], default)


def test_the_gaussian_process_model_predicts_what_scikit_learn_predicts_within_the_recorded_range(recordings):
    """model="gp": one process per metric; its fast mean is GaussianProcessRegressor.predict's,
    clipped to the recorded range of each output; other numbers than the trees'."""
    _, table = load_recording(recordings / "mnist-mlp")
    space = replay(recordings).space
    configs, curves = curves_of(space, table)
    surrogate = CurveSurrogate(space, model="gp").fit(configs, curves)
    assert len(surrogate._processes) == len(TARGETS)
    unseen = [from_unit(space, point) for point in np.random.default_rng(1).random((9, 9))]
    predicted = surrogate.predict(unseen)
    assert predicted.shape == (9, EPOCHS, len(TARGETS))
    inputs = (encode(space, unseen) - surrogate._feature_mean) / surrogate._feature_scale
    sklearn = np.stack([p.predict(inputs).reshape(9, EPOCHS) for p in surrogate._processes], axis=2)
    standardised = np.clip(sklearn.reshape(9, -1), surrogate._low, surrogate._high)
    assert np.array_equal(predicted, (standardised * surrogate._scale + surrogate._mean).reshape(predicted.shape))
    low, high = curves.min(axis=0), curves.max(axis=0)
    assert np.all((low - 1e-12 <= predicted) & (predicted <= high + 1e-12))
    assert np.array_equal(CurveSurrogate(space, model="gp").fit(configs, curves).predict(unseen), predicted)
    assert not np.allclose(CurveSurrogate(space).fit(configs, curves).predict(unseen), predicted)
    assert not np.array_equal(held_out_predictions(space, configs, curves, model="gp")[1],
                              held_out_predictions(space, configs, curves)[1])
    with pytest.raises(ValueError, match="surrogate model 'forest'"):
        CurveSurrogate(space, model="forest")


def test_a_finished_recording_is_measured_again_with_its_benchmarks_model_and_replays_with_it(recordings, tmp_path,
                                                                                             monkeypatch):
    """record() on a complete recording trains nothing; with another surrogate model it
    measures the quality again with that model and names it, and replay then predicts the
    configurations it did not record with that model."""
    import functools
    import shutil

    # One split, not ten: on 12 configurations a Gaussian-process fit takes a second or more.
    monkeypatch.setattr("tunebench.record.surrogate_quality", functools.partial(surrogate_quality, repeats=1))

    directory = tmp_path / "mnist-mlp"
    shutil.copytree(recordings / "mnist-mlp", directory)
    before = json.loads((directory / "recording.json").read_text())
    assert before["surrogate_quality"]["model"] == "trees"  # mnist-mlp's spec
    space = replay(recordings).space

    class Untrainable:
        def evaluate(self, *args, **kwargs):
            raise AssertionError("a finished recording trained a configuration")

    def record_again(model):
        return record(Untrainable(), space, directory, before["header"], DesignSpec(**before["design"]),
                      training_seed=lambda config: 0, surrogate=model)

    assert record_again("gp") == []
    after = json.loads((directory / "recording.json").read_text())
    _, table = load_recording(directory)
    assert after["surrogate_quality"] == surrogate_quality(space, table, model="gp", repeats=1)
    assert after["surrogate_quality"]["model"] == "gp"
    assert after["surrogate_quality"]["spearman"] != before["surrogate_quality"]["spearman"]
    assert {k: v for k, v in after.items() if k != "surrogate_quality"} == \
        {k: v for k, v in before.items() if k != "surrogate_quality"}
    text = (directory / "recording.json").read_text()
    assert record_again("gp") == [] and (directory / "recording.json").read_text() == text  # up to date: untouched

    benchmark = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(), directory)
    assert benchmark.recorded.surrogate_model == "gp"
    assert "Gaussian-process surrogate" in benchmark.fidelity
    unseen = from_unit(space, np.random.default_rng(2).random(9))
    expected = CurveSurrogate(space, model="gp").fit(*curves_of(space, table)).predict([unseen])[0]
    assert [p.val_accuracy for p in benchmark.evaluate(unseen, EPOCHS, seed=0).curve] == \
        expected[:, TARGETS.index("val_accuracy")].tolist()

    after["surrogate_quality"]["model"] = "forest"
    (directory / "recording.json").write_text(json.dumps(after))
    with pytest.raises(InputError, match=r"recording\.json: surrogate_quality\.model 'forest'"):
        ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(), directory)


def test_replay_refuses_more_epochs_or_other_options_than_recorded(recordings):
    with pytest.raises(InputError, match="has 3 epochs"):
        replay(recordings, max_epochs=4)
    with pytest.raises(InputError, match="was made with"):
        replay(recordings, id="12345678")


SUITE = """
name = "tiny-replay"
seeds = [0, 1]
strategies = ["grid", "random", "bayesian", "hyperband", "tpe", "tpe-hyperopt"]
[benchmarks."mnist-mlp@replay"]
allow_weak_surrogate = true  # a 12-configuration recording
max_epochs = 3
trials = 4
"""


@pytest.fixture(scope="module")
def replay_runs(recordings, tmp_path_factory):
    """The suite run twice from replay, with an empty data directory."""
    root = tmp_path_factory.mktemp("replay-suite")
    (root / "suite.toml").write_text(SUITE)
    (root / "no-data").mkdir()
    outs = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(RECORDINGS_ENV, str(recordings))
        for name in ("a", "b"):
            out = root / name
            assert main(["run", str(root / "suite.toml"), "--data-dir", str(root / "no-data"), "--out", str(out)]) == 0
            outs.append(out)
    return outs


def test_a_replay_suite_runs_without_data_and_repeats_exactly(replay_runs):
    first, second = replay_runs
    runs = pd.read_csv(first / "runs.csv")
    assert len(runs) == 2 * len(STRATEGIES)
    assert runs.fidelity.str.startswith("replay of a recording at reduced").all()
    assert (runs.epochs_used <= runs.budget_epochs).all()
    for name in ("trials.csv", "curves.csv", "runs.csv"):
        pd.testing.assert_frame_equal(without_timing(pd.read_csv(first / name)),
                                      without_timing(pd.read_csv(second / name)))
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["data"]["mnist-mlp@replay"]["recording"] == "mnist-mlp"


def test_replay_time_is_the_recorded_epoch_time(replay_runs):
    trials = pd.read_csv(replay_runs[0] / "trials.csv")
    curves = pd.read_csv(replay_runs[0] / "curves.csv")
    per_trial = curves.groupby(["strategy", "seed", "trial"])["epoch_seconds"].sum()
    train = trials.set_index(["strategy", "seed", "trial"])["train_seconds"]
    assert np.allclose(train.loc[per_trial.index], per_trial)
    last = trials.groupby(["strategy", "seed"]).tail(1).set_index(["strategy", "seed"])
    spent = trials.groupby(["strategy", "seed"])[["train_seconds", "overhead_seconds"]].sum().sum(axis=1)
    assert np.allclose(last["elapsed_seconds"], spent.loc[last.index])


def test_hyperband_promotions_are_charged_as_continuations(replay_runs):
    trials = pd.read_csv(replay_runs[0] / "trials.csv")
    promoted = trials[(trials.strategy == "hyperband") & trials.parent_trial_id.notna()]
    assert len(promoted) > 0
    assert (promoted.epochs_trained == promoted.epochs - promoted.initial_epoch).all()
    assert (promoted.initial_epoch > 0).all()


def test_a_missing_recording_exits_2_before_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path / "none"))
    (tmp_path / "suite.toml").write_text(SUITE)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "suite.toml"), "--out", str(out)]) == 2
    assert "make it with 'tunebench record'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("spearman", [0.5, None])
def test_a_recording_below_the_spearman_floor_is_refused_unless_allowed(recordings, tmp_path, spearman):
    import shutil

    directory = tmp_path / "mnist-mlp"
    shutil.copytree(recordings / "mnist-mlp", directory)
    meta = json.loads((directory / "recording.json").read_text())
    meta["surrogate_quality"]["spearman"] = spearman
    (directory / "recording.json").write_text(json.dumps(meta))
    spec = get_benchmark_spec("mnist-mlp@replay")
    with pytest.raises(InputError, match=r"weak extra-trees surrogate \(held-out Spearman (0\.500|unknown).*allow_weak_surrogate"):
        ReplayBenchmark(spec, plan(allow_weak_surrogate=False), directory)
    allowed = ReplayBenchmark(spec, plan(allow_weak_surrogate=True), directory)
    assert "WEAK SURROGATE" in allowed.fidelity


def test_a_recording_above_the_floor_replays_without_a_flag(recordings, tmp_path):
    import shutil

    directory = tmp_path / "mnist-mlp"
    shutil.copytree(recordings / "mnist-mlp", directory)
    meta = json.loads((directory / "recording.json").read_text())
    meta["surrogate_quality"]["spearman"] = 0.9
    (directory / "recording.json").write_text(json.dumps(meta))
    benchmark = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(allow_weak_surrogate=False), directory)
    assert "WEAK" not in benchmark.fidelity and "extra-trees surrogate held-out Spearman 0.900" in benchmark.fidelity


def test_a_weak_recording_exits_2_from_the_command_line(recordings, tmp_path, capsys, monkeypatch):
    import shutil

    shutil.copytree(recordings / "mnist-mlp", tmp_path / "recordings" / "mnist-mlp")
    path = tmp_path / "recordings" / "mnist-mlp" / "recording.json"
    meta = json.loads(path.read_text())
    meta["surrogate_quality"]["spearman"] = 0.3
    path.write_text(json.dumps(meta))
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path / "recordings"))
    (tmp_path / "suite.toml").write_text(SUITE.replace("allow_weak_surrogate = true", ""))
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "suite.toml"), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "Spearman 0.300" in error and str(tmp_path / "recordings" / "mnist-mlp") in error
    assert not out.exists()


LIVE_AND_REPLAY = """
name = "live-and-replay"
seeds = [0]
strategies = ["random", "tpe"]
[benchmarks.fer-cnn]
max_epochs = 1
trials = 2
subset = { train = 70, val = 35, test = 35 }
skip_if_no_data = true
[benchmarks."mnist-mlp@replay"]
allow_weak_surrogate = true
max_epochs = 3
trials = 2
"""


def test_a_live_benchmark_without_its_data_is_left_out_with_the_reason(recordings, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(RECORDINGS_ENV, str(recordings))
    (tmp_path / "suite.toml").write_text(LIVE_AND_REPLAY)
    (tmp_path / "no-data").mkdir()
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "suite.toml"), "--data-dir", str(tmp_path / "no-data"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "left out fer-cnn" in err and "FER2013 not found in" in err and "fer2013.npz" in err
    assert set(pd.read_csv(out / "runs.csv")["benchmark"]) == {"mnist-mlp@replay"}
    left_out = json.loads((out / "manifest.json").read_text())["suite"]["left_out"]
    assert [name for name, _ in left_out] == ["fer-cnn"] and "FER2013 not found" in left_out[0][1]
    assert main(["report", str(out)]) == 0
    assert "**fer-cnn** was left out: its data is missing. FER2013 not found" in (out / "report.md").read_text()


def test_a_bad_data_file_still_fails_a_benchmark_that_may_be_left_out(recordings, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(RECORDINGS_ENV, str(recordings))
    (tmp_path / "suite.toml").write_text(LIVE_AND_REPLAY)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fer2013.npz").write_bytes(b"not a zip file")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "suite.toml"), "--data-dir", str(tmp_path / "data"), "--out", str(out)]) == 2
    assert "fer2013.npz" in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture
def two_draws(recordings, tmp_path):
    """A copy of the recording whose chunk 0 (configurations 0-5) has a second draw: the first
    draw's curves with 0.1 added to the validation accuracy; its quality measured again."""
    import shutil

    from test_recording import add_second_draw

    directory = tmp_path / "mnist-mlp"
    shutil.copytree(recordings / "mnist-mlp", directory)
    space = replay(recordings).space
    add_second_draw(directory, space, 0, 0.1)
    with pytest.raises(InputError, match=r"answers the mean over draws \(draw 1: 12, draw 2: 6 configurations\), but "
                                         r"its surrogate quality was measured on one draw: run its 'tunebench record'"):
        ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(), directory)
    assert refresh_quality(directory, space, "trees")
    return directory


def recorded_config(space, table, config_id):
    rows = table[(table["config_id"] == config_id) & (table["draw"] == 1)]
    return space.active_config(rows.iloc[0].filter(like="hp_").rename(lambda c: c[3:]).dropna().to_dict())


def test_under_seed_noise_a_recorded_configuration_answers_one_of_its_draws_chosen_by_the_training_seed(two_draws):
    benchmark = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(), two_draws)
    assert benchmark.replay_noise == "seed" and "replay_noise seed: a trial answers one recorded draw" in \
        benchmark.fidelity
    _, table = load_recording(two_draws)
    first = table[table["draw"] == 1].sort_values(["config_id", "epoch"])
    config = recorded_config(benchmark.space, table, 0)
    recorded = first[first["config_id"] == 0]
    answers = {seed: [p.val_accuracy for p in benchmark.evaluate(config, EPOCHS, seed=seed).curve] for seed in range(8)}
    for seed, curve in answers.items():  # the draw of seed % 2, never the mean
        assert curve == pytest.approx(recorded["val_accuracy"].to_numpy() + 0.1 * (seed % 2))
        assert benchmark.evaluate(config, EPOCHS, seed=seed).seconds == pytest.approx(recorded["epoch_seconds"].sum())
    assert [p.val_accuracy for p in benchmark.evaluate(config, EPOCHS, seed=5).curve] == answers[5]  # reproducible
    # A continuation stays on its parent's draw, whatever its own seed.
    parent = benchmark.evaluate(config, 1, seed=1, keep_state=True)
    assert parent.state["draw"] == 1
    continued = benchmark.evaluate(config, EPOCHS, seed=2, initial_epoch=1, warm_start=parent.state)
    assert [p.val_accuracy for p in continued.curve] == pytest.approx(recorded["val_accuracy"].to_numpy()[1:] + 0.1)
    # A configuration of one draw answers it under every seed.
    single = recorded_config(benchmark.space, table, 8)
    assert {tuple(p.val_accuracy for p in benchmark.evaluate(single, EPOCHS, seed=s).curve) for s in range(4)} == \
        {tuple(first[first["config_id"] == 8]["val_accuracy"])}


def test_under_seed_noise_an_unrecorded_configuration_gets_its_nearest_recorded_ones_seed_deviation(two_draws):
    """The deviation of draw d from its configuration's mean (+-0.05 here), scaled by sqrt(2)
    to one seed's spread, is added to the surrogate's prediction; nothing else moves."""
    seeded = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(), two_draws)
    mean = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(replay_noise="mean"), two_draws)
    _, table = load_recording(two_draws)
    near = dict(recorded_config(seeded.space, table, 0))
    near["learning_rate"] *= 1.01  # not recorded; its nearest recorded configuration is 0
    assert seeded.recorded.curves.get(json.dumps(near, sort_keys=True)) is None
    predicted = mean.evaluate(near, EPOCHS, seed=0).curve
    for seed, sign in ((0, -1), (1, 1)):
        noisy = seeded.evaluate(near, EPOCHS, seed=seed).curve
        assert [p.val_accuracy for p in noisy] == pytest.approx(
            [min(1.0, max(0.0, p.val_accuracy + sign * 0.05 * 2 ** 0.5)) for p in predicted])
        assert [p.test_accuracy for p in noisy] == pytest.approx([p.test_accuracy for p in predicted])


def test_a_borrowed_deviation_is_held_within_three_typical_seed_spreads(recordings, tmp_path):
    """Configuration 0's draws lie 0.4 apart (its training unstable), configurations 1-5's
    0.01: the typical spread is sigma = (0.01 / sqrt 2) / 0.6745, and a configuration next to
    0 borrows at most 3 sigma, while one next to 1 borrows its whole deviation."""
    import shutil

    from test_recording import add_second_draw

    directory = tmp_path / "mnist-mlp"
    shutil.copytree(recordings / "mnist-mlp", directory)
    space = replay(recordings).space
    add_second_draw(directory, space, 0, {0: 0.4, 1: 0.01, 2: 0.01, 3: 0.01, 4: 0.01, 5: 0.01})
    assert refresh_quality(directory, space, "trees")
    seeded = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(), directory)
    mean = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(replay_noise="mean"), directory)
    sigma = 0.01 / 2 ** 0.5 / 0.6745
    assert seeded.recorded.seed_spread["val_accuracy"].to_numpy() == pytest.approx(sigma)
    _, table = load_recording(directory)
    for donor, borrowed in ((0, 3 * sigma), (1, 0.005 * 2 ** 0.5)):
        near = dict(recorded_config(seeded.space, table, donor))
        near["learning_rate"] *= 1.01  # not recorded; its nearest recorded configuration is the donor
        assert seeded.recorded.nearest(near) == json.dumps(recorded_config(seeded.space, table, donor), sort_keys=True)
        predicted = [p.val_accuracy for p in mean.evaluate(near, EPOCHS, seed=0).curve]
        for seed, sign in ((0, -1), (1, 1)):
            noisy = [p.val_accuracy for p in seeded.evaluate(near, EPOCHS, seed=seed).curve]
            assert noisy == pytest.approx([min(1.0, max(0.0, p + sign * borrowed)) for p in predicted])


def test_a_recording_with_two_draws_replays_each_configurations_mean_under_mean_noise(recordings, two_draws):
    """Under replay_noise = "mean" a recorded configuration with a second draw answers the mean
    of its two curves; the surrogate fits every draw, a row each; the fidelity and the
    manifest's source say so."""
    directory = two_draws
    space = replay(recordings).space
    _, table = load_recording(directory)
    first = table[table["draw"] == 1]
    benchmark = ReplayBenchmark(get_benchmark_spec("mnist-mlp@replay"), plan(replay_noise="mean"), directory)
    config = recorded_config(space, table, 0)
    recorded = first[first["config_id"] == 0]["val_accuracy"].to_numpy()
    assert [p.val_accuracy for p in benchmark.evaluate(config, EPOCHS, seed=1).curve] == pytest.approx(recorded + 0.05)
    assert "recorded configurations answer the mean over draws (draw 1: 12, draw 2: 6 configurations)" in \
        benchmark.fidelity
    assert benchmark.source["configs_per_draw"] == {"1": 12, "2": 6}
    unseen = from_unit(space, np.random.default_rng(3).random(9))
    configs, means = curves_of(space, table)
    expected = CurveSurrogate(space).fit_draws(configs, draws_of(space, table)).predict([unseen])[0]
    assert [p.val_accuracy for p in benchmark.evaluate(unseen, EPOCHS, seed=0).curve] == \
        expected[:, TARGETS.index("val_accuracy")].tolist()
    assert not np.allclose(expected, CurveSurrogate(space).fit(configs, means).predict([unseen])[0])  # not the means
    assert not np.allclose(expected, CurveSurrogate(space).fit(*curves_of(space, first)).predict([unseen])[0])
