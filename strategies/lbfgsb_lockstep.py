"""scipy's L-BFGS-B with forward-difference gradients, run from many starting points in lockstep.

keras-tuner's Bayesian oracle minimises its acquisition from 50 random starting points, one
``scipy.optimize.minimize(method="L-BFGS-B")`` after another, without a gradient. Per
evaluation point, scipy's Python (``ScalarFunction``'s caching, ``approx_derivative``'s step
and bounds handling, the wrappers) then costs more than the GP prediction itself. This
module drives the same compiled ``setulb`` routine for every starting point at once: each
round, every run that asks for its function value and gradient gets them from one call of
``values(points)`` on all of their points (the point itself and its ``n`` difference points).

Every number is computed as scipy 1.17's ``_minimize_lbfgsb``, ``ScalarFunction`` and
``approx_derivative`` (2-point, absolute step ``eps``, one-sided steps turned back at the
bounds) compute it, with the same elementwise operations on the same operands; the runs
never interact, so running them side by side changes no bit. What differs is only when
each value is computed. ``tests/test_lbfgsb_lockstep.py`` compares the results with
``scipy.optimize.minimize``'s, bit for bit; with another scipy, :func:`supported` is false
and callers use ``scipy.optimize.minimize``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy

#: The scipy releases whose L-BFGS-B driver this module restates.
SCIPY_SERIES = "1.17."


def supported() -> bool:
    """True where this scipy's L-BFGS-B is the one restated here (scipy 1.17)."""
    if not scipy.__version__.startswith(SCIPY_SERIES):
        return False
    try:
        from scipy.optimize import _lbfgsb
    except ImportError:
        return False
    return hasattr(_lbfgsb, "setulb")


class _Run:
    """One starting point's L-BFGS-B state, as ``_minimize_lbfgsb`` and its ``ScalarFunction`` keep it."""

    def __init__(self, x0: np.ndarray, m: int):
        n = x0.size
        self.x = np.array(x0, dtype=np.float64)
        self.f = np.array(0.0, dtype=np.float64)
        self.g = np.zeros((n,), dtype=np.float64)
        self.wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m, np.float64)
        self.iwa = np.zeros(3 * n, dtype=np.int32)
        self.task = np.zeros(2, dtype=np.int32)
        self.ln_task = np.zeros(2, dtype=np.int32)
        self.lsave = np.zeros(4, dtype=np.int32)
        self.isave = np.zeros(44, dtype=np.int32)
        self.dsave = np.zeros(29, dtype=np.float64)
        self.iterations = 0
        self.nfev = 0
        # ScalarFunction's cache: the point its value and gradient belong to.
        self.at = np.array(x0, dtype=np.float64)
        self.cached_f = None
        self.cached_g = None


