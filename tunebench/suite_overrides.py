"""Command-line values in place of a suite file's (``tunebench run``'s options, and
:func:`tunebench.api.run`'s arguments).

Each option applies to the benchmarks it fits (``--precision`` to the live ones,
``--parallel-trials`` to those that train, ``--simulated-workers``, ``--budget-seconds`` and
``--charge-decision-time`` to the replays) and is refused, naming the option, where it fits
none. Every problem raises :class:`~tunebench.errors.SuiteError`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tunebench.benchmarks import get_benchmark_spec
from tunebench.errors import SuiteError
from tunebench.suite import BenchmarkPlan, Suite, parse_strategies
from tunebench.suite_checks import check_budget, check_options, check_parallel_trials, check_precision, check_seconds, parse_seeds


def apply_overrides(suite: Suite, *, seeds: str | None = None, strategies: str | None = None,
                    benchmarks: str | None = None, budget: int | None = None,
                    max_seconds: float | None = None, options: dict[str, Any] | None = None,
                    precision: str | None = None, parallel_trials: int | None = None,
                    simulated_workers: int | None = None, budget_seconds: float | None = None,
                    charge_decision_time: bool = False) -> Suite:
    """The suite with command-line values in place of the file's (``None`` keeps the file's).

    ``seeds`` replaces the seeds of the suite and of every benchmark; ``benchmarks`` selects
    among the suite's benchmarks; ``budget`` sets every selected benchmark's epoch budget; ``options`` (e.g. ``{"id": ...}``) applies to the
    benchmarks that have that option; ``precision`` applies to the live benchmarks, ``parallel_trials``
    to those that train (not the replays; :func:`_override_parallel_trials`), ``simulated_workers``,
    ``budget_seconds`` and ``charge_decision_time`` (``True`` turns it on) to the replay ones.
    """
    if seeds is not None:
        suite = replace(suite, seeds=parse_seeds(seeds, "option --seeds"),
                        benchmarks=tuple(replace(plan, seeds=None) for plan in suite.benchmarks))
    if strategies is not None:
        suite = replace(suite, strategies=parse_strategies(strategies, "option --strategies"))
    plans = list(suite.benchmarks)
    if benchmarks is not None:
        wanted = [b.strip() for b in benchmarks.split(",") if b.strip()]
        available = {p.name: p for p in plans}
        for name in wanted:
            if name not in available:
                try:
                    get_benchmark_spec(name)  # an unknown name gets the registry's message
                except SuiteError as error:
                    raise SuiteError(f"option --benchmarks: {error}") from None
                raise SuiteError(f"option --benchmarks: {name!r} is not in suite {suite.name!r} "
                                 f"(it has {', '.join(available)})")
        if not wanted:
            raise SuiteError("option --benchmarks: expected a comma-separated list of benchmark names")
        plans = [available[name] for name in wanted]
    if budget is not None:
        for plan in plans:
            check_budget(budget, plan.max_epochs, f"option --budget (for {plan.name})")
        plans = [replace(p, budget_epochs=budget) for p in plans]
    if max_seconds is not None:
        check_seconds(max_seconds, "option --max-seconds")
        plans = [replace(p, max_seconds=max_seconds) for p in plans]
    if precision is not None:
        live = [p for p in plans if get_benchmark_spec(p.name).dataset]
        if not live:
            raise SuiteError("option --precision: none of the selected benchmarks trains (replay benchmarks "
                             "answer at their recording's precision)")
        for plan in live:
            check_precision(get_benchmark_spec(plan.name), precision, "option --precision")
        plans = [replace(p, precision=precision) if p in live else p for p in plans]
    if parallel_trials is not None:
        plans = _override_parallel_trials(plans, parallel_trials, suite.plugins)
    if simulated_workers is not None:
        replayed = [p for p in plans if get_benchmark_spec(p.name).recording]
        if not replayed:
            raise SuiteError("option --simulated-workers: none of the selected benchmarks is a replay (a live one "
                             "trains on real workers: --parallel-trials)")
        plans = [replace(p, simulated_workers=simulated_workers) if p in replayed else p for p in plans]
    if budget_seconds is not None or charge_decision_time:
        plans = _override_simulated_clock(plans, budget_seconds, charge_decision_time)
    for key, value in (options or {}).items():
        if value is None:
            continue
        targets = [p for p in plans if key in get_benchmark_spec(p.name).options]
        if not targets:
            raise SuiteError(f"option --{key}: none of the selected benchmarks takes it")
        plans = [replace(p, options={**p.options, key: value}) if p in targets else p for p in plans]
        for plan in plans:
            check_options(plan, f"option --{key}")
    return replace(suite, benchmarks=tuple(plans))


def _override_simulated_clock(plans: list[BenchmarkPlan], budget_seconds: float | None,
                              charge_decision_time: bool) -> list[BenchmarkPlan]:
    """``plans`` with ``--budget-seconds`` and ``--charge-decision-time`` on each replay (on one
    simulated worker where it has none); :class:`SuiteError` where none is a replay."""
    option = "--budget-seconds" if budget_seconds is not None else "--charge-decision-time"
    replayed = [p for p in plans if get_benchmark_spec(p.name).recording]
    if not replayed:
        raise SuiteError(f"option {option}: none of the selected benchmarks is a replay (the simulated clock is a "
                         "replay's)")
    if budget_seconds is not None:
        check_seconds(budget_seconds, "option --budget-seconds")
    changes = {"budget_seconds": budget_seconds} if budget_seconds is not None else {}
    if charge_decision_time:
        changes["charge_decision_time"] = True
    return [replace(p, **changes, simulated_workers=p.simulated_workers or 1) if p in replayed else p for p in plans]


def _override_parallel_trials(plans: list[BenchmarkPlan], value: Any, plugins: tuple[str, ...]) -> list[BenchmarkPlan]:
    """``plans`` with ``--parallel-trials`` on each that trains (a replay keeps its own);
    :class:`SuiteError` where none trains, or one that trains cannot run trials in parallel
    (:func:`~tunebench.suite_checks.check_parallel_trials`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SuiteError(f"option --parallel-trials must be a positive integer, got {value!r}")
    trained = [p for p in plans if not get_benchmark_spec(p.name).recording]
    if value > 1 and not trained:
        raise SuiteError("option --parallel-trials: none of the selected benchmarks trains (a replay answers "
                         "in microseconds)")
    for plan in trained:
        check_parallel_trials(get_benchmark_spec(plan.name), value, "option --parallel-trials", plugins)
    return [replace(p, parallel_trials=value) if p in trained else p for p in plans]


__all__ = ["apply_overrides"]
