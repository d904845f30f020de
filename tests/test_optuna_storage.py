"""Optuna TPE with its study in an Optuna storage (StrategyContext.storage)."""

import math

import optuna
import pytest

from tunebench.errors import InputError
from tunebench.models import fer_cnn
from tunebench.strategies import Observation, StrategyContext, make_strategy


def objective(config):
    return 1.0 - abs(math.log10(config["learning_rate"]) + 3) / 3 - 0.001 * abs(config.get("dense_units", 0) - 320) / 64


def drive(trials=10, failed_at=4, **storage):
    """Ask and tell ``trials`` times (one failure); the suggestions, values and settings."""
    context = StrategyContext(space=fer_cnn.search_space(), seed=7, max_epochs=3, trial_budget=trials, **storage)
    strategy = make_strategy("tpe", context)
    told = []
    try:
        for i in range(trials):
            suggestion = strategy.ask()
            value = math.nan if i == failed_at else objective(suggestion.config)
            strategy.tell(suggestion, Observation(value, failed=i == failed_at))
            told.append((suggestion.trial_id, suggestion.config, value))
        return told, strategy.settings()
    finally:
        strategy.close()


def test_storage_gives_the_same_suggestions_and_keeps_the_told_trials(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    in_memory, memory_settings = drive()
    stored, settings = drive(storage=url, study_name="tiny/fer-cnn/tpe/seed-0")
    assert [(i, c) for i, c, _ in stored] == [(i, c) for i, c, _ in in_memory]
    assert settings == memory_settings | {"storage": url, "study_name": "tiny/fer-cnn/tpe/seed-0"}

    study = optuna.load_study(study_name="tiny/fer-cnn/tpe/seed-0", storage=url)
    assert [t.number for t in study.trials] == list(range(10))
    assert [t.state.name for t in study.trials].count("FAIL") == 1
    for trial, (trial_id, config, value) in zip(study.trials, stored):
        assert str(trial.number) == trial_id
        assert trial.params == config
        if trial.state.name == "COMPLETE":
            assert trial.value == pytest.approx(value)
    assert study.best_value == pytest.approx(max(v for _, _, v in stored if not math.isnan(v)))


def test_a_rerun_replaces_the_study_of_the_same_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    first, _ = drive(storage=url, study_name="run")
    second, _ = drive(storage=url, study_name="run")
    drive(trials=3, storage=url, study_name="other")
    assert [c for _, c, _ in first] == [c for _, c, _ in second]
    assert sorted(optuna.get_all_study_names(url)) == ["other", "run"]
    assert len(optuna.load_study(study_name="run", storage=url).trials) == 10


def test_without_a_study_name_the_study_is_named_after_the_seed(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    _, settings = drive(trials=3, storage=url)
    assert settings["study_name"] == "tunebench-tpe-7"
    assert optuna.get_all_study_names(url) == ["tunebench-tpe-7"]


@pytest.mark.parametrize("url", ["not a database url", "nosuchdialect://host/db", "sqlite:///{tmp}/missing/optuna.db"])
def test_a_bad_storage_url_is_an_input_error_naming_it(tmp_path, url):
    url = url.format(tmp=tmp_path)
    with pytest.raises(InputError, match=f"Optuna storage '{url}'"):
        drive(trials=1, storage=url)


@pytest.mark.parametrize("password", ["s3cret", "s3/cr:et?x@y"])
def test_the_password_never_reaches_the_error(password):
    with pytest.raises(InputError) as error:
        drive(trials=1, storage=f"nosuchdialect://tb:{password}@host/db")
    assert password not in str(error.value)
    assert "nosuchdialect://tb:***@host/db" in str(error.value)
