"""Benchmarks and strategies from outside tunebench (tunebench.plugins), through the CLI.

The plug-in is a file written into a temporary folder, as a user's own would be: a real
scikit-learn benchmark (SGD on the digits data, one pass per epoch) and a strategy of its
own. Nothing in tunebench is edited.
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from tunebench.benchmarks import BENCHMARKS
from tunebench.cli import main
from tunebench.strategies import STRATEGIES

PLUGIN = textwrap.dedent('''
    """A user's plug-in: a benchmark and a strategy that tunebench has never heard of."""
    import random
    import time

    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier

    from tunebench.benchmarks import BenchmarkSpec, EpochRecord, Evaluation
    from tunebench.metrics import accuracy, confusion_matrix, macro_f1
    from tunebench.space import Choice, Float, SearchSpace
    from tunebench.strategies import Strategy, StrategySpec, Suggestion


    def space(options):
        return SearchSpace([Float("alpha", low=1e-5, high=1e-1, log=True, grid_size=3),
                            Choice("loss", choices=("hinge", "log_loss"))])


    class DigitsSGD:
        """SGD on the digits data; an epoch is one pass of partial_fit."""

        fidelity = "full"
        source = {"dataset": "sklearn digits"}

        def __init__(self, spec, splits, plan):
            self.name, self.max_epochs = spec.name, plan.max_epochs
            self.space = space(plan.options)
            x, y = load_digits(return_X_y=True)
            self.data = (x[:1000] / 16, y[:1000], x[1000:1400] / 16, y[1000:1400], x[1400:] / 16, y[1400:])
            self.class_names = tuple(str(d) for d in range(10))

        def evaluate(self, config, epochs, seed, initial_epoch=0, warm_start=None, keep_state=False):
            x, y, xv, yv, xt, yt = self.data
            model = SGDClassifier(alpha=config["alpha"], loss=config["loss"], random_state=seed % 2**31)
            curve, confusions, started = [], [], time.perf_counter()
            for epoch in range(1, epochs + 1):
                model.partial_fit(x, y, classes=np.arange(10))
                val = confusion_matrix(yv, model.predict(xv), 10)
                test = confusion_matrix(yt, model.predict(xt), 10)
                confusions.append(test.tolist())
                curve.append(EpochRecord(epoch=epoch, loss=float("nan"), accuracy=float("nan"), val_loss=float("nan"),
                                         val_accuracy=accuracy(val), val_f1=macro_f1(val), test_accuracy=accuracy(test),
                                         test_f1=macro_f1(test), epoch_seconds=0.0))
            return Evaluation(curve=curve, test_confusion=confusions[-1], seconds=time.perf_counter() - started,
                              epoch_confusions=confusions)


    class FirstThenRandom(Strategy):
        """Tries the first grid point, then random grid points."""

        def __init__(self, context):
            self.grid, self.epochs, self.count = context.space.grid(), context.max_epochs, 0
            self.rng = random.Random(context.seed)

        def ask(self):
            self.count += 1
            config = self.grid[0] if self.count == 1 else self.rng.choice(self.grid)
            return Suggestion(trial_id=str(self.count), config=config, epochs=self.epochs)

        def tell(self, suggestion, observation):
            pass

        def settings(self):
            return {"library": "a user's plug-in"}


    SPECS = [
        BenchmarkSpec(name="digits-sgd", dataset=None, description="SGD on sklearn's digits (a plug-in)",
                      max_epochs=3, trials=4, batch_size=32, input_shape=(64,), options={}, make_space=space,
                      build_model=None, factory=DigitsSGD),
        StrategySpec("first-then-random", "the first grid point, then random ones (a plug-in)", FirstThenRandom),
    ]
''')

SUITE = textwrap.dedent('''
    name = "plugged"
    seeds = [0]
    strategies = ["grid", "random", "bayesian", "hyperband", "tpe", "tpe-hyperopt", "first-then-random"]
    plugins = ["my_plugin.py:SPECS"]

    [benchmarks.digits-sgd]
    max_epochs = 3
    trials = 4
