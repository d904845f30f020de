"""Datasets: FER2013 and MNIST, loaded from local files into seeded train/val/test splits.

Public API
----------
Splits
    The frozen container of one dataset's splits.
DATASETS
    The dataset names.
resolve_data_dir
    ``--data-dir``, else ``$TUNEBENCH_DATA``, else ``./datasets/data``.
load_dataset, load_fer2013, load_mnist
    Read, validate and split a dataset (raw arrays are cached in memory).
stratified_subset
    Seeded, stratified subsampling of each split.
clear_cache
    Forget the cached raw arrays.
"""

from .cache import clear_cache
from .fer2013 import load_fer2013
from .locate import resolve_data_dir
from .mnist import load_mnist
from .registry import DATASETS, load_dataset
from .splits import Splits, stratified_subset

__all__ = [
    "DATASETS",
    "Splits",
    "clear_cache",
    "load_dataset",
    "load_fer2013",
    "load_mnist",
    "resolve_data_dir",
    "stratified_subset",
]
