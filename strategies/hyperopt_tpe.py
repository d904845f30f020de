"""Tree-structured Parzen Estimator through hyperopt, stepped one trial at a time.

hyperopt's ``fmin`` owns its loop; here its ``tpe.suggest`` is called directly on a
persistent ``Trials`` object, which is what ``fmin`` does internally, so the runner keeps
control of training and budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tunebench.strategies.base import Observation, Strategy, StrategyContext, Suggestion


class HyperoptTPE(Strategy):
    """``hyperopt.tpe.suggest`` with ``n_startup_jobs`` random trials first."""

    def __init__(self, context: StrategyContext):
        import hyperopt

        self._hyperopt = hyperopt
        self._context = context
        self._space = context.space.to_hyperopt()
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
        config = self._context.space.from_hyperopt(point)
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
