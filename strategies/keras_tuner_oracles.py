"""Random search, Bayesian optimisation and Hyperband through keras-tuner's oracles.

The oracles are driven directly (``create_trial`` / ``update_trial`` / ``end_trial``)
without a keras-tuner ``Tuner``: the runner trains, so every strategy is trained by the
same code. The oracles keep their JSON state in a temporary directory removed by
:meth:`KerasTunerStrategy.close`.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from typing import Any

from tunebench.space import Float, Int, Param, SearchSpace
from tunebench.strategies.base import WAIT, Observation, Strategy, StrategyContext, Suggestion
from tunebench.strategies.gp_predict import prevalidated

OBJECTIVE = "val_accuracy"
HYPERBAND_FACTOR = 3
_TUNER_ID = "tunebench"
#: keras-tuner's oracles raise in ``end_trial`` after 3 consecutive FAILED trials by default.
#: The runner stops a run itself after ``tunebench.runner.MAX_CONSECUTIVE_FAILURES`` (5) failed
#: trials in a row and records why, so the oracles must never stop first.
MAX_CONSECUTIVE_FAILED_TRIALS = 1_000_000
_HYPERBAND_KEYS = ("tuner/epochs", "tuner/initial_epoch", "tuner/trial_id", "tuner/bracket", "tuner/round")


def keras_tuner_hyperparameters(space: SearchSpace):
    """``keras_tuner.HyperParameters`` declaring ``space`` (conditional parameters in
    ``conditional_scope``s), for the keras-tuner oracles."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for param in space.params:
        if param.when is None:
            _declare(hp, param)
        else:
            parent, parent_values = param.when
            with hp.conditional_scope(parent, list(parent_values)):
                _declare(hp, param)
    return hp


def _declare(hp, param: Param) -> None:
    if isinstance(param, Int):
        hp.Int(param.name, param.low, param.high, step=param.step)
    elif isinstance(param, Float):
        sampling = "log" if param.log else "linear"
        hp.Float(param.name, param.low, param.high, step=param.step, sampling=sampling)
    else:
        hp.Choice(param.name, list(param.choices))


class KerasTunerStrategy(Strategy):
    """Steps a keras-tuner oracle; subclasses only build the oracle."""

    def __init__(self, context: StrategyContext):
        import keras_tuner

        self._context = context
        self._workdir = tempfile.mkdtemp(prefix="tunebench-oracle-")
        self.oracle = self.build_oracle(keras_tuner, context)
        self.oracle._set_project_dir(self._workdir, "oracle")
        self.oracle.verbose = 0
        self._trials: dict[str, Any] = {}
        self._asked = 0

    def build_oracle(self, keras_tuner, context: StrategyContext):
        raise NotImplementedError

    def ask(self) -> Suggestion | None:
        # One tuner id per ask: keras-tuner hands a tuner id its ongoing trial again, so trials
        # in flight at once (parallel trials) each need their own.
        self._asked += 1
        trial = self.oracle.create_trial(f"{_TUNER_ID}-{self._asked}")
        if trial.status == "IDLE":  # waiting for trials in flight (Hyperband's rung)
            return WAIT
        if trial.status != "RUNNING":  # STOPPED
            return None
        values = dict(trial.hyperparameters.values)
        config = self._context.space.active_config({k: v for k, v in values.items() if k not in _HYPERBAND_KEYS})
        self._trials[trial.trial_id] = trial
        return Suggestion(
            trial_id=trial.trial_id,
            config=config,
            epochs=int(values.get("tuner/epochs", self._context.max_epochs)),
            initial_epoch=int(values.get("tuner/initial_epoch", 0)),
            parent=values.get("tuner/trial_id"),
        )

    def tell(self, suggestion: Suggestion, observation: Observation) -> None:
        trial = self._trials.pop(suggestion.trial_id)
        if observation.failed:
            trial.status = "FAILED"
        else:
            self.oracle.update_trial(trial.trial_id, {OBJECTIVE: observation.val_accuracy}, step=suggestion.epochs)
            trial.status = "COMPLETED"
        self.oracle.end_trial(trial)

    def settings(self) -> dict[str, Any]:
        import keras_tuner

        return {"library": f"keras-tuner {keras_tuner.__version__}", "oracle": _library_class_name(self.oracle),
                "seed": self.oracle.seed}

    def close(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)


