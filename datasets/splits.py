"""The :class:`Splits` container and seeded, stratified subsampling of it."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tunebench.errors import DataError

from .stratify import check_seed, stratified_indices

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
_ARRAY_FIELDS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


@dataclass(frozen=True, eq=False)
class Splits:
    """One dataset's train / validation / test splits.

    Attributes
    ----------
    name:
        ``"fer2013"``, ``"mnist"`` or a plug-in dataset's name.
    x_train, x_val, x_test:
        uint8 images, shape (N, H, W) (48x48 for FER2013, 28x28 for MNIST).
    y_train, y_val, y_test:
        int64 labels, shape (N,), values in ``0..len(class_names)-1``.
    class_names:
        Class names in label order.
    source:
        The file or folder the data came from (for the manifest); for a plug-in's dataset,
        ``loader MODULE:FUNCTION``.
    digest:
        For a plug-in's dataset (no file to name): the sha256 of the arrays its loader
        returned, before any split (the manifest's ``data`` entry); ``None`` for file data.

    Notes
    -----
    Every array is stored as a read-only view: the loaders share arrays through an
    in-memory cache, and nothing may write into it. Copy an array before changing it in place.
    Equality is identity (``eq=False``); comparing arrays field by field is the caller's job.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    digest: str | None = None

    def __post_init__(self) -> None:
        for field in _ARRAY_FIELDS:
            view = np.asarray(getattr(self, field)).view()
            view.flags.writeable = False
            object.__setattr__(self, field, view)
        object.__setattr__(self, "class_names", tuple(self.class_names))

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(class_names)``)."""
        return len(self.class_names)

    def sizes(self) -> dict[str, int]:
        """Return the number of examples per split.

        Returns
        -------
        dict
            ``{"train": N, "val": M, "test": K}``.
        """
        return {split: int(len(getattr(self, f"y_{split}"))) for split in SPLIT_NAMES}


def _requests(sizes: object) -> dict[str, object]:
    if isinstance(sizes, Mapping):
        unknown = [key for key in sizes if key not in SPLIT_NAMES]
        if unknown:
            raise DataError(
                f"subset sizes name unknown split {unknown[0]!r} (value {sizes[unknown[0]]!r}); "
                f"known splits: {', '.join(SPLIT_NAMES)}"
            )
        return dict(sizes)
    return {split: sizes for split in SPLIT_NAMES}


def _count(split: str, value: object, available: int) -> int:
    """Turn one requested size (count or fraction) into a count of examples."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DataError(
            f"subset size for {split!r} is {value!r}; expected an int count or a float "
            "fraction in (0, 1]"
        )
    if isinstance(value, numbers.Integral):
        if not 1 <= value <= available:
            raise DataError(
                f"subset size for {split!r} is {value!r}; a count must be between 1 and the "
                f"split's {available} examples"
            )
        return int(value)
    if not 0.0 < float(value) <= 1.0:
        raise DataError(
            f"subset size for {split!r} is {value!r}; a fraction must be in (0, 1]"
        )
    return max(1, int(round(float(value) * available)))


def stratified_subset(
    splits: Splits, sizes: int | float | Mapping[str, int | float], seed: int
) -> Splits:
    """Subsample each split, stratified by class and seeded.

    Parameters
    ----------
    splits:
        The splits to subsample.
    sizes:
        An int is a count of examples, a float in (0, 1] a fraction of the split
        (``round(fraction * N)``, at least 1; ``1.0`` keeps the whole split while ``1`` keeps
        one example). A single value applies to all three splits; a mapping with keys among
        ``"train"``, ``"val"``, ``"test"`` applies per split, and a split it leaves out is kept
        whole.
    seed:
        Non-negative seed. Each split draws from its own stream derived from ``seed`` and the
        split's position (train, val, test), so the same seed always gives the same subset.

    Returns
    -------
    Splits
        A new Splits with the chosen examples in their original order; name, class names and
        source are unchanged. Classes keep their share of the split (largest remainder), and
        every class present in a split keeps at least one example when the count is at
        least the number of classes present.

    Raises
    ------
    DataError
        For a count <= 0 or above the split's size, a fraction outside (0, 1], a value that is
        not a number, an unknown split key or a bad seed; the message names the key and value.
    """
    seed = check_seed(seed)
    requests = _requests(sizes)
    available = splits.sizes()
    counts = {split: _count(split, value, available[split]) for split, value in requests.items()}
    changes: dict[str, np.ndarray] = {}
    for number, split in enumerate(SPLIT_NAMES):
        if split not in counts:
            continue
        x, y = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")
        if counts[split] == len(y):
            continue
        rng = np.random.default_rng([seed, number])
        chosen = stratified_indices(y, counts[split], rng)
        changes[f"x_{split}"] = x[chosen]
        changes[f"y_{split}"] = y[chosen]
    return dataclasses.replace(splits, **changes)
