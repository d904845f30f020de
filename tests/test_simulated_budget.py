"""A budget in simulated seconds (``budget_seconds``) and the strategy's decision time charged
to the simulated clock (``charge_decision_time``): the rows they give, determinism, resume,
and the suite's checks.

The runs replay the committed mnist-mlp recording (no data, no training)."""

from __future__ import annotations

import pandas as pd
import pytest

from tunebench.cli import main
from tunebench.errors import SuiteError
from tunebench.suite import parse_suite
from tunebench.suite_overrides import apply_overrides

SUITE = """
name = "simulated"
seeds = [0, 1]
strategies = ["random", "hyperband"]
[benchmarks."mnist-mlp@replay"]
max_epochs = 10
trials = 6
"""
FILES = ("trials.csv", "curves.csv", "runs.csv")
#: The strategy's own seconds (real time): the only column that may differ between repeats.
REAL_TIME = ["overhead_seconds"]
KEY = ["strategy", "seed"]


@pytest.fixture
def recordings(monkeypatch):
    from conftest import REPO_ROOT
    from tunebench.benchmarks.replay import RECORDINGS_ENV

    monkeypatch.setenv(RECORDINGS_ENV, str(REPO_ROOT / "results" / "recordings"))


def run(tmp_path, out, *extra, code: int = 0) -> dict[str, pd.DataFrame]:
    suite = tmp_path / "simulated.toml"
    suite.write_text(SUITE)
    assert main(["run", str(suite), "--out", str(tmp_path / out), *extra]) == code
    return {name: pd.read_csv(tmp_path / out / name) for name in FILES} if code == 0 else {}


def without(frame: pd.DataFrame, columns) -> pd.DataFrame:
    return frame.drop(columns=[c for c in columns if c in frame.columns]).reset_index(drop=True)


def test_a_seconds_budget_keeps_the_trials_that_end_by_it_and_stops_at_the_first_that_would_not(
        recordings, tmp_path):
    full = run(tmp_path, "full", "--simulated-workers", "1")
    budget = 0.5 * float(full["runs.csv"]["wall_seconds"].min())  # every run is cut
    cut = run(tmp_path, "cut", "--budget-seconds", str(budget))  # one simulated worker when none is given
    runs = cut["runs.csv"]
    assert (runs["status"] == "next_trial_exceeds_budget").all()
    assert (runs["wall_seconds"] <= budget).all()
    assert (cut["trials.csv"]["elapsed_seconds"] <= budget).all() and (cut["trials.csv"]["worker"] == 1).all()
    for (strategy, seed), trials in cut["trials.csv"].groupby(KEY):
        longer = full["trials.csv"].query("strategy == @strategy and seed == @seed")
        # On one worker a run is asked and told in order: the cut run is the longer run's first
        # trials, up to the first that ends after the budget.
        first_too_late = int((longer["elapsed_seconds"] > budget).to_numpy().argmax())
        assert first_too_late == len(trials) > 0
        pd.testing.assert_frame_equal(without(trials, REAL_TIME), without(longer.iloc[:first_too_late], REAL_TIME))
    again = run(tmp_path, "again", "--budget-seconds", str(budget))
    for name in FILES:  # it repeats exactly
        pd.testing.assert_frame_equal(without(cut[name], REAL_TIME), without(again[name], REAL_TIME))


def test_a_seconds_budget_on_several_workers_resumes_to_the_uninterrupted_rows(recordings, tmp_path, monkeypatch):
    from tunebench.runner.trial_loop import TrialLoop

    free = run(tmp_path, "free", "--simulated-workers", "3")
    budget = 0.6 * float(free["runs.csv"]["wall_seconds"].min())
    reference = run(tmp_path, "reference", "--simulated-workers", "3", "--budget-seconds", str(budget))
    assert (reference["trials.csv"]["elapsed_seconds"] <= budget).all()
    assert (reference["runs.csv"]["trials"] < free["runs.csv"]["trials"]).all()
    settle = TrialLoop._settle_next
    settled = []

    def stop_at_the_fourth_of_hyperband(loop):
        if loop.task.strategy == "hyperband" and len(settled) == 3:
            raise KeyboardInterrupt
        if loop.task.strategy == "hyperband":
            settled.append(1)
        return settle(loop)

    monkeypatch.setattr(TrialLoop, "_settle_next", stop_at_the_fourth_of_hyperband)
    args = ("--simulated-workers", "3", "--budget-seconds", str(budget))
    run(tmp_path, "resumed", *args, code=130)
    monkeypatch.setattr(TrialLoop, "_settle_next", settle)
    resumed = run(tmp_path, "resumed", *args)
    for name in FILES:
        pd.testing.assert_frame_equal(without(reference[name], REAL_TIME), without(resumed[name], REAL_TIME))


