"""The lockstep L-BFGS-B driver gives scipy.optimize.minimize's results, bit for bit."""

import numpy as np
import pytest
import scipy.optimize

from tunebench.strategies.lbfgsb_lockstep import minimize_from, supported

pytestmark = pytest.mark.skipif(not supported(), reason="the driver restates scipy 1.17's L-BFGS-B")


def wavy(x):
    """A bumpy function of one point with minima inside and on the bounds; a 1-element array, as
    keras-tuner's acquisition returns."""
    x = x.reshape(1, -1)
    return np.array([np.sum(np.sin(3 * x) * (x - 0.3) ** 2) + 0.1 * np.cos(7 * x[0, 0] * x[0, -1])])


@pytest.mark.parametrize("dimensions", [1, 4, 9])
def test_each_start_ends_where_scipys_own_run_ends(dimensions):
    rng = np.random.default_rng(dimensions)
    bounds = np.array([[0.0, 1.0]] * max(dimensions - 1, 1) + [[-2.0, 3.0]])[:dimensions]
    starts = rng.uniform(bounds[:, 0] - 0.3, bounds[:, 1] + 0.3, size=(30, dimensions))  # some outside: clipped
    starts[:5, 0] = bounds[0, 1]  # on a bound: the difference step turns back
    calls = []

    def values(points):
        calls.append(len(points))
        return [wavy(point).item() for point in points]

    found = minimize_from(values, starts, bounds)
    for (fun, x), start in zip(found, starts):
        result = scipy.optimize.minimize(wavy, x0=start, bounds=bounds, method="L-BFGS-B")
        assert np.array_equal(x, result.x) and fun == result.fun
    assert len(calls) < sum(scipy.optimize.minimize(wavy, x0=s, bounds=bounds, method="L-BFGS-B").nfev for s in starts)
    assert max(calls) >= 30 * (dimensions + 1)  # the first round: every start and its difference points at once


def test_it_gives_up_where_values_does_or_the_bounds_are_not_finite():
    bounds = np.array([[0.0, 1.0], [0.0, 1.0]])
    starts = np.full((3, 2), 0.5)
    assert minimize_from(lambda points: None, starts, bounds) is None
    assert minimize_from(lambda points: [0.0] * len(points), starts, np.array([[0.0, np.inf], [0.0, 1.0]])) is None
    assert minimize_from(lambda points: [0.0] * len(points), starts, np.array([[1.0, 1.0], [0.0, 1.0]])) is None
