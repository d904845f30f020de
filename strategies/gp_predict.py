"""scikit-learn's Gaussian process, without re-validating the rows keras-tuner's Bayesian oracle asks about.

keras-tuner's ``BayesianOptimizationOracle`` minimises its acquisition with 50 L-BFGS-B
restarts and numerical gradients, calling ``GaussianProcessRegressor.predict`` on one row at
a time: about 57,000 calls per 30-trial mnist-mlp run. Most of each call is Python around
the arithmetic: scikit-learn's input checking (dtype, finiteness, and narwhals' dataframe
detection), the kernel's argument checks and its re-scaling of the training rows, and
scipy's wrappers around ``cdist`` and the triangular solve. The oracle's rows are already
what the checks would make of them: one C-contiguous float64 row of the fitted width, built
by ``np.ndarray.reshape``.

:class:`PrevalidatedGaussianProcessRegressor` takes a fast path for exactly those rows: the
posterior mean and standard deviation computed by the same numerical operations as
scikit-learn's ``predict`` (Rasmussen & Williams, Alg. 2.1), on the same operands, with what
does not depend on the row prepared once per fit (:class:`OneRowPosterior`): the training
rows divided by the kernel's length scale, the LAPACK routine and argument order
``solve_triangular`` would pick, the squared output scale. Nothing is re-associated or
replaced by a mathematically equal formula, so the bits are the same by construction.
Anything else (more rows, another dtype, a covariance request, an unfitted model, several
targets) goes to scikit-learn's own ``predict``. After every ``fit``, the first fast answer
is checked against scikit-learn's own; if the two differ in any bit (a future scikit-learn
or scipy computing differently), the fast path stays off for that fit, so the oracle's
suggestions are always the unpatched library's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.linalg import get_lapack_funcs
from scipy.spatial.distance import cdist
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import Matern

_SQRT_5 = math.sqrt(5)


def _scipy_euclidean_cdist():
    """The function ``scipy.spatial.distance.cdist(XA, XB, "euclidean")`` hands its arrays to.

    Called directly it skips cdist's metric lookup; where scipy no longer keeps that table,
    the public ``cdist`` itself (same answer, slower).
    """
    try:
        from scipy.spatial.distance import _METRIC_ALIAS

        return _METRIC_ALIAS["euclidean"].cdist_func
    except (ImportError, KeyError, AttributeError):
        return lambda XA, XB, out=None: cdist(XA, XB, metric="euclidean", out=out)


_euclidean_cdist = _scipy_euclidean_cdist()


class OneRowPosterior:
    """A fitted GP's posterior at one row, with what does not depend on the row computed once.

    Built from a fitted single-target ``GaussianProcessRegressor``; :meth:`mean_std` gives
    what ``gpr.predict(row, return_std=True)`` gives, through the same operations. For a
    ``Matern(nu=2.5)`` kernel (keras-tuner's) the kernel row is the kernel's own formula
    on pre-scaled training rows; any other kernel is called as scikit-learn calls it.
    """

    def __init__(self, gpr: GaussianProcessRegressor):
        self.kernel = gpr.kernel_
        self.X_train = gpr.X_train_
        self.alpha = gpr.alpha_
        # One row's mean and variance are scalars: Python floats round as float64 numpy does.
        self.y_train_mean = np.asarray(gpr._y_train_mean).item()
        self.y_train_std = np.asarray(gpr._y_train_std).item()
        self.y_var_scale = np.asarray(gpr._y_train_std**2).item()  # np.outer's one product
        self.length_scale = self._matern_5_2_length_scale(gpr)
        if self.length_scale is not None:
            self.scaled_train = gpr.X_train_ / self.length_scale  # what Matern.__call__ divides per call
        self._prepare_solve(gpr.L_)

    @staticmethod
    def supports(gpr: GaussianProcessRegressor) -> bool:
        """True for a fitted GP with one target, the case :meth:`mean_std` reproduces."""
        if not hasattr(gpr, "alpha_"):
            return False
        arrays = (gpr.alpha_, gpr.L_, gpr.X_train_, np.asarray(gpr._y_train_mean), np.asarray(gpr._y_train_std))
        return (gpr.alpha_.ndim == 1 and np.size(gpr._y_train_std) == 1 and np.size(gpr._y_train_mean) == 1
                and all(a.dtype == np.float64 for a in arrays))

    @staticmethod
    def _matern_5_2_length_scale(gpr):
        """The length scale ``Matern.__call__`` would divide by, or None for any other kernel."""
        kernel = gpr.kernel_
        if type(kernel) is not Matern or kernel.nu != 2.5:
            return None
        length_scale = np.squeeze(kernel.length_scale).astype(float)  # as _check_length_scale makes it
        if np.ndim(length_scale) > 1 or (np.ndim(length_scale) == 1 and length_scale.shape[0] != gpr.X_train_.shape[1]):
            return None  # scikit-learn would raise; let it
        return length_scale

    def _prepare_solve(self, L):
        """``solve_triangular(L, b, lower=True)``'s LAPACK call for float64 ``b``, as scipy picks it."""
        (self._trtrs,) = get_lapack_funcs(("trtrs",), (L, np.empty((L.shape[0], 1))))
        if L.flags.f_contiguous:
            self._solve_args = (L, dict(lower=True, trans=0, unitdiag=False))
        else:  # scipy solves the transposed system: trtrs expects Fortran order
            self._solve_args = (L.T, dict(lower=False, trans=1, unitdiag=False))

    def kernel_rows(self, X):
        """``kernel_(X, X_train_)``; for the Matern kernel, its elementwise formula on the whole block."""
        if self.length_scale is None:
            return self.kernel(X, self.X_train)
        K = _euclidean_cdist(X / self.length_scale, self.scaled_train, out=None) * _SQRT_5
        return (1.0 + K + K**2 / 3.0) * np.exp(-K)

    def prior_variance(self, X) -> float:
        """``kernel_.diag(X)[0]`` for one row ``X``: 1 for a Matern kernel."""
        return 1.0 if self.length_scale is not None else self.kernel.diag(X).item()

    def mean_std(self, X):
        """``gpr.predict(X, return_std=True)`` for one checked row; None where LAPACK reports a singular ``L_``."""
        posterior = self.posterior(self.kernel_rows(X), X)
        if posterior is None:
            return None
        y_mean, y_std = posterior
        return np.array([y_mean]), np.array([y_std])

    def posterior(self, K_trans, X):
        """Posterior mean and standard deviation (floats) at one row ``X``, from its kernel row ``K_trans`` (1, n).

        scikit-learn's steps on one row: ``K_trans @ alpha_`` and the triangular solve as
        arrays (the same BLAS and LAPACK calls), then the scaling, the variance's
        ``1 - v.v``, its clipping at 0 and the square root on the one value. None where
        LAPACK reports a singular ``L_`` (scikit-learn's own predict raises the error).
        """
        y_mean = self.y_train_std * (K_trans @ self.alpha).item() + self.y_train_mean
        a, options = self._solve_args
        V, info = self._trtrs(a, K_trans.T, overwrite_b=False, **options)
        if info != 0:
            return None
        y_var = self.prior_variance(X) - np.einsum("ij,ji->i", V.T, V).item()
        if y_var < 0:
            warnings.warn("Predicted variances smaller than 0. Setting those variances to 0.")
            y_var = 0.0
        return y_mean, math.sqrt(y_var * self.y_var_scale)

    def posteriors(self, X):
        """:meth:`posterior` of each row of the C-contiguous block ``X``: the Matern kernel's
        elementwise formula on the whole block at once, the BLAS and LAPACK calls row by row
        on (1, n) slices, as for one row. None if any row's solve fails."""
        if self.length_scale is None:
            kernel_rows = [self.kernel_rows(X[i:i + 1]) for i in range(X.shape[0])]
        else:
            K = self.kernel_rows(X)
            kernel_rows = [K[i:i + 1] for i in range(X.shape[0])]
        found = [self.posterior(K_trans, X[i:i + 1]) for i, K_trans in enumerate(kernel_rows)]
        return None if any(p is None for p in found) else found


class PrevalidatedGaussianProcessRegressor(GaussianProcessRegressor):
    """A ``GaussianProcessRegressor`` whose ``predict(row, return_std=True)`` skips input validation.

    Same constructor, same results (bit for bit, checked once per fit); only faster for
    single float64 rows, the calls an acquisition optimiser makes.
    """

    def fit(self, X, y):
        self._fast_path = None  # unknown until the first fast answer is checked
        self._one_row = None
        super().fit(X, y)
        if OneRowPosterior.supports(self):
            self._one_row = OneRowPosterior(self)
        else:
            self._fast_path = False
        return self

    def predict(self, X, return_std=False, return_cov=False):
        if not (return_std and not return_cov and self._is_checked_row(X)) or self._fast_path is False:
            return super().predict(X, return_std=return_std, return_cov=return_cov)
        fast = self._posterior_mean_std(X)
        if fast is None:
            return super().predict(X, return_std=True)
        if self._fast_path is None:
            reference = super().predict(X, return_std=True)
            self._fast_path = all(np.array_equal(a, b) for a, b in zip(fast, reference))
            return reference
        return fast

    def posteriors(self, X):
        """The posterior (mean, std) floats at each row of ``X``, each what ``predict(row, return_std=True)``
        gives for that row alone; None unless this fit's fast path has been checked good and
        ``X`` is rows ``predict`` would take it for (C-contiguous, finite float64 of the fitted width)."""
        if self._fast_path is not True or not self._is_checked_block(X):
            return None
        return self._one_row.posteriors(X)

    def _is_checked_row(self, X) -> bool:
        """True for what validation would pass through unchanged: one finite float64 C row of the fitted width."""
        return self._is_checked_block(X) and X.shape[0] == 1

    def _is_checked_block(self, X) -> bool:
        """True for finite float64 C-contiguous rows of the fitted width, on a fitted model."""
        return (
            type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2 and X.flags.c_contiguous
            and getattr(self, "_one_row", None) is not None
            and X.shape[1] == self.X_train_.shape[1] and math.isfinite(X.sum())
        )

    def _posterior_mean_std(self, X):
        """scikit-learn's posterior for ``return_std=True`` (Alg. 2.1, lines 4-5), or None to defer to it."""
        return self._one_row.mean_std(X)


def prevalidated(gpr: GaussianProcessRegressor) -> PrevalidatedGaussianProcessRegressor:
    """An unfitted :class:`PrevalidatedGaussianProcessRegressor` with ``gpr``'s parameters."""
    return PrevalidatedGaussianProcessRegressor(**gpr.get_params(deep=False))
