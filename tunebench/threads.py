"""One BLAS/OpenMP thread while a strategy thinks.

A strategy's numerical work (keras-tuner's Gaussian process, Optuna's and hyperopt's
TPE) is on matrices of a few dozen rows. With OpenBLAS's default of one thread per core,
its idle threads spin after every call: on the 2-core development machine a keras-tuner
Bayesian run used twice the CPU time for the same wall time, and with two runs side by side
(``--workers 2``) each Bayesian run took about 3x as long as with one thread each.
:class:`StrategyThreads` limits the pools to one thread around ``ask()`` and ``tell()``
only; training keeps its own threads (TensorFlow's are not BLAS pools, and any limit is
undone when the strategy returns).

The thread count did not change a suggestion: the regress suite's Bayesian runs gave
identical trials either way (the strategies' matrices are small).
"""

from __future__ import annotations

from contextlib import AbstractContextManager


class StrategyThreads:
    """``with limit():`` runs the body with every loaded BLAS/OpenMP pool at one thread.

    Build it after the strategy (its libraries must be loaded: threadpoolctl only knows
    the pools present when it looks). Entering costs about 10 µs.
    """

    def __init__(self):
        from threadpoolctl import ThreadpoolController

        self._controller = ThreadpoolController()

    def __call__(self) -> AbstractContextManager:
        return self._controller.limit(limits=1)