def test_charged_decision_time_moves_the_clock_by_each_trials_ask_and_tell_seconds(recordings, tmp_path, monkeypatch):
    """On one worker the charged clock is the plain loop's: each trial ends at the sum of the
    seconds trained and decided so far; after a resume too (the journal's decision seconds
    rebuild it)."""
    from tunebench.runner.trial_loop import TrialLoop

    uncharged = run(tmp_path, "uncharged", "--simulated-workers", "1")
    settle = TrialLoop._settle_next
    settled = []

    def stop_at_the_third(loop):
        if len(settled) == 2:
            raise KeyboardInterrupt
        settled.append(1)
        return settle(loop)

    monkeypatch.setattr(TrialLoop, "_settle_next", stop_at_the_third)
    run(tmp_path, "charged", "--charge-decision-time", code=130)
    monkeypatch.setattr(TrialLoop, "_settle_next", settle)
    charged = run(tmp_path, "charged", "--charge-decision-time")
    clock = ["start_seconds", "elapsed_seconds", "seconds_to_best", "wall_seconds"]
    for name in FILES:  # what was asked and answered is the same; only the clock moved
        pd.testing.assert_frame_equal(without(uncharged[name], REAL_TIME + clock),
                                      without(charged[name], REAL_TIME + clock))
    for _, trials in charged["trials.csv"].groupby(KEY):
        spent = (trials["train_seconds"] + trials["overhead_seconds"]).cumsum()
        assert trials["elapsed_seconds"].tolist() == pytest.approx(spent.tolist(), rel=1e-9)
        assert trials["start_seconds"].iloc[1:].tolist() == pytest.approx(trials["elapsed_seconds"].iloc[:-1].tolist())
    assert (charged["trials.csv"]["overhead_seconds"] > 0).all()
    assert (charged["runs.csv"]["wall_seconds"] > uncharged["runs.csv"]["wall_seconds"]).all()


def parse(table, name="mnist-mlp@replay"):
    return parse_suite({"name": "t", "seeds": [0], "strategies": ["random"], "benchmarks": {name: table}},
                       source="test").benchmarks[0]


def test_the_simulated_clocks_keys_are_checked_and_left_out_of_the_plan_when_unset():
    plan = parse({"budget_seconds": 600, "charge_decision_time": True})
    assert (plan.budget_seconds, plan.charge_decision_time, plan.simulated_workers) == (600, True, 1)
    assert parse({"budget_seconds": 600, "simulated_workers": 4}).simulated_workers == 4
    suite = parse_suite({"name": "t", "seeds": [0], "strategies": ["random"], "benchmarks": {"mnist-mlp@replay": {}}},
                        source="test")
    data = suite.to_dict()["benchmarks"][0]  # unset: the plan's dict (and a partial run's fingerprint) as before
    assert "budget_seconds" not in data and "charge_decision_time" not in data
    with pytest.raises(SuiteError, match=r"'budget_seconds' is for replay benchmarks"):
        parse({"budget_seconds": 600}, "mnist-mlp")
    with pytest.raises(SuiteError, match=r"'charge_decision_time' is for replay benchmarks"):
        parse({"charge_decision_time": True}, "mnist-mlp")
    with pytest.raises(SuiteError, match=r"'budget_seconds' must be a positive, finite number of seconds, got 0"):
        parse({"budget_seconds": 0})
    with pytest.raises(SuiteError, match=r"'charge_decision_time' must be true or false, got 'yes'"):
        parse({"charge_decision_time": "yes"})
    live = parse_suite({"name": "t", "seeds": [0], "strategies": ["random"], "benchmarks": {"mnist-mlp": {}}},
                       source="test")
    with pytest.raises(SuiteError, match=r"option --budget-seconds: none of the selected benchmarks is a replay"):
        apply_overrides(live, budget_seconds=60)
    with pytest.raises(SuiteError, match=r"option --charge-decision-time: none of the selected benchmarks"):
        apply_overrides(live, charge_decision_time=True)
    overridden = apply_overrides(suite, budget_seconds=90.5).benchmarks[0]
    assert (overridden.budget_seconds, overridden.simulated_workers, overridden.charge_decision_time) == (90.5, 1, False)
