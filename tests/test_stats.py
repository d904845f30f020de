import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from tunebench.stats import (
    MIN_SEEDS_FOR_TEST,
    bootstrap_ci,
    critical_difference_groups,
    friedman,
    friedman_from_ranks,
    holm,
    iqm,
    mean_ranks,
    nemenyi_critical_difference,
    normalised_regret,
    paired_wilcoxon,
    rank_matrix,
    sorted_median,
)


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([0, 0, 3, 4, 5, 6, 50, 100]) == pytest.approx(4.5)  # 2 cut each end: mean of 3, 4, 5, 6
    assert iqm([10, 1, 2, 3, 100]) == pytest.approx(5.0)  # int(0.25 * 5) = 1 cut each end: mean of 2, 3, 10
    assert iqm([2.0, 4.0]) == pytest.approx(3.0)  # too short to trim: the plain mean


def test_iqm_drops_nans_and_is_nan_when_empty():
    assert iqm([1, math.nan, 2, 3, 100]) == pytest.approx(2.5)  # 4 values: mean of 2, 3
    assert math.isnan(iqm([]))
    assert math.isnan(iqm([math.nan]))


def test_iqm_along_an_axis_matches_row_by_row():
    rows = np.array([[1, 2, 3, 4, 5, 6, 7, 8], [10, 1, 2, 3, 100, 0, 0, 0]], dtype=float)
    assert iqm(rows, axis=1) == pytest.approx([iqm(rows[0]), iqm(rows[1])])


def test_holm_on_a_known_vector():
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> raised to 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_keeps_nans_and_leaves_them_out_of_the_family():
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    adjusted = holm([0.01, math.nan, 0.02])
    assert adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.02)  # m = 2, not 3
    assert math.isnan(adjusted[1])
    assert np.isnan(holm([math.nan, math.nan])).all()


def test_holm_is_monotone_in_the_raw_p_values():
    raw = np.random.default_rng(3).uniform(0, 0.2, size=12)
    adjusted = holm(raw)
    order = np.argsort(raw)
    assert np.all(np.diff(adjusted[order]) >= 0)
    assert np.all(adjusted >= raw)


def test_paired_wilcoxon_p_value_is_scipys():
    a = [0.91, 0.88, 0.93, 0.90, 0.95, 0.89, 0.92]
    b = [0.90, 0.89, 0.90, 0.86, 0.91, 0.84, 0.93]
    result = paired_wilcoxon(a, b)
    assert result.p_value == pytest.approx(scipy.stats.wilcoxon(a, b).pvalue)
    assert result.n == 7 and not result.too_few


def test_effect_sizes_on_a_hand_case():
    # differences 1, 2, -3, 4, 5: ranks of |d| are 1..5, R+ = 12, R- = 3, r = 9 / 15
    a = np.array([11.0, 12, 7, 14, 15])
    b = np.array([10.0, 10, 10, 10, 10])
    result = paired_wilcoxon(a, b)
    assert result.median_difference == pytest.approx(2.0)
    assert result.rank_biserial == pytest.approx(0.6)
    swapped = paired_wilcoxon(b, a)
    assert swapped.rank_biserial == pytest.approx(-0.6) and swapped.median_difference == pytest.approx(-2.0)
    assert swapped.p_value == pytest.approx(result.p_value)


def test_zero_differences_are_left_out_of_the_effect_size():
    # differences 0, 1, -2, 3, 4, 0: non-zero ranks 1..4, R+ = 8, R- = 2
    result = paired_wilcoxon([5, 6, 3, 8, 9, 5], [5, 5, 5, 5, 5, 5])
    assert result.rank_biserial == pytest.approx(0.6)
    assert result.median_difference == pytest.approx(0.5)


def test_all_zero_differences_give_p_one():
    result = paired_wilcoxon([0.5] * 6, [0.5] * 6)
    assert result.p_value == 1.0 and result.rank_biserial == 0.0 and result.median_difference == 0.0


def test_too_few_pairs_give_no_p_value_but_effect_sizes():
    result = paired_wilcoxon([0.9, 0.8, 0.7, 0.6], [0.5, 0.5, 0.5, 0.5])
    assert MIN_SEEDS_FOR_TEST == 5
    assert result.too_few and math.isnan(result.p_value)
    assert result.n == 4 and result.rank_biserial == pytest.approx(1.0)
    assert result.median_difference == pytest.approx(0.25)


