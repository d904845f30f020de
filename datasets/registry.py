"""Dataset names and their loaders: adding a dataset is one entry in :data:`LOADERS`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tunebench.errors import DataError

from .fer2013 import load_fer2013
from .mnist import load_mnist
from .splits import Splits

LOADERS: dict[str, Callable[[Path, int], Splits]] = {
    "fer2013": load_fer2013,
    "mnist": load_mnist,
}
DATASETS: tuple[str, ...] = tuple(LOADERS)


def load_dataset(name: str, data_dir: Path, seed: int) -> Splits:
    """Load the dataset ``name`` from ``data_dir``.

    Parameters
    ----------
    name:
        One of :data:`DATASETS` (``"fer2013"``, ``"mnist"``).
    data_dir:
        The data directory (see :func:`resolve_data_dir`).
    seed:
        Seed of any validation split carved out of a training set.

    Returns
    -------
    Splits

    Raises
    ------
    DataError
        For an unknown name (the message lists the known ones) or any data problem.
    """
    loader = LOADERS.get(name)
    if loader is None:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return loader(Path(data_dir), seed)
