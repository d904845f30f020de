"""End to end on the real datasets: `tunebench run smoke` as a user runs it, then its seed 1 of
mnist-mlp again.

The second run repeats one seed of one benchmark only (a quarter of the time): the same
trials apart from timing show that a run on the real data is reproducible, and that a run's
results depend neither on the other seeds nor on the other benchmark run beside it.

Skipped when the real data is absent (see conftest.real_data_dir).
"""

import subprocess
import sys

import pandas as pd
import pytest

from tunebench.schema import without_timing
from tunebench.strategies import STRATEGIES
from tunebench.suite import load_suite

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def run_smoke(data_dir, out, *extra):
    command = [sys.executable, "-m", "tunebench.cli", "run", "smoke", "--data-dir", str(data_dir), "--out", str(out),
               *extra]
    # Not from the repository root, where the source folder tunebench/ would shadow the
    # installed package (whose subpackages live in other top-level folders).
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=out.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def two_smoke_runs(real_data_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("smoke")
    return run_smoke(real_data_dir, base / "a"), run_smoke(real_data_dir, base / "b", "--seeds", "1,", "--benchmarks", "mnist-mlp")


def test_smoke_covers_every_run_within_equal_budgets(two_smoke_runs):
    out = two_smoke_runs[0]
    suite = load_suite("smoke")
    runs = pd.read_csv(out / "runs.csv")
    expected = {(b.name, s, seed) for b in suite.benchmarks for s in STRATEGIES for seed in suite.seeds}
    assert set(zip(runs.benchmark, runs.strategy, runs.seed)) == expected
    assert (runs.epochs_used <= runs.budget_epochs).all() and (runs.epochs_used > 0).all()
    assert runs.groupby("benchmark").budget_epochs.nunique().eq(1).all()
    assert runs.fidelity.str.startswith("reduced").all()
    trials = pd.read_csv(out / "trials.csv")
    assert trials.val_accuracy.between(0, 1).all()
    # MNIST is learnable even on the smoke subset: some trial beats chance clearly.
    assert trials[trials.benchmark == "mnist-mlp"].val_accuracy.max() > 0.3


def test_a_seed_run_again_alone_gives_the_same_trials_apart_from_timing(two_smoke_runs):
    first, second = two_smoke_runs
    for name in ("trials.csv", "curves.csv", "runs.csv"):
        again = without_timing(pd.read_csv(second / name))
        assert set(again.seed) == {1} and set(again.benchmark) == {"mnist-mlp"}
        seed_1 = without_timing(pd.read_csv(first / name)).query("seed == 1 and benchmark == 'mnist-mlp'")
        seed_1 = seed_1.dropna(axis="columns", how="all").reset_index(drop=True)
        again = again.dropna(axis="columns", how="all")
        # fer-cnn's rows in the first run make mnist-mlp's integer columns floats there (NaN)
        pd.testing.assert_frame_equal(seed_1, again, check_dtype=False)


def _trained_val_accuracy(real_data_dir, table: dict, config: dict, epochs: int) -> tuple[float, object]:
    """One configuration trained through the live harness on the real data; its last epoch's
    validation accuracy and the validation labels it was measured on."""
    from tunebench.from_plan import build_benchmark, load_run_data
    from tunebench.seeding import RunSeeds
    from tunebench.suite import parse_suite

    name = next(iter(table))
    plan = parse_suite({"name": "bars", "seeds": [0], "strategies": ["random"], "benchmarks": table},
                       source="(test)").benchmarks[0]
    benchmark = build_benchmark(plan, 0, real_data_dir)
    evaluation = benchmark.evaluate(config, epochs, RunSeeds(name, 0).training(config))
    return evaluation.curve[-1].val_accuracy, load_run_data(plan, real_data_dir, 0).y_val


def test_the_mnist_mlp_learns_mnist_to_90_percent_in_one_epoch(real_data_dir):
    """The seed study's network at the centres of its ID's ranges, on the full data: a harness
    that trained on shuffled labels, or on the wrong split, would stay near 0.1."""
    config = {"units_1": 57, "units_2": 93, "units_3": 50, "units_4": 22, "dropout_1": 0.1, "dropout_2": 0.1,
              "dropout_3": 0.1, "dropout_4": 0.1, "learning_rate": 1e-3}
    accuracy, _ = _trained_val_accuracy(real_data_dir, {"mnist-mlp": {"max_epochs": 1, "trials": 1}}, config, 1)
    assert accuracy >= 0.9


def test_the_fer_cnn_beats_the_majority_class_on_a_subset(real_data_dir):
    """FER2013's majority class (Happy) is a quarter of the validation split: a network that
    learned nothing predicts it and scores exactly its share."""
    import numpy as np

    config = {"conv_layers": 2, "filters_1": 64, "filters_2": 64, "dense_units": 256, "learning_rate": 1e-3}
    table = {"fer-cnn": {"max_epochs": 4, "trials": 1, "subset": {"train": 12000, "val": 1500, "test": 500}}}
    accuracy, labels = _trained_val_accuracy(real_data_dir, table, config, 4)
    majority = np.bincount(labels).max() / len(labels)
    assert accuracy > majority + 0.02, (accuracy, majority)
