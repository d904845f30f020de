"""FER2013: ``fer2013.npz``, Kaggle's ``fer2013.csv``, or its image-folder version.

Looked up in the data directory in this order:

1. ``fer2013.npz`` with x_train, y_train, x_val, y_val, x_test, y_test (other keys ignored);
2. ``fer2013.csv``, then ``fer2013/fer2013.csv`` (Usage Training / PublicTest / PrivateTest
   -> train / val / test);
3. the image folders ``fer2013/train`` + ``fer2013/test``, then ``train`` + ``test``.

In the image-folder layout, test/ files named ``PublicTest_*`` form the validation split and
``PrivateTest_*`` the test split. When test/ has no such prefixes, all of test/ is the test
split and the validation split is a stratified 10% of train/ chosen by ``seed`` (the rest is
the training split). The npz and CSV layouts have their own validation split, which ``seed``
does not change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunebench.errors import DataMissingError

from .cache import cached, file_signature, tree_signature
from .fer2013_csv import N_PIXELS, read_fer2013_csv
from .fer2013_images import read_image_folders
from .locate import first_file, missing_message
from .npz import read_npz
from .raw import RawData, make_splits
from .splits import SPLIT_NAMES, Splits
from .stratify import check_seed
from .validate import check_split

NAME = "fer2013"
CLASS_NAMES: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
#: Lower-case class folder name -> label.
CLASS_INDEX: dict[str, int] = {name.lower(): label for label, name in enumerate(CLASS_NAMES)}
IMAGE_SHAPE = (48, 48)
#: Share of train/ that becomes the validation split when test/ has no Usage prefixes.
VAL_FRACTION = 0.1
NPZ_NAME = "fer2013.npz"
CSV_NAMES = ("fer2013.csv", "fer2013/fer2013.csv")
FOLDER_ROOTS = ("fer2013", ".")
HINT = (
    'Get FER2013 from the Kaggle competition "Challenges in Representation Learning: Facial '
    'Expression Recognition Challenge" (fer2013.csv) or its image-folder version '
    "(train/<class>/*.jpg and test/<class>/*.jpg), and put it in the data directory."
)


def _check_all(parts: dict, sources: dict[str, str], source: str, val_from_train: bool) -> RawData:
    checked = {}
    for split in SPLIT_NAMES:
        if split == "val" and val_from_train:
            continue
        x, y = parts[split]
        checked[split] = check_split(
            x,
            y,
            split=split,
            source=sources[split],
            image_shape=IMAGE_SHAPE,
            n_classes=len(CLASS_NAMES),
            hint=HINT,
        )
    val = checked.get("val", (None, None))
    return RawData(
        x_train=checked["train"][0],
        y_train=checked["train"][1],
        x_val=val[0],
        y_val=val[1],
        x_test=checked["test"][0],
        y_test=checked["test"][1],
        source=source,
    )


def _read_npz(path: Path) -> RawData:
    arrays = read_npz(path, [f"{a}_{s}" for s in SPLIT_NAMES for a in ("x", "y")], HINT)
    parts = {split: (arrays[f"x_{split}"], arrays[f"y_{split}"]) for split in SPLIT_NAMES}
    source = str(path.resolve())
    return _check_all(parts, dict.fromkeys(SPLIT_NAMES, source), source, val_from_train=False)


def _read_csv(path: Path) -> RawData:
    rows = read_fer2013_csv(path, len(CLASS_NAMES), HINT)
    parts = {}
    for split, (images, labels) in rows.items():
        x = np.stack(images) if images else np.empty((0, N_PIXELS), dtype=np.uint8)
        parts[split] = (x, np.array(labels, dtype=np.int64))
    source = str(path.resolve())
    sources = {
        split: f"{source} (rows with Usage {usage})"
        for usage, split in (("Training", "train"), ("PublicTest", "val"), ("PrivateTest", "test"))
    }
    return _check_all(parts, sources, source, val_from_train=False)


def _read_folders(root: Path, train_dir: Path, test_dir: Path) -> RawData:
    parts = read_image_folders(train_dir, test_dir, CLASS_INDEX, IMAGE_SHAPE, HINT)
    test_source = str(test_dir.resolve())
    sources = {
        "train": str(train_dir.resolve()),
        "val": f"{test_source} (PublicTest_* files)",
        "test": f"{test_source} (PrivateTest_* files)" if parts["val"] is not None else test_source,
    }
    return _check_all(parts, sources, str(root.resolve()), val_from_train=parts["val"] is None)


def _find_folders(data_dir: Path) -> tuple[Path, Path, Path] | None:
    for name in FOLDER_ROOTS:
        root = data_dir / name
        if (root / "train").is_dir() and (root / "test").is_dir():
            return root, root / "train", root / "test"
    return None


def load_fer2013(data_dir: Path, seed: int) -> Splits:
    """Load FER2013 from ``data_dir`` and split it.

    See the module docstring for the files looked for and how the splits are formed. The
    raw arrays are cached in memory per file (or folder tree) and modification time, so
    loading several seeds in one process reads the data once.

    Parameters
    ----------
    data_dir:
        The data directory.
    seed:
        Seed of the validation split; used only for image folders without Usage prefixes.

    Returns
    -------
    Splits
        28,709 / 3,589 / 3,589 images for the full dataset.

    Raises
    ------
    DataError
        If no FER2013 layout is found, or the files found are truncated, corrupt or
        malformed (wrong image size, bad labels, malformed CSV row...).
    """
    data_dir = Path(data_dir)
    seed = check_seed(seed)
    npz = first_file([data_dir / NPZ_NAME])
    csv_file = first_file(data_dir / name for name in CSV_NAMES)
    folders = _find_folders(data_dir)
    if npz is not None:
        raw = cached((NAME, "npz", file_signature(npz)), lambda: _read_npz(npz))
    elif csv_file is not None:
        raw = cached((NAME, "csv", file_signature(csv_file)), lambda: _read_csv(csv_file))
    elif folders is not None:
        root, train_dir, test_dir = folders
        signature = tree_signature(train_dir) + tree_signature(test_dir)
        raw = cached(
            (NAME, "folders", signature), lambda: _read_folders(root, train_dir, test_dir)
        )
    else:
        looked_for = [NPZ_NAME, *CSV_NAMES, "fer2013/train/ + fer2013/test/", "train/ + test/"]
        raise DataMissingError(missing_message("FER2013", data_dir, looked_for, HINT))
    return make_splits(
        raw, name=NAME, class_names=CLASS_NAMES, seed=seed, val_fraction=VAL_FRACTION
    )
