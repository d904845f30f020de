"""Datasets: FER2013 and MNIST, loaded from local files into seeded train/val/test splits,
and any dataset a plug-in registers (its loader's arrays, split the same way).

Public API
----------
Splits
    The frozen container of one dataset's splits.
DATASETS
    The built-in dataset names.
DatasetSpec, register_dataset
    A plug-in's dataset: a loader of raw arrays, its class names and image shape.
dataset_names, plugin_dataset
    Every dataset name (built-in, then the plug-ins'); a plug-in's spec by name.
resolve_data_dir
    ``--data-dir``, else ``$TUNEBENCH_DATA``, else ``./datasets/data``.
load_dataset, load_fer2013, load_mnist
    Read, validate and split a dataset, built-in or a plug-in's (raw arrays are cached in memory).
stratified_subset
    Seeded, stratified subsampling of each split.
clear_cache
    Forget the cached raw arrays.
"""

from .cache import clear_cache
from .fer2013 import load_fer2013
from .locate import resolve_data_dir
from .mnist import load_mnist
from .plugin import DatasetSpec
from .registry import DATASETS, dataset_names, load_dataset, plugin_dataset, register_dataset
from .splits import Splits, stratified_subset

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "Splits",
    "clear_cache",
    "dataset_names",
    "load_dataset",
    "load_fer2013",
    "load_mnist",
    "plugin_dataset",
    "register_dataset",
    "resolve_data_dir",
    "stratified_subset",
]
