"""Parallel trials within a run (``parallel_trials``, :mod:`tunebench.runner.trial_pool`):
trials trained on worker processes, asked ahead, told in the order asked."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

import pandas as pd
import pytest

from tunebench.benchmarks.live import LiveKerasBenchmark
from tunebench.cli import main
from tunebench.errors import SuiteError
from tunebench.progress import Progress
from tunebench.attempts import AttemptMarker
from tunebench.runner import run_suite
from tunebench.schema import without_timing
from tunebench.suite import apply_overrides, load_suite, parse_suite

from test_resume import assert_same_results, command, kill_after, start

#: Random search learns nothing from results, so its trials cannot depend on how many are in
#: flight; Hyperband (max 3 epochs, factor 3) promotes from completed rounds and opens a
#: new bracket while a round is unfinished.
SUITE = """
name = "parallel"
seeds = [0]
strategies = ["random", "hyperband"]
[benchmarks.mnist-mlp]
max_epochs = 3
trials = 4
"""

#: Trial columns that depend on the order trials were asked in, not on what they gave.
ORDER_COLUMNS = ["trial", "trial_id", "parent_trial_id", "epochs_used"]


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("parallel-suite") / "parallel.toml"
    path.write_text(SUITE)
    return path


@pytest.fixture(scope="module")
def one_at_a_time(suite_file, tiny_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "out"
    assert main(command(suite_file, tiny_data_dir, out)) == 0
    return out


@pytest.fixture(scope="module")
def three_in_flight(suite_file, tiny_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("parallel") / "out"
    assert main(command(suite_file, tiny_data_dir, out, "--parallel-trials", "3")) == 0
    return out


def _trials(out, strategy):
    trials = without_timing(pd.read_csv(out / "trials.csv"))
    return trials[trials.strategy == strategy].reset_index(drop=True)


def test_random_search_trains_the_same_trials_in_the_same_order_on_workers(one_at_a_time, three_in_flight):
    serial, parallel = _trials(one_at_a_time, "random"), _trials(three_in_flight, "random")
    assert len(serial) == 4
    pd.testing.assert_frame_equal(serial, parallel)  # trained on worker processes, numbers unchanged


def test_hyperband_with_three_in_flight_trains_the_same_configurations_with_the_same_results(
        one_at_a_time, three_in_flight):
    serial, parallel = _trials(one_at_a_time, "hyperband"), _trials(three_in_flight, "hyperband")
    assert serial.epochs_trained.sum() == parallel.epochs_trained.sum() == 12
    # Asked in another order (a second bracket opens while the first round is unfinished) ...
    assert list(serial.initial_epoch) != list(parallel.initial_epoch)
    # ... but the same trials, promotions included, with the same numbers.
    def key(frame):
        rows = frame.drop(columns=ORDER_COLUMNS)
        return rows.sort_values(list(rows.columns)).reset_index(drop=True)

    pd.testing.assert_frame_equal(key(serial), key(parallel))
    # A promotion is asked only after its parent was told: its parent comes earlier in the journal.
    position = dict(zip(parallel.trial_id.astype(str), parallel.trial))
    promoted = parallel[parallel.parent_trial_id.notna()]
    assert len(promoted) >= 1
    for _, row in promoted.iterrows():
        assert position[str(int(row.parent_trial_id))] < row.trial


def test_the_manifest_records_the_trials_in_flight(three_in_flight):
    manifest = json.loads((three_in_flight / "manifest.json").read_text())
    assert [plan["parallel_trials"] for plan in manifest["suite"]["benchmarks"]] == [3]


def test_a_killed_parallel_run_resumes_to_the_uninterrupted_results(suite_file, tiny_data_dir, three_in_flight,
                                                                     tmp_path):
    out = tmp_path / "out"
    args = command(suite_file, tiny_data_dir, out, "--parallel-trials", "3")
    kill_after(start(args, tmp_path), out, trials=6)  # into hyperband, with trials in flight on the workers
    assert main(args) == 0
    assert_same_results(three_in_flight, out)


#: The configuration (JSON, sorted keys) whose trial kills the worker process training it.
KILL_ENV = "TUNEBENCH_TEST_KILL_CONFIG"


class KillsItsWorker(LiveKerasBenchmark):
    """The live benchmark, except that one configuration kills the worker process that trains
    it (SIGKILL, as the kernel's out-of-memory killer would), every time."""

    def evaluate(self, config, epochs, seed, **kwargs):
        if (multiprocessing.parent_process() is not None
                and json.dumps(config, sort_keys=True) == os.environ.get(KILL_ENV)):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().evaluate(config, epochs, seed, **kwargs)


def kills_its_worker(spec, splits, plan):
    return KillsItsWorker(spec, splits, plan.options, plan.max_epochs, plan.batch_size, fidelity=plan.fidelity)


def test_a_trial_that_kills_its_worker_twice_fails_alone_and_the_run_goes_on(tiny_data_dir, tmp_path,
                                                                             monkeypatch):
    suite = {"name": "deaths", "seeds": [0], "strategies": ["random"],
             "benchmarks": {"mnist-mlp": {"max_epochs": 1, "trials": 4}}}

    def run(out, parallel, factory=None):
        suite["benchmarks"]["mnist-mlp"]["parallel_trials"] = parallel
        run_suite(parse_suite(suite, source="(test)"), out, tiny_data_dir, progress=Progress(1, 1, enabled=False),
                  benchmark_factory=factory)
        return without_timing(pd.read_csv(out / "trials.csv"))

    serial = run(tmp_path / "serial", 1)
    killer = serial.iloc[1]  # trial 2: in flight beside trial 1 (and then 3) when its worker dies
    config = {name[3:]: killer[name] for name in serial.columns if name.startswith("hp_")}
    config = {k: int(v) if k.startswith("units") else float(v) for k, v in config.items()}
    monkeypatch.setenv(KILL_ENV, json.dumps(config, sort_keys=True))
    parallel = run(tmp_path / "parallel", 2, kills_its_worker)
    # The failed trial trained no epoch, so the budget pays for a fifth trial.
    assert list(parallel.status) == ["ok", "failed", "ok", "ok", "ok"]
    assert "ended during this trial 2 times" in parallel.error[1]
    survivors = [0, 2, 3]
    assert parallel.error.iloc[survivors].isna().all()
    pd.testing.assert_frame_equal(parallel.iloc[survivors].drop(columns=["epochs_used", "error"]),
                                  serial.iloc[survivors].drop(columns=["epochs_used", "error"]))
    assert not list((tmp_path / "parallel").glob(".partial"))


def test_parallel_trials_are_refused_where_they_cannot_run(suite_file, tmp_path, capsys):
    """Refused while the suite and options are read: nothing trains, no data is read."""
    with pytest.raises(SuiteError, match=r"'parallel_trials': mnist-mlp@replay does not train"):
        load_suite_text(tmp_path, '[benchmarks."mnist-mlp@replay"]\nparallel_trials = 2\n')
    with pytest.raises(SuiteError, match="--parallel-trials must be a positive integer"):
        apply_overrides(load_suite("smoke"), parallel_trials=0)
    assert main(command(suite_file, tmp_path / "no-data", tmp_path / "out", "--parallel-trials", "2",
                        "--workers", "2")) == 2
    assert "parallel trials (mnist-mlp) and --parallel-runs/--scheduler exclude each " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def load_suite_text(tmp_path, benchmarks: str):
    path = tmp_path / "suite.toml"
    path.write_text('name = "s"\nseeds = [0]\nstrategies = ["random"]\n' + benchmarks)
    return load_suite(str(path))


def test_the_attempt_marker_counts_each_trial_in_flight_on_its_own(tmp_path):
    marker = AttemptMarker(tmp_path / "run.attempt")
    assert marker.start(4) == 0 and marker.start(5) == 0
    marker.clear(4)  # trial 4 settled; 5 still training when the process died
    assert marker.start(5) == 1 and marker.start(6) == 0
    marker.forgive(6)  # the user stopped 6: not counted; 5's death still is
    assert marker.start(6) == 0 and marker.start(5) == 2
    marker.forgive()  # a stop while 5 and 6 were in flight takes back one start of each
    assert marker.start(5) == 2 and marker.start(6) == 0
