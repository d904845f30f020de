"""A test hook: make the process SIGKILL itself at a named stage of a suite, so tests can
check that an interrupted suite resumes exactly."""

from __future__ import annotations

import os
import signal

#: ``TUNEBENCH_TEST_KILL_AT=started|finishing|moving`` makes the process SIGKILL itself there.
KILL_HOOK_ENV = "TUNEBENCH_TEST_KILL_AT"


def kill_hook(stage: str) -> None:
    """With ``$TUNEBENCH_TEST_KILL_AT`` equal to ``stage``, SIGKILL this process.

    Stages: ``started`` (the partial run is set up, no trial trained yet), ``finishing``
    (every run finished, no final file written yet), ``moving`` (the first final file
    moved into the output directory, the others not yet).
    """
    if os.environ.get(KILL_HOOK_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["KILL_HOOK_ENV", "kill_hook"]
