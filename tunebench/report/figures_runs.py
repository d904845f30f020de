"""The figures of the runs: best-so-far against epochs and wall time, the per-seed final
numbers, the costs, and the critical-difference diagram."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from tunebench.report.analysis import regret_anchors
from tunebench.report.chance import MajorityLine
from tunebench.report.figure_style import (
    BAND_RESAMPLES,
    BAND_SEED,
    BOX_NOTE,
    BUDGET_FRACTIONS,
    GRID_POINTS,
    LINE_MARKERS,
    MANY_POINTS,
    MIN_BOX_POINTS,
    VAL_LABEL,
    WALL_LABEL,
    ZOOM_NOTE,
    _legend,
    _majority_line,
    _new_figure,
    strategy_linestyles,
    strategy_markers,
)
from tunebench.report.ranking import ALPHA, RankTest
from tunebench.results_dir import running_best
from tunebench.schema import RUN_KEY
from tunebench.stats import bootstrap_ci, mean_ranks, sorted_median

# --------------------------------------------------------------------------- anytime curves


def best_so_far(trials: pd.DataFrame, x_column: str, grid: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Each run's best-so-far validation accuracy as a step function of ``x_column``, on a grid.

    Vectorised over runs: one ``searchsorted`` over all trials, each run's x offset so that
    runs do not overlap.

    Parameters
    ----------
    trials:
        Trials of one or more runs, each run's rows contiguous and in training order;
        trials whose status is not ``ok`` count as no improvement.
    x_column:
        The cumulative cost column, ``epochs_used`` or ``elapsed_seconds``.
    grid:
        Ascending evaluation points: one row for every run, or one row per run
        (shape ``(runs, points)``).

    Returns
    -------
    (keys, matrix)
        ``keys``: the runs' ``RUN_KEY`` columns in order of appearance; ``matrix[i, j]``: the
        best ``val_accuracy`` of run ``i`` among trials with ``x <= grid[.., j]``, NaN before
        its first finished trial.
    """
    codes = trials.groupby(RUN_KEY, sort=False).ngroup().to_numpy()
    keys = trials.loc[~trials.duplicated(RUN_KEY), RUN_KEY].reset_index(drop=True)
    best = running_best(trials).to_numpy(dtype=float)
    x = trials[x_column].groupby(codes).ffill().fillna(0.0).to_numpy(dtype=float)
    points = np.broadcast_to(np.asarray(grid, dtype=float), (len(keys), np.shape(grid)[-1]))
    span = float(np.nanmax(x, initial=0.0)) + float(np.nanmax(points, initial=0.0)) + 1.0
    run_index = np.arange(len(keys), dtype=float)[:, None]
    index = np.searchsorted(codes * span + x, run_index * span + points, side="right") - 1
    first_row = np.searchsorted(codes, np.arange(len(keys)))[:, None]
    values = best[np.clip(index, 0, None)]
    return keys, np.where(index >= first_row, values, np.nan)


def _grid(x_max: float, integer: bool) -> np.ndarray:
    """Evaluation points from 0 to ``x_max``: every whole number if ``integer`` and few enough, else evenly spread."""
    x_max = x_max if np.isfinite(x_max) and x_max > 0 else 1.0
    if integer and x_max <= 2 * GRID_POINTS:
        return np.arange(0.0, math.ceil(x_max) + 1.0)
    return np.linspace(0.0, x_max, GRID_POINTS)


