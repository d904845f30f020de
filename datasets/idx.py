"""Reading LeCun's idx files (MNIST), plain or gzipped, with strict header checks."""

from __future__ import annotations

import math

import gzip
import zlib
from pathlib import Path

import numpy as np

from tunebench.errors import DataError

#: Magic numbers: unsigned bytes (0x08) with 3 dimensions (images) or 1 (labels).
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def _read_bytes(path: Path, hint: str) -> bytes:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(
            f"{path}: cannot be read ({type(error).__name__}: {error}); the file may be "
            f"truncated or corrupt. {hint}"
        ) from error


def read_idx(path: Path, magic: int, hint: str) -> np.ndarray:
    """Read one idx file of unsigned bytes.

    Parameters
    ----------
    path:
        The file; a name ending in ``.gz`` is decompressed.
    magic:
        The expected magic number: :data:`IMAGES_MAGIC` (2051, three dimensions) or
        :data:`LABELS_MAGIC` (2049, one dimension).
    hint:
        Where to get the data; appended to error messages.

    Returns
    -------
    numpy.ndarray
        uint8 array with the dimensions of the header, e.g. (60000, 28, 28).

    Raises
    ------
    DataError
        For a wrong magic number, or a length that does not match the header (truncated or
        with trailing bytes).
    """
    data = _read_bytes(path, hint)
    if len(data) < 4:
        raise DataError(f"{path}: only {len(data)} bytes, too short for an idx header. {hint}")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        kind = "image (idx3)" if magic == IMAGES_MAGIC else "label (idx1)"
        raise DataError(
            f"{path}: bad magic number {found} (expected {magic} for an idx {kind} file); "
            f"it is not the right file or it is corrupt. {hint}"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated inside the header ({len(data)} bytes). {hint}")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(dims)  # Python integers: dimensions whose product overflows 64 bits are caught
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(
            f"{path}: {what}: the header announces dimensions {dims}, i.e. {expected} bytes, "
            f"but the file holds {len(data)}. {hint}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)
