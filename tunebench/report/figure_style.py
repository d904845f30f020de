"""What every figure of the report shares: the strategies' colours, line styles and markers
(one per strategy in every figure, distinguishable in greyscale), the sizes and notes, and
the plumbing that draws on a :class:`matplotlib.figure.Figure` pyplot never sees."""

from __future__ import annotations

import re
from contextlib import contextmanager
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

from tunebench.report.chance import MajorityLine
from tunebench.results_dir import fidelity_label
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
VAL_LABEL = "validation accuracy (fraction)"


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


def _fidelity_mark(figure: Figure, runs: pd.DataFrame, caption: str) -> str:
    """The runs' fidelity: a short mark at the end of the figure's one-line title, so that a
    figure never travels without it (``[replay]``, ``[reduced]``, ``[weak surrogate]``), and in
    full at the end of its caption, which is returned."""
    labels = fidelity_label(runs)
    if not labels:
        return caption
    marks = [mark for mark, present in (("replay", "replay" in labels), ("reduced", "reduced" in labels),
                                        ("weak surrogate", "WEAK SURROGATE" in labels)) if present]
    if marks and figure.get_suptitle():
        figure.suptitle(f"{figure.get_suptitle()} [{', '.join(marks)}]", fontweight="bold")
    return f"{caption} Fidelity: {labels}."


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
