"""The journal: an append-only JSON-lines file, one line per finished trial or run.

Each append is flushed and fsync'd before returning, so a crash loses at most the line
being written. The CSVs are derived from the journal and nothing else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator


class Journal:
    """Appends records (JSON objects) to ``path``, creating it if needed."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line, then flush and fsync."""
        line = json.dumps(record, sort_keys=True, allow_nan=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def records(self) -> Iterator[dict[str, Any]]:
        """Every complete record, in the order written."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                if line.endswith("\n"):
                    yield json.loads(line)
