"""A recorded configuration's curves as numpy arrays: what a replayed trial reads.

A replayed trial answers a few epochs of a recorded configuration, or of the surrogate's
prediction plus a recorded configuration's seed deviation (:mod:`tunebench.benchmarks.replay`).
Asked of the recording's pandas tables, each answer cost about 20 ms of label lookups,
alignment and ``clip``, most of a non-Bayesian replay run's time. :class:`DonorCurves`
holds one configuration's curves as float64 arrays, made once per process, and computes
the same numbers with the same elementwise operations (a subtraction, a product, the
clipping rule of ``pandas.DataFrame.clip``), so every answer is the tables' answer, bit for
bit (``tests/test_replay_arrays.py`` compares them).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tunebench.benchmarks.surrogate import TARGETS

#: The metrics a training seed moves (:func:`~tunebench.benchmarks.recording.mean_over_draws`
#: averages them); the epoch seconds are the machine's, not the seed's.
NOISY = [name for name in TARGETS if name != "epoch_seconds"]
#: Their columns in an array of :data:`TARGETS`.
NOISY_COLUMNS = [TARGETS.index(name) for name in NOISY]
_LOSS_COLUMNS = [i for i, name in enumerate(NOISY) if name.endswith("loss")]
_SCORE_COLUMNS = [i for i, name in enumerate(NOISY) if not name.endswith("loss")]


def clip_like_pandas(values: np.ndarray, lower, upper) -> np.ndarray:
    """``DataFrame.clip(lower, upper)`` on an array: a value below ``lower`` becomes ``lower``,
    one above ``upper`` becomes ``upper`` (each compared as it was before clipping), NaN values
    stay NaN, and a NaN bound does not clip (pandas' rule for array-like bounds; a comparison
    with NaN is false)."""
    return np.where(values > upper, upper, np.where(values < lower, lower, values))


def bounded(noisy: np.ndarray) -> np.ndarray:
    """The :data:`NOISY` columns with accuracies and F1 scores within [0, 1] and losses at least 0."""
    out = noisy.copy()
    out[:, _SCORE_COLUMNS] = clip_like_pandas(noisy[:, _SCORE_COLUMNS], 0.0, 1.0)
    out[:, _LOSS_COLUMNS] = clip_like_pandas(noisy[:, _LOSS_COLUMNS], 0.0, np.inf)
    return out


class DonorCurves:
    """One recorded configuration's curves: its mean over draws, each draw, their confusion matrices.

    ``mean`` is the configuration's rows of the mean table (epochs 1..E in order, columns
    :data:`TARGETS`), ``draws`` its rows in each draw, ``seed_spread`` the recording's typical
    one-seed spread per epoch (:func:`~tunebench.benchmarks.replay.typical_seed_spread`) and
    ``cap`` how many of those a borrowed deviation may reach.
    """

    def __init__(self, mean: pd.DataFrame, draws: list[pd.DataFrame], seed_spread: pd.DataFrame, cap: float):
        self.epochs = mean.index.to_numpy()
        if not np.array_equal(self.epochs, np.arange(1, len(self.epochs) + 1)):
            raise ValueError(f"a recorded curve has epochs {list(self.epochs)}, not 1..{len(self.epochs)}")
        self.mean = mean[TARGETS].to_numpy(dtype=np.float64)
        draws = [draw if draw.index.equals(mean.index) else draw.loc[self.epochs] for draw in draws]
        self.draws = [draw[NOISY].to_numpy(dtype=np.float64) for draw in draws]
        self.confusions = mean["test_confusion"].tolist()
        self.draw_confusions = [[text if isinstance(text, str) else None for text in draw["test_confusion"].tolist()]
                                for draw in draws]
        self._spread = seed_spread.reindex(self.epochs)[NOISY].to_numpy(dtype=np.float64)
        self._cap = cap
        self._deviations: dict[int, np.ndarray] = {}

    def rows(self, initial_epoch: int, epochs: int) -> slice:
        """The rows of epochs ``initial_epoch + 1 .. epochs``; ``KeyError`` beyond the recorded epochs."""
        if not 0 <= initial_epoch < epochs <= len(self.epochs):
            raise KeyError(f"epochs {initial_epoch + 1}..{epochs} of a curve recorded for 1..{len(self.epochs)}")
        return slice(initial_epoch, epochs)

    def deviation(self, draw: int) -> np.ndarray:
        """How far draw ``draw`` lies from the mean over the ``K`` draws (the :data:`NOISY`
        columns), times ``sqrt(K / (K - 1))`` so that its spread is one training seed's (a draw's
        deviation from the mean of ``K`` has variance ``sigma**2 (K - 1) / K``), held within
        ``cap`` typical seed spreads (an unstable donor's swings are not lent whole)."""
        if draw not in self._deviations:
            scale = math.sqrt(len(self.draws) / (len(self.draws) - 1))
            deviation = (self.draws[draw] - self.mean[:, NOISY_COLUMNS]) * scale
            limit = self._cap * self._spread
            self._deviations[draw] = clip_like_pandas(deviation, -limit, limit)
        return self._deviations[draw]

    def confusion_texts(self, rows: slice, draw: int | None) -> list[str]:
        """The test confusion matrices (JSON text) of ``rows``: draw ``draw``'s where it has
        them, else the mean table's (the first draw's)."""
        first = self.confusions[rows]
        if draw is None:
            return first
        return [own if own is not None else text for own, text in zip(self.draw_confusions[draw][rows], first)]
