"""Task planning: the (benchmark, strategy, seed) runs of a suite, and what each needs.

A :class:`RunTask` is everything a process needs to do (or resume) one run: it is what the
in-process executor loops over and what a Dask worker receives. The data and the benchmark
of a run are built by :mod:`tunebench.from_plan`, from the run's seeds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tunebench.benchmarks import get_benchmark_spec
from tunebench.errors import DataMissingError, InputError
from tunebench.resume import RUNS, STATES
from tunebench.seeding import RunSeeds
from tunebench.strategies import StrategyContext
from tunebench.from_plan import load_run_data, make_benchmark
from tunebench.process import THREAD_ENV
from tunebench.suite import BenchmarkPlan, Suite


@dataclass(frozen=True)
class RunTask:
    """One (benchmark, strategy, seed) run: everything a process needs to do it (or resume it).

    Attributes
    ----------
    index:
        The run's 1-based position in the suite (the order of the final files).
    staging:
        The suite's ``.partial/`` folder (on a filesystem every worker sees).
    data_dir:
        The datasets' folder (absolute; the same path on every worker).
    environment:
        The driving process's :data:`THREAD_ENV` values.
    plugins:
        The suite's plug-in references, which a worker loads before the run.
    """

    index: int
    plan: BenchmarkPlan
    strategy: str
    seed: int
    data_dir: str
    staging: str
    fingerprint: str
    study_name: str
    optuna_storage: str | None = None
    environment: tuple[tuple[str, str | None], ...] = ()
    plugins: tuple[str, ...] = ()

    @property
    def key(self) -> dict[str, Any]:
        return {"benchmark": self.plan.name, "strategy": self.strategy, "seed": self.seed}

    @property
    def label(self) -> str:
        return f"{self.plan.name}/{self.strategy}/seed {self.seed}"

    @property
    def stem(self) -> str:
        return f"{self.index:04d}-{self.plan.name}-{self.strategy}-{self.seed}"

    @property
    def seeds(self) -> RunSeeds:
        return RunSeeds(self.plan.name, self.seed)

    @property
    def journal_path(self) -> Path:
        return Path(self.staging) / RUNS / f"{self.stem}.jsonl"

    @property
    def attempt_path(self) -> Path:
        return Path(self.staging) / RUNS / f"{self.stem}.attempt"

    @property
    def states_dir(self) -> Path:
        return Path(self.staging) / STATES / self.stem


def plan_tasks(suite: Suite, staging: Path, fingerprint: str, data_dir: Path,
               optuna_storage: str | None) -> list[RunTask]:
    """Every run of ``suite`` in suite order: benchmarks, then seeds, then strategies."""
    environment = tuple((name, os.environ.get(name)) for name in THREAD_ENV)
    tasks = []
    for plan in suite.benchmarks:
        for seed in suite.seeds_of(plan):
            for strategy in suite.strategies:
                tasks.append(RunTask(
                    index=len(tasks) + 1, plan=plan, strategy=strategy, seed=seed, data_dir=str(data_dir),
                    staging=str(staging), fingerprint=fingerprint, optuna_storage=optuna_storage,
                    study_name=f"{suite.name}/{plan.name}/{strategy}/seed-{seed}", environment=environment,
                    plugins=suite.plugins))
    return tasks


def leave_out_missing_data(suite: Suite, data_dir: Path) -> Suite:
    """The suite without its ``skip_if_no_data`` benchmarks whose dataset is not in ``data_dir``.

    Each one left out is listed in the returned suite's ``left_out`` with the loader's message
    (which file was looked for where, and where to get it). A dataset that is there but bad
    still fails (in :func:`check_inputs`), as does a suite left with no benchmark.

    Raises
    ------
    InputError
        Every benchmark of the suite was left out.
    """
    kept, left_out = [], list(suite.left_out)
    for plan in suite.benchmarks:
        if plan.skip_if_no_data:
            try:
                load_run_data(plan, data_dir, suite.seeds_of(plan)[0])
            except DataMissingError as error:
                left_out.append((plan.name, str(error)))
                continue
        kept.append(plan)
    if not kept:
        raise InputError("every benchmark of suite " + repr(suite.name) + " was left out for missing data: "
                         + " ".join(f"{name}: {why}" for name, why in left_out))
    return replace(suite, benchmarks=tuple(kept), left_out=tuple(left_out))


def check_inputs(suite: Suite, data_dir: Path) -> dict[str, Any]:
    """Load every run's data (or recording) once, so that bad input fails before any
    output is written; returns the manifest's ``data`` entry per benchmark."""
    sources: dict[str, Any] = {}
    for plan in suite.benchmarks:
        spec = get_benchmark_spec(plan.name)
        if not spec.dataset:
            benchmark = make_benchmark(spec, None, plan)
            sources[plan.name] = getattr(benchmark, "source", None) or {"benchmark": type(benchmark).__name__}
            continue
        for seed in suite.seeds_of(plan):
            splits = load_run_data(plan, data_dir, seed)
            entry = sources.setdefault(plan.name, {"source": splits.source, "class_names": list(splits.class_names),
                                                   "sizes": {}, "class_counts": {}})
            if splits.digest:  # a plug-in's loader: no file, so the arrays' own digest
                entry["sha256"] = splits.digest
            entry["sizes"][str(seed)] = splits.sizes()
            entry["class_counts"][str(seed)] = {  # the report's majority-class line
                split: np.bincount(getattr(splits, f"y_{split}"), minlength=splits.n_classes).tolist()
                for split in ("train", "val", "test")}
    return sources


def strategy_context(task: RunTask, benchmark) -> StrategyContext:
    """The strategy's context for a run (the Optuna storage and study name when supported)."""
    plan = task.plan
    return StrategyContext(space=benchmark.space, seed=task.seeds.strategy,
                           max_epochs=plan.max_epochs, trial_budget=plan.budget_epochs // plan.max_epochs,
                           storage=task.optuna_storage, study_name=task.study_name,
                           random_start=getattr(plan, "random_start", None))


__all__ = ["RunTask", "check_inputs", "leave_out_missing_data", "plan_tasks", "strategy_context"]
