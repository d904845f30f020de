"""The report's tables: per-benchmark numbers computed from the CSVs, and their markdown.

Per benchmark (:func:`benchmark_tables`):

- :func:`strategy_summary`: per strategy, the accuracy metrics over seeds (mean, std, IQM
  with a bootstrap CI), costs, failed trials and the mean rank; sorted by mean rank.
- :func:`paired_comparisons`: Wilcoxon signed-rank tests over seeds, each strategy against
  ``random`` and the winner against each other strategy, Holm-adjusted per metric.
- :func:`rank_test`: the Friedman test over seeds of all strategies at once and the Nemenyi
  critical difference of their mean ranks (the critical-difference diagram's numbers).

Across benchmarks: :func:`aggregate_ranking`, the strategies' mean rank averaged over the
benchmarks with enough seeds, with a bootstrap interval and the chance of being first; and
:func:`replay_agreement`, how well a replay benchmark's ranking of the strategies agrees
with its live twin's on the seeds and budget they share.

Every number comes from ``runs.csv`` or ``trials.csv`` (the captions say which column);
the ``*_markdown`` functions only format (with :mod:`tunebench.report_format`). The
equal-budget audit is :mod:`tunebench.report_audit`'s, the reproducibility section
:mod:`tunebench.report_reproducibility`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.stats

from tunebench.benchmarks.replay import SUFFIX as REPLAY_SUFFIX
from tunebench.report_audit import budget_audit
from tunebench.report_chance import SIGNAL_SE, MajorityLine, majority_line
from tunebench.report_format import (
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
)
from tunebench.results_dir import ResultsData, fidelity_label, order_strategies
from tunebench.schema import TrialStatus
from tunebench.stats import (
    MIN_SEEDS_FOR_TEST,
    FriedmanTest,
    bootstrap_ci,
    critical_difference_groups,
    friedman,
    holm,
    iqm,
    mean_ranks,
    nemenyi_critical_difference,
    normalised_regret,
    paired_wilcoxon,
    rank_matrix,
    sorted_median,
)

#: runs.csv accuracy columns summarised over seeds, with their labels.
ACCURACY_METRICS = {
    "best_val_accuracy": "best val accuracy",
    "test_accuracy": "incumbent test accuracy",
    "test_f1": "incumbent test macro-F1",
}

#: runs.csv cost columns averaged over seeds, with their labels (units in the label).
COST_METRICS = {
    "trials": "trials",
    "trials_to_best": "trials to best",
    "epochs_to_best": "epochs to best",
    "seconds_to_best": "seconds to best",
    "wall_seconds": "wall time (s)",
    "overhead_seconds": "overhead (s)",
}

#: The metric strategies are ranked by (and the winner chosen on): validation only.
RANK_METRIC = "best_val_accuracy"

#: runs.csv metrics compared pairwise over seeds.
COMPARISON_METRICS = ("best_val_accuracy", "test_accuracy")

BASELINE = "random"
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0

#: Per-run normalised regret of :data:`RANK_METRIC`: 0 = the best value seen on the benchmark,
#: 1 = random search's median (:func:`tunebench.stats.normalised_regret`).
REGRET = "normalised_regret"

TOO_FEW = f"n < {MIN_SEEDS_FOR_TEST}: too few seeds for a test"


@dataclass(frozen=True)
class RankTest:
    """All strategies of one benchmark compared at once over seeds, by rank.

    Attributes
    ----------
    friedman:
        The Friedman test of the (seed x strategy) ``best_val_accuracy`` ranks.
    mean_ranks:
        Mean rank per strategy (1 = best), best first; equal to the summary's ``mean_rank``.
    critical_difference:
        The Nemenyi critical difference at :data:`ALPHA`; NaN when the test was not run.
    groups:
        :func:`tunebench.stats.critical_difference_groups`: strategies the Nemenyi test
        cannot tell apart; empty when the test was not run.
    """

    friedman: FriedmanTest
    mean_ranks: pd.Series
    critical_difference: float
    groups: list[list[str]]

    @property
    def ranks_differ(self) -> bool:
        """The Friedman test rejects "all strategies rank alike" at :data:`ALPHA`."""
        return not self.friedman.too_few and self.friedman.p_value < ALPHA


@dataclass(frozen=True)
class BenchmarkTables:
    """The computed tables of one benchmark (numbers, not text).

    Attributes
    ----------
    benchmark:
        Its name.
    summary:
        :func:`strategy_summary`, indexed by strategy, best first.
    comparisons:
        :func:`paired_comparisons`.
    audit:
        :func:`budget_audit`.
    ranks:
        :func:`rank_test`.
    majority:
        The validation split's majority-class line (:mod:`tunebench.report_chance`), if known.
    fidelity:
        The runs' fidelity labels (``runs.csv`` ``fidelity``), joined.
    """

    benchmark: str
    summary: pd.DataFrame
    comparisons: pd.DataFrame
    audit: pd.DataFrame
    ranks: RankTest
    majority: MajorityLine | None = None
    fidelity: str = ""

    @property
    def seeds(self) -> int:
        return int(self.summary["seeds"].max())

    @property
    def best_result(self) -> float:
        """The highest best validation accuracy of any run."""
        return float(self.summary[f"{RANK_METRIC}_max"].max())

    @property
    def no_signal(self) -> bool:
        """The best result is not clearly above the majority-class line (False when the line is unknown)."""
        return self.majority is not None and not self.majority.clears(self.best_result)

    @property
    def names_a_winner(self) -> bool:
        """Enough seeds for a test, a result above the majority line, and (with 3 or more
        strategies) a Friedman test that finds the ranks differ: a winner may be named."""
        ranks_tested = self.ranks.friedman.k >= 3 and not self.ranks.friedman.too_few
        return self.seeds >= MIN_SEEDS_FOR_TEST and not self.no_signal and (self.ranks.ranks_differ or not ranks_tested)

    @property
    def ranking(self) -> list[str]:
        """Strategies, best mean rank first."""
        return list(self.summary.index)

    @property
    def winners(self) -> list[str]:
        """The strategies sharing the lowest mean rank."""
        ranks = self.summary["mean_rank"]
        return list(ranks.index[np.isclose(ranks, ranks.min())])


def benchmark_tables(data: ResultsData) -> list[BenchmarkTables]:
    """Compute every benchmark's tables.

    Parameters
    ----------
    data:
        The loaded results.

    Returns
    -------
    list of BenchmarkTables
        One per benchmark, in ``runs.csv`` order.
    """
    tables = []
    for benchmark in data.benchmarks:
        runs = data.runs[data.runs["benchmark"] == benchmark]
        trials = data.trials[data.trials["benchmark"] == benchmark]
        summary = strategy_summary(runs, trials)
        ranking = list(summary.index)
        tables.append(BenchmarkTables(benchmark, summary, paired_comparisons(runs, ranking),
                                      budget_audit(runs, trials), rank_test(runs, ranking),
                                      majority_line(data, benchmark), fidelity_label(runs)))
    return tables


# --------------------------------------------------------------------------- computing


def strategy_summary(runs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Per strategy, over seeds: accuracy statistics, mean costs, failed trials and mean rank.

    Parameters
    ----------
    runs:
        One benchmark's ``runs.csv`` rows.
    trials:
        The same benchmark's ``trials.csv`` rows (for the failed-trial count).

    Returns
    -------
    pandas.DataFrame
        Indexed by strategy, sorted by ``mean_rank`` (registry order on ties). Columns:
        ``seeds``; for each of :data:`ACCURACY_METRICS` ``<m>_mean``, ``<m>_std`` (sample
        std), ``<m>_iqm``, ``<m>_ci_low``, ``<m>_ci_high`` (95 % percentile bootstrap of the
        IQM), ``<m>_max``; each of :data:`COST_METRICS` (mean over seeds); ``failed_trials``
        (trials.csv rows with a status other than ``ok``, summed over seeds); ``mean_rank``;
        ``normalised_regret_median`` with ``_ci_low`` and ``_ci_high`` (95 % bootstrap) over
        seeds (NaN without ``random`` runs, see :func:`run_regret`).
    """
    regret = run_regret(runs)
    rows = {}
    for strategy, group in runs.groupby("strategy", sort=False):
        row: dict[str, float] = {"seeds": group["seed"].nunique()}
        for metric in ACCURACY_METRICS:
            row |= _metric_statistics(metric, group[metric].to_numpy(dtype=float))
        row |= _regret_statistics(regret[group.index].to_numpy(dtype=float))
        row |= {metric: group[metric].mean() for metric in COST_METRICS}
        rows[strategy] = row
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary["failed_trials"] = _failed_trials(trials).reindex(summary.index, fill_value=0)
    summary["mean_rank"] = mean_ranks(runs, RANK_METRIC).droplevel("benchmark")
    summary = summary.loc[order_strategies(summary.index)]
    return summary.sort_values("mean_rank", kind="stable")


