"""Where tunebench finds the inputs it ships: the committed recordings and the gate's baseline.

Both live in the repository's ``results/`` (``results/recordings/<benchmark>/``,
``results/baseline/``) and are installed with the package as ``tunebench.shipped``
(pyproject.toml), so that an installed tunebench replays and gates from any folder. A folder
of the same name under the current directory comes first: a checkout reads and updates its
own files, and recordings a user made there (``tunebench record``) are found as in a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable naming another folder of recordings (one ``<benchmark>/`` each).
RECORDINGS_ENV = "TUNEBENCH_RECORDINGS"
#: The folders under the current directory that come before the shipped copies.
LOCAL_RECORDINGS = Path("results/recordings")
LOCAL_BASELINE = Path("results/baseline")


def shipped(name: str) -> Path | None:
    """The installed copy of ``results/<name>`` (``recordings`` or ``baseline``), or ``None``:
    ``tunebench/shipped/<name>`` beside this module in an installed package, the checkout's
    ``results/<name>`` in an editable install (which maps no data folders)."""
    here = Path(__file__).resolve().parent
    candidates = [here / "shipped" / name]
    if (here.parent / "pyproject.toml").is_file():
        candidates.append(here.parent / "results" / name)
    return next((path for path in candidates if path.is_dir()), None)


def recording_dir(benchmark: str) -> Path:
    """The folder of ``benchmark``'s recording: under ``$TUNEBENCH_RECORDINGS`` when set; else
    ``results/recordings/<benchmark>`` under the current directory when it holds one; else the
    shipped copy when it has it; else the local path (whose absence the caller reports)."""
    if os.environ.get(RECORDINGS_ENV):
        return Path(os.environ[RECORDINGS_ENV]) / benchmark
    local = LOCAL_RECORDINGS / benchmark
    if (local / "recording.json").is_file():
        return local
    installed = shipped("recordings")
    if installed is not None and (installed / benchmark / "recording.json").is_file():
        return installed / benchmark
    return local


def baseline_dir(update: bool = False) -> Path:
    """The gate's baseline folder: ``results/baseline`` under the current directory when it
    exists or when the baseline is to be written (``update``: never into the installed
    package); else the shipped copy; else the local path (whose absence the caller reports)."""
    if update or LOCAL_BASELINE.is_dir():
        return LOCAL_BASELINE
    return shipped("baseline") or LOCAL_BASELINE


__all__ = ["LOCAL_BASELINE", "LOCAL_RECORDINGS", "RECORDINGS_ENV", "baseline_dir", "recording_dir", "shipped"]
