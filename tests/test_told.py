"""What strategies are told: exactly trials.csv's ``val_accuracy`` of each trial, in the order
asked, and never a test number (a spy wraps each strategy of a real run)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tunebench.progress import Progress
from tunebench.runner import run_suite
from tunebench.strategies import STRATEGIES, Strategy, StrategySpec
from tunebench.suite import parse_suite

TOLD: dict[str, list[tuple[str, float, bool]]] = {}


def spy_of(name: str):
    inner_spec = STRATEGIES[name]

    class Spy(Strategy):
        def __init__(self, context):
            self.inner = inner_spec.factory(context)
            self.warm_starts, self.parent_used_once = self.inner.warm_starts, self.inner.parent_used_once
            TOLD[name] = []

        def ask(self):
            return self.inner.ask()

        def tell(self, suggestion, observation):
            TOLD[name].append((suggestion.trial_id, observation.val_accuracy, observation.failed))
            self.inner.tell(suggestion, observation)

        def settings(self):
            return self.inner.settings()

        def close(self):
            self.inner.close()

    return StrategySpec(name, f"{name}, watched", Spy)


@pytest.fixture(scope="module")
def spied_run(tiny_data_dir, tmp_path_factory):
    names = ["random", "hyperband", "tpe"]
    with pytest.MonkeyPatch.context() as patch:
        for name in names:
            patch.setitem(STRATEGIES, name, spy_of(name))
        suite = parse_suite({"name": "spied", "seeds": [0], "strategies": names,
                             "benchmarks": {"mnist-mlp": {"max_epochs": 3, "trials": 3}}}, source="(test)")
        out = tmp_path_factory.mktemp("spied") / "out"
        run_suite(suite, out, tiny_data_dir, progress=Progress(1, 1, enabled=False))
    return names, pd.read_csv(out / "trials.csv", dtype={"trial_id": str})


def test_each_strategy_is_told_exactly_trials_csvs_val_accuracy_in_order_never_a_test_number(spied_run):
    names, trials = spied_run
    for name in names:
        rows = trials[trials["strategy"] == name].sort_values("trial")
        assert (rows["test_accuracy"] != rows["val_accuracy"]).any()  # so "told val" is not "told test"
        told = TOLD[name]
        assert [trial_id for trial_id, _, _ in told] == rows["trial_id"].tolist()
        for (_, value, failed), (_, row) in zip(told, rows.iterrows()):
            assert failed == (row["status"] == "failed")
            assert (math.isnan(value) and math.isnan(row["val_accuracy"])) or value == row["val_accuracy"]
