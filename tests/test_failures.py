"""Failed trials: recorded, charged what they trained, told to the strategy; the run goes on.

Real Keras training on the tiny data. The failures are injected by benchmark wrappers
passed as ``run_suite``'s ``benchmark_factory`` (there is no real configuration in the
search spaces that raises or diverges on demand):

- ``RaisingOnce`` raises ``RuntimeError`` on its second evaluation, before training;
- ``DivergingOnce`` trains its third evaluation with a learning-rate schedule that is 1e-3
  for the first epoch and 1e30 afterwards: real training whose loss goes NaN in epoch 2,
  caught by the live benchmark's finite-loss guard;
- ``AlwaysRaising`` raises on every evaluation, as an out-of-memory trial would.

Real Keras training on the tiny data where the failure is Keras's own (the divergence caught
by the live benchmark's guard); where the runner's handling of a failure is the point
(stderr, too many failures, resuming after failures) the benchmark is the analytic bowl
(tests/analytic_benchmark.py, a plug-in of the suite): ``AnalyticFlaky`` raises on its
second evaluation and fails its third part-way (the bowl's ``fail_x_above`` region:
:class:`~tunebench.benchmarks.base.TrialFailed` in epoch 2, with epoch 1 completed).
"""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from tunebench.benchmarks.base import TrialFailed
from tunebench.benchmarks.live import LiveKerasBenchmark
from tunebench.journal import read_journal
from tunebench.progress import Progress
from tunebench.schema import without_timing
from tunebench.runner import MAX_CONSECUTIVE_FAILURES, run_suite
from tunebench.strategies import STRATEGIES
from tunebench.strategies.keras_tuner_oracles import MAX_CONSECUTIVE_FAILED_TRIALS
from tunebench.suite import parse_suite

from analytic_benchmark import AnalyticBenchmark
from conftest import ANALYTIC_PLUGIN, analytic_suite


