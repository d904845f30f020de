"""build_report on hand-made results whose numbers are known, and its input errors."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from report_fixture import make_run, manifest, write_results

from tunebench.errors import InputError
from tunebench.report import build_report
from tunebench.report.agreement import (
    agreement_headline,
    live_minus_replay,
    live_minus_replay_markdown,
    replay_agreement,
    replay_agreement_markdown,
)
from tunebench.report.audit import AUDIT_FULL_LIMIT, audit_markdown, budget_audit
from tunebench.report.figures_detail import class_names
from tunebench.report.ranking import TOO_FEW

BENCHMARK = "mnist-mlp"

# Best validation accuracy per seed 0..4. Per seed, tpe wins except seed 4 (grid's 0.99):
# mean ranks tpe (1+1+1+1+2)/5 = 1.2, random (2+2+2+2+3)/5 = 2.2, grid (3+3+3+3+1)/5 = 2.6.
BEST_VAL = {
    "tpe": [0.90, 0.91, 0.92, 0.93, 0.94],    # mean 0.92, IQM 0.92, std 0.0158
    "random": [0.86, 0.86, 0.86, 0.86, 0.86],  # mean 0.86
    "grid": [0.80, 0.81, 0.82, 0.83, 0.99],   # mean 0.85, IQM (0.81 + 0.82 + 0.83) / 3 = 0.82
}


def planned_run(strategy, seed):
    """Three 2-epoch trials, the second the best; three planted exceptions."""
    best = BEST_VAL[strategy][seed]
    if (strategy, seed) == ("random", 3):  # planted: 4 trials x 2 epochs = 8 > budget 6
        return make_run(BENCHMARK, strategy, seed, [best - 0.1, best, best - 0.05, best - 0.06])
    if (strategy, seed) == ("grid", 2):  # legitimately short: 4 of 6 epochs
        return make_run(BENCHMARK, strategy, seed, [best - 0.1, best], status="next_trial_exceeds_budget")
    if (strategy, seed) == ("tpe", 0):  # a failed trial after the three ok ones
        return make_run(BENCHMARK, strategy, seed, [best - 0.1, best, best - 0.05, 0.99],
                        trial_statuses=["ok", "ok", "ok", "failed"])
    return make_run(BENCHMARK, strategy, seed, [best - 0.1, best, best - 0.05])


def write_planned(directory, seeds=range(5)):
    runs = [planned_run(strategy, seed) for seed in seeds for strategy in BEST_VAL]
    return write_results(directory, runs, manifest(list(seeds), [BENCHMARK]))


def cells(report: str, first_cell: str, after: str = "") -> list[str]:
    """The cells of the first table row starting with ``first_cell`` (after the text ``after``)."""
    text = report[report.index(after):] if after else report
    for line in text.splitlines():
        parts = [part.strip() for part in line.strip().strip("|").split(" | ")]
        if line.startswith("|") and parts[0] == first_cell:
            return parts
    raise AssertionError(f"no row starting with {first_cell!r}")


def cost_row(report: str, first_cell: str) -> dict[str, str]:
    """The cost table's row for a strategy, keyed by column title."""
    after = "`overhead_seconds` (mean over seeds"  # the cost table's caption
    return dict(zip(cells(report, "strategy", after=after), cells(report, first_cell, after=after)))


@pytest.fixture(scope="module")
def five_seeds(tmp_path_factory):
    directory = write_planned(tmp_path_factory.mktemp("five"))
    paths = build_report(directory)
    return directory, paths, (directory / "report.md").read_text()


def test_report_and_figures_are_written_and_linked(five_seeds):
    directory, paths, report = five_seeds
    assert paths[-1] == directory / "report.md"
    figures = [path for path in paths if path.suffix == ".png"]
    assert len(figures) == 6  # anytime, final, cost, critical difference, sensitivity, incumbent
    for path in figures:
        assert path.parent == directory / "figures" and path.is_file()
        assert f"](figures/{path.name})" in report


def strategy_row(report: str, first_cell: str) -> dict[str, str]:
    """The strategy table's row for a strategy, keyed by column title."""
    return dict(zip(cells(report, "strategy", after="### Strategies"), cells(report, first_cell, after="### Strategies")))