def test_pairs_with_a_missing_value_are_dropped():
    result = paired_wilcoxon([1, 2, 3, 4, 5, math.nan], [0, 0, 0, 0, math.nan, 0])
    assert result.n == 4 and result.too_few


def test_bootstrap_ci_is_deterministic_and_contains_the_estimate():
    sample = np.random.default_rng(0).normal(0.8, 0.05, size=20)
    first = bootstrap_ci(sample, np.mean, seed=7)
    assert first == bootstrap_ci(sample, np.mean, seed=7)
    assert first != bootstrap_ci(sample, np.mean, seed=8)
    assert first[0] < np.mean(sample) < first[1]
    low, high = bootstrap_ci(sample, iqm, seed=7)
    assert low <= iqm(sample) <= high


def test_bootstrap_ci_of_the_mean_is_close_to_the_normal_interval():
    sample = np.arange(100, dtype=float)  # mean 49.5, standard error 29.01 / 10
    low, high = bootstrap_ci(sample, np.mean, n_resamples=4000, seed=1)
    half_width = 1.96 * np.std(sample) / 10
    assert low == pytest.approx(49.5 - half_width, abs=1.0)
    assert high == pytest.approx(49.5 + half_width, abs=1.0)


def test_bootstrap_ci_edge_cases():
    assert bootstrap_ci([0.7], np.mean) == (0.7, 0.7)
    assert all(math.isnan(x) for x in bootstrap_ci([], np.mean))
    assert bootstrap_ci([0.7, math.nan], np.mean) == (0.7, 0.7)


def test_bootstrap_ci_of_columns_brackets_each_columns_median():
    matrix = np.random.default_rng(2).uniform(size=(9, 4))
    low, high = bootstrap_ci(matrix, np.median, n_resamples=500, seed=0)
    assert low.shape == high.shape == (4,)
    assert np.all(low <= np.median(matrix, axis=0)) and np.all(np.median(matrix, axis=0) <= high)


def test_mean_ranks_average_ties_within_a_seed_then_over_seeds():
    frame = pd.DataFrame({
        "benchmark": ["b"] * 6,
        "seed": [0, 0, 0, 1, 1, 1],
        "strategy": ["A", "B", "C"] * 2,
        "best_val_accuracy": [0.9, 0.9, 0.8, 0.7, 0.8, 0.9],
    })
    ranks = mean_ranks(frame)
    # seed 0: A, B tie for 1st -> 1.5 each, C 3; seed 1: C 1, B 2, A 3
    assert ranks[("b", "A")] == pytest.approx(2.25)
    assert ranks[("b", "B")] == pytest.approx(1.75)
    assert ranks[("b", "C")] == pytest.approx(2.0)


def test_mean_ranks_put_a_missing_metric_last_and_keep_benchmarks_apart():
    frame = pd.DataFrame({
        "benchmark": ["b", "b", "b", "c", "c"],
        "seed": [0, 0, 0, 0, 0],
        "strategy": ["A", "B", "C", "A", "B"],
        "best_val_accuracy": [math.nan, 0.1, 0.2, 0.5, 0.4],
    })
    ranks = mean_ranks(frame)
    assert ranks[("b", "A")] == 3 and ranks[("b", "C")] == 1
    assert ranks[("c", "A")] == 1 and ranks[("c", "B")] == 2


@pytest.mark.parametrize("rows", [5, 6])
def test_sorted_median_matches_numpy_including_nans(rows):
    matrix = np.random.default_rng(rows).uniform(size=(rows, 4))
    matrix[1, 2] = math.nan
    expected = np.median(matrix, axis=0)
    result = sorted_median(matrix, axis=0)
    assert np.isnan(result[2]) and np.isnan(expected[2])
    assert result[[0, 1, 3]] == pytest.approx(expected[[0, 1, 3]])
    assert sorted_median(matrix.T, axis=1)[[0, 1, 3]] == pytest.approx(expected[[0, 1, 3]])


