"""The journal: an append-only JSON-lines file, one line per finished trial or run.

Each append is one ``write`` of one whole line, flushed and fsync'd before returning (and
the folder fsync'd when the file is created), so a crash loses at most the line being
written. The CSVs are derived from the journal and nothing else.

A line cut off by a crash (a *torn* last line) is tolerated: :meth:`Journal.recover` drops
it, says so on stderr naming the file and the line, and truncates the file to its last
complete line so that later appends start on a fresh line. Damage anywhere else is an
error naming the file and the line.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TextIO

from tunebench.errors import DiskFullError, InputError
from tunebench.files import DISK_FULL, disk_full_message, fsync_dir, hold_lock


class JournalError(InputError):
    """A journal line other than the last one is not a JSON record (the file is damaged)."""


class Journal:
    """Appends records (JSON objects) to ``path``, creating it if needed."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line, then flush and fsync."""
        line = json.dumps(record, sort_keys=True, allow_nan=True) + "\n"
        created = not self.path.exists()
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:  # a torn line is dropped by recover() when the run resumes
            if error.errno in DISK_FULL:
                raise DiskFullError(disk_full_message(error, self.path, len(line.encode()))) from error
            raise
        if created:
            fsync_dir(self.path.parent)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every complete record, in the order written (a torn last line is skipped silently)."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.endswith("\n"):
                    yield json.loads(line)

    def recover(self, stream: TextIO | None = None) -> list[dict[str, Any]]:
        """Every complete record; a torn last line is dropped with a warning on ``stream``
        (default stderr) and cut from the file.

        Raises :class:`JournalError` naming the file and line if an earlier line is damaged.
        """
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline, else a line cut off
        records: list[dict[str, Any]] = []
        offset = 0
        for number, raw in enumerate(lines, start=1):
            record = parse_line(raw)
            if record is None:
                if number == len(lines) and not tail:  # the last line, garbled by an interrupted write
                    return self._drop_tail(records, number, offset, stream)
                raise JournalError(f"{self.path} line {number} is not a JSON record: the journal is damaged "
                                   "(pass --overwrite to discard the interrupted run and start again)")
            records.append(record)
            offset += len(raw) + 1
        if tail:
            return self._drop_tail(records, len(lines) + 1, offset, stream)
        return records

    def _drop_tail(self, records, number: int, offset: int, stream) -> list[dict[str, Any]]:
        print(f"tunebench: warning: {self.path} line {number} is incomplete (a write cut off by an "
              f"interruption); dropped it and kept the {len(records)} complete record(s) before it",
              file=stream or sys.stderr)
        with open(self.path, "r+b") as handle:
            handle.truncate(offset)
            handle.flush()
            os.fsync(handle.fileno())
        return records

    @contextmanager
    def lock(self, timeout: float = 60.0):
        """Hold an exclusive lock on ``<path>.lock`` (waits up to ``timeout`` seconds for a
        process that still holds it, e.g. a worker of an interrupted run on its way out)."""
        with hold_lock(self.path.with_name(self.path.name + ".lock"), timeout=timeout,
                       what=f"the run journal {self.path}"):
            yield


def parse_line(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None
