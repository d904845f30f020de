"""The checks a suite's benchmark table and the command line's overrides share: counts within
their limits (:mod:`tunebench.limits`), budgets of whole trials, time caps, precisions,
parallel trials and benchmark options. Each raises :class:`~tunebench.errors.SuiteError`
naming ``where`` (the file and table, or the option)."""

from __future__ import annotations

import math
from typing import Any

from tunebench.benchmarks import get_benchmark_spec
from tunebench import precision as numeric
from tunebench.limits import (MAX_BATCH_SIZE, MAX_BUDGET_EPOCHS, MAX_EPOCHS, MAX_TRIALS, MAX_WORKERS, check_count)
from tunebench.errors import SuiteError


#: The largest value of each count a benchmark table takes (:mod:`tunebench.limits`).
COUNT_LIMITS = {"max_epochs": MAX_EPOCHS, "trials": MAX_TRIALS, "budget_epochs": MAX_BUDGET_EPOCHS,
                 "batch_size": MAX_BATCH_SIZE, "parallel_trials": MAX_WORKERS, "simulated_workers": MAX_WORKERS}


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


def check_precision(spec, value: Any, where: str) -> str:
    if value not in numeric.PRECISIONS:
        raise SuiteError(f"{where} must be one of {', '.join(numeric.PRECISIONS)}, got {value!r}")
    if spec.recording and value != numeric.FLOAT32:
        raise SuiteError(f"{where}: {spec.name} replays a recording, whose precision is the recording's; "
                         "set the precision of its live benchmark when recording it")
    return value


def check_parallel_trials(spec, value: int, where: str) -> int:
    if value > 1 and not spec.dataset:
        raise SuiteError(f"{where}: {spec.name} does not train (a replay answers in microseconds); only a live "
                         f"benchmark runs trials in parallel, got {value}")
    return value


def check_options(plan: Any, where: str) -> None:
    """``plan`` (a :class:`tunebench.suite.BenchmarkPlan`) has options its benchmark's space accepts."""
    try:
        get_benchmark_spec(plan.name).make_space(plan.options)
    except SuiteError as error:
        raise SuiteError(f"{where}: {error}") from None


__all__ = ["COUNT_LIMITS", "check_budget", "check_options", "check_parallel_trials", "check_precision", "check_seconds",
           "positive_int"]