def _metric_statistics(metric: str, values: np.ndarray) -> dict[str, float]:
    present = values[~np.isnan(values)]
    low, high = bootstrap_ci(present, iqm, BOOTSTRAP_RESAMPLES, 0.95, BOOTSTRAP_SEED)
    return {
        f"{metric}_mean": float(np.mean(present)) if present.size else np.nan,
        f"{metric}_std": float(np.std(present, ddof=1)) if present.size > 1 else np.nan,
        f"{metric}_iqm": iqm(present),
        f"{metric}_ci_low": low,
        f"{metric}_ci_high": high,
        f"{metric}_max": float(np.max(present)) if present.size else np.nan,
    }


def run_regret(runs: pd.DataFrame) -> pd.Series:
    """Each run's normalised regret of ``best_val_accuracy`` on its benchmark.

    0 = the best ``best_val_accuracy`` of any run of the benchmark, 1 = the median of
    ``random``'s runs (:func:`tunebench.stats.normalised_regret`).

    Parameters
    ----------
    runs:
        One benchmark's ``runs.csv`` rows.

    Returns
    -------
    pandas.Series
        Aligned with ``runs``; all NaN when there are no ``random`` runs with a value or
        random search's median is already the best value.
    """
    best, random_median = regret_anchors(runs)
    values = runs[RANK_METRIC].to_numpy(dtype=float)
    return pd.Series(normalised_regret(values, best, random_median), index=runs.index, name=REGRET)


