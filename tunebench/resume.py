"""Interrupted runs: the staging folder ``<out>/.partial/`` and what resuming needs.

Layout of ``.partial/`` while a suite runs::

    header.json                 schema version, suite as run, data sources, fingerprint
    lock                        held (flock) by the tunebench process driving the suite
    sessions.jsonl              one line per invocation that worked on this run (start time, workers)
    runs/<run>.jsonl            one journal per (benchmark, strategy, seed) run, written only by
                                the process doing that run: a header line, one line per finished
                                trial, one line for the finished run
    runs/<run>.jsonl.lock       held by that process
    runs/<run>.attempt          the trial in training and how often it was started
    states/<run>/<trial>.npz    Hyperband's low-fidelity trials' weights and optimizer state,
                                until promoted or until the run ends
    finishing                   present once the final files started to move into <out>

``<run>`` is ``<index>-<benchmark>-<strategy>-<seed>``, index being the run's 1-based
position in the suite. Running the same command again resumes: completed runs are kept,
a run in progress is replayed (its strategy re-asked and re-told from the journal) and goes
on, and the final files are derived from the journals in suite order.

A ``.partial/`` written by another results schema version, or for another suite or other
options, is refused (exit 2) unless ``--overwrite`` is given, which discards it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator


from tunebench import SCHEMA_VERSION, __version__
from tunebench.errors import InputError
from tunebench.files import fsync_dir, write_atomically
from tunebench.files import hold_lock

STAGING = ".partial"
HEADER = "header.json"
LOCK = "lock"
SESSIONS = "sessions.jsonl"
RUNS = "runs"
STATES = "states"
FINISHING = "finishing"
_DONE_PREFIX = ".partial.done-"


def fingerprint(suite: dict[str, Any], data: dict[str, Any]) -> str:
    """What a partial run must match to be resumed: the suite as run (less the path it was
    read from) and the data each benchmark uses."""
    suite = {key: value for key, value in suite.items() if key != "source"}
    text = json.dumps({"suite": suite, "data": data}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_header(suite: dict[str, Any], data: dict[str, Any], data_dir: str, overwrite: bool) -> dict[str, Any]:
    """The header of a new partial run."""
    header = {
        "schema_version": SCHEMA_VERSION, "tunebench": __version__, "fingerprint": fingerprint(suite, data),
        "suite": suite, "data": data, "data_dir": data_dir, "overwrite": overwrite,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return json.loads(json.dumps(header, default=str))  # as it reads back from header.json


def describe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which parts of the suite or data differ between two headers, for the error message."""
    differences = []
    old_suite, new_suite = old.get("suite") or {}, new["suite"]
    for key in ("name", "description", "seeds", "strategies"):
        if old_suite.get(key) != new_suite.get(key):
            differences.append(f"{key} {old_suite.get(key)!r} there, {new_suite.get(key)!r} asked")
    old_plans = {p["name"]: p for p in old_suite.get("benchmarks") or []}
    new_plans = {p["name"]: p for p in new_suite.get("benchmarks") or []}
    if list(old_plans) != list(new_plans):
        differences.append(f"benchmarks {list(old_plans)} there, {list(new_plans)} asked")
    for name in set(old_plans) & set(new_plans):
        for key in sorted(set(old_plans[name]) | set(new_plans[name])):
            if old_plans[name].get(key) != new_plans[name].get(key):
                differences.append(f"[benchmarks.{name}] {key} {old_plans[name].get(key)!r} there, "
                                   f"{new_plans[name].get(key)!r} asked")
    if not differences and old.get("data") != new.get("data"):
        differences.append(f"the data (files or split sizes; data dir {old.get('data_dir')} there, "
                           f"{new.get('data_dir')} now)")
    return "; ".join(differences) or "the suite or data"


