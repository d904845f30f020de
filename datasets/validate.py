"""Checks that every loaded array must pass, whatever file format it came from."""

from __future__ import annotations

import numpy as np

from tunebench.errors import DataError


def _fail(source: str, what: str, hint: str) -> DataError:
    return DataError(f"{source}: {what}. {hint}".strip())


def check_images(
    x: object, *, source: str, key: str, image_shape: tuple[int, int], hint: str
) -> np.ndarray:
    """Return ``x`` as uint8 images of shape (N, H, W), or raise DataError.

    Parameters
    ----------
    x:
        The pixel array as read. Accepted shapes: (N, H, W), (N, H*W) (reshaped) and
        (N, H, W, 1) (squeezed). Accepted dtypes: uint8, or any integer dtype whose values lie
        within 0..255 (cast).
    source:
        The file or folder the array came from (named in the error message).
    key:
        The array's name within the source (``x_train``...).
    image_shape:
        The expected (H, W).
    hint:
        Where to get the data; appended to every error message.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape (N, H, W).
    """
    height, width = image_shape
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == height * width:
        x = x.reshape(len(x), height, width)
    elif x.ndim == 4 and x.shape[1:] == (height, width, 1):
        x = x.reshape(len(x), height, width)
    if x.ndim != 3 or x.shape[1:] != (height, width):
        raise _fail(
            source,
            f"array '{key}' has shape {x.shape}; expected (N, {height}, {width}) "
            f"or (N, {height * width})",
            hint,
        )
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind not in "iu":
        raise _fail(
            source, f"array '{key}' has dtype {x.dtype}; expected uint8 pixels (0..255)", hint
        )
    if x.size and (int(x.min()) < 0 or int(x.max()) > 255):
        raise _fail(
            source,
            f"array '{key}' has pixel values {int(x.min())}..{int(x.max())}; expected 0..255",
            hint,
        )
    return x.astype(np.uint8)


def check_labels(y: object, *, source: str, key: str, n_classes: int, hint: str) -> np.ndarray:
    """Return ``y`` as int64 labels in 0..n_classes-1, or raise DataError.

    Parameters
    ----------
    y:
        The label array as read: integers, shape (N,) or (N, 1).
    source, key, hint:
        As for :func:`check_images`.
    n_classes:
        Number of classes; labels must lie in ``0..n_classes-1``.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (N,).
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise _fail(source, f"array '{key}' has shape {y.shape}; expected (N,) labels", hint)
    if y.dtype.kind not in "iu":
        raise _fail(source, f"array '{key}' has dtype {y.dtype}; expected integer labels", hint)
    if y.size:
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= n_classes:
            bad = low if low < 0 else high
            raise _fail(
                source,
                f"array '{key}' has label {bad} outside 0..{n_classes - 1}",
                hint,
            )
    return y.astype(np.int64)


def check_split(
    x: object,
    y: object,
    *,
    split: str,
    source: str,
    image_shape: tuple[int, int],
    n_classes: int,
    hint: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Check one split's images and labels together.

    Parameters
    ----------
    x, y:
        Images and labels of the split, as read.
    split:
        ``"train"``, ``"val"`` or ``"test"``; the arrays are named ``x_<split>`` and
        ``y_<split>`` in messages.
    source, image_shape, n_classes, hint:
        As for :func:`check_images` and :func:`check_labels`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        uint8 images (N, H, W) and int64 labels (N,), N > 0; the training split holds at
        least two classes.
    """
    x = check_images(x, source=source, key=f"x_{split}", image_shape=image_shape, hint=hint)
    y = check_labels(y, source=source, key=f"y_{split}", n_classes=n_classes, hint=hint)
    if len(x) != len(y):
        raise _fail(
            source,
            f"x_{split} has {len(x)} images but y_{split} has {len(y)} labels",
            hint,
        )
    if len(x) == 0:
        raise _fail(source, f"the {split} split is empty", hint)
    if split == "train" and len(np.unique(y)) < 2:
        raise _fail(
            source,
            f"every label in y_{split} is {int(y[0])}: a classifier cannot learn from one class "
            "(labels swapped for a constant, or a file of one class only?)",
            hint,
        )
    return x, y