''')


@pytest.fixture
def registries():
    """Leave the registries as they were (a plug-in registers into the running process)."""
    benchmarks, strategies = dict(BENCHMARKS), dict(STRATEGIES)
    yield
    BENCHMARKS.clear(), BENCHMARKS.update(benchmarks)
    STRATEGIES.clear(), STRATEGIES.update(strategies)


def test_a_plugin_benchmark_runs_all_six_strategies_and_a_plugin_strategy(tmp_path, registries):
    (tmp_path / "my_plugin.py").write_text(PLUGIN)
    (tmp_path / "plugged.toml").write_text(SUITE)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "plugged.toml"), "--out", str(out), "--data-dir", str(tmp_path)]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["strategy"]) == sorted(["grid", "random", "bayesian", "hyperband", "tpe", "tpe-hyperopt",
                                               "first-then-random"])
    assert (runs["benchmark"] == "digits-sgd").all()
    assert (runs["best_val_accuracy"] > 0.5).all()  # SGD learns the digits: real training, not a stub
    trials = pd.read_csv(out / "trials.csv")
    counts = trials.groupby("strategy").size()
    fixed = ["grid", "random", "bayesian", "tpe", "tpe-hyperopt", "first-then-random"]
    assert (counts[fixed] == 4).all(), counts  # every fixed-fidelity strategy spent its 4 full trials


def test_a_missing_plugin_file_is_bad_input(tmp_path, registries, capsys):
    (tmp_path / "plugged.toml").write_text(SUITE)
    assert main(["run", str(tmp_path / "plugged.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "my_plugin.py" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_plugin_cannot_replace_a_builtin(tmp_path, registries, capsys):
    (tmp_path / "my_plugin.py").write_text(PLUGIN.replace('name="digits-sgd"', 'name="mnist-mlp"'))
    (tmp_path / "plugged.toml").write_text(SUITE)
    assert main(["run", str(tmp_path / "plugged.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "'mnist-mlp' is taken" in capsys.readouterr().err


def test_a_suggestion_outside_the_space_stops_the_run_before_training(tmp_path, registries, capsys):
    plugin = PLUGIN.replace("config = self.grid[0] if self.count == 1 else self.rng.choice(self.grid)",
                            'config = {"alpha": 5.0, "loss": "hinge"}')
    (tmp_path / "my_plugin.py").write_text(plugin)
    (tmp_path / "plugged.toml").write_text(SUITE.replace(
        '["grid", "random", "bayesian", "hyperband", "tpe", "tpe-hyperopt", "first-then-random"]',
        '["first-then-random"]'))
    assert main(["run", str(tmp_path / "plugged.toml"), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "InvalidSuggestion" in error and "'first-then-random'" in error and "alpha=5.0" in error
    assert not (tmp_path / "out" / "trials.csv").exists()


LIVE_PLUGIN = textwrap.dedent('''
    """A user's plug-in written from the Benchmark protocol's text alone: tunebench's live Keras
    harness on the user's own data (sklearn's 8x8 digits), through a factory."""
    import numpy as np
    from sklearn.datasets import load_digits

    from tunebench.benchmarks import BenchmarkSpec
    from tunebench.benchmarks.live import LiveKerasBenchmark
    from tunebench.datasets import Splits
    from tunebench.models.compile import compile_classifier
    from tunebench.space import Float, Int, SearchSpace


    def space(options):
        return SearchSpace([Int("units", low=16, high=64, step=16), Float("lr", low=1e-3, high=1e-2, log=True)])


    def build_model(config, steps_per_execution=1, **_):
        import keras

        model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                  keras.layers.Dense(config["units"], activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        return compile_classifier(model, config["lr"], steps_per_execution)


    def own_data(spec, splits, plan):
        x, y = load_digits(return_X_y=True)
        x = (x * 16).clip(0, 255).astype(np.uint8).reshape(-1, 8, 8)
        own = Splits(name="digits", x_train=x[:1000], y_train=y[:1000], x_val=x[1000:1400], y_val=y[1000:1400],
                     x_test=x[1400:], y_test=y[1400:], class_names=tuple(str(d) for d in range(10)),
                     source="sklearn.datasets.load_digits")
        return LiveKerasBenchmark(spec, own, plan.options, plan.max_epochs, plan.batch_size, fidelity=plan.fidelity)


    SPECS = [BenchmarkSpec(name="digits-live", dataset=None, description="Keras on sklearn's digits (a plug-in)",
                           max_epochs=2, trials=2, batch_size=64, input_shape=(8, 8), options={}, make_space=space,
                           build_model=build_model, factory=own_data)]
''')


@pytest.mark.slow  # trains a Keras network
def test_a_plugin_benchmark_on_its_own_data_trains_through_the_live_harness(tmp_path, registries):
    (tmp_path / "live_plugin.py").write_text(LIVE_PLUGIN)
    (tmp_path / "live.toml").write_text('name = "live-plugged"\nseeds = [0]\nstrategies = ["random"]\n'
                                        'plugins = ["live_plugin.py:SPECS"]\n[benchmarks.digits-live]\n')
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "live.toml"), "--out", str(out), "--data-dir", str(tmp_path)]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert runs["best_val_accuracy"].iloc[0] > 0.5  # a real network learned the digits
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data"]["digits-live"]["source"] == "sklearn.datasets.load_digits"
