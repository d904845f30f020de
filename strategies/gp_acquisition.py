"""keras-tuner's Bayesian oracle, with each finite-difference gradient's points predicted in one call.

``BayesianOptimizationOracle.populate_space`` minimises the upper confidence bound with 50
L-BFGS-B restarts and no gradient: scipy estimates it by forward differences, one
acquisition call per dimension (9 for mnist-mlp), each a one-row GP prediction. Between
those calls, scipy's and keras-tuner's wrappers cost as much again as the (already fast,
:mod:`tunebench.strategies.gp_predict`) prediction.

scipy's L-BFGS-B takes ``workers``, a map-like callable it hands each gradient's
difference points to (``workers(fun, points)``). :class:`FiniteDifferenceBatch` is one: it
computes the acquisition at all the points of one gradient at once, the GP's kernel rows as
one block and each row's BLAS/LAPACK steps as a one-row call makes them
(:meth:`~tunebench.strategies.gp_predict.PrevalidatedGaussianProcessRegressor.posteriors`),
and returns exactly what ``map(fun, points)`` would: the optimiser's steps, the difference
steps, the bounds handling and the evaluation count stay scipy's own. The first batch of
each ask is checked against ``map(fun, points)`` itself; a single differing bit turns the
batch off for that ask. Anything it does not recognise (another function, a GP without the
checked fast path) goes to ``map``.

:class:`BatchedBayesianOptimizationOracle` is keras-tuner's oracle with ``populate_space``
re-stated to pass that ``workers``; it is keras-tuner 1.4.8's code otherwise, and with any
other keras-tuner version (or a scipy whose L-BFGS-B takes no ``workers``) it runs the
library's own ``populate_space``. ``tests/test_strategies.py`` compares its suggestions with
the unpatched oracle's, bit for bit.
"""

from __future__ import annotations

import inspect

import keras_tuner
import numpy as np
import scipy.optimize
from keras_tuner.src.engine import trial as trial_module

#: The keras-tuner release whose ``BayesianOptimizationOracle.populate_space`` is re-stated here.
KERAS_TUNER_VERSION = "1.4.8"


def _lbfgsb_takes_workers() -> bool:
    """True where scipy's L-BFGS-B accepts the ``workers`` option (scipy 1.16 and later)."""
    try:
        from scipy.optimize._lbfgsb_py import _minimize_lbfgsb
    except ImportError:
        return False
    return "workers" in inspect.signature(_minimize_lbfgsb).parameters


class FiniteDifferenceBatch:
    """A ``workers`` map for scipy's finite differences of ``acquisition``: one GP call per gradient.

    ``acquisition(x)`` must be keras-tuner's ``mu - beta * sigma`` of ``gpr.predict(x.reshape(1, -1),
    return_std=True)``; ``gpr`` a fitted
    :class:`~tunebench.strategies.gp_predict.PrevalidatedGaussianProcessRegressor`.
    ``batch(fun, points)`` returns ``list(map(fun, points))``, computed in one go when ``fun``
    is scipy's wrapping of ``acquisition``.
    """

    def __init__(self, gpr, beta: float, acquisition):
        self.gpr = gpr
        self.beta = beta
        self.acquisition = acquisition
        self.checked = None  # None: the first batch is still to be compared with map(fun, points)
        self.batched = 0  # gradients computed in one call

    def __call__(self, fun, points):
        points = list(points)
        values = self._batched(fun, points) if self.checked is not False else None
        if values is None:
            return list(map(fun, points))
        if self.checked is None:
            reference = list(map(fun, points))
            self.checked = len(values) == len(reference) and all(
                a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b) for a, b in zip(values, reference))
            return reference
        self.batched += 1
        return values

    def _batched(self, fun, points):
        """What scipy's ``fun`` returns at each point (1-element float64 arrays), or None to leave it to ``map``."""
        if not points or not self._wraps_acquisition(fun):
            return None
        posteriors = getattr(self.gpr, "posteriors", None)
        posteriors = posteriors(np.stack(points)) if posteriors is not None else None
        if posteriors is None:
            return None
        # keras-tuner's mu - beta * sigma; scipy makes a float of it, then a 1-element array.
        return [np.atleast_1d(mu - self.beta * sigma) for mu, sigma in posteriors]

    def _wraps_acquisition(self, fun) -> bool:
        """True for scipy's finite-difference wrapping of the acquisition: ``_Fun_Wrapper`` around
        ``ScalarFunction``'s ``_ScalarFunctionWrapper`` around it, with no extra arguments."""
        scalar = getattr(fun, "fun", None)
        return (type(fun).__name__ == "_Fun_Wrapper" and not fun.args and not fun.kwargs
                and type(scalar).__name__ == "_ScalarFunctionWrapper" and getattr(scalar, "f", None) is self.acquisition
                and not scalar.args and getattr(fun.x0, "dtype", None) == np.float64)


class BatchedBayesianOptimizationOracle(keras_tuner.oracles.BayesianOptimizationOracle):
    """keras-tuner's Bayesian oracle whose acquisition gradients come from :class:`FiniteDifferenceBatch`.

    Same suggestions as ``keras_tuner.oracles.BayesianOptimizationOracle`` with the same GP
    (bit for bit); the oracle's ``gpr`` should be a
    :class:`~tunebench.strategies.gp_predict.PrevalidatedGaussianProcessRegressor`, else every
    batch goes to ``map``. ``last_batch`` is the last ask's batch (for tests and studies).
    """

    batches = keras_tuner.__version__ == KERAS_TUNER_VERSION and _lbfgsb_takes_workers()
    last_batch: FiniteDifferenceBatch | None = None

    def populate_space(self, trial_id):
        if not self.batches:
            return super().populate_space(trial_id)
        # keras-tuner 1.4.8's BayesianOptimizationOracle.populate_space from here on, but for `workers`.
        completed_trials = [t for t in self.trials.values() if t.status == "COMPLETED"]
        dimensions = len(self.hyperparameters.space)
        num_initial_points = self.num_initial_points or max(3 * dimensions, 3)
        if len(completed_trials) < num_initial_points:
            return self._random_populate_space()
        x, y = self._vectorize_trials()
        x = np.nan_to_num(x, posinf=0, neginf=0)
        y = np.nan_to_num(y, posinf=0, neginf=0)
        self.gpr.fit(x, y)

        def _upper_confidence_bound(x):
            x = x.reshape(1, -1)
            mu, sigma = self.gpr.predict(x, return_std=True)
            return mu - self.beta * sigma

        batch = FiniteDifferenceBatch(self.gpr, self.beta, _upper_confidence_bound)
        optimal_val = float("inf")
        optimal_x = None
        num_restarts = 50
        bounds = self._get_hp_bounds()
        x_seeds = self._random_state.uniform(bounds[:, 0], bounds[:, 1], size=(num_restarts, bounds.shape[0]))
        for x_try in x_seeds:
            result = scipy.optimize.minimize(_upper_confidence_bound, x0=x_try, bounds=bounds, method="L-BFGS-B",
                                             options={"workers": batch})
            result_fun = result.fun if np.isscalar(result.fun) else result.fun[0]
            if result_fun < optimal_val:
                optimal_val = result_fun
                optimal_x = result.x
        self.batch_outcome = (batch.checked, batch.batched)
        values = self._vector_to_values(optimal_x)
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}
