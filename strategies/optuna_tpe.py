"""Tree-structured Parzen Estimator through Optuna's ask/tell interface.

The space is sampled define-by-run, so Optuna sees conditional parameters as such.
"""

from __future__ import annotations

from typing import Any

from tunebench.strategies.base import Observation, Strategy, StrategyContext, Suggestion


class OptunaTPE(Strategy):
    """``optuna.samplers.TPESampler`` with ``n_startup_trials`` random trials first."""

    def __init__(self, context: StrategyContext):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._context = context
        self._sampler = optuna.samplers.TPESampler(seed=context.seed, n_startup_trials=context.initial_random_trials)
        self.study = optuna.create_study(direction="maximize", sampler=self._sampler)
        self._trials: dict[str, Any] = {}

    def ask(self) -> Suggestion | None:
        trial = self.study.ask()
        config = self._context.space.suggest_optuna(trial)
        trial_id = str(trial.number)
        self._trials[trial_id] = trial
        return Suggestion(trial_id=trial_id, config=config, epochs=self._context.max_epochs)

    def tell(self, suggestion: Suggestion, observation: Observation) -> None:
        trial = self._trials.pop(suggestion.trial_id)
        if observation.failed:
            self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, observation.val_accuracy)

    def settings(self) -> dict[str, Any]:
        return {"library": f"optuna {self._optuna.__version__}", "sampler": "TPESampler",
                "seed": self._context.seed, "n_startup_trials": self._context.initial_random_trials}
