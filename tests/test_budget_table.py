"""The report's budget x workers table on hand-made runs whose answer is known: one strategy
leads early and another late, so the table's rows must differ."""

import json

import pytest
from report_fixture import make_run, manifest, write_results

from tunebench.errors import InputError
from tunebench.report import build_report
from tunebench.report.budgets import best_at_budget, budget_recommendations, budgets_of
from tunebench.report.recommendation import NONE_STANDS_OUT, recommendation_cell
from tunebench.results_dir import load_results

BENCHMARK = "mnist-mlp@replay"
SEEDS = range(8)
TRIALS = 30  # two-epoch trials: a budget of 60 epochs, answered at 10 and 30 trials' epochs


def curve(strategy: str, seed: int) -> list[float]:
    """Per trial validation accuracy: tpe is best from the start, random catches up and
    passes it after 10 trials, grid is flat and worst."""
    shift = seed / 1000
    if strategy == "tpe":
        return [0.90 + shift] * TRIALS
    if strategy == "random":
        return [0.50 + shift] * 10 + [0.95 + shift] * (TRIALS - 10)
    return [0.40 + shift] * TRIALS


def write(directory, workers=None, strategies=("tpe", "random", "grid")):
    runs = [make_run(BENCHMARK, s, seed, curve(s, seed), budget=2 * TRIALS) for seed in SEEDS for s in strategies]
    data = manifest(list(SEEDS), [BENCHMARK])
    plan = {"name": BENCHMARK, "max_epochs": 2, "random_start": 10}
    data["suite"]["benchmarks"] = [plan | ({"simulated_workers": workers} if workers else {})]
    return write_results(directory, runs, data)


def test_the_best_at_a_budget_counts_only_the_trials_it_pays_for(tmp_path):
    data = load_results(write(tmp_path))
    at_ten = best_at_budget(data.trials, 10 * 2).set_index(["strategy", "seed"])["best_val_accuracy"]
    assert at_ten["random", 3] == pytest.approx(0.503) and at_ten["tpe", 3] == pytest.approx(0.903)
    at_eleven = best_at_budget(data.trials, 11 * 2).set_index(["strategy", "seed"])["best_val_accuracy"]
    assert at_eleven["random", 3] == pytest.approx(0.953)


def test_each_budget_names_its_own_best_group_and_each_worker_count_a_column(tmp_path):
    one, four = load_results(write(tmp_path / "one")), load_results(write(tmp_path / "four", workers=4))
    table = budget_recommendations([one, four])
    assert list(zip(table["budget_trials"], table["workers"])) == [(10, 1), (10, 4), (30, 1), (30, 4)]
    best = {(row.budget_trials, row.workers): row.ranks.best_group for row in table.itertuples()}
    assert best[10, 1][0] == "tpe" and "grid" not in best[10, 1]
    assert best[30, 1][0] == "random" and "grid" not in best[30, 1]
    assert (table["seeds"] == len(SEEDS)).all() and table["fixed_start"].all()
    with pytest.raises(InputError, match="in two results folders"):
        budget_recommendations([one, one])


def test_the_report_opens_with_the_table(tmp_path):
    directory = write(tmp_path / "one")
    build_report(directory, other_workers=[write(tmp_path / "four", workers=4)])
    report = (directory / "report.md").read_text()
    table = report[report.index("## Which strategy, at which budget"):report.index("## Summary")]
    assert "| budget (trials' epochs) | 1 worker | 4 workers |" in table
    ten = next(line for line in table.splitlines() if line.startswith("| 10 |"))
    assert ten.count("**tpe") == 2, ten


def test_a_cell_says_when_no_strategy_stands_out(tmp_path):
    runs = [make_run(BENCHMARK, s, seed, [0.9 + (seed * 7 + i) % 5 / 1000 for i in range(3)], budget=6)
            for seed in SEEDS for s in ("tpe", "random")]
    data = manifest(list(SEEDS), [BENCHMARK])
    data["suite"]["benchmarks"] = [{"name": BENCHMARK, "max_epochs": 2}]
    table = budget_recommendations([load_results(write_results(tmp_path, runs, data))])
    assert recommendation_cell(table["ranks"].iloc[0]).startswith(NONE_STANDS_OUT)
    assert not table["fixed_start"].any()


def test_the_budgets_are_those_below_the_runs_and_its_own():
    assert budgets_of(100) == [10, 30, 100] and budgets_of(50) == [10, 30, 50] and budgets_of(8) == [8]


def test_a_table_of_runs_with_a_seconds_budget_says_so(tmp_path):
    plain = tmp_path / "plain"
    directory = write(plain)
    build_report(directory)
    assert "simulated seconds" not in (directory / "report.md").read_text()
    timed = write(tmp_path / "timed")
    manifest_path = timed / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["suite"]["benchmarks"][0] |= {"budget_seconds": 900, "simulated_workers": 1}
    manifest_path.write_text(json.dumps(data))
    assert budget_recommendations([load_results(timed)])["budget_seconds"].eq(900).all()
    build_report(timed)
    report = (timed / "report.md").read_text()
    assert "These runs also had 900 simulated seconds (`budget_seconds`)" in report
