"""An answer at every budget: which strategies are best after b trials' epochs, and with how
many workers, from the trials of longer runs.

A run's **best at budget b** is the best validation accuracy among its first trials, in the
order they were asked, while their charged epochs add up to at most ``b x max_epochs``. When
the model-based strategies' random start is fixed (the suite key ``random_start``), a run's
first trials are the whole of a run with the smaller budget, for every strategy
(tests/test_budget_prefix.py), so that number is what a run of budget b finds; with a random
start that grows with the budget it is only an approximation, and the table says so.

:func:`budget_recommendations` ranks the strategies at each budget (Friedman over seeds, the
Nemenyi best group), per benchmark and worker count (``simulated_workers``; 1 for a run
without it). Pure functions of ``runs.csv`` and ``trials.csv`` rows and the manifest's suite.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from tunebench.errors import InputError
from tunebench.report.ranking import RANK_METRIC, RankTest, rank_test
from tunebench.results_dir import ResultsData, completed
from tunebench.schema import RUN_KEY

#: The budgets a recommendation table answers, in full-fidelity trials' epochs (each run's own
#: budget is added when it is not one of them).
BUDGET_TRIALS = (10, 30, 100)

COLUMNS = ["benchmark", "budget_trials", "workers", "seeds", "fixed_start", "budget_seconds", "ranks"]


def best_at_budget(trials: pd.DataFrame, budget_epochs: int) -> pd.DataFrame:
    """Each run's best validation accuracy among its first trials (by ``trial`` number, the
    order asked) whose charged epochs (``epochs_trained``) add up to at most ``budget_epochs``.

    Parameters
    ----------
    trials:
        ``trials.csv`` rows of one or more runs.
    budget_epochs:
        The smaller budget, in epochs.

    Returns
    -------
    pandas.DataFrame
        :data:`~tunebench.schema.RUN_KEY` and ``best_val_accuracy``, one row per run (NaN for
        a run with no completed trial within the budget).
    """
    ordered = trials.sort_values([*RUN_KEY, "trial"], kind="stable")
    spent = ordered.groupby(RUN_KEY, sort=False)["epochs_trained"].cumsum()
    accuracy = ordered["val_accuracy"].where(completed(ordered) & (spent <= budget_epochs))
    best = accuracy.groupby([ordered[key] for key in RUN_KEY], sort=False).max()
    return best.rename(RANK_METRIC).reset_index()


def budgets_of(trial_budget: int, candidates: Sequence[int] = BUDGET_TRIALS) -> list[int]:
    """The budgets (trials' epochs) a run of ``trial_budget`` answers: the ``candidates`` below
    it, then its own."""
    return [b for b in candidates if b < trial_budget] + [trial_budget]


def planned(manifest_suite: dict[str, Any], benchmark: str) -> dict[str, Any]:
    """A benchmark's plan in the suite as run (the manifest's ``suite``), or ``{}``."""
    for plan in manifest_suite.get("benchmarks") or []:
        if isinstance(plan, dict) and plan.get("name") == benchmark:
            return plan
    return {}


def simulated_workers(manifest_suite: dict[str, Any], benchmark: str) -> int:
    """The worker count a benchmark's runs had (1 without simulated workers)."""
    return int(planned(manifest_suite, benchmark).get("simulated_workers") or 1)


def budget_recommendations(results: Sequence[ResultsData]) -> pd.DataFrame:
    """The strategies ranked at every budget, per benchmark and worker count.

    Parameters
    ----------
    results:
        One or more results directories (for example one per worker count); runs of the
        same benchmark and worker count in two of them are refused (:class:`InputError`).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`: ``budget_trials`` (trials' epochs), ``workers``, ``seeds`` (runs at that
        budget per strategy), ``fixed_start`` (whether the run's random start was fixed, so that
        the budget's answer is exact), ``budget_seconds`` (the runs' budget in simulated seconds,
        NaN without one: a run stopped at whichever budget ran out first) and ``ranks``, the :class:`~tunebench.report.ranking.RankTest`
        at that budget. Sorted by benchmark (first seen), budget, workers.
    """
    rows, seen = [], set()
    for data in results:
        for benchmark in data.benchmarks:
            workers = simulated_workers(data.suite, benchmark)
            if (benchmark, workers) in seen:
                raise InputError(f"{data.directory}: {benchmark} with {workers} worker(s) is in two results folders")
            seen.add((benchmark, workers))
            rows += _benchmark_rows(data, benchmark, workers)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    order = {name: i for i, name in enumerate(dict.fromkeys(frame["benchmark"]))}
    return frame.sort_values(["benchmark", "budget_trials", "workers"], key=lambda c: c.map(order)
                             if c.name == "benchmark" else c, kind="stable").reset_index(drop=True)


def _benchmark_rows(data: ResultsData, benchmark: str, workers: int) -> list[dict[str, Any]]:
    runs = data.runs[data.runs["benchmark"] == benchmark]
    trials = data.trials[data.trials["benchmark"] == benchmark]
    plan = planned(data.suite, benchmark)
    max_epochs = int(plan.get("max_epochs") or _full_fidelity(trials))
    budgets = runs["budget_epochs"].dropna()
    if budgets.empty:  # no run says its budget: nothing to answer at
        return []
    trial_budget = int(budgets.min()) // max_epochs
    if trial_budget < 1:
        return []
    strategies = list(dict.fromkeys(runs["strategy"]))
    rows = []
    for budget in budgets_of(trial_budget):
        best = best_at_budget(trials, budget * max_epochs)
        if best.empty:  # no trials of this benchmark's runs
            return []
        ranks: RankTest = rank_test(best, strategies)
        rows.append({"benchmark": benchmark, "budget_trials": budget, "workers": workers,
                     "seeds": int(best.groupby("strategy")["seed"].nunique().min()),
                     "fixed_start": plan.get("random_start") is not None,
                     "budget_seconds": float(plan.get("budget_seconds") or "nan"), "ranks": ranks})
    return rows


def _full_fidelity(trials: pd.DataFrame) -> int:
    """The runs' full fidelity: the largest ``epochs`` any trial reached (every strategy's budget
    pays for whole full-fidelity trials)."""
    epochs = trials["epochs"].to_numpy(dtype=float)
    return int(np.nanmax(epochs)) if len(epochs) and not np.isnan(epochs).all() else 1


__all__ = ["BUDGET_TRIALS", "COLUMNS", "best_at_budget", "budget_recommendations", "budgets_of", "planned",
           "simulated_workers"]
