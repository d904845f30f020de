"""MNIST: ``mnist.npz`` (Keras layout), the four idx files, or Keras's own download.

Validation split: a stratified 20% of the training set chosen by ``seed`` (12,000 of the
60,000 standard training images); the rest is the training split; test is the 10,000-image
test set.
"""

from __future__ import annotations

from pathlib import Path

from tunebench.errors import DataError, DataMissingError
from tunebench.quiet import import_tensorflow_quietly

from .cache import cached, file_signature
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from .locate import first_file, missing_message
from .npz import read_npz
from .raw import RawData, make_splits
from .splits import Splits
from .stratify import check_seed
from .validate import check_split

NAME = "mnist"
CLASS_NAMES: tuple[str, ...] = tuple(str(digit) for digit in range(10))
IMAGE_SHAPE = (28, 28)
#: Share of the training set that becomes the validation split (12,000 of 60,000).
VAL_FRACTION = 0.2
NPZ_NAME = "mnist.npz"
#: The idx file (without ``.gz``) that holds each array.
IDX_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
HINT = (
    "Get MNIST as mnist.npz from Keras (keras.datasets.mnist.load_data() saves it in "
    "~/.keras/datasets/) or as the four idx files " + ", ".join(IDX_FILES.values())
    + " (plain or .gz) from http://yann.lecun.com/exdb/mnist/ or a mirror, and put them in "
    "the data directory (or its mnist/ sub-folder)."
)


def _folders(data_dir: Path) -> tuple[Path, Path]:
    return (data_dir, data_dir / "mnist")


def _validated(arrays: dict, source: str, blame: dict[str, str] | None = None) -> RawData:
    """Check the train and test arrays; ``blame`` names the file of each split in errors."""
    checked = {}
    for split in ("train", "test"):
        checked[split] = check_split(
            arrays[f"x_{split}"],
            arrays[f"y_{split}"],
            split=split,
            source=(blame or {}).get(split, source),
            image_shape=IMAGE_SHAPE,
            n_classes=len(CLASS_NAMES),
            hint=HINT,
        )
    (x_train, y_train), (x_test, y_test) = checked["train"], checked["test"]
    return RawData(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, source=source)


def _read_npz(path: Path) -> RawData:
    arrays = read_npz(path, ("x_train", "y_train", "x_test", "y_test"), HINT)
    return _validated(arrays, str(path.resolve()))


def _find_idx(data_dir: Path) -> dict[str, Path | None]:
    found = {}
    for key, base in IDX_FILES.items():
        found[key] = first_file(
            folder / name for folder in _folders(data_dir) for name in (base, base + ".gz")
        )
    return found


def _read_idx_files(paths: dict[str, Path]) -> RawData:
    arrays = {}
    for key, path in paths.items():
        magic = IMAGES_MAGIC if key.startswith("x_") else LABELS_MAGIC
        arrays[key] = read_idx(path, magic, HINT)
    folders = {path.resolve().parent for path in paths.values()}
    if len(folders) == 1:
        source = str(folders.pop())
    else:
        source = ", ".join(str(path.resolve()) for path in paths.values())
    blame = {
        split: f"{paths[f'x_{split}'].resolve()} / {paths[f'y_{split}'].name}"
        for split in ("train", "test")
    }
    return _validated(arrays, source, blame)


def _download(data_dir: Path, looked_for: list[str]) -> RawData:
    try:
        import_tensorflow_quietly()  # without TensorFlow's start-up lines, unless asked for
        import keras  # lazy: importing Keras starts TensorFlow

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # any failure of the download (offline, proxy, bad hash...)
        raise DataMissingError(
            missing_message("MNIST", data_dir, looked_for, HINT)
            + f" The Keras download was tried and failed ({type(error).__name__}: {error})."
        ) from error
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return _validated(arrays, "keras.datasets.mnist.load_data()")


def load_mnist(data_dir: Path, seed: int, *, download: bool = True) -> Splits:
    """Load MNIST from ``data_dir`` and split it.

    Looked up in this order: ``mnist.npz`` (keys x_train, y_train, x_test, y_test), in
    ``data_dir`` then ``data_dir/mnist``; the four idx files (each plain or ``.gz``), in
    ``data_dir`` or ``data_dir/mnist``; and, only when none of these exists,
    ``keras.datasets.mnist.load_data()`` (which downloads once into ``~/.keras/datasets``).
    The raw arrays are cached in memory per file and modification time.

    Parameters
    ----------
    data_dir:
        The data directory.
    seed:
        Seed of the stratified validation split (20% of the training set).
    download:
        Whether the Keras download may be tried when nothing is found locally.

    Returns
    -------
    Splits
        48,000 / 12,000 / 10,000 images for the standard files.

    Raises
    ------
    DataError
        If the files are missing (and the download is off or fails), incomplete, truncated,
        corrupt or malformed.
    """
    data_dir = Path(data_dir)
    seed = check_seed(seed)
    npz = first_file(folder / NPZ_NAME for folder in _folders(data_dir))
    idx = _find_idx(data_dir)
    if npz is not None:
        raw = cached((NAME, "npz", file_signature(npz)), lambda: _read_npz(npz))
    elif all(path is not None for path in idx.values()):
        signature = tuple(file_signature(path) for path in idx.values())
        raw = cached((NAME, "idx", signature), lambda: _read_idx_files(idx))
    elif any(path is not None for path in idx.values()):
        present = ", ".join(str(path) for path in idx.values() if path is not None)
        absent = ", ".join(IDX_FILES[key] for key, path in idx.items() if path is None)
        raise DataError(
            f"MNIST idx files incomplete in {data_dir}: found {present} but not {absent} "
            f"(plain or .gz, in {data_dir} or {data_dir / 'mnist'}). {HINT}"
        )
    else:
        looked_for = [NPZ_NAME, f"mnist/{NPZ_NAME}"] + [
            f"[mnist/]{base}[.gz]" for base in IDX_FILES.values()
        ]
        if not download:
            raise DataMissingError(missing_message("MNIST", data_dir, looked_for, HINT))
        raw = cached((NAME, "keras-download"), lambda: _download(data_dir, looked_for))
    return make_splits(
        raw, name=NAME, class_names=CLASS_NAMES, seed=seed, val_fraction=VAL_FRACTION
    )
