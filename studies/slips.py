"""Injected slips for ``studies/gate_power.py``: a strategy made worse on purpose, as plug-ins.

Each spec wraps the strategy named by ``$TUNEBENCH_SLIP_BASE`` (default ``tpe``) and keeps
its strategy seed, so a slipped run and the unchanged run of the same seed are paired:

- ``<base>+reseeded``: the same strategy with another seed. Not a slip: equally good, only
  other random numbers (what a library changing its random stream does). The gate must not
  flag it; how often it does is the false-alarm rate.
- ``<base>+noise<sd>``: the strategy is told each trial's validation accuracy plus Gaussian
  noise of standard deviation ``sd`` (the runner still records the true value), so it chases
  noise: the larger ``sd``, the worse its choices (a slip of graded size).
- ``<base>+startup<k>x``: ``k`` times as many random trials before the model starts (for
  ``tpe``, ``tpe-hyperopt`` and ``bayesian``, which read ``initial_random_trials``).

Loaded through a suite's ``plugins = ["studies/slips.py:SLIPS"]``, in every Dask worker too.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tunebench.seeding import derive_seed
from tunebench.strategies import Observation, Strategy, StrategyContext, StrategySpec, Suggestion, get_spec

BASE = os.environ.get("TUNEBENCH_SLIP_BASE", "tpe")
NOISE_SDS = (0.003, 0.01, 0.03, 0.1, 0.3)
STARTUP_FACTORS = (2, 3)


class NoisyFeedback(Strategy):
    """``BASE`` told ``val_accuracy + N(0, sd)`` for every trained trial (failed ones unchanged)."""

    def __init__(self, context: StrategyContext, sd: float):
        self.inner = get_spec(BASE).factory(context)
        self.warm_starts = self.inner.warm_starts
        self.parent_used_once = self.inner.parent_used_once
        self.sd = sd
        self.rng = np.random.default_rng(derive_seed("slip-noise", context.seed))

    def ask(self) -> Suggestion | None:
        return self.inner.ask()

    def tell(self, suggestion: Suggestion, observation: Observation) -> None:
        if not observation.failed:
            observation = replace(observation, val_accuracy=observation.val_accuracy + self.rng.normal(0.0, self.sd))
        self.inner.tell(suggestion, observation)

    def settings(self) -> dict[str, Any]:
        return {**self.inner.settings(), "slip": f"feedback noise sd {self.sd:g}"}

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class MoreRandomStart(StrategyContext):
    """A context whose model-based strategies start with ``factor`` times the random trials."""

    factor: int = 1

    @property
    def initial_random_trials(self) -> int:
        return min(self.trial_budget, self.factor * super().initial_random_trials)


def _reseeded(context: StrategyContext) -> Strategy:
    return get_spec(BASE).factory(replace(context, seed=derive_seed("slip-reseeded", context.seed)))


def _more_random_start(context: StrategyContext, factor: int) -> Strategy:
    fields = {name: getattr(context, name) for name in StrategyContext.__dataclass_fields__}
    return get_spec(BASE).factory(MoreRandomStart(**fields, factor=factor))


SLIPS = (
    [StrategySpec(f"{BASE}+reseeded", f"{BASE} with another seed (no slip)", _reseeded)]
    + [StrategySpec(f"{BASE}+noise{sd:g}", f"{BASE} told val_accuracy + N(0, {sd:g})",
                    functools.partial(NoisyFeedback, sd=sd)) for sd in NOISE_SDS]
    + [StrategySpec(f"{BASE}+startup{k}x", f"{BASE} with {k}x the random start",
                    functools.partial(_more_random_start, factor=k)) for k in STARTUP_FACTORS]
)