def _library_class_name(oracle) -> str:
    """The name of the keras-tuner class ``oracle`` is (or specialises, for tunebench's faster subclasses)."""
    return next(cls.__name__ for cls in type(oracle).__mro__ if cls.__module__.startswith("keras_tuner"))


def bayesian_oracle(keras_tuner, **options):
    """keras-tuner's ``BayesianOptimizationOracle(**options)`` as tunebench runs it, same suggestions, faster.

    Its GP is :class:`~tunebench.strategies.gp_predict.PrevalidatedGaussianProcessRegressor`
    (same parameters) and its 50 acquisition minimisations run side by side, each round's
    points predicted in one call (:mod:`tunebench.strategies.gp_acquisition`). Studies and tests replace this
    function by the library's constructor to compare with the unpatched oracle.
    """
    from tunebench.strategies.gp_acquisition import LockstepBayesianOptimizationOracle

    oracle = LockstepBayesianOptimizationOracle(**options)
    oracle.gpr = prevalidated(oracle.gpr)
    return oracle


def _objective(keras_tuner):
    return keras_tuner.Objective(OBJECTIVE, direction="max")


class RandomSearch(KerasTunerStrategy):
    """keras-tuner's RandomSearchOracle: independent uniform draws (log-uniform where set)."""

    def build_oracle(self, keras_tuner, context):
        return keras_tuner.oracles.RandomSearchOracle(
            objective=_objective(keras_tuner), max_trials=None, seed=context.seed,
            max_consecutive_failed_trials=MAX_CONSECUTIVE_FAILED_TRIALS,
            hyperparameters=keras_tuner_hyperparameters(context.space),
        )


class BayesianOptimization(KerasTunerStrategy):
    """keras-tuner's BayesianOptimizationOracle: a Gaussian process with an upper confidence bound.

    scikit-learn's ``ConvergenceWarning`` from the GP's kernel fit (a length scale at the
    Matern kernel's default lower bound, 1e-5) is silenced during ``ask()``: keras-tuner
    builds the kernel and offers no way to change its bounds, and the warning filled the
    regress log.

    The oracle is :func:`bayesian_oracle`'s: keras-tuner's, with its GP's one-row predictions
    unvalidated and each acquisition gradient's points predicted in one call; suggestions
    bit-identical to the unpatched oracle's (``tests/test_strategies.py`` compares them).
    """

    def build_oracle(self, keras_tuner, context):
        return bayesian_oracle(
            keras_tuner, objective=_objective(keras_tuner), max_trials=None, seed=context.seed,
            max_consecutive_failed_trials=MAX_CONSECUTIVE_FAILED_TRIALS,
            num_initial_points=context.initial_random_trials,
            hyperparameters=keras_tuner_hyperparameters(context.space),
        )

    def ask(self) -> Suggestion | None:
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super().ask()

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "num_initial_points": self.oracle.num_initial_points}


class Hyperband(KerasTunerStrategy):
    """keras-tuner's HyperbandOracle, iterated until the epoch budget runs out.

    Promoted trials name their parent; the runner continues the parent's weights and
    optimizer state from ``initial_epoch`` and charges ``epochs - initial_epoch``.
    """

    warm_starts = True
    parent_used_once = True  # a Hyperband bracket promotes each trial at most once

    def build_oracle(self, keras_tuner, context):
        return keras_tuner.oracles.HyperbandOracle(
            objective=_objective(keras_tuner), max_epochs=context.max_epochs, factor=HYPERBAND_FACTOR,
            hyperband_iterations=None, seed=context.seed, hyperparameters=keras_tuner_hyperparameters(context.space),
            max_consecutive_failed_trials=MAX_CONSECUTIVE_FAILED_TRIALS,
        )

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "factor": HYPERBAND_FACTOR, "max_epochs": self.oracle.max_epochs,
                "hyperband_iterations": "until the budget runs out"}
