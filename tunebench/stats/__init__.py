"""Statistics for comparing strategies over seeds: pure functions, no plotting, no I/O.

- :func:`iqm`: the interquartile mean (the 25-75 % trimmed mean, as in rliable).
- :func:`bootstrap_ci`: a seeded, vectorised percentile bootstrap interval for any statistic.
- :func:`sorted_median`: a median by sorting, fast on the bootstrap's many short rows.
- :func:`paired_wilcoxon`: the Wilcoxon signed-rank test on paired seeds, with effect sizes.
- :func:`holm`: Holm-Bonferroni adjusted p-values for a family of tests.
- :func:`mean_ranks`: rank strategies within each seed (higher metric is better), then average.
- :func:`rank_matrix`, :func:`friedman`: ranks per block (seed) and the Friedman test on them,
  with the Iman-Davenport F form (Demšar 2006, JMLR 7:1-30).
- :func:`nemenyi_critical_difference`, :func:`critical_difference_groups`: the Nemenyi critical
  difference of mean ranks and the groups it cannot tell apart (the bars of a CD diagram).
- :func:`normalised_regret`: 0 at the best value known, 1 at random search's median.

Missing values (NaN) are dropped before a statistic is computed, so a run without a completed
trial never poisons a mean; :func:`mean_ranks` instead ranks it last.

The functions live in :mod:`tunebench.stats.summary` and :mod:`tunebench.stats.rank_tests`;
import them from here.
"""

from tunebench.stats.rank_tests import (
    FriedmanTest,
    PairedTest,
    critical_difference_groups,
    friedman,
    friedman_from_ranks,
    holm,
    mean_ranks,
    nemenyi_critical_difference,
    paired_wilcoxon,
    rank_biserial,
    rank_matrix,
)
from tunebench.stats.summary import MIN_SEEDS_FOR_TEST, bootstrap_ci, iqm, normalised_regret, sorted_median

__all__ = ["FriedmanTest", "MIN_SEEDS_FOR_TEST", "PairedTest", "bootstrap_ci", "critical_difference_groups",
           "friedman", "friedman_from_ranks", "holm", "iqm", "mean_ranks", "nemenyi_critical_difference",
           "normalised_regret", "paired_wilcoxon", "rank_biserial", "rank_matrix", "sorted_median"]
