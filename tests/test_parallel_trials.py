"""Parallel trials within a run (``parallel_trials``, :mod:`tunebench.runner.trial_pool`):
trials trained on worker processes, asked ahead, told in the order asked.

Where the model is not the point (the order trials are asked and told in, the manifest, a
killed run resumed, a worker that dies, which benchmarks may run trials in parallel) the runs
are of the analytic bowl (tests/analytic_benchmark.py, a plug-in of the suite file, which each
trial worker loads to build the benchmark again), on workers that import no TensorFlow
(:func:`workers_without_tensorflow`). One test trains real Keras models on the workers: that
their numbers are one process's, Hyperband's warm starts (Keras weights handed from one
process to another) included.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import signal
from contextlib import contextmanager

import pandas as pd
import pytest

from tunebench.attempts import AttemptMarker
from tunebench.benchmarks import BENCHMARKS
from tunebench.cli import main
from tunebench.errors import SuiteError
from tunebench.progress import Progress
from tunebench.runner import run_suite
from tunebench.schema import without_timing
from tunebench.suite import load_suite, parse_suite
from tunebench.suite_overrides import apply_overrides

import analytic_benchmark
from analytic_benchmark import AnalyticBenchmark
from conftest import ANALYTIC_PLUGIN, analytic_suite
from test_resume import NO_TENSORFLOW, assert_same_results, command, kill_after, start

#: Random search learns nothing from results, so its trials cannot depend on how many are in
#: flight; Hyperband (max 3 epochs, factor 3) promotes from completed rounds and opens a
#: new bracket while a round is unfinished.
SUITE = analytic_suite("""
name = "parallel"
seeds = [0]
strategies = ["random", "hyperband"]
[benchmarks.analytic]
max_epochs = 3
trials = 4
""")

#: Trial columns that depend on the order trials were asked in, not on what they gave.
ORDER_COLUMNS = ["trial", "trial_id", "parent_trial_id", "epochs_used"]


@contextmanager
def workers_without_tensorflow():
    """Trial workers started inside the block import no TensorFlow (the analytic bowl trains
    nothing, and each worker's import would cost every run seconds): they inherit
    :data:`~test_resume.NO_TENSORFLOW`. This process must not import Keras inside the block
    (it would stay on that backend for the tests that train): a run of keras-tuner's
    strategies imports it before."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in NO_TENSORFLOW.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("parallel-suite") / "parallel.toml"
    path.write_text(SUITE)
    return path


@pytest.fixture(scope="module")
def one_at_a_time(suite_file, no_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "out"
    assert main(command(suite_file, no_data_dir, out)) == 0
    return out


@pytest.fixture(scope="module")
def three_in_flight(suite_file, no_data_dir, tmp_path_factory):
    import keras  # noqa: F401  (random search and Hyperband are keras-tuner's: Keras on its own backend here)

    out = tmp_path_factory.mktemp("parallel") / "out"
    with workers_without_tensorflow():
        assert main(command(suite_file, no_data_dir, out, "--parallel-trials", "3")) == 0
    return out


def _trials(out, strategy):
    trials = without_timing(pd.read_csv(out / "trials.csv"))
    return trials[trials.strategy == strategy].reset_index(drop=True)


def _sorted_without_order(frame):
    """The rows without :data:`ORDER_COLUMNS`, in a fixed order: what was trained and what it gave."""
    rows = frame.drop(columns=ORDER_COLUMNS)
    return rows.sort_values(list(rows.columns)).reset_index(drop=True)


def test_random_search_trains_the_same_trials_in_the_same_order_on_workers(one_at_a_time, three_in_flight):
    serial, parallel = _trials(one_at_a_time, "random"), _trials(three_in_flight, "random")
    assert len(serial) == 4
    pd.testing.assert_frame_equal(serial, parallel)  # trained on worker processes, rows unchanged


def test_hyperband_with_three_in_flight_trains_the_same_trials_asked_in_another_order(one_at_a_time,
                                                                                      three_in_flight):
    serial, parallel = _trials(one_at_a_time, "hyperband"), _trials(three_in_flight, "hyperband")
    assert serial.epochs_trained.sum() == parallel.epochs_trained.sum() == 12
    # Asked in another order (a second bracket opens while the first round is unfinished) ...
    assert list(serial.initial_epoch) != list(parallel.initial_epoch)
    # ... but the same trials, promotions included, with the same results.
    pd.testing.assert_frame_equal(_sorted_without_order(serial), _sorted_without_order(parallel))
    # A promotion is asked only after its parent was told: its parent comes earlier in the journal.
    position = dict(zip(parallel.trial_id.astype(str), parallel.trial))
    promoted = parallel[parallel.parent_trial_id.notna()]
    assert len(promoted) >= 1
    for _, row in promoted.iterrows():
        assert position[str(int(row.parent_trial_id))] < row.trial


def test_the_manifest_records_the_trials_in_flight(three_in_flight):
    manifest = json.loads((three_in_flight / "manifest.json").read_text())
    assert [plan["parallel_trials"] for plan in manifest["suite"]["benchmarks"]] == [3]


@pytest.fixture(scope="module")
def tpe_three_in_flight(small_analytic_suite_file, no_data_dir, tmp_path_factory):
    """The small analytic suite (grid search, then TPE, which learns from every result told;
    50 ms epochs) with three trials in flight: no Keras in this process or the workers."""
    out = tmp_path_factory.mktemp("tpe-parallel") / "out"
    with workers_without_tensorflow():
        assert main(command(small_analytic_suite_file, no_data_dir, out, "--parallel-trials", "3")) == 0
    return out


def test_a_killed_parallel_run_resumes_to_the_uninterrupted_results(small_analytic_suite_file, no_data_dir,
                                                                     tpe_three_in_flight, tmp_path):
    out = tmp_path / "out"
    args = command(small_analytic_suite_file, no_data_dir, out, "--parallel-trials", "3")
    kill_after(start(args, tmp_path, **NO_TENSORFLOW), out, trials=6)  # into TPE, trials in flight on the workers
    with workers_without_tensorflow():
        assert main(args) == 0
    assert_same_results(tpe_three_in_flight, out)


#: The training seed of the trial that kills the worker process training it (a trial's seed
#: derives from its configuration: trials.csv's ``training_seed``).
KILL_ENV = "TUNEBENCH_TEST_KILL_SEED"


class KillsItsWorker(AnalyticBenchmark):
    """The analytic bowl, except that one trial kills the worker process that trains it
    (SIGKILL, as the kernel's out-of-memory killer would), every time."""

    def evaluate(self, config, epochs, seed, **kwargs):
        if multiprocessing.parent_process() is not None and str(seed) == os.environ.get(KILL_ENV):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().evaluate(config, epochs, seed, **kwargs)


def test_a_trial_that_kills_its_worker_twice_fails_alone_and_the_run_goes_on(tmp_path, monkeypatch):
    suite = {"name": "deaths", "seeds": [0], "strategies": ["grid"], "plugins": [ANALYTIC_PLUGIN],
             "benchmarks": {"analytic": {"max_epochs": 1, "trials": 4}}}

    def run(out, parallel, factory=None):
        suite["benchmarks"]["analytic"]["parallel_trials"] = parallel
        run_suite(parse_suite(suite, source="(test)"), out, tmp_path, progress=Progress(1, 1, enabled=False),
                  benchmark_factory=factory)
        return without_timing(pd.read_csv(out / "trials.csv"))

    serial = run(tmp_path / "serial", 1)
    killer = serial.iloc[1]  # trial 2: in flight beside trial 1 (and then 3) when its worker dies
    monkeypatch.setenv(KILL_ENV, str(killer.training_seed))
    with workers_without_tensorflow():
        parallel = run(tmp_path / "parallel", 2, KillsItsWorker)
    # The failed trial trained no epoch, so the budget pays for a fifth trial.
    assert list(parallel.status) == ["ok", "failed", "ok", "ok", "ok"]
    assert "ended during this trial 2 times" in parallel.error[1]
    survivors = [0, 2, 3]
    assert parallel.error.iloc[survivors].isna().all()
    pd.testing.assert_frame_equal(parallel.iloc[survivors].drop(columns=["epochs_used", "error"]),
                                  serial.iloc[survivors].drop(columns=["epochs_used", "error"]))
    assert not list((tmp_path / "parallel").glob(".partial"))


def test_the_numbers_of_real_models_on_workers_are_one_process_s_warm_starts_included(
        small_suite_results, small_suite_file, tiny_data_dir, tmp_path):
    """Keras on the workers: each builds and trains its own models, and a promotion continues
    weights trained in another process (returned to this one, handed to the next worker).
    The reference is the small suite's Hyperband, trained one trial at a time in this process."""
    out = tmp_path / "out"
    assert main(command(small_suite_file, tiny_data_dir, out, "--strategies", "hyperband",
                        "--parallel-trials", "3")) == 0
    serial, parallel = _trials(small_suite_results, "hyperband"), _trials(out, "hyperband")
    assert list(serial.initial_epoch) != list(parallel.initial_epoch)  # asked in another order
    assert parallel.parent_trial_id.notna().sum() >= 1  # with warm-started promotions
    pd.testing.assert_frame_equal(_sorted_without_order(serial), _sorted_without_order(parallel))


def suite_text(tmp_path, benchmarks: str, plugins: str = ""):
    """The suite of ``benchmarks`` (tables' text; ``plugins``: the plug-ins line), loaded."""
    path = tmp_path / "suite.toml"
    path.write_text(plugins + 'name = "s"\nseeds = [0]\nstrategies = ["random"]\n' + benchmarks)
    return load_suite(str(path))


@pytest.fixture
def registered_here(monkeypatch):
    """The analytic bowl registered by hand in this process as ``analytic-here``: a benchmark
    that no plug-in, and so no worker process, has."""
    spec = dataclasses.replace(analytic_benchmark.SPEC, name="analytic-here")
    monkeypatch.setitem(BENCHMARKS, spec.name, spec)
    return spec.name


def test_parallel_trials_are_refused_where_they_cannot_run(suite_file, registered_here, tmp_path, capsys):
    """Refused while the suite and options are read: nothing trains, no data is read."""
    with pytest.raises(SuiteError, match=r"'parallel_trials': mnist-mlp@replay does not train"):
        suite_text(tmp_path, '[benchmarks."mnist-mlp@replay"]\nparallel_trials = 2\n')
    with pytest.raises(SuiteError, match="--parallel-trials: none of the selected benchmarks trains"):
        apply_overrides(load_suite("replay"), parallel_trials=2)
    with pytest.raises(SuiteError, match=r"'parallel_trials': analytic-here is registered in this process only"):
        suite_text(tmp_path, "[benchmarks.analytic-here]\nparallel_trials = 2\n")
    here = suite_text(tmp_path, "[benchmarks.analytic-here]\n")
    with pytest.raises(SuiteError, match=r"option --parallel-trials: analytic-here is registered in this process "
                                         r"only .* cannot build it; name its module in the suite's plugins"):
        apply_overrides(here, parallel_trials=2)
    assert apply_overrides(here, parallel_trials=1).benchmarks[0].parallel_trials == 1  # one at a time: here
    with pytest.raises(SuiteError, match="--parallel-trials must be a positive integer"):
        apply_overrides(load_suite("smoke"), parallel_trials=0)
    assert main(command(suite_file, tmp_path / "no-data", tmp_path / "out", "--parallel-trials", "2",
                        "--workers", "2")) == 2
    assert "parallel trials (analytic) and --parallel-runs/--scheduler exclude each " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_plugin_benchmark_takes_parallel_trials_from_its_table_and_the_option(suite_file, tmp_path):
    """A benchmark that a plug-in of the suite registers: every worker process loads it."""
    plugins = f"plugins = [{ANALYTIC_PLUGIN!r}]\n"
    both = suite_text(tmp_path, '[benchmarks.analytic]\nparallel_trials = 2\n[benchmarks."mnist-mlp@replay"]\n',
                      plugins)
    assert [plan.parallel_trials for plan in both.benchmarks] == [2, 1]
    overridden = apply_overrides(both, parallel_trials=3)  # on the benchmark that trains; the replay keeps 1
    assert [plan.parallel_trials for plan in overridden.benchmarks] == [3, 1]
    assert [plan.parallel_trials for plan in apply_overrides(load_suite("smoke"), parallel_trials=2).benchmarks
            ] == [2] * len(load_suite("smoke").benchmarks)  # the built-in live benchmarks, as before


def test_the_attempt_marker_counts_each_trial_in_flight_on_its_own(tmp_path):
    marker = AttemptMarker(tmp_path / "run.attempt")
    assert marker.start(4) == 0 and marker.start(5) == 0
    marker.clear(4)  # trial 4 settled; 5 still training when the process died
    assert marker.start(5) == 1 and marker.start(6) == 0
    marker.forgive(6)  # the user stopped 6: not counted; 5's death still is
    assert marker.start(6) == 0 and marker.start(5) == 2
    marker.forgive()  # a stop while 5 and 6 were in flight takes back one start of each
    assert marker.start(5) == 2 and marker.start(6) == 0