def regret_anchors(runs: pd.DataFrame) -> tuple[float, float]:
    """Normalised regret's two anchors on one benchmark: the best ``best_val_accuracy`` of any
    run (regret 0) and the median of ``random``'s runs (regret 1); NaN where unknown."""
    values = runs[RANK_METRIC].to_numpy(dtype=float)
    random_values = runs.loc[runs["strategy"] == BASELINE, RANK_METRIC].dropna()
    random_median = float(random_values.median()) if len(random_values) else float("nan")
    best = float(np.nanmax(values)) if np.isfinite(values).any() else float("nan")
    return best, random_median


def _regret_statistics(values: np.ndarray) -> dict[str, float]:
    present = values[~np.isnan(values)]
    low, high = bootstrap_ci(present, sorted_median, BOOTSTRAP_RESAMPLES, 0.95, BOOTSTRAP_SEED)
    median = float(np.median(present)) if present.size else np.nan
    return {f"{REGRET}_median": median, f"{REGRET}_ci_low": low, f"{REGRET}_ci_high": high}


def _by_seed(runs: pd.DataFrame, strategies: Sequence[str]) -> np.ndarray:
    """``best_val_accuracy`` as a (seed x strategy) matrix in ``strategies`` order; NaN for a missing run."""
    table = runs.set_index(["seed", "strategy"])[RANK_METRIC].unstack("strategy")
    return table.reindex(columns=list(strategies)).to_numpy(dtype=float)


def rank_test(runs: pd.DataFrame, ranking: Sequence[str]) -> RankTest:
    """The Friedman test and Nemenyi critical difference of one benchmark's strategies.

    Parameters
    ----------
    runs:
        One benchmark's ``runs.csv`` rows (one per strategy and seed).
    ranking:
        Its strategies (the columns' order).

    Returns
    -------
    RankTest
        Ranks by ``best_val_accuracy`` within each seed; a seed missing a strategy's run (or
        value) ranks that strategy last, as :func:`tunebench.stats.mean_ranks` does.
    """
    test = friedman(_by_seed(runs, ranking))
    ranks = pd.Series(test.mean_ranks, index=list(ranking), name="mean_rank").sort_values(kind="stable")
    if test.too_few or test.k < 2:
        return RankTest(test, ranks, float("nan"), [])
    critical = nemenyi_critical_difference(test.k, test.n, ALPHA)
    return RankTest(test, ranks, critical, critical_difference_groups(ranks, critical))


def _failed_trials(trials: pd.DataFrame) -> pd.Series:
    """Trials with a status other than ok, per strategy."""
    return (trials["status"] != TrialStatus.OK).groupby(trials["strategy"]).sum()


def comparison_pairs(ranking: Sequence[str]) -> list[tuple[str, str]]:
    """The (a, b) pairs to test: each strategy against ``random``, then the best against the rest.

    Parameters
    ----------
    ranking:
        Strategies, best first.

    Returns
    -------
    list of (str, str)
        Each unordered pair once, in that order; differences are taken as ``a - b``.
    """
    pairs: list[tuple[str, str]] = []
    if BASELINE in ranking:
        pairs += [(strategy, BASELINE) for strategy in ranking if strategy != BASELINE]
    best = ranking[0] if ranking else None
    seen = {frozenset(pair) for pair in pairs}
    pairs += [(best, other) for other in ranking[1:] if frozenset((best, other)) not in seen]
    return pairs


