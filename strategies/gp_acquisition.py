"""keras-tuner's Bayesian oracle, its 50 acquisition minimisations run side by side, each round's points in one GP call.

``BayesianOptimizationOracle.populate_space`` minimises its upper confidence bound from 50
random starting points, one L-BFGS-B run after another, with forward-difference gradients:
per point a one-row GP prediction (already fast,
:mod:`tunebench.strategies.gp_predict`) inside scipy's and keras-tuner's Python, which cost
more than the prediction. :class:`LockstepBayesianOptimizationOracle` runs the 50
minimisations in lockstep (:func:`tunebench.strategies.lbfgsb_lockstep.minimize_from`, which
restates scipy 1.17's L-BFGS-B driver), and :class:`AcquisitionBlock` answers each round's
points (every run's point and its difference points) with one call, the GP's kernel rows
as one block and each row's BLAS/LAPACK steps as a one-row call makes them
(:meth:`~tunebench.strategies.gp_predict.PrevalidatedGaussianProcessRegressor.posteriors`).

Each ask's first block is checked against the acquisition itself, row by row; a single
differing bit (or a GP without the checked fast path) and that ask's minimisations run
through ``scipy.optimize.minimize`` as keras-tuner runs them, from the same starting points.
With another keras-tuner or scipy release the oracle is keras-tuner's own.
``tests/test_strategies.py`` compares its suggestions with the unpatched oracle's, bit for bit.
"""

from __future__ import annotations

import keras_tuner
import numpy as np
import scipy.optimize
from keras_tuner.src.engine import trial as trial_module

from tunebench.strategies import lbfgsb_lockstep

#: The keras-tuner release whose ``BayesianOptimizationOracle.populate_space`` is re-stated here.
KERAS_TUNER_VERSION = "1.4.8"


class AcquisitionBlock:
    """``values(points)`` for :func:`~tunebench.strategies.lbfgsb_lockstep.minimize_from`: keras-tuner's
    ``mu - beta * sigma`` at each row, what scipy's wrapping of ``acquisition`` (the oracle's own
    function of one point) gives, from one ``gpr.posteriors`` call.

    The first block is computed both ways and compared bit for bit: ``checked`` is then True
    or False; when False (or when ``gpr`` has no checked fast path) every call returns None, so
    that the caller leaves the ask to scipy. ``blocks`` counts the blocks answered in one call.
    """

    def __init__(self, gpr, beta: float, acquisition):
        self.gpr = gpr
        self.beta = beta
        self.acquisition = acquisition
        self.checked = None  # None: the first block is still to be compared with the acquisition itself
        self.blocks = 0

    def __call__(self, points: np.ndarray):
        if self.checked is None:
            # As scipy calls it: a copy of the point, the 1-element answer made a float.
            reference = [np.asarray(self.acquisition(np.copy(point))).item() for point in points]
            fast = self._block(points)
            self.checked = fast is not None and np.array_equal(np.array(fast).view(np.int64),
                                                               np.array(reference).view(np.int64))
            return reference if self.checked else None
        fast = self._block(points) if self.checked else None
        if fast is None:
            self.checked = False
            return None
        self.blocks += 1
        return fast

    def _block(self, points):
        """The acquisition at each row from one GP call, or None where the GP cannot answer a block."""
        posteriors = getattr(self.gpr, "posteriors", None)
        posteriors = posteriors(points) if posteriors is not None else None
        if posteriors is None:
            return None
        return [mu - self.beta * sigma for mu, sigma in posteriors]


class LockstepBayesianOptimizationOracle(keras_tuner.oracles.BayesianOptimizationOracle):
    """keras-tuner's Bayesian oracle whose acquisition minimisations run in lockstep (see the module).

    Same suggestions as ``keras_tuner.oracles.BayesianOptimizationOracle`` with the same GP
    (bit for bit); the oracle's ``gpr`` should be a
    :class:`~tunebench.strategies.gp_predict.PrevalidatedGaussianProcessRegressor`, else every
    ask goes to scipy. ``lockstep_outcome`` is the last model-based ask's
    ``(AcquisitionBlock.checked, AcquisitionBlock.blocks)`` (for tests and studies).
    """

    lockstep = keras_tuner.__version__ == KERAS_TUNER_VERSION and lbfgsb_lockstep.supported()
    lockstep_outcome: tuple[bool | None, int] | None = None

    def populate_space(self, trial_id):
        if not self.lockstep:
            return super().populate_space(trial_id)
        # keras-tuner 1.4.8's BayesianOptimizationOracle.populate_space from here on, but for the minimisations.
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

        optimal_val = float("inf")
        optimal_x = None
        num_restarts = 50
        bounds = self._get_hp_bounds()
        x_seeds = self._random_state.uniform(bounds[:, 0], bounds[:, 1], size=(num_restarts, bounds.shape[0]))
        block = AcquisitionBlock(self.gpr, self.beta, _upper_confidence_bound)
        results = lbfgsb_lockstep.minimize_from(block, x_seeds, bounds)
        if results is None:  # keras-tuner's own minimisations, from the same starting points
            results = []
            for x_try in x_seeds:
                result = scipy.optimize.minimize(_upper_confidence_bound, x0=x_try, bounds=bounds, method="L-BFGS-B")
                results.append((result.fun if np.isscalar(result.fun) else result.fun[0], result.x))
        for result_fun, result_x in results:
            if result_fun < optimal_val:
                optimal_val = result_fun
                optimal_x = result_x
        self.lockstep_outcome = (block.checked, block.blocks)
        values = self._vector_to_values(optimal_x)
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}
