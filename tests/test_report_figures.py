"""The report's figures render to real, non-blank PNGs for one seed and for several."""

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from report_fixture import make_run, manifest, write_results
from tunebench.strategies import STRATEGIES

from tunebench.report import build_report
from tunebench.report.figure_style import strategy_colors, strategy_markers
from tunebench.report.figures import render_figures
from tunebench.report.figures_detail import _sensitivity_figure
from tunebench.report.figures_runs import _anytime_figure, _final_figure, best_so_far
from tunebench.results_dir import load_results
from tunebench.stats import MIN_SEEDS_FOR_TEST

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STRATEGY_NAMES = ["random", "tpe", "my-own-strategy"]  # the last is not in the registry
BENCHMARKS = ["mnist-mlp", "fer-cnn"]


def write_seeds(directory, seeds, benchmarks=BENCHMARKS):
    runs = [make_run(benchmark, strategy, seed, [0.5 + 0.01 * seed, 0.6 + 0.02 * i, 0.55])
            for benchmark in benchmarks for seed in seeds for i, strategy in enumerate(STRATEGY_NAMES)]
    return write_results(directory, runs, manifest(list(seeds), benchmarks, class_names=seeds != [0]))


@pytest.mark.parametrize("seeds", [[0], [0, 1, 2, 3, 4, 5]], ids=["one seed", "six seeds"])
def test_every_figure_is_a_non_blank_png_of_modest_size(tmp_path, seeds):
    write_seeds(tmp_path, seeds)
    figures = render_figures(load_results(tmp_path), tmp_path / "figures")
    assert list(figures) == BENCHMARKS
    names = {path.name for files in figures.values() for path in (f.path for f in files)}
    kinds = ["anytime", "final", "cost", "sensitivity", "incumbent"]
    kinds += ["critical-difference"] if len(seeds) >= MIN_SEEDS_FOR_TEST else []  # no test, no diagram
    assert names == {f"{b}-{kind}.png" for b in BENCHMARKS for kind in kinds}
    for files in figures.values():
        for figure in files:
            data = figure.path.read_bytes()
            assert data[:8] == PNG_MAGIC
            assert 10_000 < len(data) < 1_500_000
            pixels = matplotlib.image.imread(figure.path)
            assert pixels.shape[0] >= 300 and pixels.shape[1] >= 600
            assert pixels[..., :3].std() > 0.02  # not blank
            assert figure.title and figure.caption.startswith("Source:")


def test_rendering_leaves_pyplot_and_rc_params_alone(tmp_path):
    import matplotlib.pyplot as plt

    write_seeds(tmp_path, [0, 1], benchmarks=BENCHMARKS[:1])
    params = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    open_figures = plt.get_fignums()
    build_report(tmp_path)
    assert plt.get_fignums() == open_figures
    assert matplotlib.get_backend() == backend
    changed = {k for k, v in matplotlib.rcParams.items() if k in params and not _same(params[k], v)}
    assert not changed


def _same(a, b):
    try:
        return bool(np.all(a == b))
    except ValueError:
        return a is b


def test_colours_follow_the_registry_and_unknown_names_come_after():
    colours = strategy_colors(["tpe", "zeta", "alpha"])
    registry = list(STRATEGIES)
    palette = [tuple(c) for c in matplotlib.colors.to_rgba_array(list(colours.values()))]
    assert list(colours)[:len(registry)] == registry
    assert list(colours)[len(registry):] == ["alpha", "zeta"]
    assert len(set(palette)) == len(colours)  # all distinct (at most 10)
    assert strategy_colors(["tpe"])["tpe"] == colours["tpe"]  # whatever else is present


def test_figures_read_in_black_and_white_with_low_fidelity_marked_and_zoom_said(tmp_path):
    write_seeds(tmp_path, [0, 1, 2], benchmarks=BENCHMARKS[:1])
    data = load_results(tmp_path)
    strategies, colors = data.strategies, strategy_colors(data.strategies)
    markers = strategy_markers(strategies)
    assert len({markers[name] for name in strategies}) == len(strategies)  # a shape per strategy, not colour alone

    trials = data.trials.copy()
    trials.loc[trials.index[::3], "epochs"] = 1  # a few low-fidelity trials, as Hyperband's first rungs
    _, figure, _, caption = _sensitivity_figure(trials, data.hp_columns, strategies, colors, "mnist-mlp")
    points = [c for ax in figure.axes for c in ax.collections]
    hollow = [c for c in points if len(c.get_facecolors()) == 0]
    assert hollow and len(hollow) < len(points)  # low-fidelity hollow, full-fidelity filled
    assert "hollow: a low-fidelity trial" in caption
    legend = figure.legends[0]
    assert [handle.get_marker() for handle in legend.legend_handles] == [markers[name] for name in strategies]

    _, figure, _, _ = _anytime_figure(data.trials, data.runs, strategies, colors, "mnist-mlp")
    drawn = {line.get_marker() for line in figure.axes[0].get_lines()}
    assert drawn >= {markers[name] for name in strategies}  # curves lying on each other stay visible
    assert "axis zoomed" in figure.axes[0].get_ylabel()  # accuracies near 0.6: the axis does not start at 0

    _, figure, _, caption = _final_figure(data.runs, strategies, colors, "mnist-mlp")
    assert all("axis zoomed" in ax.get_ylabel() for ax in figure.axes)


def test_best_so_far_is_a_step_function_per_run_that_ignores_failed_trials():
    trials = pd.DataFrame({
        "benchmark": "b", "strategy": ["s", "s", "s", "t", "t"], "seed": 0,
        "epochs_used": [2.0, 4.0, 6.0, 3.0, 6.0], "val_accuracy": [0.5, 0.9, 0.7, 0.2, 0.1],
        "status": ["ok", "failed", "ok", "ok", "ok"],  # a failed trial's number is never an incumbent
    })
    keys, matrix = best_so_far(trials, "epochs_used", np.arange(0.0, 7.0))
    assert keys["strategy"].tolist() == ["s", "t"]
    assert np.isnan(matrix[0, :2]).all() and matrix[0, 2:].tolist() == [0.5, 0.5, 0.5, 0.5, 0.7]
    assert np.isnan(matrix[1, :3]).all() and matrix[1, 3:].tolist() == [0.2, 0.2, 0.2, 0.2]
    _, per_run = best_so_far(trials, "epochs_used", np.array([[2.0, 6.0], [2.0, 3.0]]))  # one grid per run
    assert per_run[0].tolist() == [0.5, 0.7] and np.isnan(per_run[1, 0]) and per_run[1, 1] == 0.2


def test_a_figure_title_is_one_line_with_a_fidelity_mark_and_the_caption_holds_the_fidelity():
    import pandas as pd
    from matplotlib.figure import Figure

    from tunebench.report.figure_style import _fidelity_mark

    label = ("replay of a recording at full fidelity; replay_noise seed: a trial answers one recorded draw (56, 56 "
             "configurations per draw), others the surrogate plus the nearest recorded configuration's seed deviation")
    figure = Figure()
    figure.suptitle("fer-cnn@replay: incumbent test scores per seed")
    caption = _fidelity_mark(figure, pd.DataFrame({"fidelity": [label]}), "Source: `runs.csv`.")
    assert figure.get_suptitle() == "fer-cnn@replay: incumbent test scores per seed [replay]"
    assert caption == f"Source: `runs.csv`. Fidelity: {label}."
