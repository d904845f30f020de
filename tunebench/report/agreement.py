"""Replay against live: how well a replay benchmark ranks the strategies as its live twin does
(:func:`replay_agreement`, a DataFrame; :func:`live_minus_replay`, per strategy) and its
markdown section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats

from tunebench.benchmarks.replay import SUFFIX as REPLAY_SUFFIX
from tunebench.report.formatting import fmt_accuracy, fmt_p, fmt_signed, markdown_table
from tunebench.report.ranking import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, RANK_METRIC, rank_test
from tunebench.stats import (
    bootstrap_ci,
    mean_ranks,
    rank_matrix,
)

#: Bootstrap resamples of seeds for Kendall's tau's interval (each recomputes both orders).
TAU_RESAMPLES = 1000


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
        than 3 strategies), ``tau_low`` and ``tau_high`` (95 % percentile bootstrap over the
        shared seeds, NaN with fewer than 3 strategies or seeds), ``live_order`` and
        ``replay_order`` (best first), ``live_verdict`` and ``replay_verdict`` (the best group
        by each side's rank test, an empty tuple when its ranks do not differ, ``None`` with
        too few seeds) and ``same_verdict``.
    """
    rows = []
    for live, replay, first, second, seeds, strategies in _pairs(runs):
        ranks = [_mean_ranks(part, seeds, strategies) for part in (first, second)]
        tau, p_value = scipy.stats.kendalltau(ranks[0], ranks[1]) if len(strategies) >= 3 else (np.nan, np.nan)
        low, high = _tau_interval(first, second, seeds, strategies)
        verdicts = [_verdict(part[part["seed"].isin(seeds) & part["strategy"].isin(strategies)], strategies)
                    for part in (first, second)]
        rows.append({"live": live, "replay": replay, "seeds": len(seeds), "strategies": len(strategies),
                     "kendall_tau": float(tau), "p_value": float(p_value), "tau_low": low, "tau_high": high,
                     "live_order": list(ranks[0].sort_values(kind="stable").index),
                     "replay_order": list(ranks[1].sort_values(kind="stable").index),
                     "live_verdict": verdicts[0], "replay_verdict": verdicts[1],
                     "same_verdict": verdicts[0] is not None and verdicts[0] == verdicts[1]})
    columns = ["live", "replay", "seeds", "strategies", "kendall_tau", "p_value", "tau_low", "tau_high",
               "live_order", "replay_order", "live_verdict", "replay_verdict", "same_verdict"]
    return pd.DataFrame(rows, columns=columns)


def live_minus_replay(runs: pd.DataFrame) -> pd.DataFrame:
    """Per pair and strategy, the paired difference live − replay in ``best_val_accuracy``
    over the shared seeds: ``live_mean``, ``replay_mean``, ``difference`` (mean of the
    per-seed differences) and its 95 % percentile bootstrap interval ``low``, ``high``."""
    rows = []
    for live, replay, first, second, seeds, strategies in _pairs(runs):
        for strategy in strategies:
            a, b = (part[(part["strategy"] == strategy) & part["seed"].isin(seeds)].set_index("seed")[RANK_METRIC]
                    .reindex(seeds).to_numpy(dtype=float) for part in (first, second))
            low, high = bootstrap_ci(a - b, np.mean, n_resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED)
            rows.append({"live": live, "replay": replay, "strategy": strategy, "seeds": len(seeds),
                         "live_mean": float(np.nanmean(a)), "replay_mean": float(np.nanmean(b)),
                         "difference": float(np.nanmean(a - b)), "low": float(low), "high": float(high)})
    return pd.DataFrame(rows, columns=["live", "replay", "strategy", "seeds", "live_mean", "replay_mean",
                                       "difference", "low", "high"])


def _pairs(runs: pd.DataFrame):
    """Each (live, replay, live rows, replay rows, shared seeds, shared strategies) at a budget
    both ran, with at least one shared seed and two shared strategies. The replay's runs at
    other budgets (a report's own suite beside the validation folders) are left out."""
    for live in runs["benchmark"].unique():
        replay = f"{live}{REPLAY_SUFFIX}"
        for budget in sorted(runs.loc[runs["benchmark"] == live, "budget_epochs"].unique()):
            at_budget = runs[runs["budget_epochs"] == budget]
            first, second = at_budget[at_budget["benchmark"] == live], at_budget[at_budget["benchmark"] == replay]
            seeds = sorted(set(first["seed"]) & set(second["seed"]))
            strategies = sorted(set(first["strategy"]) & set(second["strategy"]))
            if seeds and len(strategies) >= 2:
                yield live, replay, first, second, seeds, strategies


def _mean_ranks(part: pd.DataFrame, seeds, strategies) -> pd.Series:
    chosen = part[part["seed"].isin(seeds) & part["strategy"].isin(strategies)]
    return mean_ranks(chosen, RANK_METRIC).droplevel("benchmark").reindex(strategies)


