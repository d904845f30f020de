"""A dataset a plug-in brings: a :class:`DatasetSpec` naming a loader of raw arrays.

The loader returns what a built-in dataset's file holds (the keys of ``mnist.npz``): uint8
images ``x_train``, ``x_test`` and integer labels ``y_train``, ``y_test``, and optionally a
validation split of its own (``x_val``, ``y_val``). Everything after that is the built-in
path: the arrays are checked as a file's are (:mod:`.validate`), cached in memory, and split
into seeded, stratified train/validation/test splits (:func:`.raw.make_splits`), so that a
suite's ``subset``, its seeds and the live Keras harness treat the data as they treat MNIST.
With no file to name, :attr:`Splits.source` names the loader and :attr:`Splits.digest` is the
sha256 of the arrays it returned (the manifest's ``data`` entry and a resumed run's check).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunebench.errors import DataError

from .cache import cached
from .raw import RawData, make_splits
from .splits import Splits
from .stratify import check_seed
from .validate import check_split

#: The arrays a loader returns (the validation pair is optional: both or neither).
REQUIRED_KEYS: tuple[str, ...] = ("x_train", "y_train", "x_test", "y_test")
VAL_KEYS: tuple[str, ...] = ("x_val", "y_val")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset registered by a plug-in (:func:`tunebench.datasets.register_dataset`).

    Attributes
    ----------
    name:
        The name a :class:`~tunebench.benchmarks.BenchmarkSpec`'s ``dataset`` gives; it may not
        be a built-in dataset's (``fer2013``, ``mnist``) nor another plug-in's.
    description:
        One line, for error messages.
    load:
        ``data_dir -> mapping`` with the arrays ``x_train``, ``y_train``, ``x_test``,
        ``y_test`` (and optionally ``x_val``, ``y_val``): images uint8 (or integers in
        0..255) of shape (N, H, W), (N, H*W) or (N, H, W, 1); labels integers in
        ``0..len(class_names)-1``, shape (N,). ``data_dir`` is the run's data directory (a
        loader that reads files reads them there; one that makes its data ignores it). It
        must return the same arrays every call: a worker process calls it again, and the
        run's seeds, not the loader, choose the splits.
    class_names:
        The classes, in label order.
    image_shape:
        ``(H, W)`` of every image; a benchmark's ``input_shape`` must hold ``H * W`` values.
    val_fraction:
        Without ``x_val``/``y_val``: the stratified share of the training arrays that becomes
        the validation split, chosen by the run's split seed (MNIST's 0.2 by default).
    """

    name: str
    description: str
    load: Callable[[Path], Mapping[str, Any]]
    class_names: tuple[str, ...]
    image_shape: tuple[int, int]
    val_fraction: float = 0.2

    def __post_init__(self) -> None:
        for field in ("class_names", "image_shape"):  # a list from a user is kept as a tuple (hashable)
            if isinstance(getattr(self, field), list):
                object.__setattr__(self, field, tuple(getattr(self, field)))

    @property
    def where(self) -> str:
        """``plug-in dataset 'NAME' (loader MODULE:FUNCTION)``: who to blame in messages."""
        return f"plug-in dataset {self.name!r} (loader {loader_name(self.load)})"

    def check(self) -> None:
        """:class:`DataError` naming the dataset if a field is malformed."""
        problems = []
        if not isinstance(self.name, str) or not self.name:
            problems.append(f"name must be a non-empty string, got {self.name!r}")
        if not callable(self.load):
            problems.append(f"load must be callable (data_dir -> arrays), got {type(self.load).__name__}")
        names = self.class_names
        if isinstance(names, str) or not isinstance(names, (tuple, list)) or len(names) < 2 \
                or not all(isinstance(n, str) for n in names):
            problems.append(f"class_names must be a tuple of at least two strings, got {names!r}")
        shape = self.image_shape
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2
                and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
            problems.append(f"image_shape must be (height, width) of positive ints, got {shape!r}")
        fraction = self.val_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction < 1.0:
            problems.append(f"val_fraction must be a number in (0, 1), got {fraction!r}")
        if problems:
            label = f"plug-in dataset {self.name!r}" if isinstance(self.name, str) else "plug-in dataset"
            raise DataError(f"{label}: " + "; ".join(problems))


