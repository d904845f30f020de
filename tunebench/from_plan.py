"""A benchmark built from a suite's plan: the run's data (split and subsampled by the run's
seeds) and the benchmark that trains on it, live or replayed. The one home of this step for
everything that builds a benchmark: ``tunebench run`` (the runner), ``record``, ``retrain``,
the perf benchmarks and the studies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from tunebench.benchmarks import get_benchmark_spec
from tunebench.datasets import Splits, load_dataset, stratified_subset
from tunebench.errors import DataError
from tunebench.process import quiet_tensorflow
from tunebench.seeding import RunSeeds
from tunebench.suite import BenchmarkPlan


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


__all__ = ["build_benchmark", "load_run_data", "make_benchmark"]
