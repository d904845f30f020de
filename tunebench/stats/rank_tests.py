"""Tests that compare strategies over paired seeds: Wilcoxon with effect sizes, Holm's
adjustment, ranks per seed, Friedman with the Iman-Davenport form, Nemenyi's critical
difference and its groups (Demšar 2006, JMLR 7:1-30). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.stats

from tunebench.stats.summary import MIN_SEEDS_FOR_TEST


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    The ``m`` non-NaN p-values form the family; sorted ascending, the ``i``-th (0-based)
    becomes ``max over j <= i of min(1, (m - j) * p_(j))``. NaNs (tests not run) stay NaN
    and do not count towards ``m``.

    Parameters
    ----------
    p_values:
        Raw p-values of one family of tests, in any order.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.
    """
    raw = np.asarray(p_values, dtype=float)
    adjusted = np.full(raw.shape, np.nan)
    present = np.flatnonzero(~np.isnan(raw))
    if present.size == 0:
        return adjusted
    order = present[np.argsort(raw[present], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * raw[order])
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


@dataclass(frozen=True)
class PairedTest:
    """Result of :func:`paired_wilcoxon` for ``a`` against ``b``.

    Attributes
    ----------
    n:
        Number of complete pairs (seeds where both values are present).
    median_difference:
        Median of ``a - b`` over the pairs (NaN without pairs).
    rank_biserial:
        Matched-pairs rank-biserial correlation in [-1, 1]: (R+ - R-) / (R+ + R-) over the
        ranks of the non-zero ``|a - b|``; positive when ``a`` tends to be larger, 0 when
        every difference is zero, NaN without pairs.
    p_value:
        Two-sided Wilcoxon signed-rank p-value; NaN when :attr:`too_few`.
    too_few:
        True when ``n < MIN_SEEDS_FOR_TEST``: no p-value is computed.
    """

    n: int
    median_difference: float
    rank_biserial: float
    p_value: float
    too_few: bool


def rank_biserial(differences: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation of paired differences (zeros dropped).

    Parameters
    ----------
    differences:
        ``a - b`` per pair, without NaNs.

    Returns
    -------
    float
        (R+ - R-) / (R+ + R-), ranks of ``|d|`` with ties averaged; 0 when every difference
        is zero; NaN for an empty input.
    """
    if differences.size == 0:
        return float("nan")
    nonzero = differences[differences != 0]
    if nonzero.size == 0:
        return 0.0
    ranks = scipy.stats.rankdata(np.abs(nonzero))
    return float((ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum()) / ranks.sum())


def paired_wilcoxon(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> PairedTest:
    """Wilcoxon signed-rank test of ``a`` against ``b`` (paired by position), with effect sizes.

    Pairs where either value is NaN are dropped. Zero differences are dropped by the test
    (scipy's default ``zero_method="wilcox"``) and by the rank-biserial correlation; when all
    differences are zero the p-value is 1. Fewer than :data:`MIN_SEEDS_FOR_TEST` pairs give
    no p-value (NaN) and ``too_few=True``; the effect sizes are still computed.

    Parameters
    ----------
    a, b:
        The two strategies' values, one per seed, in the same seed order.

    Returns
    -------
    PairedTest
    """
    first = np.asarray(a, dtype=float)
    second = np.asarray(b, dtype=float)
    if first.shape != second.shape:
        raise ValueError(f"paired samples differ in length: {first.shape} and {second.shape}")
    complete = ~(np.isnan(first) | np.isnan(second))
    differences = first[complete] - second[complete]
    n = int(differences.size)
    median = float(np.median(differences)) if n else float("nan")
    too_few = n < MIN_SEEDS_FOR_TEST
    if too_few:
        p_value = float("nan")
    elif not differences.any():
        p_value = 1.0
    else:
        p_value = float(scipy.stats.wilcoxon(differences).pvalue)
    return PairedTest(n=n, median_difference=median, rank_biserial=rank_biserial(differences),
                      p_value=p_value, too_few=too_few)


def mean_ranks(
    frame: pd.DataFrame,
    metric: str = "best_val_accuracy",
    within: Sequence[str] = ("benchmark", "seed"),
    average_over: str = "seed",
    item: str = "strategy",
) -> pd.Series:
    """Rank ``item`` within each ``within`` group by ``metric`` (higher is better), then average.

    Rank 1 is the best; ties share the average of their ranks; a missing metric (a run with
    no completed trial) ranks below every present one.

    Parameters
    ----------
    frame:
        One row per (``within`` group, ``item``), e.g. ``runs.csv``.
    metric:
        The column to rank by.
    within:
        Columns that define one ranking, e.g. one benchmark and seed.
    average_over:
        The column of ``within`` averaged away, normally the seed.
    item:
        The column holding what is ranked, normally the strategy.

    Returns
    -------
    pandas.Series
        Mean rank, indexed by the ``within`` columns other than ``average_over``, then
        ``item``; named ``"mean_rank"``.
    """
    within = list(within)
    ranks = frame.groupby(within, sort=False)[metric].rank(ascending=False, method="average",
                                                           na_option="bottom")
    keys = [column for column in within if column != average_over] + [item]
    ranked = frame[keys].assign(mean_rank=ranks)
    return ranked.groupby(keys, sort=False)["mean_rank"].mean()


def rank_matrix(values: np.ndarray) -> np.ndarray:
    """Rank the columns within each row, 1 = the highest value; ties share their mean rank.

    Parameters
    ----------
    values:
        ``(blocks, items)``: one row per block (a seed), one column per item (a strategy);
        higher is better. A NaN (a run without a completed trial) ranks below every value.

    Returns
    -------
    numpy.ndarray
        Ranks of the same shape, each row a permutation of 1..k up to ties.
    """
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"rank_matrix needs a 2-D (blocks, items) array, got shape {matrix.shape}")
    ordered = np.where(np.isnan(matrix), -np.inf, matrix)
    return scipy.stats.rankdata(-ordered, method="average", axis=1)


@dataclass(frozen=True)
class FriedmanTest:
    """Result of :func:`friedman`: do ``k`` items' ranks differ over ``n`` blocks?

    Attributes
    ----------
    n, k:
        Blocks (seeds) and items (strategies).
    mean_ranks:
        Each item's mean rank (1 = best), in column order.
    chi_square:
        Friedman's statistic ``12n / (k(k+1)) * (sum R_j^2 - k(k+1)^2 / 4)`` from the mean ranks
        ``R_j`` (no tie correction, as in Demšar 2006), chi-square with ``k - 1`` degrees of
        freedom under "all items rank alike".
    f_statistic:
        Iman and Davenport's less conservative ``(n-1) chi^2 / (n(k-1) - chi^2)``, F with
        ``k - 1`` and ``(k-1)(n-1)`` degrees of freedom; inf when every block ranks alike.
    p_value:
        From ``f_statistic`` (the form Demšar recommends); NaN when :attr:`too_few`.
    too_few:
        True with fewer than :data:`MIN_SEEDS_FOR_TEST` blocks or fewer than 2 items.
    """

    n: int
    k: int
    mean_ranks: np.ndarray
    chi_square: float
    f_statistic: float
    p_value: float
    too_few: bool


def friedman(values: np.ndarray) -> FriedmanTest:
    """The Friedman rank test of ``values`` (blocks x items, higher is better).

    Parameters
    ----------
    values:
        As for :func:`rank_matrix`.

    Returns
    -------
    FriedmanTest
    """
    ranks = rank_matrix(values)
    return friedman_from_ranks(ranks.mean(axis=0), ranks.shape[0])


def friedman_from_ranks(mean_ranks: Sequence[float] | np.ndarray, n: int) -> FriedmanTest:
    """The Friedman test from the items' mean ranks over ``n`` blocks (Demšar 2006, section 3.2.2).

    Parameters
    ----------
    mean_ranks:
        Each item's mean rank, 1 = best.
    n:
        The number of blocks the ranks were averaged over.

    Returns
    -------
    FriedmanTest
    """
    ranks = np.asarray(mean_ranks, dtype=float)
    k = int(ranks.size)
    too_few = n < MIN_SEEDS_FOR_TEST or k < 2
    if too_few:
        return FriedmanTest(n, k, ranks, float("nan"), float("nan"), float("nan"), True)
    chi_square = 12.0 * n / (k * (k + 1)) * (np.sum(ranks ** 2) - k * (k + 1) ** 2 / 4.0)
    chi_square = max(0.0, float(chi_square))  # rounding can leave -1e-15 when all ranks tie
    denominator = n * (k - 1) - chi_square
    f_statistic = (n - 1) * chi_square / denominator if denominator > 0 else float("inf")
    p_value = float(scipy.stats.f.sf(f_statistic, k - 1, (k - 1) * (n - 1)))
    return FriedmanTest(n, k, ranks, chi_square, float(f_statistic), p_value, False)


def nemenyi_critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """The Nemenyi test's critical difference of mean ranks: ``q_alpha * sqrt(k(k+1) / (6n))``.

    Two of ``k`` items whose mean ranks over ``n`` blocks differ by at least this much differ
    at level ``alpha`` (family-wise, all pairs). ``q_alpha`` is the studentized range's upper
    ``alpha`` quantile for ``k`` means and infinite degrees of freedom, divided by sqrt(2)
    (Demšar 2006, table 5a: 2.569 for k = 4).

    Parameters
    ----------
    k:
        Items compared (at least 2).
    n:
        Blocks (at least 1).
    alpha:
        The family-wise level.

    Returns
    -------
    float
    """
    if k < 2 or n < 1:
        raise ValueError(f"the critical difference needs k >= 2 items and n >= 1 blocks, got k={k}, n={n}")
    q_alpha = scipy.stats.studentized_range.ppf(1.0 - alpha, k, np.inf) / np.sqrt(2.0)
    return float(q_alpha * np.sqrt(k * (k + 1) / (6.0 * n)))


def critical_difference_groups(mean_ranks: pd.Series, critical_difference: float) -> list[list[str]]:
    """The maximal groups of items whose mean ranks lie within ``critical_difference`` of each other.

    These are the bars of a critical-difference diagram: items joined by one bar are not
    told apart by the test. Groups of one item are left out.

    Parameters
    ----------
    mean_ranks:
        Mean rank per item (index: item names).
    critical_difference:
        From :func:`nemenyi_critical_difference`.

    Returns
    -------
    list of list of str
        Each group ordered best rank first; groups ordered by their best rank.
    """
    ordered = mean_ranks.sort_values(kind="stable")
    names, ranks = list(ordered.index), ordered.to_numpy(dtype=float)
    groups: list[list[str]] = []
    last_end = 0
    for start in range(len(names)):
        end = start
        while end + 1 < len(names) and ranks[end + 1] - ranks[start] < critical_difference:
            end += 1
        if end > start and end + 1 > last_end:  # not inside the previous group
            groups.append(names[start:end + 1])
            last_end = end + 1
    return groups