def paired_comparisons(runs: pd.DataFrame, ranking: Sequence[str]) -> pd.DataFrame:
    """Paired Wilcoxon tests over seeds for :func:`comparison_pairs` on :data:`COMPARISON_METRICS`.

    Parameters
    ----------
    runs:
        One benchmark's ``runs.csv`` rows.
    ranking:
        Its strategies, best first.

    Returns
    -------
    pandas.DataFrame
        One row per (metric, pair): ``metric``, ``a``, ``b``, ``n`` (seeds with both),
        ``median_difference`` (of a - b), ``rank_biserial``, ``p_value``, ``p_holm`` (Holm
        within this benchmark and metric), ``too_few``.
    """
    rows = []
    pairs = comparison_pairs(ranking)
    for metric in COMPARISON_METRICS:
        by_seed = runs.pivot(index="seed", columns="strategy", values=metric)
        tests = [paired_wilcoxon(by_seed[a], by_seed[b]) for a, b in pairs]
        adjusted = holm([test.p_value for test in tests])
        rows += [{"metric": metric, "a": a, "b": b, "n": test.n, "median_difference": test.median_difference,
                  "rank_biserial": test.rank_biserial, "p_value": test.p_value, "p_holm": p_holm,
                  "too_few": test.too_few}
                 for (a, b), test, p_holm in zip(pairs, tests, adjusted)]
    columns = ["metric", "a", "b", "n", "median_difference", "rank_biserial", "p_value", "p_holm", "too_few"]
    return pd.DataFrame(rows, columns=columns)


def aggregate_ranking(all_tables: Sequence[BenchmarkTables], runs: pd.DataFrame) -> pd.DataFrame:
    """The strategies ranked across benchmarks, with the uncertainty of that ranking.

    Uses the benchmarks with at least :data:`MIN_SEEDS_FOR_TEST` seeds and every strategy
    they all ran. A strategy's aggregate rank is its mean rank per benchmark (ranked within
    each seed by ``best_val_accuracy``), averaged over the benchmarks with equal weight. Its
    95 % interval and the chance of being first come from :data:`BOOTSTRAP_RESAMPLES`
    bootstrap resamples of each benchmark's seeds (resampled independently per benchmark).

    Returns
    -------
    pandas.DataFrame
        Indexed by strategy, best first: ``mean_rank_<benchmark>`` per benchmark used,
        ``aggregate_rank``, ``ci_low``, ``ci_high``, ``p_first`` (share of resamples in which it
        has the lowest aggregate rank, ties shared); empty with fewer than 2 such benchmarks.
    """
    used = [tables for tables in all_tables if tables.seeds >= MIN_SEEDS_FOR_TEST]
    if len(used) < 2:
        return pd.DataFrame()
    strategies = [name for name in used[0].ranking if all(name in tables.ranking for tables in used[1:])]
    if len(strategies) < 2:
        return pd.DataFrame()
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    point, resampled = np.zeros(len(strategies)), np.zeros((BOOTSTRAP_RESAMPLES, len(strategies)))
    frame = pd.DataFrame(index=strategies)
    for tables in used:
        part = runs[(runs["benchmark"] == tables.benchmark) & runs["strategy"].isin(strategies)]
        ranks = rank_matrix(_by_seed(part, strategies))
        frame[f"mean_rank_{tables.benchmark}"] = ranks.mean(axis=0)
        point += ranks.mean(axis=0) / len(used)
        rows = rng.integers(0, ranks.shape[0], size=(BOOTSTRAP_RESAMPLES, ranks.shape[0]))
        resampled += ranks[rows].mean(axis=1) / len(used)
    frame["aggregate_rank"] = point
    frame["ci_low"], frame["ci_high"] = np.percentile(resampled, [2.5, 97.5], axis=0)
    firsts = np.isclose(resampled, resampled.min(axis=1, keepdims=True))
    frame["p_first"] = (firsts / firsts.sum(axis=1, keepdims=True)).mean(axis=0)
    return frame.sort_values("aggregate_rank", kind="stable")


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


