"""Replay against live: how well a replay benchmark ranks the strategies as its live twin does
(:func:`replay_agreement`, a DataFrame) and its markdown section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats

from tunebench.benchmarks.replay import SUFFIX as REPLAY_SUFFIX
from tunebench.report.formatting import fmt_p, markdown_table
from tunebench.report.ranking import RANK_METRIC
from tunebench.stats import (
    mean_ranks,
)


def replay_agreement(runs: pd.DataFrame) -> pd.DataFrame:
    """How well each replay benchmark ranks the strategies as its live twin does.

    For every benchmark ``B`` with runs of ``B@replay`` at the same ``budget_epochs``, on the
    seeds both have: the strategies' mean ranks of ``best_val_accuracy`` on each (over those
    seeds), and Kendall's tau between the two orders.

    Parameters
    ----------
    runs:
        All of ``runs.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``live``, ``replay``, ``seeds`` (shared), ``strategies``,
        ``kendall_tau``, ``p_value`` (scipy's exact test for no association; NaN with fewer
        than 3 strategies), ``live_order`` and ``replay_order`` (best first).
    """
    rows = []
    for live in runs["benchmark"].unique():
        replay = f"{live}{REPLAY_SUFFIX}"
        first, second = runs[runs["benchmark"] == live], runs[runs["benchmark"] == replay]
        if second.empty or set(first["budget_epochs"]) != set(second["budget_epochs"]):
            continue
        seeds = sorted(set(first["seed"]) & set(second["seed"]))
        strategies = sorted(set(first["strategy"]) & set(second["strategy"]))
        if not seeds or len(strategies) < 2:
            continue
        ranks = [mean_ranks(part[part["seed"].isin(seeds) & part["strategy"].isin(strategies)], RANK_METRIC)
                 .droplevel("benchmark").reindex(strategies) for part in (first, second)]
        tau, p_value = scipy.stats.kendalltau(ranks[0], ranks[1]) if len(strategies) >= 3 else (np.nan, np.nan)
        rows.append({"live": live, "replay": replay, "seeds": len(seeds), "strategies": len(strategies),
                     "kendall_tau": float(tau), "p_value": float(p_value),
                     "live_order": list(ranks[0].sort_values(kind="stable").index),
                     "replay_order": list(ranks[1].sort_values(kind="stable").index)})
    columns = ["live", "replay", "seeds", "strategies", "kendall_tau", "p_value", "live_order", "replay_order"]
    return pd.DataFrame(rows, columns=columns)


def replay_agreement_markdown(agreement: pd.DataFrame) -> str:
    """The replay-against-live table with its caption, or ``""`` when no benchmark has both."""
    if agreement.empty:
        return ""
    rows = [[f"{row.replay} against {row.live}", str(row.seeds), "–" if pd.isna(row.kendall_tau)
             else f"{row.kendall_tau + 0.0:+.2f}", fmt_p(row.p_value), " > ".join(row.live_order),
             " > ".join(row.replay_order)] for row in agreement.itertuples(index=False)]
    header = ["pair", "shared seeds", "Kendall τ of the strategies' mean ranks", "p (no association)",
              "live order (best first)", "replay order (best first)"]
    caption = ("*Source: `runs.csv` `best_val_accuracy` of the live benchmark and its replay twin at the same "
               "`budget_epochs`, on the seeds both ran. τ = +1: replay orders the strategies exactly as live "
               "training did; 0: no relation; with few shared seeds the live order itself is noisy, so a low τ "
               "says as much about the live runs as about the replay.*")
    return "### Replay against live\n\n" + caption + "\n\n" + markdown_table(header, rows)
