"""The figures of the trials: validation accuracy against each hyperparameter, and the best
run's incumbent (learning curve and test confusion matrix)."""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from tunebench.report.figure_style import (
    LOG_SPAN,
    MAX_CATEGORY_LEVELS,
    MAX_SENSITIVITY_POINTS,
    VAL_LABEL,
    _legend,
    _new_figure,
    strategy_markers,
)
from tunebench.results_dir import ResultsData, completed

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
