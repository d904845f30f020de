"""Seeded, stratified choice of example indices.

One sampling rule serves both the validation splits carved out of a training set and
:func:`~tunebench.datasets.stratified_subset`: share the requested number of examples among
the classes in proportion to their sizes (largest remainder), give every class present at
least one example when the number allows, then draw each class's share at random.
"""

from __future__ import annotations

import numbers

import numpy as np

from tunebench.errors import DataError


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int, or raise DataError if it is not a non-negative integer.

    Parameters
    ----------
    seed:
        The seed given by the caller.

    Returns
    -------
    int
        The same seed.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def allocate(class_counts: np.ndarray, total: int) -> np.ndarray:
    """Share ``total`` picks among classes in proportion to their sizes.

    Parameters
    ----------
    class_counts:
        Number of examples of each class (1-D, non-negative integers).
    total:
        How many examples to pick in all, ``0 <= total <= class_counts.sum()``.

    Returns
    -------
    numpy.ndarray
        int64 picks per class, summing to ``total`` and never above ``class_counts``.
        Each class with examples gets at least one pick when ``total`` is at least the number
        of such classes. Remainders are shared by the largest-remainder rule; ties go to the
        lower class index, so the result does not depend on any seed.
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    available = int(counts.sum())
    if not 0 <= total <= available:
        raise ValueError(f"cannot pick {total} of {available} examples")
    if total == 0:
        return np.zeros_like(counts)
    quota = counts * total / available
    picks = np.floor(quota).astype(np.int64)
    present = counts > 0
    if total >= int(present.sum()):
        picks = np.where(present, np.maximum(picks, 1), 0)
    remainder = quota - picks
    while picks.sum() < total:
        open_classes = np.flatnonzero(picks < counts)
        best = open_classes[np.argmax(remainder[open_classes])]
        picks[best] += 1
        remainder[best] -= 1.0
    while picks.sum() > total:
        # Only reached after the at-least-one rule raised some picks; keep those at one.
        shrinkable = np.flatnonzero(picks > 1)
        best = shrinkable[np.argmin(remainder[shrinkable])]
        picks[best] -= 1
        remainder[best] += 1.0
    return picks


def stratified_indices(labels: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Pick ``total`` example indices, stratified by label.

    Parameters
    ----------
    labels:
        1-D integer labels of the examples to choose from.
    total:
        How many to pick, ``0 <= total <= len(labels)``.
    rng:
        The random generator that draws each class's share (classes are visited in
        ascending label order, so one seed always gives the same indices).

    Returns
    -------
    numpy.ndarray
        The chosen indices (int64), sorted ascending so the original order is kept.
    """
    labels = np.asarray(labels)
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse.ravel(), minlength=len(classes))
    picks = allocate(counts, total)
    chosen = [
        rng.permutation(np.flatnonzero(inverse.ravel() == index))[:share]
        for index, share in enumerate(picks)
        if share > 0
    ]
    if not chosen:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def split_off(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split example indices in two: a stratified ``fraction`` and the rest.

    Parameters
    ----------
    labels:
        1-D integer labels of the examples to split (at least two).
    fraction:
        Share of the examples that goes to the first part, in (0, 1); the count is
        ``round(fraction * len(labels))``, at least 1 and at most ``len(labels) - 1``.
    seed:
        Seed of the draw.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Sorted indices of the split-off part and of the rest.
    """
    n = len(labels)
    count = min(max(1, int(round(fraction * n))), n - 1)
    picked = stratified_indices(labels, count, np.random.default_rng(seed))
    keep = np.ones(n, dtype=bool)
    keep[picked] = False
    return picked, np.flatnonzero(keep)