def _tau_interval(first: pd.DataFrame, second: pd.DataFrame, seeds, strategies) -> tuple[float, float]:
    """Kendall's tau recomputed on seeds resampled with replacement (the same resample on
    both sides, so that the pairing holds): its 2.5th and 97.5th percentiles."""
    if len(strategies) < 3 or len(seeds) < 3:
        return np.nan, np.nan
    tables = [part.pivot_table(index="seed", columns="strategy", values=RANK_METRIC).reindex(index=seeds,
                                                                                              columns=strategies)
              for part in (first, second)]
    ranks = [rank_matrix(table.to_numpy(dtype=float)) for table in tables]
    draws = np.random.default_rng(BOOTSTRAP_SEED).integers(0, len(seeds), size=(TAU_RESAMPLES, len(seeds)))
    taus = [scipy.stats.kendalltau(ranks[0][draw].mean(axis=0), ranks[1][draw].mean(axis=0))[0] for draw in draws]
    low, high = np.nanpercentile(taus, [2.5, 97.5])
    return float(low), float(high)


def _verdict(part: pd.DataFrame, strategies) -> tuple[str, ...] | None:
    """The best group by the rank test (empty: no strategy stands out; ``None``: too few seeds)."""
    ranks = rank_test(part, strategies)
    if ranks.friedman.too_few:
        return None
    return tuple(ranks.best_group)


def replay_agreement_markdown(agreement: pd.DataFrame) -> str:
    """The replay-against-live table with its caption, or ``""`` when no benchmark has both."""
    if agreement.empty:
        return ""
    rows = [[f"{row.replay} against {row.live}", str(row.seeds), _fmt_tau(row), fmt_p(row.p_value),
             " > ".join(row.live_order), " > ".join(row.replay_order), _fmt_verdict(row.live_verdict),
             _fmt_verdict(row.replay_verdict), "yes" if row.same_verdict else "no"]
            for row in agreement.itertuples(index=False)]
    header = ["pair", "shared seeds", "Kendall τ of the strategies' mean ranks [95 % CI]", "p (no association)",
              "live order (best first)", "replay order (best first)", "live verdict", "replay verdict",
              "same verdict"]
    caption = ("*Source: `runs.csv` `best_val_accuracy` of the live benchmark and its replay twin at the same "
               "`budget_epochs`, on the seeds both ran. τ = +1: replay orders the strategies exactly as live "
               "training did; 0: no relation; with few shared seeds the live order itself is noisy, so a low τ "
               "says as much about the live runs as about the replay. The interval resamples the shared seeds. A "
               "verdict is each side's rank test alone: the best group (Friedman, then Nemenyi) or \"none stands "
               "out\".*")
    return "### Replay against live\n\n" + caption + "\n\n" + markdown_table(header, rows)


def live_minus_replay_markdown(differences: pd.DataFrame) -> str:
    """Per strategy, live − replay with its interval, or ``""``."""
    if differences.empty:
        return ""
    rows = [[f"{row.replay} against {row.live}", row.strategy, str(row.seeds), fmt_accuracy(row.live_mean),
             fmt_accuracy(row.replay_mean), f"{fmt_signed(row.difference)} [{fmt_signed(row.low)}, {fmt_signed(row.high)}]"]
            for row in differences.itertuples(index=False)]
    header = ["pair", "strategy", "shared seeds", "live mean", "replay mean", "live − replay [95 % CI]"]
    caption = ("*Source: `runs.csv` `best_val_accuracy`, paired by seed. A difference whose interval excludes 0 "
               "says replay answers that strategy systematically higher or lower than training; the same offset "
               "for every strategy leaves the ranking intact.*")
    return caption + "\n\n" + markdown_table(header, rows)


def agreement_headline(agreement: pd.DataFrame, differences: pd.DataFrame) -> str:
    """One line per replay/live pair for the report's first screen: whether both sides' rank
    tests agree, Kendall's τ, and the strategies for which replay answers beyond the noise
    (a live − replay interval that excludes 0); ``""`` without a pair."""
    lines = []
    for row in agreement.itertuples(index=False):
        mine = differences[(differences["live"] == row.live) & (differences["replay"] == row.replay)]
        off = mine[(mine["low"] > 0) | (mine["high"] < 0)]
        verdicts = (f"the rank tests agree ({_fmt_verdict(row.live_verdict)})" if row.same_verdict else
                    f"the rank tests disagree (live: {_fmt_verdict(row.live_verdict)}; replay: "
                    f"{_fmt_verdict(row.replay_verdict)})")
        if off.empty:
            level = "replay answers each strategy within the noise of training"
        else:
            side = ("lower than" if (off["difference"] > 0).all() else "higher than" if (off["difference"] < 0).all()
                    else "apart from")
            level = (f"replay answers {side} training beyond the noise for {len(off)} of {len(mine)} strategies "
                     f"(live − replay {', '.join(f'{r.strategy} {fmt_signed(r.difference)}' for r in off.itertuples())})")
        lines.append(f"- **Replay against live**, {row.replay} against {row.live} ({row.seeds} shared seeds): "
                     f"{verdicts}; Kendall τ {_fmt_tau(row)}; {level}. See \"Replay against live\" below.")
    return "\n".join(lines)


def _fmt_tau(row) -> str:
    if pd.isna(row.kendall_tau):
        return "–"
    interval = "" if pd.isna(row.tau_low) else f" [{row.tau_low + 0.0:+.2f}, {row.tau_high + 0.0:+.2f}]"
    return f"{row.kendall_tau + 0.0:+.2f}{interval}"


def _fmt_verdict(verdict) -> str:
    if verdict is None:
        return "too few seeds"
    return ", ".join(verdict) if verdict else "none stands out"