def _draw_median_band(ax: Axes, grid: np.ndarray, matrix: np.ndarray, color: Any, linestyle: Any,
                      marker: str, shift: float) -> None:
    """The median over seeds (rows) as a step line, and its bootstrap band when there are several seeds.

    :data:`LINE_MARKERS` markers sit on the line, offset by ``shift`` (a fraction of the
    spacing between two markers) so that curves lying on top of each other all stay visible.
    """
    step = max(1, len(grid) // LINE_MARKERS)
    ax.plot(grid, sorted_median(matrix, axis=0), drawstyle="steps-post", color=color, linestyle=linestyle,
            linewidth=2, marker=marker, markersize=6, markevery=(int(shift * step) % step, step))
    if matrix.shape[0] > 1:
        low, high = _median_band(matrix)
        ax.fill_between(grid, low, high, step="post", color=color, alpha=0.18, linewidth=0)


def _median_band(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap interval of each column's median, computed once per distinct column.

    Step functions repeat the same column between steps, so this saves most of the work.
    """
    distinct, inverse = np.unique(matrix, axis=1, return_inverse=True)
    low, high = bootstrap_ci(distinct, sorted_median, BAND_RESAMPLES, 0.95, BAND_SEED)
    return low[inverse.ravel()], high[inverse.ravel()]


def _clock_label(trials: pd.DataFrame) -> str:
    """The wall-time axis: the run's clock, or the simulated one with its worker count."""
    workers = trials["worker"].max() if "worker" in trials.columns else float("nan")
    if pd.isna(workers):
        return "wall time since the run began (seconds)"
    return f"simulated wall time, {int(workers)} worker{'s' if workers > 1 else ''} (seconds)"


def _anytime_figure(trials: pd.DataFrame, runs: pd.DataFrame, strategies: Sequence[str],
                    colors: dict[str, Any], benchmark: str, majority: MajorityLine | None = None):
    seeds = runs["seed"].nunique()
    band = "median over seeds, 95 % bootstrap band" if seeds > 1 else "one seed"
    figure, axes = _new_figure(12, 4.6, f"{benchmark}: best validation accuracy so far ({band})", (1, 2))
    styles, markers = strategy_linestyles(strategies), strategy_markers(strategies)
    panels = [("epochs_used", "epochs spent (ledger)", _grid(float(runs["budget_epochs"].max()), integer=True)),
              ("elapsed_seconds", _clock_label(trials), _grid(float(trials["elapsed_seconds"].max()), integer=False))]
    for ax, (column, xlabel, grid) in zip(axes[0], panels):
        keys, matrix = best_so_far(trials, column, grid)
        for strategy in strategies:
            rows = (keys["strategy"] == strategy).to_numpy()
            if rows.any():
                _draw_median_band(ax, grid, matrix[rows], colors[strategy], styles[strategy], markers[strategy],
                                  shift=strategies.index(strategy) / len(strategies))
        ax.set(xlabel=xlabel, ylabel="best-so-far " + VAL_LABEL, xlim=(0, grid[-1]))
        _majority_line(ax, majority)
    axes[0, 1].set_ylabel("")
    for ax in axes.flat:
        _note_zoom(ax)
    regret_axis = _regret_axis(axes[0, 1], runs)
    _legend(figure, strategies, colors, lines=True)
    caption = ("Source: `trials.csv` `val_accuracy` (ok trials) against `epochs_used` and `elapsed_seconds`; "
               f"each run's running maximum is evaluated on a common grid (every epoch, or {GRID_POINTS} points); "
               + ("line = median over seeds, band = 95 % percentile bootstrap of the median "
                  f"({BAND_RESAMPLES:,} resamples); a line starts once every seed has a finished trial."
                  if seeds > 1 else "one seed, so no band.")
               + (f" Dotted: the {majority.describe()} (always answering that class)." if majority else "")
               + (" Right-hand axis: the same values as normalised regret (0 = the best run's best validation "
                  "accuracy, 1 = the median of random search's), a rescaling that leaves medians and bands in "
                  "place." if regret_axis else ""))
    return "anytime", figure, f"{benchmark}: anytime performance", caption


def _regret_axis(ax: Axes, runs: pd.DataFrame) -> bool:
    """A right-hand axis reading validation accuracy as normalised regret (when random search ran)."""
    best, random_median = regret_anchors(runs)
    scale = best - random_median
    if not (np.isfinite(scale) and scale > 0):
        return False
    secondary = ax.secondary_yaxis("right", functions=(lambda y: (best - y) / scale, lambda r: best - r * scale))
    secondary.set_ylabel("normalised regret\n(0 = best seen, 1 = random's median)")
    return True


# --------------------------------------------------------------------------- per-seed distributions


def _box_with_points(ax: Axes, frame: pd.DataFrame, column: str, strategies: Sequence[str],
                     colors: dict[str, Any], ylabel: str, counts: bool = False) -> None:
    """Every seed as a point per strategy (in its colour), over a box of the quartiles.

    With fewer than :data:`MIN_BOX_POINTS` seeds only the median is drawn (as a bar), since
    quartiles of two or three points mislead. ``counts`` asks for whole-number ticks.
    """
    palette = {name: colors[name] for name in strategies}
    common = dict(data=frame, x="strategy", y=column, order=list(strategies), ax=ax)
    points = frame.groupby("strategy").size().max()
    quartiles = {} if points >= MIN_BOX_POINTS else {
        "showbox": False, "showcaps": False, "whiskerprops": {"visible": False}, "medianprops": {"linewidth": 2.5}}
    sns.boxplot(**common, hue="strategy", hue_order=list(strategies), palette=palette, legend=False,
                showfliers=False, width=0.6, boxprops={"alpha": 0.4}, **quartiles)
    many = points > MANY_POINTS
    sns.stripplot(**common, hue="strategy", hue_order=list(strategies), palette=palette, legend=False,
                  size=2.5 if many else 5, jitter=0.2 if many else 0.15, edgecolor="0.2",
                  linewidth=0 if many else 0.6, alpha=0.5 if many else 0.85)
    ax.set(xlabel="", ylabel=ylabel)
    ax.tick_params(axis="x", labelrotation=30)
    if counts:
        ax.yaxis.get_major_locator().set_params(integer=True)


def _tick_text(value: float) -> str:
    """3 significant digits, without an exponent for values up to a million."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _note_zoom(ax: Axes) -> None:
    """Say so on a panel whose value axis does not start at 0: small gaps then look large.

    Call it once the panel is complete (a reference line can still move the limits).
    """
    low, high = ax.get_ylim()
    if low > 0:
        note = ZOOM_NOTE.format(low=_tick_text(low), high=_tick_text(high))
        ax.set_ylabel(f"{ax.get_ylabel()}\n({note})" if ax.get_ylabel() else f"({note})")


def _final_figure(runs: pd.DataFrame, strategies: Sequence[str], colors: dict[str, Any], benchmark: str,
                  majority: MajorityLine | None = None):
    figure, axes = _new_figure(12, 4.6, f"{benchmark}: incumbent test scores per seed", (1, 2))
    _box_with_points(axes[0, 0], runs, "test_accuracy", strategies, colors, "incumbent test accuracy (fraction)")
    _majority_line(axes[0, 0], majority)
    _box_with_points(axes[0, 1], runs, "test_f1", strategies, colors, "incumbent test macro-F1 (fraction)")
    for ax in axes.flat:
        _note_zoom(ax)
    _legend(figure, strategies, colors, shapes=False)
    caption = ("Source: `runs.csv` `test_accuracy` and `test_f1` (the incumbent, chosen on validation accuracy); "
               f"one point per seed; {BOX_NOTE}."
               + (f" Dotted: the {majority.describe()}." if majority else ""))
    return "final", figure, f"{benchmark}: incumbent test scores", caption


def _budget_ranks(trials: pd.DataFrame, runs: pd.DataFrame) -> pd.Series:
    """Mean rank of best-so-far val accuracy at each fraction of each run's budget."""
    budgets = runs.set_index(RUN_KEY)["budget_epochs"]
    keys = trials.loc[~trials.duplicated(RUN_KEY), RUN_KEY]
    budget = budgets.reindex(pd.MultiIndex.from_frame(keys)).to_numpy()[:, None]
    grid = np.round(BUDGET_FRACTIONS[None, :] * budget, 9)  # 0.15 x 20 is 3, not 3.0000000000000004
    keys, matrix = best_so_far(trials, "epochs_used", grid)
    long = pd.DataFrame({
        "strategy": np.repeat(keys["strategy"].to_numpy(), len(BUDGET_FRACTIONS)),
        "seed": np.repeat(keys["seed"].to_numpy(), len(BUDGET_FRACTIONS)),
        "fraction": np.tile(BUDGET_FRACTIONS, len(keys)),
        "best": matrix.ravel(),
    })
    return mean_ranks(long, "best", within=("fraction", "seed"), average_over="seed")


def _cost_figure(trials: pd.DataFrame, runs: pd.DataFrame, strategies: Sequence[str], colors: dict[str, Any],
                 benchmark: str):
    figure, axes = _new_figure(15, 4.6, f"{benchmark}: cost of finding the incumbent, and rank against budget", (1, 3))
    _box_with_points(axes[0, 0], runs, "trials_to_best", strategies, colors, "trials to best (count)", counts=True)
    _box_with_points(axes[0, 1], runs, "wall_seconds", strategies, colors, WALL_LABEL)
    _note_zoom(axes[0, 1])
    ax = axes[0, 2]
    if not trials.empty:
        ranks = _budget_ranks(trials, runs)
        styles, markers = strategy_linestyles(strategies), strategy_markers(strategies)
        for strategy in strategies:
            if strategy in ranks.index.get_level_values("strategy"):
                series = ranks.xs(strategy, level="strategy")
                ax.plot(series.index * 100, series.to_numpy(), marker=markers[strategy], markersize=4,
                        color=colors[strategy], linestyle=styles[strategy], linewidth=1.8)
    ax.set(xlabel="budget spent (% of the run's budget_epochs)", ylabel="mean rank (1 = best)",
           ylim=(len(strategies) + 0.3, 0.7), yticks=range(1, len(strategies) + 1))
    _legend(figure, strategies, colors, lines=True)
    caption = (f"Source: `runs.csv` `trials_to_best` and `wall_seconds` (one point per seed; {BOX_NOTE}; wall time "
               "depends on the machine and on what else ran beside it, so compare it only within one results set); "
               "right: rank of each "
               "run's best-so-far `val_accuracy` (`trials.csv`, ok trials, by `epochs_used`) among the strategies "
               "of the same seed at each 5 % of its `budget_epochs`, averaged over seeds; a run without a finished "
               "trial yet ranks last.")
    return "cost", figure, f"{benchmark}: cost and rank against budget", caption


def _critical_difference_figure(ranks: RankTest, colors: dict[str, Any], benchmark: str):
    """Demšar's critical-difference diagram: the rank axis, one labelled tick per strategy, the
    CD as a scale bar, and thick bars joining strategies the Nemenyi test cannot tell apart."""
    test = ranks.friedman
    if test.too_few:
        return None
    names, values = list(ranks.mean_ranks.index), ranks.mean_ranks.to_numpy(dtype=float)
    k = len(names)
    left = (k + 1) // 2  # the best half is labelled on the left, the rest on the right
    step = 0.5
    bars = len(ranks.groups)
    height = max(3.0, 1.6 + 0.28 * (left + bars))
    figure, axes = _new_figure(8, height, f"{benchmark}: mean ranks over {test.n} seeds, critical difference")
    ax = axes[0, 0]
    ax.axis("off")
    margin = max(1.4, 0.35 * k)  # room for the labels
    ax.set_xlim(0.5 - margin, k + 0.5 + margin)
    bottom = -(step * (left + 1) + 0.25 * bars + 0.4)
    ax.set_ylim(bottom, 1.1)
    ax.hlines(0, 1, k, color="black", linewidth=1)
    for tick in range(1, k + 1):
        ax.vlines(tick, 0, 0.12, color="black", linewidth=1)
        ax.text(tick, 0.18, str(tick), ha="center", va="bottom", fontsize="small")
    ax.text((k + 1) / 2, 0.55, "mean rank (1 = best)", ha="center", fontsize="small")
    critical = ranks.critical_difference
    ax.hlines(0.85, 1, 1 + critical, color="black", linewidth=2)
    ax.vlines([1, 1 + critical], 0.78, 0.92, color="black", linewidth=1)
    ax.text(1 + critical / 2, 0.95, f"CD = {critical:.2f} (Nemenyi, {ALPHA:g})", ha="center", va="bottom",
            fontsize="small")
    markers = strategy_markers(names)
    for index, (name, rank) in enumerate(zip(names, values)):
        on_left = index < left
        row = index if on_left else k - 1 - index
        y = -step * (row + 1) - 0.25 * bars
        edge = 0.5 - 0.2 if on_left else k + 0.5 + 0.2
        ax.plot([rank, rank, edge], [0, y, y], color=colors[name], linewidth=1.4)
        ax.plot(rank, 0, marker=markers[name], color=colors[name], markersize=7, zorder=3)
        ax.text(edge + (-0.05 if on_left else 0.05), y, f"{name} ({rank:.2f})", ha="right" if on_left else "left",
                va="center", fontsize="small")
    for bar, group in enumerate(ranks.groups):
        low, high = ranks.mean_ranks[group].min(), ranks.mean_ranks[group].max()
        y = -0.18 - 0.25 * bar
        ax.hlines(y, low - 0.03, high + 0.03, color="black", linewidth=4)
    verdict = (f"Friedman test: ranks differ (p = {test.p_value:.2g})" if ranks.ranks_differ
               else f"Friedman test: no evidence the ranks differ (p = {test.p_value:.2g})")
    ax.text((k + 1) / 2, bottom + 0.05, verdict, ha="center", va="bottom", fontsize="small", color="0.25")
    caption = ("Source: `runs.csv` `best_val_accuracy`, ranked among the strategies within each seed (1 = best) "
               "and averaged over seeds. Strategies joined by a thick bar have mean ranks closer than the critical "
               "difference (CD): the Nemenyi test, which compares every pair at once, cannot tell them apart; "
               "strategies not joined differ at the stated level.")
    return "critical-difference", figure, f"{benchmark}: critical-difference diagram", caption
