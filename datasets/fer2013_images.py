"""Reading the Kaggle image-folder version of FER2013.

The layout is ``train/<class>/*.jpg`` and ``test/<class>/*.jpg`` (PNG accepted too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tunebench.errors import DataError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
#: File-name prefixes in test/ that give the original Usage.
VAL_PREFIX = "publictest_"
TEST_PREFIX = "privatetest_"


def _class_folders(
    split_dir: Path, class_index: dict[str, int], hint: str
) -> list[tuple[int, Path]]:
    folders = []
    for entry in sorted(split_dir.iterdir()):
        if not entry.is_dir():
            continue  # stray files such as .DS_Store
        label = class_index.get(entry.name.lower())
        if label is None:
            raise DataError(
                f"{entry}: unknown class folder {entry.name!r}; expected "
                f"{', '.join(class_index)} (case-insensitive). {hint}"
            )
        folders.append((label, entry))
    return sorted(folders)


def list_images(split_dir: Path, class_index: dict[str, int], hint: str) -> list[tuple[Path, int]]:
    """List the image files of one split folder with their labels.

    Parameters
    ----------
    split_dir:
        ``train/`` or ``test/``, holding one folder per class.
    class_index:
        Lower-case class folder name -> label.
    hint:
        Where to get the data; appended to error messages.

    Returns
    -------
    list of (pathlib.Path, int)
        ``.jpg``, ``.jpeg`` and ``.png`` files (any case), by label then file name. Other files
        are ignored; an unknown class folder is a DataError.
    """
    found = []
    for label, folder in _class_folders(split_dir, class_index, hint):
        files = sorted(
            (
                path
                for path in folder.iterdir()
                if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
            ),
            key=lambda path: path.name,
        )
        found.extend((path, label) for path in files)
    return found


def decode_image(path: Path, image_shape: tuple[int, int], hint: str) -> np.ndarray:
    """Decode one image file to grayscale uint8.

    Parameters
    ----------
    path:
        The image file.
    image_shape:
        Expected (H, W); another size is a DataError naming the file.
    hint:
        Where to get the data; appended to error messages.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``image_shape``.
    """
    height, width = image_shape
    try:
        with Image.open(path) as image:
            if image.size != (width, height):
                raise DataError(
                    f"{path}: image is {image.size[0]}x{image.size[1]} pixels; expected "
                    f"{width}x{height}. {hint}"
                )
            return np.array(image.convert("L"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(
            f"{path}: cannot be decoded as an image ({type(error).__name__}: {error}). {hint}"
        ) from error


def _stack(files: list[tuple[Path, int]], image_shape: tuple[int, int], hint: str):
    images = np.empty((len(files), *image_shape), dtype=np.uint8)
    for row, (path, _) in enumerate(files):
        images[row] = decode_image(path, image_shape, hint)
    labels = np.array([label for _, label in files], dtype=np.int64)
    return images, labels


def read_image_folders(
    train_dir: Path,
    test_dir: Path,
    class_index: dict[str, int],
    image_shape: tuple[int, int],
    hint: str,
) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    """Read the train and test folders of the image-folder layout.

    Within ``test_dir``, files whose names start with ``PublicTest_`` (any case) form the
    validation split and those starting with ``PrivateTest_`` the test split. When no file
    there has either prefix, the whole folder is the test split and ``"val"`` is None (the
    caller carves it out of the training set). Mixing prefixed and unprefixed files is a
    DataError.

    Parameters
    ----------
    train_dir, test_dir:
        The split folders.
    class_index:
        Lower-case class folder name -> label.
    image_shape:
        Expected (H, W) of every image.
    hint:
        Where to get the data; appended to error messages.

    Returns
    -------
    dict
        ``{"train": (x, y), "val": (x, y) or None, "test": (x, y)}``, uint8 images and int64
        labels (not yet validated as splits: a split may be empty).
    """
    train = list_images(train_dir, class_index, hint)
    test = list_images(test_dir, class_index, hint)
    public, private, other = [], [], []
    for item in test:
        name = item[0].name.lower()
        if name.startswith(VAL_PREFIX):
            public.append(item)
        elif name.startswith(TEST_PREFIX):
            private.append(item)
        else:
            other.append(item)
    if public or private:
        if other:
            raise DataError(
                f"{test_dir}: {len(other)} image(s) such as {other[0][0].name!r} lack the "
                f"PublicTest_/PrivateTest_ prefix that the other {len(public) + len(private)} "
                f"have; rename or remove them. {hint}"
            )
        return {
            "train": _stack(train, image_shape, hint),
            "val": _stack(public, image_shape, hint),
            "test": _stack(private, image_shape, hint),
        }
    return {
        "train": _stack(train, image_shape, hint),
        "val": None,
        "test": _stack(test, image_shape, hint),
    }