def read_header(staging: Path) -> dict[str, Any] | None:
    """The partial run's header, or ``None`` if it is missing or unreadable."""
    try:
        header = json.loads((staging / HEADER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return header if isinstance(header, dict) else None


def results_schema_version(out_dir: Path) -> Any:
    """The ``schema_version`` of the results in ``out_dir`` (``None`` if unreadable or absent)."""
    try:
        return json.loads((out_dir / "manifest.json").read_text(encoding="utf-8")).get("schema_version")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None


@contextmanager
def open_staging(out_dir: Path, header: dict[str, Any], overwrite: bool,
                 result_files: tuple[str, ...]) -> Iterator[tuple[Path, bool]]:
    """Check ``out_dir`` and yield ``(staging folder, resumed)`` with the staging lock held.

    - ``out_dir/.partial`` of the same suite, options and schema version: resumed.
    - One of another schema version, another suite or options, or without a readable
      header: refused (:class:`InputError`) unless ``overwrite``, which discards it.
    - Results already in ``out_dir``: refused unless ``overwrite`` (or the partial run being
      resumed was started with it, or had begun moving its own final files there); results
      of another schema version are named as such.
    - An ``out_dir`` that cannot be written: :class:`InputError`.
    """
    with ExitStack() as stack:
        try:
            found = _prepare(Path(out_dir), header, overwrite, result_files, stack)
        except OSError as error:
            raise InputError(f"output directory {out_dir} cannot be written: {error.strerror or error}") from None
        yield found


def _prepare(out_dir: Path, header: dict[str, Any], overwrite: bool, result_files: tuple[str, ...],
             stack: ExitStack) -> tuple[Path, bool]:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output directory {out_dir} exists and is not a directory")
    staging = out_dir / STAGING
    existing = [name for name in result_files if (out_dir / name).exists()]
    if staging.is_dir():
        lock = stack.enter_context(_locked(staging))
        old = read_header(staging)
        problem = _resume_problem(old, header, staging)
        if problem is None:
            started_with_overwrite = bool(old.get("overwrite")) or (staging / FINISHING).exists()
            if existing and not (overwrite or started_with_overwrite):
                raise InputError(_existing_message(out_dir, existing))
            _probe(staging)
            return staging, True
        if not overwrite:
            raise InputError(f"output directory {out_dir} {problem}; pass --overwrite to discard it and "
                             "start again, or choose another --out")
        shutil.rmtree(staging)
        lock.close()
    if existing and not overwrite:
        raise InputError(_existing_message(out_dir, existing))
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(_DONE_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging.mkdir()
    fsync_dir(out_dir)
    stack.enter_context(_locked(staging))
    write_atomically(staging / HEADER, json.dumps(header, indent=2, sort_keys=True, default=str) + "\n")
    _probe(staging)
    return staging, False


@contextmanager
def _locked(staging: Path):
    """The staging lock, as a context whose ``close()`` releases it early."""
    with ExitStack() as inner:
        inner.enter_context(hold_lock(staging / LOCK, what=f"the partial run in {staging}"))
        yield inner


def _probe(staging: Path) -> None:
    probe = staging / ".write-test"
    probe.write_text("ok")
    probe.unlink()


def _existing_message(out_dir: Path, existing: list[str]) -> str:
    version = results_schema_version(out_dir)
    if "manifest.json" in existing and version is not None and version != SCHEMA_VERSION:
        return (f"output directory {out_dir} holds results of schema version {version} (its manifest.json); "
                f"this tunebench writes version {SCHEMA_VERSION}; pass --overwrite to replace them at the end "
                "of the new run, or choose another --out")
    return (f"output directory {out_dir} already holds results ({', '.join(existing)}); "
            "pass --overwrite to replace them at the end of the new run, or choose another --out")


def _resume_problem(old: dict[str, Any] | None, new: dict[str, Any], staging: Path) -> str | None:
    """Why the partial run cannot be resumed by this command, or ``None`` if it can."""
    if old is None:
        return (f"holds an interrupted run ({staging}) without a readable {HEADER} (from an older tunebench, "
                "or damaged), which cannot be resumed")
    if old.get("schema_version") != SCHEMA_VERSION:
        return (f"holds an interrupted run ({staging}) of results schema version {old.get('schema_version')!r} "
                f"(tunebench {old.get('tunebench', '?')}); this tunebench ({__version__}) writes version "
                f"{SCHEMA_VERSION} and cannot resume it")
    if old.get("fingerprint") != new["fingerprint"]:
        return (f"holds an interrupted run ({staging}) of a different suite or options than this command asks "
                f"for ({describe_difference(old, new)})")
    return None


def partial_progress(staging: Path) -> str:
    """How far an interrupted (or running) run is, in words: ``"21 of 60 runs done"`` (the
    runs whose journal ends with its run line, against the header's suite)."""
    runs = sorted((staging / RUNS).glob("*.jsonl")) if (staging / RUNS).is_dir() else []
    done = sum(1 for path in runs if _ends_with_run_line(path))
    suite = (read_header(staging) or {}).get("suite") or {}
    try:
        seeds, strategies = len(suite["seeds"]), len(suite["strategies"])
        total = sum(len(plan.get("seeds") or ()) or seeds for plan in suite["benchmarks"]) * strategies
    except (KeyError, TypeError, AttributeError):
        return f"{done} runs done"
    return f"{done} of {total} runs done"


def _ends_with_run_line(path: Path) -> bool:
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    try:
        return bool(lines) and json.loads(lines[-1]).get("kind") == "run"
    except (ValueError, AttributeError):
        return False


def finish_staging(staging: Path) -> None:
    """Remove the staging folder once the final files are in place: renamed first (one
    atomic step), so an interruption never leaves a half-deleted ``.partial/``."""
    done = staging.with_name(f"{_DONE_PREFIX}{os.getpid()}")
    shutil.rmtree(done, ignore_errors=True)
    staging.replace(done)
    shutil.rmtree(done, ignore_errors=True)


__all__ = ["FINISHING", "HEADER", "LOCK", "RUNS", "SESSIONS", "STAGING", "STATES", "describe_difference",
           "finish_staging", "fingerprint", "make_header", "open_staging", "partial_progress", "read_header",
           "results_schema_version"]