class _Explode(keras.optimizers.schedules.LearningRateSchedule):
    """1e-3 for the first ``steps`` optimizer steps, then 1e30: the weights blow up."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, step):
        import tensorflow as tf

        return tf.where(step < self.steps, 1e-3, 1e30)

    def get_config(self):
        return {"steps": self.steps}


class FlakyBenchmark(LiveKerasBenchmark):
    """The live mnist-mlp benchmark; evaluation 2 raises, evaluation 3 diverges in epoch 2."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0
        self._diverge = False

    def build(self, config):
        model = super().build(config)
        if self._diverge:
            steps_per_epoch = -(-len(self.training_arrays[0]) // self.batch_size)
            model.compile(optimizer=keras.optimizers.Adam(_Explode(steps_per_epoch)),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                          steps_per_execution=self.steps_per_execution)
        return model

    def evaluate(self, config, epochs, seed, **kwargs):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("injected failure before training")
        self._diverge = self.calls == 3
        return super().evaluate(config, epochs, seed, **kwargs)


def flaky_factory(spec, splits, plan):
    return FlakyBenchmark(spec, splits, plan.options, plan.max_epochs, plan.batch_size, fidelity=plan.fidelity)


def suite(strategies, **benchmarks):
    """A suite of ``benchmarks``; the analytic plug-in is loaded for those named ``analytic``."""
    plugins = [ANALYTIC_PLUGIN] if any(name.startswith("analytic") for name in benchmarks) else []
    return parse_suite({"name": "failing", "seeds": [0], "strategies": strategies, "benchmarks": benchmarks,
                        "plugins": plugins}, source="(test)")


class AnalyticFlaky(AnalyticBenchmark):
    """The analytic bowl; evaluation 2 raises before training, evaluation 3 fails in epoch 2."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def evaluate(self, config, epochs, seed, **kwargs):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("injected failure before training")
        self.fail_x_above = -1.0 if self.calls == 3 else 2.0  # every x fails in the bowl's failing region
        return super().evaluate(config, epochs, seed, **kwargs)


@pytest.fixture(scope="module")
def analytic_flaky_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("analytic-flaky") / "out"
    outcome = run_suite(suite(["random"], analytic={"max_epochs": 2, "trials": 3}), out, out.parent,
                        progress=Progress(1, 1, enabled=False), benchmark_factory=AnalyticFlaky)
    return out, outcome


@pytest.fixture(scope="module")
def flaky_run(tiny_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("flaky") / "out"
    outcome = run_suite(suite(["random"], **{"mnist-mlp": {"max_epochs": 2, "trials": 3}}), out, tiny_data_dir,
                        progress=Progress(1, 1, enabled=False), benchmark_factory=flaky_factory)
    return out, outcome


def test_a_raising_and_a_diverging_trial_are_recorded_and_the_run_goes_on(flaky_run):
    out, outcome = flaky_run
    trials = pd.read_csv(out / "trials.csv")
    runs = pd.read_csv(out / "runs.csv")
    curves = pd.read_csv(out / "curves.csv")
    assert list(trials.status) == ["ok", "failed", "failed", "ok"]
    raised, diverged = trials.iloc[1], trials.iloc[2]
    assert raised.error == "RuntimeError: injected failure before training"
    assert raised.epochs_trained == 0 and raised.epochs == 0 and np.isnan(raised.val_accuracy)
    assert diverged.error.startswith("non-finite training loss (nan) in epoch 2")
    # Charged the one epoch it completed; that epoch is in curves.csv, the diverged one is not.
    assert diverged.epochs_trained == 1 and diverged.epochs == 1 and pd.isna(diverged.test_confusion)
    assert list(curves[curves.trial == 3].epoch) == [1]
    assert trials.error.isna().sum() == len(trials) - 2
    # The budget paid for more trials than without failures, and the books balance.
    run = runs.iloc[0]
    assert run.status in ("budget_exhausted", "next_trial_exceeds_budget")
    assert trials.epochs_trained.sum() == run.epochs_used <= run.budget_epochs == 6
    assert len(trials) == 4 and run.best_trial in (1, 4) and outcome.failed_trials == 2
    assert run.status == "next_trial_exceeds_budget"  # 5 of 6 epochs spent; a 2-epoch trial does not fit
    journal = read_journal(out)
    assert "RuntimeError: injected failure" in journal[1]["traceback"]


def test_the_analytic_flaky_run_fails_as_the_keras_one_does(analytic_flaky_run):
    """The reference of the resume test below: the same failures as ``flaky_run``'s."""
    out, outcome = analytic_flaky_run
    trials = pd.read_csv(out / "trials.csv")
    assert list(trials.status) == ["ok", "failed", "failed", "ok"] and outcome.failed_trials == 2
    assert trials.error[1] == "RuntimeError: injected failure before training"
    assert trials.error[2].startswith("non-finite training loss (nan) in epoch 2")
    assert list(trials.epochs_trained) == [2, 0, 1, 2]
    assert list(pd.read_csv(out / "curves.csv").query("trial == 3").epoch) == [1]


def test_failures_are_said_on_stderr(tmp_path, capsys):
    run_suite(suite(["grid"], analytic={"max_epochs": 1, "trials": 2}), tmp_path / "out", tmp_path,
              progress=Progress(1, 1, enabled=False), benchmark_factory=AnalyticFlaky)
    err = capsys.readouterr().err
    assert "analytic/grid/seed 0 trial 2 failed after 0 epoch(s): RuntimeError: injected failure" in err


def test_live_benchmark_reports_completed_epochs_on_divergence(tiny_data_dir):
    from tunebench.benchmarks import BENCHMARKS
    from tunebench.datasets import load_dataset

    spec = BENCHMARKS["mnist-mlp"]
    benchmark = FlakyBenchmark(spec, load_dataset("mnist", tiny_data_dir, 1), spec.options, 3, 32)
    benchmark.calls = 2  # the next evaluation is the diverging one
    config = {"units_1": 50, "units_2": 80, "units_3": 40, "units_4": 20, "dropout_1": 0.1, "dropout_2": 0.1,
              "dropout_3": 0.1, "dropout_4": 0.1, "learning_rate": 1e-3}
    with pytest.raises(TrialFailed) as failure:
        benchmark.evaluate(config, 3, seed=11)
    assert [r.epoch for r in failure.value.curve] == [1] and len(failure.value.epoch_confusions) == 1
    assert failure.value.seconds > 0


class AlwaysRaising:
    """The benchmark's space; every evaluation raises, as an out-of-memory trial would."""

    def __init__(self, spec, splits, plan):
        self.space = spec.make_space(plan.options)
        self.fidelity = plan.fidelity
        self.name = spec.name

    def evaluate(self, config, epochs, seed, **kwargs):
        raise MemoryError("injected: out of memory")


def test_repeated_failures_stop_each_run_and_the_suite_goes_on(tmp_path, capsys):
    """Every strategy accepts failures (keras-tuner's own limit of 3 is raised) until the
    runner stops the run; the next run of the suite still happens."""
    assert MAX_CONSECUTIVE_FAILED_TRIALS > MAX_CONSECUTIVE_FAILURES  # keras-tuner must never stop first
    out = tmp_path / "out"
    outcome = run_suite(suite(list(STRATEGIES), analytic={"max_epochs": 1, "trials": 8}),
                        out, tmp_path, progress=Progress(1, 1, enabled=False), benchmark_factory=AlwaysRaising)
    runs = pd.read_csv(out / "runs.csv")
    trials = pd.read_csv(out / "trials.csv")
    assert list(runs.strategy) == list(STRATEGIES)  # the suite went on after each stopped run
    assert (runs.status == "too_many_failures").all() and (runs.trials == MAX_CONSECUTIVE_FAILURES).all()
    assert (runs.epochs_used == 0).all() and runs.best_trial.isna().all()
    assert set(trials.error) == {"MemoryError: injected: out of memory"} and (trials.status == "failed").all()
    assert outcome.stopped_runs == [f"analytic/{name}/seed 0" for name in STRATEGIES]
    err = capsys.readouterr().err
    assert f"analytic/tpe/seed 0: {MAX_CONSECUTIVE_FAILURES} trials failed in a row" in err
    assert "too_many_failures, the suite goes on" in err
    best = json.loads((out / "best_hyperparameters.json").read_text())["runs"]
    assert all(entry["config"] is None and entry["status"] == "too_many_failures" for entry in best)


def test_too_many_failures_from_the_command_line(tmp_path, capsys, monkeypatch):
    """Exit 0 with a summary on stderr: the suite finished, some runs stopped."""
    import tunebench.from_plan
    from tunebench.cli import main

    monkeypatch.setattr(tunebench.from_plan, "make_benchmark", AlwaysRaising)
    suite_file = tmp_path / "s.toml"
    suite_file.write_text(analytic_suite('strategies = ["random"]\n[benchmarks.analytic]\nmax_epochs = 1\ntrials = 6\n'))
    assert main(["run", str(suite_file), "--data-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "tunebench: 5 trial(s) failed (trials.csv: status failed, column error)" in err
    assert "1 run(s) stopped after 5 failed trials in a row (status too_many_failures): analytic/random/seed 0" in err


def test_failed_trials_resume_like_the_others(analytic_flaky_run, tmp_path):
    """A run interrupted after its two failed trials resumes to the same results: the failures
    are re-told to the strategy from the journal, not retrained."""
    from tunebench.resume import STAGING

    out, _ = analytic_flaky_run
    trials = [r for r in read_journal(out) if r["kind"] == "trial"]
    assert [r.get("status", "ok") for r in trials[:3]][1:] == ["failed", "failed"]  # the journal holds both failures
    staged = suite(["random"], analytic={"max_epochs": 2, "trials": 3})
    resumed_out = tmp_path / "resumed"

    def interrupted(spec, splits, plan):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # leaves .partial/ with its header, and no trial
        run_suite(staged, resumed_out, tmp_path, progress=Progress(1, 1, enabled=False),
                  benchmark_factory=interrupted)
    staging = resumed_out / STAGING
    header = {"kind": "header", "schema_version": 1, "index": 1, "benchmark": "analytic", "strategy": "random",
              "seed": 0, "fingerprint": json.loads((staging / "header.json").read_text())["fingerprint"]}
    (staging / "runs").mkdir(exist_ok=True)
    (staging / "runs" / "0001-analytic-random-0.jsonl").write_text(
        "".join(json.dumps(r, sort_keys=True) + "\n" for r in [header] + trials[:3]))

    def after_the_failures(spec, splits, plan):
        benchmark = AnalyticFlaky(spec, splits, plan)
        benchmark.calls = 3  # evaluations 1-3 are in the journal
        return benchmark

    outcome = run_suite(staged, resumed_out, tmp_path, progress=Progress(1, 1, enabled=False),
                        benchmark_factory=after_the_failures)
    assert outcome.resumed and outcome.failed_trials == 2
    for name in ("trials.csv", "runs.csv", "curves.csv"):
        pd.testing.assert_frame_equal(without_timing(pd.read_csv(out / name)),
                                      without_timing(pd.read_csv(resumed_out / name)))
