"""The report's equal-budget audit: every run's budget against what it spent.

A fair comparison gives every run of a benchmark the same epoch budget. :func:`budget_audit`
checks each run from ``runs.csv`` and ``trials.csv``; :func:`audit_markdown` formats it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tunebench.report.formatting import WARNING, fmt_count, markdown_table
from tunebench.schema import RUN_KEY, UNDER_BUDGET_STATUSES, RunStatus

#: A run that ended this way must have spent its whole budget.
BUDGET_STATUS = RunStatus.BUDGET_EXHAUSTED

#: Benchmarks with more runs than this get a flagged-runs-only audit table plus a per-status count.
AUDIT_FULL_LIMIT = 60


def budget_audit(runs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Each run's budget against what it spent and what its trials were charged.

    A run is flagged when it spent more than its budget, its budget is not the single most
    common budget of the benchmark, its trials' ``epochs_trained`` do not add up to its
    ``epochs_used``, it ended ``budget_exhausted`` with epochs left, or it spent less than
    its budget with a status that is not a known reason (:data:`UNDER_BUDGET_STATUSES`).
    Spending less for a known reason is noted, not flagged.

    Parameters
    ----------
    runs:
        One benchmark's ``runs.csv`` rows.
    trials:
        Its ``trials.csv`` rows.

    Returns
    -------
    pandas.DataFrame
        ``RUN_KEY``, ``status``, ``budget_epochs``, ``epochs_used``, ``trials_epochs``
        (sum of ``epochs_trained``, 0 for a run without trials), ``trial_rows``, ``flags``
        (list of str), ``note``; in ``runs.csv`` order.
    """
    charged = trials.groupby(RUN_KEY)["epochs_trained"].agg(["sum", "size"])
    audit = runs[RUN_KEY + ["status", "budget_epochs", "epochs_used"]].join(charged, on=RUN_KEY)
    audit = audit.rename(columns={"sum": "trials_epochs", "size": "trial_rows"})
    audit[["trials_epochs", "trial_rows"]] = audit[["trials_epochs", "trial_rows"]].fillna(0)
    modal = _single_mode(audit["budget_epochs"])
    audit["flags"] = [_run_flags(row, modal) for row in audit.itertuples(index=False)]
    audit["note"] = [_run_note(row) for row in audit.itertuples(index=False)]
    return audit.reset_index(drop=True)


def _single_mode(values: pd.Series) -> float | None:
    modes = values.mode()
    return float(modes.iloc[0]) if len(modes) == 1 else None


def _run_flags(run: Any, modal_budget: float | None) -> list[str]:
    flags = []
    if run.epochs_used > run.budget_epochs:
        flags.append("over budget")
    if modal_budget is None or run.budget_epochs != modal_budget:
        flags.append("budget differs from the benchmark's other runs")
    if not np.isclose(run.trials_epochs, run.epochs_used):
        flags.append("trials' epochs_trained do not add up to epochs_used")
    if run.epochs_used < run.budget_epochs:
        if run.status == BUDGET_STATUS:
            flags.append("budget_exhausted with epochs left")
        elif run.status not in UNDER_BUDGET_STATUSES:
            flags.append(f"under budget, status {run.status!r} is not a known reason")
    return flags


def _run_note(run: Any) -> str:
    if run.epochs_used < run.budget_epochs and run.status in UNDER_BUDGET_STATUSES:
        return f"{run.budget_epochs - run.epochs_used:g} epochs left ({run.status})"
    return ""


def audit_markdown(audit: pd.DataFrame) -> str:
    """The equal-budget audit: a sentence with the flagged count, then the table.

    Benchmarks with more than :data:`AUDIT_FULL_LIMIT` runs list only flagged runs, plus a
    count of runs per strategy and status.
    """
    flagged = audit[audit["flags"].map(bool)]
    if flagged.empty:
        sentence = (f"No run flagged: all {len(audit)} runs have the same budget, spent at most that budget, "
                    "and their trials' charged epochs add up to what they spent.")
    else:
        sentence = (f"{WARNING} **{len(flagged)} of {len(audit)} runs flagged** (marked {WARNING} below); "
                    "their comparisons are not on an equal budget.")
    caption = ("*Source: `runs.csv` columns `budget_epochs`, `epochs_used`, `status`; `trials.csv` column "
               "`epochs_trained` summed per run. Spending less with status "
               + ", ".join(f"`{s}`" for s in sorted(UNDER_BUDGET_STATUSES)) + " is legitimate and not flagged.*")
    shown = audit if len(audit) <= AUDIT_FULL_LIMIT else flagged
    parts = [sentence, caption]
    if not shown.empty:
        parts.append(_audit_rows_markdown(shown))
    if len(audit) > AUDIT_FULL_LIMIT:
        parts.append(f"{len(audit) - len(flagged)} unflagged runs are not listed; runs per strategy and status:")
        parts.append(_audit_counts_markdown(audit))
    return "\n\n".join(parts)


def _audit_rows_markdown(audit: pd.DataFrame) -> str:
    header = ["strategy", "seed", "status", "budget (epochs)", "epochs used", "sum of trials' epochs_trained",
              "trials", "check"]
    rows = []
    for run in audit.itertuples(index=False):
        check = "; ".join(f"{WARNING} {flag}" for flag in run.flags) or run.note or "ok"
        rows.append([run.strategy, fmt_count(run.seed), run.status, fmt_count(run.budget_epochs),
                     fmt_count(run.epochs_used), fmt_count(run.trials_epochs), fmt_count(run.trial_rows), check])
    return markdown_table(header, rows)


def _audit_counts_markdown(audit: pd.DataFrame) -> str:
    grouped = audit.groupby(["strategy", "status"], sort=False).agg(
        runs=("seed", "size"), used_min=("epochs_used", "min"), used_max=("epochs_used", "max"),
        budget_min=("budget_epochs", "min"), budget_max=("budget_epochs", "max"),
        flagged=("flags", lambda flags: int(sum(map(bool, flags)))))
    rows = [[strategy, status, fmt_count(row.runs), _fmt_range(row.budget_min, row.budget_max),
             _fmt_range(row.used_min, row.used_max), fmt_count(row.flagged)]
            for (strategy, status), row in grouped.iterrows()]
    return markdown_table(["strategy", "status", "runs", "budget (epochs)", "epochs used", "flagged"], rows)


def _fmt_range(low: float, high: float) -> str:
    return fmt_count(low) if low == high else f"{fmt_count(low)}–{fmt_count(high)}"


__all__ = ["AUDIT_FULL_LIMIT", "audit_markdown", "budget_audit"]