def test_strategy_table_means_iqms_mean_ranks_and_normalised_regret(five_seeds):
    report = five_seeds[2]
    tpe = strategy_row(report, "tpe ★")
    assert tpe["mean rank"] == "1.20" and tpe["seeds"] == "5"
    assert tpe["best val accuracy: mean ± std"] == "0.9200 ± 0.0158"
    assert tpe["best val accuracy: IQM [95 % CI]"].startswith("0.9200 [")
    # the fixture's test accuracy runs against validation (1.6 - val): ranked first on validation
    # with the lowest test numbers, so a table ranked on test would put tpe last
    assert tpe["incumbent test accuracy: mean ± std"].startswith("0.6800 ± 0.0158")
    assert tpe["incumbent test macro-F1: mean ± std"].startswith("0.6700 ± ")
    grid = strategy_row(report, "grid")
    assert grid["mean rank"] == "2.60" and grid["best val accuracy: mean ± std"].startswith("0.8500 ± ")
    assert grid["best val accuracy: IQM [95 % CI]"].startswith("0.8200 [")
    random = strategy_row(report, "random")
    assert random["mean rank"] == "2.20" and random["best val accuracy: mean ± std"] == "0.8600 ± 0.0000"
    assert random["best val accuracy: IQM [95 % CI]"] == "0.8600 [0.8600, 0.8600]"
    # Normalised regret: 0 = the best run (grid's 0.99), 1 = random's median 0.86. tpe's seeds
    # 0.90..0.94 give (0.99 - v) / 0.13 = 0.69, 0.62, 0.54, 0.46, 0.38: median 0.54.
    column = "normalised regret: median [95 % CI]"
    assert tpe[column].startswith("0.54 [") and random[column] == "1.00 [1.00, 1.00]"
    assert grid[column].startswith("1.31 [")  # 1.46, 1.38, 1.31, 1.23, 0.00


def test_friedman_test_and_critical_difference_by_hand(five_seeds):
    # Mean ranks 1.2, 2.2, 2.6 over n = 5 seeds, k = 3: chi2 = 12*5/(3*4) * (1.44 + 4.84 + 6.76
    # - 12) = 5.2; F = 4 * 5.2 / (10 - 5.2) = 4.33 with (2, 8) df; CD = 2.343 * sqrt(12 / 30) = 1.48,
    # so all three lie within one critical difference.
    report = five_seeds[2]
    section = report[report.index("### All strategies at once"):report.index("### Paired")]
    p_value = scipy.stats.f.sf(20.8 / 4.8, 2, 8)
    assert f"χ² = 5.20, Iman-Davenport F = 4.33, p = {p_value:.4f}" in section
    assert "no evidence that the strategies' ranks differ" in section
    assert "critical difference** at 0.05: 1.48 ranks" in section
    assert "{tpe, random, grid}" in section
    headline = report[:report.index("## mnist-mlp")]
    assert f"no strategy stands out: no evidence the ranks differ (Friedman p = {p_value:.4f})" in headline
    assert "**no strategy stands out**: over 5 seeds the Friedman test finds no evidence" in headline
    assert (five_seeds[0] / "figures" / "mnist-mlp-critical-difference.png").is_file()


def test_strategies_are_sorted_by_mean_rank_and_the_winner_is_marked(five_seeds):
    report = five_seeds[2]
    section = report[report.index("### Strategies"):report.index("### Paired")]
    assert section.index("| tpe ★ |") < section.index("| random |") < section.index("| grid |")
    assert "★" not in cells(report, "grid", after="### Strategies")[0]
    # Friedman p = 0.053 over these 5 seeds: first by mean rank, but not named the winner.
    assert "none named (no evidence the ranks differ, Friedman p = 0.0531); first by mean rank: tpe (1.20)" in (
        report[:report.index("## mnist-mlp")])


def test_cost_table_counts_failed_trials(five_seeds):
    report = five_seeds[2]
    tpe = cost_row(report, "tpe ★")
    assert tpe["failed trials (total)"] == "1"
    assert tpe["trials to best (mean)"] == "2" and tpe["epochs to best (mean)"] == "4"
    assert tpe["trials (mean)"] == "3.2"  # 4 + 3 + 3 + 3 + 3 rows over 5 seeds
    assert cost_row(report, "grid")["failed trials (total)"] == "0"