def loader_name(load: Any) -> str:
    """``module:qualname`` of a loader; a plug-in loaded from a ``.py`` file is named by the file."""
    module_name = getattr(load, "__module__", None) or "?"
    module = sys.modules.get(module_name)
    if module_name.startswith("tunebench_plugin_") and getattr(module, "__file__", None):
        module_name = Path(module.__file__).name  # tunebench.plugins' private name for a .py file
    return f"{module_name}:{getattr(load, '__qualname__', type(load).__name__)}"


def _hint(spec: DatasetSpec) -> str:
    return (f"The loader must return a mapping with {', '.join(REQUIRED_KEYS)} (and optionally "
            f"{' and '.join(VAL_KEYS)}): uint8 images of shape (N, {spec.image_shape[0]}, {spec.image_shape[1]}) "
            f"and integer labels in 0..{len(spec.class_names) - 1} ({spec.description}).")


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over each array's name, dtype, shape and bytes, in key order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _read(spec: DatasetSpec, data_dir: Path) -> RawData:
    """Call the loader and check what it returned, as a file's arrays are checked."""
    where, hint = spec.where, _hint(spec)
    try:
        arrays = spec.load(data_dir)
    except DataError as error:  # the loader's own data message (a missing file stays "missing")
        raise type(error)(f"{where}: {error}") from None
    except Exception as error:  # noqa: BLE001 - a broken loader is the user's input
        raise DataError(f"{where} failed: {type(error).__name__}: {error}") from None
    if not isinstance(arrays, Mapping):
        raise DataError(f"{where}: returned {type(arrays).__name__}; expected a mapping of arrays. {hint}")
    keys = set(arrays)
    missing = [key for key in REQUIRED_KEYS if key not in keys]
    if missing:
        raise DataError(f"{where}: returned no {', '.join(missing)} (it returned {sorted(map(str, keys))}). {hint}")
    has_val = [key in keys for key in VAL_KEYS]
    if any(has_val) and not all(has_val):
        raise DataError(f"{where}: returned {VAL_KEYS[has_val.index(True)]} without "
                        f"{VAL_KEYS[has_val.index(False)]}; give both or neither. {hint}")
    checked: dict[str, np.ndarray] = {}
    for split in ("train", "val", "test") if all(has_val) else ("train", "test"):
        x, y = check_split(np.array(arrays[f"x_{split}"]), np.array(arrays[f"y_{split}"]), split=split,
                           source=where, image_shape=tuple(spec.image_shape), n_classes=len(spec.class_names),
                           hint=hint)
        checked[f"x_{split}"], checked[f"y_{split}"] = x, y
    return RawData(**checked, source=f"loader {loader_name(spec.load)}", digest=_digest(checked))


def load_plugin_dataset(spec: DatasetSpec, data_dir: Path, seed: int) -> Splits:
    """``spec``'s data split for ``seed``: the loader is called once per process and data
    directory (its checked arrays are cached), and the splits are drawn as MNIST's are.

    Raises
    ------
    DataError
        Naming the plug-in dataset and its loader, for a loader that raises or returns
        anything but the arrays :class:`DatasetSpec` describes (a missing key, a wrong shape
        or dtype, a label out of range, a split with one class).
    """
    seed = check_seed(seed)
    data_dir = Path(data_dir)
    # Keyed by the loader itself (a callable need not be hashable) and what the checks read.
    key = (spec.name, "plug-in", id(spec.load), tuple(spec.class_names), tuple(spec.image_shape),
           str(data_dir.resolve()))
    raw = cached(key, lambda: _read(spec, data_dir))
    return make_splits(raw, name=spec.name, class_names=tuple(spec.class_names), seed=seed,
                       val_fraction=float(spec.val_fraction))


__all__ = ["DatasetSpec", "REQUIRED_KEYS", "VAL_KEYS", "load_plugin_dataset", "loader_name"]
