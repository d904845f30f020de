"""The checks a suite's benchmark table and the command line's overrides share: seeds, counts
within their limits (:mod:`tunebench.limits`), budgets of whole trials, time caps, precisions,
parallel trials, benchmark options and the dataset a benchmark names. Each raises :class:`~tunebench.errors.SuiteError`
naming ``where`` (the file and table, or the option)."""

from __future__ import annotations

import math
from typing import Any

from tunebench.benchmarks import LIVE_BENCHMARKS, get_benchmark_spec
from tunebench import precision as numeric
from tunebench.datasets import dataset_names, plugin_dataset
from tunebench.limits import (MAX_BATCH_SIZE, MAX_BUDGET_EPOCHS, MAX_EPOCHS, MAX_SEED, MAX_SEEDS, MAX_TRIALS,
                              MAX_WORKERS, check_count)
from tunebench.errors import SuiteError
from tunebench.plugins import plugin_benchmarks
from tunebench.registry import unknown_name


#: The largest value of each count a benchmark table takes (:mod:`tunebench.limits`).
COUNT_LIMITS = {"max_epochs": MAX_EPOCHS, "trials": MAX_TRIALS, "budget_epochs": MAX_BUDGET_EPOCHS,
                 "batch_size": MAX_BATCH_SIZE, "parallel_trials": MAX_WORKERS, "simulated_workers": MAX_WORKERS,
                 "random_start": MAX_TRIALS}


