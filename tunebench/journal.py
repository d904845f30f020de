"""The journal: an append-only JSON-lines file, one line per finished trial or run.

Each append is one ``write`` of one whole line, flushed and fsync'd before returning (and
the folder fsync'd when the file is created), so a crash loses at most the line being
written. The CSVs are derived from the journal and nothing else.

A line cut off by a crash (a *torn* last line) is tolerated: :meth:`Journal.recover` drops
it, says so on stderr naming the file and the line, and truncates the file to its last
complete line so that later appends start on a fresh line. Damage anywhere else is an
error naming the file and the line.

A *run journal* (``.partial/runs/<run>.jsonl``) holds a :class:`~tunebench.schema.RunHeader`
line (``kind`` ``header``: which run of which suite), then one :class:`~tunebench.schema.TrialRecord` line per trained
trial, then, once the run is finished, its :class:`~tunebench.schema.RunRecord` line.
:meth:`Journal.read_run` reads one as a :class:`RunLog` of typed records; every other
journal (the sessions log) is read as plain JSON objects.

A finished results folder's journal (``journal.jsonl.gz``) is every run journal's trial and
run lines, in suite order, gzip-compressed (:func:`write_compressed`); :func:`read_journal`
reads it, or an older folder's uncompressed ``journal.jsonl``.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

from tunebench.errors import DiskFullError, InputError
from tunebench.files import DISK_FULL, disk_full_message, fsync_dir, hold_lock, write_atomically
from tunebench.schema import JOURNAL_FILE, LEGACY_JOURNAL_FILE, RecordError, RunHeader, RunRecord, TrialRecord

#: What :meth:`Journal.append` writes: a JSON object, or a record that makes one.
Line = dict[str, Any] | RunHeader | TrialRecord | RunRecord


class JournalError(InputError):
    """A journal line other than the last one is not a JSON record (the file is damaged)."""


@dataclass(frozen=True)
class RunLog:
    """A run journal as read: its header (``None`` for an empty journal; the runner checks that
    it is the run's), its trials in the order written, and its run record once the run is
    finished (else ``None``)."""

    header: RunHeader | None
    trials: tuple[TrialRecord, ...]
    run: RunRecord | None


class Journal:
    """Appends records (JSON objects, or :class:`~tunebench.schema.TrialRecord` and
    :class:`~tunebench.schema.RunRecord`, written as their journal lines) to ``path``,
    creating it if needed."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: Line) -> None:
        """Write one record as one line, then flush and fsync."""
        line = dump_line(record)
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

    def read_run(self, stream: TextIO | None = None) -> RunLog:
        """This run journal's records, typed (after :meth:`recover`, which drops a torn last
        line). The first line must be a header; later lines of another kind are skipped; a
        line that is not a record of this schema version is a :class:`JournalError` naming
        the file and the line."""
        header, trials, run = None, [], None
        for number, line in enumerate(self.recover(stream), start=1):
            try:
                record = RunHeader.from_journal(line) if number == 1 else typed(line)
            except RecordError as error:
                raise JournalError(f"{self.path} line {number}: {error}: the journal is damaged or from another "
                                   "tunebench (pass --overwrite to discard the interrupted run and start again)") from None
            if number == 1:
                header = record
            elif isinstance(record, TrialRecord):
                trials.append(record)
            elif isinstance(record, RunRecord) and run is None:
                run = record
        return RunLog(header, tuple(trials), run)

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


def typed(line: dict[str, Any]) -> Line:
    """A ``header``, ``trial`` or ``run`` line as its record (:class:`~tunebench.schema.RecordError`
    if it is not one of this schema version); any other line as it is."""
    kind = line.get("kind")
    if kind == "header":
        return RunHeader.from_journal(line)
    if kind == "trial":
        return TrialRecord.from_journal(line)
    if kind == "run":
        return RunRecord.from_journal(line)
    return line


def dump_line(record: Line) -> str:
    """``record``'s journal line, newline included (keys sorted, NaN as ``NaN``)."""
    if isinstance(record, (RunHeader, TrialRecord, RunRecord)):
        record = record.to_journal()
    return json.dumps(record, sort_keys=True, allow_nan=True) + "\n"


def write_compressed(path: Path, records: Iterable[Line]) -> None:
    """``records``' lines written to ``path`` gzip-compressed, atomically (a finished results
    folder's journal). No time stamp goes into the gzip header, so the same records give the
    same bytes (and the same sha256 in the manifest)."""
    text = "".join(dump_line(record) for record in records)
    write_atomically(Path(path), gzip.compress(text.encode("utf-8"), mtime=0))


def read_compressed(path: Path) -> list[dict[str, Any]]:
    """The records of a journal written by :func:`write_compressed`.

    Raises
    ------
    JournalError
        Naming ``path`` and the line, for a file that is not gzip or a line that is not a record.
    """
    try:
        with gzip.open(path, "rb") as handle:
            lines = handle.read().splitlines()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise JournalError(f"{path}: not a readable gzip-compressed journal ({error})") from None
    records = []
    for number, raw in enumerate(lines, start=1):
        record = parse_line(raw)
        if record is None:
            raise JournalError(f"{path} line {number} is not a JSON record")
        records.append(record)
    return records


def read_journal(directory: Path) -> list[dict[str, Any]]:
    """The journal records of a finished results directory, in the order written: every
    run's trial lines, then its run line (``journal.jsonl.gz``, or ``journal.jsonl`` in a
    folder written before the journal was compressed).

    Raises
    ------
    InputError
        Naming the file: there is no journal, or it is damaged.
    """
    directory = Path(directory)
    if (directory / JOURNAL_FILE).exists():
        return read_compressed(directory / JOURNAL_FILE)
    if (directory / LEGACY_JOURNAL_FILE).exists():
        return list(Journal(directory / LEGACY_JOURNAL_FILE).records())
    raise InputError(f"{directory} holds no journal ({JOURNAL_FILE}): it is not a finished results directory")


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """One line's JSON object; ``None`` if it is not one."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None


__all__ = ["Journal", "JournalError", "Line", "RunLog", "dump_line", "parse_line", "read_compressed", "read_journal", "typed",
           "write_compressed"]