# Demšar (2006), "Statistical comparisons of classifiers over multiple data sets", JMLR 7,
# section 3.2.4: C4.5 and three variants on 14 data sets. Its rank sums (44, 28, 40.5, 27.5
# over 14 data sets) give the mean ranks below; the paper reports chi2_F = 9.28,
# F_F = 3.69, CD = 1.25 at alpha 0.05 and 1.12 at alpha 0.10 (table 5: q = 2.569, 2.291).
DEMSAR_RANKS = pd.Series({"C4.5": 44 / 14, "C4.5+m": 28 / 14, "C4.5+cf": 40.5 / 14, "C4.5+m+cf": 27.5 / 14})


def test_friedman_reproduces_demsars_worked_example():
    test = friedman_from_ranks(DEMSAR_RANKS.to_numpy(), n=14)
    assert test.chi_square == pytest.approx(9.28, abs=0.005)
    assert test.f_statistic == pytest.approx(3.69, abs=0.005)
    # F(3, 39) at 3.69: the paper's critical value at 0.05 is 2.85, so p < 0.05.
    assert test.p_value == pytest.approx(scipy.stats.f.sf(test.f_statistic, 3, 39))
    assert 0.01 < test.p_value < 0.05
    assert not test.too_few


def test_nemenyi_critical_difference_reproduces_demsars_table_and_example():
    for k, q in {2: 1.960, 3: 2.343, 4: 2.569, 6: 2.850, 10: 3.164}.items():
        assert nemenyi_critical_difference(k, n=1) / math.sqrt(k * (k + 1) / 6) == pytest.approx(q, abs=0.001)
    assert nemenyi_critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)
    assert nemenyi_critical_difference(4, 14, alpha=0.10) == pytest.approx(1.12, abs=0.005)
    with pytest.raises(ValueError, match="k >= 2"):
        nemenyi_critical_difference(1, 14)


def test_critical_difference_groups_on_demsars_example():
    # At 0.05 no pair differs (the paper: "not powerful enough"): one bar over all four.
    assert critical_difference_groups(DEMSAR_RANKS, nemenyi_critical_difference(4, 14)) == [
        ["C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"]]
    # At 0.10 C4.5 (3.143) differs from C4.5+m+cf (1.964) and C4.5+m (2.000): two bars.
    assert critical_difference_groups(DEMSAR_RANKS, nemenyi_critical_difference(4, 14, alpha=0.10)) == [
        ["C4.5+m+cf", "C4.5+m", "C4.5+cf"], ["C4.5+cf", "C4.5"]]
    # All far apart: no bar; a group inside another is not repeated.
    assert critical_difference_groups(pd.Series({"a": 1.0, "b": 2.0, "c": 3.0}), 0.5) == []
    assert critical_difference_groups(pd.Series({"a": 1.0, "b": 1.2, "c": 1.3, "d": 3.0}), 0.5) == [["a", "b", "c"]]


def test_friedman_matches_scipy_without_ties_and_ranks_nan_last():
    rng = np.random.default_rng(7)
    values = rng.normal(size=(12, 5)) + np.arange(5) * 0.4
    test = friedman(values)
    expected = scipy.stats.friedmanchisquare(*values.T)
    assert test.chi_square == pytest.approx(expected.statistic, rel=1e-12)
    assert test.n == 12 and test.k == 5
    assert test.mean_ranks[4] < test.mean_ranks[0]  # the highest column ranks best
    ranks = rank_matrix(np.array([[0.9, np.nan, 0.9], [0.1, 0.5, 0.3]]))
    np.testing.assert_array_equal(ranks, [[1.5, 3, 1.5], [3, 1, 2]])


def test_friedman_edge_cases():
    too_few = friedman(np.ones((MIN_SEEDS_FOR_TEST - 1, 3)))
    assert too_few.too_few and math.isnan(too_few.p_value)
    same = friedman(np.tile([3.0, 2.0, 1.0], (6, 1)))  # every seed ranks alike: certain
    assert same.f_statistic == math.inf and same.p_value == 0.0
    tied = friedman(np.ones((6, 3)))  # nothing to tell apart
    assert tied.chi_square == 0.0 and tied.p_value == 1.0


def test_normalised_regret_on_a_hand_case():
    np.testing.assert_allclose(normalised_regret([0.97, 0.96, 0.95, 0.93, np.nan], best=0.97, random_median=0.95),
                               [0.0, 0.5, 1.0, 2.0, np.nan])
    assert np.isnan(normalised_regret([0.9], best=0.9, random_median=0.9)).all()
