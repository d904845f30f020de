"""Dataset names and their loaders: a built-in dataset is one entry in :data:`LOADERS`; a
plug-in's is a :class:`~.plugin.DatasetSpec` added by :func:`register_dataset` (the one
home of both, which :func:`load_dataset` reads)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tunebench.errors import DataError, SuiteError
from tunebench.registry import register_unique, unknown_name

from .fer2013 import load_fer2013
from .mnist import load_mnist
from .plugin import DatasetSpec, load_plugin_dataset
from .splits import Splits

LOADERS: dict[str, Callable[[Path, int], Splits]] = {
    "fer2013": load_fer2013,
    "mnist": load_mnist,
}
#: The built-in dataset names.
DATASETS: tuple[str, ...] = tuple(LOADERS)
#: The datasets plug-ins registered in this process, by name.
PLUGIN_DATASETS: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> None:
    """Add a plug-in's dataset (again with the same spec: nothing happens).

    Raises
    ------
    SuiteError
        ``spec`` is not a :class:`DatasetSpec`, a field is malformed, or its name is a
        built-in dataset's or another plug-in dataset's.
    """
    if isinstance(spec, DatasetSpec):
        try:
            spec.check()
        except DataError as error:
            raise SuiteError(str(error)) from None
        if spec.name in LOADERS:
            raise SuiteError(f"{spec.where}: dataset name {spec.name!r} is taken by a built-in dataset "
                             f"({', '.join(DATASETS)} are tunebench's own); give the plug-in's dataset a name of its own")
    register_unique(PLUGIN_DATASETS, spec, "dataset", DatasetSpec)


def dataset_names() -> tuple[str, ...]:
    """Every dataset a benchmark may name: the built-in ones, then the plug-ins'."""
    return DATASETS + tuple(PLUGIN_DATASETS)


def plugin_dataset(name: str) -> DatasetSpec | None:
    """The plug-in's :class:`DatasetSpec` named ``name``, or ``None`` (a built-in or unknown name)."""
    return PLUGIN_DATASETS.get(name)


def load_dataset(name: str, data_dir: Path, seed: int) -> Splits:
    """Load the dataset ``name`` from ``data_dir``.

    Parameters
    ----------
    name:
        One of :func:`dataset_names`: a built-in dataset (``"fer2013"``, ``"mnist"``) or one a
        plug-in registered.
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
    if loader is not None:
        return loader(Path(data_dir), seed)
    spec = PLUGIN_DATASETS.get(name)
    if spec is None:
        raise DataError(unknown_name("dataset", name, dataset_names()))
    return load_plugin_dataset(spec, Path(data_dir), seed)
