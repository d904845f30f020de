"""A user's Ctrl-C (SIGINT) or SIGTERM: a stop, never a crash and never a failed trial.

:func:`handle_stop_signals` (used by the command line around every command) turns both
signals into :class:`Stopped`, a ``KeyboardInterrupt``, so the code that cleans up after
Ctrl-C cleans up after SIGTERM too, and remembers that a stop was asked for. Python may
swallow a ``KeyboardInterrupt`` raised while a library runs a finaliser or a callback
("Exception ignored in ...", not printed for a stop); :func:`raise_if_stopping`, called
between training batches (see :class:`tunebench.benchmarks.live.LiveKerasBenchmark`) and
trials, raises it again, so training never carries on after a stop was asked for.

A trial cut short by a stop is not counted as a start that died (see
:class:`tunebench.resume.AttemptMarker`): only a process that ended without a word (killed,
out of memory) counts toward "died twice, recorded as failed".
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

#: The exit status of a run stopped by each signal (128 + the signal's number, as shells report it).
EXIT_STATUS = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}


class Stopped(KeyboardInterrupt):
    """A stop the user asked for, by ``signal_name`` (``"SIGINT"`` or ``"SIGTERM"``)."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS.get(self.signal_name, 130)


_asked: str | None = None


def stop_asked() -> str | None:
    """The signal that asked this process to stop (``"SIGINT"`` / ``"SIGTERM"``), or ``None``."""
    return _asked


def raise_if_stopping() -> None:
    """Raise :class:`Stopped` again if a stop was asked for (a swallowed one included)."""
    if _asked is not None:
        raise Stopped(_asked)


def _on_signal(signum: int, _frame) -> None:
    global _asked
    _asked = signal.Signals(signum).name
    raise Stopped(_asked)


@contextmanager
def handle_stop_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Stopped` (main thread only; elsewhere
    a no-op). The previous handlers and the "not asked" state come back afterwards."""
    global _asked
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    unraisable = sys.unraisablehook

    def quiet_about_stops(info) -> None:  # a stop swallowed in a finaliser: raised again later, not printed
        if not isinstance(info.exc_value, Stopped):
            unraisable(info)

    sys.unraisablehook = quiet_about_stops
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = unraisable
        _asked = None


__all__ = ["EXIT_STATUS", "Stopped", "handle_stop_signals", "raise_if_stopping", "stop_asked"]
