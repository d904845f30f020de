"""Model-based strategies do better than random search where there is something to model: on a
smooth analytic bowl (tests/analytic_benchmark.py), over fixed seeds, each of Bayesian
optimisation (20 trials, 8 seeds: its asks cost a second each), Optuna TPE and hyperopt TPE
(60 trials, 16 seeds: TPE needs more trials to pull ahead) finds a better best validation
accuracy than random search with the same budget and seeds (one-sided paired Wilcoxon,
p < 0.05). A strategy turned into random search fails this."""

from __future__ import annotations

import pandas as pd
import pytest
import scipy.stats

import analytic_benchmark
from tunebench.benchmarks import BENCHMARKS
from tunebench.progress import Progress
from tunebench.runner import run_suite
from tunebench.suite import parse_suite

pytestmark = pytest.mark.slow  # a minute of Gaussian-process asks

#: (strategy, trials, seeds) of each comparison with random search.
DESIGNS = {"bayesian": (20, 8), "tpe": (60, 16), "tpe-hyperopt": (60, 16)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """runs.csv of random search and the model-based strategies, one suite per (trials, seeds)."""
    analytic_benchmark.register()
    try:
        tables = []
        for trials, seeds in sorted(set(DESIGNS.values())):
            strategies = ["random"] + [name for name, design in DESIGNS.items() if design == (trials, seeds)]
            suite = parse_suite({"name": f"quality-{trials}", "seeds": seeds, "strategies": strategies,
                                 "benchmarks": {analytic_benchmark.NAME: {"max_epochs": 1, "trials": trials}}},
                                source="(test)")
            out = tmp_path_factory.mktemp("quality") / "out"
            run_suite(suite, out, tmp_path_factory.mktemp("no-data"), progress=Progress(1, 1, enabled=False))
            tables.append(pd.read_csv(out / "runs.csv").assign(design=trials))
        return pd.concat(tables, ignore_index=True)
    finally:
        BENCHMARKS.pop(analytic_benchmark.NAME, None)


@pytest.mark.parametrize("strategy", list(DESIGNS))
def test_a_model_based_strategy_beats_random_search_on_a_smooth_objective(runs, strategy):
    trials, _ = DESIGNS[strategy]
    mine = runs[runs["design"] == trials]
    best = mine.pivot(index="seed", columns="strategy", values="best_val_accuracy")
    differences = best[strategy] - best["random"]
    p_value = scipy.stats.wilcoxon(differences, alternative="greater").pvalue
    assert p_value < 0.05, (strategy, differences.round(4).tolist(), p_value)