def positive_int(table: dict, key: str, default: Any, where: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SuiteError(f"{where}: {key!r} must be a positive integer, got {value!r}")
    try:
        return check_count(value, repr(key), 1, COUNT_LIMITS[key])
    except ValueError as error:
        raise SuiteError(f"{where}: {error}") from None


def check_budget(budget: int, max_epochs: int, where: str) -> None:
    """A budget must pay for whole full-fidelity trials, so fixed-fidelity strategies spend all of it."""
    if budget < max_epochs or budget % max_epochs:
        raise SuiteError(f"{where} must be a positive multiple of max_epochs ({max_epochs}), got {budget}")


def check_seconds(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SuiteError(f"{where} must be a positive, finite number of seconds, got {value!r}")


def check_dataset(spec, where: str) -> None:
    """The dataset ``spec`` names is a built-in one or a plug-in's, and, a plug-in's, its images
    fit the benchmark's ``input_shape`` (the live harness reshapes each image to it)."""
    if not spec.dataset:
        return
    if spec.dataset not in dataset_names():
        raise SuiteError(f"{where}: benchmark {spec.name!r} trains on dataset {spec.dataset!r}, which neither "
                         f"tunebench nor a loaded plug-in has ({unknown_name('dataset', spec.dataset, dataset_names())}); "
                         "a plug-in brings one as a DatasetSpec in its list (tunebench.datasets.DatasetSpec)")
    own = plugin_dataset(spec.dataset)
    if own is not None and math.prod(own.image_shape) != math.prod(spec.input_shape):
        raise SuiteError(f"{where}: benchmark {spec.name!r} has input_shape {tuple(spec.input_shape)} "
                         f"({math.prod(spec.input_shape)} values), but the images of {own.where} are "
                         f"{own.image_shape[0]}x{own.image_shape[1]} ({math.prod(own.image_shape)} values)")


def check_precision(spec, value: Any, where: str) -> str:
    if value not in numeric.PRECISIONS:
        raise SuiteError(f"{where} must be one of {', '.join(numeric.PRECISIONS)}, got {value!r}")
    if spec.recording and value != numeric.FLOAT32:
        raise SuiteError(f"{where}: {spec.name} replays a recording, whose precision is the recording's; "
                         "set the precision of its live benchmark when recording it")
    return value


def check_parallel_trials(spec, value: int, where: str, plugins: tuple[str, ...] = ()) -> int:
    """``value`` trials of ``spec`` in flight at once; ``plugins`` are the suite's references.

    More than one train on worker processes, each of which builds the benchmark again from
    the registry after loading the suite's plug-ins (:mod:`tunebench.runner.trial_pool`). So
    the benchmark must train (a replay answers in microseconds; its workers are simulated:
    ``simulated_workers``), and a new process must have it: a built-in live benchmark, or one
    that an installed entry point or one of ``plugins`` registers
    (:func:`tunebench.plugins.plugin_benchmarks`), not one registered by hand in this process.
    """
    if value > 1 and spec.recording:
        raise SuiteError(f"{where}: {spec.name} does not train (a replay answers in microseconds); only a "
                         f"benchmark that trains runs trials in parallel (a replay's are simulated: simulated_workers), "
                         f"got {value}")
    if value > 1 and spec not in LIVE_BENCHMARKS and spec.name not in plugin_benchmarks(plugins):
        raise SuiteError(f"{where}: {spec.name} is registered in this process only (not by a plug-in of the suite "
                         "or an installed entry point), so the worker processes that train parallel trials cannot "
                         "build it; name its module in the suite's plugins = [\"module:attribute\"] "
                         f"(tunebench.plugins), got {value}")
    return value


def check_options(plan: Any, where: str) -> None:
    """``plan`` (a :class:`tunebench.suite.BenchmarkPlan`) has options its benchmark's space accepts."""
    try:
        get_benchmark_spec(plan.name).make_space(plan.options)
    except SuiteError as error:
        raise SuiteError(f"{where}: {error}") from None


def parse_seeds(value: Any, where: str) -> tuple[int, ...]:
    """A count ``n`` (seeds 0..n-1) or a list of seeds.

    As a string: ``"3"`` is a count, ``"0,5,7"`` a list, ``"10-19"`` the seeds 10 to 19 (ranges
    and single seeds mix: ``"0-4,9"``), and ``"5,"`` or ``"5-5"`` the single seed 5.
    """
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if any(len(p.lstrip("+-")) > 25 or any(len(end) > 12 for end in p.lstrip("+-").split("-")) for p in parts):
            raise SuiteError(f"{where}: {value[:40]!r}{'...' if len(value) > 40 else ''} is too large (a seed count is "
                             f"at most {MAX_SEEDS:,}, a seed at most {MAX_SEED:,}: tunebench.limits)")
        try:
            numbers = [seed for part in parts for seed in _seed_range(part)]
        except ValueError:
            raise SuiteError(f"{where}: expected a count, comma-separated seeds or ranges such as 0-4, got "
                             f"{value!r}") from None
        listed = "," in value or any("-" in part.lstrip("+-") for part in parts)
        value = numbers if listed else (numbers[0] if numbers else value)
    if isinstance(value, bool):
        raise SuiteError(f"{where}: expected a count or a list of integers, got {value!r}")
    try:
        if isinstance(value, int):
            return tuple(range(check_count(value, "the seed count", 1, MAX_SEEDS)))
        if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) for s in value):
            check_count(len(value), "the number of seeds", 1, MAX_SEEDS)
            for seed in value:
                check_count(seed, "a seed", 0, MAX_SEED)
            if len(set(value)) != len(value):
                raise SuiteError(f"{where}: duplicate seeds in {value}")
            return tuple(value)
    except ValueError as error:
        raise SuiteError(f"{where}: {error}") from None
    raise SuiteError(f"{where}: expected a count or a non-empty list of non-negative integers, got {value!r}")


def _seed_range(part: str) -> list[int]:
    """``"7"`` -> ``[7]``; ``"3-5"`` -> ``[3, 4, 5]`` (``ValueError`` for anything else, or a
    range of more than :data:`MAX_SEEDS` seeds, checked before it is made)."""
    sign, body = ("-", part[1:]) if part.startswith("-") else ("", part)
    if "-" not in body:
        return [int(part)]
    first, last = (int(end) for end in body.split("-"))
    first = -first if sign else first
    if not 0 <= last - first < MAX_SEEDS:
        raise ValueError(part)
    return list(range(first, last + 1))


__all__ = ["COUNT_LIMITS", "parse_seeds", "check_budget", "check_options", "check_parallel_trials", "check_precision", "check_seconds",
           "positive_int"]
