"""One run answers every smaller budget: the trials of a run with budget b are the first
trials of a run with a larger budget (Hyperband's brackets included), so a run's best-so-far
at budget b is what a run with budget b finds. Checked on the analytic bowl
(tests/analytic_benchmark.py), where runs cost milliseconds.

Not yet for the model-based strategies: their random start is a third of the trial budget
(:attr:`tunebench.strategies.StrategyContext.initial_random_trials`), so a longer run models
later. A fixed start of 3 made it hold, but made Optuna TPE worse at the gate's 30 trials on
mnist-mlp@replay (best validation accuracy 0.0088 lower on average over the gate's 10 seeds,
no better than TPE told noisy accuracies); which fixed start to take is open. They are
expected to fail here (strict: the test says so once they pass)."""

from __future__ import annotations

import pandas as pd
import pytest

import analytic_benchmark
from tunebench.benchmarks import BENCHMARKS
from tunebench.progress import Progress
from tunebench.runner import run_suite
from tunebench.schema import without_timing
from tunebench.strategies import STRATEGIES
from tunebench.suite import parse_suite

BUDGETS = (5, 13)  # trials' worth of epochs: a short run, and one past Hyperband's first bracket


@pytest.fixture(scope="module")
def trials_by_budget(tmp_path_factory):
    analytic_benchmark.register()
    try:
        found = {}
        for trials in BUDGETS:
            suite = parse_suite({"name": f"prefix-{trials}", "seeds": [0, 1], "strategies": list(STRATEGIES),
                                 "benchmarks": {analytic_benchmark.NAME: {"max_epochs": 3, "trials": trials}}},
                                source="(test)")
            out = tmp_path_factory.mktemp("prefix") / "out"
            run_suite(suite, out, tmp_path_factory.mktemp("no-data"), progress=Progress(1, 1, enabled=False))
            found[trials] = without_timing(pd.read_csv(out / "trials.csv", dtype={"trial_id": str}))
        return found
    finally:
        BENCHMARKS.pop(analytic_benchmark.NAME, None)


MODEL_BASED = {"bayesian", "tpe", "tpe-hyperopt"}


@pytest.mark.parametrize("strategy", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, raises=AssertionError,
                                           reason="the random start grows with the budget"))
    if name in MODEL_BASED else name for name in STRATEGIES])
def test_a_shorter_run_is_the_prefix_of_a_longer_one(trials_by_budget, strategy):
    short, long = (trials_by_budget[b][lambda t: t["strategy"] == strategy] for b in BUDGETS)
    for seed in (0, 1):
        a = short[short["seed"] == seed].reset_index(drop=True)
        b = long[long["seed"] == seed].reset_index(drop=True)
        assert 0 < len(a) < len(b)
        pd.testing.assert_frame_equal(a, b.iloc[:len(a)].reset_index(drop=True))
