"""Task planning: the (benchmark, strategy, seed) runs of a suite, and what each needs.

A :class:`RunTask` is everything a process needs to do (or resume) one run: it is what the
in-process executor loops over and what a Dask worker receives. The data and the benchmark
of a run are built here, from the run's seeds (:class:`tunebench.seeding.RunSeeds`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tunebench.backend import uses_tensorflow
from tunebench.benchmarks import get_benchmark_spec
from tunebench.datasets import Splits, load_dataset, stratified_subset
from tunebench.errors import DataError, DataMissingError, InputError
from tunebench.quiet import import_tensorflow_quietly
from tunebench.resume import RUNS, STATES
from tunebench.seeding import RunSeeds
from tunebench.strategies import StrategyContext
from tunebench.suite import BenchmarkPlan, Suite

#: Environment variables that set the numeric libraries' thread counts, which change
#: TensorFlow's (and BLAS's) order of summation and so the numbers. A run's task carries the
#: driving process's values; a worker applies them before it imports TensorFlow.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS")


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


def load_run_data(plan: BenchmarkPlan, data_dir: Path, seed: int) -> Splits:
    """The run's data: the benchmark's dataset split and subsampled by the run's seeds."""
    spec = get_benchmark_spec(plan.name)
    seeds = RunSeeds(plan.name, seed)
    splits = load_dataset(spec.dataset, Path(data_dir), seeds.split)
    if plan.subset is not None:
        try:
            splits = stratified_subset(splits, plan.subset, seeds.subset)
        except DataError as error:
            raise DataError(f"[benchmarks.{plan.name}] 'subset': {error}") from None
    return splits


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
            sources[plan.name] = make_benchmark(spec, None, plan).source
            continue
        for seed in suite.seeds_of(plan):
            splits = load_run_data(plan, data_dir, seed)
            entry = sources.setdefault(plan.name, {"source": splits.source, "class_names": list(splits.class_names),
                                                   "sizes": {}, "class_counts": {}})
            entry["sizes"][str(seed)] = splits.sizes()
            entry["class_counts"][str(seed)] = {  # the report's majority-class line
                split: np.bincount(getattr(splits, f"y_{split}"), minlength=splits.n_classes).tolist()
                for split in ("train", "val", "test")}
    return sources


def make_benchmark(spec, splits: Splits | None, plan: BenchmarkPlan):
    """The benchmark a run uses: the spec's own factory (a replay of its recording, or a
    plug-in's), else live Keras training on ``splits``."""
    if spec.factory is not None:
        return spec.factory(spec, splits, plan)
    # Imported here, not at the top: it imports Keras and TensorFlow, which replay-only
    # suites and `tunebench --help` never need.
    from tunebench.benchmarks.live import LiveKerasBenchmark

    quiet_tensorflow()
    return LiveKerasBenchmark(spec, splits, plan.options, plan.max_epochs, plan.batch_size, fidelity=plan.fidelity,
                              precision=plan.resolved_precision)


def build_benchmark(plan: BenchmarkPlan, seed: int, data_dir: Path, factory: Callable[..., Any] | None = None):
    """Load the run's data (if the benchmark has a dataset) and build its benchmark with
    ``factory`` (default :func:`make_benchmark`)."""
    spec = get_benchmark_spec(plan.name)
    splits = load_run_data(plan, data_dir, seed) if spec.dataset else None
    return (factory or make_benchmark)(spec, splits, plan)


def strategy_context(task: RunTask, benchmark) -> StrategyContext:
    """The strategy's context for a run (the Optuna storage and study name when supported)."""
    plan = task.plan
    return StrategyContext(space=benchmark.space, seed=task.seeds.strategy,
                           max_epochs=plan.max_epochs, trial_budget=plan.budget_epochs // plan.max_epochs,
                           storage=task.optuna_storage, study_name=task.study_name)


def quiet_tensorflow() -> None:
    """TensorFlow imported without its start-up lines when quiet is asked for
    (:func:`tunebench.quiet.import_tensorflow_quietly`), its and absl's Python loggers at ERROR;
    nothing when Keras trains on another backend."""
    if not uses_tensorflow():
        return
    import_tensorflow_quietly()
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


__all__ = ["RunTask", "THREAD_ENV", "build_benchmark", "check_inputs", "load_run_data", "make_benchmark",
           "plan_tasks", "quiet_tensorflow", "strategy_context"]
