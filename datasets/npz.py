"""Reading named arrays out of a ``.npz`` archive, with every failure as a DataError."""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tunebench.errors import DataError


def read_npz(path: Path, keys: Sequence[str], hint: str) -> dict[str, np.ndarray]:
    """Read the arrays ``keys`` from the archive ``path``; other arrays are ignored.

    Parameters
    ----------
    path:
        The ``.npz`` file.
    keys:
        Names of the arrays needed.
    hint:
        Where to get the data; appended to error messages.

    Returns
    -------
    dict
        Array name to array. Pickled (object) arrays are refused.

    Raises
    ------
    DataError
        If the file is missing, unreadable, truncated or corrupt, is not an archive, or
        lacks one of ``keys``.
    """
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError as error:
        raise DataError(f"{path}: file not found. {hint}") from error
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as error:
        raise DataError(
            f"{path}: cannot be read as a .npz archive ({type(error).__name__}: {error}); "
            f"the file may be truncated or corrupt. {hint}"
        ) from error
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds a single array, not a .npz archive of named arrays. {hint}")
    with loaded as archive:
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise DataError(
                f"{path}: lacks the array(s) {', '.join(missing)} (it has "
                f"{', '.join(archive.files) or 'none'}). {hint}"
            )
        try:
            for key in keys:
                _check_declared_size(archive, key, path, hint)
            return {key: archive[key] for key in keys}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as error:
            raise DataError(
                f"{path}: an array cannot be read ({type(error).__name__}: {error}); the file "
                f"may be truncated or corrupt. {hint}"
            ) from error


def _check_declared_size(archive: np.lib.npyio.NpzFile, key: str, path: Path, hint: str) -> None:
    """Refuse an array whose header declares more bytes than its archive member holds, before
    numpy allocates them (a header can declare 10^14 elements in a file of a few bytes)."""
    name = key if key in archive.zip.namelist() else f"{key}.npy"
    info = archive.zip.getinfo(name)
    with archive.zip.open(name) as member:
        version = np.lib.format.read_magic(member)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(member)
        header_bytes = member.tell()
    declared = math.prod(shape) * dtype.itemsize
    if declared > info.file_size - header_bytes:
        raise DataError(f"{path}: the array {key!r} declares shape {shape} of {dtype} ({declared:,} bytes), but its "
                        f"part of the archive holds {info.file_size - header_bytes:,}; the file is corrupt. {hint}")
