"""A pure-Python benchmark with analytic curves, for tests where the model is not the point.

Its objective is a smooth bowl over four parameters (a known optimum, no training noise), its
curve rises towards that value with the epochs, and a warm start continues the curve. It costs
microseconds, so tests of the runner, resume, parallel trials and strategy quality can run
many trials without Keras. Registered as ``analytic`` by :func:`register`; a suite file loads
it (and its twin ``analytic-b``, for suites that need two benchmarks) as a plug-in with
``plugins = ["<abs path>/tests/analytic_benchmark.py:SPECS"]`` (:data:`PLUGIN`).

Two options, for tests of the runner rather than of a model (defaults: off):

- ``sleep``: seconds each epoch takes (wall clock), so that a test can stop or kill a run
  while it is in flight;
- ``fail_x_above``: a configuration with ``x`` above it fails on purpose, as a trial that
  diverges in its second epoch would: :class:`~tunebench.benchmarks.TrialFailed` with the
  first epoch completed (a trial of one epoch fails before any, with ``RuntimeError``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from tunebench.benchmarks import BENCHMARKS, BenchmarkSpec, EpochRecord, Evaluation, TrialFailed
from tunebench.space import Choice, Float, Int, SearchSpace

NAME = "analytic"
#: Where the bowl is lowest (the best configuration), in each parameter's own units.
OPTIMUM = {"x": 0.3, "log_lr": -3.0, "units": 48, "act": "relu"}


def space(options) -> SearchSpace:
    return SearchSpace([Float("x", low=0.0, high=1.0, grid_size=3), Float("log_lr", low=-5.0, high=-1.0, grid_size=3),
                        Int("units", low=16, high=128, step=16), Choice("act", choices=("relu", "tanh"))])


def final_accuracy(config) -> float:
    """The bowl: 0.95 at :data:`OPTIMUM`, falling smoothly away from it (never below 0.1)."""
    distance = ((config["x"] - OPTIMUM["x"]) / 1.0) ** 2 + ((config["log_lr"] - OPTIMUM["log_lr"]) / 4.0) ** 2 \
        + ((config["units"] - OPTIMUM["units"]) / 112.0) ** 2 + (0.02 if config["act"] != OPTIMUM["act"] else 0.0)
    return 0.1 + 0.85 * math.exp(-12.0 * distance)


class AnalyticBenchmark:
    """The :class:`~tunebench.benchmarks.base.Benchmark` protocol, answered by formula."""

    fidelity = "full"
    source = {"analytic": "tests/analytic_benchmark.py"}
    class_names = ("a", "b")

    def __init__(self, spec, splits, plan):
        self.name, self.max_epochs = spec.name, plan.max_epochs
        self.space = space(plan.options)
        self.sleep = float(plan.options.get("sleep", 0.0))
        self.fail_x_above = float(plan.options.get("fail_x_above", math.inf))

    def evaluate(self, config, epochs, seed, initial_epoch=0, warm_start=None, keep_state=False) -> Evaluation:
        target = final_accuracy(config)
        failing = config["x"] > self.fail_x_above
        curve = []
        for epoch in range(initial_epoch + 1, epochs + 1):
            if failing and epoch == initial_epoch + 2:
                raise TrialFailed(f"non-finite training loss (nan) in epoch {epoch} (analytic, x > "
                                  f"{self.fail_x_above})", curve=curve, epoch_confusions=[[[5, 1], [1, 5]]] * len(curve),
                                  seconds=0.001 * len(curve))
            if self.sleep:
                time.sleep(self.sleep)
            value = target * (1 - 0.5 ** epoch)  # rises towards the target with the epochs
            curve.append(EpochRecord(epoch=epoch, loss=1 - value, accuracy=value, val_loss=1 - value,
                                     val_accuracy=value, val_f1=value, test_accuracy=value * 0.98,
                                     test_f1=value * 0.97, epoch_seconds=0.001))
        if failing:
            raise RuntimeError(f"analytic: x = {config['x']} is above {self.fail_x_above} (a one-epoch trial)")
        return Evaluation(curve=curve, test_confusion=[[5, 1], [1, 5]], seconds=0.001 * len(curve),
                          state={"epoch": epochs} if keep_state else None)


SPEC = BenchmarkSpec(name=NAME, dataset=None, description="a smooth analytic bowl (tests only)", max_epochs=3,
                     trials=20, batch_size=1, input_shape=(1,), options={"sleep": 0.0, "fail_x_above": 2.0},
                     make_space=space, build_model=None, factory=AnalyticBenchmark)
#: The same bowl under a second name, for a suite that needs two benchmarks (e.g. two budgets).
SPEC_B = dataclasses.replace(SPEC, name=NAME + "-b", description="the analytic bowl again (tests only)")
SPECS = [SPEC, SPEC_B]
#: The plug-in reference a suite file names to load :data:`SPECS` (in any process).
PLUGIN = f"{Path(__file__).resolve()}:SPECS"


def register() -> None:
    """Add :data:`SPEC` to the registry (a test fixture takes it out again)."""
    BENCHMARKS.setdefault(NAME, SPEC)
