"""In-memory cache of raw (unsplit, unseeded) arrays, so several seeds read a file once.

Entries are keyed by dataset, resolved path and modification time (plus size), so a file
that changes on disk is read again. Cached arrays are flagged read-only; the loaders only hand
out read-only views or fresh copies of them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from .raw import RawData

#: Most raw datasets kept at once (FER2013 takes about 83 MB, MNIST about 55 MB).
MAX_ENTRIES = 4

_entries: OrderedDict[Hashable, RawData] = OrderedDict()
_lock = threading.RLock()


def file_signature(path: Path) -> tuple[str, int, int]:
    """Return (resolved path, mtime in ns, size) identifying one version of a file.

    Parameters
    ----------
    path:
        An existing file.

    Returns
    -------
    tuple
    """
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def tree_signature(root: Path, depth: int = 2) -> tuple:
    """Return the modification times of ``root`` and its folders down to ``depth`` levels.

    Adding, removing or renaming an image in a class folder changes that folder's mtime, so
    the image-folder layout is re-read after such a change (an image rewritten in place is
    not noticed).

    Parameters
    ----------
    root:
        An existing folder.
    depth:
        How many levels of sub-folders to include.

    Returns
    -------
    tuple
    """
    stamps = [(str(root.resolve()), root.stat().st_mtime_ns)]
    if depth > 0:
        for child in sorted(root.iterdir()):
            if child.is_dir():
                stamps.extend(tree_signature(child, depth - 1))
    return tuple(stamps)


def cached(key: Hashable, read: Callable[[], RawData]) -> RawData:
    """Return the cached raw data for ``key``, reading it with ``read()`` on a miss.

    Parameters
    ----------
    key:
        Dataset name plus a file or tree signature.
    read:
        Reads and validates the arrays.

    Returns
    -------
    RawData
        With every array flagged read-only.
    """
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]
        raw = read().freeze()
        _entries[key] = raw
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
        return raw


def clear_cache() -> None:
    """Forget every cached dataset."""
    with _lock:
        _entries.clear()
