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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunebench.report.chance import majority_line
from tunebench.report.figure_style import (
    _fidelity_mark,
    _save,
    _slug,
    _style,
    strategy_colors,
)
from tunebench.report.figures_detail import _incumbent_figure, _sensitivity_figure
from tunebench.report.figures_runs import (
    _anytime_figure,
    _cost_figure,
    _critical_difference_figure,
    _final_figure,
)
from tunebench.report.ranking import rank_test
from tunebench.results_dir import ResultsData, order_strategies
from tunebench.schema import RUN_KEY


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
        caption = _fidelity_mark(figure, runs, caption)
        path = directory / f"{_slug(benchmark)}-{name}.png"
        _save(figure, path)
        files.append(FigureFile(path, title, caption))
    return files
