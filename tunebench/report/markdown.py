"""The report's markdown sections of the computed tables (:mod:`tunebench.report.analysis`):
they only format, with :mod:`tunebench.report.formatting`; every number comes from a CSV column
the caption names."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from tunebench.report.analysis import BenchmarkTables
from tunebench.report.chance import SIGNAL_SE
from tunebench.report.formatting import (
    WARNING,
    WINNER,
    fmt_accuracy,
    fmt_count,
    fmt_iqm_ci,
    fmt_mean_std,
    fmt_p,
    fmt_regret,
    fmt_seconds,
    fmt_signed,
    markdown_table,
    p_equation,
)
from tunebench.report.ranking import (
    ACCURACY_METRICS,
    ALPHA,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    COMPARISON_METRICS,
    COST_METRICS,
    RANK_METRIC,
    REGRET,
    TOO_FEW,
)
from tunebench.results_dir import ResultsData
from tunebench.stats import (
    MIN_SEEDS_FOR_TEST,
)


def aggregate_markdown(ranking: pd.DataFrame) -> str:
    """The across-benchmarks table with its caption, or ``""`` when there is none."""
    if ranking.empty:
        return ""
    benchmarks = [column.removeprefix("mean_rank_") for column in ranking.columns if column.startswith("mean_rank_")]
    header = ["strategy"] + [f"mean rank on {name}" for name in benchmarks] + [
        "aggregate rank [95 % CI]", "chance of ranking first"]
    rows = [[strategy] + [f"{row[f'mean_rank_{name}']:.2f}" for name in benchmarks]
            + [f"{row['aggregate_rank']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]", f"{row['p_first']:.0%}"]
            for strategy, row in ranking.iterrows()]
    caption = (f"*Across benchmarks (those with at least {MIN_SEEDS_FOR_TEST} seeds, equal weight): each strategy's "
               "mean rank of `best_val_accuracy` (`runs.csv`, ranked within each seed, 1 = best), averaged over the "
               f"benchmarks. The interval and the chance of ranking first come from {BOOTSTRAP_RESAMPLES:,} bootstrap "
               "resamples of each benchmark's seeds: a chance well below 100 % means another set of seeds could "
               "well crown another strategy.*")
    return "### Across benchmarks\n\n" + caption + "\n\n" + markdown_table(header, rows)


def strategy_label(tables: BenchmarkTables, strategy: str) -> str:
    """The strategy's name, bold with a star for the winner(s) (a plain star when no winner
    can be named: too few seeds or no signal)."""
    if strategy not in tables.winners:
        return strategy
    return f"**{strategy}** {WINNER}" if tables.names_a_winner else f"{strategy} {WINNER}"


def accuracy_markdown(tables: BenchmarkTables) -> str:
    """The per-strategy accuracy table, best mean rank first, with its caption."""
    summary = tables.summary
    header = ["strategy", "mean rank", "seeds", "normalised regret: median [95 % CI]"]
    for label in ACCURACY_METRICS.values():
        header += [f"{label}: mean ± std", f"{label}: IQM [95 % CI]"]
    rows = []
    for strategy, row in summary.iterrows():
        cells = [strategy_label(tables, strategy), f"{row['mean_rank']:.2f}", fmt_count(row["seeds"]),
                 fmt_regret(row[f"{REGRET}_median"], row[f"{REGRET}_ci_low"], row[f"{REGRET}_ci_high"])]
        for metric in ACCURACY_METRICS:
            cells += [fmt_mean_std(row[f"{metric}_mean"], row[f"{metric}_std"]),
                      fmt_iqm_ci(row[f"{metric}_iqm"], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"],
                                 int(row["seeds"]))]
        rows.append(cells)
    caption = ("*Source: `runs.csv` columns `best_val_accuracy`, `test_accuracy`, `test_f1` (one value per "
               "seed; accuracy as a fraction). Mean ± sample standard deviation; IQM = interquartile "
               "(25-75 % trimmed) mean with a 95 % percentile-bootstrap interval "
               f"({BOOTSTRAP_RESAMPLES:,} resamples, seed {BOOTSTRAP_SEED}). Mean rank: rank by "
               f"`best_val_accuracy` within each seed (1 = best, ties averaged), averaged over seeds; "
               f"{WINNER} = lowest mean rank (bold only when a winner can be named). Normalised regret of "
               "`best_val_accuracy` per seed: 0 = the best run of this benchmark, 1 = the median of random "
               "search, so 0.5 closes half the gap from random search to the best seen (median over seeds, "
               "95 % bootstrap interval; – without random search).*")
    return caption + "\n\n" + markdown_table(header, rows) + "\n\n" + chance_markdown(tables)


def chance_markdown(tables: BenchmarkTables) -> str:
    """One sentence: the majority-class line and whether the benchmark clears it."""
    line = tables.majority
    if line is None:
        return "*Majority-class line: unknown (these results record no class counts).*"
    text = (f"**Majority-class line:** {line.describe()}: a model that always answers that class scores "
            f"{fmt_accuracy(line.share)} accuracy. Signal: {signal_text(tables)}.")
    if tables.no_signal:
        text += (" This benchmark's comparison carries **no signal**: its best configuration is not clearly better "
                 "than that constant answer, so its ranking says nothing about the strategies.")
    return text


def cost_markdown(tables: BenchmarkTables) -> str:
    """The per-strategy cost table, in the same order as the accuracy table, with its caption."""
    header = ["strategy"] + [f"{label} (mean)" for label in COST_METRICS.values()] + ["failed trials (total)"]
    rows = []
    for strategy, row in tables.summary.iterrows():
        cells = [strategy_label(tables, strategy)]
        cells += [fmt_seconds(row[m]) if m.endswith("seconds") else fmt_count(row[m]) for m in COST_METRICS]
        rows.append(cells + [fmt_count(row["failed_trials"])])
    caption = ("*Source: `runs.csv` columns " + ", ".join(f"`{m}`" for m in COST_METRICS)
               + " (mean over seeds; seconds are wall clock); failed trials: `trials.csv` rows whose "
               "`status` is not `ok`, summed over seeds. Epochs to best is the epoch ledger "
               "(`epochs_used`) when the incumbent finished.*")
    return caption + "\n\n" + markdown_table(header, rows)


def rank_test_markdown(tables: BenchmarkTables) -> str:
    """The Friedman test and the Nemenyi critical difference, in words a practitioner reads."""
    ranks = tables.ranks
    test = ranks.friedman
    if test.too_few:
        return (f"*{test.n} seed{'s' if test.n != 1 else ''} and {test.k} "
                f"strateg{'ies' if test.k != 1 else 'y'}: the Friedman test needs at least "
                f"{MIN_SEEDS_FOR_TEST} seeds and 2 strategies, so it was not run.*")
    verdict = ("the strategies' ranks differ more than chance would make them" if ranks.ranks_differ
               else "no evidence that the strategies' ranks differ")
    lines = [f"**Friedman test** over {test.n} seeds and {test.k} strategies: {verdict} "
             f"(χ² = {test.chi_square:.2f}, Iman-Davenport F = {test.f_statistic:.2f}, {p_equation(test.p_value)}).",
             f"**Nemenyi critical difference** at {ALPHA:g}: {ranks.critical_difference:.2f} ranks. Two strategies "
             "whose mean ranks differ by at least this much differ, with every pair tested at once."]
    if ranks.groups:
        lines.append("Not told apart (mean ranks within the critical difference): "
                     + "; ".join("{" + ", ".join(group) + "}" for group in ranks.groups) + ".")
    else:
        lines.append("Every pair of strategies is told apart.")
    caption = ("*Source: `runs.csv` `best_val_accuracy`, ranked within each seed (1 = best, a missing run last). "
               "The Friedman test asks whether any strategy ranks consistently better or worse than the others; "
               "the critical difference (Demšar 2006) says which pairs the data tell apart; bars in the "
               "critical-difference figure join strategies it cannot.*")
    return caption + "\n\n" + "\n".join(f"- {line}" for line in lines)


def comparisons_markdown(comparisons: pd.DataFrame) -> str:
    """The paired-comparison table with its caption."""
    header = ["metric", "comparison (a − b)", "n seeds", "median difference", "rank-biserial",
              "Wilcoxon p", "Holm p"]
    rows = []
    for row in comparisons.itertuples(index=False):
        p_cells = [TOO_FEW, "–"] if row.too_few else [fmt_p(row.p_value), _fmt_holm(row.p_holm)]
        rows.append([ACCURACY_METRICS[row.metric], f"{row.a} − {row.b}", row.n,
                     fmt_signed(row.median_difference), _fmt_effect(row.rank_biserial)] + p_cells)
    caption = ("*Source: `runs.csv` columns " + ", ".join(f"`{m}`" for m in COMPARISON_METRICS)
               + ", paired by `seed`. Median difference of a − b over seeds; rank-biserial correlation "
               "in [-1, 1] (+1: a better on every seed); two-sided Wilcoxon signed-rank p; Holm p "
               f"adjusted within this benchmark and metric; **bold** = Holm p < {ALPHA}. With n seeds the "
               f"smallest possible two-sided Wilcoxon p is 2 / 2^n ({2 / 2 ** MIN_SEEDS_FOR_TEST:g} at n = "
               f"{MIN_SEEDS_FOR_TEST}), so p < {ALPHA} needs at least {_seeds_for_alpha()} seeds even before the Holm "
               "correction.*")
    return caption + "\n\n" + markdown_table(header, rows)


def _seeds_for_alpha() -> int:
    """The fewest seeds whose smallest two-sided Wilcoxon p-value, 2 / 2^n, is below :data:`ALPHA`."""
    return next(n for n in range(1, 64) if 2.0 / 2 ** n < ALPHA)


def _fmt_effect(value: float) -> str:
    return "–" if pd.isna(value) else f"{value + 0.0:+.2f}"


def _fmt_holm(value: float) -> str:
    text = fmt_p(value)
    return f"**{text}**" if not pd.isna(value) and value < ALPHA else text


def headline_markdown(all_tables: Sequence[BenchmarkTables]) -> str:
    """One row per benchmark: the winner, its margin over the runner-up, and how sure we are."""
    header = ["benchmark", "fidelity", "seeds", "signal", "winner (mean rank)",
              "winner's best val accuracy, IQM [95 % CI]", "runner-up",
              "median difference to runner-up (best val accuracy)", "rank-biserial", "how sure",
              "best strategies, all tested at once (Friedman; Nemenyi)"]
    caption = ("*Source: `runs.csv` `best_val_accuracy`, one value per (strategy, seed). Mean rank and IQM as in "
               "each benchmark's strategy table; the runner-up is the best strategy not tied with the winner; the "
               "difference, rank-biserial correlation and Holm p are the winner − runner-up row of its paired "
               "comparisons. The last column tests all strategies together (Friedman) and, when their ranks "
               "differ, names the best group: the first strategy and those the Nemenyi critical difference cannot "
               "tell apart from it. Signal: whether the best run's best validation accuracy is clearly above what always "
               f"answering the most frequent class scores (by more than {SIGNAL_SE:g} standard errors); a winner is "
               f"named only with signal and at least {MIN_SEEDS_FOR_TEST} seeds, otherwise the order is only "
               "descriptive.*")
    rows = [_headline_row(tables) + [rank_verdict(tables)] for tables in all_tables]
    return caption + "\n\n" + markdown_table(header, rows)


def summary_flags_markdown(all_tables: Sequence[BenchmarkTables]) -> str:
    """What the summary table cannot be read without: benchmarks without signal, too few seeds."""
    lines = []
    for tables in all_tables:
        where = f"**{tables.benchmark}**" + (f" ({tables.fidelity})" if tables.fidelity else "")
        if tables.no_signal:
            lines.append(f"- {WARNING} {where} carries **no signal**: its best run "
                         f"({fmt_accuracy(tables.best_result)} best validation accuracy) is not clearly above the "
                         f"{tables.majority.describe()}; its ranking is noise and no winner is named.")
        if not tables.ranks.friedman.too_few and not tables.ranks.ranks_differ:
            lines.append(f"- {where}: **no strategy stands out**: over {tables.seeds} seeds the Friedman test finds no "
                         f"evidence that the strategies' ranks differ ({p_equation(tables.ranks.friedman.p_value)}), so "
                         "the first by mean rank is not shown to be better than the others.")
        if tables.seeds < MIN_SEEDS_FOR_TEST:
            lines.append(f"- {where}: {tables.seeds} seed{'s' if tables.seeds != 1 else ''}, too few for a test "
                         f"(at least {MIN_SEEDS_FOR_TEST} are needed): no winner is named and the order is "
                         "descriptive only.")
    if not lines:
        return ("Every benchmark's best result is clearly above its majority-class line (or the line is unknown) "
                f"and has at least {MIN_SEEDS_FOR_TEST} seeds.")
    return "\n".join(lines)


def left_out_markdown(data: ResultsData) -> str:
    """The benchmarks the run left out for missing data (manifest ``suite.left_out``), or ``""``."""
    left_out = data.suite.get("left_out") or []
    return "\n".join(f"- {WARNING} **{name}** was left out: its data is missing. {why}" for name, why in left_out)


def signal_text(tables: BenchmarkTables) -> str:
    """``yes: best 0.575 > 0.265 (majority class 'Happy' = 0.251 ...)`` or a **no signal** flag."""
    line = tables.majority
    if line is None:
        return "unknown (class counts not recorded)"
    verdict = (f"yes: best {fmt_accuracy(tables.best_result)} > {fmt_accuracy(line.threshold)}" if not tables.no_signal
               else f"{WARNING} **no signal**: best {fmt_accuracy(tables.best_result)} ≤ {fmt_accuracy(line.threshold)}")
    return f"{verdict} ({line.describe()})"


def _headline_row(tables: BenchmarkTables) -> list[str]:
    summary = tables.summary
    best = tables.ranking[0]
    row = summary.loc[best]
    seeds = tables.seeds
    winners = tables.winners
    tie = " (tied)" if len(winners) > 1 else ""
    names = " = ".join(f"**{name}**" if tables.names_a_winner else name for name in winners)
    if not tables.names_a_winner:
        why = ("no signal" if tables.no_signal
               else f"{seeds} seed{'s' if seeds != 1 else ''} < {MIN_SEEDS_FOR_TEST}" if seeds < MIN_SEEDS_FOR_TEST
               else f"no evidence the ranks differ, Friedman {p_equation(tables.ranks.friedman.p_value)}")
        names = f"none named ({why}); first by mean rank: {names}"
    cells = [tables.benchmark, tables.fidelity or "–", str(seeds), signal_text(tables),
             names + f" ({row['mean_rank']:.2f}){tie}",
             fmt_iqm_ci(row[f"{RANK_METRIC}_iqm"], row[f"{RANK_METRIC}_ci_low"], row[f"{RANK_METRIC}_ci_high"],
                        int(row["seeds"]))]
    others = [name for name in tables.ranking if name not in winners]
    if not others:
        return cells + ["–", "–", "–", "only one strategy" if len(winners) == 1 else "all strategies tied"]
    runner_up = others[0]  # the best strategy not tied with the winner
    comparison = _find_comparison(tables.comparisons, RANK_METRIC, best, runner_up)
    return cells + [runner_up, fmt_signed(comparison["median_difference"]),
                    _fmt_effect(comparison["rank_biserial"]), _verdict(comparison)]


def rank_verdict(tables: BenchmarkTables) -> str:
    """The rank test's verdict on one benchmark, in words: ``best: tpe, random (within CD
    1.69 of tpe); Friedman p < 0.001`` or ``no strategy stands out: ...``."""
    ranks = tables.ranks
    if ranks.friedman.too_few:
        return "not tested (too few seeds)"
    p_text = f"Friedman {p_equation(ranks.friedman.p_value)}"
    if not ranks.ranks_differ:
        return f"no strategy stands out: no evidence the ranks differ ({p_text})"
    leader, group = ranks.mean_ranks.index[0], ranks.best_group
    worse = [name for name in ranks.mean_ranks.index if name not in group]
    text = f"best: {', '.join(group)} (within CD {ranks.critical_difference:.2f} of {leader}); {p_text}"
    return text + (f"; worse: {', '.join(worse)}" if worse else "")


def _find_comparison(comparisons: pd.DataFrame, metric: str, a: str, b: str) -> pd.Series:
    """The comparison row of ``a`` and ``b`` on ``metric``, oriented as a - b."""
    rows = comparisons[comparisons["metric"] == metric]
    match = rows[(rows["a"] == a) & (rows["b"] == b)]
    if not match.empty:
        return match.iloc[0]
    flipped = rows[(rows["a"] == b) & (rows["b"] == a)].iloc[0].copy()
    flipped["median_difference"] = 0.0 - flipped["median_difference"]  # 0.0 - x: no "-0.0000"
    flipped["rank_biserial"] = 0.0 - flipped["rank_biserial"]
    return flipped


def _verdict(comparison: pd.Series) -> str:
    if comparison["too_few"]:
        return f"{TOO_FEW} (n = {comparison['n']}); the ranking is descriptive only"
    p_text = p_equation(comparison["p_holm"])
    if comparison["p_holm"] < ALPHA:
        return f"difference unlikely to be chance (Holm {p_text})"
    return f"not distinguishable from chance (Holm {p_text})"
