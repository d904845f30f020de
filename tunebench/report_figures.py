"""The report's figures: seaborn/matplotlib PNGs, one set per benchmark.

Figures are drawn on :class:`matplotlib.figure.Figure` objects that pyplot never sees, so
rendering neither selects a backend nor leaves figures open in the importing program; styles
are applied in a context that restores ``rcParams`` afterwards. PNGs are written with the
Agg renderer.

Each strategy keeps one colour in every figure: seaborn's colour-blind-safe ``colorblind``
palette assigned in registry order (:data:`tunebench.strategies.STRATEGIES`), unknown
strategies taking the following colours.

Per benchmark (:func:`render_benchmark_figures`):

- ``<benchmark>-anytime.png``: best-so-far validation accuracy against epochs spent and
  against wall time; median over seeds with a 95 % bootstrap band; the wall-time panel's
  right-hand axis reads it as normalised regret.
- ``<benchmark>-final.png``: incumbent test accuracy and macro-F1 per strategy.
- ``<benchmark>-cost.png``: trials to best, wall time, and mean rank against budget.
- ``<benchmark>-critical-difference.png``: mean ranks with the Nemenyi critical difference
  (Demšar's diagram); left out with too few seeds for the test.
- ``<benchmark>-sensitivity.png``: validation accuracy against each hyperparameter.
- ``<benchmark>-incumbent.png``: the best run's incumbent: learning curve and test
  confusion matrix.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tunebench.report_chance import MajorityLine, majority_line
from tunebench.report_tables import ALPHA, RankTest, rank_test, regret_anchors
from tunebench.results_dir import ResultsData, completed, fidelity_label, order_strategies
from tunebench.schema import RUN_KEY
from tunebench.stats import bootstrap_ci, mean_ranks, sorted_median
from tunebench.strategies import STRATEGIES

DPI = 110
#: Points of the common grid on which each run's best-so-far step function is evaluated.
GRID_POINTS = 120
#: Bootstrap resamples for the curve bands (per grid point, vectorised).
BAND_RESAMPLES = 1000
BAND_SEED = 0
#: Budget fractions at which strategies are ranked.
BUDGET_FRACTIONS = np.arange(1, 21) / 20
#: At most this many trials are drawn in the sensitivity figure (a seeded random sample).
MAX_SENSITIVITY_POINTS = 5000
#: Box plots need this many seeds per strategy; with fewer, only the points and the median are drawn.
MIN_BOX_POINTS = 5
BOX_NOTE = f"boxes show the quartiles (with fewer than {MIN_BOX_POINTS} seeds, a bar marks the median)"
#: Above this many seeds per strategy, box plots draw their points small and translucent.
MANY_POINTS = 30
#: Numeric hyperparameters with at most this many distinct values are drawn as categories.
MAX_CATEGORY_LEVELS = 8
#: A positive parameter spanning more than this ratio gets a log axis.
LOG_SPAN = 100.0
PALETTE = "colorblind"
#: Line styles cycled with the colours, so that overlapping curves (strategies that drew the
#: same trials) stay distinguishable.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1.5)), (0, (3, 1, 1, 1, 1, 1)))
#: Marker shapes cycled with the colours: a strategy reads in black-and-white print and with
#: colour-blindness, on lines (a few markers per curve) and in scatter plots.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Markers per anytime curve; each strategy's are shifted so that overlapping curves show all.
LINE_MARKERS = 6
ZOOM_NOTE = "axis zoomed: {low} to {high}"
WALL_LABEL = "wall time per run (seconds)\ndepends on machine load"
#: Bold title characters that fit in an inch of figure width (the subtitle wraps there).
SUBTITLE_CHARS_PER_INCH = 9
VAL_LABEL = "validation accuracy (fraction)"


@dataclass(frozen=True)
class FigureFile:
    """A written figure.

    Attributes
    ----------
    path:
        The PNG.
    title:
        A short title (the markdown image's alt text).
    caption:
        What it shows and which CSV columns it is drawn from.
    """

    path: Path
    title: str
    caption: str


def strategy_colors(strategies: Iterable[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per strategy: registry strategies first in registry order, then the others sorted.

    Parameters
    ----------
    strategies:
        The strategy names to colour (registry names always get the same colour, whether
        present or not).

    Returns
    -------
    dict
        Name to RGB tuple from seaborn's ``colorblind`` palette (cycled past 10 names).
    """
    palette = sns.color_palette(PALETTE, n_colors=10)
    return {name: palette[i % len(palette)] for i, name in enumerate(_colour_order(strategies))}


def strategy_linestyles(strategies: Iterable[str]) -> dict[str, Any]:
    """One matplotlib line style per strategy, in the same order as :func:`strategy_colors`."""
    return {name: LINESTYLES[i % len(LINESTYLES)] for i, name in enumerate(_colour_order(strategies))}


def strategy_markers(strategies: Iterable[str]) -> dict[str, str]:
    """One matplotlib marker per strategy, in the same order as :func:`strategy_colors`."""
    return {name: MARKERS[i % len(MARKERS)] for i, name in enumerate(_colour_order(strategies))}


def _colour_order(strategies: Iterable[str]) -> list[str]:
    """Every registry strategy in registry order, then the unknown names in ``strategies``, sorted."""
    return list(STRATEGIES) + sorted(set(strategies) - set(STRATEGIES))


def render_figures(data: ResultsData, directory: Path) -> dict[str, list[FigureFile]]:
    """Render every benchmark's figures into ``directory`` (created if needed).

    Parameters
    ----------
    data:
        The loaded results.
    directory:
        Where the PNGs go, normally ``RESULTS_DIR/figures``.

    Returns
    -------
    dict
        Benchmark name to its figures, in order.
    """
    directory.mkdir(parents=True, exist_ok=True)
    colors = strategy_colors(data.strategies)
    with _style():
        return {benchmark: render_benchmark_figures(data, benchmark, directory, colors)
                for benchmark in data.benchmarks}


def render_benchmark_figures(data: ResultsData, benchmark: str, directory: Path,
                             colors: dict[str, Any]) -> list[FigureFile]:
    """Render one benchmark's figures (see the module docstring for the list).

    Parameters
    ----------
    data:
        The loaded results.
    benchmark:
        The benchmark to draw.
    directory:
        Where the PNGs go.
    colors:
        :func:`strategy_colors`.

    Returns
    -------
    list of FigureFile
        The figures written; the incumbent figure is left out when no run has one.
    """
    runs = data.runs[data.runs["benchmark"] == benchmark]
    trials = data.trials[data.trials["benchmark"] == benchmark].sort_values(RUN_KEY + ["trial"])
    strategies = order_strategies(runs["strategy"].unique())
    val_line, test_line = majority_line(data, benchmark, "val"), majority_line(data, benchmark, "test")
    drawers = [  # drawn and saved one at a time, so only one figure is in memory
        lambda: _anytime_figure(trials, runs, strategies, colors, benchmark, val_line),
        lambda: _final_figure(runs, strategies, colors, benchmark, test_line),
        lambda: _cost_figure(trials, runs, strategies, colors, benchmark),
        lambda: _critical_difference_figure(rank_test(runs, strategies), colors, benchmark),
        lambda: _sensitivity_figure(trials, data.hp_columns, strategies, colors, benchmark),
        lambda: _incumbent_figure(data, runs, trials, benchmark),
    ]
    files = []
    for draw in drawers:
        drawing = draw()
        if drawing is None:
            continue
        name, figure, title, caption = drawing
        _fidelity_subtitle(figure, runs)
        path = directory / f"{_slug(benchmark)}-{name}.png"
        _save(figure, path)
        files.append(FigureFile(path, title, caption))
    return files


# --------------------------------------------------------------------------- plumbing


@contextmanager
def _style() -> Iterator[None]:
    """seaborn's whitegrid style, restored on exit."""
    with rc_context(), sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        yield


def _save(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=DPI)
    figure.clear()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _fidelity_subtitle(figure: Figure, runs: pd.DataFrame) -> None:
    """The runs' fidelity under the figure's title, so a figure never travels without it."""
    labels = fidelity_label(runs)
    if labels and figure.get_suptitle():
        subtitle = textwrap.fill(f"fidelity: {labels}", width=int(figure.get_figwidth() * SUBTITLE_CHARS_PER_INCH))
        figure.suptitle(f"{figure.get_suptitle()}\n{subtitle}", fontweight="bold")


def _majority_line(ax: Axes, line: MajorityLine | None) -> None:
    """The majority-class share as a dotted grey line, labelled; when it lies below the
    axis (accuracies far above it) a note says so instead of squashing the axis."""
    if line is None:
        return
    low, high = ax.get_ylim()
    label = f"majority class {line.share:.3f}" + (" (test split)" if line.split == "test" else "")
    if low <= line.share <= high:
        ax.axhline(line.share, color="0.25", linestyle=":", linewidth=1.4, zorder=1)
        ax.annotate(label, xy=(1, line.share), xycoords=("axes fraction", "data"), xytext=(-4, 3),
                    textcoords="offset points", ha="right", va="bottom", fontsize="small", color="0.25")
    else:
        where = "below" if line.share < low else "above"
        ax.annotate(f"{label}: {where} this axis", xy=(1, 0 if where == "below" else 1), xycoords="axes fraction",
                    xytext=(-4, 4 if where == "below" else -12), textcoords="offset points", ha="right",
                    fontsize="small", color="0.25")


def _new_figure(width: float, height: float, title: str, panels: tuple[int, int] = (1, 1)) -> tuple[Figure, np.ndarray]:
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(*panels, squeeze=False)
    figure.suptitle(title, fontweight="bold")
    return figure, axes


def _legend(figure: Figure, strategies: Sequence[str], colors: dict[str, Any], lines: bool = False,
            shapes: bool = True) -> None:
    """A figure legend of the strategies' colours, markers (``shapes``) and line styles (``lines``), right of the panels.

    Box plots pass ``shapes=False``: their points are all circles, the x axis names the strategy.
    Drawn only when there is more than one strategy.
    """
    if len(strategies) < 2:
        return
    styles, markers = strategy_linestyles(strategies), strategy_markers(strategies)
    if lines or shapes:
        handles = [Line2D([], [], color=colors[name], linestyle=styles[name] if lines else "none", linewidth=2,
                          marker=markers[name] if shapes else None, markersize=6, label=name) for name in strategies]
    else:
        handles = [Patch(facecolor=colors[name], label=name) for name in strategies]
    figure.legend(handles=handles, loc="outside right center", title="strategy", frameon=False)


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
    accuracy = trials["val_accuracy"].where(completed(trials))
    running_best = accuracy.groupby(codes).cummax().groupby(codes).ffill().to_numpy(dtype=float)
    x = trials[x_column].groupby(codes).ffill().fillna(0.0).to_numpy(dtype=float)
    points = np.broadcast_to(np.asarray(grid, dtype=float), (len(keys), np.shape(grid)[-1]))
    span = float(np.nanmax(x, initial=0.0)) + float(np.nanmax(points, initial=0.0)) + 1.0
    run_index = np.arange(len(keys), dtype=float)[:, None]
    index = np.searchsorted(codes * span + x, run_index * span + points, side="right") - 1
    first_row = np.searchsorted(codes, np.arange(len(keys)))[:, None]
    values = running_best[np.clip(index, 0, None)]
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


def _anytime_figure(trials: pd.DataFrame, runs: pd.DataFrame, strategies: Sequence[str],
                    colors: dict[str, Any], benchmark: str, majority: MajorityLine | None = None):
    seeds = runs["seed"].nunique()
    band = "median over seeds, 95 % bootstrap band" if seeds > 1 else "one seed"
    figure, axes = _new_figure(12, 4.6, f"{benchmark}: best validation accuracy so far ({band})", (1, 2))
    styles, markers = strategy_linestyles(strategies), strategy_markers(strategies)
    panels = [("epochs_used", "epochs spent (ledger)", _grid(float(runs["budget_epochs"].max()), integer=True)),
              ("elapsed_seconds", "wall time since the run began (seconds)",
               _grid(float(trials["elapsed_seconds"].max()), integer=False))]
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


# --------------------------------------------------------------------------- hyperparameter sensitivity


def _is_categorical(values: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(values) or values.nunique() <= MAX_CATEGORY_LEVELS


def _wants_log_axis(values: pd.Series) -> bool:
    low, high = float(values.min()), float(values.max())
    return low > 0 and high / low > LOG_SPAN


def _category_labels(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """String labels for a categorical parameter, ordered numerically when the values are numbers."""
    if pd.api.types.is_numeric_dtype(values):
        levels = sorted(values.unique())
        return values.map(lambda v: f"{v:g}"), [f"{v:g}" for v in levels]
    labels = values.astype(str)
    return labels, sorted(labels.unique())


def _sensitivity_panel(ax: Axes, frame: pd.DataFrame, column: str, palette: dict[str, Any],
                       markers: dict[str, str], full_epochs: int) -> None:
    """One point per trial: the strategy's colour and marker, hollow when trained for fewer than ``full_epochs``."""
    values = frame[column]
    if _is_categorical(values):
        labels, order = _category_labels(values)
        jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(frame))
        x = labels.map({label: i for i, label in enumerate(order)}).to_numpy(dtype=float) + jitter
        ax.set_xticks(range(len(order)), order)
    else:
        x = values.to_numpy(dtype=float)
        if _wants_log_axis(values):
            ax.set_xscale("log")
    y = frame["val_accuracy"].to_numpy()
    full = (frame["epochs"] >= full_epochs).to_numpy()
    for strategy, color in palette.items():
        mine = (frame["strategy"] == strategy).to_numpy()
        for rows, face in ((mine & full, color), (mine & ~full, "none")):
            if rows.any():
                ax.scatter(x[rows], y[rows], s=16, marker=markers[strategy], facecolors=face, edgecolors=color,
                           linewidths=0.8, alpha=0.6)
    name = column.removeprefix("hp_")
    ax.set(xlabel=name + (" (log scale)" if ax.get_xscale() == "log" else ""), ylabel=VAL_LABEL)


def _sensitivity_figure(trials: pd.DataFrame, hp_columns: Sequence[str], strategies: Sequence[str],
                        colors: dict[str, Any], benchmark: str):
    ok = trials[completed(trials)]
    columns = [column for column in hp_columns if ok[column].notna().any()]
    if not columns:
        return None
    shown = ok.sample(MAX_SENSITIVITY_POINTS, random_state=0) if len(ok) > MAX_SENSITIVITY_POINTS else ok
    sample_note = (f"a seeded random {len(shown):,} of {len(ok):,} ok trials shown" if len(shown) < len(ok)
                   else f"all {len(ok):,} ok trials")
    n_cols = min(3, len(columns))
    n_rows = math.ceil(len(columns) / n_cols)
    figure, axes = _new_figure(4.3 * n_cols + 1.6, 3.3 * n_rows + 0.6,
                               f"{benchmark}: validation accuracy against each hyperparameter ({sample_note})",
                               (n_rows, n_cols))
    palette = {name: colors[name] for name in strategies}
    markers = strategy_markers(strategies)
    full_epochs = int(ok["epochs"].max())
    for ax, column in zip(axes.flat, columns):
        _sensitivity_panel(ax, shown[shown[column].notna()], column, palette, markers, full_epochs)
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    for ax in list(axes.flat)[len(columns):]:
        ax.set_visible(False)
    _legend(figure, strategies, colors)
    caption = ("Source: `trials.csv` `val_accuracy` against each `hp_` column (ok trials; a trial appears only "
               f"in the panels of its active parameters; {sample_note}). Parameters with at most "
               f"{MAX_CATEGORY_LEVELS} distinct values are drawn as jittered categories; a positive parameter "
               f"spanning more than {LOG_SPAN:g}x gets a log axis. Filled: trained the full {full_epochs} epochs; "
               "hollow: a low-fidelity trial (fewer epochs, e.g. Hyperband's first rungs), whose accuracy is "
               "lower for that reason alone.")
    return "sensitivity", figure, f"{benchmark}: hyperparameter sensitivity", caption


# --------------------------------------------------------------------------- the incumbent


def best_run(runs: pd.DataFrame) -> pd.Series | None:
    """The run with the highest ``best_val_accuracy`` (the first in file order on ties), or None."""
    if runs["best_val_accuracy"].notna().sum() == 0:
        return None
    return runs.loc[runs["best_val_accuracy"].idxmax()]


def class_names(manifest: dict[str, Any], benchmark: str, n_classes: int) -> list[str]:
    """``manifest["data"][benchmark]["class_names"]`` when it fits ``n_classes``, else ``"0"``, ``"1"``, ..."""
    names = ((manifest.get("data") or {}).get(benchmark) or {}).get("class_names")
    if isinstance(names, list) and len(names) == n_classes:
        return [str(name) for name in names]
    return [str(i) for i in range(n_classes)]


def _parse_confusion(text: Any) -> np.ndarray | None:
    try:
        matrix = np.asarray(json.loads(text), dtype=float)
    except (TypeError, ValueError):
        return None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        return None
    return matrix


def _lineage_curve(curves: pd.DataFrame, run_trials: pd.DataFrame, trial: pd.Series) -> pd.DataFrame:
    """The incumbent's per-epoch curve, with the epochs of the warm-start parents it continued."""
    by_id = run_trials.set_index("trial_id")
    lineage = [int(trial["trial"])]
    parent = trial["parent_trial_id"]
    while isinstance(parent, str) and parent in by_id.index and len(lineage) < len(run_trials):
        ancestor = by_id.loc[parent]
        ancestor = ancestor.iloc[0] if isinstance(ancestor, pd.DataFrame) else ancestor
        lineage.append(int(ancestor["trial"]))
        parent = ancestor["parent_trial_id"]
    points = curves[curves["trial"].isin(lineage)].copy()
    points["generation"] = points["trial"].map({number: -i for i, number in enumerate(lineage)})
    return points.sort_values(["epoch", "generation"]).drop_duplicates("epoch", keep="last")


def _incumbent_figure(data: ResultsData, runs: pd.DataFrame, trials: pd.DataFrame, benchmark: str):
    run = best_run(runs)
    if run is None:
        return None
    key = (trials["strategy"] == run["strategy"]) & (trials["seed"] == run["seed"])
    run_trials = trials[key]
    incumbent_rows = run_trials[run_trials["trial"] == run["best_trial"]]
    if incumbent_rows.empty:
        return None
    incumbent = incumbent_rows.iloc[0]
    matrix = _parse_confusion(incumbent.get("test_confusion"))
    seed = f"{run['seed']:g}"
    figure, axes = _new_figure(13, 5.4, f"{benchmark}: incumbent of the best run ({run['strategy']}, seed {seed}, "
                                        f"trial {int(run['best_trial'])}; best val accuracy "
                                        f"{run['best_val_accuracy']:.4f})", (1, 2))
    curves = data.curves
    curves = curves[(curves["benchmark"] == benchmark) & (curves["strategy"] == run["strategy"])
                    & (curves["seed"] == run["seed"])]
    _draw_learning_curve(axes[0, 0], _lineage_curve(curves, run_trials, incumbent))
    _draw_confusion(axes[0, 1], matrix, class_names(data.manifest, benchmark, 0 if matrix is None else len(matrix)))
    caption = ("Source: `curves.csv` `accuracy`, `val_accuracy`, `test_accuracy` per `epoch` of the incumbent "
               "(with the epochs of the warm-start parents it continued) and `trials.csv` `test_confusion` of the "
               "incumbent trial of the run with the highest `runs.csv` `best_val_accuracy`; cells show counts, "
               "colour is the fraction of the true class. A live run measures the test set only after each trial's "
               "last epoch, so its test line is a point there (recordings, and so replay runs, have every epoch).")
    return "incumbent", figure, f"{benchmark}: the best run's incumbent", caption


def _draw_learning_curve(ax: Axes, curve: pd.DataFrame) -> None:
    if curve.empty:
        ax.text(0.5, 0.5, "no curve recorded", ha="center", va="center", transform=ax.transAxes)
    for column, label, color, style in (("accuracy", "training", "0.6", ":"), ("val_accuracy", "validation", "0.1", "-"),
                                        ("test_accuracy", "test", "0.35", "--")):
        ax.plot(curve["epoch"], curve[column], linestyle=style, color=color, marker="o", markersize=4, label=label)
    if not curve.empty:
        ax.legend(title="split", frameon=False)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set(xlabel="epoch", ylabel="accuracy (fraction)", title="learning curve")


def _draw_confusion(ax: Axes, matrix: np.ndarray | None, names: list[str]) -> None:
    if matrix is None:
        ax.text(0.5, 0.5, "no test confusion matrix recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    totals = matrix.sum(axis=1, keepdims=True)
    fractions = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    sns.heatmap(fractions, annot=matrix.astype(int), fmt="d", cmap="Blues", vmin=0, vmax=1, square=True,
                xticklabels=names, yticklabels=names, annot_kws={"fontsize": 8}, ax=ax,
                cbar_kws={"label": "fraction of the true class", "shrink": 0.8})
    ax.set(xlabel="predicted class", ylabel="true class", title="test confusion matrix (counts)")
    ax.tick_params(axis="x", labelrotation=45 if max(map(len, names)) > 3 else 0)
    ax.tick_params(axis="y", labelrotation=0)
