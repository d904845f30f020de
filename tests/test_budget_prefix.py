"""One run answers every smaller budget: with a fixed ``random_start``, the trials of a run
with budget b are the first trials of a run with a larger budget, for every strategy
(Hyperband's brackets included), so a run's best-so-far at
budget b is what a run with budget b finds. Checked on the analytic bowl
(tests/analytic_benchmark.py), where runs cost milliseconds.

Without ``random_start`` the model-based strategies' random start is a third of the trial
budget (:attr:`tunebench.strategies.StrategyContext.initial_random_trials`), so a longer run
models later and its prefix is not the shorter run: the last test pins that, so that the
docs' warning stays true."""

from __future__ import annotations

import pandas as pd
import pytest

import analytic_benchmark
from tunebench.benchmarks import BENCHMARKS
from tunebench.progress import Progress
from tunebench.report.budgets import best_at_budget, budget_recommendations
from tunebench.results_dir import ResultsData, load_results
from tunebench.runner import run_suite
from tunebench.schema import RUN_KEY, without_timing
from tunebench.strategies import STRATEGIES
from tunebench.suite import parse_suite

BUDGETS = (5, 13)  # trials' worth of epochs: a short run, and one past Hyperband's first bracket


RANDOM_START = 3


def _results(tmp_path_factory, trials: int, **settings) -> ResultsData:
    suite = parse_suite({"name": f"prefix-{trials}", "seeds": [0, 1], "strategies": list(STRATEGIES),
                         "benchmarks": {analytic_benchmark.NAME: {"max_epochs": 3, "trials": trials, **settings}}},
                        source="(test)")
    out = tmp_path_factory.mktemp("prefix") / "out"
    run_suite(suite, out, tmp_path_factory.mktemp("no-data"), progress=Progress(1, 1, enabled=False))
    return load_results(out)


def _trials(data: ResultsData) -> pd.DataFrame:
    return without_timing(pd.read_csv(data.directory / "trials.csv", dtype={"trial_id": str}))


@pytest.fixture(scope="module")
def results_by_budget(tmp_path_factory):
    """The results of each budget: with a fixed random start (key ``fixed``) and without (``grows``)."""
    analytic_benchmark.register()
    try:
        return {(kind, trials): _results(tmp_path_factory, trials, **settings)
                for kind, settings in (("fixed", {"random_start": RANDOM_START}), ("grows", {}))
                for trials in BUDGETS}
    finally:
        BENCHMARKS.pop(analytic_benchmark.NAME, None)


@pytest.fixture(scope="module")
def trials_by_budget(results_by_budget):
    return {key: _trials(data) for key, data in results_by_budget.items()}


MODEL_BASED = {"bayesian", "tpe", "tpe-hyperopt"}


def _seed_rows(trials: pd.DataFrame, strategy: str, seed: int) -> pd.DataFrame:
    return trials[(trials["strategy"] == strategy) & (trials["seed"] == seed)].reset_index(drop=True)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_shorter_run_is_the_prefix_of_a_longer_one(trials_by_budget, strategy):
    short, long = (trials_by_budget["fixed", b] for b in BUDGETS)
    for seed in (0, 1):
        a, b = _seed_rows(short, strategy, seed), _seed_rows(long, strategy, seed)
        assert 0 < len(a) < len(b)
        pd.testing.assert_frame_equal(a, b.iloc[:len(a)].reset_index(drop=True))


@pytest.mark.parametrize("strategy", sorted(MODEL_BASED))
def test_a_random_start_that_grows_with_the_budget_breaks_the_prefix(trials_by_budget, strategy):
    short, long = (trials_by_budget["grows", b] for b in BUDGETS)
    a, b = _seed_rows(short, strategy, 0), _seed_rows(long, strategy, 0)
    assert not a.equals(b.iloc[:len(a)].reset_index(drop=True))


def test_the_best_at_a_smaller_budget_is_the_shorter_runs_best(results_by_budget):
    short, long = (results_by_budget["fixed", b] for b in BUDGETS)
    found = best_at_budget(long.trials, BUDGETS[0] * 3).set_index(RUN_KEY)["best_val_accuracy"]
    expected = short.runs.set_index(RUN_KEY)["best_val_accuracy"]
    pd.testing.assert_series_equal(found.sort_index(), expected.sort_index())
    assert not found.equals(long.runs.set_index(RUN_KEY)["best_val_accuracy"].sort_index())


def test_the_recommendation_rows_cover_every_budget_and_say_whether_the_start_was_fixed(results_by_budget):
    fixed, grows = (budget_recommendations([results_by_budget[kind, BUDGETS[1]]]) for kind in ("fixed", "grows"))
    assert list(fixed["budget_trials"]) == [10, BUDGETS[1]] and set(fixed["workers"]) == {1}
    assert fixed["fixed_start"].all() and not grows["fixed_start"].any()
    assert (fixed["seeds"] == 2).all()
