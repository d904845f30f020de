"""How tunebench touches the file system and the environment: files written atomically,
the one file digest, file locks, and environment variables set for a while.

Every file tunebench replaces (results, recordings, baselines, warm-start states, markers)
is written through :func:`atomic_file`: a temporary file beside the target, flushed and
fsync'd, then ``os.replace``-d over it, so a reader sees the old file or the new one,
never a part of one.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterable, Iterator

from tunebench.errors import DiskFullError, InputError

#: The errors that mean "the disk (or the user's quota) is full".
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def sha256_hex(data: bytes | Path) -> str:
    """The sha256 of ``data`` (bytes, or the contents of the file at that path), in hex: the
    one digest every file tunebench checks (results, manifests, recording chunks) is kept as."""
    return hashlib.sha256(data if isinstance(data, bytes) else Path(data).read_bytes()).hexdigest()


@contextmanager
def atomic_file(path: Path, mode: str = "wb", size: int | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing (``mode`` ``"wb"`` or ``"w"``); when
    the block ends normally it is fsync'd and replaces ``path``; on an error it is removed
    and ``path`` is untouched. A full disk is a :class:`DiskFullError` naming the folder and
    ``size`` (the bytes to write, when the caller knows them)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    text = "b" not in mode
    try:
        with open(tmp, mode, **({"encoding": "utf-8", "newline": ""} if text else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in DISK_FULL:
            raise DiskFullError(disk_full_message(error, path, size)) from error
        raise


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically (:func:`atomic_file`)."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    with atomic_file(path, "w" if isinstance(data, str) else "wb", size=size) as handle:
        handle.write(data)


def disk_full_message(error: OSError, path: Path | None = None, needed: int | None = None) -> str:
    """What to tell a user whose disk filled up while writing ``path`` (``needed`` bytes, if known)."""
    target = Path(path if path is not None else (error.filename or "."))
    folder = target if target.is_dir() else target.parent
    try:
        free = f"{_megabytes(shutil.disk_usage(folder).free)} free"
    except OSError:
        free = "free space unknown"
    size = f"at least {_megabytes(needed)}" if needed else "its size unknown"
    return (f"no space left on the device holding {folder.resolve()} while writing {target.name} ({size}; {free}); "
            "free some space there and run the same command again: everything written before is kept, and an "
            "interrupted run resumes where it stopped")


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def fsync_dir(directory: Path) -> None:
    """Make a folder's entries (a new or renamed file) durable; best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def hold_lock(path: Path, timeout: float = 0.0, what: str | None = None):
    """An exclusive ``flock`` on ``path`` (created if needed) for the duration of the block.

    Waits up to ``timeout`` seconds; then raises :class:`InputError` saying which process
    holds it (its pid is written into the file).
    """
    path = Path(path)
    handle = open(path, "a+", encoding="utf-8")
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise InputError(f"{what or path} is in use by process {holder} "
                                     "(another tunebench run on the same output directory?)") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} on {os.uname().nodename}")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


@contextmanager
def claim(path: Path) -> Iterator[bool]:
    """Claim a chunk for this process: ``True`` while this process holds an exclusive ``flock`` on
    ``path``, ``False`` at once where another process holds it. The lock dies with its process,
    so a killed worker's chunk is free again; the file is removed when the claim ends."""
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            current = os.stat(path).st_ino
        except (BlockingIOError, FileNotFoundError):
            current = None
        if current != os.fstat(handle.fileno()).st_ino:  # held, or removed when a claim ended
            yield False
            return
        try:
            yield True
        finally:
            path.unlink(missing_ok=True)  # whoever opens it later finds the chunk in recording.json


def set_environment(values: Iterable[tuple[str, str | None]]) -> None:
    """Set each ``(name, value)``; a value of ``None`` removes the variable."""
    for name, value in values:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, with ``None``, remove) environment variables for the block, then restore them."""
    saved = [(name, os.environ.get(name)) for name in values]
    set_environment(values.items())
    try:
        yield
    finally:
        set_environment(saved)


__all__ = ["DISK_FULL", "atomic_file", "claim", "disk_full_message", "environment", "fsync_dir", "hold_lock", "set_environment", "sha256_hex", "write_atomically"]
