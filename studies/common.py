"""What more than one study uses, and nothing in the product does.

Studies are run as modules from the repository root (``python -m studies.NAME``), so that
they import one another, and this module, as the package ``studies``.
"""

from __future__ import annotations

import numpy as np
import scipy.stats


def paired_spearman(pairs: np.ndarray, axis: int = 0) -> np.ndarray:
    """Spearman's rank correlation between the two columns of ``pairs`` along ``axis``: the
    statistic for :func:`bootstrap_ci` over ``(x, y)`` pairs (``values`` of shape ``(n, 2)``).

    Parameters
    ----------
    pairs:
        An array whose last axis holds ``x`` and ``y`` (length 2); ``axis`` is one of the others.
    axis:
        The axis along which the pairs lie.

    Returns
    -------
    numpy.ndarray
        ``pairs``' shape without ``axis`` and the last axis. Ties take their average rank, as in
        ``scipy.stats.spearmanr`` (the same numbers); NaN where a column is constant.
    """
    ranks = scipy.stats.rankdata(np.asarray(pairs, dtype=float), axis=axis)
    centred = ranks - ranks.mean(axis=axis, keepdims=True)
    x, y = np.moveaxis(centred, -1, 0)
    axis = axis % centred.ndim
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(axis=axis) / np.sqrt((x * x).sum(axis=axis) * (y * y).sum(axis=axis))


__all__ = ["paired_spearman"]
