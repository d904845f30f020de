"""Search strategies behind one ask/tell interface, and the registry that names them.

A new strategy is one entry in :data:`STRATEGIES`: a name, a one-line description and a
factory taking a :class:`StrategyContext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tunebench.errors import SuiteError
from tunebench.strategies.base import Observation, Strategy, StrategyContext, Suggestion


@dataclass(frozen=True)
class StrategySpec:
    """A registry entry."""

    name: str
    description: str
    factory: Callable[[StrategyContext], Strategy]


def _grid(context):
    from tunebench.strategies.grid import GridSearch

    return GridSearch(context)


def _random(context):
    from tunebench.strategies.keras_tuner_oracles import RandomSearch

    return RandomSearch(context)


def _bayesian(context):
    from tunebench.strategies.keras_tuner_oracles import BayesianOptimization

    return BayesianOptimization(context)


def _hyperband(context):
    from tunebench.strategies.keras_tuner_oracles import Hyperband

    return Hyperband(context)


def _tpe(context):
    from tunebench.strategies.optuna_tpe import OptunaTPE

    return OptunaTPE(context)


def _tpe_hyperopt(context):
    from tunebench.strategies.hyperopt_tpe import HyperoptTPE

    return HyperoptTPE(context)


STRATEGIES: dict[str, StrategySpec] = {
    spec.name: spec
    for spec in (
        StrategySpec("grid", "grid search over each parameter's grid points (tunebench)", _grid),
        StrategySpec("random", "random search (keras-tuner RandomSearchOracle)", _random),
        StrategySpec("bayesian", "Gaussian-process Bayesian optimisation (keras-tuner)", _bayesian),
        StrategySpec("hyperband", "Hyperband, factor 3, warm-started promotions (keras-tuner)", _hyperband),
        StrategySpec("tpe", "Tree-structured Parzen Estimator (Optuna TPESampler)", _tpe),
        StrategySpec("tpe-hyperopt", "Tree-structured Parzen Estimator (hyperopt tpe.suggest)", _tpe_hyperopt),
    )
}


def make_strategy(name: str, context: StrategyContext) -> Strategy:
    """Build the strategy registered as ``name``; unknown names raise :class:`SuiteError`."""
    return get_spec(name).factory(context)


def get_spec(name: str) -> StrategySpec:
    """The registry entry for ``name``, or :class:`SuiteError` listing the known names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise SuiteError(f"unknown strategy {name!r}; known strategies: {', '.join(STRATEGIES)}") from None


__all__ = ["STRATEGIES", "Observation", "Strategy", "StrategyContext", "StrategySpec", "Suggestion", "get_spec", "make_strategy"]
