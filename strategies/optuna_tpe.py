"""Tree-structured Parzen Estimator through Optuna's ask/tell interface.

The space is sampled define-by-run, so Optuna sees conditional parameters as such.

With :attr:`StrategyContext.storage` set, the study lives in that Optuna storage (an RDB
URL such as ``sqlite:///results/optuna.db``) under :attr:`StrategyContext.study_name`, where
``optuna-dashboard`` can open it; the sampler and its seed are the same, so are the
suggestions.
"""

from __future__ import annotations

from typing import Any

from tunebench.errors import InputError
from tunebench.redaction import redact_text
from tunebench.space import Config, Float, Int, SearchSpace
from tunebench.strategies.base import Observation, Strategy, StrategyContext, Suggestion


def default_study_name(context: StrategyContext) -> str:
    """The study name used when ``context.study_name`` is ``None``."""
    return f"tunebench-tpe-{context.seed}"


def suggest_config(space: SearchSpace, trial) -> Config:
    """A configuration of ``space`` sampled through an ``optuna.trial.Trial``, define-by-run.

    Inactive parameters are never suggested, so Optuna sees the conditional structure.
    """
    config: Config = {}
    for param in space.params:
        if not space.is_active(param, config):
            continue
        if isinstance(param, Int):
            config[param.name] = trial.suggest_int(param.name, param.low, param.high, step=param.step)
        elif isinstance(param, Float):
            if param.step is not None:
                index = trial.suggest_int(param.name, 0, len(param.values()) - 1)
                config[param.name] = param.values()[index]
            else:
                config[param.name] = trial.suggest_float(param.name, param.low, param.high, log=param.log)
        else:
            config[param.name] = trial.suggest_categorical(param.name, list(param.choices))
    return config


class OptunaTPE(Strategy):
    """``optuna.samplers.TPESampler`` with ``n_startup_trials`` random trials first."""

    def __init__(self, context: StrategyContext):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._context = context
        self._sampler = optuna.samplers.TPESampler(seed=context.seed, n_startup_trials=context.initial_random_trials)
        self._study_name: str | None = None
        if context.storage is None:
            self.study = optuna.create_study(direction="maximize", sampler=self._sampler)
        else:
            self._study_name = context.study_name or default_study_name(context)
            self.study = self._create_stored_study(context.storage, self._study_name)
        self._trials: dict[str, Any] = {}

    def _create_stored_study(self, url: str, name: str):
        """A fresh study ``name`` in the storage at ``url`` (an old one of that name is deleted)."""
        optuna = self._optuna
        shown = redact_text(url)
        try:
            storage = optuna.storages.get_storage(url)
        except Exception as exc:  # SQLAlchemy's ArgumentError/OperationalError, a missing driver, ...
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"cannot open the Optuna storage {shown!r}: {redact_text(detail)} "
                             "(expected a database URL that Optuna accepts, such as "
                             "sqlite:///results/optuna.db in an existing directory)") from None
        try:
            optuna.delete_study(study_name=name, storage=storage)
        except KeyError:
            pass  # no earlier study of that name
        return optuna.create_study(storage=storage, study_name=name, direction="maximize", sampler=self._sampler)

    def ask(self) -> Suggestion | None:
        trial = self.study.ask()
        config = suggest_config(self._context.space, trial)
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
        settings = {"library": f"optuna {self._optuna.__version__}", "sampler": "TPESampler",
                    "seed": self._context.seed, "n_startup_trials": self._context.initial_random_trials}
        if self._context.storage is not None:
            settings |= {"storage": redact_text(self._context.storage), "study_name": self._study_name}
        return settings
