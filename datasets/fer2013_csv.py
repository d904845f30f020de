"""Reading Kaggle's ``fer2013.csv`` (columns emotion, pixels, Usage)."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np

from tunebench.errors import DataError

#: Usage column value -> split.
USAGE_SPLITS: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
N_PIXELS = 48 * 48


def _parse_pixels(text: str) -> np.ndarray | str:
    """Return the row's pixels as int64, or a description of what is wrong with them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # numpy < 2.3 only warns
            values = np.fromstring(text, dtype=np.int64, sep=" ")
        if len(values) == N_PIXELS and len(text.split()) == N_PIXELS:
            return values
    except ValueError:
        pass
    tokens = text.split()  # slow path, only to say exactly what is wrong
    for token in tokens:
        try:
            int(token)
        except ValueError:
            return f"non-integer pixel value {token[:20]!r}"
    return f"{len(tokens)} pixel values instead of {N_PIXELS} (48x48)"


def read_fer2013_csv(path: Path, n_classes: int, hint: str) -> dict[str, tuple[list, list]]:
    """Read the images and labels of each split from a Kaggle ``fer2013.csv``.

    Parameters
    ----------
    path:
        The CSV file: a header with (at least) the columns emotion, pixels and Usage (in any
        order, surrounding spaces ignored), then one row per image: the label, 2304
        space-separated integers 0..255, and Training / PublicTest / PrivateTest.
    n_classes:
        Labels must lie in ``0..n_classes-1``.
    hint:
        Where to get the data; appended to error messages.

    Returns
    -------
    dict
        ``{"train" | "val" | "test": (images, labels)}``: lists of uint8 (2304,) arrays and ints,
        in file order.

    Raises
    ------
    DataError
        For an unreadable file, a missing column, or a malformed row (wrong number of
        fields or pixels, a non-integer, a value out of range, an unknown Usage); the message
        gives the file and line.
    """
    splits: dict[str, tuple[list, list]] = {split: ([], []) for split in USAGE_SPLITS.values()}

    def fail(line: int, what: str) -> DataError:
        return DataError(f"{path}, line {line}: {what}. {hint}")

    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                raise DataError(
                    f"{path}: the file is empty; expected a header emotion,pixels,Usage. {hint}"
                )
            columns = [name.strip().lower() for name in header]
            missing = [name for name in ("emotion", "pixels", "usage") if name not in columns]
            if missing:
                raise DataError(
                    f"{path}: the header {','.join(header)!r} lacks the column(s) "
                    f"{', '.join(missing)}; expected emotion,pixels,Usage. {hint}"
                )
            emotion_at, pixels_at, usage_at = (
                columns.index(name) for name in ("emotion", "pixels", "usage")
            )
            for row in reader:
                line = reader.line_num
                if not row or not any(field.strip() for field in row):
                    continue
                if len(row) != len(header):
                    raise fail(line, f"{len(row)} fields instead of {len(header)}")
                try:
                    label = int(row[emotion_at].strip())
                except ValueError:
                    what = f"emotion {row[emotion_at][:20]!r} is not an integer"
                    raise fail(line, what) from None
                if not 0 <= label < n_classes:
                    raise fail(line, f"emotion {label} is outside 0..{n_classes - 1}")
                usage = row[usage_at].strip()
                if usage not in USAGE_SPLITS:
                    raise fail(
                        line,
                        f"unknown Usage {usage[:30]!r}; expected one of {', '.join(USAGE_SPLITS)}",
                    )
                pixels = _parse_pixels(row[pixels_at])
                if isinstance(pixels, str):
                    raise fail(line, pixels)
                if pixels.min() < 0 or pixels.max() > 255:
                    raise fail(line, f"pixel values {pixels.min()}..{pixels.max()} outside 0..255")
                images, labels = splits[USAGE_SPLITS[usage]]
                images.append(pixels.astype(np.uint8))
                labels.append(label)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(
            f"{path}: cannot be read as a CSV file ({type(error).__name__}: {error}). {hint}"
        ) from error
    return splits
