"""The report's numbers per benchmark, computed from the CSVs: pure functions returning
DataFrames and small frozen records (no text; :mod:`tunebench.report.markdown` formats them).

Per benchmark (:func:`benchmark_tables`, one :class:`BenchmarkTables` each):

- :func:`strategy_summary`: per strategy, the accuracy metrics over seeds (mean, std, IQM
  with a bootstrap CI), costs, failed trials and the mean rank; sorted by mean rank.
- :func:`tunebench.report.ranking.paired_comparisons` and
  :func:`tunebench.report.ranking.rank_test`: the paired Wilcoxon tests and the Friedman /
  Nemenyi test.
- :func:`run_regret`: each run's normalised regret (0 = the best run, 1 = random search's median).

Across benchmarks: :func:`aggregate_ranking`, the strategies' mean rank averaged over the
benchmarks with enough seeds, with a bootstrap interval and the chance of being first.
Every number comes from ``runs.csv`` or ``trials.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from tunebench.report.audit import budget_audit
from tunebench.report.chance import MajorityLine, majority_line
from tunebench.report.ranking import (
    ACCURACY_METRICS,
    BASELINE,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    COST_METRICS,
    RANK_METRIC,
    REGRET,
    RankTest,
    _by_seed,
    paired_comparisons,
    rank_test,
)
from tunebench.results_dir import ResultsData, fidelity_label, order_strategies
from tunebench.schema import TrialStatus
from tunebench.stats import (
    MIN_SEEDS_FOR_TEST,
    bootstrap_ci,
    iqm,
    mean_ranks,
    normalised_regret,
    rank_matrix,
    sorted_median,
)


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
        The validation split's majority-class line (:mod:`tunebench.report.chance`), if known.
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


def _failed_trials(trials: pd.DataFrame) -> pd.Series:
    """Trials with a status other than ok, per strategy."""
    return (trials["status"] != TrialStatus.OK).groupby(trials["strategy"]).sum()


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
