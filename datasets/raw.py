"""Raw arrays as read from disk, and their conversion into seeded :class:`Splits`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tunebench.errors import DataError

from .splits import Splits
from .stratify import split_off


@dataclass(frozen=True, eq=False)
class RawData:
    """Validated arrays of one dataset file, before any seeded choice.

    ``x_val`` and ``y_val`` are None when the source has no validation split of its own; one
    is then carved out of the training set by :func:`make_splits`. ``digest`` is the sha256 of
    the arrays for data with no file behind it (a plug-in's loader: :mod:`.plugin`).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    digest: str | None = None

    def freeze(self) -> "RawData":
        """Flag every array read-only (they are shared through the cache) and return self."""
        for array in (self.x_train, self.y_train, self.x_test, self.y_test, self.x_val, self.y_val):
            if array is not None:
                array.flags.writeable = False
        return self


def make_splits(
    raw: RawData,
    *,
    name: str,
    class_names: tuple[str, ...],
    seed: int,
    val_fraction: float,
) -> Splits:
    """Build the train/val/test splits of a dataset from its raw arrays.

    Parameters
    ----------
    raw:
        The arrays as read (shared, read-only).
    name:
        Dataset name for :attr:`Splits.name`.
    class_names:
        Class names, label order.
    seed:
        Seed of the validation split; used only when ``raw`` has no validation split.
    val_fraction:
        Stratified share of the training set that becomes the validation split when ``raw``
        has none (e.g. 0.2 for MNIST: 12,000 of 60,000).

    Returns
    -------
    Splits
        The splits; arrays are read-only.
    """
    if raw.x_val is not None and raw.y_val is not None:
        x_train, y_train, x_val, y_val = raw.x_train, raw.y_train, raw.x_val, raw.y_val
    else:
        if len(raw.y_train) < 2:
            raise DataError(
                f"{raw.source}: the training split has {len(raw.y_train)} example(s); "
                "at least 2 are needed to carve a validation split out of it"
            )
        val_index, train_index = split_off(raw.y_train, val_fraction, seed)
        x_val, y_val = raw.x_train[val_index], raw.y_train[val_index]
        x_train, y_train = raw.x_train[train_index], raw.y_train[train_index]
    return Splits(
        name=name,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_test=raw.x_test,
        y_test=raw.y_test,
        class_names=tuple(class_names),
        source=raw.source,
        digest=raw.digest,
    )
