"""The strategies of one benchmark compared over seeds: the Friedman test with Nemenyi's
critical difference (:func:`rank_test`), Holm-adjusted Wilcoxon pairs (:func:`paired_comparisons`),
and the rank across benchmarks (:func:`aggregate_ranking`). Pure functions of ``runs.csv`` rows;
the report's constants for them (:data:`ALPHA`, :data:`RANK_METRIC`, ...) live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from tunebench.stats import (
    MIN_SEEDS_FOR_TEST,
    FriedmanTest,
    critical_difference_groups,
    friedman,
    holm,
    nemenyi_critical_difference,
    paired_wilcoxon,
)

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

    @property
    def best_group(self) -> list[str]:
        """The best mean rank's strategy and those within the critical difference of it, best
        first; empty unless the ranks differ."""
        if not self.ranks_differ:
            return []
        best = self.mean_ranks.iloc[0]
        return [name for name, rank in self.mean_ranks.items() if rank - best < self.critical_difference]


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
