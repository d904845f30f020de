"""Tree-structured Parzen Estimator through hyperopt, stepped one trial at a time.

hyperopt's ``fmin`` owns its loop; here its ``tpe.suggest`` is called directly on a
persistent ``Trials`` object, which is what ``fmin`` does internally, so the runner keeps
control of training and budget.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tunebench.space import Choice, Config, SearchSpace
from tunebench.strategies.base import Observation, Strategy, StrategyContext, Suggestion


def hyperopt_space(space: SearchSpace) -> dict:
    """``space`` as a flat hyperopt space (a dict of ``hp`` expressions). Stepped parameters (an
    ``Int`` or a ``Float`` with a ``step``) become a uniform index over their values, so every
    value is equally likely and order is kept.

    Conditional parameters are sampled always and dropped by :func:`config_from_hyperopt`
    when inactive (hyperopt's TPE then models them as independent dimensions).
    """
    from hyperopt import hp

    expressions = {}
    for param in space.params:
        values = param.values()
        if isinstance(param, Choice):
            expressions[param.name] = hp.choice(param.name, list(range(len(values))))
        elif values is not None:
            expressions[param.name] = hp.quniform(param.name, -0.5, len(values) - 0.5, 1)
        elif param.log:
            expressions[param.name] = hp.loguniform(param.name, math.log(param.low), math.log(param.high))
        else:
            expressions[param.name] = hp.uniform(param.name, param.low, param.high)
    return expressions


def config_from_hyperopt(space: SearchSpace, point: dict[str, Any]) -> Config:
    """Decode a point of :func:`hyperopt_space` (after ``space_eval``) to a configuration."""
    values = {}
    for param in space.params:
        raw = point[param.name]
        finite = param.values()
        if finite is None:
            values[param.name] = min(max(float(raw), param.low), param.high)
        else:
            index = min(max(int(round(float(raw))), 0), len(finite) - 1)
            values[param.name] = finite[index]
    return space.active_config(values)


class HyperoptTPE(Strategy):
    """``hyperopt.tpe.suggest`` with ``n_startup_jobs`` random trials first."""

    def __init__(self, context: StrategyContext):
        import hyperopt

        self._hyperopt = hyperopt
        self._context = context
        self._space = hyperopt_space(context.space)
        self._domain = hyperopt.Domain(lambda point: 0.0, self._space)
        self.trials = hyperopt.Trials()
        self._rng = np.random.default_rng(context.seed)

    def ask(self) -> Suggestion | None:
        from hyperopt import tpe
        from hyperopt.base import spec_from_misc

        new_ids = self.trials.new_trial_ids(1)
        self.trials.refresh()
        docs = tpe.suggest(new_ids, self._domain, self.trials, int(self._rng.integers(2**31 - 1)),
                           n_startup_jobs=self._context.initial_random_trials)
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        point = self._hyperopt.space_eval(self._space, spec_from_misc(docs[0]["misc"]))
        config = config_from_hyperopt(self._context.space, point)
        return Suggestion(trial_id=str(new_ids[0]), config=config, epochs=self._context.max_epochs)

    def tell(self, suggestion: Suggestion, observation: Observation) -> None:
        hyperopt = self._hyperopt
        tid = int(suggestion.trial_id)
        doc = next(d for d in self.trials._dynamic_trials if d["tid"] == tid)
        if observation.failed:
            doc["state"] = hyperopt.JOB_STATE_ERROR
            doc["result"] = {"status": hyperopt.STATUS_FAIL}
        else:
            doc["state"] = hyperopt.JOB_STATE_DONE
            doc["result"] = {"loss": -float(observation.val_accuracy), "status": hyperopt.STATUS_OK}
        self.trials.refresh()

    def settings(self) -> dict[str, Any]:
        return {"library": f"hyperopt {self._hyperopt.__version__}", "algorithm": "tpe.suggest",
                "seed": self._context.seed, "n_startup_jobs": self._context.initial_random_trials}
