"""The runner end to end.

What the runner does with any benchmark (equal budgets, the files and their links, Hyperband's
warm-started promotions, refusing to clobber results) is checked on the analytic bowl
(tests/analytic_benchmark.py, a plug-in of the suite file: microseconds per trial), with all
six strategies. Real Keras training on tiny data written in the real formats checks what
needs it: the manifest's data and versions, runs repeating exactly under a seed, and the
live benchmark's determinism and warm starts.
"""

import gzip
import hashlib
import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tunebench.benchmarks import BENCHMARKS
from tunebench.benchmarks.live import LiveKerasBenchmark
from tunebench.cli import main
from tunebench.datasets import load_dataset
from tunebench.errors import InputError
from tunebench.journal import read_journal
from tunebench.progress import Progress, format_duration
from tunebench.schema import without_timing
from tunebench.runner import run_suite
from tunebench.strategies import STRATEGIES
from tunebench.suite import load_suite

from conftest import analytic_suite, write_tiny_datasets

#: Strategies of the Keras runs: plain training (random) and warm-started promotions
#: (hyperband). Each strategy's own suggestions repeat exactly under a seed
#: (tests/test_strategies.py), and the real-data smoke test runs all six on Keras.
RERUN_STRATEGIES = ["random", "hyperband"]

TINY_SUITE = """
name = "tiny"
seeds = [0]
strategies = ["random", "hyperband"]
[benchmarks.mnist-mlp]
max_epochs = 3
trials = 2
[benchmarks.fer-cnn]
max_epochs = 1
trials = 2
"""

#: The same shape on the analytic bowl, with every strategy: two benchmarks, two budgets.
ANALYTIC_SUITE = analytic_suite(f"""
name = "tiny"
seeds = [0]
strategies = {json.dumps(list(STRATEGIES))}
[benchmarks.analytic]
max_epochs = 3
trials = 2
[benchmarks.analytic-b]
max_epochs = 1
trials = 2
""")


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "tiny.toml"
    path.write_text(TINY_SUITE)
    return path