def test_paired_comparisons_match_scipy_and_hand_effect_sizes(five_seeds):
    report = five_seeds[2]
    row = cells(report, "best val accuracy", after="### Paired")
    assert row[1] == "tpe − random" and row[2] == "5"
    assert row[3] == "+0.0600"  # differences 0.04 .. 0.08
    assert row[4] == "+1.00"
    expected_p = scipy.stats.wilcoxon(BEST_VAL["tpe"], BEST_VAL["random"]).pvalue
    assert row[5] == f"{expected_p:#.3g}" == "0.0625"  # exact: 2 / 2**5
    section = report[report.index("### Paired"):]
    grid_row = next(line for line in section.splitlines() if "| grid − random |" in line)
    # differences -0.06 -0.05 -0.04 -0.03 +0.13: R+ = 5, R- = 1+2+3+4 = 10, r = -5/15
    assert "| -0.0400 | -0.33 |" in grid_row


def test_audit_flags_the_planted_over_budget_run_only(five_seeds):
    report = five_seeds[2]
    audit = report[report.index("### Equal-budget audit"):]
    assert "1 of 15 runs flagged" in audit
    flagged = [line for line in audit.splitlines() if "⚠ over budget" in line]
    assert len(flagged) == 1 and flagged[0].startswith("| random | 3 |")
    short = next(line for line in audit.splitlines() if line.startswith("| grid | 2 |"))
    assert "next_trial_exceeds_budget" in short and "⚠" not in short


def test_reproducibility_block_comes_from_the_manifest(five_seeds):
    report = five_seeds[2]
    block = report[report.index("## Reproducibility"):]
    assert "`fixture`" in block and "Test CPU, 2 cores" in block and "GPUs: none" in block
    assert "`0123abcd`" in block and "test fixture" in block and "no warm starts in this fixture" in block


def test_three_seeds_are_too_few_for_a_test(tmp_path):
    write_planned(tmp_path, seeds=range(3))
    build_report(tmp_path)
    report = (tmp_path / "report.md").read_text()
    row = cells(report, "best val accuracy", after="### Paired")
    assert row[1] == "tpe − random" and row[2] == "3" and row[5] == TOO_FEW
    assert row[3] == "+0.0500"  # differences 0.04, 0.05, 0.06: still shown
    assert "n < 5: too few seeds for a test (n = 3)" in report


def test_budget_audit_flags_each_kind_of_unequal_budget():
    runs = pd.DataFrame({
        "benchmark": "b", "strategy": ["ok", "bigger", "ledger", "early", "odd", "capped"], "seed": 0,
        "status": ["budget_exhausted", "budget_exhausted", "budget_exhausted", "budget_exhausted", "crashed",
                   "time_cap"],
        "budget_epochs": [6.0, 9.0, 6.0, 6.0, 6.0, 6.0],
        "epochs_used": [6.0, 9.0, 6.0, 4.0, 4.0, 2.0],
    })
    trials = pd.DataFrame({"benchmark": "b", "strategy": ["ok", "bigger", "ledger", "early", "odd", "capped"],
                           "seed": 0, "epochs_trained": [6.0, 9.0, 5.0, 4.0, 4.0, 2.0]})
    flags = dict(zip(runs["strategy"], budget_audit(runs, trials)["flags"]))
    assert flags["ok"] == [] and flags["capped"] == []
    assert flags["bigger"] == ["budget differs from the benchmark's other runs"]
    assert flags["ledger"] == ["trials' epochs_trained do not add up to epochs_used"]
    assert flags["early"] == ["budget_exhausted with epochs left"]
    assert flags["odd"] == ["under budget, status 'crashed' is not a known reason"]


def test_a_long_audit_lists_only_flagged_runs_and_counts_the_rest():
    seeds = AUDIT_FULL_LIMIT + 10
    runs = pd.DataFrame({"benchmark": "b", "strategy": "s", "seed": range(seeds), "status": "budget_exhausted",
                         "budget_epochs": 6.0, "epochs_used": 6.0})
    runs.loc[7, "epochs_used"] = 7.0
    trials = runs[["benchmark", "strategy", "seed"]].assign(epochs_trained=runs["epochs_used"])
    text = audit_markdown(budget_audit(runs, trials))
    assert f"1 of {seeds} runs flagged" in text
    rows = [line for line in text.splitlines() if line.startswith("| s |")]
    assert rows[0].startswith("| s | 7 |") and "⚠ over budget" in rows[0]
    assert rows[1] == f"| s | budget_exhausted | {seeds} | 6 | 6–7 | 1 |"  # the per-status count
    assert len(rows) == 2


