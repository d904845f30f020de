"""The studies' shared helpers (studies/common.py), imported as the studies import them: as the
package ``studies`` from the repository root."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from tunebench.stats import bootstrap_ci


def _import_studies_common():
    """studies/common.py as the package ``studies`` from the repository root, with the root on
    sys.path only while it imports: left there, it would make every process spawned later in
    this pytest worker import the checkout's tunebench/ folder instead of the installed package."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        import studies.common
    finally:
        del sys.path[0]
    return studies.common


paired_spearman = _import_studies_common().paired_spearman


def test_paired_spearman_is_scipys_spearman_along_any_axis_and_with_ties():
    rng = np.random.default_rng(3)
    pairs = np.round(rng.normal(size=(40, 2)), 1)  # rounded: ties
    pairs[:, 1] += pairs[:, 0]
    assert paired_spearman(pairs) == pytest.approx(scipy.stats.spearmanr(pairs[:, 0], pairs[:, 1]).statistic)
    stacked = np.stack([pairs, pairs[::-1] * [1, -1], pairs[:, ::-1]])  # three samples, pairs along axis 1
    expected = [scipy.stats.spearmanr(sample[:, 0], sample[:, 1]).statistic for sample in stacked]
    assert paired_spearman(stacked, axis=1) == pytest.approx(expected)
    assert np.isnan(paired_spearman(np.column_stack([np.ones(5), np.arange(5)])))
    low, high = bootstrap_ci(pairs, paired_spearman, 2000)
    assert low < paired_spearman(pairs) < high and -1 <= low and high <= 1