@pytest.fixture(scope="module")
def first_run(tiny_data_dir, suite_file, tmp_path_factory):
    """The Keras suite (random and hyperband on mnist-mlp and fer-cnn)."""
    out = tmp_path_factory.mktemp("run") / "first"
    assert main(["run", str(suite_file), "--data-dir", str(tiny_data_dir), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def analytic_suite_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("analytic-suite") / "tiny.toml"
    path.write_text(ANALYTIC_SUITE)
    return path


@pytest.fixture(scope="module")
def analytic_run(analytic_suite_file, no_data_dir, tmp_path_factory):
    """The analytic suite: every strategy on two benchmarks."""
    out = tmp_path_factory.mktemp("analytic-run") / "first"
    assert main(["run", str(analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(out)]) == 0
    return out


def test_run_writes_every_run_within_an_equal_budget(analytic_run):
    first_run = analytic_run
    assert sorted(p.name for p in first_run.iterdir()) == ["best_hyperparameters.json", "curves.csv", "journal.jsonl.gz",
                                                           "manifest.json", "runs.csv", "trials.csv"]
    runs = pd.read_csv(first_run / "runs.csv")
    assert len(runs) == 2 * len(STRATEGIES)
    assert set(runs["strategy"]) == set(STRATEGIES)
    assert (runs["epochs_used"] <= runs["budget_epochs"]).all()
    exhausted = runs[runs.status == "budget_exhausted"]
    assert (exhausted.epochs_used == exhausted.budget_epochs).all()
    assert set(runs.status) <= {"budget_exhausted", "next_trial_exceeds_budget", "strategy_exhausted"}
    fixed = runs[runs.strategy != "hyperband"]
    assert (fixed.epochs_used == fixed.budget_epochs).all()
    assert runs.groupby("benchmark")["budget_epochs"].nunique().eq(1).all()
    assert dict(runs.groupby("benchmark")["budget_epochs"].first()) == {"analytic-b": 2, "analytic": 6}

    trials = pd.read_csv(first_run / "trials.csv")
    spent = trials.groupby(["benchmark", "strategy", "seed"])["epochs_trained"].sum()
    used = runs.set_index(["benchmark", "strategy", "seed"])["epochs_used"]
    assert (spent.sort_index() == used.sort_index()).all()
    curves = pd.read_csv(first_run / "curves.csv")
    assert len(curves) == trials["epochs_trained"].sum()
    assert trials["val_accuracy"].between(0, 1).all() and trials["test_f1"].between(0, 1).all()


def test_runs_csv_is_traceable_to_trials_csv(analytic_run):
    runs = pd.read_csv(analytic_run / "runs.csv")
    trials = pd.read_csv(analytic_run / "trials.csv")
    for _, run in runs.iterrows():
        mine = trials[(trials.benchmark == run.benchmark) & (trials.strategy == run.strategy) & (trials.seed == run.seed)]
        best = mine[mine.trial == run.best_trial].iloc[0]
        assert run.best_val_accuracy == mine.val_accuracy.max() == best.val_accuracy
        assert run.test_accuracy == best.test_accuracy and run.epochs_to_best == best.epochs_used


def test_hyperband_warm_starts_promotions_and_charges_the_difference(analytic_run):
    trials = pd.read_csv(analytic_run / "trials.csv")
    hyperband = trials[(trials.strategy == "hyperband") & (trials.benchmark == "analytic")]
    promoted = hyperband[hyperband.parent_trial_id.notna()]
    assert len(promoted) >= 1
    assert ((promoted.epochs - promoted.initial_epoch) == promoted.epochs_trained).all()
    assert (promoted.initial_epoch > 0).all()
    others = trials[trials.strategy != "hyperband"]
    assert (others.initial_epoch == 0).all() and (others.epochs_trained == others.epochs).all()


def test_manifest_records_the_suite_budgets_policy_and_files(analytic_run):
    manifest = json.loads((analytic_run / "manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert manifest["suite"]["name"] == "tiny"
    assert manifest["budgets"] == {"analytic": 6, "analytic-b": 2}
    assert manifest["warm_start"]["hyperband_promotions"] == "warm-start" and manifest["hardware"]["cpu_count"] >= 1
    assert isinstance(manifest["hardware"]["gpus"], list)  # a benchmark that is not a replay: the GPUs looked up
    assert set(manifest["strategies"]["analytic-b"]) == set(STRATEGIES)
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((analytic_run / name).read_bytes()).hexdigest() == digest
    assert set(manifest["files"]) == {"trials.csv", "curves.csv", "runs.csv", "journal.jsonl.gz", "best_hyperparameters.json"}


def test_manifest_records_the_keras_runs_data_and_versions(first_run):
    manifest = json.loads((first_run / "manifest.json").read_text())
    assert manifest["budgets"] == {"mnist-mlp": 6, "fer-cnn": 2}
    assert {"keras", "keras-tuner", "optuna", "hyperopt"} <= set(manifest["versions"])
    assert manifest["warm_start"]["hyperband_promotions"] == "warm-start"
    assert manifest["data"]["mnist-mlp"]["sizes"]["0"]["train"] == 160
    assert set(manifest["strategies"]["fer-cnn"]) == set(RERUN_STRATEGIES)
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((first_run / name).read_bytes()).hexdigest() == digest


def test_best_hyperparameters_names_each_runs_incumbent(analytic_run):
    first_run = analytic_run
    best = json.loads((first_run / "best_hyperparameters.json").read_text())
    runs = pd.read_csv(first_run / "runs.csv")
    trials = pd.read_csv(first_run / "trials.csv", dtype={"trial_id": str})
    assert best["schema_version"] == 1 and best["suite"] == "tiny"
    assert [(b["benchmark"], b["strategy"], b["seed"]) for b in best["runs"]] == list(
        runs[["benchmark", "strategy", "seed"]].itertuples(index=False, name=None))
    for entry, (_, run) in zip(best["runs"], runs.iterrows()):
        assert entry["trial"] == run.best_trial and entry["status"] == run.status
        assert entry["val_accuracy"] == pytest.approx(run.best_val_accuracy, abs=1e-9)
        assert entry["test_accuracy"] == pytest.approx(run.test_accuracy, abs=1e-9)
        row = trials[(trials.benchmark == run.benchmark) & (trials.strategy == run.strategy)
                     & (trials.seed == run.seed) & (trials.trial == run.best_trial)].iloc[0]
        hp = {k[3:]: row[k] for k in trials.columns if k.startswith("hp_") and pd.notna(row[k])}
        assert set(entry["config"]) == set(hp)
        numbers = {k for k, v in hp.items() if not isinstance(v, str)}  # the bowl's "act" is a choice of names
        assert {k: entry["config"][k] for k in numbers} == pytest.approx({k: hp[k] for k in numbers}, rel=1e-9)
        assert {k: entry["config"][k] for k in set(hp) - numbers} == {k: hp[k] for k in set(hp) - numbers}
        assert entry["trial_id"] == row.trial_id


def test_same_suite_and_seed_give_the_same_trials(first_run, tiny_data_dir, suite_file, tmp_path):
    """Real Keras training, plain and warm-started, repeats exactly under a seed."""
    second = tmp_path / "second"
    assert main(["run", str(suite_file), "--data-dir", str(tiny_data_dir), "--out", str(second),
                 "--strategies", ",".join(RERUN_STRATEGIES)]) == 0
    for name in ("trials.csv", "curves.csv", "runs.csv"):
        first = without_timing(pd.read_csv(first_run / name))
        first = first[first.strategy.isin(RERUN_STRATEGIES)].reset_index(drop=True)
        again = without_timing(pd.read_csv(second / name))
        assert set(again.strategy) == set(RERUN_STRATEGIES) == set(first.strategy)
        assert len(again) > 0
        unused = first.columns.difference(again.columns)  # hp_ columns no trial of these strategies had
        assert first[unused].isna().all().all()
        pd.testing.assert_frame_equal(first[again.columns], again)


@pytest.fixture
def existing_results(analytic_run, tmp_path):
    out = tmp_path / "existing"
    shutil.copytree(analytic_run, out)
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def assert_untouched(out, before):
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_compressed_journal_holds_each_trial_of_trials_csv_and_reads_back(analytic_run, tmp_path):
    records = read_journal(analytic_run)
    trials = pd.read_csv(analytic_run / "trials.csv")
    journaled = [r for r in records if r["kind"] == "trial"]
    assert [(r["benchmark"], r["strategy"], r["seed"], r["trial"]) for r in journaled] == \
        list(zip(trials.benchmark, trials.strategy, trials.seed, trials.trial))
    np.testing.assert_allclose([r["val_accuracy"] for r in journaled], trials.val_accuracy, atol=1e-9)  # CSV: 10 digits
    assert sum(r["kind"] == "run" for r in records) == len(pd.read_csv(analytic_run / "runs.csv"))
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "journal.jsonl.gz").write_bytes((analytic_run / "journal.jsonl.gz").read_bytes()[:-20])
    with pytest.raises(InputError, match=r"damaged/journal.jsonl.gz: not a readable gzip-compressed journal"):
        read_journal(damaged)


def test_overwriting_an_older_folder_removes_its_uncompressed_journal(existing_results, no_data_dir,
                                                                      analytic_suite_file):
    out, _ = existing_results
    with gzip.open(out / "journal.jsonl.gz", "rb") as handle:
        (out / "journal.jsonl").write_bytes(handle.read())  # as a folder written before compression
    (out / "journal.jsonl.gz").unlink()
    assert [r["kind"] for r in read_journal(out)].count("run") == 2 * len(STRATEGIES)  # the legacy name reads
    assert main(["run", str(analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(out),
                 "--overwrite"]) == 0
    assert not (out / "journal.jsonl").exists() and (out / "journal.jsonl.gz").exists()


def test_existing_results_are_refused_without_overwrite(existing_results, no_data_dir, analytic_suite_file, capsys):
    out, before = existing_results
    assert main(["run", str(analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(out)]) == 2
    assert "already holds results" in capsys.readouterr().err
    assert_untouched(out, before)


def test_corrupt_data_file_exits_2_and_keeps_results(existing_results, suite_file, tmp_path, capsys):
    """The Keras suite on a data directory with a truncated fer2013.npz: refused while the
    data is checked, before anything trains."""
    out, before = existing_results
    bad = write_tiny_datasets(tmp_path / "bad-data")
    data = (bad / "fer2013.npz").read_bytes()
    (bad / "fer2013.npz").write_bytes(data[: len(data) // 2])
    code = main(["run", str(suite_file), "--data-dir", str(bad), "--out", str(out), "--overwrite"])
    assert code == 2
    assert "fer2013.npz" in capsys.readouterr().err
    assert_untouched(out, before)


def test_unknown_strategy_exits_2_and_keeps_results(existing_results, no_data_dir, analytic_suite_file, capsys):
    out, before = existing_results
    code = main(["run", str(analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(out), "--overwrite",
                 "--strategies", "random,annealing"])
    assert code == 2
    assert "unknown strategy 'annealing'" in capsys.readouterr().err
    assert_untouched(out, before)


def test_malformed_suite_exits_2_and_keeps_results(existing_results, no_data_dir, tmp_path, capsys):
    out, before = existing_results
    suite = tmp_path / "broken.toml"
    suite.write_text(analytic_suite("[benchmarks.analytic]\ntrials = 'many'\n"))
    assert main(["run", str(suite), "--data-dir", str(no_data_dir), "--out", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "broken.toml" in err and "'trials'" in err
    assert_untouched(out, before)


def test_bad_option_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "smoke", "--budget", "lots"])
    assert exit_info.value.code == 2


def test_failure_mid_run_leaves_earlier_results_untouched(existing_results, no_data_dir, analytic_suite_file):
    """An internal failure (here: building a run's benchmark, once the partial run is set up)
    stops the suite (exit 1 from the command line); a failing *trial* does not (test_failures.py)."""
    out, before = existing_results

    def exploding(spec, splits, plan):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_suite(load_suite(str(analytic_suite_file)), out, no_data_dir, overwrite=True,
                  progress=Progress(1, 1, enabled=False), benchmark_factory=exploding)
    kept = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert kept == before
    assert (out / ".partial").is_dir()  # the interrupted run stays aside, for inspection


@pytest.fixture(scope="module")
def live_mnist(tiny_data_dir):
    spec = BENCHMARKS["mnist-mlp"]
    return LiveKerasBenchmark(spec, load_dataset("mnist", tiny_data_dir, 1), spec.options, 3, 32)


CONFIG = {"units_1": 50, "units_2": 80, "units_3": 40, "units_4": 20, "dropout_1": 0.1, "dropout_2": 0.1,
          "dropout_3": 0.1, "dropout_4": 0.1, "learning_rate": 1e-3}


def test_evaluate_is_deterministic_for_a_seed(live_mnist):
    first = live_mnist.evaluate(CONFIG, 2, seed=11)
    again = live_mnist.evaluate(CONFIG, 2, seed=11)
    other = live_mnist.evaluate(CONFIG, 2, seed=12)
    strip = lambda ev: [(r.epoch, r.loss, r.val_accuracy, r.test_f1) for r in ev.curve]  # noqa: E731
    assert strip(first) == strip(again)
    assert strip(first) != strip(other)
    assert [r.epoch for r in first.curve] == [1, 2]
    assert np.array(first.test_confusion).sum() == 60


def test_warm_start_continues_the_parent(live_mnist):
    parent = live_mnist.evaluate(CONFIG, 1, seed=11, keep_state=True)
    assert live_mnist.evaluate(CONFIG, 1, seed=11).state is None
    child = live_mnist.evaluate(CONFIG, 3, seed=11, initial_epoch=1, warm_start=parent.state, keep_state=True)
    assert [r.epoch for r in child.curve] == [2, 3]
    # The optimizer's step counter goes on from the parent's: 3 epochs of steps in all.
    steps_per_epoch = int(parent.state["optimizer"][0])
    assert steps_per_epoch > 0 and int(child.state["optimizer"][0]) == 3 * steps_per_epoch
    # Continuing lowers the training loss below the parent's first epoch.
    assert child.curve[0].loss < parent.curve[0].loss
    # A cold start of the same config from epoch 1 is a different model.
    cold = live_mnist.evaluate(CONFIG, 3, seed=11, initial_epoch=1)
    assert cold.curve[0].loss > child.curve[0].loss


@pytest.mark.parametrize("parallel", [False, True])
def test_a_resumed_runs_best_so_far_is_the_best_of_all_its_journaled_trials(parallel):
    """Resuming, the runs' best is that of every journaled trial, not of the last one."""
    from types import SimpleNamespace

    from tunebench.runner.monitor import SuiteMonitor

    stream = io.StringIO()
    task = SimpleNamespace(index=1, label="mnist-mlp/random/seed 0",
                           plan=SimpleNamespace(name="mnist-mlp", budget_epochs=10))
    monitor = SuiteMonitor(Progress(1, 10, stream=stream), parallel=parallel, tasks=[task])
    journaled = [SimpleNamespace(trial=number, val_accuracy=value, failed=False, epochs_used=2 * number,
                                 epochs_trained=2) for number, value in enumerate([0.5, 0.9, 0.7], start=1)]
    if parallel:
        monitor.resumed_later(task, journaled)
    monitor.start(task)
    if not parallel:
        monitor.resumed(task, journaled)
    monitor.finish(task, SimpleNamespace(summary=SimpleNamespace(epochs_used=6), status="budget_exhausted",
                                         error=None))
    monitor.close()
    assert "mnist-mlp/random/seed 0 done: best val_acc 0.9000, 6/10 epochs" in stream.getvalue()


def test_progress_line_and_silence_off_terminal():
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(total_runs=4, total_epochs=40, stream=stream, clock=lambda: now[0])
    assert not progress.enabled  # a StringIO is not a terminal
    progress.start_run(2, "mnist-mlp/tpe/seed 0", 10)
    progress.end_run()
    progress.start_run(3, "mnist-mlp/tpe/seed 1", 10)
    now[0] = 60.0
    line = progress.line(trial=3, best=0.91234, epochs_used=5)
    assert line == "run 3/4 mnist-mlp/tpe/seed 1 | trial 3 | best val_acc 0.9123 | epochs left 5/10 | ETA 1m40s"  # 15 of 40 epochs in 60 s
    progress.update(trial=3, best=0.9, epochs_used=5)
    assert stream.getvalue() == ""
    assert format_duration(3700) == "1h01m"


def test_list_shows_everything(capsys):
    assert main(["list"]) == 0
    words = set(capsys.readouterr().out.split())  # whole names: "tpe" must not pass inside "tpe-hyperopt"
    for name in list(STRATEGIES) + list(BENCHMARKS) + ["smoke", "default", "paper"]:
        assert name in words, name