def test_class_names_come_from_the_manifest_or_fall_back_to_indices():
    with_names = {"data": {"fer-cnn": {"class_names": ["Angry", "Happy"]}}}
    assert class_names(with_names, "fer-cnn", 2) == ["Angry", "Happy"]
    assert class_names(with_names, "fer-cnn", 3) == ["0", "1", "2"]
    assert class_names({"data": {"fer-cnn": {"sizes": {}}}}, "fer-cnn", 2) == ["0", "1"]


# --------------------------------------------------------------------------- bad input


def drop_column(path, column):
    frame = pd.read_csv(path)
    frame.drop(columns=[column]).to_csv(path, index=False)


def set_cell(path, column, row, value):
    frame = pd.read_csv(path, dtype=str)
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)


def write_manifest(path, text):
    path.write_text(text)


BAD_INPUTS = {
    "missing file": (lambda d: (d / "trials.csv").unlink(), ["trials.csv", "not found"]),
    "missing column": (lambda d: drop_column(d / "runs.csv", "best_val_accuracy"),
                       ["runs.csv", "missing column 'best_val_accuracy'"]),
    "missing trial column": (lambda d: drop_column(d / "trials.csv", "epochs_trained"),
                             ["trials.csv", "'epochs_trained'"]),
    "non-numeric cell": (lambda d: set_cell(d / "runs.csv", "epochs_used", 1, "lots"),
                         ["runs.csv", "'epochs_used'", "line 3", "'lots'"]),
    "non-numeric curve cell": (lambda d: set_cell(d / "curves.csv", "val_accuracy", 0, "n/a?"),
                               ["curves.csv", "'val_accuracy'"]),
    "manifest not json": (lambda d: write_manifest(d / "manifest.json", "{not json"),
                          ["manifest.json", "not valid JSON"]),
    "manifest other schema": (lambda d: write_manifest(d / "manifest.json", json.dumps({"schema_version": 99})),
                              ["manifest.json", "schema_version 99"]),
    "empty runs": (lambda d: (d / "runs.csv").write_text(",".join(pd.read_csv(d / "runs.csv").columns) + "\n"),
                   ["runs.csv", "no runs"]),
    "empty file": (lambda d: (d / "curves.csv").write_text(""), ["curves.csv", "empty"]),
    "manifest data not an object": (
        lambda d: write_manifest(d / "manifest.json", json.dumps(json.loads((d / "manifest.json").read_text())
                                                                 | {"data": [1, 2]})),
        ["manifest.json", "'data' must be a JSON object"]),
    "manifest data entry not an object": (
        lambda d: write_manifest(d / "manifest.json", json.dumps(json.loads((d / "manifest.json").read_text())
                                                                 | {"data": {"mnist-mlp": "x"}})),
        ["manifest.json", "data['mnist-mlp'] must be a JSON object"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_input_error_naming_the_file_and_writes_nothing(tmp_path, case):
    damage, expected = BAD_INPUTS[case]
    write_planned(tmp_path)
    damage(tmp_path)
    with pytest.raises(InputError) as raised:
        build_report(tmp_path)
    message = str(raised.value)
    for fragment in expected:
        assert fragment in message
    assert str(tmp_path) in message
    assert not (tmp_path / "report.md").exists() and not (tmp_path / "figures").exists()


def test_unknown_trial_statuses_and_extra_columns_are_tolerated(tmp_path):
    write_planned(tmp_path, seeds=range(2))
    trials = pd.read_csv(tmp_path / "trials.csv")
    first_tpe_trial = trials.index[(trials["strategy"] == "tpe") & (trials["seed"] == 0)][0]
    set_cell(tmp_path / "trials.csv", "status", first_tpe_trial, "diverged")
    runs = pd.read_csv(tmp_path / "runs.csv")
    runs.assign(note="extra column").to_csv(tmp_path / "runs.csv", index=False)
    build_report(tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert cost_row(report, "tpe ★")["failed trials (total)"] == "2"  # the planted failed trial and the diverged one


def test_a_run_without_a_completed_trial_ranks_last_and_a_lone_strategy_is_reported(tmp_path):
    runs = [make_run("b", "tpe", 0, [0.5, 0.6]),
            make_run("b", "random", 0, [0.1, 0.2], trial_statuses=["failed", "failed"]),
            make_run("solo", "tpe", 0, [0.3])]
    write_results(tmp_path, runs, manifest([0], ["b", "solo"]))
    build_report(tmp_path)
    report = (tmp_path / "report.md").read_text()
    random = cells(report, "random", after="## b")
    assert random[1] == "2.00" and random[3] == "–" and random[4] == "–"  # no regret (random failed), no value
    assert cost_row(report[report.index("## b"):], "random")["failed trials (total)"] == "2"
    assert "budget_exhausted with epochs left" in report[report.index("## b"):report.index("## solo")]
    assert cells(report, "solo")[-2:] == ["only one strategy", "not tested (too few seeds)"]


def test_a_figures_path_that_is_a_file_is_refused_before_anything_is_written(tmp_path):
    write_planned(tmp_path)
    (tmp_path / "figures").write_text("not a folder")
    with pytest.raises(InputError, match="figures exists and is not a folder"):
        build_report(tmp_path)
    assert not (tmp_path / "report.md").exists() and (tmp_path / "figures").read_text() == "not a folder"


def test_files_that_do_not_match_the_manifest_are_refused_unless_told_otherwise(tmp_path, capsys):
    import hashlib

    from tunebench.cli import main

    write_planned(tmp_path)
    listed = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
              for name in ("runs.csv", "trials.csv", "curves.csv")}
    meta = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps(meta | {"files": listed}))
    assert main(["report", str(tmp_path)]) == 0  # matching files: fine
    set_cell(tmp_path / "runs.csv", "best_val_accuracy", 0, "0.99")
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "runs.csv does not match the sha256 in manifest.json" in err and "--ignore-checksums" in err
    assert main(["report", str(tmp_path), "--ignore-checksums"]) == 0


# --------------------------------------------------------------------------- honest summary


def test_a_benchmark_at_the_majority_share_is_flagged_as_no_signal_and_names_no_winner(tmp_path):
    """Validation class counts where one class holds 99 of 100 examples: the best result
    (0.99) is not clearly above always answering it."""
    write_planned(tmp_path)
    meta = json.loads((tmp_path / "manifest.json").read_text())
    meta["data"][BENCHMARK]["class_counts"] = {str(seed): {"val": [99, 1, 0], "test": [6, 9, 8]} for seed in range(5)}
    (tmp_path / "manifest.json").write_text(json.dumps(meta))
    build_report(tmp_path)
    report = (tmp_path / "report.md").read_text()
    summary = report[report.index("## Summary"):report.index(f"## {BENCHMARK}")]
    assert f"⚠ **{BENCHMARK}**" in summary and "carries **no signal**" in summary
    assert "majority class 'cat' = 0.990 of 100 validation examples" in summary
    assert "none named (no signal); first by mean rank: tpe" in summary and "**tpe**" not in summary
    section = report[report.index("### Strategies"):]
    assert "carries **no signal**" in section and "| tpe ★ |" in section


def test_with_signal_and_five_seeds_the_majority_line_is_shown(five_seeds):
    _, _, report = five_seeds
    summary = report[report.index("## Summary"):report.index(f"## {BENCHMARK}")]
    assert "first by mean rank: tpe (1.20)" in summary and "yes: best 0.9900 >" in summary
    assert "majority class 'dog' = 0.391 of 23 test examples" in report  # from the test confusion matrices
    assert "Dotted: the majority class 'dog'" in report  # the anytime and final figures draw the line


def test_too_few_seeds_name_no_winner_in_the_summary(tmp_path):
    write_planned(tmp_path, seeds=range(2))
    build_report(tmp_path)
    report = (tmp_path / "report.md").read_text()
    summary = report[report.index("## Summary"):report.index(f"## {BENCHMARK}")]
    assert "2 seeds, too few for a test" in summary and "none named (2 seeds < 5)" in summary
    assert "**tpe**" not in summary


def test_replay_agreement_ranks_strategies_on_the_shared_seeds_only():
    def rows(benchmark, seeds, values, budget=20):
        return [{"benchmark": benchmark, "strategy": strategy, "seed": seed, "budget_epochs": budget,
                 "best_val_accuracy": value} for seed in seeds for strategy, value in values.items()]
    runs = pd.DataFrame(
        rows("b", [0, 1], {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6})
        + rows("b@replay", [0, 1], {"a": 0.9, "b": 0.8, "c": 0.6, "d": 0.7})  # c and d swapped
        + rows("b@replay", [2, 3], {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4})  # not shared with live: ignored
        + rows("b@replay", [0, 1], {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}, budget=100)  # another budget: ignored
        + rows("other", [0], {"a": 0.5, "b": 0.4, "c": 0.3})  # no replay twin
        + rows("x", [0], {"a": 0.5, "b": 0.4, "c": 0.3}) + rows("x@replay", [0], {"a": 0.5, "b": 0.4, "c": 0.3}, budget=9))
    agreement = replay_agreement(runs)
    assert list(agreement["live"]) == ["b"]  # "x" differs in budget
    row = agreement.iloc[0]
    # 6 pairs of strategies, one discordant (c, d): tau = (5 - 1) / 6.
    assert row.seeds == 2 and row.strategies == 4 and row.kendall_tau == pytest.approx(4 / 6)
    assert row.live_order == ["a", "b", "c", "d"] and row.replay_order == ["a", "b", "d", "c"]
    text = replay_agreement_markdown(agreement)
    assert "| b@replay against b | 2 | +0.67 |" in text and "a > b > d > c" in text
    assert replay_agreement_markdown(replay_agreement(runs[runs.benchmark == "other"])) == ""
    assert np.isnan(row.tau_low) and row.live_verdict is None and not row.same_verdict  # 2 seeds: too few


def test_replay_agreement_gives_taus_interval_each_sides_verdict_and_live_minus_replay():
    seeds = range(10)
    live = {"a": 0.90, "b": 0.80, "c": 0.70, "d": 0.60}
    runs = pd.DataFrame(
        [{"benchmark": "b", "strategy": s, "seed": seed, "budget_epochs": 20, "best_val_accuracy": v + seed / 1000}
         for seed in seeds for s, v in live.items()]
        + [{"benchmark": "b@replay", "strategy": s, "seed": seed, "budget_epochs": 20,
            "best_val_accuracy": v - 0.05 + (0.3 if (s, seed % 2) == ("d", 0) else 0)}  # d first on even seeds
           for seed in seeds for s, v in live.items()])
    row = replay_agreement(runs).iloc[0]
    assert row.kendall_tau < 1 and row.tau_low <= row.kendall_tau <= row.tau_high < 1 + 1e-12
    assert row.live_verdict[0] == "a" and "d" not in row.live_verdict
    assert row.live_verdict != row.replay_verdict and not row.same_verdict
    differences = live_minus_replay(runs).set_index("strategy")
    assert differences.loc["a", "difference"] == pytest.approx(0.05 + 0.0045)
    assert differences.loc["a", "low"] <= differences.loc["a", "difference"] <= differences.loc["a", "high"]
    assert differences.loc["d", "difference"] < 0 < differences.loc["a", "low"]
    assert "live − replay [95 % CI]" in live_minus_replay_markdown(live_minus_replay(runs))
    twin = runs[runs.benchmark == "b"]  # a replay that answers exactly as live: the same verdict
    assert replay_agreement(pd.concat([twin, twin.assign(benchmark="b@replay")])).iloc[0].same_verdict
    line = agreement_headline(replay_agreement(runs), live_minus_replay(runs))  # the report's first screen
    assert line.startswith("- **Replay against live**, b@replay against b (10 shared seeds): the rank tests disagree")
    assert "replay answers apart from training beyond the noise for 4 of 4 strategies (live − replay a +0.0545, " in line
    same = pd.concat([twin, twin.assign(benchmark="b@replay")])
    assert "within the noise of training" in agreement_headline(replay_agreement(same), live_minus_replay(same))


def test_an_unfinished_validation_folder_is_named_with_its_progress(tmp_path):
    directory = write_planned(tmp_path / "results")
    staging = tmp_path / "live" / ".partial"
    (staging / "runs").mkdir(parents=True)
    (staging / "header.json").write_text(json.dumps({"suite": {"seeds": [0, 1], "strategies": ["a", "b"],
                                                               "benchmarks": [{"name": "m", "seeds": None}]}}))
    (staging / "runs" / "0001.jsonl").write_text('{"kind": "trial"}\n{"kind": "run"}\n')
    (staging / "runs" / "0002.jsonl").write_text('{"kind": "trial"}\n')
    build_report(directory, validation=[tmp_path / "live", tmp_path / "replay"])
    report = (directory / "report.md").read_text()
    assert f"{tmp_path / 'live'}: not finished yet (1 of 4 runs done)" in report
    assert f"{tmp_path / 'replay'}: not made yet" in report


def test_aggregate_ranking_averages_benchmarks_and_says_how_sure_by_bootstrap(tmp_path):
    # "one": tpe first on every seed; "two": random first on every seed; "live": 1 seed, left out.
    runs = ([make_run("one", strategy, seed, [value]) for seed in range(5)
             for strategy, value in (("tpe", 0.9), ("random", 0.8), ("grid", 0.7))]
            + [make_run("two", strategy, seed, [value]) for seed in range(6)
               for strategy, value in (("tpe", 0.8), ("random", 0.9), ("grid", 0.7))]
            + [make_run("live", strategy, 0, [0.5]) for strategy in ("tpe", "random", "grid")])
    write_results(tmp_path, runs, manifest(list(range(6)), ["one", "two", "live"]))
    build_report(tmp_path)
    report = (tmp_path / "report.md").read_text()
    section = report[report.index("### Across benchmarks"):report.index("## one")]
    assert "mean rank on live" not in section  # 1 seed: too few to weigh in
    # tpe ranks 1 and 2, random 2 and 1: both 1.5 in every resample, so each is first half the time.
    assert cells(section, "tpe")[1:] == ["1.00", "2.00", "1.50 [1.50, 1.50]", "50%"]
    assert cells(section, "random")[1:] == ["2.00", "1.00", "1.50 [1.50, 1.50]", "50%"]
    assert cells(section, "grid")[1:] == ["3.00", "3.00", "3.00 [3.00, 3.00]", "0%"]
    # "one": ranks 1, 2, 3 on every seed: chi2 = 10, F infinite, p = 0; CD = 2.343 * sqrt(12 / 30) = 1.48.
    assert cells(report, "one")[-1] == "best: tpe, random (within CD 1.48 of tpe); Friedman p < 0.001; worse: grid"
    assert cells(report, "one")[4] == "**tpe** (1.00)"  # signal, 5 seeds and ranks that differ: a winner is named
    assert cells(report, "two")[-1] == "best: random, tpe (within CD 1.35 of random); Friedman p < 0.001; worse: grid"


def test_the_report_command_ends_with_a_summary_that_traces_to_runs_csv(tmp_path, capsys):
    """Per benchmark the rank test's verdict, then per strategy (best mean rank first) the
    medians over seeds of runs.csv's best_val_accuracy and test_accuracy."""
    from tunebench.cli import main

    write_planned(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    runs = pd.read_csv(tmp_path / "runs.csv")
    medians = runs.groupby("strategy")[["best_val_accuracy", "test_accuracy"]].median()
    start = next(i for i, line in enumerate(out) if line.startswith(f"{BENCHMARK} (5 seeds): "))
    assert "Friedman" in out[start]
    listed = out[start + 1:start + 1 + len(BEST_VAL)]
    assert [line.split()[0] for line in listed] == ["tpe", "random", "grid"]  # mean ranks 1.2, 2.2, 2.6
    for line in listed:
        strategy, val, test = line.split()[0], float(line.split()[4]), float(line.split()[6])
        assert val == pytest.approx(medians.loc[strategy, "best_val_accuracy"], abs=5e-5)
        assert test == pytest.approx(medians.loc[strategy, "test_accuracy"], abs=5e-5)
    assert out[-1].startswith("wrote ") and out[-1].split()[1].endswith("report.md")