def replay_agreement(runs: pd.DataFrame) -> pd.DataFrame:
    """How well each replay benchmark ranks the strategies as its live twin does.

    For every benchmark ``B`` with runs of ``B@replay`` at the same ``budget_epochs``, on the
    seeds both have: the strategies' mean ranks of ``best_val_accuracy`` on each (over those
    seeds), and Kendall's tau between the two orders.

    Parameters
    ----------
    runs:
        All of ``runs.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``live``, ``replay``, ``seeds`` (shared), ``strategies``,
        ``kendall_tau``, ``p_value`` (scipy's exact test for no association; NaN with fewer
        than 3 strategies), ``live_order`` and ``replay_order`` (best first).
    """
    rows = []
    for live in runs["benchmark"].unique():
        replay = f"{live}{REPLAY_SUFFIX}"
        first, second = runs[runs["benchmark"] == live], runs[runs["benchmark"] == replay]
        if second.empty or set(first["budget_epochs"]) != set(second["budget_epochs"]):
            continue
        seeds = sorted(set(first["seed"]) & set(second["seed"]))
        strategies = sorted(set(first["strategy"]) & set(second["strategy"]))
        if not seeds or len(strategies) < 2:
            continue
        ranks = [mean_ranks(part[part["seed"].isin(seeds) & part["strategy"].isin(strategies)], RANK_METRIC)
                 .droplevel("benchmark").reindex(strategies) for part in (first, second)]
        tau, p_value = scipy.stats.kendalltau(ranks[0], ranks[1]) if len(strategies) >= 3 else (np.nan, np.nan)
        rows.append({"live": live, "replay": replay, "seeds": len(seeds), "strategies": len(strategies),
                     "kendall_tau": float(tau), "p_value": float(p_value),
                     "live_order": list(ranks[0].sort_values(kind="stable").index),
                     "replay_order": list(ranks[1].sort_values(kind="stable").index)})
    columns = ["live", "replay", "seeds", "strategies", "kendall_tau", "p_value", "live_order", "replay_order"]
    return pd.DataFrame(rows, columns=columns)


def replay_agreement_markdown(agreement: pd.DataFrame) -> str:
    """The replay-against-live table with its caption, or ``""`` when no benchmark has both."""
    if agreement.empty:
        return ""
    rows = [[f"{row.replay} against {row.live}", str(row.seeds), "–" if pd.isna(row.kendall_tau)
             else f"{row.kendall_tau + 0.0:+.2f}", fmt_p(row.p_value), " > ".join(row.live_order),
             " > ".join(row.replay_order)] for row in agreement.itertuples(index=False)]
    header = ["pair", "shared seeds", "Kendall τ of the strategies' mean ranks", "p (no association)",
              "live order (best first)", "replay order (best first)"]
    caption = ("*Source: `runs.csv` `best_val_accuracy` of the live benchmark and its replay twin at the same "
               "`budget_epochs`, on the seeds both ran. τ = +1: replay orders the strategies exactly as live "
               "training did; 0: no relation; with few shared seeds the live order itself is noisy, so a low τ "
               "says as much about the live runs as about the replay.*")
    return "### Replay against live\n\n" + caption + "\n\n" + markdown_table(header, rows)


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
             f"(χ² = {test.chi_square:.2f}, Iman-Davenport F = {test.f_statistic:.2f}, {_p_equation(test.p_value)}).",
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
    rows = [_headline_row(tables) + [_friedman_cell(tables)] for tables in all_tables]
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
                         f"evidence that the strategies' ranks differ ({_p_equation(tables.ranks.friedman.p_value)}), so "
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
               else f"no evidence the ranks differ, Friedman {_p_equation(tables.ranks.friedman.p_value)}")
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


def _friedman_cell(tables: BenchmarkTables) -> str:
    """``best: tpe, random (within CD 1.69 of tpe); Friedman p < 0.001`` or ``no strategy stands out``."""
    ranks = tables.ranks
    if ranks.friedman.too_few:
        return "not tested (too few seeds)"
    p_text = f"Friedman {_p_equation(ranks.friedman.p_value)}"
    if not ranks.ranks_differ:
        return f"no strategy stands out: no evidence the ranks differ ({p_text})"
    leader, best_rank = ranks.mean_ranks.index[0], ranks.mean_ranks.iloc[0]
    group = [name for name, rank in ranks.mean_ranks.items() if rank - best_rank < ranks.critical_difference]
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
    p_text = _p_equation(comparison["p_holm"])
    if comparison["p_holm"] < ALPHA:
        return f"difference unlikely to be chance (Holm {p_text})"
    return f"not distinguishable from chance (Holm {p_text})"


def _p_equation(value: float) -> str:
    """``p = 0.0625`` or ``p < 0.001``."""
    text = fmt_p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


# --------------------------------------------------------------------------- reproducibility


