"""Which trials of a run are in training and how often each was started
(``.partial/runs/<run>.attempt``): a trial whose process died too often is recorded as failed."""

from __future__ import annotations

import json
from pathlib import Path


from tunebench.files import write_atomically


class AttemptMarker:
    """Which trials of a run are in training and how often each was started.

    Written before a trial's training starts; a trial during which the process died
    :data:`tunebench.runner.MAX_TRIAL_STARTS` times (killed, or out of memory) is recorded
    as failed instead of being started yet again. A start that the user stopped (Ctrl-C,
    SIGTERM) is taken back (:meth:`forgive`): it never counts. With parallel trials
    (:mod:`tunebench.runner.trial_pool`) several trials are marked at once.

    The file holds ``{"starts": {"<trial>": <starts>, ...}}``.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict[int, int]:
        try:
            mark = json.loads(self.path.read_text(encoding="utf-8"))
            return {int(trial): int(starts) for trial, starts in mark["starts"].items() if int(starts) > 0}
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            return {}

    def _write(self, starts: dict[int, int]) -> None:
        if starts:
            write_atomically(self.path, json.dumps({"starts": {str(t): n for t, n in sorted(starts.items())}}) + "\n")
        else:
            self.clear()

    def start(self, trial: int) -> int:
        """Record one more start of ``trial``; returns how often it was started before."""
        starts = self._read()
        before = starts.get(trial, 0)
        starts[trial] = before + 1
        self._write(starts)
        return before

    def forgive(self, trial: int | None = None) -> None:
        """Take back the latest start of ``trial`` (default: of every marked trial): the user
        stopped it (Ctrl-C, SIGTERM), which is not a death to count."""
        starts = self._read()
        for number in [trial] if trial is not None else list(starts):
            if number in starts:
                starts[number] -= 1
                if starts[number] <= 0:
                    del starts[number]
        self._write(starts)

    def clear(self, trial: int | None = None) -> None:
        """Forget ``trial``'s starts (it was settled); default: every trial's."""
        if trial is None:
            self.path.unlink(missing_ok=True)
            return
        starts = self._read()
        if trial in starts:
            del starts[trial]
            self._write(starts)


__all__ = ["AttemptMarker"]
