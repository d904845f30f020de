"""A user's Ctrl-C or SIGTERM: a friendly stop and a resumable run, never a failed trial.

The in-process tests stop a run by raising :class:`~tunebench.interrupts.Stopped` from inside
the benchmark (what the signal handler raises); the subprocess test sends a real SIGTERM to a
real `tunebench run`. The runs are of the analytic bowl (tests/analytic_benchmark.py, a
plug-in of the suite), except where Keras is the point: the live benchmark raising a
swallowed stop again between batches.
"""

import json
import signal
import time

import pandas as pd
import pytest

from tunebench.benchmarks.live import LiveKerasBenchmark
from tunebench.cli import main
from tunebench.interrupts import Stopped, handle_stop_signals
from tunebench.progress import Progress
from tunebench.resume import STAGING
from tunebench.runner import run_suite
from tunebench.schema import without_timing
from tunebench.suite import parse_suite

from analytic_benchmark import AnalyticBenchmark
from conftest import ANALYTIC_PLUGIN
from test_resume import NO_TENSORFLOW, assert_same_results, command, journaled_trials, start

SUITE = {"name": "stop", "seeds": [0], "strategies": ["random"],
         "benchmarks": {"mnist-mlp": {"max_epochs": 1, "trials": 4}}}
#: :data:`SUITE` on the analytic bowl.
ANALYTIC = {"name": "stop", "seeds": [0], "strategies": ["random"], "plugins": [ANALYTIC_PLUGIN],
            "benchmarks": {"analytic": {"max_epochs": 1, "trials": 4}}}


class _StopsAtEvaluation:
    """A benchmark stopped by the user (Ctrl-C) at its ``stop_at``-th evaluation."""

    stop_at: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def evaluate(self, config, epochs, seed, **kwargs):
        self.calls += 1
        if self.calls == self.stop_at:
            raise Stopped("SIGINT")
        return super().evaluate(config, epochs, seed, **kwargs)


class StoppedAtEvaluation(_StopsAtEvaluation, LiveKerasBenchmark):
    """The live mnist-mlp benchmark, stopped at its ``stop_at``-th evaluation."""


class AnalyticStoppedAtEvaluation(_StopsAtEvaluation, AnalyticBenchmark):
    """The analytic bowl, stopped at its ``stop_at``-th evaluation."""


def factory(stop_at, analytic=False):
    def make(spec, splits, plan):
        if analytic:
            benchmark = AnalyticStoppedAtEvaluation(spec, splits, plan)
        else:
            benchmark = StoppedAtEvaluation(spec, splits, plan.options, plan.max_epochs, plan.batch_size,
                                            fidelity=plan.fidelity)
        benchmark.stop_at = stop_at
        return benchmark
    return make


def starts_counted(out) -> int:
    """The starts of the trials in training that count toward "died twice" (0 without a marker)."""
    return sum(sum(json.loads(p.read_text())["starts"].values())
               for p in (out / STAGING / "runs").glob("*.attempt"))


def run(out, data_dir, stop_at=None):
    """:data:`SUITE` on Keras (``data_dir`` a data directory), or :data:`ANALYTIC` (``data_dir`` None)."""
    analytic = data_dir is None
    return run_suite(parse_suite(ANALYTIC if analytic else SUITE, source="(test)"), out, data_dir or out.parent,
                     progress=Progress(1, 1, enabled=False), benchmark_factory=factory(stop_at, analytic))


def test_two_ctrl_c_in_the_same_trial_then_resume_gives_the_uninterrupted_results(tmp_path):
    reference = tmp_path / "reference"
    run(reference, None)
    assert len(pd.read_csv(reference / "trials.csv")) == 4
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(out, None, stop_at=3)  # trials 1 and 2 trained, trial 3 stopped
    assert journaled_trials(out) == 2
    with pytest.raises(KeyboardInterrupt):
        run(out, None, stop_at=1)  # resumed: trials 1-2 caught up, trial 3 stopped again
    assert journaled_trials(out) == 2
    assert starts_counted(out) == 0  # a user's stop is not a death
    outcome = run(out, None)
    assert outcome.failed_trials == 0
    for name in ("trials.csv", "runs.csv", "curves.csv"):
        pd.testing.assert_frame_equal(without_timing(pd.read_csv(reference / name)),
                                      without_timing(pd.read_csv(out / name)))


def test_a_stop_after_training_before_the_journal_line_is_not_a_death(tmp_path, monkeypatch):
    """A stop while a trained trial is told and journaled (not while training) is taken back
    too, and a settled trial leaves no start behind: nothing counts toward "died twice"."""
    from tunebench.runner.trial_loop import TrialLoop

    settle = TrialLoop._settle

    def stopped_at_the_second(self, step, outcome, *rest):  # rest: the simulated clock's slot
        if step.number == 2:
            raise Stopped("SIGTERM")
        return settle(self, step, outcome, *rest)

    monkeypatch.setattr(TrialLoop, "_settle", stopped_at_the_second)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(out, None)
    assert journaled_trials(out) == 1
    assert starts_counted(out) == 0


def test_a_stop_swallowed_by_a_library_still_stops_training_at_the_next_batch(tiny_data_dir, tmp_path):
    """Python drops a KeyboardInterrupt raised inside a finaliser ("Exception ignored in ..."):
    the stop is remembered, and the live benchmark raises it again between batches."""
    from tunebench import interrupts

    run(tmp_path / "warm", tiny_data_dir)  # data and Keras loaded
    with handle_stop_signals():
        interrupts._asked = "SIGINT"  # what the handler leaves behind when its exception was swallowed
        with pytest.raises(Stopped):
            run(tmp_path / "out", tiny_data_dir)
    assert interrupts.stop_asked() is None  # reset when the command ends
    assert journaled_trials(tmp_path / "out") == 0


def test_sigterm_stops_with_a_friendly_line_and_the_run_resumes_exactly(small_analytic_suite_results,
                                                                        small_analytic_suite_file, no_data_dir,
                                                                        tmp_path):
    out = tmp_path / "out"
    args = command(small_analytic_suite_file, no_data_dir, out)
    process = start(args, tmp_path, **NO_TENSORFLOW)
    while journaled_trials(out) < 2 and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    assert "tunebench: stopped (SIGTERM)" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    assert starts_counted(out) == 0
    assert 2 <= journaled_trials(out) < len(pd.read_csv(small_analytic_suite_results / "trials.csv"))
    assert main(args) == 0
    assert_same_results(small_analytic_suite_results, out)
    assert (pd.read_csv(out / "trials.csv").status == "ok").all()
