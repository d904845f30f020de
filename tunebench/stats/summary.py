"""Summaries of a strategy's results over seeds: the interquartile mean, a fast median, the
seeded percentile bootstrap, and normalised regret. Pure functions; NaN is dropped first."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.stats

#: Fewer paired seeds than this and :func:`paired_wilcoxon` reports no p-value. With 5 pairs
#: the smallest two-sided exact p-value is already 2 / 2**5 = 0.0625.
MIN_SEEDS_FOR_TEST = 5

#: At most this many resampled values are held at once by :func:`bootstrap_ci` (bounds memory).
_CHUNK_VALUES = 4_000_000


def _finite_1d(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """``values`` as a float array with NaNs removed."""
    array = np.asarray(values, dtype=float).ravel()
    return array[~np.isnan(array)]


def iqm(values: Sequence[float] | np.ndarray, axis: int | None = None) -> float | np.ndarray:
    """Interquartile mean: the mean of the middle 50 % (``scipy.stats.trim_mean(x, 0.25)``).

    ``int(0.25 * n)`` values are cut from each end, so for fewer than 4 values it is the
    plain mean.

    Parameters
    ----------
    values:
        The sample. With ``axis=None`` NaNs are dropped; with an axis they propagate.
    axis:
        ``None`` for a 1-D sample (flattened); otherwise the axis to reduce (used by
        :func:`bootstrap_ci` on a whole matrix of resamples at once).

    Returns
    -------
    float or numpy.ndarray
        The IQM; NaN for an empty sample.
    """
    if axis is None:
        sample = _finite_1d(values)
        return float(scipy.stats.trim_mean(sample, 0.25)) if sample.size else float("nan")
    return scipy.stats.trim_mean(np.asarray(values, dtype=float), 0.25, axis=axis)


def sorted_median(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Median along ``axis``, computed by sorting: several times faster than ``np.median`` on
    many short rows (as in :func:`bootstrap_ci`'s resample matrices).

    Parameters
    ----------
    values:
        An array of floats.
    axis:
        The axis to reduce.

    Returns
    -------
    numpy.ndarray
        The median (mean of the two middle values for an even count); NaN wherever a value
        along ``axis`` is NaN, as with ``np.median``.
    """
    array = np.sort(np.asarray(values, dtype=float), axis=axis)
    n = array.shape[axis]
    middle = (np.take(array, (n - 1) // 2, axis=axis) + np.take(array, n // 2, axis=axis)) / 2.0
    return np.where(np.isnan(np.take(array, n - 1, axis=axis)), np.nan, middle)  # sorting puts NaNs last


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[..., np.ndarray] = np.mean,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of ``statistic``, resampling along the first axis.

    Deterministic: the same inputs and ``seed`` give the same interval. All resamples are
    drawn as index matrices (in chunks of a few million values to bound memory) and
    ``statistic`` is applied to them at once, so no Python loop runs per resample.

    Parameters
    ----------
    values:
        1-D sample (NaNs dropped), or a 2-D array ``(n, k)`` of ``k`` columns sharing the
        ``n`` resampled rows (e.g. seeds x grid points; NaNs propagate per column).
    statistic:
        Called as ``statistic(array, axis=1)`` on an array of shape ``(resamples, n)`` or
        ``(resamples, n, k)``; e.g. ``np.mean``, ``np.median`` or :func:`iqm`.
    n_resamples:
        Number of bootstrap resamples.
    confidence:
        Coverage of the interval, e.g. 0.95 for the 2.5th and 97.5th percentiles.
    seed:
        Seed of the ``numpy.random.Generator`` that draws the resamples.

    Returns
    -------
    (low, high)
        Floats for a 1-D sample (NaN, NaN when it is empty; the single value twice when it
        has one), arrays of length ``k`` for a 2-D one.
    """
    array = np.asarray(values, dtype=float)
    if array.ndim <= 1:
        array = _finite_1d(array)
        if array.size == 0:
            return float("nan"), float("nan")
    n = array.shape[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_VALUES // array.size)
    estimates = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        indices = rng.integers(0, n, size=(size, n))
        estimates.append(statistic(array[indices], axis=1))
    distribution = np.concatenate(estimates, axis=0)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(distribution, [tail, 100.0 - tail], axis=0)
    if array.ndim == 1:
        return float(low), float(high)
    return low, high


def normalised_regret(values: Sequence[float] | np.ndarray, best: float, random_median: float) -> np.ndarray:
    """Regret scaled so that 0 is the best value known and 1 is random search's median.

    ``(best - value) / (best - random_median)`` for a higher-is-better metric (as bayesmark
    scales its scores). Negative values beat the best known one (not possible when ``best``
    is the best value seen); values above 1 are worse than random search's median.

    Parameters
    ----------
    values:
        The metric per run (e.g. best validation accuracy); NaNs stay NaN.
    best:
        The best value known on this benchmark.
    random_median:
        The median of random search's values on the same benchmark and budget.

    Returns
    -------
    numpy.ndarray
        Same shape as ``values``; all NaN when ``best <= random_median`` (no scale: random
        search's median is already the best known).
    """
    array = np.asarray(values, dtype=float)
    scale = best - random_median
    if not np.isfinite(scale) or scale <= 0:
        return np.full(array.shape, np.nan)
    return (best - array) / scale