def minimize_from(values: Callable[[np.ndarray], list[float]], starts: np.ndarray, bounds: np.ndarray, *,
                  maxcor: int = 10, ftol: float = 2.2204460492503131e-09, gtol: float = 1e-5, eps: float = 1e-8,
                  maxfun: int = 15000, maxiter: int = 15000, maxls: int = 20) -> list[tuple[float, np.ndarray]] | None:
    """``(result.fun, result.x)`` of ``scipy.optimize.minimize(f, x0=start, bounds=bounds,
    method="L-BFGS-B")`` for each row of ``starts``, in order (the keyword arguments are
    L-BFGS-B's options, at scipy's defaults).

    ``values(points)`` must return ``[f(p) for p in points]`` as floats, for a C-contiguous
    float64 array of rows; it may return None to give up, and then so does this function.
    ``bounds`` is an array of (low, high) rows, finite and with low < high (else None: the
    caller uses scipy itself).
    """
    from scipy.optimize import _lbfgsb

    bounds = np.asarray(bounds, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.float64)
    n = starts.shape[1]
    if bounds.shape != (n, 2) or not np.all(np.isfinite(bounds)) or np.any(bounds[:, 0] >= bounds[:, 1]):
        return None
    low, high = np.array(bounds[:, 0]), np.array(bounds[:, 1])
    nbd = np.full(n, 2, dtype=np.int32)  # both bounds finite
    factr = ftol / np.finfo(float).eps
    runs = [_Run(np.clip(start, low, high), maxcor) for start in starts]
    # ScalarFunction's first evaluation: the value and the gradient at each (clipped) start.
    if not _evaluate(values, runs, low, high, eps):
        return None
    active = list(runs)
    while active:
        # One pass of _minimize_lbfgsb's loop for each run still going; the runs that ask
        # for a new point's value and gradient get them together after the pass.
        wanted, going = [], []
        for run in active:
            run.g = run.g.astype(np.float64)
            _lbfgsb.setulb(maxcor, run.x, low, high, nbd, run.f, run.g, factr, gtol, run.wa, run.iwa, run.task,
                           run.lsave, run.isave, run.dsave, maxls, run.ln_task)
            if run.task[0] == 3:  # FG: the value and gradient at run.x (ScalarFunction.fun_and_grad)
                if not np.array_equal(run.x, run.at):
                    run.at = np.array(run.x, dtype=np.float64)
                    wanted.append(run)
            elif run.task[0] == 1:  # NEW_X
                run.iterations += 1
                if run.iterations >= maxiter:
                    run.task[0], run.task[1] = 5, 504
                elif run.nfev > maxfun:
                    run.task[0], run.task[1] = 5, 502
            else:  # converged, stopped or abnormal: scipy leaves its loop
                continue
            going.append(run)
        if wanted and not _evaluate(values, wanted, low, high, eps):
            return None
        for run in going:
            if run.task[0] == 3:
                run.f, run.g = run.cached_f, run.cached_g
        active = going
    return [(run.f, run.x) for run in runs]


def _evaluate(values, runs: list[_Run], low: np.ndarray, high: np.ndarray, eps: float) -> bool:
    """Each run's value and forward-difference gradient at ``run.at``, as ``ScalarFunction``
    and ``approx_derivative(method="2-point", abs_step=eps, bounds=(low, high))`` compute
    them, from one ``values`` call on all of the runs' points; False where ``values`` gave up."""
    x = np.stack([run.at for run in runs])  # (runs, n)
    count, n = x.shape
    # approx_derivative's absolute step, and the relative one where x + eps == x.
    sign = (x >= 0).astype(float) * 2 - 1
    dx = (x + eps) - x
    h = np.where(dx == 0, np.finfo(np.float64).eps ** 0.5 * sign * np.maximum(1.0, np.abs(x)), eps)
    # _adjust_scheme_to_bounds(x0, h, 1, "1-sided", lb, ub)
    h_total = h * 1
    adjusted = h.copy()
    lower_dist = x - low
    upper_dist = high - x
    violated = ((x + h_total) < low) | ((x + h_total) > high)
    fitting = np.abs(h_total) <= np.maximum(lower_dist, upper_dist)
    adjusted[violated & fitting] *= -1
    forward = (upper_dist >= lower_dist) & ~fitting
    adjusted[forward] = upper_dist[forward] / 1
    backward = (upper_dist < lower_dist) & ~fitting
    adjusted[backward] = -lower_dist[backward] / 1
    h = adjusted
    # The points: each run's x, then x with its i-th coordinate stepped, for i = 0 .. n-1.
    points = np.repeat(x[:, None, :], n + 1, axis=1)
    steps = np.arange(n)
    points[:, steps + 1, steps] = x + h
    found = values(np.ascontiguousarray(points.reshape(count * (n + 1), n)))
    if found is None:
        return False
    found = np.asarray(found, dtype=np.float64).reshape(count, n + 1)
    f0 = found[:, 0]
    gradients = (found[:, 1:] - f0[:, None]) / ((x + h) - x)
    for run, f, g in zip(runs, f0, gradients):
        run.cached_f = float(f)
        run.cached_g = np.array(g)
        run.nfev += 1 + n
    return True
