"""The final files of a suite: derived from the run journals, in suite order, and moved
into the output directory, the manifest last.

An earlier run's manifest is removed before the first file moves, and the new manifest,
which holds the checksums of the files moved before it, moves last: at every moment the
folder holds a complete set with its manifest, or no manifest (readers refuse it, naming
the interrupted run), and running the command again redoes this step from the journals.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tunebench import SCHEMA_VERSION
from tunebench.benchmarks import get_benchmark_spec
from tunebench.files import fsync_dir, sha256_hex, write_atomically
from tunebench.journal import Journal, RunLog, write_compressed
from tunebench.manifest import build_manifest
from tunebench.resume import FINISHING, finish_staging
from tunebench.results import best_hyperparameters, tables_from_records, write_tables
from tunebench.runner.kill_hook import kill_hook
from tunebench.runner.tasks import RunTask
from tunebench.runner.training import MAX_TRIAL_STARTS
from tunebench.runner.trial_loop import MAX_CONSECUTIVE_FAILURES
from tunebench.schema import JOURNAL_FILE, RESULT_FILES, TIMING_COLUMNS
from tunebench.suite import Suite


def write_final_files(tasks: list[RunTask], staging: Path, out_dir: Path, *, suite: Suite, data_dir, data_sources,
                       header: dict[str, Any], sessions: list[dict[str, Any]], clock_start: float,
                       execution: dict[str, Any]) -> tuple[list[Path], list[RunLog]]:
    """Derive the final files from the run journals (in suite order) and move them into
    ``out_dir``, the manifest last; returns the paths and the runs as read (each with its
    run record).

    ``journal.jsonl.gz`` holds every run's trial and run lines, in suite order, as the run
    journals hold them (their headers left out), gzip-compressed."""
    runs: list[RunLog] = []
    settings: dict[str, Any] = {}
    for task in tasks:
        log = Journal(task.journal_path).read_run()
        if log.run is None:
            raise RuntimeError(f"run {task.label} did not finish ({task.journal_path} has no run record)")
        settings.setdefault(task.plan.name, {}).setdefault(task.strategy, log.run.settings)
        runs.append(log)

    trials = [trial for log in runs for trial in log.trials]
    files = write_tables(tables_from_records(trials, [log.run for log in runs]), staging)
    best = {
        "schema_version": SCHEMA_VERSION, "suite": suite.name,
        "objective": "val_accuracy at the last trained epoch (maximised); test numbers are reported, never used to choose",
        "runs": best_hyperparameters(runs),
    }
    write_atomically(staging / "best_hyperparameters.json", json.dumps(best, indent=2, default=str) + "\n")
    write_compressed(staging / JOURNAL_FILE, (record for log in runs for record in (*log.trials, log.run)))
    files += [staging / "best_hyperparameters.json", staging / JOURNAL_FILE]
    all_seeds = sorted({seed for plan in suite.benchmarks for seed in suite.seeds_of(plan)})
    trains = not all(get_benchmark_spec(plan.name).recording for plan in suite.benchmarks)  # not replays alone
    manifest = build_manifest(
        suite.to_dict(), trains=trains, data_dir=str(data_dir), data=data_sources, strategies=settings,
        seeds=all_seeds, budgets={p.name: p.budget_epochs for p in suite.benchmarks},
        timing_columns=sorted(TIMING_COLUMNS), started=header["started"], finished=now(),
        wall_seconds=round(time.monotonic() - clock_start, 3), sessions=sessions, execution=execution,
        failure_policy={"max_consecutive_failures": MAX_CONSECUTIVE_FAILURES, "max_trial_starts": MAX_TRIAL_STARTS,
                        "failed_trial_charge": "the epochs completed before the failure"},
        files={path.name: sha256_hex(path) for path in files},
    )
    write_atomically(staging / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    # The manifest moves last and holds the checksums of the files moved before it: a
    # crash between renames leaves files that do not match their manifest, which is
    # detectable, and running the command again redoes this step from the journals.
    write_atomically(staging / FINISHING, now() + "\n")
    # Old results go out of service first: without their manifest no reader takes them for
    # a complete set while the new files move in one by one.
    (out_dir / "manifest.json").unlink(missing_ok=True)
    written = {path.name for path in files} | {"manifest.json"}
    for name in RESULT_FILES:  # a file of the old set that this one has not (an older folder's journal.jsonl)
        if name not in written:
            (out_dir / name).unlink(missing_ok=True)
    fsync_dir(out_dir)
    final = []
    for path in files + [staging / "manifest.json"]:
        target = out_dir / path.name
        path.replace(target)
        final.append(target)
        kill_hook("moving")
    finish_staging(staging)
    return final, runs


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["now", "write_final_files"]
