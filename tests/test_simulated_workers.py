"""Workers on a simulated clock (``simulated_workers``, tunebench.runner.simulated_clock): the
clock's order, one worker giving the plain loop's rows, W workers overlapping as W machines
would, Hyperband waiting at a rung instead of stopping, determinism and resume.

The runs replay the committed mnist-mlp recording (no data, no training)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tunebench.cli import main
from tunebench.errors import SuiteError
from tunebench.resume import STAGING
from tunebench.runner.simulated_clock import SimulatedClock
from tunebench.schema import TIMING_COLUMNS
from tunebench.suite import parse_suite

SUITE = """
name = "simulated"
seeds = [0, 1]
strategies = ["random", "hyperband"]
[benchmarks."mnist-mlp@replay"]
max_epochs = 10
trials = 6
"""
FILES = ("trials.csv", "curves.csv", "runs.csv")
#: The strategy's own seconds (real time, not simulated): the only columns that may differ between repeats.
REAL_TIME = ["overhead_seconds"]


def test_the_clock_gives_the_lowest_free_worker_and_finishes_trials_by_their_end():
    clock = SimulatedClock(2)
    assert clock.start(1, 10.0).worker == 1 and clock.start(2, 4.0).worker == 2
    assert clock.next_to_finish([1, 2]) == 2
    assert clock.finish(2).end == 4.0 and clock.now == 4.0
    third = clock.start(3, 6.0)  # on the freed worker, from now
    assert (third.worker, third.start, third.end) == (2, 4.0, 10.0)
    assert clock.next_to_finish([1, 3]) == 1  # a tie: the earlier asked
    with pytest.raises(RuntimeError, match="all 2 simulated workers busy"):
        clock.start(4, 1.0)


def run(tmp_path, out, *extra) -> dict[str, pd.DataFrame]:
    suite = tmp_path / "simulated.toml"
    suite.write_text(SUITE)
    assert main(["run", str(suite), "--out", str(tmp_path / out), *extra]) == 0
    return {name: pd.read_csv(tmp_path / out / name) for name in FILES}


@pytest.fixture
def recordings(monkeypatch):
    from conftest import REPO_ROOT
    from tunebench.benchmarks.replay import RECORDINGS_ENV

    monkeypatch.setenv(RECORDINGS_ENV, str(REPO_ROOT / "results" / "recordings"))


def without(frame: pd.DataFrame, columns) -> pd.DataFrame:
    return frame.drop(columns=[c for c in columns if c in frame.columns])


def test_one_simulated_worker_gives_the_rows_of_one_trial_after_another(recordings, tmp_path):
    plain = run(tmp_path, "plain")
    one = run(tmp_path, "one", "--simulated-workers", "1")
    for name in FILES:  # the same rows; only the clock's columns may differ
        pd.testing.assert_frame_equal(without(plain[name], TIMING_COLUMNS | {"worker", "start_seconds"}),
                                      without(one[name], TIMING_COLUMNS | {"worker", "start_seconds"}))
    trials = one["trials.csv"]
    assert plain["trials.csv"]["worker"].isna().all() and (trials["worker"] == 1).all()
    for _, run_trials in trials.groupby(["strategy", "seed"]):  # back to back on the one worker
        assert run_trials["start_seconds"].iloc[1:].tolist() == pytest.approx(
            run_trials["elapsed_seconds"].iloc[:-1].tolist())
        assert (run_trials["elapsed_seconds"] - run_trials["start_seconds"]).tolist() == pytest.approx(
            run_trials["train_seconds"].tolist())


def test_four_simulated_workers_overlap_as_four_machines_and_repeat_exactly(recordings, tmp_path):
    first = run(tmp_path, "first", "--simulated-workers", "4")
    trials = first["trials.csv"]
    assert set(trials["worker"]) == {1, 2, 3, 4}
    for _, run_trials in trials.groupby(["strategy", "seed"]):
        # Told in the order they finish: the rows' ends never go back.
        assert run_trials["elapsed_seconds"].is_monotonic_increasing
        assert not run_trials["trial"].is_monotonic_increasing or len(run_trials) < 5  # not the asking order
        for moment in run_trials["start_seconds"]:  # never more than 4 trials at once
            running = (run_trials["start_seconds"] <= moment) & (run_trials["elapsed_seconds"] > moment)
            assert running.sum() <= 4
        for _, on_one in run_trials.groupby("worker"):  # a worker runs one trial at a time
            ordered = on_one.sort_values("start_seconds")
            assert (ordered["start_seconds"].iloc[1:].to_numpy() >= ordered["elapsed_seconds"].iloc[:-1].to_numpy()
                    - 1e-9).all()
    runs = first["runs.csv"]
    plain = run(tmp_path, "plain")["runs.csv"]
    assert (runs["wall_seconds"] < plain["wall_seconds"]).all()  # four workers finish sooner
    # Hyperband waits at a rung with trials in flight instead of ending: as many trials as alone.
    assert runs[runs.strategy == "hyperband"]["trials"].tolist() == plain[plain.strategy == "hyperband"]["trials"].tolist()
    again = run(tmp_path, "again", "--simulated-workers", "4")
    for name in FILES:  # the simulated times are part of the rows that repeat
        pd.testing.assert_frame_equal(without(first[name], REAL_TIME), without(again[name], REAL_TIME))


def test_a_run_on_simulated_workers_resumes_to_the_uninterrupted_rows(recordings, tmp_path, monkeypatch):
    """A stop while hyperband's trials are in flight (its journal holds the trials in the
    order they finished, not the order asked) resumes to the uninterrupted rows."""
    from tunebench.runner.trial_loop import TrialLoop

    reference = run(tmp_path, "reference", "--simulated-workers", "3")
    settle = TrialLoop._settle_next
    settled = []

    def stop_at_the_tenth_of_hyperband(loop):
        if loop.task.strategy == "hyperband" and len(settled) == 9:
            raise KeyboardInterrupt
        if loop.task.strategy == "hyperband":
            settled.append(loop.in_flight[0][0].number)
        return settle(loop)

    monkeypatch.setattr(TrialLoop, "_settle_next", stop_at_the_tenth_of_hyperband)
    suite = tmp_path / "simulated.toml"
    out = tmp_path / "resumed"
    args = ["run", str(suite), "--out", str(out), "--simulated-workers", "3"]
    assert main(args) == 130
    journal = next((out / STAGING / "runs").glob("*hyperband*.jsonl"))
    journaled = [json.loads(line)["trial"] for line in journal.read_text().splitlines()
                 if json.loads(line)["kind"] == "trial"]
    assert len(journaled) == 9 and journaled != sorted(journaled)  # finished out of the asking order
    monkeypatch.setattr(TrialLoop, "_settle_next", settle)
    assert main(args) == 0
    for name in FILES:
        pd.testing.assert_frame_equal(without(reference[name], REAL_TIME),
                                      without(pd.read_csv(out / name), REAL_TIME))


def test_simulated_workers_are_for_replay_benchmarks_only():
    def parse(table, name):
        return parse_suite({"name": "t", "seeds": [0], "strategies": ["random"], "benchmarks": {name: table}},
                           source="test")

    assert parse({"simulated_workers": 4}, "fer-cnn@replay").benchmarks[0].simulated_workers == 4
    assert "simulated_workers" not in parse({}, "fer-cnn@replay").to_dict()["benchmarks"][0]
    with pytest.raises(SuiteError, match=r"'simulated_workers' is for replay benchmarks"):
        parse({"simulated_workers": 2}, "mnist-mlp")
    with pytest.raises(SuiteError, match=r"'simulated_workers' must be a positive integer, got 0"):
        parse({"simulated_workers": 0}, "fer-cnn@replay")
