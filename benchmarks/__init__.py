"""Benchmarks: a dataset, a model builder, a search space and a full fidelity.

:data:`BENCHMARKS` maps each name to its :class:`BenchmarkSpec`. The built-in ones are
listed here; every live benchmark ``NAME`` has a replay twin ``NAME@replay`` that answers
from its recording (:mod:`tunebench.benchmarks.replay`) instead of training. A user's own
package adds benchmarks without editing this file (:mod:`tunebench.plugins`), through
:func:`register_benchmark`. Suites (TOML files in ``suites/``) choose benchmarks, budgets
and seeds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tunebench.benchmarks.base import Benchmark, BenchmarkSpec, EpochRecord, Evaluation, TrialFailed
from tunebench.errors import SuiteError
from tunebench.registry import register_unique, unknown_name
from tunebench.models import fer_cnn, mnist_mlp


def _mnist_space(options: dict[str, Any]):
    return mnist_mlp.search_space(options.get("id", mnist_mlp.DEFAULT_ID))


def _fer_space(options: dict[str, Any]):
    return fer_cnn.search_space()


LIVE_BENCHMARKS: tuple[BenchmarkSpec, ...] = (
    BenchmarkSpec(
        name="mnist-mlp", dataset="mnist",
        description="4-layer MLP on MNIST, unit ranges from an 8-digit ID (option id)",
        max_epochs=10, trials=30, batch_size=32, input_shape=mnist_mlp.INPUT_SHAPE,
        options={"id": mnist_mlp.DEFAULT_ID},
        make_space=_mnist_space, build_model=mnist_mlp.build_model,
    ),
    BenchmarkSpec(
        name="fer-cnn", dataset="fer2013",
        description="1-3 block CNN on FER2013 48x48 faces, 7 emotions",
        max_epochs=10, trials=10, batch_size=64, input_shape=fer_cnn.INPUT_SHAPE,
        options={},
        make_space=_fer_space, build_model=fer_cnn.build_model,
        # Gaussian processes rank held-out FER configurations better than the trees (median
        # Spearman over 10 splits 0.865 against 0.826 at 41 full-data configurations, ahead on
        # 9 of 10 splits: studies/surrogate_variants.py); on MNIST the trees are close (0.968
        # against 0.979) and fit in a second, not a minute.
        surrogate="gp",
    ),
)


def _replay(spec: BenchmarkSpec, splits, plan) -> Benchmark:
    # Imported on use: it loads scikit-learn, which listing benchmarks does not need.
    from tunebench.benchmarks.replay import ReplayBenchmark

    return ReplayBenchmark(spec, plan)


def _replay_twin(spec: BenchmarkSpec) -> BenchmarkSpec:
    return replace(spec, name=spec.name + "@replay", dataset=None, recording=spec.name, factory=_replay,
                   description=f"{spec.name} answered from its recording (results/recordings/{spec.name}) and surrogate")


BENCHMARKS: dict[str, BenchmarkSpec] = {
    spec.name: spec for spec in LIVE_BENCHMARKS + tuple(_replay_twin(s) for s in LIVE_BENCHMARKS)
}


def register_benchmark(spec: BenchmarkSpec) -> None:
    """Add ``spec`` to :data:`BENCHMARKS` (again with the same spec: nothing happens);
    :class:`SuiteError` if its name is taken by another benchmark."""
    register_unique(BENCHMARKS, spec, "benchmark", BenchmarkSpec)


def get_benchmark_spec(name: str) -> BenchmarkSpec:
    """The registry entry for ``name``, or :class:`SuiteError` listing the known names."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise SuiteError(unknown_name("benchmark", name, BENCHMARKS)) from None


__all__ = ["BENCHMARKS", "LIVE_BENCHMARKS", "Benchmark", "BenchmarkSpec", "EpochRecord", "Evaluation", "TrialFailed",
           "get_benchmark_spec", "register_benchmark"]
