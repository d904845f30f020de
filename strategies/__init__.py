"""Search strategies behind one ask/tell interface, and the registry that names them.

A new built-in strategy is one entry in :data:`STRATEGIES`: a name, a one-line description
and a factory taking a :class:`StrategyContext`. A user's own package adds strategies without
editing this file (:mod:`tunebench.plugins`), through :func:`register_strategy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Callable

from tunebench.errors import SuiteError
from tunebench.registry import register_unique, unknown_name
from tunebench.strategies.base import WAIT, Observation, Strategy, StrategyContext, Suggestion


@dataclass(frozen=True)
class StrategySpec:
    """A registry entry."""

    name: str
    description: str
    factory: Callable[[StrategyContext], Strategy]


def _lazy(target: str) -> Callable[[StrategyContext], Strategy]:
    """A factory importing ``module:Class`` on first use, so listing strategies stays fast."""
    module_name, class_name = target.split(":")

    def factory(context: StrategyContext) -> Strategy:
        return getattr(import_module(f"tunebench.strategies.{module_name}"), class_name)(context)

    return factory


STRATEGIES: dict[str, StrategySpec] = {
    spec.name: spec
    for spec in (
        StrategySpec("grid", "grid search over each parameter's grid points (tunebench)", _lazy("grid:GridSearch")),
        StrategySpec("random", "random search (keras-tuner RandomSearchOracle)", _lazy("keras_tuner_oracles:RandomSearch")),
        StrategySpec("bayesian", "Gaussian-process Bayesian optimisation (keras-tuner)",
                     _lazy("keras_tuner_oracles:BayesianOptimization")),
        StrategySpec("hyperband", "Hyperband, factor 3, warm-started promotions (keras-tuner)",
                     _lazy("keras_tuner_oracles:Hyperband")),
        StrategySpec("tpe", "Tree-structured Parzen Estimator (Optuna TPESampler)", _lazy("optuna_tpe:OptunaTPE")),
        StrategySpec("tpe-hyperopt", "Tree-structured Parzen Estimator (hyperopt tpe.suggest)",
                     _lazy("hyperopt_tpe:HyperoptTPE")),
    )
}


def register_strategy(spec: StrategySpec) -> None:
    """Add ``spec`` to :data:`STRATEGIES` (again with the same spec: nothing happens);
    :class:`SuiteError` if its name is taken by another strategy."""
    register_unique(STRATEGIES, spec, "strategy", StrategySpec)


def make_strategy(name: str, context: StrategyContext) -> Strategy:
    """Build the strategy registered as ``name``; unknown names raise :class:`SuiteError`."""
    return get_spec(name).factory(context)


def get_spec(name: str) -> StrategySpec:
    """The registry entry for ``name``, or :class:`SuiteError` listing the known names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise SuiteError(unknown_name("strategy", name, STRATEGIES, "strategies")) from None


__all__ = ["STRATEGIES", "WAIT", "Observation", "Strategy", "StrategyContext", "StrategySpec", "Suggestion", "get_spec", "make_strategy",
           "register_strategy"]
